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

// One walk over r.kept from the back, removing chunks of `chunk` items where the test still
// fails. Stops early when the budget is spent.
WalkResult Walk(DdminResult& r, size_t chunk, uint64_t tests_max, const DdminTest& fails) {
  WalkResult w;
  size_t end = r.kept.size();  // The chunk to try is [begin, end); everything after is settled.
  while (end > 0) {
    if (r.tests >= tests_max) return w;
    const size_t begin = end > chunk ? end - chunk : 0;
    std::vector<uint64_t> candidate = Without(r.kept, begin, end);
    if (candidate.empty() && r.tests > 0) {  // The first test was the empty list; it passed.
      end = begin;
      continue;
    }
    ++r.tests;
    if (fails(candidate)) {
      r.kept = std::move(candidate);  // Items before `begin` keep their positions.
      w.removed = true;
    }
    end = begin;
  }
  w.complete = true;
  return w;
}

}  // namespace

DdminResult Ddmin(std::vector<uint64_t> items, uint64_t tests_max, const DdminTest& fails) {
  DdminResult r{std::move(items), 0, false};
  size_t chunk = std::max<size_t>(r.kept.size(), 1);
  // Bounded: the chunk halves down to 1, and then each walk removes an item or ends the search.
  while (!r.kept.empty()) {
    const WalkResult w = Walk(r, chunk, tests_max, fails);
    if (!w.complete) return r;  // Out of budget mid-walk: fails, maybe not minimal.
    if (chunk == 1 && !w.removed) break;
    if (r.tests >= tests_max) return r;
    if (chunk > 1) chunk = std::max<size_t>(std::min((chunk + 1) / 2, (r.kept.size() + 1) / 2), 1);
  }
  SG_ASSERT(r.tests <= tests_max);
  r.minimal = true;
  return r;
}

}  // namespace seedgrid::scenarios
