// Grid checkers: pure functions over a snapshot of the grid (servers' and clients' public read
// API) and a bounded history of what the grid promised (GridHistory). Nothing here drives a
// simulation; scenarios/grid_cluster.cc gathers the snapshots and feeds the history from the
// nodes' events (engine/events/node_events.h).
//
//   grid_table         every live server holds the same partition table, whose members are
//                      exactly the servers that should be members
//   grid_convergence   every partition's owner is ready, its backups hold the same digest, no
//                      other server holds it, no replication is in flight, and every client's copy
//                      of its map equals the owners'
//   grid_durability    a write acknowledged at REPLICATED is held by another live server whenever
//                      one server loses its disk; at the end every write acknowledged at
//                      REPLICATED, and at APPLIED unless a disk was lost after the ack, is in its
//                      owner's state (that stamp or a later one)
//   grid_exactly_once  no server applies an op-log entry the client had not durably logged, or
//                      twice on one disk; at the end every durable op-log entry was applied and
//                      every client's log is empty
//   grid_live_queries  each subscription's replayed stream, and its merged result order, equal a
//                      fresh query over the owners' records (for a page: its rows after the
//                      page's cursor)
//   grid_storage_acks  no acknowledgement leaves a server while its storage has a failed write
//                      or sync it has not recovered from (engine/env/page_store.h)
//   grid_lost_update   an acknowledgement a client receives (first or duplicate) is for its own
//                      op: the grid applied that (client, seq) as the same write (the client's
//                      stamp names it), so no reused sequence number has a write silently dropped
//                      as a "duplicate"; and at the end, where an owner holds a key at exactly an
//                      acknowledged write's stamp, it holds that write's value
//   grid_lww_model     at the end every record an owner holds is a write a client issued, with
//                      the value the client wrote, at a stamp the grid applied that write with
//                      (no phantom key, no value from another write, no made-up stamp)
//   grid_pn_model      at the end every PN-Counter an owner holds is the model's: each client's
//                      entry has exactly the sum of the increments (positive total) and of the
//                      decrements (negative total) of that client's durably logged ops of the
//                      counter — the model sums the deltas the workload drew, never the totals
//                      a client computed, so a client that counts a decrement as a negative
//                      increment, or a server that adds totals instead of taking the maximum,
//                      fails; at the end every durable op is applied (grid_exactly_once), so
//                      "acknowledged" and "logged" agree; no entry of a client that never
//                      incremented the counter, no counter nobody touched
//   grid_or_model      at the end every OR-Map item an owner holds is a client's durably logged
//                      add (its origin names the op), of that map and key, with that add's
//                      value (an add applied twice may have two copies: OrMap lists one),
//                      observed by no durable remove (observed-remove: a
//                      remove kills the items the client held of that key with that value when it
//                      issued the remove — the harness reads them from the client; a remove
//                      acknowledged below REPLICATED binds no more once every server that applied
//                      it lost its disk, as an APPLIED write does not: it may have been lost with
//                      the disks); and every add
//                      acknowledged with its item at REPLICATED, or at APPLIED since the last disk
//                      loss, that no durable remove observed is held (add-wins: a remove never
//                      takes an add it did not observe)
//
// OR adds in grid_durability: an add acknowledged with its item at REPLICATED (APPLIED) promises
// the item as a write promises its record — held by another live server at a disk loss, by some
// server after a correlated failure — unless a remove that observed it was applied (then the item
// may be gone, its kill pruned). At the end grid_or_model asks more.
//
// Counters in grid_durability: a counter op acknowledged at REPLICATED (APPLIED) promises the
// client's totals it carried as REPLICATED (APPLIED) writes promise their records: held by
// another live server at a disk loss, by some server after a correlated failure, by the owner at
// the end — "held" meaning the writer's entry of the counter is at least those totals.
//
// A new grid invariant: an Invariant (invariant.h), a pure function here with a unit test that
// feeds it a history that must fail, and its call in scenarios/grid_cluster.cc (from a node event,
// PeriodicCheck, Probe or FinalChecks).
//
// "Held": a record of the key at least as new as the write, or no record, a write older than
// the partition's tombstone-GC watermark and a remove of the key applied at or after the write
// (the tombstone was pruned; GC never prunes live records).
#ifndef SEEDGRID_INVARIANTS_GRID_CHECKS_H_
#define SEEDGRID_INVARIANTS_GRID_CHECKS_H_

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/inlined_vector.h"
#include "engine/cluster/grid_server.h"
#include "engine/events/node_events.h"
#include "engine/query/query.h"
#include "invariants/convergence.h"

