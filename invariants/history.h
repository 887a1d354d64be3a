// The operation history of a run, kept as the models the checkers compare replicas against, and
// the model checkers: pure functions over a replica snapshot and the history.
//
//   LWW model:  the final record of every key is the write (set or remove) with the highest
//               timestamp among all accepted writes to that key; no other keys exist.
//   OR model:   add-wins: a key's live items are exactly the added tags that no remove observed
//               (a remove tombstones only the tags it saw); each with the value it was added with;
//               no live items under keys nobody added to.
//   PN model:   every counter's value is the sum of all increments (and decrements); counters
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
  void CounterAdd(const std::string& counter, int64_t delta);

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
  absl::btree_map<std::string, int64_t> counters_;
};

std::optional<Violation> CheckLwwModel(const History& history, const Replica& replica);
std::optional<Violation> CheckOrModel(const History& history, const Replica& replica);
std::optional<Violation> CheckPnModel(const History& history, const Replica& replica);

// Per node: local timestamps strictly increase (across restarts too), and a local timestamp is
// never at or below a remote timestamp the node accepted since it last started.
class HlcMonitor {
 public:
  explicit HlcMonitor(int nodes) : last_local_(nodes), max_received_(nodes) {}
  std::optional<Violation> OnLocal(int node, const Timestamp& ts);
  void OnReceived(int node, const Timestamp& ts);
  // A restart forgets what the node received (unsynced merges may be lost with the crash).
  void OnRestart(int node) { max_received_[node].reset(); }
  uint64_t checked() const { return checked_; }

 private:
  std::vector<std::optional<Timestamp>> last_local_;
  std::vector<std::optional<Timestamp>> max_received_;
  uint64_t checked_ = 0;
};

}  // namespace seedgrid::invariants

#endif  // SEEDGRID_INVARIANTS_HISTORY_H_
