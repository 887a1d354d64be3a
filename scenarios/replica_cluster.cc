#include "scenarios/replica_cluster.h"

#include <fmt/format.h>

#include "engine/base/assert.h"
#include "engine/base/strings.h"
#include "invariants/convergence.h"
#include "sim/random.h"

namespace seedgrid::scenarios {

using invariants::Invariant;

namespace {

constexpr std::string_view kUsers = "users";
constexpr std::string_view kTags = "tags";
constexpr std::string_view kVisits = "visits";

// The queries checked on every replica (indexed result vs scan) and used by subscriptions.
std::vector<Query> CheckedQueries() {
  return {
      Query{Eq("city", "Oslo")},
      Query{All(), {{"age", true}}, 5},
      Query{In("city", {Value("Rome"), Value("Kyiv")}), {{"age", false}}, 3},
      Query{And({Eq("city", "Lima"), Gte("age", int64_t{30})})},
      Query{Between("age", int64_t{20}, int64_t{40})},
      Query{Or({Eq("city", "Pune"), Lt("age", int64_t{10})}), {{"city", false}}},
  };
}

}  // namespace

ReplicaCluster::ReplicaCluster(RunContext& run, NodeHook on_node_start)
    : run_(run),
      s_(run.scenario),
      sim_(run.sim),
      on_node_start_(std::move(on_node_start)),
      queries_(CheckedQueries()),
      hlc_(s_.nodes),
      workload_(sim::Substream(run.seed, "workload")),
      checks_(sim::Substream(run.seed, "checks")) {
  for (int i = 0; i < s_.nodes; ++i) {
    node_random_.push_back(sim::Substream(run.seed, fmt::format("workload/n{}", i)));
    counter_sign_random_.push_back(
        sim::Substream(run.seed, fmt::format("workload/n{}/counter-sign", i)));
  }
  nodes_.resize(s_.nodes);
  subs_.resize(s_.nodes);
}

std::string ReplicaCluster::SafetyText() const {
  return fmt::format("{} replica nodes, {}", s_.nodes, run_.swarm.ToString());
}

void ReplicaCluster::StartNode(int i) {
  ReplicaNodeOptions o{.replica = {.node_id = sim_.node_id(i)},
                       .peers = sim_.node_ids(),
                       .flush_interval_ms = s_.flush_interval_ms,
                       .anti_entropy_interval_ms = s_.anti_entropy_interval_ms,
                       .anti_entropy_fanout = s_.anti_entropy_fanout,
                       .indexes = {{std::string(kUsers), IndexKind::kHash, {"city"}},
                                   {std::string(kUsers), IndexKind::kNavigable, {"age"}}},
                       .events = [this, i](const events::NodeEvent& e) {
                         if (sim_.crashing(i)) return;  // After its crash point: never happened.
                         if (const auto* m = std::get_if<events::TimestampMerged>(&e))
                           hlc_.OnReceived(i, m->ts);
                       }};
  hlc_.OnRestart(i);
  absl::StatusOr<std::unique_ptr<ReplicaNode>> node = ReplicaNode::Open(sim_.env(i), o);
  if (!node.ok()) {
    run_.Violate(Invariant::kConvergence, fmt::format("n{} could not restart from its storage: {}",
                                                      i, node.status().message()));
    return;
  }
  nodes_[i] = std::move(*node);
  Replica& r = nodes_[i]->replica();
  r.lww(kUsers);
  r.orm(kTags);
  r.counter(kVisits);
  Subscribe(i);
  if (on_node_start_) on_node_start_(i, *nodes_[i]);
}

void ReplicaCluster::Subscribe(int i) {
  IndexedLwwMap* indexed = nodes_[i]->indexed_lww(kUsers);
  SG_ASSERT(indexed != nullptr);
  for (int q = 0; q < s_.subscriptions_per_node; ++q) {
    auto sub = std::make_unique<invariants::ReplayedSubscription>();
    sub->query = queries_[q % queries_.size()];
    invariants::ReplayedSubscription* raw = sub.get();
    absl::StatusOr<QueryEngine::Subscription> s =
        indexed->Subscribe(sub->query, [raw](const LiveDelta& d) { raw->Apply(d); });
    SG_ASSERT(s.ok());
    sub->id = s->id;
    for (const RowRef& row : s->initial) sub->keys.emplace(row.key);
    subs_[i].push_back(std::move(sub));
  }
}

void ReplicaCluster::StopNode(int i) {
  nodes_[i].reset();
  subs_[i].clear();
}

void ReplicaCluster::Shutdown() {
  nodes_.clear();  // Destroy nodes (and their subscriptions) before the simulator.
  subs_.clear();
}

std::vector<const Replica*> ReplicaCluster::Replicas() const {
  std::vector<const Replica*> out;
  for (const auto& n : nodes_) {
    if (n) out.push_back(&n->replica());
  }
  return out;
}

void ReplicaCluster::ScheduleWorkload() {
  if (s_.ops_per_sec > 0) ScheduleNextOp();
}

void ReplicaCluster::ScheduleNextOp() {
  const uint64_t gap = sim::Exponential(workload_, 1'000'000'000 / s_.ops_per_sec);
  const uint64_t at = sim_.now_ns() + std::max<uint64_t>(gap, 1);
  if (at >= s_.duration_ms * kNsPerMs) return;
  sim_.At(at, [this] {
    const int node = static_cast<int>(workload_.Uniform(s_.nodes));
    DoOp(node, run_.op_schedule.Next());
    ScheduleNextOp();
  });
}

void ReplicaCluster::TraceOp(int i, const std::string& text) {
  sim_.trace().Record(sim_.now_ns(), sim::TraceKind::kOp, i, -1, OpDigest(text),
                      [&] { return text; });
}

// Replica-node scenarios inject no storage errors (grid.storage_errors_ppm is grid-only), so a
// write whose sync failed means the harness is broken: say so rather than guess at the models.
// The one exception is a node that reached a crash point during the call: its syncs after the
// point fail (sim/simulator.h), and the write, never durable, is lost in the crash. An OK write
// is one whose sync succeeded before the point, so it is durable and counts whatever follows.
bool ReplicaCluster::Acknowledged(int i, const absl::Status& status) {
  if (status.ok()) return true;
  if (sim_.crashing(i)) return false;
  run_.Violate(Invariant::kConvergence,
               fmt::format("n{}: a local write was not made durable ({}); replica-node runs "
                           "inject no storage errors",
                           i, status.message()));
  return false;
}

void ReplicaCluster::CheckLocal(int i, const Timestamp& ts) {
  if (run_.On(Invariant::kHlc)) run_.Violate(hlc_.OnLocal(i, ts));
}

// Every value an operation draws, in the order DoOp always drew them: the key, the kind, then
// the kind's own values (a counter op's sign from its own stream).
ReplicaCluster::Op ReplicaCluster::DrawOp(Random& r, Random& sign) const {
  Op op;
  op.key = fmt::format("k{}", r.Uniform(static_cast<uint64_t>(s_.keys)));
  uint64_t pick = r.Uniform(s_.mix.total());
  const auto take = [&pick](uint32_t weight) {
    if (pick < weight) return true;
    pick -= weight;
    return false;
  };
  if (take(s_.mix.lww_set)) {
    op.kind = Op::Kind::kLwwSet;
    op.city = kCities[r.Uniform(std::size(kCities))];
    op.number = r.Uniform(100);
    const bool ttl = sign.Uniform(4) == 0;
    const uint64_t ttl_ms = 200 + sign.Uniform(4801);
    if (ttl) op.ttl_ms = ttl_ms;
  } else if (take(s_.mix.lww_remove)) {
    op.kind = Op::Kind::kLwwRemove;
  } else if (take(s_.mix.or_add)) {
    op.kind = Op::Kind::kOrAdd;
    op.number = r.Uniform(4);
  } else if (take(s_.mix.or_remove)) {
    op.kind = Op::Kind::kOrRemove;
    op.number = r.Uniform(4);
  } else if (take(s_.mix.counter)) {
    op.kind = Op::Kind::kCounter;
    op.number = 1 + r.Uniform(3);
    op.decrement = sign.Uniform(2) == 0;
  } else {
    op.kind = Op::Kind::kQuery;
    op.query = r.Uniform(queries_.size());
    op.number = r.Uniform(4);  // 0: one page; else pages of 1..3 rows via cursors
  }
  return op;
}

// A dropped op (!apply) is drawn all the same, so the node's stream stays where it would be.
void ReplicaCluster::DoOp(int i, bool apply) {
  if (!nodes_[i] || sim_.paused(i)) return;  // Down or paused: the client's call fails.
  const Op op = DrawOp(node_random_[i], counter_sign_random_[i]);
  sim::Simulator::ActingAs acting(sim_, i);  // Crash points in the call hit node i.
  if (apply) ApplyOp(i, op);
}

void ReplicaCluster::ApplyOp(int i, const Op& op) {
  ReplicaNode& node = *nodes_[i];
  const std::string& key = op.key;
  switch (op.kind) {
    case Op::Kind::kLwwSet: {
      Document doc{
          {"city", op.city}, {"age", static_cast<int64_t>(op.number)}, {"by", sim_.node_id(i)}};
      const LocalWrite<Timestamp> w = node.Set(kUsers, key, doc, op.ttl_ms);
      const Timestamp& ts = w.value;
      TraceOp(i, fmt::format("set users {} {} {}{}", key, doc.ToString(), ts.ToString(),
                             op.ttl_ms ? fmt::format(" ttl {} ms", *op.ttl_ms) : ""));
      if (!Acknowledged(i, w.status)) return;
      CheckLocal(i, ts);
      history_.LwwWrite(std::string(kUsers), key, ts, std::move(doc));
      return;
    }
    case Op::Kind::kLwwRemove: {
      const LocalWrite<Timestamp> w = node.Remove(kUsers, key);
      const Timestamp& ts = w.value;
      TraceOp(i, fmt::format("remove users {} {}", key, ts.ToString()));
      if (!Acknowledged(i, w.status)) return;
      CheckLocal(i, ts);
      history_.LwwWrite(std::string(kUsers), key, ts, std::nullopt);
      return;
    }
    case Op::Kind::kOrAdd:
    case Op::Kind::kOrRemove:
      ApplyOrOp(i, op);
      return;
    case Op::Kind::kCounter:
      ApplyCounterOp(i, op);
      return;
    case Op::Kind::kQuery:
      DoQuery(i, op.query, op.number);
      return;
  }
}

// Only an OK (applied and durable) change enters the history, as with the other writes.
void ReplicaCluster::ApplyCounterOp(int i, const Op& op) {
  ReplicaNode& node = *nodes_[i];
  const std::string counter(kVisits);
  if (op.decrement) {
    if (!node.Decrement(counter, op.number).ok()) return;
    TraceOp(i, fmt::format("decrement visits {}", op.number));
    history_.CounterDecrement(counter, sim_.node_id(i), op.number);
    return;
  }
  if (!node.Increment(counter, op.number).ok()) return;
  TraceOp(i, fmt::format("increment visits {}", op.number));
  history_.CounterIncrement(counter, sim_.node_id(i), op.number);
}

void ReplicaCluster::ApplyOrOp(int i, const Op& op) {
  ReplicaNode& node = *nodes_[i];
  const std::string& key = op.key;
  Document doc{{"tag", fmt::format("t{}", op.number)}};
  if (op.kind == Op::Kind::kOrAdd) {
    const LocalWrite<Timestamp> w = node.Add(kTags, key, doc);
    const Timestamp& tag = w.value;
    TraceOp(i, fmt::format("add tags {} {} {}", key, doc.ToString(), tag.ToString()));
    if (!Acknowledged(i, w.status)) return;
    CheckLocal(i, tag);
    history_.OrAdd(std::string(kTags), key, tag, std::move(doc));
    return;
  }
  const LocalWrite<std::vector<Timestamp>> w = node.RemoveValue(kTags, key, doc);
  const std::vector<Timestamp>& removed = w.value;
  TraceOp(i, fmt::format("remove tags {} {} ({} tags)", key, doc.ToString(), removed.size()));
  if (!Acknowledged(i, w.status)) return;
  history_.OrRemove(std::string(kTags), key, removed);
}

void ReplicaCluster::DoQuery(int i, size_t query, size_t page) {
  const Query& q = queries_[query];
  TraceOp(i, fmt::format("query {} pages of {}", ToString(q), page));
  if (!run_.On(Invariant::kQueries)) return;
  ++checks_run_;
  run_.Violate(invariants::CheckQuery(sim_.node_id(i), *nodes_[i]->indexed_lww(kUsers), q,
                                      sim_.env(i).clock.NowMs(), page));
}

std::optional<invariants::Violation> ReplicaCluster::CheckNode(int i, size_t page_size) {
  if (!run_.On(Invariant::kQueries) || !nodes_[i]) return std::nullopt;
  IndexedLwwMap& indexed = *nodes_[i]->indexed_lww(kUsers);
  const uint64_t now_ms = sim_.env(i).clock.NowMs();
  for (const Query& q : queries_) {
    ++checks_run_;
    if (auto v = invariants::CheckQuery(sim_.node_id(i), indexed, q, now_ms, page_size)) return v;
  }
  for (const auto& sub : subs_[i]) {
    ++checks_run_;
    if (auto v = invariants::CheckSubscription(sim_.node_id(i), indexed, *sub)) return v;
  }
  return std::nullopt;
}

void ReplicaCluster::PeriodicCheck() {
  const int i = static_cast<int>(checks_.Uniform(s_.nodes));
  sim_.trace().Record(sim_.now_ns(), sim::TraceKind::kCheck, i, -1, 0,
                      [] { return std::string("queries and subscriptions"); });
  run_.Violate(CheckNode(i, checks_.Uniform(4)));
}

std::optional<Unconverged> ReplicaCluster::Probe(bool /*full*/) {
  const std::vector<const Replica*> replicas = Replicas();
  if (replicas.size() != nodes_.size()) {
    return Unconverged{Invariant::kConvergence, "a node is still down"};
  }
  // Records are compared too, not only Merkle roots, in every probe.
  if (auto diff = invariants::CheckConvergence(replicas, 3)) {
    return Unconverged{Invariant::kConvergence, diff->detail};
  }
  return std::nullopt;
}

void ReplicaCluster::FinalChecks() {
  const Replica& first = nodes_[0]->replica();
  if (run_.On(Invariant::kLwwModel)) run_.Violate(invariants::CheckLwwModel(history_, first));
  if (run_.On(Invariant::kOrModel)) run_.Violate(invariants::CheckOrModel(history_, first));
  if (run_.On(Invariant::kPnModel)) run_.Violate(invariants::CheckPnModel(history_, first));
  for (int i = 0; i < s_.nodes && !run_.violated(); ++i) run_.Violate(CheckNode(i, 1 + i % 3));
}

}  // namespace seedgrid::scenarios