namespace seedgrid::invariants {

struct Holder;

// The bounded history: per key only the newest acknowledged write per concern, per client the
// applied and durable op-log seqs as interval sets, per (server, disk, partition, client) the
// last seq applied — the size of the state, not of the run.
class GridHistory {
 public:
  struct Acked {
    Timestamp ts;
    uint64_t at_ns = 0;
  };
  // A server's first application of an op. Violation when the client had not durably logged the
  // entry (OnLogged), or when the same server on the same disk applies an entry of a partition at
  // or below one of that partition it applied durably before (a partition's durable applied marks
  // only move up on one disk, so that is an entry applied twice). `clean_syncs` counts the disk's
  // syncs that left nothing unwritten (SimStorage::clean_syncs): an application is durable once
  // that count moves past the value it was applied at.
  // grid_lost_update: the same (client, seq) applied as a different write (client stamp).
  std::optional<Violation> OnApplied(const std::string& server, uint32_t disk, uint64_t clean_syncs,
                                     uint32_t partition, const NodeId& client, uint64_t seq,
                                     const Timestamp& ts, const Timestamp& client_ts);
  // A client issued its entry `seq`: a write to map/key of a value with hash `value_hash`
  // (ValueHash). Its applications then feed the grid LWW model (CheckGridLwwModel).
  void OnIssued(const NodeId& client, uint64_t seq, const std::string& map, const std::string& key,
                uint64_t value_hash);
  // A server crashed with its disk at `clean_syncs`: its applications since the last clean sync
  // may be lost with their marks (after a failed write or sync), so applying those entries again
  // is a first application of what the disk holds — nothing of them left the server, since acks
  // and replication wait for a good sync (engine/cluster/write_path.h).
  void OnServerCrash(const std::string& server, uint64_t clean_syncs);
  // A client's op-log entry became durable (it must be applied by the end).
  void OnLogged(const NodeId& client, uint64_t seq);
  void OnAcked(const std::string& map, const std::string& key, const Timestamp& ts,
               msg::WriteConcern concern, uint64_t at_ns);
  // A client received the first acknowledgement of its entry `seq` (the write with stamp
  // `client_ts` and value hash `value_hash`: ValueHash) at `at_ns`. Violation (grid_lost_update)
  // when no server applied (client, seq), or applied it as another write: a reused sequence
  // number. The write's own stamp — a duplicate's ack carries the key's current stamp, so its
  // own is the entry's last application's — goes to OnAcked (grid_durability) and, with the
  // value, to CheckAckedValues.
  std::optional<Violation> OnAckReceived(const NodeId& client, const events::AckReceived& ack,
                                         uint64_t value_hash, uint64_t at_ns);
  // A server lost its disk: APPLIED promises made before now no longer bind.
  void OnDiskLost(uint64_t at_ns, const std::string& server);
  // The cluster's configured backups per partition: a REPLICATED write lives on at least this
  // many servers plus one, or two with any backups (a table may have fewer members than copies).
  void SetBackupCount(uint32_t backups) { replicated_copies_min_ = backups == 0 ? 1 : 2; }
  // A client issued its entry `seq`: `delta` added to counter map/key (a reissued seq — the first
  // was never durable — replaces it). Counter ops feed grid_pn_model and, through the totals
  // their acks carry, the counter part of grid_durability; not the LWW checks.
  void OnIssuedCounter(const NodeId& client, uint64_t seq, const std::string& map,
                       const std::string& key, int64_t delta);
  // A client issued its entry `seq`: an OR add to map/key of a value with hash `value_hash`
  // (ValueHash; its item's origin is OrOrigin(client, seq)), or an OR remove that observed the
  // items with origins `observed` (those the client held of the key with the value it removes).
  // They feed grid_or_model (CheckGridOrModel); a reissued seq replaces the lost op.
  void OnIssuedOrAdd(const NodeId& client, uint64_t seq, const std::string& map,
                     const std::string& key, uint64_t value_hash);
  void OnIssuedOrRemove(const NodeId& client, uint64_t seq, const std::string& map,
                        const std::string& key, std::vector<Timestamp> observed);
  // The model of every counter: the sums of the durably logged ops' deltas, per client.
  using CounterTotals = absl::btree_map<std::pair<std::string, std::string>, PnState>;
  CounterTotals ExpectedCounters() const;

