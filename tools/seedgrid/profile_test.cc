#include "tools/seedgrid/profile.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "engine/wire/codec.h"
#include "scenarios/runner.h"

namespace seedgrid::tools {
namespace {

using scenarios::Scenario;

Scenario Parse(const std::string& text) {
  auto s = scenarios::ParseScenario(text, "test.json");
  EXPECT_TRUE(s.ok()) << s.status();
  return *s;
}

Scenario GridScenario() {
  return Parse(R"({"name": "g", "duration_ms": 2000,
      "grid": {"servers": 3, "clients": 4, "offline_per_min": [20, 60]},
      "swarm": {"loss_ppm": [0, 20000], "crashes_per_min": [0, 6]}})");
}

TEST(RunProfile, ProfilingDoesNotChangeTheRun) {
  const Scenario s = GridScenario();
  for (uint64_t seed : {1, 2, 3}) {
    RunProfile profile(s);
    const scenarios::RunResult plain = scenarios::RunScenario(s, {.seed = seed});
    const scenarios::RunResult profiled =
        scenarios::RunScenario(s, {.seed = seed, .observer = &profile});
    EXPECT_EQ(plain.trace_hash, profiled.trace_hash) << "seed " << seed;
    EXPECT_FALSE(profile.rows().empty());
  }
}

TEST(RunProfile, CountsEveryDeliveryAndTimerByNodeKindAndMessageType) {
  const Scenario s = GridScenario();
  RunProfile profile(s);
  const scenarios::RunResult r = scenarios::RunScenario(s, {.seed = 1, .observer = &profile});
  uint64_t messages = 0, timers = 0;
  std::set<std::string> server_types, client_types;
  for (const auto& [key, row] : profile.rows()) {
    EXPECT_GT(row.count, 0u);
    EXPECT_GE(row.wall_ms, 0.0);
    const auto& [kind, event] = key;
    if (event == "timers") {
      timers += row.count;
    } else if (kind != "owner") {
      messages += row.count;
      EXPECT_NE(event, "?");
      (kind == "server" ? server_types : client_types).insert(event);
    }
    EXPECT_THAT(kind, ::testing::AnyOf("server", "client", "owner"));
  }
  EXPECT_EQ(messages, r.stats.messages_delivered);
  EXPECT_EQ(timers, r.stats.timers_fired);
  // Clients write (GridOps reach servers) and servers acknowledge (GridAck reaches clients).
  EXPECT_TRUE(server_types.contains("GridOps"));
  EXPECT_TRUE(client_types.contains("GridAck"));
  EXPECT_TRUE(profile.rows().contains({"owner", "task (workload, faults, checks)"}));
}

TEST(RunProfile, TheTableListsRowsLargestFirstAndTheTimeOutsideEvents) {
  const Scenario s = GridScenario();
  RunProfile profile(s);
  profile.Enter();
  profile.Leave(RunProfile::Kind::kTimer, 0, {});
  const nlohmann::json j = profile.Json(1000.0, 2000);
  const std::string table = ProfileTable(j);
  EXPECT_THAT(table, ::testing::HasSubstr("1000 ms of wall time for 2000 virtual ms (2.0x)"));
  EXPECT_THAT(table, ::testing::HasSubstr("server   timers"));
  EXPECT_THAT(table, ::testing::HasSubstr("outside events"));
  ASSERT_EQ(j["rows"].size(), 2u);
  EXPECT_EQ(j["rows"][0]["event"], "timers");
  EXPECT_EQ(j["rows"][1]["event"], "outside events");
}

TEST(MessageTypeOf, NamesEncodedMessagesAndRejectsGarbage) {
  const std::string bytes = EncodeMessage(msg::Envelope{"n1", msg::Heartbeat{}});
  EXPECT_EQ(MessageTypeOf(bytes), "Heartbeat");
  EXPECT_EQ(MessageTypeOf("not a message at all"), "?");
  EXPECT_EQ(MessageTypeOf(""), "?");
  EXPECT_EQ(MessageTypeOf(bytes.substr(0, bytes.size() / 2)), "?");
}

}  // namespace
}  // namespace seedgrid::tools
