#include "engine/query/query_engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "engine/base/assert.h"
#include "engine/base/probe.h"
#include "engine/base/strings.h"
#include "engine/query/planner.h"

namespace seedgrid {

namespace {

int CompareTags(const Timestamp* a, const Timestamp* b) {
  if (a == nullptr || b == nullptr) return (a != nullptr) - (b != nullptr);
  return *a < *b ? -1 : (*b < *a ? 1 : 0);
}

int CompareKeys(std::string_view a, std::string_view b) {
  const int c = a.compare(b);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

}  // namespace

std::string_view DeltaKindName(DeltaKind kind) {
  switch (kind) {
    case DeltaKind::kEnter:
      return "ENTER";
    case DeltaKind::kUpdate:
      return "UPDATE";
    case DeltaKind::kLeave:
      return "LEAVE";
  }
  SG_ASSERT(false);
}

std::string_view DeltaReasonName(DeltaReason reason) {
  switch (reason) {
    case DeltaReason::kChanged:
      return "changed";
    case DeltaReason::kDisplaced:
      return "displaced";
    case DeltaReason::kPromoted:
      return "promoted";
  }
  SG_ASSERT(false);
}

// --- Indexes ---

absl::Status QueryEngine::AddIndex(IndexKind kind, std::vector<std::string> fields) {
  if (fields.empty()) return absl::InvalidArgumentError("an index needs at least one field");
  if (kind != IndexKind::kCompound && fields.size() != 1) {
    return absl::InvalidArgumentError(
        fmt::format("a {} index covers exactly one field", IndexKindName(kind)));
  }
  if (kind == IndexKind::kCompound && fields.size() < 2) {
    return absl::InvalidArgumentError("a compound index covers at least two fields");
  }
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].empty()) return absl::InvalidArgumentError("index field names must not be empty");
    for (size_t j = 0; j < i; ++j) {
      if (fields[i] == fields[j]) {
        return absl::InvalidArgumentError(fmt::format("field '{}' listed twice", fields[i]));
      }
    }
  }
  for (const auto& index : indexes_) {
    if (index->kind() == kind && index->fields() == fields) {
      return absl::AlreadyExistsError(fmt::format("{} already exists", index->Describe()));
    }
  }
  std::unique_ptr<Index> index;
  switch (kind) {
    case IndexKind::kHash:
      index = std::make_unique<HashIndex>(fields[0]);
      break;
    case IndexKind::kNavigable:
      index = std::make_unique<NavigableIndex>(fields[0]);
      break;
    case IndexKind::kCompound:
      index = std::make_unique<CompoundIndex>(std::move(fields));
      break;
    case IndexKind::kInverted:
      index = std::make_unique<InvertedIndex>(fields[0]);
      break;
  }
  for (size_t h = 0; h < rows_.size(); ++h) {
    if (rows_[h].live) index->Insert(static_cast<RowHandle>(h), *rows_[h].doc);
  }
  indexes_.push_back(std::move(index));
  return absl::OkStatus();
}

std::vector<IndexInfo> QueryEngine::Indexes() const {
  std::vector<IndexInfo> out;
  for (const auto& index : indexes_) {
    out.push_back({index->kind(), index->fields(), index->ApproxBytes()});
  }
  return out;
}

// --- Rows ---

RowHandle QueryEngine::InsertRow(std::string_view key, const Timestamp* tag, const Document* doc,
                                 uint64_t deadline_ms) {
  SG_ASSERT(doc != nullptr);
  SG_ASSERT(!delivering_);
  RowHandle h;
  if (!free_.empty()) {
    h = free_.back();
    free_.pop_back();
  } else {
    SG_ASSERT(rows_.size() < std::numeric_limits<RowHandle>::max());
    h = static_cast<RowHandle>(rows_.size());
    rows_.emplace_back();
  }
  RowSlot& row = rows_[h];
  SG_ASSERT(!row.live);
  SG_ASSERT(key.size() <= UINT32_MAX);
  row = RowSlot{key.data(), tag, doc, ++change_seq_, deadline_ms, static_cast<uint32_t>(key.size()),
                true};
  ++live_rows_;
  if (deadline_ms != UINT64_MAX) deadlines_.insert({deadline_ms, h});
  for (const auto& index : indexes_) index->Insert(h, *doc);
  OnRowChange(h, nullptr, doc);
  return h;
}

void QueryEngine::UpdateRow(RowHandle h, const Document& old_doc, const Document* new_doc,
                            uint64_t deadline_ms) {
  SG_ASSERT(h < rows_.size() && rows_[h].live && new_doc != nullptr);
  SG_ASSERT(!delivering_);
  RowSlot& row = rows_[h];
  if (row.deadline_ms != UINT64_MAX) deadlines_.erase({row.deadline_ms, h});
  row.doc = new_doc;
  row.deadline_ms = deadline_ms;
  row.changed_seq = ++change_seq_;
  if (deadline_ms != UINT64_MAX) deadlines_.insert({deadline_ms, h});
  for (const auto& index : indexes_) {
    if (index->SameKeys(old_doc, *new_doc)) continue;
    index->Erase(h, old_doc);
    index->Insert(h, *new_doc);
  }
  OnRowChange(h, &old_doc, new_doc);
}

