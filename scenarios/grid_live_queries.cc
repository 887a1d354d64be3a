// The grid workload's live queries: each client subscribes to a few query templates (over its
// map's LWW records or its OR items); for the
// templates with a limit it also follows a second page, turned now and then to the cursor of the
// first page's current result (GridClient::NextCursor). grid_live_queries compares every replayed
// stream, and every page, with a fresh query over the owners' records.
#include <fmt/format.h>

#include <algorithm>

#include "engine/base/assert.h"
#include "engine/base/probe.h"
#include "engine/query/matcher.h"
#include "engine/query/value_order.h"
#include "scenarios/grid_cluster.h"

namespace seedgrid::scenarios {

using invariants::Invariant;

namespace {

struct QueryTemplate {
  Query query;
  bool or_rows = false;  // over the map's OR items (the workload adds {"city": C} to keys o0...)
};

// The live queries clients subscribe to (client c takes templates c, c+1, ... mod the count).
const std::vector<QueryTemplate>& QueryTemplates() {
  static const std::vector<QueryTemplate> kTemplates = {
      {Query{Eq("city", Value{std::string("Oslo")}), {}, std::nullopt}},
      {Query{Gte("age", Value{int64_t{50}}), {SortField{"age", true}}, 5}},
      {Query{All(), {SortField{"city", false}, SortField{"age", false}}, 8}},
      {Query{
           In("city", {Value{std::string("Oslo")}, Value{std::string("Lima")}}), {}, std::nullopt},
       /*or_rows=*/true},
      {Query{All(), {SortField{"city", true}}, 6}, /*or_rows=*/true},
  };
  return kTemplates;
}

// A row's name in the replay and the checker: its key, and for an OR row "key@tag".
std::string RowName(const RowRef& r) {
  return r.tag == nullptr ? std::string(r.key) : fmt::format("{}@{}", r.key, r.tag->ToString());
}

// Every this many ops of the workload, the client that did the op turns its second pages.
constexpr uint64_t kOpsPerPageTurn = 8;

}  // namespace

// Subscriptions are volatile: a (re)started client subscribes again; the replay starts over.
void GridCluster::Subscribe(int c) {
  streams_[c].clear();
  if (transport_[c] == ClientTransport::kHttp) return;  // Live queries need WebSocket.
  const int subs = std::min<int>(s_.subscriptions_per_node, QueryTemplates().size());
  for (int j = 0; j < subs; ++j) {
    const size_t query_template = (static_cast<size_t>(c) + j) % QueryTemplates().size();
    streams_[c].push_back(SubscribeReplay(c, query_template, /*cursor=*/{}));
  }
}

std::unique_ptr<GridCluster::Replay> GridCluster::SubscribeReplay(int c, size_t query_template,
                                                                  std::string cursor) {
  auto replay = std::make_unique<Replay>();
  replay->query_template = query_template;
  replay->cursor = cursor;
  Replay* r = replay.get();
  const auto on_delta = [r](const LiveDelta& d) {
    if (d.kind == DeltaKind::kLeave) {
      r->rows.erase(RowName(d.row));
    } else {
      r->rows[RowName(d.row)] = *d.row.value;
    }
  };
  const QueryTemplate& t = QueryTemplates()[query_template];
  auto id = clients_[c]->Subscribe(MapOf(c), t.query, on_delta,
                                   {.cursor = std::move(cursor), .or_rows = t.or_rows});
  SG_ASSERT(id.ok());  // Valid templates; cursors fresh from NextCursor.
  replay->id = *id;
  return replay;
}

// For each first page (a template with a limit) whose result is complete and full, the second
// page follows the cursor at its current last row: a new subscription replaces the old one.
void GridCluster::TurnPages(int c) {
  if (!clients_[c] || ops_ % kOpsPerPageTurn != 0) return;
  auto& streams = streams_[c];
  const auto firsts = static_cast<ptrdiff_t>(std::count_if(
      streams.begin(), streams.end(), [](const auto& r) { return r->cursor.empty(); }));
  for (ptrdiff_t i = 0; i < firsts; ++i) {
    const size_t query_template = streams[i]->query_template;
    if (!QueryTemplates()[query_template].query.limit) continue;
    absl::StatusOr<std::string> cursor = clients_[c]->NextCursor(streams[i]->id);
    if (!cursor.ok() || cursor->empty()) continue;  // Not complete yet, or a single page.
    if (!CursorAtPageEnd(c, streams[i]->id, *cursor)) return;
    auto second = std::find_if(streams.begin() + firsts, streams.end(),
                               [&](const auto& r) { return r->query_template == query_template; });
    if (second != streams.end()) {
      clients_[c]->Unsubscribe((*second)->id);
      *second = SubscribeReplay(c, query_template, std::move(*cursor));
    } else {
      streams.push_back(SubscribeReplay(c, query_template, std::move(*cursor)));
    }
    SG_PROBE("workload.grid_page_turned");
  }
}

// grid_live_queries: the cursor NextCursor gave is at the page's last row (else a next page
// would repeat rows or skip them while matching its own cursor).
bool GridCluster::CursorAtPageEnd(int c, uint64_t id, const std::string& cursor) {
  if (!run_.On(Invariant::kGridLiveQueries)) return true;
  const MergedQuery& page = *clients_[c]->subscription(id);
  const std::vector<RowRef> rows = page.Result();
  absl::StatusOr<CursorState> state = DecodeCursor(cursor);
  const auto at_last_row = [&] {
    if (rows.empty() || !state.ok() || state->last_key != rows.back().key) return false;
    const RowRef& last = rows.back();
    if (last.tag ? state->last_tag != *last.tag : state->last_tag.has_value()) return false;
    const std::vector<SortField>& sort = page.query().sort;
    if (state->last_sort_values.size() != sort.size()) return false;
    for (size_t i = 0; i < sort.size(); ++i) {
      const ValueView v = Matcher::FieldValue(*last.value, sort[i].field);
      if (CompareValues(v, state->last_sort_values[i]) != 0) return false;
    }
    return true;
  };
  if (at_last_row()) return true;
  run_.Violate(Invariant::kGridLiveQueries,
               fmt::format("client n{} subscription {}: NextCursor gave a cursor at key {} but the "
                           "page ends at {} (sort values and tag must match too)",
                           ClientNode(c), id, state.ok() ? state->last_key : "(garbled)",
                           rows.empty() ? std::string_view("(none)") : rows.back().key));
  return false;
}

std::optional<invariants::Violation> GridCluster::LiveQueriesUnmatched(
    const PartitionTable& table) {
  std::vector<invariants::SubscriptionView> subs;
  for (int c = 0; c < g_.clients; ++c) {
    if (!clients_[c]) continue;
    for (const auto& replay : streams_[c]) {
      ++checks_;
      const MergedQuery* merged = clients_[c]->subscription(replay->id);
      SG_ASSERT(merged != nullptr);
      const QueryTemplate& t = QueryTemplates()[replay->query_template];
      invariants::SubscriptionView v{fmt::format("n{}", ClientNode(c)),
                                     replay->id,
                                     MapOf(c),
                                     &t.query,
                                     t.or_rows,
                                     replay->cursor,
                                     &replay->rows};
      for (const RowRef& r : merged->Result()) v.merged_order.push_back(RowName(r));
      subs.push_back(std::move(v));
    }
  }
  const auto owner_partition = [this, &table](uint32_t p) -> const GridPartition* {
    const GridServer* owner = ServerById(table.owner(p));
    return owner ? owner->partition(p) : nullptr;
  };
  return invariants::CheckGridLiveQueries(subs, owner_partition, sim_.env(0).clock);
}

}  // namespace seedgrid::scenarios
