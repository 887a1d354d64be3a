// QueryEngine: rows, indexes, the planner, keyset paging and live queries over the live rows of
// one CRDT map. IndexedLwwMap / IndexedOrMap (indexed_map.h) feed it every change of their map;
// users normally reach it through them.
//
// Rows. A row is a live (not tombstoned, not expired) record of an LWW-Map, or one live item of an
// OR-Map key (identified by key and tag). RowRefs point into the map's own storage (no copies):
// they stay valid until the map or the engine next changes.
//
// Results are exact and independent of which indexes exist: the rows that satisfy the predicate.
// Result order: by the sort fields (each asc or desc, in the query value order), then by key, then
// by OR tag, ascending. Run() returns rows in result order when the query sorts or has a limit
// (HasResultOrder); otherwise it returns the match set in index order (ascending row handle: fixed
// by the history of this engine, so deterministic, but two replicas holding the same rows may list
// them differently), which costs no sort. Live results and a subscription's initial rows are
// always in result order. Indexes change only speed. Explain() shows the plan the cost-based
// planner chose.
//
// Paging. A query with a limit returns at most `limit` rows and, when more may follow, an opaque
// cursor; pass it back (with the same predicate and sort; the limit may change) for the next page.
// Guarantees while the map changes between pages: no row is returned twice; a row present and
// unchanged throughout is never skipped; when the query sorts only by key, a row present
// throughout is never skipped even if it changed. A row that changed after the first page of a
// sorted query may be left out of later pages (it could otherwise repeat); live queries see it.
// Cursors expire `cursor_ttl_ms` after issue (Env clock) and are bound to this engine instance.
//
// TTL. Expiry is evaluated against the highest Env clock reading seen (a clock stepping back never
// resurrects an expired row), by ExpireDue(), which runs before every query and change.
//
// Live queries. Subscribe() returns the initial result and then calls back, synchronously inside
// the change that caused it, with ENTER / UPDATE / LEAVE deltas in a deterministic order. A query
// with a limit keeps a top-N window: a row pushed out emits LEAVE (reason kDisplaced) and a row
// moving into a freed slot emits ENTER (kPromoted). Subscriptions with an equal query share one
// standing result. Callbacks must not modify the map (asserted by ListenerSet); they may
// subscribe or unsubscribe.
#ifndef SEEDGRID_ENGINE_QUERY_QUERY_ENGINE_H_
#define SEEDGRID_ENGINE_QUERY_QUERY_ENGINE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "engine/env/env.h"
#include "engine/hlc/timestamp.h"
#include "engine/query/cursor.h"
#include "engine/query/indexes.h"
#include "engine/query/matcher.h"
#include "engine/query/query.h"

namespace seedgrid {

struct RowRef {
  std::string_view key;
  const Timestamp* tag = nullptr;  // OR-Map rows; nullptr for LWW-Map rows.
  const Document* value = nullptr;
};

enum class DeltaKind : uint8_t { kEnter, kUpdate, kLeave };
enum class DeltaReason : uint8_t {
  kChanged,    // The row itself was written, merged, removed or expired.
  kDisplaced,  // Pushed out of a top-N window by another row.
  kPromoted,   // Moved into a top-N slot another row freed.
};
std::string_view DeltaKindName(DeltaKind kind);
std::string_view DeltaReasonName(DeltaReason reason);

struct LiveDelta {
  DeltaKind kind;
  DeltaReason reason;
  RowRef row;  // row.value is nullptr for kLeave.
};

struct QueryPage {
  std::vector<RowRef> rows;
  std::string next_cursor;  // Empty when this is the last page (or the query has no limit).
};

struct IndexInfo {
  IndexKind kind;
  std::vector<std::string> fields;
  size_t approx_bytes;
};

struct QueryEngineOptions {
  uint64_t cursor_ttl_ms = 10 * 60 * 1000;
  // Rows scanned by one ordered walk or promotion lookup before falling back to a full plan.
  size_t walk_rows_max = 1 << 20;
};

using SubscriptionId = uint64_t;

class QueryEngine {
 public:
  using DeltaCallback = std::function<void(const LiveDelta&)>;
  struct Subscription {
    SubscriptionId id;
    std::vector<RowRef> initial;
  };

  // `clock` must outlive the engine. `instance_id` binds cursors to this engine.
  QueryEngine(Clock& clock, uint64_t instance_id, QueryEngineOptions options = {});
  ~QueryEngine();
  QueryEngine(const QueryEngine&) = delete;
  QueryEngine& operator=(const QueryEngine&) = delete;