void QueryEngine::RemoveRow(RowHandle h, std::string_view key, const Timestamp* tag,
                            const Document& old_doc) {
  SG_ASSERT(h < rows_.size() && rows_[h].live);
  SG_ASSERT(!delivering_);
  RowSlot& row = rows_[h];
  SG_ASSERT(key.size() <= UINT32_MAX);
  row.key_data = key.data();
  row.key_size = static_cast<uint32_t>(key.size());
  row.tag = tag;
  if (row.deadline_ms != UINT64_MAX) deadlines_.erase({row.deadline_ms, h});
  for (const auto& index : indexes_) index->Erase(h, old_doc);
  row.live = false;
  ++change_seq_;
  --live_rows_;
  OnRowChange(h, &old_doc, nullptr);
  row = RowSlot{};
  free_.push_back(h);
}

void QueryEngine::RebindRow(RowHandle h, std::string_view key, const Timestamp* tag,
                            const Document* doc) {
  SG_ASSERT(h < rows_.size() && rows_[h].live && doc != nullptr);
  SG_ASSERT(!delivering_);
  SG_ASSERT(key.size() == rows_[h].key_size);  // The same key (its bytes may already be freed).
  RowSlot& row = rows_[h];
  row.key_data = key.data();
  row.tag = tag;
  row.doc = doc;
}

uint64_t QueryEngine::expiry_now_ms() {
  now_max_ms_ = std::max(now_max_ms_, clock_.NowMs());
  return now_max_ms_;
}

void QueryEngine::ExpireDue() {
  const uint64_t now = expiry_now_ms();
  // Bounded by the number of rows with a deadline.
  while (!deadlines_.empty() && deadlines_.begin()->first < now) {
    SG_PROBE("query.row_expired");  // A TTL ran out: the row leaves every result.
    const RowHandle h = deadlines_.begin()->second;
    if (expiry_hook_) expiry_hook_(h);
    const RowSlot& row = rows_[h];  // Still valid: expiry never erases the record.
    RemoveRow(h, row.key(), row.tag, *row.doc);
  }
}

RowRef QueryEngine::Row(RowHandle h) const {
  SG_ASSERT(h < rows_.size() && rows_[h].live);
  return {rows_[h].key(), rows_[h].tag, rows_[h].doc};
}

std::vector<RowRef> QueryEngine::Refs(const std::vector<RowHandle>& handles) const {
  std::vector<RowRef> out;
  out.reserve(handles.size());
  for (RowHandle h : handles) out.push_back(Row(h));
  return out;
}

// --- Ordering ---

int QueryEngine::CompareRows(const Query& q, RowHandle a, RowHandle b) const {
  const RowSlot& x = rows_[a];
  const RowSlot& y = rows_[b];
  for (const SortField& s : q.sort) {
    const int c =
        CompareValues(Matcher::FieldValue(*x.doc, s.field), Matcher::FieldValue(*y.doc, s.field));
    if (c != 0) return s.descending ? -c : c;
  }
  if (const int c = CompareKeys(x.key(), y.key()); c != 0) return c;
  return CompareTags(x.tag, y.tag);
}

int QueryEngine::CompareRowToPosition(const Query& q, RowHandle a, const Position& p) const {
  const RowSlot& x = rows_[a];
  for (size_t i = 0; i < q.sort.size(); ++i) {
    const int c = CompareValues(Matcher::FieldValue(*x.doc, q.sort[i].field), p.values[i]);
    if (c != 0) return q.sort[i].descending ? -c : c;
  }
  if (const int c = CompareKeys(x.key(), p.key); c != 0) return c;
  return CompareTags(x.tag, p.tag ? &*p.tag : nullptr);
}

QueryEngine::Position QueryEngine::PositionOf(const Query& q, RowHandle h) const {
  const RowSlot& row = rows_[h];
  Position p;
  for (const SortField& s : q.sort)
    p.values.push_back(Matcher::FieldValue(*row.doc, s.field).ToValue());
  p.key = std::string(row.key());
  if (row.tag) p.tag = *row.tag;
  return p;
}

// --- Selection ---

