#include "invariants/convergence.h"

#include <gtest/gtest.h>

#include "engine/env/mem_storage.h"
#include "engine/env/testing/manual_env.h"
#include "engine/env/xoshiro.h"

namespace seedgrid::invariants {
namespace {

struct Two {
  ManualClock clock{1000};
  ManualTimers timers{clock};
  MemStorage storage;
  Xoshiro256 random{1};
  QueueNetwork network;
  Env env{clock, random, network, timers, storage};
  Replica a{env, {.node_id = "a"}};
  Replica b{env, {.node_id = "b"}};
  std::optional<Violation> Check() { return CheckConvergence({&a, &b}); }
};

TEST(CheckConvergence, EqualReplicasPass) {
  Two t;
  EXPECT_FALSE(t.Check().has_value());
  t.a.lww("m").Set("k", Document{{"v", int64_t{1}}});
  t.a.Flush({"b"});
  t.network.DeliverAll();
  EXPECT_FALSE(t.Check().has_value());
}

TEST(CheckConvergence, ReportsTheDifferingKeyAndValues) {
  Two t;
  t.a.lww("m").Set("k", Document{{"v", int64_t{1}}});
  t.b.lww("m");
  auto v = t.Check();
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->invariant, Invariant::kConvergence);
  EXPECT_NE(v->detail.find("a vs b: LWW map 'm' roots"), std::string::npos) << v->detail;
  EXPECT_NE(v->detail.find("'k': {\"v\": 1} @1000:0:a vs <absent>;"), std::string::npos)
      << v->detail;
}

TEST(CheckConvergence, ReportsMissingMapsOrEntriesAndCounters) {
  Two t;
  t.a.orm("o").Add("k", Document{});
  EXPECT_EQ(t.Check()->detail, "a vs b: OR maps [o] vs []");
  t.b.orm("o");
  EXPECT_NE(t.Check()->detail.find("OR map 'o'"), std::string::npos);
  Two u;
  ASSERT_TRUE(u.a.counter("c").Increment(2).ok());
  EXPECT_EQ(u.Check()->detail, "a vs b: counter 'c' = 2 vs 0");
}

}  // namespace
}  // namespace seedgrid::invariants
