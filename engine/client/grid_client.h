// GridClient: an offline-first client of the grid (sans-IO: Env only).
//
// The client keeps a local replica of every map it uses — records and PN-Counters;
// Get/Set/Remove/Increment never wait for the network. Every write is stamped by the client's HLC,
// applied locally, and appended to the op log (one storage page per entry, synced with the next seq
// before the write returns), so the log survives restarts. While online the client pushes the log,
// oldest first and at most batch_ops_max entries, as GridOps to its current server every
// push_interval_ms until each entry is acknowledged (GridAck; a client with nothing to push or
// wait for arms no push timer, and a write or a send re-arms it on the same schedule); only
// entries whose log page is durable are sent (a crash must not let a restarted client reuse a seq
// a server has seen), so after a failed sync an entry waits in the in-memory log until a later
// sync (the push or sync tick retries it) succeeds; the servers' applied marks make the resend
// idempotent, so an entry is applied once however often it is sent. The acknowledgement arrives at
// the entry's write concern (FIRE_AND_FORGET entries are acknowledged on receipt too, but promise
// nothing) and removes it — once every older entry of its partition is acknowledged too: until then
// it stays and is resent with them, so an owner that lost both in a failover applies them again in
// their order (a set and a later remove of a key, an OR add and its remove), never the older alone
// after the newer.
//
// Sync (grid_client_sync.cc) is a pull through three levels: SyncInit -> SyncRoot (the XOR of every
// partition digest of the map) -> on a difference SyncBucketsRequest -> the per-partition digests
// -> a pull of the partitions whose digests differ -> ClientLeaf states merged into the local map.
// It runs every sync_interval_ms and right after a reconnect, after the op log is sent. A leaf is
// the owner's whole partition of the map, so after merging it the client knows exactly what the
// owner lacks: its records the leaf lacks or holds older (a disk was lost, or only a previous owner
// had them). It sends those back (ClientRepair; keys with unacknowledged writes excepted, those go
// through the op log, and records still stamped by the client itself, since only an owner's
// application stamps a write) and the owner merges them — clients are replicas too. On an
// acknowledgement the client adopts the server's stamp for its own write at once. The HLC's last
// timestamp is saved with every sync (page H) and restored on restart, so a client that comes back
// with its clock behind its own stamps never reissues one. A pulled leaf carries the partition's
// tombstone GC watermark: records of this client older than it that the leaf lacks are dead (their
// tombstones were pruned) and are forgotten, so a client that was offline through a GC neither
// keeps nor repairs a deleted value back to life.
//
// OR-Maps (grid_client_or.cc; engine/crdt/or_map.h, "Origins"). AddItem adds under a provisional
// tag of this client's clock, keeping the add's origin OrOrigin(client, seq); the owner tags the
// add with its own clock and acknowledges with that tag, which replaces the provisional one here
// (or arrives first in a leaf: an item with our origin is adopted). RemoveItem tombstones the
// origins of every observed item with the value, and the op names the same; the owner kills them
// (or_map.h, "Kills"), and its kill replaces our bare origin tombstones when a leaf brings it.
// Provisional tags never leave this client (repairs skip them), and leaves' GC watermarks never
// judge them: acknowledgements settle them.
//
// Live queries. Subscribe() sends a QuerySubscribe to the current server, which has every server
// stream its part; the client merges the parts (merged_query.h) and calls back with the merged
// ENTER / UPDATE / LEAVE deltas. Every sync_interval_ms and on every reconnect the client
// refreshes each subscription (a lease, carrying how far it followed each server's stream), so a
// server that failed over, restarted or sent something the client missed resyncs with a snapshot.
// Subscriptions are not persisted: after a restart the application subscribes again.
//
// Paging. A subscription whose query has a limit is a page; NextCursor() gives a keyset cursor
// (engine/query/cursor.h) at its last row, and Subscribe() with that cursor is the next page: the
// first `limit` rows after that position, live like any subscription. A grid cursor is bound to
// the query and the position only — not to a server, so it survives any failover — and expires
// cursor_ttl_ms after NextCursor (this client's clock; checked when it is passed to Subscribe).
// Rows are ordered by the query's result order (sort fields, key, tag), so rows present and
// unchanged while paging are never skipped nor repeated; a row that changed may be seen twice or
// not at all (its position moved across the cursor), as with the single-node engine's key order.
//
// Transport. Over the WebSocket transport (the default) the client exchanges the messages above.
// Over HTTP sync (grid_client_http.cc; docs/architecture.md, "HTTP sync") it holds no connection:
// every push_interval_ms it sends one HttpSyncRequest with the oldest sendable entries of its op
// log, and every sync_interval_ms one that also carries its per-partition digests of every map (its
// marks); the one response brings the acks and the leaves of the partitions that differ (more
// follow a cursor at once). One request is in flight at a time. Repairs (as above) go with the
// next request. Live queries need the WebSocket
// transport: SetTransport(kHttp) cancels them and Subscribe fails on HTTP. Switching either way at
// any time loses and duplicates nothing: the op log and the applied marks are the same.
//
// Connection. The client talks to one server at a time. A server that answers nothing for
// server_timeout_ms while requests are outstanding is abandoned for the next in the list;
// GoOffline()/GoOnline() model a device losing and regaining its network (offline: nothing is sent
// and nothing received is processed). Reconnecting pushes the op log, then syncs.
#ifndef SEEDGRID_ENGINE_CLIENT_GRID_CLIENT_H_
#define SEEDGRID_ENGINE_CLIENT_GRID_CLIENT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "engine/client/merged_query.h"
#include "engine/cluster/record_digest.h"
#include "engine/crdt/counter_map.h"
#include "engine/crdt/lww_map.h"
#include "engine/crdt/or_map.h"
#include "engine/env/env.h"
#include "engine/env/page_store.h"
#include "engine/env/twin_page.h"
#include "engine/events/node_events.h"
#include "engine/hlc/hlc.h"
#include "engine/wire/messages.h"

