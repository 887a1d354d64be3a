// ReplicaCluster: peer ReplicaNodes (timers, Merkle anti-entropy, durable pages, indexes and live
// subscriptions), all replicating every map. The workload writes LWW-Maps, OR-Maps and a
// PN-Counter (increments and decrements, half each) and runs queries on random nodes. Checks: HLC
// monotonicity on every operation, query/live-query correctness on one node per check interval;
// convergence (the Merkle roots and records of every replica) when probed; at the end the LWW/OR/PN
// models against the history and queries on every node.
#ifndef SEEDGRID_SCENARIOS_REPLICA_CLUSTER_H_
#define SEEDGRID_SCENARIOS_REPLICA_CLUSTER_H_

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "engine/replica/replica_node.h"
#include "invariants/history.h"
#include "invariants/query_check.h"
#include "scenarios/cluster.h"

namespace seedgrid::scenarios {

class ReplicaCluster final : public Cluster {
 public:
  using NodeHook = std::function<void(int node, ReplicaNode& replica_node)>;
  ReplicaCluster(RunContext& run, NodeHook on_node_start);

  void StartNode(int i) override;
  void StopNode(int i) override;
  void ScheduleWorkload() override;
  std::string SafetyText() const override;
  void PeriodicCheck() override;
  std::optional<Unconverged> Probe(bool full) override;
  uint64_t QuiescenceWaitMs() const override { return 2 * run_.scenario.anti_entropy_interval_ms; }
  void FinalChecks() override;
  void Shutdown() override;
  uint64_t ops() const override { return history_.ops(); }
  uint64_t checks() const override { return checks_run_ + hlc_.checked(); }
  int PickCrash(Random& r) override { return static_cast<int>(r.Uniform(run_.scenario.nodes)); }
  std::optional<uint64_t> LastIssuedMs(int i) const override {
    const std::optional<Timestamp>& last = hlc_.last_local(i);
    return last ? std::optional<uint64_t>(last->millis) : std::nullopt;
  }

 private:
  std::vector<const Replica*> Replicas() const;
  void ScheduleNextOp();
  void TraceOp(int i, const std::string& text);
  void CheckLocal(int i, const Timestamp& ts);
  bool Acknowledged(int i, const absl::Status& status);
  // One workload operation: drawn first, then applied unless the schedule drops it.
  struct Op {
    enum class Kind { kLwwSet, kLwwRemove, kOrAdd, kOrRemove, kCounter, kQuery };
    Kind kind = Kind::kQuery;
    std::string key;
    const char* city = "";
    uint64_t number = 0;     // age (set), tag (OR ops), amount (counter), page size (query)
    size_t query = 0;        // index into queries_ (query)
    bool decrement = false;  // counter: a decrement (the node's N total) instead of an increment
    std::optional<uint64_t> ttl_ms;  // set: a TTL (a quarter of sets, 200..5000 ms)
  };
  // `sign` is the node's own stream for what was added to an op's draws later (a counter op's
  // increment-or-decrement coin, a set's TTL), so those draws move none of the node's others.
  Op DrawOp(Random& r, Random& sign) const;
  void ApplyCounterOp(int i, const Op& op);
  void DoOp(int i, bool apply);
  void ApplyOp(int i, const Op& op);
  void ApplyOrOp(int i, const Op& op);
  void DoQuery(int i, size_t query, size_t page);
  void Subscribe(int i);
  std::optional<invariants::Violation> CheckNode(int i, size_t page_size);

  RunContext& run_;
  const Scenario& s_;
  sim::Simulator& sim_;
  NodeHook on_node_start_;
  std::vector<Query> queries_;
  invariants::History history_;
  invariants::HlcMonitor hlc_;
  Xoshiro256 workload_;
  Xoshiro256 checks_;
  std::vector<Xoshiro256> node_random_;
  std::vector<Xoshiro256> counter_sign_random_;  // per node: "workload/n<i>/counter-sign"
  // Declared before nodes_ so it is destroyed after them (subscription callbacks point into it).
  std::vector<std::vector<std::unique_ptr<invariants::ReplayedSubscription>>> subs_;
  std::vector<std::unique_ptr<ReplicaNode>> nodes_;
  uint64_t checks_run_ = 0;
};

}  // namespace seedgrid::scenarios

#endif  // SEEDGRID_SCENARIOS_REPLICA_CLUSTER_H_
