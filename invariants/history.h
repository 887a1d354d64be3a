// The operation history of a run, kept as the models the checkers compare replicas against, and
// the model checkers: pure functions over a replica snapshot and the history.
//
//   LWW model:  the final record of every key is the write (set or remove) with the highest
//               timestamp among all accepted writes to that key; no other keys exist.
//   OR model:   add-wins: a key's live items are exactly the added tags that no remove observed
//               (a remove tombstones only the tags it saw); each with the value it was added with;
//               no live items under keys nobody added to.
//   PN model:   every counter's value is the sum of all increments minus the sum of all
//               decrements, and each node's positive (negative) total is the sum of that node's
//               own increments (decrements): a decrement counted as a negative increment, or a
//               merge that drops one half, fails even when the values happen to agree. Counters
//               nobody touched are zero.
//
// Writes are recorded when the engine accepted them (the call returned); the replica node
// persists local writes before returning, so a crash never legitimately loses one.
#ifndef SEEDGRID_INVARIANTS_HISTORY_H_
#define SEEDGRID_INVARIANTS_HISTORY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "engine/crdt/value.h"
#include "engine/hlc/timestamp.h"
#include "engine/replica/replica.h"
#include "invariants/convergence.h"

namespace seedgrid::invariants {

class History {
 public:
  void LwwWrite(const std::string& map, const std::string& key, const Timestamp& ts,
                std::optional<Document> value);
  void OrAdd(const std::string& map, const std::string& key, const Timestamp& tag, Document value);
  void OrRemove(const std::string& map, const std::string& key, const std::vector<Timestamp>& tags);
  // An accepted (durable) change of `node`'s own totals of `counter`.
  void CounterIncrement(const std::string& counter, const std::string& node, uint64_t by);
  void CounterDecrement(const std::string& counter, const std::string& node, uint64_t by);

  uint64_t ops() const { return ops_; }

  struct LwwLatest {
    Timestamp ts;
    std::optional<Document> value;
  };
  // map -> key -> latest write
  const absl::btree_map<std::string, absl::btree_map<std::string, LwwLatest>>& lww() const {
    return lww_;
  }

 private:
  friend std::optional<Violation> CheckOrModel(const History&, const Replica&);
  friend std::optional<Violation> CheckPnModel(const History&, const Replica&);
  uint64_t ops_ = 0;
  absl::btree_map<std::string, absl::btree_map<std::string, LwwLatest>> lww_;
  // map -> key -> tag -> value, and the removed tags
  absl::btree_map<std::string, absl::btree_map<std::string, absl::btree_map<Timestamp, Document>>>
      or_added_;
  absl::btree_map<std::string, absl::btree_map<std::string, absl::btree_set<Timestamp>>>
      or_removed_;
  // counter -> node -> the totals its own increments and decrements add up to
  absl::btree_map<std::string, PnState> counters_;
};

std::optional<Violation> CheckLwwModel(const History& history, const Replica& replica);
std::optional<Violation> CheckOrModel(const History& history, const Replica& replica);
std::optional<Violation> CheckPnModel(const History& history, const Replica& replica);

// Per node: local timestamps strictly increase, across restarts too (a node that restarts with its
// physical clock behind its last stamp must not reissue it), and a local timestamp is never at or
// below a remote timestamp the node accepted since it last started.
//
// Two ways to report a stamp:
// - OnLocal: the stamp is durable when reported (replica nodes sync before a write returns, and
//   the cluster reports only acknowledged writes).
// - OnIssued: reported when issued, before the node syncs (grid servers stamp while applying a
//   client op, clients when writing locally), with the node's clean-sync count at that moment
//   (SimStorage::clean_syncs). The node's HLC state is saved with every sync, so a stamp is owed
//   once a clean sync follows it; OnCrash forgets the stamps no clean sync followed (they never
//   left the node: a grid server sends nothing stamped before its sync, a client sends only logged
//   entries), and OnDiskLost forgets everything (a replaced disk has no clock state).
class HlcMonitor {
 public:
  explicit HlcMonitor(int nodes) : nodes_(nodes) {}
  std::optional<Violation> OnLocal(int node, const Timestamp& ts);
  std::optional<Violation> OnIssued(int node, const Timestamp& ts, uint64_t clean_syncs);
  void OnReceived(int node, const Timestamp& ts);
  // A restart forgets what the node received (unsynced merges may be lost with the crash).
  void OnRestart(int node) {
    nodes_[node].max_received.reset();
    nodes_[node].restarted = true;
  }
  // A crash with `clean_syncs` clean syncs so far (read before the storage reverts).
  void OnCrash(int node, uint64_t clean_syncs);
  void OnDiskLost(int node);
  // The newest stamp the node owes (must never reissue or go below), if any.
  const std::optional<Timestamp>& last_local(int node) const { return nodes_[node].last; }
  uint64_t checked() const { return checked_; }

 private:
  struct NodeStamps {
    std::optional<Timestamp> last;     // the newest local stamp (this incarnation, or owed)
    std::optional<Timestamp> durable;  // the newest stamp a clean sync followed
    uint64_t last_syncs = 0;           // clean syncs when `last` was issued (OnIssued)
    bool last_pending = false;         // `last` came from OnIssued and may not be durable yet
    std::optional<Timestamp> max_received;
    bool restarted = false;  // since `last` was issued
  };
  std::optional<Violation> Check(int node, const Timestamp& ts);
  void Settle(NodeStamps& n, uint64_t clean_syncs);

  std::vector<NodeStamps> nodes_;
  uint64_t checked_ = 0;
};

}  // namespace seedgrid::invariants

#endif  // SEEDGRID_INVARIANTS_HISTORY_H_