namespace seedgrid {

enum class ClientTransport : uint8_t { kWebSocket = 0, kHttp = 1 };
// At most this many maps in one HTTP sync request's marks (the servers' kHttpSyncMapsMax): a
// client with more syncs them in windows, one window per round.
inline constexpr size_t kHttpMarksMapsMax = 256;
std::string_view ClientTransportName(ClientTransport t);

struct GridClientOptions {
  NodeId node_id;
  std::vector<NodeId> servers;  // tried in order, starting at first_server
  size_t first_server = 0;
  uint64_t push_interval_ms = 100;
  uint64_t sync_interval_ms = 1000;
  uint64_t server_timeout_ms = 1500;
  size_t batch_ops_max = 256;
  // 0: no limit. Otherwise a push holds entries of at most about this many bytes (at least one
  // entry), so a batch of large documents stays under the transport's frame bound.
  size_t batch_bytes_max = 0;
  // 0: every push tick sends the oldest entries (the simulator's clients). Otherwise one push is
  // in flight at a time: the next goes when every entry of the last one is acknowledged, or when
  // the last is this old — doubling, up to 8 times, while resends bring no acknowledgement at all
  // — or
  // after a reconnect, so a slow or loaded server is not flooded with
  // duplicates of what it is still working on (real clients). Either way a push is always the
  // log's oldest entries: a server's applied mark is a high-water mark per (partition, client),
  // so an entry sent after a younger one of its partition was applied would be taken for a
  // duplicate and never applied.
  uint64_t resend_after_ms = 0;
  uint64_t max_drift_ms = 60'000;
  uint64_t cursor_ttl_ms = 10 * 60 * 1000;  // NextCursor's cursors expire this long after issue
  ClientTransport transport = ClientTransport::kWebSocket;
  bool persist = true;
  bool start_online = true;
  // Observers (checkers): AckReceived (the first ack of an op-log entry), OpLogged,
  // TimestampIssued (every local write's stamp, before its sync), StorageFailed.
  events::EventSink events;
};

struct SubscribeOptions {
  std::string cursor;    // a page after this cursor (NextCursor); empty: the first page
  bool or_rows = false;  // the rows are the map's OR-Map items (key, tag), not its LWW records
};

struct GridClientStats {
  uint64_t writes = 0;
  uint64_t batches_sent = 0;
  uint64_t acks = 0;
  uint64_t server_switches = 0;
  uint64_t leaves_merged = 0;
  uint64_t repairs_sent = 0;
  uint64_t records_merged = 0;
  uint64_t records_forgotten = 0;   // dead under a pulled leaf's GC watermark
  uint64_t own_writes_settled = 0;  // own-stamped records replaced by the owner's leaf
  uint64_t query_updates = 0;
  uint64_t query_updates_ignored = 0;  // older epoch, duplicate or out of sequence
  uint64_t torn_pages_discarded = 0;
  uint64_t decode_errors = 0;
  uint64_t protocol_errors = 0;
  uint64_t http_syncs = 0;          // HTTP sync requests sent
  uint64_t http_syncs_refused = 0;  // answered with an error (400, 503)
  std::string last_error;
  StorageStats storage;
};

class GridClient {
 public:
  // Restores the maps and the op log from env.storage; InvalidArgument for bad options.
  static absl::StatusOr<std::unique_ptr<GridClient>> Open(Env& env, GridClientOptions options);
  ~GridClient();
  GridClient(const GridClient&) = delete;
  GridClient& operator=(const GridClient&) = delete;

