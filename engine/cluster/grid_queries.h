// GridQueryHost: a grid server's live queries (sans-IO; the GridServer feeds it changes and
// coverage, and sends what TakeUpdates returns). It reads the partitions, nothing else of the
// server.
//
// A client subscribes through its gateway, which forwards the subscription to every server. Each
// server answers for the partitions it *covers* (owns and is ready for): per map with
// subscriptions it keeps a QueryEngine over the live records of its covered partitions, and per
// subscription it streams QueryUpdates to the client — a snapshot (seq 0, a fresh epoch, the
// covered partitions and every row of its result), then deltas (seq 1, 2, ...; entered or updated
// rows as records, rows that left as tombstones). With a limit, a server streams its own top N;
// the client merges the servers' rows and takes the global top N (engine/client/grid_client.h).
//
// OR rows: a subscription with or_rows reads the map's live OR items, one row per (key, tag) as in
// the single-node engine; updates carry them as OR key states (an item per entered or updated
// row, a tombstone tag per row that left). The views track no row deadlines (as for LWW rows): an
// item leaves when its map drops it.
//
// Resync instead of silent gaps: a new snapshot (new epoch) replaces everything this server sent
// for the subscription when its coverage changes (failover, migration, readiness), and when a
// client's refresh reports another epoch, or a seq below what the server had sent by the
// previous refresh (a lost update, a reconnect, a restarted server or client; updates sent since
// the previous refresh may still be in flight, so a gap is repaired within two refreshes).
//
// Leases: a client refreshes its subscriptions every sync interval; a subscription not refreshed
// for lease_ms is dropped. At most kSubscriptionsMax subscriptions per server (more are refused
// and counted). Epochs come from the caller (the server's HLC), so they grow across restarts.
#ifndef SEEDGRID_ENGINE_CLUSTER_GRID_QUERIES_H_
#define SEEDGRID_ENGINE_CLUSTER_GRID_QUERIES_H_

#include <bitset>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "engine/cluster/effects.h"
#include "engine/cluster/grid_partition.h"
#include "engine/cluster/membership.h"
#include "engine/cluster/partition.h"
#include "engine/crdt/lww_map.h"
#include "engine/crdt/or_map.h"
#include "engine/env/env.h"
#include "engine/hlc/hlc.h"
#include "engine/query/query_engine.h"
#include "engine/wire/messages.h"

namespace seedgrid {

inline constexpr size_t kSubscriptionsMax = 1 << 16;

using Coverage = std::bitset<kPartitionCount>;

struct GridQueryStats {
  uint64_t subscriptions_refused = 0;  // over kSubscriptionsMax, or a page's cursor is not valid
  uint64_t snapshots_sent = 0;
  uint64_t deltas_sent = 0;
  uint64_t expired = 0;
};

class GridQueryHost {
 public:
  // `partitions` is the server's partition slots (kPartitionCount, null when not held); it
  // outlives the host.
  GridQueryHost(Clock& clock, const PartitionSlots& partitions);
  ~GridQueryHost();
  GridQueryHost(const GridQueryHost&) = delete;
  GridQueryHost& operator=(const GridQueryHost&) = delete;

  // The server's side of a QuerySubscribe: from a client (no requester) this server is its
  // gateway and forwards it to every other member (the returned messages); then it serves it.
  // Nothing while the server has no table (the client refreshes).
  Effects Route(const NodeId& from, const msg::QuerySubscribe& m, const Membership& membership,
                uint64_t now_ms);
  // Coverage follows the table and readiness: the partitions owned and ready (cheap when the
  // table version and the number of partitions still pulling are unchanged). A new table is
  // followed at once. Readiness alone — partitions turning ready one by one as a new owner's
  // pulls are answered — is followed only when `readiness_due` (the server's tick) or when the
  // last pull was answered: every coverage change resends every subscription's snapshot, and
  // following each partition cost grid_scale 177k snapshots in 75 virtual seconds.
  void FollowCoverage(const Membership& membership, bool readiness_due);
  // The updates due, as messages to send (fresh epochs from `hlc`); `readiness_due` as above.
  Effects Flush(const Membership& membership, Hlc& hlc, bool readiness_due);