  // (map, key) -> writer -> the largest totals acknowledged ops carried (each half separately).
  const CounterTotals& counters_replicated() const { return counters_replicated_; }
  const CounterTotals& counters_applied() const { return counters_applied_; }  // since disk loss

  // map -> key -> newest acknowledged write at that concern (APPLIED: since the last disk loss).
  using AckedByKey = absl::btree_map<std::pair<std::string, std::string>, Acked>;
  const AckedByKey& replicated() const { return replicated_; }
  const AckedByKey& applied() const { return applied_; }
  uint64_t applications() const { return applications_; }
  struct AckedValue {
    Timestamp ts;
    uint64_t value_hash = 0;
    NodeId client;
    uint64_t seq = 0;
  };
  // map -> key -> the newest acknowledged write (any concern) and its value.
  using AckedValues = absl::btree_map<std::pair<std::string, std::string>, AckedValue>;
  const AckedValues& acked_values() const { return acked_values_; }
  // (map, key) -> stamp -> value hash of every application of an issued write.
  using AppliedValues =
      absl::btree_map<std::pair<std::string, std::string>, absl::btree_map<Timestamp, uint64_t>>;
  const AppliedValues& applied_values() const { return applied_values_; }
  // Whether a remove of map/key was applied at or after `ts`: only then may a write at `ts` be
  // missing below a partition's GC watermark (GC prunes tombstones, never live records).
  bool DeletedSince(const std::string& map, const std::string& key, const Timestamp& ts) const;

 private:
  friend std::optional<Violation> CheckAllApplied(const GridHistory& history);
  friend std::optional<Violation> CheckGridOrModel(
      const GridHistory& history, const std::function<Holder(uint32_t partition)>& owner_of);
  friend std::optional<std::string> OrAddNotHeld(const GridHistory& history, bool replicated,
                                                 const std::vector<Holder>& holders);
  using Seqs = absl::btree_map<uint64_t, uint64_t>;  // interval set: first -> last (inclusive)
  static void Insert(Seqs& set, uint64_t seq);
  static bool Contains(const Seqs& set, uint64_t seq);

