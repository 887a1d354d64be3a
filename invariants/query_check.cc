#include "invariants/query_check.h"

#include <fmt/format.h>

#include <algorithm>

#include "engine/base/strings.h"
#include "engine/query/matcher.h"
#include "engine/query/value_order.h"

namespace seedgrid::invariants {

namespace {
std::string Keys(const std::vector<std::string>& keys, size_t max = 8) {
  std::string out;
  for (size_t i = 0; i < keys.size() && i < max; ++i) out += (i ? ", " : "") + keys[i];
  if (keys.size() > max) out += fmt::format(", ... ({} in all)", keys.size());
  return "[" + out + "]";
}
}  // namespace

std::vector<std::string> ScanKeys(const LwwMap& map, const Query& q, uint64_t now_ms) {
  const Matcher matcher(q.where);
  std::vector<std::pair<std::string_view, const Document*>> rows;
  for (const auto& [key, record] : map.records()) {
    if (record.tombstone() || record.ExpiredAt(now_ms)) continue;
    if (matcher.Matches(*record.value)) rows.emplace_back(key, &*record.value);
  }
  std::sort(rows.begin(), rows.end(), [&](const auto& x, const auto& y) {
    for (const SortField& s : q.sort) {
      int c = CompareValues(Matcher::FieldValue(*x.second, s.field),
                            Matcher::FieldValue(*y.second, s.field));
      if (s.descending) c = -c;
      if (c != 0) return c < 0;
    }
    return x.first < y.first;
  });
  if (q.limit && rows.size() > *q.limit) rows.resize(*q.limit);
  std::vector<std::string> keys;
  keys.reserve(rows.size());
  for (const auto& [key, doc] : rows) keys.emplace_back(key);
  return keys;
}

std::optional<Violation> CheckQuery(const std::string& node, IndexedLwwMap& indexed, const Query& q,
                                    uint64_t now_ms, size_t page_size) {
  std::vector<std::string> got;
  Query paged = q;
  if (page_size > 0 && (!q.limit || *q.limit > page_size)) paged.limit = page_size;
  std::string cursor;
  for (int page = 0; page < 100'000; ++page) {
    absl::StatusOr<QueryPage> result = indexed.Run(paged, cursor);
    if (!result.ok()) {
      return Violation{Invariant::kQueries, fmt::format("{}: {} failed: {}", node, ToString(q),
                                                        result.status().message())};
    }
    for (const RowRef& row : result->rows) got.emplace_back(row.key);
    if (q.limit && got.size() >= *q.limit) {
      got.resize(*q.limit);
      break;
    }
    if (result->next_cursor.empty() || paged.limit == q.limit) break;
    cursor = result->next_cursor;
  }
  // Without a sort or a limit, Run returns the match set in index order; the scan lists keys.
  if (!HasResultOrder(paged)) std::sort(got.begin(), got.end());
  // Expiry never moves back: once the node's clock has read past a row's deadline the row stays
  // expired, even if the clock then steps back (engine/query/query_engine.h). The scan uses the
  // same reading: the highest the engine has seen.
  const uint64_t expiry_ms = std::max(now_ms, indexed.engine().expiry_now_ms());
  const std::vector<std::string> want = ScanKeys(indexed.map(), q, expiry_ms);
  if (got != want) {
    return Violation{
        Invariant::kQueries,
        fmt::format("{}: {} returned {} but a scan finds {}{}", node, ToString(q), Keys(got),
                    Keys(want),
                    page_size ? fmt::format(" (pages of {})", page_size) : std::string())};
  }
  return std::nullopt;
}

std::optional<Violation> CheckSubscription(const std::string& node, IndexedLwwMap& indexed,
                                           const ReplayedSubscription& sub) {
  if (!sub.error.empty()) {
    return Violation{Invariant::kQueries,
                     fmt::format("{}: subscription {}: {}", node, ToString(sub.query), sub.error)};
  }
  absl::StatusOr<QueryPage> fresh = indexed.Run(sub.query);
  if (!fresh.ok()) {
    return Violation{
        Invariant::kQueries,
        fmt::format("{}: {} failed: {}", node, ToString(sub.query), fresh.status().message())};
  }
  std::vector<std::string> want;
  for (const RowRef& row : fresh->rows) want.emplace_back(row.key);
  // Live results are in result order (key order without sort fields); Run's may be index order.
  if (!HasResultOrder(sub.query)) std::sort(want.begin(), want.end());
  absl::StatusOr<std::vector<RowRef>> live = indexed.engine().LiveResult(sub.id);
  if (!live.ok()) {
    return Violation{Invariant::kQueries,
                     fmt::format("{}: subscription {} is gone: {}", node, ToString(sub.query),
                                 live.status().message())};
  }
  std::vector<std::string> maintained;
  for (const RowRef& row : *live) maintained.emplace_back(row.key);
  if (maintained != want) {
    return Violation{Invariant::kQueries,
                     fmt::format("{}: subscription {} holds {}; a fresh query returns {}", node,
                                 ToString(sub.query), Keys(maintained), Keys(want))};
  }
  std::vector<std::string> replayed(sub.keys.begin(), sub.keys.end());
  std::vector<std::string> want_sorted = want;
  std::sort(want_sorted.begin(), want_sorted.end());
  if (replayed != want_sorted) {
    return Violation{
        Invariant::kQueries,
        fmt::format("{}: replaying the {} deltas of {} gives {}; a fresh query "
                    "returns {}",
                    node, sub.deltas, ToString(sub.query), Keys(replayed), Keys(want_sorted))};
  }
  return std::nullopt;
}

void ReplayedSubscription::Apply(const LiveDelta& d) {
  ++deltas;
  const std::string key(d.row.key);
  if (d.kind == DeltaKind::kEnter && !keys.insert(key).second) {
    error = fmt::format("ENTER of '{}', which was already in the result", key);
  }
  if (d.kind == DeltaKind::kLeave && keys.erase(key) == 0) {
    error = fmt::format("LEAVE of '{}', which was not in the result", key);
  }
  if (d.kind == DeltaKind::kUpdate && !keys.contains(key)) {
    error = fmt::format("UPDATE of '{}', which was not in the result", key);
  }
}

}  // namespace seedgrid::invariants