  // Local writes: applied and logged before they return. Returns the op-log seq. The entry is
  // sent to the servers only once its log page is durable (a failed sync is retried by the ticks).
  // REQUIRES: `map` is 1..kMapNameBytesMax bytes (asserted; `seedgrid client` checks its input).
  uint64_t Set(const std::string& map, std::string key, Document value,
               msg::WriteConcern concern = msg::WriteConcern::kApplied);
  uint64_t Remove(const std::string& map, std::string key,
                  msg::WriteConcern concern = msg::WriteConcern::kApplied);
  // Adds `delta` (negative: subtracts) to PN-Counter `key` of `map`: this client's own entry of
  // the counter rises (its positive or its negative total), and the op carries the entry's new
  // totals (msg::GridOp.counter; engine/crdt/counter_map.h), so the servers take the maximum and a
  // resent op changes nothing. Counters are a key space of their own beside the map's records.
  // OutOfRange (nothing logged) when the client's total would pass 2^64 - 1.
  absl::StatusOr<uint64_t> Increment(const std::string& map, std::string key, int64_t delta,
                                     msg::WriteConcern concern = msg::WriteConcern::kApplied);
  // Many writes, one storage sync: between BeginWrites() and EndWrites() a write is logged but not
  // synced (and so not sent); EndWrites() syncs once and returns the sync's status. Writes outside
  // such a span sync each (the default above).
  void BeginWrites() { deferring_sync_ = true; }
  absl::Status EndWrites();
  // Pushes the op log and starts a sync round now instead of at the next tick (when online).
  void SyncNow();
  // How many sync rounds found `map` equal to the servers' (its root matched): a caller waiting
  // for "caught up" waits for this to grow.
  uint64_t roots_matched(const std::string& map) const {
    auto it = roots_matched_.find(map);
    return it == roots_matched_.end() ? 0 : it->second;
  }

  // The live value in the local replica (nullptr when absent or removed).
  const Document* Get(const std::string& map, std::string_view key);
  // The value of counter `key` of `map` in the local replica (0 when unknown).
  int64_t CounterValue(const std::string& map, const std::string& key) const;
  // The counters of `map` (null when it has none here).
  const CounterMap* Counters(const std::string& map) const {
    auto it = counters_.find(map);
    return it == counters_.end() ? nullptr : it->second.get();
  }
  // OR-Map `map`: adds `value` to `key` (another item, even when an equal one is there). OutOfRange
  // (nothing logged) once the op-log seq passes 2^32 - 1 (an add's origin holds 32 bits).
  absl::StatusOr<uint64_t> AddItem(const std::string& map, std::string key, Document value,
                                   msg::WriteConcern concern = msg::WriteConcern::kApplied);
  // Removes every item of `key` with `value` that this client holds (observed remove: a
  // concurrent add elsewhere survives). NotFound (nothing logged) when it holds none.
  absl::StatusOr<uint64_t> RemoveItem(const std::string& map, std::string key,
                                      const Document& value,
                                      msg::WriteConcern concern = msg::WriteConcern::kApplied);
  // The live, unexpired items of `key` in the local replica, in tag order.
  std::vector<const Document*> Items(const std::string& map, std::string_view key);
  // The OR entries of `map` (null when it has none here).
  const OrMap* OrMapOf(const std::string& map) const;
  // Starts keeping (and syncing) `map` without writing to it.
  void Open(const std::string& map) { (void)MapOf(map); }

