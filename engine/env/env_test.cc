#include "engine/env/env.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/env/mem_storage.h"
#include "engine/env/real/real_env.h"
#include "engine/env/testing/manual_env.h"
#include "engine/env/xoshiro.h"

namespace seedgrid {
namespace {

TEST(SplitMix64, MatchesReferenceVector) {
  // Reference outputs of Vigna's splitmix64.c seeded with 0.
  uint64_t state = 0;
  EXPECT_EQ(SplitMix64(state), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(SplitMix64(state), 0x6e789e6aa1b965f4ULL);
  EXPECT_EQ(SplitMix64(state), 0x06c45d188009454fULL);
}

TEST(Xoshiro256, SameSeedSameStreamDifferentSeedDifferentStream) {
  Xoshiro256 a(42), b(42), c(43);
  bool any_difference = false;
  for (int i = 0; i < 1000; ++i) {
    const uint64_t va = a.Next64();
    EXPECT_EQ(va, b.Next64());
    any_difference |= va != c.Next64();
  }
  EXPECT_TRUE(any_difference);
}

RC_GTEST_PROP(RandomUniform, StaysBelowBound, (uint64_t seed, uint64_t bound)) {
  RC_PRE(bound > 0u);
  Xoshiro256 random(seed);
  for (int i = 0; i < 100; ++i) RC_ASSERT(random.Uniform(bound) < bound);
}

TEST(RandomUniform, CoversSmallRangeEvenly) {
  Xoshiro256 random(7);
  int counts[6] = {};
  for (int i = 0; i < 60'000; ++i) ++counts[random.Uniform(6)];
  for (int c : counts) {
    EXPECT_GT(c, 9'000);
    EXPECT_LT(c, 11'000);
  }
}

TEST(RandomChancePpm, EdgesAreExact) {
  Xoshiro256 random(1);
  for (int i = 0; i < 10'000; ++i) {
    EXPECT_FALSE(random.ChancePpm(0));
    EXPECT_TRUE(random.ChancePpm(1'000'000));
  }
}

TEST(MemStorage, CrashLosesOnlyUnsyncedWrites) {
  MemStorage storage;
  ASSERT_TRUE(storage.Write("a", "1").ok());
  ASSERT_TRUE(storage.Sync().ok());
  ASSERT_TRUE(storage.Write("a", "2").ok());
  ASSERT_TRUE(storage.Write("b", "3").ok());
  storage.Crash();
  EXPECT_EQ(*storage.Read("a"), "1");
  EXPECT_EQ(storage.Read("b").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(storage.List(), std::vector<std::string>{"a"});
  EXPECT_EQ(storage.Write("", "x").code(), absl::StatusCode::kInvalidArgument);
}

// Model: the durable pages (std::map) and the current ones. Any sequence of writes, deletes,
// syncs and crashes reads, lists (in name order) and reports unsynced pages as the model does.
RC_GTEST_PROP(MemStorage, MatchesAnOrderedModelOfDurableAndCurrentPages, ()) {
  MemStorage storage;
  std::map<std::string, std::string> durable, current;
  std::set<std::string> unsynced;
  const auto steps = *rc::gen::inRange(0, 200);
  for (int i = 0; i < steps; ++i) {
    const std::string page = "p/" + std::to_string(*rc::gen::inRange(0, 12));
    switch (*rc::gen::inRange(0, 5)) {
      case 0:
      case 1: {
        const std::string bytes = *rc::gen::arbitrary<std::string>();
        RC_ASSERT(storage.Write(page, bytes).ok());
        current[page] = bytes;
        unsynced.insert(page);
        break;
      }
      case 2:
        RC_ASSERT(storage.Delete(page).ok());
        current.erase(page);
        unsynced.insert(page);
        break;
      case 3:
        RC_ASSERT(storage.Sync().ok());
        durable = current;
        unsynced.clear();
        break;
      default:
        storage.Crash();
        current = durable;
        unsynced.clear();
        break;
    }
    std::vector<std::string> names;
    for (const auto& [name, bytes] : current) names.push_back(name);
    RC_ASSERT(storage.List() == names);
    RC_ASSERT(storage.UnsyncedPages() ==
              std::vector<std::string>(unsynced.begin(), unsynced.end()));
    const absl::StatusOr<std::string> read = storage.Read(page);
    if (current.contains(page)) {
      RC_ASSERT(read.ok() && *read == current[page]);
    } else {
      RC_ASSERT(read.status().code() == absl::StatusCode::kNotFound);
    }
  }
}

TEST(ManualTimers, RunsDueTimersInOrderAndHonoursCancel) {
  ManualClock clock(100);
  ManualTimers timers(clock);
  std::vector<int> fired;
  timers.Schedule(10, [&] { fired.push_back(1); });
  const auto cancelled = timers.Schedule(5, [&] { fired.push_back(2); });
  timers.Schedule(10, [&] { fired.push_back(3); });
  timers.Schedule(0, [&] { fired.push_back(4); });
  EXPECT_TRUE(timers.Cancel(cancelled));
  EXPECT_FALSE(timers.Cancel(cancelled));
  EXPECT_EQ(timers.RunDue(), 1u);
  clock.AdvanceMs(10);
  EXPECT_EQ(timers.RunDue(), 2u);
  EXPECT_EQ(fired, (std::vector<int>{4, 1, 3}));
  EXPECT_EQ(timers.pending(), 0u);
}

TEST(QueueNetwork, DeliversInFifoOrderAndRejectsUnknownNodes) {
  QueueNetwork network;
  std::vector<std::string> got;
  network.SetHandler("b", [&](const NodeId& from, std::string_view bytes) {
    got.push_back(from + ">" + std::string(bytes));
  });
  ASSERT_TRUE(network.Send("a", "b", "x").ok());
  ASSERT_TRUE(network.Send("c", "b", "y").ok());
  EXPECT_EQ(network.Send("a", "nobody", "z").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(network.DeliverAll(), 2u);
  EXPECT_EQ(got, (std::vector<std::string>{"a>x", "c>y"}));
}

TEST(RealEnv, SystemClockIsAfter2020AndRandomVaries) {
  SystemClock clock;
  EXPECT_GT(clock.NowMs(), 1'577'836'800'000ULL);
  OsSeededRandom a, b;
  EXPECT_NE(a.Next64() ^ a.Next64(), b.Next64() ^ b.Next64());
}

}  // namespace
}  // namespace seedgrid
