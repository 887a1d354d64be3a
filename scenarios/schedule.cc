#include "scenarios/schedule.h"

#include <algorithm>

#include "engine/base/assert.h"

namespace seedgrid::scenarios {

IndexSet IndexSet::Of(std::vector<Interval> intervals) {
  std::sort(intervals.begin(), intervals.end(),
            [](const Interval& a, const Interval& b) { return a.first < b.first; });
  IndexSet out;
  for (const Interval& in : intervals) {
    SG_ASSERT(in.first <= in.last);
    SG_ASSERT(in.last <= kScheduleIndexMax);
    // Merge when overlapping or adjacent (last + 1 cannot overflow: last <= 2^40 - 1).
    if (!out.intervals_.empty() && in.first <= out.intervals_.back().last + 1) {
      out.intervals_.back().last = std::max(out.intervals_.back().last, in.last);
    } else {
      out.intervals_.push_back(in);
    }
  }
  return out;
}

IndexSet IndexSet::OfIndexes(const std::vector<uint64_t>& indexes) {
  std::vector<Interval> intervals;
  intervals.reserve(indexes.size());
  for (uint64_t i : indexes) intervals.push_back({i, i});
  return Of(std::move(intervals));
}

bool IndexSet::Contains(uint64_t i) const {
  // The first interval that ends at or after i.
  const auto it = std::lower_bound(intervals_.begin(), intervals_.end(), i,
                                   [](const Interval& in, uint64_t x) { return in.last < x; });
  return it != intervals_.end() && it->first <= i;
}

uint64_t IndexSet::size() const {
  uint64_t n = 0;
  for (const Interval& in : intervals_) n += in.last - in.first + 1;
  return n;
}

IndexSet IndexSet::Complement() const {
  IndexSet out;
  uint64_t next = 0;  // The first index not yet accounted for.
  for (const Interval& in : intervals_) {
    if (in.first > next) out.intervals_.push_back({next, in.first - 1});
    next = in.last + 1;
  }
  if (next <= kScheduleIndexMax) out.intervals_.push_back({next, kScheduleIndexMax});
  return out;
}

bool ScheduleCounter::Next() {
  const bool drop = drops_.Contains(generated_);
  ++generated_;
  if (drop) ++dropped_;
  return !drop;
}

}  // namespace seedgrid::scenarios
