// ReplicaNode: a Replica run as a node — periodic flush and Merkle anti-entropy on Timers,
// durable state in Storage, restart from that storage, and query indexes on chosen maps.
//
// This is the engine's peer-replication node (the grid's owners and backups reuse it); the
// simulator runs it unchanged on simulated Env parts.
//
// Timers. Every `flush_interval_ms` the outbox is sent to every peer (OP_BATCH / counter state;
// a node with an empty outbox arms no flush timer until a local write, then flushes on the same
// schedule);
// every `anti_entropy_interval_ms` the node starts a Merkle pull with `anti_entropy_fanout` peers
// drawn from env.random. SG_BUGGIFY sites may skip a round or fire a timer early (both legal:
// anti-entropy repairs whatever a skipped round leaves).
//
// Durability. Every change (local or merged) is written to its own storage page (an LWW record as
// a packed record page, engine/wire/packed_record.h; OR entries and counters as messages) through
// the PageStore (engine/env/page_store.h: the storage-error policy of every node); local writes
// made through this class are followed by a sync before they return, and report OK only when that
// sync succeeded (an OK local write survives a crash). After a failed sync the write is still
// applied in memory (and replicates), its result says it is not durable, and the next sync
// re-writes it. Merged changes become durable with the next sync; a crash may lose them, and
// anti-entropy fetches them again. The HLC's last timestamp is stored with every sync, so a
// restarted node never issues a timestamp at or below one it issued before.
//
// Restart. Open() reads every page of env.storage (written by an earlier incarnation) and merges
// it back before arming timers. A page that does not decode is an error naming the page.
#ifndef SEEDGRID_ENGINE_REPLICA_REPLICA_NODE_H_
#define SEEDGRID_ENGINE_REPLICA_REPLICA_NODE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/status/statusor.h"
#include "engine/env/page_store.h"
#include "engine/env/twin_page.h"
#include "engine/events/node_events.h"
#include "engine/query/indexed_map.h"
#include "engine/replica/replica.h"

namespace seedgrid {

// An index to keep on every LWW or OR map called `map_name` (created when the map is).
struct NodeIndexSpec {
  std::string map_name;
  IndexKind kind;
  std::vector<std::string> fields;
};

struct ReplicaNodeOptions {
  ReplicaOptions replica;
  std::vector<NodeId> peers;  // The replication group; the node's own id is skipped.
  uint64_t flush_interval_ms = 50;
  uint64_t anti_entropy_interval_ms = 1000;
  int anti_entropy_fanout = 1;  // 1..peers
  bool persist = true;
  std::vector<NodeIndexSpec> indexes;
  // Observers: TimestampMerged with the stamp of every record (or the newest tag of every OR
  // entry) a merge from a peer applied (the simulator's HLC checker uses it); StorageFailed.
  events::EventSink events;
};

// The result of a local write: applied in memory (`value`, which replicates) and, when `status`
// is OK, durable. A non-OK status is the failed sync's error (the write must not be reported to a
// user as saved) — or, with InvalidArgument, a refused write (a TTL of 0): nothing was applied
// and `value` is empty.
template <typename T>
struct LocalWrite {
  T value;
  absl::Status status;
  bool ok() const { return status.ok(); }
};

struct ReplicaNodeStats {
  uint64_t flushes = 0;
  uint64_t flushes_skipped = 0;  // by SG_BUGGIFY
  uint64_t anti_entropy_rounds = 0;
  uint64_t anti_entropy_skipped = 0;  // by SG_BUGGIFY
  uint64_t pages_restored = 0;
  StorageStats storage;
};

class ReplicaNode {
 public:
  // Restores from env.storage, then arms the timers. InvalidArgument for bad options (including an
  // index spec the query engine rejects); DataLoss
  // naming the page for a stored page that does not decode or merge.
  static absl::StatusOr<std::unique_ptr<ReplicaNode>> Open(Env& env, ReplicaNodeOptions options);
  ~ReplicaNode();
  ReplicaNode(const ReplicaNode&) = delete;
  ReplicaNode& operator=(const ReplicaNode&) = delete;

