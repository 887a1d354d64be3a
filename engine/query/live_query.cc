// Live queries: standing results shared by equal subscriptions, kept current on every row change,
// with deltas routed to the standing queries a change can affect.
#include <fmt/format.h>

#include <algorithm>
#include <iterator>

#include "absl/container/inlined_vector.h"
#include "engine/base/assert.h"
#include "engine/base/probe.h"
#include "engine/query/planner.h"
#include "engine/query/query_engine.h"

namespace seedgrid {

struct QueryEngine::Standing {
  uint64_t id = 0;
  uint64_t hash = 0;
  Query query;
  Matcher matcher;
  std::optional<Position> after;       // A live page: only rows after this position.
  absl::btree_set<RowHandle> members;  // Every row in the result (the window, for top-N).
  // Top-N only: the window in result order, with each row's position when it entered or last
  // changed (the document itself may since have been overwritten in place).
  std::vector<std::pair<Position, RowHandle>> window;
  absl::btree_set<SubscriptionId> subscribers;
  std::string route_field;  // Empty: unrouted.
  std::vector<Value> route_values;

  Standing(uint64_t id_in, const Query& q, std::optional<Position> after_in)
      : id(id_in),
        hash(PredicateAndSortHash(q)),
        query(q),
        matcher(q.where),
        after(std::move(after_in)) {}
  bool windowed() const { return query.limit.has_value(); }
  const Position* start() const { return after ? &*after : nullptr; }
};

namespace {

// A conjunct that every matching row satisfies: field == one of values.
bool RouteOf(const Predicate& p, std::string* field, std::vector<Value>* values) {
  if (p.op == Op::kEq || p.op == Op::kIn) {
    *field = p.field;
    values->clear();
    for (const Value& v : p.args) values->push_back(NormalizeForEq(v));  // As routes_ keys them.
    return true;
  }
  if (p.op == Op::kAnd) {
    for (const Predicate& c : p.children) {
      if (RouteOf(c, field, values)) return true;
    }
  }
  return false;
}

}  // namespace

QueryEngine::QueryEngine(Clock& clock, uint64_t instance_id, QueryEngineOptions options)
    : clock_(clock), instance_id_(instance_id), options_(options) {
  SG_ASSERT(options_.walk_rows_max > 0);
}

QueryEngine::~QueryEngine() = default;

int QueryEngine::ComparePositions(const Query& q, const Position& a, const Position& b) const {
  for (size_t i = 0; i < q.sort.size(); ++i) {
    const int c = CompareValues(a.values[i], b.values[i]);
    if (c != 0) return q.sort[i].descending ? -c : c;
  }
  if (const int c = a.key.compare(b.key); c != 0) return c < 0 ? -1 : 1;
  if (!a.tag || !b.tag) return a.tag.has_value() - b.tag.has_value();
  return *a.tag < *b.tag ? -1 : (*b.tag < *a.tag ? 1 : 0);
}

void QueryEngine::RouteStanding(Standing* s, bool add) {
  if (s->route_field.empty()) {
    if (add) {
      unrouted_.insert(s->id);
    } else {
      unrouted_.erase(s->id);
    }
    return;
  }
  const FieldName field(s->route_field);
  auto& by_value = routes_[field];
  for (const Value& v : s->route_values) {
    if (add) {
      by_value[v].insert(s->id);
      continue;
    }
    auto it = by_value.find(v);
    if (it == by_value.end()) continue;  // Duplicate values in `in` were erased already.
    it->second.erase(s->id);
    if (it->second.empty()) by_value.erase(it);
  }
  if (by_value.empty()) routes_.erase(field);
}

std::vector<RowHandle> QueryEngine::StandingRows(const Standing& s) const {
  std::vector<RowHandle> rows;
  if (s.windowed()) {
    for (const auto& [pos, h] : s.window) rows.push_back(h);
    return rows;
  }
  rows.assign(s.members.begin(), s.members.end());
  std::sort(rows.begin(), rows.end(),
            [&](RowHandle a, RowHandle b) { return CompareRows(s.query, a, b) < 0; });
  return rows;
}

absl::StatusOr<QueryEngine::Subscription> QueryEngine::Subscribe(const Query& q,
                                                                 DeltaCallback callback) {
  return SubscribeFrom(q, std::nullopt, std::move(callback));
}

absl::StatusOr<QueryEngine::Subscription> QueryEngine::SubscribeAfter(const Query& q,
                                                                      const CursorState& start,
                                                                      DeltaCallback callback) {
  if (absl::Status s = Validate(q); !s.ok()) return s;
  if (absl::Status s = CursorBelongsTo(q, start); !s.ok()) return s;
  return SubscribeFrom(q, Position{start.last_sort_values, start.last_key, start.last_tag},
                       std::move(callback));
}

absl::StatusOr<QueryEngine::Subscription> QueryEngine::SubscribeFrom(const Query& q,
                                                                     std::optional<Position> after,
                                                                     DeltaCallback callback) {
  if (absl::Status s = Validate(q); !s.ok()) return s;
  if (callback == nullptr) return absl::InvalidArgumentError("subscribe needs a callback");
  ExpireDue();
  const uint64_t hash = PredicateAndSortHash(q);
  const auto same_start = [&](const Standing& candidate) {
    if (!after || !candidate.after) return after.has_value() == candidate.after.has_value();
    return ComparePositions(q, *after, *candidate.after) == 0;
  };
  Standing* standing = nullptr;
  for (auto [it, last] = standing_by_hash_.equal_range(hash); it != last; ++it) {
    Standing& candidate = *standing_.at(it->second);
    if (candidate.query == q && same_start(candidate)) standing = &candidate;
  }
  if (standing == nullptr) {
    const uint64_t id = next_standing_++;
    auto owned = std::make_unique<Standing>(id, q, std::move(after));
    standing = owned.get();
    Selection sel =
        Select(q, LazyMatcher(standing->matcher), standing->start(), std::nullopt, q.limit);
    standing->members.insert(sel.rows.begin(), sel.rows.end());
    if (standing->windowed()) {
      for (RowHandle h : sel.rows) standing->window.emplace_back(PositionOf(q, h), h);
    }
    if (!RouteOf(q.where, &standing->route_field, &standing->route_values)) {
      standing->route_field.clear();
    }
    RouteStanding(standing, true);
    standing_.emplace(id, std::move(owned));
    standing_by_hash_.emplace(hash, id);
  }
  const SubscriptionId sub = next_subscription_++;
  standing->subscribers.insert(sub);
  subscribers_.emplace(sub, std::make_pair(standing->id, std::move(callback)));
  return Subscription{sub, Refs(StandingRows(*standing))};
}

bool QueryEngine::Unsubscribe(SubscriptionId id) {
  auto it = subscribers_.find(id);
  if (it == subscribers_.end()) return false;
  const uint64_t standing_id = it->second.first;
  subscribers_.erase(it);
  auto s = standing_.find(standing_id);
  SG_ASSERT(s != standing_.end());
  s->second->subscribers.erase(id);
  if (!s->second->subscribers.empty()) return true;
  RouteStanding(s->second.get(), false);
  for (auto [h, last] = standing_by_hash_.equal_range(s->second->hash); h != last; ++h) {
    if (h->second == standing_id) {
      standing_by_hash_.erase(h);
      break;
    }
  }
  standing_.erase(s);
  return true;
}

absl::StatusOr<std::vector<RowRef>> QueryEngine::LiveResult(SubscriptionId id) const {
  auto it = subscribers_.find(id);
  if (it == subscribers_.end()) {
    return absl::NotFoundError(fmt::format("no subscription {}", id));
  }
  return Refs(StandingRows(*standing_.at(it->second.first)));
}

std::optional<RowHandle> QueryEngine::FirstMatchAfter(const Standing& s, const Position* after) {
  Selection sel = Select(s.query, LazyMatcher(s.matcher), after, std::nullopt, 1);
  if (sel.rows.empty()) return std::nullopt;
  return sel.rows[0];
}

void QueryEngine::ProcessStanding(Standing& s, RowHandle h, bool now_matches,
                                  std::vector<std::pair<uint64_t, LiveDelta>>* out) {
  const auto emit = [&](DeltaKind kind, DeltaReason reason, RowHandle row) {
    RowRef ref{rows_[row].key(), rows_[row].tag,
               kind == DeltaKind::kLeave ? nullptr : rows_[row].doc};
    out->push_back({s.id, LiveDelta{kind, reason, ref}});
  };
  const bool was_member = s.members.contains(h);
  if (!s.windowed()) {
    if (was_member && now_matches) {
      emit(DeltaKind::kUpdate, DeltaReason::kChanged, h);
    } else if (now_matches) {
      s.members.insert(h);
      emit(DeltaKind::kEnter, DeltaReason::kChanged, h);
    } else if (was_member) {
      s.members.erase(h);
      emit(DeltaKind::kLeave, DeltaReason::kChanged, h);
    }
    return;
  }
  const uint64_t limit = *s.query.limit;
  const bool full = s.window.size() == limit;
  const auto insert = [&](RowHandle row) {
    Position p = PositionOf(s.query, row);
    auto it = std::upper_bound(s.window.begin(), s.window.end(), p,
                               [&](const Position& a, const auto& entry) {
                                 return ComparePositions(s.query, a, entry.first) < 0;
                               });
    s.window.insert(it, {std::move(p), row});
    s.members.insert(row);
  };
  const auto position_before_last = [&](RowHandle row) {
    return s.window.empty() || CompareRowToPosition(s.query, row, s.window.back().first) < 0;
  };
  if (!was_member) {
    if (!now_matches) return;
    if (!full) {
      insert(h);
      emit(DeltaKind::kEnter, DeltaReason::kChanged, h);
    } else if (position_before_last(h)) {
      SG_PROBE("query.topn_row_displaced");
      const RowHandle displaced = s.window.back().second;
      s.window.pop_back();
      s.members.erase(displaced);
      insert(h);
      emit(DeltaKind::kEnter, DeltaReason::kChanged, h);
      emit(DeltaKind::kLeave, DeltaReason::kDisplaced, displaced);
    }
    return;
  }
  // The row was in the window: take it out, then decide where it (or a replacement) goes.
  std::erase_if(s.window, [&](const auto& entry) { return entry.second == h; });
  s.members.erase(h);
  const auto promote_after_last = [&]() -> std::optional<RowHandle> {
    return FirstMatchAfter(s, s.window.empty() ? s.start() : &s.window.back().first);
  };
  if (now_matches) {
    // Still ahead of the last remaining window row: it stays. (With the rest of the window empty,
    // any other row may now come first, so ask the index.)
    if (!full || (!s.window.empty() && position_before_last(h))) {
      insert(h);
      emit(DeltaKind::kUpdate, DeltaReason::kChanged, h);
      return;
    }
    const std::optional<RowHandle> next = promote_after_last();
    SG_ASSERT(next.has_value());  // h itself matches after the window.
    insert(*next);
    if (*next == h) {
      emit(DeltaKind::kUpdate, DeltaReason::kChanged, h);
    } else {
      SG_PROBE("query.topn_row_promoted");
      emit(DeltaKind::kLeave, DeltaReason::kChanged, h);
      emit(DeltaKind::kEnter, DeltaReason::kPromoted, *next);
    }
    return;
  }
  emit(DeltaKind::kLeave, DeltaReason::kChanged, h);
  if (!full) return;
  if (const std::optional<RowHandle> next = promote_after_last()) {
    SG_PROBE("query.topn_row_promoted");
    insert(*next);
    emit(DeltaKind::kEnter, DeltaReason::kPromoted, *next);
  }
}

void QueryEngine::OnRowChange(RowHandle h, const Document* old_doc, const Document* new_doc) {
  if (standing_.empty()) return;
  // The unrouted standing queries and the routed ones this change touches, in id order, each
  // once. Routed ids are collected apart so a change costs no copy of the unrouted set.
  absl::InlinedVector<uint64_t, 16> routed;
  const auto route = [&](const absl::btree_set<uint64_t>* ids) {
    if (ids != nullptr) routed.insert(routed.end(), ids->begin(), ids->end());
  };
  for (const auto& [field, by_value] : routes_) {
    const auto find = [&](ValueView v) -> const absl::btree_set<uint64_t>* {
      auto it = by_value.find(NormalizedView(v));  // No copy of a string value.
      return it == by_value.end() ? nullptr : &it->second;
    };
    const std::optional<ValueView> before =
        old_doc ? std::optional(Matcher::FieldValue(*old_doc, field)) : std::nullopt;
    const std::optional<ValueView> after =
        new_doc ? std::optional(Matcher::FieldValue(*new_doc, field)) : std::nullopt;
    // Most writes leave a routed field as it was: one lookup serves both documents.
    const bool same = before && after && CompareValues(*before, *after) == 0;  // The map's order.
    if (before) route(find(*before));
    if (after && !same) route(find(*after));
  }
  std::sort(routed.begin(), routed.end());
  routed.erase(std::unique(routed.begin(), routed.end()), routed.end());
  std::vector<uint64_t> affected;
  affected.reserve(unrouted_.size() + routed.size());
  std::set_union(unrouted_.begin(), unrouted_.end(), routed.begin(), routed.end(),
                 std::back_inserter(affected));
  if (affected.empty()) return;
  std::vector<std::pair<uint64_t, LiveDelta>> deltas;
  for (uint64_t id : affected) {
    Standing& s = *standing_.at(id);
    const bool now_matches = new_doc != nullptr && s.matcher.Matches(*new_doc) &&
                             (!s.after || CompareRowToPosition(s.query, h, *s.after) > 0);
    ProcessStanding(s, h, now_matches, &deltas);
  }
  // Deliver after every standing result is current. Callbacks may unsubscribe (anyone) or
  // subscribe; neither disturbs this loop, which re-checks each subscriber before calling it.
  delivering_ = true;
  for (const auto& [standing_id, delta] : deltas) {
    auto s = standing_.find(standing_id);
    if (s == standing_.end()) continue;
    const std::vector<SubscriptionId> subs(s->second->subscribers.begin(),
                                           s->second->subscribers.end());
    for (SubscriptionId sub : subs) {
      auto it = subscribers_.find(sub);
      if (it == subscribers_.end()) continue;
      const DeltaCallback callback = it->second.second;  // A copy: the callback may unsubscribe.
      callback(delta);
    }
  }
  delivering_ = false;
}

}  // namespace seedgrid