const NavigableIndex* QueryEngine::WalkIndex(const Query& q, const Plan* plan,
                                             std::optional<uint64_t> limit) const {
  const NavigableIndex* index = SortIndex(q);
  if (index == nullptr || !limit.has_value()) return nullptr;
  // Walking the sort index visits about limit * rows / matches rows; fetching the plan's
  // candidates costs about `estimate`. Walk when estimate^2 > limit * rows (integers: the
  // decision must not depend on floating-point rounding).
  const unsigned __int128 estimate = plan ? plan->estimate : live_rows_;
  const unsigned __int128 walk = static_cast<unsigned __int128>(*limit) * live_rows_;
  return estimate * estimate > walk ? index : nullptr;
}

bool QueryEngine::SelectByWalk(const Query& q, const LazyMatcher& matcher,
                               const NavigableIndex& index, const Position* after,
                               std::optional<uint64_t> exclude_changed_after, uint64_t limit,
                               Selection* out) const {
  const NavigableIndex::Set& set = index.set();
  const bool descending = q.sort[0].descending;
  const RowHandle kMax = std::numeric_limits<RowHandle>::max();
  std::vector<RowHandle> collected;
  const IndexValue* boundary = nullptr;  // First-sort-field value of the (limit+1)-th match.
  size_t scanned = 0;
  const auto visit = [&](const NavigableIndex::Entry& e) {  // Returns false to stop.
    if (boundary != nullptr && CompareValues(e.value.view(), boundary->view()) != 0) return false;
    if (++scanned > options_.walk_rows_max) return false;
    const RowSlot& row = rows_[e.handle];
    if (exclude_changed_after && row.changed_seq > *exclude_changed_after) return true;
    if (after != nullptr && CompareRowToPosition(q, e.handle, *after) <= 0) return true;
    if (!matcher.Matches(*row.doc)) return true;
    collected.push_back(e.handle);
    if (boundary == nullptr && collected.size() == limit + 1) boundary = &e.value;
    return true;
  };
  if (!descending) {
    auto it = after ? set.lower_bound(NavigableIndex::Probe{after->values[0], 0}) : set.begin();
    for (; it != set.end() && visit(*it); ++it) {
    }
  } else {
    auto it = after ? set.upper_bound(NavigableIndex::Probe{after->values[0], kMax}) : set.end();
    while (it != set.begin()) {
      --it;
      if (!visit(*it)) break;
    }
  }
  if (scanned > options_.walk_rows_max) return false;
  std::sort(collected.begin(), collected.end(),
            [&](RowHandle a, RowHandle b) { return CompareRows(q, a, b) < 0; });
  out->more = collected.size() > limit;
  if (out->more) collected.resize(limit);
  out->rows = std::move(collected);
  return true;
}

std::vector<RowHandle> QueryEngine::Scan(const Matcher& matcher) const {
  // Each row costs two dependent cache misses (its document, then the document's block); asking
  // for both ahead of use keeps several rows' misses in flight instead of one at a time.
  constexpr size_t kBlockAhead = 8;
  constexpr size_t kDocAhead = 2 * kBlockAhead;
  std::vector<RowHandle> out;
  out.reserve(live_rows_ / 8);
  const size_t n = rows_.size();
  for (size_t h = 0; h < n; ++h) {
    if (h + kDocAhead < n) __builtin_prefetch(rows_[h + kDocAhead].doc);
    if (h + kBlockAhead < n && rows_[h + kBlockAhead].live) rows_[h + kBlockAhead].doc->Prefetch();
    if (rows_[h].live && matcher.Matches(*rows_[h].doc)) out.push_back(static_cast<RowHandle>(h));
  }
  return out;
}

QueryEngine::Selection QueryEngine::Select(const Query& q, const LazyMatcher& matcher,
                                           const Position* after,
                                           std::optional<uint64_t> exclude_changed_after,
                                           std::optional<uint64_t> limit, bool ordered) {
  SG_ASSERT(ordered || (!limit && after == nullptr));
  std::unique_ptr<Plan> plan = PlanPredicate(q.where);
  Selection out;
  if (const NavigableIndex* index = WalkIndex(q, plan.get(), limit);
      index != nullptr &&
      SelectByWalk(q, matcher, *index, after, exclude_changed_after, *limit, &out)) {
    return out;
  }
  std::vector<RowHandle> candidates;
  if (plan) {
    candidates = Execute(*plan);
    if (!plan->exact) {
      std::erase_if(candidates, [&](RowHandle h) { return !matcher.Matches(*rows_[h].doc); });
    }
  } else {
    candidates = Scan(matcher.get());
  }
  if (exclude_changed_after) {
    const size_t before = candidates.size();
    std::erase_if(candidates,
                  [&](RowHandle h) { return rows_[h].changed_seq > *exclude_changed_after; });
    // Rows changed since paging began may have moved across the cursor: left out.
    if (candidates.size() < before) SG_PROBE("query.cursor_page_skipped_changed_rows");
  }
  if (after != nullptr) {
    std::erase_if(candidates, [&](RowHandle h) { return CompareRowToPosition(q, h, *after) <= 0; });
  }
  const auto less = [&](RowHandle a, RowHandle b) { return CompareRows(q, a, b) < 0; };
  if (limit && candidates.size() > *limit) {
    std::nth_element(candidates.begin(), candidates.begin() + static_cast<ptrdiff_t>(*limit),
                     candidates.end(), less);
    candidates.resize(*limit);
    out.more = true;
  }
  // Unordered, the candidates stay in ascending handle order: every plan produces them so.
  if (ordered) std::sort(candidates.begin(), candidates.end(), less);
  out.rows = std::move(candidates);
  return out;
}

