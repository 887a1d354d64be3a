// Registered systems (system.h): registration rules, scenario files that name a system, and
// runs of a small system of one's own through the shared driver.
#include "scenarios/system.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "scenarios/runner.h"
#include "scenarios/scenario.h"

namespace seedgrid::scenarios {
namespace {

using ::testing::HasSubstr;

// A max-register: each operation raises the node's value, every 100 ms a node sends its value
// to every peer, and a receiver keeps the larger. Params plant the failures the tests expect.
class MaxNode {
 public:
  MaxNode(Env& env, int self, std::vector<NodeId> peers, bool mute)
      : env_(env), self_(self), peers_(std::move(peers)), mute_(mute) {
    if (auto saved = env_.storage.Read("max"); saved.ok()) value_ = std::stoull(*saved);
    env_.network.SetHandler(peers_[self_], [this](const NodeId&, std::string_view bytes) {
      value_ = std::max<uint64_t>(value_, std::stoull(std::string(bytes)));
    });
    timer_ = env_.timers.Schedule(100, [this] { Gossip(); });
  }
  ~MaxNode() {
    env_.timers.Cancel(timer_);
    env_.network.SetHandler(peers_[self_], {});
  }
  void Raise(uint64_t v) {
    value_ = std::max(value_, v);
    (void)env_.storage.Write("max", std::to_string(value_));
    (void)env_.storage.Sync();
  }
  uint64_t value() const { return value_; }

 private:
  void Gossip() {
    for (size_t i = 0; i < peers_.size() && !mute_; ++i) {
      if (static_cast<int>(i) != self_) {
        (void)env_.network.Send(peers_[self_], peers_[i], std::to_string(value_));
      }
    }
    timer_ = env_.timers.Schedule(100, [this] { Gossip(); });
  }
  Env& env_;
  int self_;
  std::vector<NodeId> peers_;
  bool mute_;
  uint64_t value_ = 0;
  Timers::TimerId timer_ = 0;
};

class MaxCluster final : public PeerCluster {
 public:
  MaxCluster(RunContext& run, const nlohmann::json& params)
      : PeerCluster(run),
        mute_(params.value("mute", false)),
        violate_at_op_(params.value("violate_at_op", uint64_t{0})),
        nodes_(scenario().nodes) {}
  void StartNode(int i) override {
    nodes_[i] = std::make_unique<MaxNode>(sim().env(i), i, sim().node_ids(), mute_);
  }
  void StopNode(int i) override { nodes_[i].reset(); }
  void Operate(int i, Random& random) override {
    const uint64_t v = random.Uniform(1000);
    nodes_[i]->Raise(v);
    TraceOp(i, fmt::format("raise {}", v));
    if (ops() == violate_at_op_)
      run().Violate("max_safety", fmt::format("planted at op {}", ops()));
  }
  void PeriodicCheck() override { CountCheck(); }
  std::optional<Unconverged> Probe(bool) override {
    for (int i = 0; i < scenario().nodes; ++i) {
      if (!nodes_[i] || nodes_[i]->value() != nodes_[0]->value()) {
        return Unconverged{.detail = fmt::format("n{} differs", i),
                           .system_invariant = "max_agreement"};
      }
    }
    return std::nullopt;
  }