  // Internal (planner.h): a plan node, and a point in result order (sort values, key, tag).
  struct Plan;
  struct Position;

  // --- Indexes. AlreadyExists for a duplicate, InvalidArgument for bad fields. Built at once
  // from the current rows.
  absl::Status AddIndex(IndexKind kind, std::vector<std::string> fields);
  std::vector<IndexInfo> Indexes() const;

  // --- Queries. InvalidArgument for an invalid query or a garbled cursor, or a cursor of a
  // different query; FailedPrecondition for an expired cursor or one from another instance.
  absl::StatusOr<QueryPage> Run(const Query& q, std::string_view cursor = {});
  absl::StatusOr<std::string> Explain(const Query& q);

  // --- Live queries.
  absl::StatusOr<Subscription> Subscribe(const Query& q, DeltaCallback callback);
  // A live page: the rows of q strictly after `start`'s position in result order (with a limit,
  // the first `limit` of them), kept current like any subscription. `start` must belong to q
  // (InvalidArgument otherwise, as Run says); its instance, start sequence and expiry are not
  // checked: the caller vets them (a grid cursor is bound to the query and the position only).
  absl::StatusOr<Subscription> SubscribeAfter(const Query& q, const CursorState& start,
                                              DeltaCallback callback);
  bool Unsubscribe(SubscriptionId id);
  // The subscription's maintained result, in result order (NotFound for an unknown id).
  absl::StatusOr<std::vector<RowRef>> LiveResult(SubscriptionId id) const;
  size_t subscriptions() const { return subscribers_.size(); }
  // InvalidArgument unless `state` is a cursor of q (its predicate, sort and sort arity).
  static absl::Status CursorBelongsTo(const Query& q, const CursorState& state);
  size_t standing_queries() const { return standing_.size(); }
  // A cursor at `row`'s position in q's result order (query hash, sort values, key, tag): the
  // next page starts right after it. The caller sets instance, start sequence and expiry.
  static CursorState CursorAfter(const Query& q, const RowRef& row);

  // --- Row maintenance, for the indexed-map adapters. `key`, `tag` and `doc` must stay valid
  // until the row is removed or updated (they point into the map's pointer-stable storage).
  // deadline_ms: the row expires when deadline_ms < now (UINT64_MAX: never).
  RowHandle InsertRow(std::string_view key, const Timestamp* tag, const Document* doc,
                      uint64_t deadline_ms);
  // `old_doc` is the row's previous contents (the map may already have overwritten them in place).
  void UpdateRow(RowHandle h, const Document& old_doc, const Document* new_doc,
                 uint64_t deadline_ms);
  // `key` and `tag` must be valid now (the map may already have erased the row's own copies).
  void RemoveRow(RowHandle h, std::string_view key, const Timestamp* tag, const Document& old_doc);
  // Points a row at another copy of the same key, tag and contents, with no index or live-query
  // change: an adapter whose map freed a row's storage re-points the row before any other row
  // changes, since each change may read every live row (a top-N refill scans them).
  void RebindRow(RowHandle h, std::string_view key, const Timestamp* tag, const Document* doc);
  // Removes rows whose deadline has passed, telling the adapter through the expiry hook first.
  void ExpireDue();
  void SetExpiryHook(std::function<void(RowHandle)> hook) { expiry_hook_ = std::move(hook); }
  uint64_t expiry_now_ms();
  // The earliest row deadline, if any row has a TTL.
  std::optional<uint64_t> next_deadline_ms() const {
    if (deadlines_.empty()) return std::nullopt;
    return deadlines_.begin()->first;
  }
  size_t row_count() const { return live_rows_; }
  uint64_t change_seq() const { return change_seq_; }
  uint64_t instance_id() const { return instance_id_; }
  RowRef Row(RowHandle h) const;

 private:
  // 48 bytes: the key is split into pointer and 32-bit size so that it packs with `live`.
  struct RowSlot {
    const char* key_data = nullptr;
    const Timestamp* tag = nullptr;
    const Document* doc = nullptr;
    uint64_t changed_seq = 0;
    uint64_t deadline_ms = UINT64_MAX;
    uint32_t key_size = 0;
    bool live = false;