  // A subscription, refresh or cancel from `client` (m.requester is ignored here).
  void OnSubscribe(const NodeId& client, const NodeId& self, const msg::QuerySubscribe& m,
                   uint64_t now_ms);
  // True when some subscription reads `map`'s records (only then do their changes matter).
  bool Watching(const std::string& map) const { return views_.contains(map); }
  // True when some subscription reads `map`'s OR items.
  bool WatchingOr(const std::string& map) const { return or_views_.contains(map); }
  // A change of a record of `map` in partition p (call for every change; uncovered ones are
  // ignored).
  void OnChange(uint32_t p, const std::string& map, const LwwChange& c);
  // A change of an OR entry of `map` in partition p (as OnChange; grid_queries_or.cc).
  void OnOrChange(uint32_t p, const std::string& map, const OrChange& c);
  // PartitionSet's change hook: OnChange or OnOrChange, when some subscription watches them.
  void OnPartitionChange(uint32_t p, const std::string& map, const LwwChange* lww,
                         const OrChange* or_change) {
    if (lww != nullptr && Watching(map)) OnChange(p, map, *lww);
    if (or_change != nullptr && WatchingOr(map)) OnOrChange(p, map, *or_change);
  }
  // The covered partitions now; a change re-snapshots every subscription.
  void SetCoverage(const Coverage& covered);
  // Drops subscriptions whose lease ran out.
  void Expire(uint64_t now_ms, uint64_t lease_ms);
  // The updates due: snapshots where needed, else the deltas gathered since the last call.
  // `next_epoch` gives a fresh, increasing epoch per snapshot.
  std::vector<std::pair<NodeId, msg::QueryUpdate>> TakeUpdates(
      uint64_t table_version, const std::function<uint64_t()>& next_epoch,
      const Timestamp& leave_stamp);

  size_t subscriptions() const { return subs_.size(); }
  const Coverage& coverage() const { return covered_; }
  const GridQueryStats& stats() const { return stats_; }

 private:
  struct View;
  struct Sub {
    std::string map;
    Query query;
    std::string cursor;    // a live page: the rows after this cursor's position
    bool or_rows = false;  // rows are the map's OR items (key, tag): served from or_views_
    SubscriptionId engine_id = 0;
    uint64_t epoch = 0;
    uint64_t seq = 0;
    uint64_t refreshed_ms = 0;
    uint64_t seq_at_refresh = 0;  // seq sent by the time of the previous refresh
    bool needs_snapshot = true;
    bool due = false;  // in due_ (MarkDue): a delta costs a flag test, not a set insert
    // Rows changed since the last update: key -> entered/updated (true) or left (false).
    absl::btree_map<std::string, bool> pending;
    absl::btree_map<std::pair<std::string, Timestamp>, bool> or_pending;  // OR rows: (key, tag)
  };
  using SubKey = std::pair<NodeId, uint64_t>;  // (client, subscription id)

  struct OrView;
  View& ViewOf(const std::string& map);
  // The engine of the sub's view: AcquireView makes the view if needed and counts the sub.
  QueryEngine& AcquireView(const Sub& sub);
  QueryEngine& EngineOf(const Sub& sub);
  // Drops the sub's view when no other subscription reads it.
  void ReleaseView(const Sub& sub);
  // OR views (grid_queries_or.cc): rows are copies of the covered partitions' live OR items.
  OrView& OrViewOf(const std::string& map);
  // Makes the view's rows of `key` those of `entry` (nullptr: none).
  void SyncOrKey(OrView& v, std::string_view key, const OrEntry* entry);
  void AddPartitionOrRows(OrView& v, const std::string& map, uint32_t p);
  void DropUncoveredOrRows(OrView& v, const Coverage& covered);
  // An OR subscription's rows for its update: its whole result (snapshot) or its pending rows.
  void FillOrRows(Sub& sub, bool snapshot, msg::MapRecords& rows);
  void AddRow(View& v, std::string_view key, const LwwRecord& r);
  // The live rows of `map` in partition p (if held).
  void AddPartitionRows(View& v, const std::string& map, uint32_t p);
  void RemoveRow(View& v, std::string_view key, const LwwRecord& old);
  void Unsubscribe(const SubKey& key);
  // Puts `key` (whose subscription is `sub`) in due_ once until the next TakeUpdates.
  void MarkDue(const SubKey& key, Sub& sub) {
    if (sub.due) return;
    sub.due = true;
    due_.insert(key);
  }
  // Subscribes `sub` in its view; false (nothing changed) for a cursor that is not its query's.
  bool Resubscribe(const SubKey& key, Sub& sub);

  Clock& clock_;
  const PartitionSlots& partitions_;
  Coverage covered_;
  std::tuple<uint64_t, NodeId, size_t> coverage_signature_;  // what covered_ was computed for
  std::map<std::string, std::unique_ptr<View>> views_;       // map name -> rows and engine
  std::map<std::string, std::unique_ptr<OrView>> or_views_;  // map name -> OR rows and engine
  // std::map, not a btree: a subscription's delta callback holds its Sub* (node-stable), so a
  // delta does not look its subscription up by a key whose first half is a string.
  std::map<SubKey, Sub> subs_;
  absl::btree_set<SubKey> due_;  // subscriptions with a snapshot or deltas to send
  GridQueryStats stats_;
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_CLUSTER_GRID_QUERIES_H_