absl::Status QueryEngine::CursorBelongsTo(const Query& q, const CursorState& state) {
  if (state.query_hash != PredicateAndSortHash(q)) {
    return absl::InvalidArgumentError(
        "cursor belongs to a different query (predicate or sort differ)");
  }
  if (state.last_sort_values.size() != q.sort.size()) {
    return absl::InvalidArgumentError("cursor does not match the query's sort");
  }
  return absl::OkStatus();
}

CursorState QueryEngine::CursorAfter(const Query& q, const RowRef& row) {
  SG_ASSERT(row.value != nullptr);
  CursorState state;
  state.query_hash = PredicateAndSortHash(q);
  for (const SortField& s : q.sort) {
    state.last_sort_values.push_back(Matcher::FieldValue(*row.value, s.field).ToValue());
  }
  state.last_key = std::string(row.key);
  if (row.tag != nullptr) state.last_tag = *row.tag;
  return state;
}

absl::StatusOr<QueryPage> QueryEngine::Run(const Query& q, std::string_view cursor) {
  if (absl::Status s = Validate(q); !s.ok()) return s;
  ExpireDue();
  const uint64_t now = expiry_now_ms();
  std::optional<Position> after;
  uint64_t start_seq = change_seq_;
  if (!cursor.empty()) {
    absl::StatusOr<CursorState> state = DecodeCursor(cursor);
    if (!state.ok()) return state.status();
    if (absl::Status s = CursorBelongsTo(q, *state); !s.ok()) return s;
    if (state->instance_id != instance_id_) {
      return absl::FailedPreconditionError(
          "cursor was issued by another map instance; start paging again");
    }
    if (state->expires_at_ms < now) {
      SG_PROBE("query.cursor_expired");
      return absl::FailedPreconditionError(fmt::format(
          "cursor expired at {} ms, now is {} ms; start paging again", state->expires_at_ms, now));
    }
    start_seq = state->start_seq;
    after = Position{std::move(state->last_sort_values), std::move(state->last_key),
                     std::move(state->last_tag)};
  }
  const LazyMatcher matcher(q.where);  // Compiled only if a row must be filtered.
  // Sorted queries leave out rows changed since paging began: they may have moved across the
  // cursor. Key order never changes, so key-ordered paging needs no exclusion.
  std::optional<uint64_t> exclude;
  if (after && !q.sort.empty()) exclude = start_seq;
  // A cursor passed back without a limit asks for the rest of the pages: in result order too.
  const bool ordered = HasResultOrder(q) || after.has_value();
  Selection sel = Select(q, matcher, after ? &*after : nullptr, exclude, q.limit, ordered);
  QueryPage page;
  if (sel.more && !sel.rows.empty()) {
    Position last = PositionOf(q, sel.rows.back());
    CursorState state{PredicateAndSortHash(q),
                      instance_id_,
                      start_seq,
                      now + std::min(options_.cursor_ttl_ms, UINT64_MAX - now),
                      std::move(last.values),
                      std::move(last.key),
                      std::move(last.tag)};
    page.next_cursor = EncodeCursor(state);
  }
  page.rows = Refs(sel.rows);
  return page;
}

absl::StatusOr<std::string> QueryEngine::Explain(const Query& q) {
  if (absl::Status s = Validate(q); !s.ok()) return s;
  ExpireDue();
  std::string out = fmt::format("query: {}\nrows: {}\n", ToString(q), live_rows_);
  std::unique_ptr<Plan> plan = PlanPredicate(q.where, /*labels=*/true);
  if (const NavigableIndex* index = WalkIndex(q, plan.get(), q.limit); index != nullptr) {
    out +=
        fmt::format("plan: walk {} {}, filter each row, stop after {} matches\n", index->Describe(),
                    q.sort[0].descending ? "descending" : "ascending", *q.limit);
    return out;
  }
  if (plan) {
    out += "plan:\n" + DescribePlan(*plan, 1);
  } else {
    out += fmt::format("plan: full scan of {} rows, filter each row\n", live_rows_);
  }
  out += !HasResultOrder(q) ? "order: index order (no sort, no limit)\n"
         : q.sort.empty()   ? "order: by key\n"
                            : "order: sort by fields, then key\n";
  return out;
}

}  // namespace seedgrid
