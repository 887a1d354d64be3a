// grid_live_queries (grid_checks.h): every subscription's replayed stream and merged order, and
// every page, against a fresh query over the owners' rows.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <memory>
#include <tuple>

#include "engine/base/assert.h"
#include "engine/cluster/partition.h"
#include "engine/query/matcher.h"
#include "engine/query/query_engine.h"
#include "engine/query/value_order.h"
#include "invariants/grid_checks.h"

namespace seedgrid::invariants {

namespace {

std::string RowName(const RowRef& r) {
  return r.tag == nullptr ? std::string(r.key) : fmt::format("{}@{}", r.key, r.tag->ToString());
}

// The owners' rows of `map`: its live records, or (or_rows) its OR items.
void InsertOwnerRows(const std::function<const GridPartition*(uint32_t)>& owner_partition,
                     const std::string& map, bool or_rows, QueryEngine& engine) {
  for (uint32_t p = 0; p < kPartitionCount; ++p) {
    const GridPartition* part = owner_partition(p);
    if (part == nullptr) continue;
    if (or_rows) {
      const OrMap* items = part->OrMapOf(map);
      if (items == nullptr) continue;
      for (const auto& [key, entry] : items->entries()) {
        for (const auto& [tag, item] : entry.items) {
          engine.InsertRow(key, &tag, &item.value, UINT64_MAX);
        }
      }
      continue;
    }
    auto m = part->maps.find(map);
    if (m == part->maps.end()) continue;
    for (const auto& [key, record] : m->second->records()) {
      if (!record.tombstone()) engine.InsertRow(key, nullptr, &*record.value, UINT64_MAX);
    }
  }
}

// Whether `row` comes after the cursor in q's result order (sort fields, key, tag), worked out here
// rather than by the engine's position code that the servers run.
bool AfterCursor(const Query& q, const RowRef& row, const CursorState& cursor) {
  for (size_t i = 0; i < q.sort.size(); ++i) {
    const int c =
        CompareValues(Matcher::FieldValue(*row.value, q.sort[i].field), cursor.last_sort_values[i]);
    if (c != 0) return q.sort[i].descending ? c < 0 : c > 0;
  }
  if (row.key != cursor.last_key) return row.key > cursor.last_key;
  if (row.tag == nullptr || !cursor.last_tag) return row.tag != nullptr && !cursor.last_tag;
  return *cursor.last_tag < *row.tag;
}

// `engine` holds the owners' rows of sub's map (records, or OR items for or_rows).
std::vector<std::pair<std::string, Document>> FreshResult(QueryEngine& engine,
                                                          const SubscriptionView& sub) {
  const Query& query = *sub.query;
  std::vector<std::pair<std::string, Document>> out;
  if (!sub.cursor.empty()) {  // A page: the rows after its cursor, the first `limit` of them.
    absl::StatusOr<CursorState> start = DecodeCursor(sub.cursor);
    SG_ASSERT(start.ok());  // The workload's cursors come from NextCursor.
    Query whole = query;
    whole.limit.reset();
    absl::StatusOr<QueryPage> all = engine.Run(whole);
    SG_ASSERT(all.ok() && HasResultOrder(whole));  // Paged templates sort.
    for (const RowRef& r : all->rows) {
      if (out.size() == query.limit.value_or(UINT64_MAX)) break;
      if (AfterCursor(query, r, *start)) out.emplace_back(RowName(r), *r.value);
    }
    return out;
  }
  absl::StatusOr<QueryPage> page = engine.Run(query);
  SG_ASSERT(page.ok());  // The templates are valid queries.
  // Subscriptions hold result order (key, then tag, without sort fields); Run's may be index order.
  if (!HasResultOrder(query)) {
    std::sort(page->rows.begin(), page->rows.end(), [](const RowRef& a, const RowRef& b) {
      if (a.key != b.key) return a.key < b.key;
      return a.tag != nullptr && b.tag != nullptr && *a.tag < *b.tag;
    });
  }
  for (const RowRef& r : page->rows) out.emplace_back(RowName(r), *r.value);
  return out;
}

// At most this many row names per list in a grid_live_queries detail.
constexpr size_t kRowsShownMax = 8;

std::string RowList(const std::vector<std::string>& names) {
  const size_t shown = std::min(names.size(), kRowsShownMax);
  std::string out = fmt::format("[{}", fmt::join(names.begin(), names.begin() + shown, ","));
  if (names.size() > shown) out += fmt::format(", ... {} more", names.size() - shown);
  return out + "]";
}

// What differs: rows the stream has and the fresh query not (or with another document), rows the
// fresh query has and the stream not, and else the first place the merged order departs.
std::string DescribeDifference(const std::map<std::string, Document>& replayed,
                               const std::vector<std::string>& merged_order,
                               const std::vector<std::pair<std::string, Document>>& want) {
  const std::map<std::string, Document> want_rows(want.begin(), want.end());
  std::vector<std::string> extra, missing;
  for (const auto& [name, doc] : replayed) {
    auto w = want_rows.find(name);
    if (w == want_rows.end() || !(w->second == doc)) extra.push_back(name);
  }
  for (const auto& [name, doc] : want_rows) {
    if (!replayed.contains(name)) missing.push_back(name);
  }
  if (!extra.empty() || !missing.empty()) {
    return fmt::format(
        "streamed but not fresh (or another document): {}; fresh but not "
        "streamed: {}",
        RowList(extra), RowList(missing));
  }
  size_t i = 0;
  while (i < merged_order.size() && i < want.size() && merged_order[i] == want[i].first) ++i;
  return fmt::format("the merged order departs at position {}: {} where the fresh query has {}", i,
                     i < merged_order.size() ? merged_order[i] : "(end)",
                     i < want.size() ? want[i].first : "(end)");
}

}  // namespace

std::optional<Violation> CheckGridLiveQueries(
    const std::vector<SubscriptionView>& subs,
    const std::function<const GridPartition*(uint32_t partition)>& owner_partition, Clock& clock) {
  // The owners' rows per (map, OR rows or records), loaded once per check; fresh results per
  // (map, query, cursor), computed once per check.
  absl::btree_map<std::pair<std::string, bool>, std::unique_ptr<QueryEngine>> engines;
  absl::btree_map<std::tuple<std::string, std::string, bool, std::string>,
                  std::vector<std::pair<std::string, Document>>>
      fresh;
  for (const SubscriptionView& sub : subs) {
    const auto id = std::make_tuple(sub.map, ToString(*sub.query), sub.or_rows, sub.cursor);
    if (!fresh.contains(id)) {
      std::unique_ptr<QueryEngine>& engine = engines[{sub.map, sub.or_rows}];
      if (engine == nullptr) {
        engine = std::make_unique<QueryEngine>(clock, /*instance_id=*/1);
        InsertOwnerRows(owner_partition, sub.map, sub.or_rows, *engine);
      }
      fresh[id] = FreshResult(*engine, sub);
    }
    const auto& want = fresh[id];
    const std::map<std::string, Document> want_rows(want.begin(), want.end());
    std::vector<std::string> want_order;
    for (const auto& [k, doc] : want) want_order.push_back(k);
    if (*sub.replayed == want_rows && sub.merged_order == want_order) continue;
    return Violation{Invariant::kGridLiveQueries,
                     fmt::format("client {} subscription {} ({}{}): the replayed stream has {} "
                                 "rows and the merged result {} rows, but a fresh query gives {} "
                                 "rows; {}",
                                 sub.client, sub.id, ToString(*sub.query),
                                 std::string(sub.or_rows ? ", OR rows" : "") +
                                     (sub.cursor.empty() ? "" : ", a page after a cursor"),
                                 sub.replayed->size(), sub.merged_order.size(), want_rows.size(),
                                 DescribeDifference(*sub.replayed, sub.merged_order, want))};
  }
  return std::nullopt;
}

}  // namespace seedgrid::invariants
