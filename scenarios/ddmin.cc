#include "scenarios/ddmin.h"

#include <algorithm>
#include <cstddef>

#include "engine/base/assert.h"

namespace seedgrid::scenarios {

namespace {

// `items` without [from, to).
std::vector<uint64_t> Without(const std::vector<uint64_t>& items, size_t from, size_t to) {
  std::vector<uint64_t> out;
  out.reserve(items.size() - (to - from));
  out.insert(out.end(), items.begin(), items.begin() + static_cast<std::ptrdiff_t>(from));
  out.insert(out.end(), items.begin() + static_cast<std::ptrdiff_t>(to), items.end());
  return out;
}

struct WalkResult {
  bool removed = false;   // some chunk was removed
  bool complete = false;  // the walk reached the end (the budget did not stop it)
};

// One walk over r.kept from the front, removing chunks of `chunk` items where the test still
// fails. Stops early when the budget is spent.
WalkResult Walk(DdminResult& r, size_t chunk, uint64_t tests_max, const DdminTest& fails) {
  WalkResult w;
  size_t at = 0;
  while (at < r.kept.size()) {
    if (r.tests >= tests_max) return w;
    const size_t end = std::min(at + chunk, r.kept.size());
    std::vector<uint64_t> candidate = Without(r.kept, at, end);
    ++r.tests;
    if (fails(candidate)) {
      r.kept = std::move(candidate);  // Keep the removal; the next chunk now starts at `at`.
      w.removed = true;
    } else {
      at = end;
    }
  }
  w.complete = true;
  return w;
}

}  // namespace

DdminResult Ddmin(std::vector<uint64_t> items, uint64_t tests_max, const DdminTest& fails) {
  DdminResult r{std::move(items), 0, false};
  size_t chunk = std::max<size_t>(r.kept.size(), 1);
  // Bounded: each walk runs at least one test while items are left, and tests are bounded.
  while (!r.kept.empty()) {
    const WalkResult w = Walk(r, chunk, tests_max, fails);
    if (!w.complete) return r;  // Out of budget mid-walk: fails, maybe not minimal.
    if (chunk == 1 && !w.removed) break;
    if (r.tests >= tests_max) return r;
    if (chunk > 1) chunk = (chunk + 1) / 2;
  }
  SG_ASSERT(r.tests <= tests_max);
  r.minimal = true;
  return r;
}

}  // namespace seedgrid::scenarios