  AckedByKey replicated_, applied_;
  absl::btree_map<NodeId, Seqs> applied_seqs_, logged_seqs_;
  using MarkKey = std::tuple<std::string, uint32_t, uint32_t, NodeId>;
  // (server, disk, partition, client) -> the last seq applied.
  absl::btree_map<MarkKey, uint64_t> last_applied_;
  // Per server: the clean-sync count its applications since were made at, and each mark's value
  // before the first of them (restored by a crash before the next clean sync). Bounded by the
  // number of marks.
  struct Unsynced {
    uint64_t clean_syncs = 0;
    absl::btree_map<MarkKey, uint64_t> before;
  };
  absl::btree_map<std::string, Unsynced> unsynced_;
  uint64_t applications_ = 0;
  // (client, seq) -> the write and the stamps it was applied at (ascending; more than one only
  // when a server whose applied mark was behind applied it again): O(ops), ~80 bytes each.
  struct AppliedOp {
    Timestamp client_ts;
    absl::InlinedVector<Timestamp, 1> stamps;
    // What a duplicate's ack from a server holding the key at `held` binds: the latest
    // application at or below `held` — a stamp that server holds or supersedes, so a promise it
    // can keep even when `held` is a later write's and it never saw that application (the last
    // application when none is at or below `held`, e.g. after tombstone GC).
    const Timestamp& KnownAt(const Timestamp& held) const;
  };
  absl::btree_map<std::pair<NodeId, uint64_t>, AppliedOp> applied_ops_;
  AckedValues acked_values_;
  // (client, seq) -> the write's map, key and value hash; (map, key) -> stamp -> value hash of
  // every application. O(ops).
  struct Issued {
    std::string map, key;
    uint64_t value_hash = 0;
  };
  absl::btree_map<std::pair<NodeId, uint64_t>, Issued> issued_;
  AppliedValues applied_values_;
  struct CounterOp {
    std::string map, key;
    int64_t delta = 0;
  };
  absl::btree_map<std::pair<NodeId, uint64_t>, CounterOp> counter_ops_;  // O(counter ops)
  CounterTotals counters_replicated_, counters_applied_;
  void OnCounterAcked(const NodeId& client, const events::AckReceived& ack);
  // (client, seq) -> an OR op as issued: O(OR ops). An add's item is promised (it must be held at
  // the end unless a durable remove observed it) once acknowledged with its tag at REPLICATED, or
  // at APPLIED (until a disk is lost).
  struct OrOp {
    std::string map, key;
    bool add = false;
    uint64_t value_hash = 0;          // an add's
    std::vector<Timestamp> observed;  // a remove's: the origins of the items it removes
  };
  absl::btree_map<std::pair<NodeId, uint64_t>, OrOp> or_ops_;
  absl::btree_set<std::pair<NodeId, uint64_t>> or_adds_replicated_, or_adds_applied_;
  // OR removes acknowledged below REPLICATED (the client dropped them: only the servers that
  // applied them hold them), and per OR remove the servers that applied it and have not lost
  // their disk since. A remove of the first kind with no such server left may have been lost with
  // a disk: an item it observed may be alive at the end (RemoveUnbound).
  absl::btree_set<std::pair<NodeId, uint64_t>> or_removes_acked_below_replicated_;
  absl::btree_map<std::pair<NodeId, uint64_t>, absl::btree_set<std::string>> or_remove_appliers_;
  // OR removes acknowledged at REPLICATED, and per applied OR remove the servers whose disk was
  // lost since its first application: with replicated_copies_min_ of them, a REPLICATED remove
  // may have been lost with every copy (RemoveUnbound). A bound that holds for any table: the
  // servers that held it are not known here.
  absl::btree_set<std::pair<NodeId, uint64_t>> or_removes_acked_replicated_;
  absl::btree_map<std::pair<NodeId, uint64_t>, absl::btree_set<std::string>>
      or_remove_disks_lost_since_applied_;
  uint32_t replicated_copies_min_ = 2;
  bool RemoveUnbound(const std::pair<NodeId, uint64_t>& op) const;
  void OnOrAcked(const NodeId& client, const events::AckReceived& ack);
  // A seq issued again (the first op was never durable): forget what it was.
  void ForgetIssued(const NodeId& client, uint64_t seq);
};

// Where a partition is held: a server's name and its partitions (nullptr: not held).
struct Holder {
  std::string name;
  std::function<const GridPartition*(uint32_t partition)> partition;
};

// grid_durability at a disk loss (`lost` names the server; empty for a periodic check): every
// REPLICATED write is held by one of `others`.
std::optional<Violation> CheckHeldElsewhere(const GridHistory& history,
                                            const std::vector<Holder>& others,
                                            const std::string& lost);
// grid_durability at the end: every REPLICATED and APPLIED write is held by its owner.
std::optional<Violation> CheckHeldByOwners(
    const GridHistory& history, const std::function<Holder(uint32_t partition)>& owner_of);
// grid_durability after servers crashed together (a power or zone loss) and restarted from their
// disks, with every other server up: every write acknowledged at REPLICATED, or at APPLIED since
// the last disk loss, is held by one of `servers` (an acknowledgement follows the owner's sync,
// and at REPLICATED the backups' too, so no correlated failure may lose it). `what` names the
// failure in the detail.
std::optional<Violation> CheckAckedHeld(const GridHistory& history,
                                        const std::vector<Holder>& servers,
                                        const std::string& what);
// The hash of a write's value that grid_lost_update compares (nullopt: a remove).
uint64_t ValueHash(const std::optional<Document>& value);
// grid_lost_update at the end: where the owner holds an acknowledged write's key at exactly the
// write's stamp, it holds the write's value.
std::optional<Violation> CheckAckedValues(
    const GridHistory& history, const std::function<Holder(uint32_t partition)>& owner_of);
// grid_lww_model at the end: every record of every owner's partition is an application of an
// issued write (that stamp) with that write's value.
std::optional<Violation> CheckGridLwwModel(
    const GridHistory& history, const std::function<Holder(uint32_t partition)>& owner_of);
// The first (map, key, writer) of `promised` whose totals no holder's entry of the counter
// covers (both halves at least), described with what each holder has; nullopt: all held.
// grid_durability's counter part (grid_counter_checks.cc).
std::optional<std::string> CounterNotHeld(const GridHistory::CounterTotals& promised,
                                          const std::vector<Holder>& holders);
// The first OR add acknowledged with its item at REPLICATED (`replicated`) or at APPLIED since the
// last disk loss that no holder holds — as an item of its origin, or as removed (its origin
// tombstoned or killed) — and that no applied remove observed, described with what each holder
// has; nullopt: all held. grid_durability's OR part (grid_or_checks.cc).
std::optional<std::string> OrAddNotHeld(const GridHistory& history, bool replicated,
                                        const std::vector<Holder>& holders);
// grid_pn_model at the end: every counter of every owner's partition (see the top of this file).
std::optional<Violation> CheckGridPnModel(
    const GridHistory& history, const std::function<Holder(uint32_t partition)>& owner_of);
// grid_or_model at the end: every OR item of every owner's partition, and every promised add (see
// the top of this file; grid_or_checks.cc).
std::optional<Violation> CheckGridOrModel(
    const GridHistory& history, const std::function<Holder(uint32_t partition)>& owner_of);
// grid_exactly_once at the end: every durable op-log entry was applied.
std::optional<Violation> CheckAllApplied(const GridHistory& history);
// grid_storage_acks: `event` was just emitted by server `node`, whose storage is `failed`.
std::optional<Violation> CheckStorageAck(const std::string& node, bool storage_failed,
                                         const events::NodeEvent& event);

// A live server as the convergence checks see it.
struct ServerView {
  std::string name;
  bool member = false;                 // should be in the table (started, not retired, not leaving)
  bool leaving = false;                // leaving and not yet gone
  const GridServer* server = nullptr;  // nullptr: down
};
struct ClientView {
  std::string name;
  bool up = false;
  size_t op_log = 0;
  std::string map;
  const PartitionDigests* digests = nullptr;  // of `map` (null: the client has no such map)
};
struct Difference {
  Invariant invariant;
  std::string detail;
};
// grid_table, then grid_convergence (servers), then clients: the first difference found.
std::optional<Difference> FindGridDifference(const std::vector<ServerView>& servers,
                                             const std::vector<ClientView>& clients);

// One client subscription for grid_live_queries.
struct SubscriptionView {
  std::string client;
  uint64_t id = 0;
  std::string map;
  const Query* query = nullptr;
  bool or_rows = false;  // rows are the map's OR items, named "key@tag" (Timestamp::ToString)
  std::string cursor;    // a page: the rows after this cursor (GridClient::NextCursor)
  const std::map<std::string, Document>* replayed = nullptr;  // rows rebuilt from the deltas
  std::vector<std::string> merged_order;                      // the client's merged result
};
std::optional<Violation> CheckGridLiveQueries(
    const std::vector<SubscriptionView>& subs,
    const std::function<const GridPartition*(uint32_t partition)>& owner_partition, Clock& clock);

}  // namespace seedgrid::invariants

#endif  // SEEDGRID_INVARIANTS_GRID_CHECKS_H_
