// CounterMap: the grid's PN-Counters. Laws (RapidCheck): raising entries in any order, with
// duplicates, ends in the per-writer maxima; the maintained digest (folded from the listener's
// changes) always equals CounterHash of the contents. Examples for the edges.
#include "engine/crdt/counter_map.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <vector>

namespace seedgrid {
namespace {

struct Raise {
  int key;
  int writer;
  uint64_t positive;
  uint64_t negative;
};

rc::Gen<Raise> GenRaise() {
  return rc::gen::apply(
      [](int key, int writer, uint64_t p, uint64_t n) {
        return Raise{key, writer, p, n};
      },
      rc::gen::inRange(0, 3), rc::gen::inRange(0, 3), rc::gen::inRange<uint64_t>(0, 6),
      rc::gen::inRange<uint64_t>(0, 6));
}

// The digest of every counter, folded from the listener's changes.
struct Folded {
  uint64_t digest = 0;
  void Attach(CounterMap& m) {
    m.set_listener([this](const CounterChange& c) {
      if (c.old_totals != nullptr) digest ^= EntryHash(c.key, c.writer, *c.old_totals);
      digest ^= EntryHash(c.key, c.writer, c.new_totals);
    });
  }
};

uint64_t HashOf(const CounterMap& m) {
  uint64_t h = 0;
  for (const auto& [key, state] : m.counters()) h ^= CounterHash(key, state);
  return h;
}

void Apply(CounterMap& m, const Raise& r) {
  (void)m.Raise("k" + std::to_string(r.key), "c" + std::to_string(r.writer),
                PnTotals{r.positive, r.negative});
}

RC_GTEST_PROP(CounterMapLaws, AnyOrderWithDuplicatesEndsInThePerWriterMaxima, ()) {
  const auto raises = *rc::gen::container<std::vector<Raise>>(GenRaise());
  // Another order: the raises sorted by random ranks.
  const auto ranks =
      *rc::gen::container<std::vector<int>>(raises.size(), rc::gen::arbitrary<int>());
  std::vector<size_t> index(raises.size());
  for (size_t i = 0; i < index.size(); ++i) index[i] = i;
  std::stable_sort(index.begin(), index.end(),
                   [&](size_t a, size_t b) { return ranks[a] < ranks[b]; });
  std::vector<Raise> order;
  for (size_t i : index) order.push_back(raises[i]);
  CounterMap a, b;
  Folded fa, fb;
  fa.Attach(a);
  fb.Attach(b);
  for (const Raise& r : raises) Apply(a, r);
  for (const Raise& r : order) {
    Apply(b, r);
    Apply(b, r);  // A duplicate changes nothing.
  }
  RC_ASSERT(a.counters() == b.counters());
  // The model: per (key, writer) the maximum of each half; all-zero entries are absent.
  absl::btree_map<std::string, PnState> model;
  for (const Raise& r : raises) {
    if (r.positive == 0 && r.negative == 0) continue;
    PnTotals& t = model["k" + std::to_string(r.key)]["c" + std::to_string(r.writer)];
    t.positive = std::max(t.positive, r.positive);
    t.negative = std::max(t.negative, r.negative);
  }
  RC_ASSERT(a.counters() == model);
  RC_ASSERT(fa.digest == HashOf(a));
  RC_ASSERT(fb.digest == HashOf(b));
}

RC_GTEST_PROP(CounterMapLaws, MergingStatesIsCommutativeAndIdempotent, ()) {
  const auto xs = *rc::gen::container<std::vector<Raise>>(GenRaise());
  const auto ys = *rc::gen::container<std::vector<Raise>>(GenRaise());
  CounterMap x, y;
  for (const Raise& r : xs) Apply(x, r);
  for (const Raise& r : ys) Apply(y, r);
  CounterMap xy = x, yx = y;
  for (const auto& [key, state] : y.counters()) (void)xy.Merge(key, state);
  for (const auto& [key, state] : x.counters()) (void)yx.Merge(key, state);
  RC_ASSERT(xy.counters() == yx.counters());
  CounterMap again = xy;
  for (const auto& [key, state] : y.counters()) RC_ASSERT(!again.Merge(key, state));
  for (const auto& [key, state] : xy.counters()) {
    RC_ASSERT(state == MergedCounter(x.Get(key) ? *x.Get(key) : PnState{},
                                     y.Get(key) ? *y.Get(key) : PnState{}));
  }
}

TEST(CounterMap, ValueIsPositivesMinusNegativesAcrossWriters) {
  CounterMap m;
  EXPECT_TRUE(m.Raise("visits", "c1", {10, 3}));
  EXPECT_TRUE(m.Raise("visits", "c2", {0, 4}));
  EXPECT_EQ(m.Value("visits"), 3);
  EXPECT_EQ(m.Value("absent"), 0);
  // A lower total (an old op resent) never lowers an entry; each half rises on its own.
  EXPECT_FALSE(m.Raise("visits", "c1", {9, 2}));
  EXPECT_TRUE(m.Raise("visits", "c1", {9, 5}));
  EXPECT_EQ((*m.Get("visits")).at("c1"), (PnTotals{10, 5}));
  EXPECT_EQ(m.Value("visits"), 1);
}

TEST(CounterMap, AnAllZeroEntryIsNoEntryAndHashesLikeNoCounter) {
  CounterMap m;
  EXPECT_FALSE(m.Raise("visits", "c1", {0, 0}));
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(CounterHash("visits", PnState{}), 0u);
  EXPECT_NE(EntryHash("visits", "c1", {1, 0}), EntryHash("visits", "c1", {0, 1}));
  EXPECT_NE(EntryHash("visits", "c1", {1, 0}), EntryHash("visits", "c2", {1, 0}));
}

TEST(CounterMap, ValueWrapsLikeThePnCounter) {
  CounterMap m;
  EXPECT_TRUE(m.Raise("k", "c1", {UINT64_MAX, 0}));
  EXPECT_TRUE(m.Raise("k", "c2", {2, 0}));
  EXPECT_EQ(m.Value("k"), 1);  // 2^64 - 1 + 2 wraps to 1.
}

}  // namespace
}  // namespace seedgrid