 private:
  bool mute_;
  uint64_t violate_at_op_;
  std::vector<std::unique_ptr<MaxNode>> nodes_;
};

void RegisterMaxOnce() {
  static const bool registered = [] {
    const absl::Status s = RegisterSystem(
        {.name = "max_register",
         .summary = "a gossiped max-register (tests)",
         .invariants = {{"max_safety", "planted"}, {"max_agreement", "every node agrees"}},
         .check_params =
             [](const nlohmann::json& p) {
               for (const auto& [key, value] : p.items()) {
                 if (key != "mute" && key != "violate_at_op") {
                   return absl::InvalidArgumentError(fmt::format("unknown field '{}'", key));
                 }
               }
               return absl::OkStatus();
             },
         .make = [](RunContext& run, const nlohmann::json& params) -> std::unique_ptr<Cluster> {
           return std::make_unique<MaxCluster>(run, params);
         }});
    EXPECT_TRUE(s.ok()) << s;
    return true;
  }();
  (void)registered;
}

Scenario ParseMax(const std::string& body) {
  RegisterMaxOnce();
  absl::StatusOr<Scenario> s = ParseScenario(
      R"({"name": "max", "system": "max_register", "nodes": 4, "duration_ms": 3000,
          "liveness_ms": 5000, "workload": {"ops_per_sec": 50},
          "swarm": {"loss_ppm": [0, 100000], "crashes_per_min": [0, 20],
                    "partitions_per_min": [0, 20]})" +
          body + "}",
      "max.json");
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : Scenario{};
}

std::string SystemParseError(const std::string& text) {
  RegisterMaxOnce();
  absl::StatusOr<Scenario> s = ParseScenario(text, "f.json");
  return s.ok() ? "parsed" : std::string(s.status().message());
}

TEST(System, RegistrationRefusesBadSpecs) {
  RegisterMaxOnce();
  const auto make = [](RunContext&, const nlohmann::json&) -> std::unique_ptr<Cluster> {
    return nullptr;
  };
  EXPECT_EQ(RegisterSystem({.name = "max_register", .make = make}).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_FALSE(RegisterSystem({.name = "Bad-Name", .make = make}).ok());
  EXPECT_FALSE(RegisterSystem({.name = "grid", .make = make}).ok());
  EXPECT_FALSE(RegisterSystem({.name = "no_make"}).ok());
  EXPECT_FALSE(RegisterSystem({.name = "clash", .invariants = {{"convergence", ""}}, .make = make})
                   .ok());  // a built-in invariant's name
  EXPECT_FALSE(
      RegisterSystem({.name = "twice", .invariants = {{"a", ""}, {"a", ""}}, .make = make}).ok());
  EXPECT_EQ(FindSystem("no_make"), nullptr);
  EXPECT_THAT(SystemList(), HasSubstr("max_register"));
}

TEST(System, ScenarioFilesNameTheSystemItsParamsAndInvariants) {
  const Scenario s = ParseMax(R"(, "params": {"mute": false}, "invariants": ["max_agreement"])");
  EXPECT_EQ(s.system, "max_register");
  EXPECT_EQ(s.params_json, R"({"mute":false})");
  EXPECT_TRUE(s.system_invariants.contains("max_agreement"));
  EXPECT_FALSE(s.system_invariants.contains("max_safety"));
  EXPECT_TRUE(s.invariants.empty());  // liveness not listed
  const Scenario all = ParseMax("");
  EXPECT_EQ(all.system_invariants.size(), 2u);
  EXPECT_TRUE(all.invariants.contains(invariants::Invariant::kLiveness));
  // Written out and read back to an equal scenario (shrink saves scenarios this way).
  absl::StatusOr<Scenario> back = ParseScenario(ScenarioToJson(s), "back.json");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, s);
}

TEST(System, BadSystemInputIsAnErrorNamingWhere) {
  EXPECT_THAT(SystemParseError(R"({"name": "x", "system": "nope"})"),
              HasSubstr("f.json:1:15: system: unknown system 'nope'; this program registers: "));
  EXPECT_THAT(SystemParseError(R"({"name": "x", "params": {}})"),
              HasSubstr("params: only a scenario with a \"system\" takes params"));
  EXPECT_THAT(SystemParseError(R"({"name": "x", "system": "max_register", "params": 3})"),
              HasSubstr("params: expected an object, got number"));
  EXPECT_THAT(SystemParseError(R"({"name": "x", "system": "max_register",
                             "params": {"colour": 1}})"),
              HasSubstr("f.json:2:30: params: unknown field 'colour'"));
  EXPECT_THAT(SystemParseError(R"({"name": "x", "system": "max_register",
                                   "workload": {"ops_per_sec": 5, "keys": 9}})"),
              HasSubstr("f.json:2:67: workload.keys: not read in a run of system 'max_register'"));
  EXPECT_THAT(SystemParseError(R"({"name": "x", "system": "max_register", "replication": {}})"),
              HasSubstr("replication: not read in a run of system 'max_register'"));
  EXPECT_THAT(SystemParseError(R"({"name": "x", "system": "max_register", "grid": {}})"),
              HasSubstr("grid: a scenario of system 'max_register' has no grid section"));
  EXPECT_THAT(SystemParseError(R"({"name": "x", "system": "max_register",
                             "invariants": ["convergence"]})"),
              HasSubstr("invariants[0]: unknown invariant \"convergence\"; system "
                        "'max_register' has: liveness, max_safety, max_agreement"));
}

TEST(System, RunsPassAndAreDeterministic) {
  const Scenario s = ParseMax("");
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    const RunResult a = RunScenario(s, {.seed = seed});
    ASSERT_TRUE(a.pass) << seed << ": " << a.violation->invariant << ": " << a.violation->detail;
    EXPECT_GT(a.ops, 50u);
    EXPECT_GT(a.checks, 0u);
    EXPECT_EQ(RunScenario(s, {.seed = seed}).trace_hash, a.trace_hash);
  }
}

TEST(System, ViolationsAndNonConvergenceNameTheSystemsInvariant) {
  const RunResult planted =
      RunScenario(ParseMax(R"(, "params": {"violate_at_op": 10})"), {.seed = 1});
  ASSERT_FALSE(planted.pass);
  EXPECT_EQ(planted.violation->invariant, "max_safety");
  EXPECT_EQ(planted.violation->detail, "planted at op 10");
  // Not checked when the scenario leaves it out.
  EXPECT_TRUE(RunScenario(ParseMax(R"(, "params": {"violate_at_op": 10},
                                    "invariants": ["liveness", "max_agreement"])"),
                          {.seed = 1})
                  .pass);
  const RunResult mute = RunScenario(ParseMax(R"(, "params": {"mute": true})"), {.seed = 1});
  ASSERT_FALSE(mute.pass);
  EXPECT_EQ(mute.violation->invariant, "liveness");
  EXPECT_THAT(mute.violation->detail, HasSubstr("after the heal (max_agreement): n1 differs"));
}

}  // namespace
}  // namespace seedgrid::scenarios