  // Live queries served by the servers (see the header comment). InvalidArgument for an invalid
  // query or a garbled cursor, or one of another query; FailedPrecondition for an expired cursor
  // or one no grid client issued. The callback must not call back into this client.
  absl::StatusOr<uint64_t> Subscribe(const std::string& map, Query query,
                                     QueryEngine::DeltaCallback callback,
                                     SubscribeOptions options = {});
  bool Unsubscribe(uint64_t id);
  // The cursor of the page after subscription `id` (see "Paging"): empty when its result is not
  // full (the last page). FailedPrecondition while some partition has no server's rows yet
  // (MergedQuery::Complete) or when the query has no limit; NotFound for an unknown id.
  absl::StatusOr<std::string> NextCursor(uint64_t id) const;
  // The merged result of a subscription in result order (nullptr for an unknown id).
  const MergedQuery* subscription(uint64_t id) const {
    auto it = subscriptions_.find(id);
    return it == subscriptions_.end() ? nullptr : it->second.get();
  }

  // See "Transport" above.
  void SetTransport(ClientTransport transport);
  ClientTransport transport() const { return options_.transport; }

  void GoOffline() { online_ = false; }
  void GoOnline();
  bool online() const { return online_; }
  const NodeId& server() const { return options_.servers[server_index_]; }

  void HandleMessage(const NodeId& from, std::string_view bytes);

  const NodeId& node_id() const { return options_.node_id; }
  const absl::btree_map<uint64_t, msg::GridOp>& op_log() const { return op_log_; }
  const absl::btree_map<std::string, std::unique_ptr<LwwMap>>& maps() const { return maps_; }
  // Whether `key`'s record in `map` is on disk as it is in memory: its page was written and synced
  // after its last change (a restart from this client's storage restores it at least as new).
  bool RecordDurable(const std::string& map, std::string_view key) const;
  uint64_t MapRoot(const std::string& map) const;
  // The digest of (map, partition) as maintained on every change (0 for an unknown map).
  uint64_t MapDigest(const std::string& map, uint32_t partition) const {
    const PartitionDigests* d = Digests(map);
    return d == nullptr ? 0 : d->of(partition);
  }
  // Every partition's digest of `map` (null for an unknown map).
  const PartitionDigests* Digests(const std::string& map) const {
    auto it = digests_.find(map);
    return it == digests_.end() ? nullptr : &it->second;
  }
  GridClientStats stats() const {
    GridClientStats s = stats_;
    s.storage = pages_.stats();
    return s;
  }
  Hlc& hlc() { return hlc_; }

