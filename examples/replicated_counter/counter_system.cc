#include "counter_system.h"

#include <fmt/format.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "counter_node.h"
#include "scenarios/system.h"

namespace counter {

namespace {

using seedgrid::Random;
using seedgrid::scenarios::PeerCluster;
using seedgrid::scenarios::RunContext;
using seedgrid::scenarios::Unconverged;

// What each node was asked to do: everything, and what it acknowledged.
struct Asked {
  uint64_t add_all = 0, add_acked = 0, sub_all = 0, sub_acked = 0;
};

class CounterCluster final : public PeerCluster {
 public:
  CounterCluster(RunContext& run, uint64_t gossip_interval_ms)
      : PeerCluster(run), gossip_interval_ms_(gossip_interval_ms) {
    nodes_.resize(scenario().nodes);
    asked_.resize(scenario().nodes);
  }

  void StartNode(int i) override {
    nodes_[i] =
        std::make_unique<CounterNode>(sim().env(i), i, sim().node_ids(), gossip_interval_ms_);
  }
  void StopNode(int i) override { nodes_[i].reset(); }

  void Operate(int i, Random& random) override {
    const int64_t amount = 1 + static_cast<int64_t>(random.Uniform(5));
    const int64_t delta = random.Uniform(3) == 0 ? -amount : amount;
    Asked& a = asked_[i];
    (delta > 0 ? a.add_all : a.sub_all) += amount;
    const bool ok = nodes_[i]->Add(delta).ok();
    if (ok) (delta > 0 ? a.add_acked : a.sub_acked) += amount;
    TraceOp(i, fmt::format("add {}{}", delta, ok ? "" : " (failed)"));
  }

  void PeriodicCheck() override {
    for (int i = 0; i < scenario().nodes && !run().violated(); ++i) {
      if (nodes_[i]) CheckBounds(i, "counter_bounds", /*lower_too=*/false);
    }
  }

  std::optional<Unconverged> Probe(bool /*full*/) override {
    for (int i = 0; i < scenario().nodes; ++i) {
      if (!nodes_[i]) return Difference(fmt::format("n{} is down", i));
    }
    for (int i = 1; i < scenario().nodes; ++i) {
      if (!(nodes_[i]->state() == nodes_[0]->state())) {
        return Difference(fmt::format("n0 has {} (value {}), n{} has {} (value {})",
                                      nodes_[0]->state().Encode(), nodes_[0]->state().Value(), i,
                                      nodes_[i]->state().Encode(), nodes_[i]->state().Value()));
      }
    }
    return std::nullopt;
  }

  uint64_t QuiescenceWaitMs() const override { return 3 * gossip_interval_ms_; }

  void FinalChecks() override { CheckBounds(0, "counter_model", /*lower_too=*/true); }

 private:
  static Unconverged Difference(std::string detail) {
    return Unconverged{.detail = std::move(detail), .system_invariant = "counter_convergence"};
  }

  // Node i's view of every node j against what j was asked: never above all that was asked; with
  // `lower_too`, never below what j acknowledged.
  void CheckBounds(int i, const char* invariant, bool lower_too) {
    CountCheck();
    const CounterState& s = nodes_[i]->state();
    for (size_t j = 0; j < asked_.size(); ++j) {
      const Asked& a = asked_[j];
      const bool bad = s.p[j] > a.add_all || s.n[j] > a.sub_all ||
                       (lower_too && (s.p[j] < a.add_acked || s.n[j] < a.sub_acked));
      if (bad) {
        run().Violate(invariant, fmt::format("n{} holds +{} -{} for n{}, which was asked +{} -{} "
                                             "and acknowledged +{} -{}",
                                             i, s.p[j], s.n[j], j, a.add_all, a.sub_all,
                                             a.add_acked, a.sub_acked));
        return;
      }
    }
  }

  const uint64_t gossip_interval_ms_;
  std::vector<std::unique_ptr<CounterNode>> nodes_;
  std::vector<Asked> asked_;
};

uint64_t GossipIntervalMs(const nlohmann::json& params) {
  return params.value("gossip_interval_ms", uint64_t{100});
}

absl::Status CheckParams(const nlohmann::json& params) {
  for (const auto& [key, value] : params.items()) {
    if (key != "gossip_interval_ms") {
      return absl::InvalidArgumentError(
          fmt::format("unknown field '{}'; expected gossip_interval_ms", key));
    }
    if (!value.is_number_unsigned() || value.get<uint64_t>() < 1 ||
        value.get<uint64_t>() > 60'000) {
      return absl::InvalidArgumentError("gossip_interval_ms: expected an integer in 1..60000");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RegisterCounterSystem() {
  return seedgrid::scenarios::RegisterSystem({
      .name = "replicated_counter",
      .summary = "a gossiped PN-counter (examples/replicated_counter)",
      .invariants = {{"counter_bounds", "no node counts more than was asked of any node"},
                     {"counter_convergence", "after the heal every node holds the same state"},
                     {"counter_model",
                      "the value counts every acknowledged change, no more "
                      "than was asked"}},
      .check_params = CheckParams,
      .make = [](RunContext& run, const nlohmann::json& params) -> std::unique_ptr<PeerCluster> {
        return std::make_unique<CounterCluster>(run, GossipIntervalMs(params));
      },
  });
}

}  // namespace counter
