#include "scenarios/convergence_demo.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <deque>
#include <memory>

#include "engine/base/assert.h"
#include "engine/env/mem_storage.h"
#include "engine/env/testing/manual_env.h"
#include "engine/replica/replica.h"
#include "sim/random.h"
#include "sim/skewed_clock.h"

namespace seedgrid::scenarios {

namespace {

constexpr uint64_t kStartMs = 1'700'000'000'000;  // A fixed virtual epoch (Nov 2023).

// A lossy FIFO network: every Send is queued; Pump() delivers or drops each message, folding
// delivered ones into the trace hash.
class DemoNetwork final : public Network {
 public:
  DemoNetwork(Random& random, uint32_t loss_ppm) : random_(random), loss_ppm_(loss_ppm) {}
  absl::Status Send(const NodeId& from, const NodeId& to, std::string_view bytes) override {
    if (!handlers_.contains(to)) {
      return absl::NotFoundError(fmt::format("network: unknown destination node '{}'", to));
    }
    queue_.push_back({from, to, std::string(bytes)});
    SG_ASSERT(queue_.size() < 50'000'000);  // A bound on the queue.
    return absl::OkStatus();
  }
  void SetHandler(const NodeId& node, Handler handler) override {
    handlers_[node] = std::move(handler);
  }
  void set_loss_ppm(uint32_t loss_ppm) { loss_ppm_ = loss_ppm; }
  // Delivers (or drops) until the queue is empty, including replies; bounded.
  void Pump() {
    for (uint64_t step = 0; !queue_.empty(); ++step) {
      SG_ASSERT(step < 500'000'000);
      Message m = std::move(queue_.front());
      queue_.pop_front();
      if (loss_ppm_ > 0 && random_.ChancePpm(loss_ppm_)) {
        ++dropped_;
        continue;
      }
      ++delivered_;
      const uint64_t parts[3] = {XXH3_64bits(m.from.data(), m.from.size()),
                                 XXH3_64bits(m.to.data(), m.to.size()),
                                 XXH3_64bits(m.bytes.data(), m.bytes.size())};
      trace_hash_ = XXH3_64bits_withSeed(parts, sizeof(parts), trace_hash_);
      if (const Handler& h = handlers_.at(m.to)) h(m.from, m.bytes);
    }
  }
  uint64_t trace_hash() const { return trace_hash_; }
  uint64_t delivered() const { return delivered_; }
  uint64_t dropped() const { return dropped_; }