 private:
  GridClient(Env& env, GridClientOptions options);
  absl::Status Restore();
  LwwMap& MapOf(const std::string& name);
  CounterMap& CountersOf(const std::string& name);
  OrMap& OrMapFor(const std::string& name);
  uint64_t Log(msg::GridOp op);
  void Send(msg::Body body);
  // OK when everything written so far is durable; then every logged entry becomes sendable.
  // Message handlers.
  void OnAck(const msg::GridAck& ack);
  void DropAcked();
  void OnQueryUpdate(const NodeId& from, const msg::QueryUpdate& u);
  void OnDigest(const NodeId& from, const msg::PartitionDigest& d);
  void OnLeaf(const NodeId& from, const msg::PartitionState& state);
  // Writes the record pages of the keys changed since the last sync, then syncs.
  absl::Status SyncStorage();
  void WriteChangedRecords();
  // Entries below `logged_below` became durable: sendable, and reported (events::OpLogged).
  void MarkLogged(uint64_t logged_below);
  // The oldest sendable entries of the op log within the batch bounds.
  std::vector<msg::GridOp> TakeBatch() const;
  void Push();
  void StartSync();
  // HTTP sync (grid_client_http.cc).
  void Poll();
  msg::HttpSyncRequest HttpRequest(bool pull);
  void OnHttpResponse(const NodeId& from, const msg::HttpSyncResponse& r);
  void Reconnect();
  // After merging an owner's leaf: takes the leaf's version (or none) of every record of ours
  // still stamped by this client with no write pending — the grid lost or never kept that write.
  void SettleOwnWrites(LwwMap& map, const msg::MapRecords& leaf, uint32_t partition);
  // Keys of `map_name` with writes (counters: counter ops) still in the op log (views into it).
  absl::btree_set<std::string_view> PendingKeys(const std::string& map_name,
                                                bool counters = false) const;
  // After merging an owner's leaf: merges its counters, and sends back (with the record repair)
  // the entries the leaf lacks or holds lower — except this client's own entries of counters
  // with ops still in the op log (those go up as ops).
  void MergeLeafCounters(const msg::MapRecords& leaf, uint32_t partition);
  void RepairCounters(const msg::MapRecords& leaf, uint32_t partition,
                      std::vector<msg::CounterEntry>& out) const;
  // After merging an owner's leaf: sends back (kClientRepair) the records it lacks or holds older.
  void RepairWhatLeafLacks(const std::string& map_name, const LwwMap& map,
                           const msg::MapRecords& leaf, uint32_t partition);
  void SendRepair(msg::PartitionState state);
  void Forget(LwwMap& map, const msg::MapRecords& leaf, uint32_t partition, uint64_t watermark);
  // OR-Maps (grid_client_or.cc).
  void OnOrAck(const msg::GridOp& op, const msg::GridOpAck& a);
  absl::btree_set<uint64_t> PendingOrAdds(const std::string& map_name) const;
  void MergeLeafOr(const msg::MapRecords& leaf, uint32_t partition, uint64_t watermark);
  void ForgetOrBelow(OrMap& or_map, const msg::MapRecords& leaf, uint32_t partition,
                     uint64_t watermark);
  void SettleOwnOrItems(OrMap& or_map, const msg::MapRecords& leaf, uint32_t partition);
  void RepairOr(const msg::MapRecords& leaf, uint32_t partition,
                std::vector<msg::OrKeyState>& out) const;
  void WriteChangedOrEntries();
  bool RestoreOrPage(const std::string& page, const msg::PartitionState& state);
  void PushTick();
  bool PushIdle() const;
  void ArmPush(uint64_t delay_ms);
  void WakePush();
  void SyncTick();
  void Fail(uint64_t& counter, std::string error);
  void RefreshSubscriptions();
  // The subscribe (or cancel) message of subscription `id`, with its known marks and cursor.
  msg::QuerySubscribe SubscribeMessage(uint64_t id, const MergedQuery& sub, bool cancel) const;
  // Subscribe's checks of a page's cursor (see "Paging").
  absl::Status CheckCursor(const Query& query, std::string_view cursor) const;