    std::string_view key() const { return {key_data, key_size}; }
  };
  static_assert(sizeof(RowSlot) == 48);
  struct Standing;

  // Planning and execution (planner.cc).
  // `labels`: build each node's Explain label (formatting them costs more than a hash lookup,
  // so Run leaves them empty).
  std::unique_ptr<Plan> PlanPredicate(const Predicate& p, bool labels = false) const;
  std::unique_ptr<Plan> PlanAnd(const Predicate& p, bool labels) const;
  std::vector<RowHandle> Execute(const Plan& plan) const;
  std::vector<RowHandle> AllHandles() const;
  std::string DescribePlan(const Plan& plan, int indent) const;
  const Index* FindIndex(IndexKind kind, const std::string& field) const;
  const NavigableIndex* SortIndex(const Query& q) const;
  // The sort index to walk for a sorted, limited query, when walking beats the plan.
  const NavigableIndex* WalkIndex(const Query& q, const Plan* plan,
                                  std::optional<uint64_t> limit) const;

  // Results (query_engine.cc).
  struct Selection {
    std::vector<RowHandle> rows;  // In result order (ascending handle when not `ordered`).
    bool more = false;            // Rows beyond the limit exist.
  };
  // `ordered`: sort the rows into result order. REQUIRES: ordered when there is a limit or `after`.
  Selection Select(const Query& q, const LazyMatcher& matcher, const Position* after,
                   std::optional<uint64_t> exclude_changed_after, std::optional<uint64_t> limit,
                   bool ordered = true);
  bool SelectByWalk(const Query& q, const LazyMatcher& matcher, const NavigableIndex& index,
                    const Position* after, std::optional<uint64_t> exclude_changed_after,
                    uint64_t limit, Selection* out) const;
  // Every live row `matcher` accepts, in handle order.
  std::vector<RowHandle> Scan(const Matcher& matcher) const;
  int CompareRows(const Query& q, RowHandle a, RowHandle b) const;
  int CompareRowToPosition(const Query& q, RowHandle a, const Position& p) const;
  Position PositionOf(const Query& q, RowHandle h) const;
  std::vector<RowRef> Refs(const std::vector<RowHandle>& handles) const;

  // Live queries (live_query.cc).
  void OnRowChange(RowHandle h, const Document* old_doc, const Document* new_doc);
  void ProcessStanding(Standing& s, RowHandle h, bool now_matches,
                       std::vector<std::pair<uint64_t, LiveDelta>>* out);
  std::optional<RowHandle> FirstMatchAfter(const Standing& s, const Position* after);
  absl::StatusOr<Subscription> SubscribeFrom(const Query& q, std::optional<Position> after,
                                             DeltaCallback callback);
  int ComparePositions(const Query& q, const Position& a, const Position& b) const;
  void RouteStanding(Standing* s, bool add);
  std::vector<RowHandle> StandingRows(const Standing& s) const;

  Clock& clock_;
  const uint64_t instance_id_;
  const QueryEngineOptions options_;
  uint64_t now_max_ms_ = 0;
  uint64_t change_seq_ = 0;

  std::vector<RowSlot> rows_;
  std::vector<RowHandle> free_;
  size_t live_rows_ = 0;
  absl::btree_set<std::pair<uint64_t, RowHandle>> deadlines_;
  std::function<void(RowHandle)> expiry_hook_;

  std::vector<std::unique_ptr<Index>> indexes_;

  SubscriptionId next_subscription_ = 1;
  uint64_t next_standing_ = 1;
  absl::btree_map<uint64_t, std::unique_ptr<Standing>> standing_;  // By creation order.
  absl::btree_map<SubscriptionId, std::pair<uint64_t, DeltaCallback>> subscribers_;
  // Routing: field -> normalised value -> standing ids whose predicate requires field == value.
  // Fields are interned, so a changed document is read by pool slot; values are normalised
  // (NormalizeForEq) and hashed, so a change costs one probe per document, not a search whose
  // every step compares against a different heap string. The inner maps are sg:lookup-only.
  absl::btree_map<FieldName, absl::flat_hash_map<Value, absl::btree_set<uint64_t>,
                                                 NormalizedValueHash, NormalizedValueEq>>
      routes_;
  absl::btree_set<uint64_t> unrouted_;
  absl::btree_multimap<uint64_t, uint64_t> standing_by_hash_;  // Query hash -> standing id.
  bool delivering_ = false;
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_QUERY_QUERY_ENGINE_H_