 private:
  struct Message {
    NodeId from, to;
    std::string bytes;
  };
  Random& random_;
  uint32_t loss_ppm_;
  absl::btree_map<NodeId, Handler> handlers_;
  std::deque<Message> queue_;
  uint64_t trace_hash_ = 0;
  uint64_t delivered_ = 0, dropped_ = 0;
};

struct DemoNode {
  DemoNode(Clock& truth, int64_t offset_ms, int64_t drift_ppm)
      : clock(truth, offset_ms, drift_ppm), timers(clock) {}
  sim::SkewedClock clock;
  ManualTimers timers;
  MemStorage storage;
  std::unique_ptr<Env> env;
  std::unique_ptr<Replica> replica;
  int writes = 0;
};

int64_t SignedIn(Random& r, int64_t bound) {
  return static_cast<int64_t>(sim::UniformIn(r, 0, static_cast<uint64_t>(2 * bound))) - bound;
}

}  // namespace

absl::Status Validate(const ConvergenceDemoOptions& o) {
  const auto range = [](std::string_view name, int64_t v, int64_t lo, int64_t hi) {
    if (v >= lo && v <= hi) return absl::OkStatus();
    return absl::InvalidArgumentError(fmt::format("--{} is {}; expected {}..{}", name, v, lo, hi));
  };
  for (absl::Status s :
       {range("nodes", o.nodes, 2, 1000), range("writes", o.writes, 0, 10'000'000),
        range("keys", o.keys, 1, 1'000'000), range("skew-ms", o.skew_ms_max, 0, 86'400'000),
        range("drift-ppm", o.drift_ppm_max, 0, 100'000),
        range("loss-ppm", o.loss_ppm, 0, 1'000'000),
        range("flush-every", o.flush_every, 1, 1'000'000),
        range("sync-rounds", o.sync_rounds_max, 1, 100'000)}) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

ConvergenceDemoResult RunConvergenceDemo(const ConvergenceDemoOptions& o, std::string& report) {
  SG_ASSERT(Validate(o).ok());
  ManualClock truth(kStartMs);
  Xoshiro256 clocks_random = sim::Substream(o.seed, "clocks");
  Xoshiro256 workload = sim::Substream(o.seed, "workload");
  Xoshiro256 network_random = sim::Substream(o.seed, "network");
  Xoshiro256 unused_env_random = sim::Substream(o.seed, "env");
  DemoNetwork network(network_random, o.loss_ppm);

  std::vector<std::unique_ptr<DemoNode>> nodes;
  std::vector<NodeId> ids;
  report += fmt::format("nodes: {} (clock offset ms, drift ppm)\n", o.nodes);
  for (int i = 0; i < o.nodes; ++i) {
    const int64_t offset = SignedIn(clocks_random, o.skew_ms_max);
    const int64_t drift = SignedIn(clocks_random, o.drift_ppm_max);
    auto node = std::make_unique<DemoNode>(truth, offset, drift);
    node->env = std::make_unique<Env>(
        Env{node->clock, unused_env_random, network, node->timers, node->storage});
    node->replica =
        std::make_unique<Replica>(*node->env, ReplicaOptions{.node_id = fmt::format("n{}", i)});
    ids.push_back(node->replica->node_id());
    if (o.verbose || i < 8) {
      report +=
          fmt::format("  {:>5}  offset {:+7} ms  drift {:+5} ppm\n", ids.back(), offset, drift);
    } else if (i == 8) {
      report += fmt::format("  ... ({} more)\n", o.nodes - 8);
    }
    nodes.push_back(std::move(node));
  }

  // Models: the highest-timestamp write per LWW key, and the sum of counter increments.
  absl::btree_map<std::string, Timestamp> lww_model;
  int64_t visits_model = 0;
  const auto note_lww = [&](const std::string& key, const Timestamp& ts) {
    auto [it, inserted] = lww_model.try_emplace(key, ts);
    if (!inserted && it->second < ts) it->second = ts;
  };

  // Safety phase: writes on random nodes, lossy replication.
  for (int w = 0; w < o.writes; ++w) {
    truth.AdvanceMs(workload.Uniform(6));
    DemoNode& node = *nodes[workload.Uniform(nodes.size())];
    Replica& r = *node.replica;
    const std::string key = fmt::format("key{}", workload.Uniform(o.keys));
    const uint64_t op = workload.Uniform(100);
    if (op < 45) {
      note_lww(key, r.lww("users").Set(
                        key, Document{{"score", static_cast<int64_t>(workload.Uniform(1000))},
                                      {"by", r.node_id()}}));
    } else if (op < 55) {
      note_lww(key, r.lww("users").Remove(key));
    } else if (op < 75) {
      r.orm("tags").Add(key, Document{{"tag", fmt::format("t{}", workload.Uniform(4))}});
    } else if (op < 85) {
      r.orm("tags").Remove(key, Document{{"tag", fmt::format("t{}", workload.Uniform(4))}});
    } else {
      const uint64_t by = 1 + workload.Uniform(3);
      SG_ASSERT(r.counter("visits").Increment(by).ok());  // Small totals: cannot overflow.
      visits_model += static_cast<int64_t>(by);
    }
    if (++node.writes % o.flush_every == 0) {
      r.Flush(ids);
      network.Pump();
    }
  }
  for (auto& node : nodes) node->replica->Flush(ids);
  network.Pump();

  ConvergenceDemoResult result;
  std::vector<const Replica*> replicas;
  for (const auto& node : nodes) replicas.push_back(node->replica.get());
  result.violation = invariants::CheckConvergence(replicas);
  report += fmt::format(
      "safety phase: {} writes, {} messages delivered, {} lost ({} ppm loss); "
      "converged: {}\n",
      o.writes, network.delivered(), network.dropped(), o.loss_ppm,
      result.violation ? "no" : "yes");
  if (result.violation && o.verbose) report += "  " + result.violation->detail + "\n";

  // Liveness phase: reliable network; each round every node syncs with its ring successor.
  network.set_loss_ppm(0);
  while (result.violation && result.sync_rounds < o.sync_rounds_max) {
    ++result.sync_rounds;
    truth.AdvanceMs(1000);
    for (size_t i = 0; i < nodes.size(); ++i) {
      nodes[i]->replica->SyncWith(ids[(i + 1) % ids.size()]);
      network.Pump();
    }
    result.violation = invariants::CheckConvergence(replicas);
    if (o.verbose) {
      report += fmt::format("  sync round {}: {}\n", result.sync_rounds,
                            result.violation ? result.violation->detail : "converged");
    }
  }
  if (!result.violation) {
    // Converged: now the agreed state must also be the right one.
    const Replica& r0 = *nodes[0]->replica;
    const auto& users = r0.lww_maps();
    for (const auto& [key, ts] : lww_model) {
      const LwwRecord* rec = users.contains("users") ? users.at("users")->GetRecord(key) : nullptr;
      if (rec == nullptr || rec->ts != ts) {
        result.violation = invariants::Violation{
            "lww-model", fmt::format("users '{}': expected the write at {}, replicas hold {}", key,
                                     ts.ToString(), rec ? rec->ToString() : "<absent>")};
        break;
      }
    }
    const int64_t visits =
        r0.counters().contains("visits") ? r0.counters().at("visits")->value() : 0;
    if (!result.violation && visits != visits_model) {
      result.violation = invariants::Violation{
          "pn-model",
          fmt::format("visits = {}, expected the sum of increments {}", visits, visits_model)};
    }
  }
  result.converged = !result.violation.has_value();
  result.trace_hash = network.trace_hash();
  result.messages_delivered = network.delivered();
  result.messages_dropped = network.dropped();
  for (const auto& node : nodes) result.merge_errors += node->replica->stats().merge_errors;

  report += fmt::format("liveness phase: {} anti-entropy round(s); converged: {}\n",
                        result.sync_rounds, result.converged ? "yes" : "NO");
  if (result.converged) {
    report += fmt::format(
        "model check: every LWW key holds its highest-timestamp write ({} keys), "
        "visits = sum of increments ({})\n",
        lww_model.size(), visits_model);
  }
  const Replica& first = *nodes[0]->replica;
  if (result.converged) {
    report += fmt::format(
        "final state on every node: users {} records (root {:016x}), tags {} keys (root {:016x}), "
        "visits = {}\n",
        first.lww_maps().contains("users") ? first.lww_maps().at("users")->size() : 0,
        first.lww_maps().contains("users") ? first.lww_maps().at("users")->merkle().root() : 0,
        first.or_maps().contains("tags") ? first.or_maps().at("tags")->size() : 0,
        first.or_maps().contains("tags") ? first.or_maps().at("tags")->merkle().root() : 0,
        first.counters().contains("visits") ? first.counters().at("visits")->value() : 0);
  } else {
    report +=
        fmt::format("violation: {}: {}\n", result.violation->invariant, result.violation->detail);
  }
  if (result.merge_errors > 0) {
    report += fmt::format("merge errors (e.g. HLC drift rejections): {}; last: {}\n",
                          result.merge_errors, [&] {
                            for (const auto& node : nodes) {
                              if (!node->replica->stats().last_error.empty()) {
                                return node->replica->stats().last_error;
                              }
                            }
                            return std::string();
                          }());
  }
  report += fmt::format("trace hash: {:016x}\n", result.trace_hash);
  return result;
}

}  // namespace seedgrid::scenarios