  Env& env_;
  GridClientOptions options_;
  Hlc hlc_;
  GridClientStats stats_;
  absl::btree_map<std::string, std::unique_ptr<LwwMap>> maps_;
  absl::btree_map<std::string, std::unique_ptr<CounterMap>> counters_;  // maps with counters
  absl::btree_map<std::string, std::unique_ptr<OrMap>> or_maps_;        // maps with OR entries
  // std::map: map listeners hold pointers to the values (btree maps move values on insert).
  std::map<std::string, PartitionDigests> digests_;
  PageStore pages_;
  // Twin pages (twin_page.h): no torn write rolls them back. A next-seq page "217" torn to "2"
  // restarted the client at seq 2, reusing sequence numbers its servers had applied.
  TwinPage hlc_page_{"H"};
  TwinPage seq_page_{"S"};
  absl::btree_map<uint64_t, msg::GridOp> op_log_;
  // Entries of op_log_ acknowledged but kept behind an older unacknowledged one of their
  // partition (DropAcked); not persisted: after a restart they are resent and acknowledged again.
  absl::btree_set<uint64_t> acked_;
  // resend_after_ms > 0: the newest seq of the last push, and when it left.
  uint64_t pushed_through_seq_ = 0;
  uint64_t pushed_at_ms_ = 0;
  uint64_t resend_delay_ms_ = 0;     // resend_after_ms, doubled per resend without progress
  uint64_t sendable_below_seq_ = 1;  // entries below are durable: Push() may send them
  // Per LWW map, kept by the listener every record change of the map runs (it holds a pointer:
  // std::map nodes do not move):
  // - by_partition: the keys of each partition, for the watermark's sweep, the settling and the
  //   repair walk;
  // - unwritten: every key changed since the last SyncStorage(): its page is written there, once,
  //   however often the record changed in between (a write, its acknowledgement's stamp, a leaf).
  //   An unsynced page may be lost in a crash anyway, so writing it later promises as much.
  struct MapKeys {
    // sg:lookup-only
    absl::flat_hash_map<uint32_t, absl::btree_set<std::string>> by_partition;
    absl::btree_set<std::string> unwritten;
  };
  std::map<std::string, MapKeys, std::less<>> map_keys_;
  // The keys of (map, partition): an empty set when there are none.
  const absl::btree_set<std::string>& PartitionKeys(const std::string& map, uint32_t p) const;
  absl::btree_set<std::pair<std::string, std::string>> unwritten_counters_;
  absl::btree_set<std::pair<std::string, std::string>> unwritten_or_;
  // This client's own totals of every counter it incremented, each a twin page (twin_page.h)
  // "O/<len>/<map>/<key>" written with the op: after an acknowledgement erases the op's page they
  // are the only durable copy, and the counter's page (C/, every writer's totals) is rewritten
  // whenever any entry rises, so a tear of it must not take them back — a client restarted below
  // its own totals would issue increments the servers' maximum absorbs.
  absl::btree_map<std::pair<std::string, std::string>, TwinPage> own_totals_;
  TwinPage& OwnTotalsPage(const std::string& map, const std::string& key);
  // Restore: offers an "O/" page to its twin; false for a name that does not parse.
  bool OfferOwnTotalsPage(const std::string& page, const std::string& bytes);
  void RestoreOwnTotals();
  void BackfillOwnTotals();
  // The counter keys of each (map, partition), for the repair walk.
  absl::btree_map<std::pair<std::string, uint32_t>, absl::btree_set<std::string>> counter_keys_;
  // The OR keys of each (map, partition), for the sweep, the settling and the repair walk.
  absl::btree_map<std::pair<std::string, uint32_t>, absl::btree_set<std::string>> or_keys_;
  absl::btree_map<uint64_t, std::unique_ptr<MergedQuery>> subscriptions_;
  uint64_t next_subscription_ = 1;
  uint64_t next_seq_ = 1;
  uint64_t next_request_id_ = 1;
  size_t server_index_ = 0;
  bool online_ = true;
  std::optional<uint64_t> waiting_since_ms_;  // oldest unanswered request to the server
  // For SG_PROBE only: entries below these seqs were logged before the last server switch, and
  // were replayed from storage at the last restart.
  uint64_t switched_below_seq_ = 0;
  uint64_t restored_below_seq_ = 0;
  bool restoring_ = false;
  bool deferring_sync_ = false;
  absl::btree_map<std::string, uint64_t> roots_matched_;
  // HTTP sync: the unanswered request (0: none) and whether it pulls, the cursor to continue
  // with, a pull due at the next poll, repairs for the next request, and this round's leaves.
  uint64_t http_in_flight_ = 0;
  bool http_pulling_ = false;
  bool http_in_flight_ops_ = false;
  absl::btree_set<std::string> http_round_maps_;  // the maps of this sync round's marks
  size_t http_map_window_ = 0;                    // where the next round's maps start
  std::string http_cursor_;
  bool http_pull_due_ = true;
  std::vector<msg::PartitionState> http_repairs_;
  absl::btree_set<std::string> http_round_leaves_;  // maps with a leaf this round
  std::optional<Timers::TimerId> push_timer_;       // unarmed while PushIdle()
  uint64_t push_fired_ms_ = 0;
  bool push_started_ = false;
  std::optional<Timers::TimerId> sync_timer_;
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_CLIENT_GRID_CLIENT_H_