  // Local writes: applied, persisted and synced before they return; OK only when durable. A TTL
  // of 0, or a map or counter name outside 1..kMapNameBytesMax bytes (what the wire and the pages
  // carry), is refused (InvalidArgument, nothing written).
  LocalWrite<Timestamp> Set(std::string_view map, std::string key, Document value,
                            std::optional<uint64_t> ttl_ms = std::nullopt);
  LocalWrite<Timestamp> Remove(std::string_view map, std::string key);
  LocalWrite<Timestamp> Add(std::string_view map, std::string key, Document value);
  LocalWrite<std::vector<Timestamp>> RemoveValue(std::string_view map, std::string_view key,
                                                 const Document& value);
  // Counter changes go to this node's own totals: Increment to P, Decrement to N (never a
  // negative increment). The counter's error (nothing applied), else the sync's.
  absl::Status Increment(std::string_view counter, uint64_t by);
  absl::Status Decrement(std::string_view counter, uint64_t by);

  void FlushNow();
  void AntiEntropyNow();

  Replica& replica() { return *replica_; }
  const Replica& replica() const { return *replica_; }
  // The indexed view of a map with index specs (nullptr when the map has none or does not exist).
  IndexedLwwMap* indexed_lww(std::string_view map);
  IndexedOrMap* indexed_or(std::string_view map);
  ReplicaNodeStats stats() const {
    ReplicaNodeStats s = stats_;
    s.storage = pages_.stats();
    return s;
  }

 private:
  ReplicaNode(Env& env, ReplicaNodeOptions options);
  absl::Status Restore();
  // One packed LWW record page (packed_record.h): decoded, checked to be on its own page, merged.
  absl::Status RestoreRecordPage(const std::string& page, std::string_view bytes);
  void OnNewLww(const std::string& name, LwwMap& map);
  void OnNewOr(const std::string& name, OrMap& map);
  void OnNewCounter(const std::string& name, PnCounter& counter);
  absl::Status SyncStorage();
  void OnMerged(const Timestamp& ts) {
    events::EmitEvent(options_.events, events::TimestampMerged{ts});
  }
  // A timer-driven duty (flush, anti-entropy) that re-arms itself — unless `idle` says there is
  // nothing to do (then Wake re-arms it, on the same schedule: no idle timer events).
  struct Periodic {
    uint64_t interval_ms;
    uint64_t* skipped;  // stats counter for rounds SG_BUGGIFY skipped
    void (ReplicaNode::*action)();
    bool (ReplicaNode::*idle)() const;  // null: always re-armed
    std::optional<Timers::TimerId> timer;
    uint64_t last_fired_ms = 0;  // or armed, before the first firing
  };
  void ArmPeriodic(Periodic& p, uint64_t delay_ms);
  // Re-arms an idle duty at its next slot (last firing + k intervals, after now).
  void Wake(Periodic& p);
  bool FlushIdle() const { return replica_->outbox_empty(); }
  template <typename Indexed, typename Map>
  void AttachIndexes(const std::string& name, Map& map,
                     absl::btree_map<std::string, std::unique_ptr<Indexed>>& views);
  uint64_t InstanceId(const std::string& map_name);

  Env& env_;
  ReplicaNodeOptions options_;
  std::vector<NodeId> others_;  // peers without self, in the given order
  std::unique_ptr<Replica> replica_;
  absl::btree_map<std::string, std::unique_ptr<IndexedLwwMap>> indexed_lww_;
  absl::btree_map<std::string, std::unique_ptr<IndexedOrMap>> indexed_or_;
  ReplicaNodeStats stats_;
  bool armed_ = false;  // Open() armed the periodic duties
  PageStore pages_;
  TwinPage hlc_page_{"H"};  // twin_page.h: no torn write rolls the clock back
  bool restoring_ = false;
  Periodic flush_;
  Periodic anti_entropy_;
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_REPLICA_REPLICA_NODE_H_
