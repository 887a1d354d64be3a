// The schedule of a run — its workload operations and fault events — and the items a scenario
// drops from it (the scenario file's "schedule" section; shrinking removes items this way).
//
// Indexes: every item gets a stable index in generation order, so the same scenario and seed
// give the same items the same indexes.
// - ops: the workload's arrivals in time order, 0, 1, 2, ... (also an arrival that finds its node
//   or client down and does nothing).
// - faults: every fault event of the run in time order — the scenario's fixed events, the swarm's
//   arrivals (partition, crash, pause, clock_step, clog), client offline periods, grid joins and
//   grid leaves; events at the same time in that order (fixed ones in file order). A partition's
//   heal and a crash's restart belong to their event. A shorter safety phase keeps the indexes
//   of the events it keeps.
//
// Dropping: a dropped item is still drawn — every random value it would take is taken from its
// stream — and only its effect is skipped (no write, no crash, no trace event), so dropping one
// item does not move the draws of any other. The state it would have changed does differ, so
// the rest of the run may still take another path; shrinking checks every candidate by running it.
#ifndef SEEDGRID_SCENARIOS_SCHEDULE_H_
#define SEEDGRID_SCENARIOS_SCHEDULE_H_

#include <cstdint>
#include <vector>

namespace seedgrid::scenarios {

// The largest index a schedule may name (2^40 - 1: far beyond any run's event budget).
inline constexpr uint64_t kScheduleIndexMax = (uint64_t{1} << 40) - 1;

// A set of indexes in [0, kScheduleIndexMax], held as sorted, disjoint, non-adjacent closed
// intervals (so "everything from 2000 on" costs one interval).
class IndexSet {
 public:
  struct Interval {
    uint64_t first = 0;
    uint64_t last = 0;  // inclusive
    friend bool operator==(const Interval&, const Interval&) = default;
  };

  IndexSet() = default;
  // Any intervals, in any order, overlapping or not. REQUIRES: first <= last <= kScheduleIndexMax.
  static IndexSet Of(std::vector<Interval> intervals);
  // Single indexes, in any order. REQUIRES: each <= kScheduleIndexMax.
  static IndexSet OfIndexes(const std::vector<uint64_t>& indexes);

  bool Contains(uint64_t i) const;
  bool empty() const { return intervals_.empty(); }
  // The number of indexes in the set.
  uint64_t size() const;
  // [0, kScheduleIndexMax] minus this set.
  IndexSet Complement() const;
  const std::vector<Interval>& intervals() const { return intervals_; }
  friend bool operator==(const IndexSet&, const IndexSet&) = default;

 private:
  std::vector<Interval> intervals_;
};

// What a scenario drops from its schedule (empty: the whole schedule runs).
struct ScheduleDrops {
  IndexSet ops;
  IndexSet faults;
  bool empty() const { return ops.empty() && faults.empty(); }
  friend bool operator==(const ScheduleDrops&, const ScheduleDrops&) = default;
};

// Hands out the indexes of one kind of item in generation order and says which are applied.
// The set must outlive the counter.
class ScheduleCounter {
 public:
  explicit ScheduleCounter(const IndexSet& drops) : drops_(drops) {}
  // Takes the next index; true when that item is applied, false when it is dropped.
  bool Next();
  uint64_t generated() const { return generated_; }
  uint64_t dropped() const { return dropped_; }

 private:
  const IndexSet& drops_;
  uint64_t generated_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace seedgrid::scenarios

#endif  // SEEDGRID_SCENARIOS_SCHEDULE_H_
