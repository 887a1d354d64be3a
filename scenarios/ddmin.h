// Delta debugging (Zeller and Hildebrandt, "Simplifying and Isolating Failure-Inducing Input",
// 2002) in its complement-only form: find a 1-minimal sublist of `items` that still fails.
//
// From the whole list it tries removing chunks — first everything, then halves, quarters, ...,
// single items — walking each granularity from the back: items are a run's schedule in time
// order, and removing late items leaves everything before them exactly as it was, so those
// removals succeed most often (a run's prefix up to a time does not depend on what comes after).
// A removal after which the test still fails is kept. It ends when a walk with one-item chunks
// removes nothing: no single item of the result can be removed (1-minimal). Each test is one
// call of `fails`, so `tests_max` bounds the work; when it runs out the result still fails but
// may not be minimal.
//
// REQUIRES: `fails(items)` is true (it is not tested again) and `fails` is deterministic.
// Deterministic: the same items and predicate give the same result and the same tests.
#ifndef SEEDGRID_SCENARIOS_DDMIN_H_
#define SEEDGRID_SCENARIOS_DDMIN_H_

#include <cstdint>
#include <functional>
#include <vector>

namespace seedgrid::scenarios {

struct DdminResult {
  std::vector<uint64_t> kept;  // a sublist of the items (order kept) on which `fails` is true
  uint64_t tests = 0;          // calls of `fails`
  bool minimal = false;        // true: 1-minimal; false: `tests_max` ran out first
};

// True when the run with exactly `kept` items still fails the same way.
using DdminTest = std::function<bool(const std::vector<uint64_t>& kept)>;

DdminResult Ddmin(std::vector<uint64_t> items, uint64_t tests_max, const DdminTest& fails);

}  // namespace seedgrid::scenarios

#endif  // SEEDGRID_SCENARIOS_DDMIN_H_
