#include "scenarios/runner.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <memory>

#include "engine/base/assert.h"
#include "engine/base/buggify.h"
#include "engine/base/strings.h"
#include "engine/replica/replica_node.h"
#include "invariants/convergence.h"
#include "invariants/history.h"
#include "invariants/query_check.h"
#include "scenarios/faults.h"
#include "scenarios/grid_runner.h"
#include "sim/random.h"

namespace seedgrid::scenarios {

namespace {

constexpr uint64_t kNsPerMs = 1'000'000;
constexpr std::string_view kUsers = "users";
constexpr std::string_view kTags = "tags";
constexpr std::string_view kVisits = "visits";
constexpr const char* kCities[] = {"Oslo", "Rome", "Lima", "Kyiv", "Pune", "Quito"};

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

// Always consumes exactly two draws, whatever the range, so editing one kind's range (or turning
// it off, as shrinking does) never moves another kind's draw. Ranges are at most 10^6 wide, so the
// modulo bias is below 2^-44.
}  // namespace

uint32_t DrawRate(Random& r, const Range& range) {
  const bool coin = r.Uniform(2) == 0;
  const uint64_t word = r.Next64();
  if (range.hi <= 0) return 0;
  if (range.lo <= 0 && coin) return 0;  // Off for about half the seeds.
  const uint64_t lo = static_cast<uint64_t>(std::max<int64_t>(range.lo, 1));
  const uint64_t span = static_cast<uint64_t>(range.hi) - lo + 1;
  return static_cast<uint32_t>(lo + word % span);
}

namespace {

uint64_t Digest(std::string_view text) { return XXH3_64bits(text.data(), text.size()); }

class Run {
 public:
  Run(const Scenario& s, const RunOptions& o)
      : s_(s),
        o_(o),
        swarm_(DrawSwarm(s, o.seed)),
        sim_(SimOptions(s, o.seed)),
        queries_(CheckedQueries()),
        hlc_(s.nodes),
        workload_(sim::Substream(o.seed, "workload")),
        checks_(sim::Substream(o.seed, "checks")) {
    for (int i = 0; i < s.nodes; ++i) {
      node_random_.push_back(sim::Substream(o.seed, fmt::format("workload/n{}", i)));
    }
    nodes_.resize(s.nodes);
    subs_.resize(s.nodes);
    if (o.trace_sink) sim_.trace().set_sink(o.trace_sink);
    sim_.trace().set_keep_log(o.keep_trace_log);
  }

  RunResult Go() {
    std::optional<BuggifyContext> buggify;
    if (swarm_.buggify) buggify.emplace(o_.seed ^ 0xb0661f7ULL);
    ScopedBuggify scope(buggify ? &*buggify : nullptr);

    sim_.SetNodeCallbacks([this](int i) { StartNode(i); }, [this](int i) { StopNode(i); });
    sim_.SetFaultRates(
        sim::NetworkFaultRates{swarm_.loss_ppm, swarm_.duplicate_ppm, swarm_.reorder_ppm});
    sim_.StartAll();
    sim_.trace().Record(0, sim::TraceKind::kPhase, -1, -1, 1, [] { return std::string("safety"); });

    const uint64_t safety_end = s_.duration_ms * kNsPerMs;
    if (s_.ops_per_sec > 0) ScheduleNextOp();
    faults_.ScheduleAll();
    sim_.At(s_.check_interval_ms * kNsPerMs, [this] { PeriodicCheck(); });
    sim_.At(safety_end, [this] { StartLiveness(); });

    // The convergence probe ends the run: converged and still converged after quiescence, or a
    // liveness violation at the bound. The event budget is the backstop.
    const auto stop = [this] { return violation_.has_value() || converged_; };
    bool budget_ok = sim_.RunUntil(UINT64_MAX, stop);
    if (!budget_ok && !violation_) {
      Violate("event-budget", fmt::format("the run used its budget of {} events before it ended "
                                          "(raise events_max or shorten the scenario)",
                                          s_.events_max));
    }
    if (!violation_ && !converged_) {
      Violate("liveness", "the run ended (no events left) before the replicas converged");
    }
    if (!violation_ && !skip_final_) FinalChecks();

    RunResult r;
    r.pass = !violation_.has_value();
    r.violation = violation_;
    r.swarm = swarm_;
    r.trace_hash = sim_.trace().hash();
    r.events = sim_.trace().events();
    r.sim_events = sim_.stats().events;
    r.messages = sim_.stats().messages_delivered;
    r.virtual_ms = sim_.now_ns() / kNsPerMs;
    r.ops = history_.ops();
    r.checks = checks_run_ + hlc_.checked();
    r.converged_after_ms = converged_ ? (converged_at_ns_ - safety_end) / kNsPerMs : 0;
    r.stats = sim_.stats();
    if (buggify) {
      for (const auto& [site, st] : buggify->sites()) {
        if (st.enabled) r.buggify_sites.push_back(site);
        r.buggify_fired += st.fired;
      }
    }
    if (o_.keep_trace_log) r.trace_log = sim_.trace().log();
    nodes_.clear();  // Destroy nodes (and their subscriptions) before the simulator.
    subs_.clear();
    return r;
  }

 private:
  static sim::SimulatorOptions SimOptions(const Scenario& s, uint64_t seed) {
    sim::SimulatorOptions o{.seed = seed, .nodes = s.nodes, .clocks = DrawClocks(s, seed)};
    o.latency_min_lo_ns = static_cast<uint64_t>(s.latency_min_us.lo) * 1000;
    o.latency_min_hi_ns = static_cast<uint64_t>(s.latency_min_us.hi) * 1000;
    o.latency_tail_mean_ns = s.latency_tail_mean_us * 1000;
    o.events_max = s.events_max;
    return o;
  }

  bool On(std::string_view invariant) const { return s_.invariants.contains(ToAbsl(invariant)); }

  void Violate(std::string invariant, std::string detail) {
    if (violation_) return;
    violation_ =
        RunViolation{std::move(invariant), std::move(detail), sim_.now_ns(), sim_.trace().events()};
  }
  void Violate(const std::optional<invariants::Violation>& v) {
    if (v) Violate(v->invariant, v->detail);
  }

  // --- Nodes.
  void StartNode(int i) {
    ReplicaNodeOptions o{.replica = {.node_id = sim_.node_id(i)},
                         .peers = sim_.node_ids(),
                         .flush_interval_ms = s_.flush_interval_ms,
                         .anti_entropy_interval_ms = s_.anti_entropy_interval_ms,
                         .anti_entropy_fanout = s_.anti_entropy_fanout,
                         .indexes = {{std::string(kUsers), IndexKind::kHash, {"city"}},
                                     {std::string(kUsers), IndexKind::kNavigable, {"age"}}},
                         .events = [this, i](const events::NodeEvent& e) {
                           if (const auto* m = std::get_if<events::TimestampMerged>(&e))
                             hlc_.OnReceived(i, m->ts);
                         }};
    hlc_.OnRestart(i);
    absl::StatusOr<std::unique_ptr<ReplicaNode>> node = ReplicaNode::Open(sim_.env(i), o);
    if (!node.ok()) {
      Violate("durability", fmt::format("n{} could not restart from its storage: {}", i,
                                        node.status().message()));
      return;
    }
    nodes_[i] = std::move(*node);
    Replica& r = nodes_[i]->replica();
    r.lww(kUsers);
    r.orm(kTags);
    r.counter(kVisits);
    IndexedLwwMap* indexed = nodes_[i]->indexed_lww(kUsers);
    SG_ASSERT(indexed != nullptr);
    for (int q = 0; q < s_.subscriptions_per_node; ++q) {
      auto sub = std::make_unique<invariants::ReplayedSubscription>();
      sub->query = queries_[q % queries_.size()];
      invariants::ReplayedSubscription* raw = sub.get();
      absl::StatusOr<QueryEngine::Subscription> s =
          indexed->Subscribe(sub->query, [raw](const LiveDelta& d) {
            ++raw->deltas;
            const std::string key(d.row.key);
            if (d.kind == DeltaKind::kEnter && !raw->keys.insert(key).second) {
              raw->error = fmt::format("ENTER of '{}', which was already in the result", key);
            }
            if (d.kind == DeltaKind::kLeave && raw->keys.erase(key) == 0) {
              raw->error = fmt::format("LEAVE of '{}', which was not in the result", key);
            }
            if (d.kind == DeltaKind::kUpdate && !raw->keys.contains(key)) {
              raw->error = fmt::format("UPDATE of '{}', which was not in the result", key);
            }
          });
      SG_ASSERT(s.ok());
      sub->id = s->id;
      for (const RowRef& row : s->initial) sub->keys.emplace(row.key);
      subs_[i].push_back(std::move(sub));
    }
    if (o_.on_node_start) o_.on_node_start(i, *nodes_[i]);
  }

  void StopNode(int i) {
    nodes_[i].reset();
    subs_[i].clear();
  }

  std::vector<const Replica*> Replicas() const {
    std::vector<const Replica*> out;
    for (const auto& n : nodes_) {
      if (n) out.push_back(&n->replica());
    }
    return out;
  }

  // --- Workload.
  void ScheduleNextOp() {
    const uint64_t gap = sim::Exponential(workload_, 1'000'000'000 / s_.ops_per_sec);
    const uint64_t at = sim_.now_ns() + std::max<uint64_t>(gap, 1);
    if (at >= s_.duration_ms * kNsPerMs) return;
    sim_.At(at, [this] {
      DoOp(static_cast<int>(workload_.Uniform(s_.nodes)));
      ScheduleNextOp();
    });
  }

  void TraceOp(int i, const std::string& text) {
    sim_.trace().Record(sim_.now_ns(), sim::TraceKind::kOp, i, -1, Digest(text),
                        [&] { return text; });
  }

  void CheckLocal(int i, const Timestamp& ts) {
    if (On("hlc")) Violate(hlc_.OnLocal(i, ts));
  }

  void DoOp(int i) {
    if (!nodes_[i] || sim_.paused(i)) return;  // Down or paused: the client's call fails.
    ReplicaNode& node = *nodes_[i];
    Random& r = node_random_[i];
    const std::string key = fmt::format("k{}", r.Uniform(static_cast<uint64_t>(s_.keys)));
    uint64_t pick = r.Uniform(s_.mix.total());
    const auto take = [&pick](uint32_t weight) {
      if (pick < weight) return true;
      pick -= weight;
      return false;
    };
    if (take(s_.mix.lww_set)) {
      Document doc{{"city", kCities[r.Uniform(std::size(kCities))]},
                   {"age", static_cast<int64_t>(r.Uniform(100))},
                   {"by", sim_.node_id(i)}};
      const Timestamp ts = node.Set(kUsers, key, doc).value;
      TraceOp(i, fmt::format("set users {} {} {}", key, doc.ToString(), ts.ToString()));
      CheckLocal(i, ts);
      history_.LwwWrite(std::string(kUsers), key, ts, std::move(doc));
    } else if (take(s_.mix.lww_remove)) {
      const Timestamp ts = node.Remove(kUsers, key).value;
      TraceOp(i, fmt::format("remove users {} {}", key, ts.ToString()));
      CheckLocal(i, ts);
      history_.LwwWrite(std::string(kUsers), key, ts, std::nullopt);
    } else if (take(s_.mix.or_add)) {
      Document doc{{"tag", fmt::format("t{}", r.Uniform(4))}};
      const Timestamp tag = node.Add(kTags, key, doc).value;
      TraceOp(i, fmt::format("add tags {} {} {}", key, doc.ToString(), tag.ToString()));
      CheckLocal(i, tag);
      history_.OrAdd(std::string(kTags), key, tag, std::move(doc));
    } else if (take(s_.mix.or_remove)) {
      const Document doc{{"tag", fmt::format("t{}", r.Uniform(4))}};
      const std::vector<Timestamp> removed = node.RemoveValue(kTags, key, doc).value;
      TraceOp(i, fmt::format("remove tags {} {} ({} tags)", key, doc.ToString(), removed.size()));
      history_.OrRemove(std::string(kTags), key, removed);
    } else if (take(s_.mix.counter)) {
      const uint64_t by = 1 + r.Uniform(3);
      if (node.Increment(kVisits, by).ok()) {
        TraceOp(i, fmt::format("increment visits {}", by));
        history_.CounterAdd(std::string(kVisits), static_cast<int64_t>(by));
      }
    } else {
      const Query& q = queries_[r.Uniform(queries_.size())];
      const size_t page = r.Uniform(4);  // 0: one page; else pages of 1..3 rows via cursors
      TraceOp(i, fmt::format("query {} pages of {}", ToString(q), page));
      if (On("queries")) {
        ++checks_run_;
        Violate(invariants::CheckQuery(sim_.node_id(i), *node.indexed_lww(kUsers), q,
                                       sim_.env(i).clock.NowMs(), page));
      }
    }
  }

  // --- Checks.
  std::optional<invariants::Violation> CheckNode(int i, size_t page_size) {
    if (!On("queries") || !nodes_[i]) return std::nullopt;
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

  void PeriodicCheck() {
    if (liveness_) return;
    const int i = static_cast<int>(checks_.Uniform(s_.nodes));
    sim_.trace().Record(sim_.now_ns(), sim::TraceKind::kCheck, i, -1, 0,
                        [] { return std::string("queries and subscriptions"); });
    Violate(CheckNode(i, checks_.Uniform(4)));
    sim_.At(sim_.now_ns() + s_.check_interval_ms * kNsPerMs, [this] { PeriodicCheck(); });
  }

  void StartLiveness() {
    liveness_ = true;
    sim_.trace().Record(sim_.now_ns(), sim::TraceKind::kPhase, -1, -1, 2,
                        [] { return std::string("liveness: faults healed and stopped"); });
    sim_.HealAll();
    sim_.EndPauses();
    sim_.SetFaultRates({});
    for (int i = 0; i < s_.nodes; ++i) {
      if (!sim_.alive(i)) sim_.Restart(i);
    }
    ProbeConvergence();
  }

  void ProbeConvergence() {
    if (violation_ || converged_) return;
    std::vector<const Replica*> replicas = Replicas();
    std::optional<invariants::Violation> diff;
    if (replicas.size() == nodes_.size()) diff = invariants::CheckConvergence(replicas, 3);
    if (replicas.size() == nodes_.size() && !diff) {
      converged_at_ns_ = sim_.now_ns();
      sim_.trace().Record(sim_.now_ns(), sim::TraceKind::kPhase, -1, -1, 3,
                          [] { return std::string("converged"); });
      // Quiescence: let every message already in flight (clogged, reordered, held by a pause)
      // arrive, plus two anti-entropy rounds; the replicas must still agree.
      const uint64_t horizon = std::max(sim_.latest_delivery_ns(), sim_.now_ns()) +
                               2 * s_.anti_entropy_interval_ms * kNsPerMs + kNsPerMs;
      sim_.At(horizon, [this] { CheckQuiescent(); });
      return;
    }
    const uint64_t deadline = (s_.duration_ms + s_.liveness_ms) * kNsPerMs;
    if (sim_.now_ns() >= deadline) {
      if (On("liveness")) {
        Violate("liveness", fmt::format("replicas did not converge within {} ms after the heal{}",
                                        s_.liveness_ms,
                                        diff ? ": " + diff->detail : " (a node is still down)"));
      } else {
        converged_ = true;  // Not checked: end the run and skip the final model checks.
        skip_final_ = true;
      }
      return;
    }
    sim_.At(std::min(sim_.now_ns() + 100 * kNsPerMs, deadline), [this] { ProbeConvergence(); });
  }

  // The `convergence` invariant: still converged once everything in flight has landed. (The final
  // checks follow at once, with no event in between, so they need not compare replicas again.)
  void CheckQuiescent() {
    if (violation_) return;
    if (!On("convergence")) {
      converged_ = true;
      return;
    }
    if (auto v = invariants::CheckConvergence(Replicas(), 3)) {
      Violate("convergence",
              fmt::format("replicas agreed at {} ms into the liveness phase but disagree {} ms "
                          "later, after the messages in flight arrived: {}",
                          (converged_at_ns_ - s_.duration_ms * kNsPerMs) / kNsPerMs,
                          (sim_.now_ns() - converged_at_ns_) / kNsPerMs, v->detail));
      return;
    }
    converged_ = true;
  }

  void FinalChecks() {
    const Replica& first = nodes_[0]->replica();
    if (On("lww_model")) Violate(invariants::CheckLwwModel(history_, first));
    if (On("or_model")) Violate(invariants::CheckOrModel(history_, first));
    if (On("pn_model")) Violate(invariants::CheckPnModel(history_, first));
    for (int i = 0; i < s_.nodes && !violation_; ++i) Violate(CheckNode(i, 1 + i % 3));
  }

  const Scenario& s_;
  const RunOptions& o_;
  SwarmDraw swarm_;
  sim::Simulator sim_;
  std::vector<Query> queries_;
  invariants::History history_;
  invariants::HlcMonitor hlc_;
  Xoshiro256 workload_;
  Xoshiro256 checks_;
  std::vector<Xoshiro256> node_random_;
  // Declared before nodes_ so it is destroyed after them (subscription callbacks point into it).
  std::vector<std::vector<std::unique_ptr<invariants::ReplayedSubscription>>> subs_;
  std::vector<std::unique_ptr<ReplicaNode>> nodes_;
  std::optional<RunViolation> violation_;
  bool liveness_ = false;
  bool converged_ = false;
  bool skip_final_ = false;
  uint64_t converged_at_ns_ = 0;
  uint64_t checks_run_ = 0;
  FaultInjector faults_{sim_, s_, swarm_, o_.seed, liveness_};
};

}  // namespace

std::string SwarmDraw::ToString() const {
  return fmt::format(
      "loss={}ppm dup={}ppm reorder={}ppm partitions={}/min crashes={}/min pauses={}/min "
      "clock_steps={}/min clogs={}/min buggify={}",
      loss_ppm, duplicate_ppm, reorder_ppm, partitions_per_min, crashes_per_min, pauses_per_min,
      clock_steps_per_min, clogs_per_min, buggify ? "on" : "off");
}

std::vector<sim::NodeClockParams> DrawClocks(const Scenario& s, uint64_t seed) {
  Xoshiro256 clocks = sim::Substream(seed, "clocks");
  std::vector<sim::NodeClockParams> out;
  for (int i = 0; i < s.nodes; ++i) {
    // Two statements: the order of the two draws must not be left to the compiler.
    const int64_t offset = sim::SignedIn(clocks, s.clock_offset_ms.lo, s.clock_offset_ms.hi);
    const int64_t drift = sim::SignedIn(clocks, s.clock_drift_ppm.lo, s.clock_drift_ppm.hi);
    out.push_back({offset, drift});
  }
  return out;
}

SwarmDraw DrawSwarm(const Scenario& s, uint64_t seed) {
  Xoshiro256 r = sim::Substream(seed, "swarm");
  SwarmDraw d;
  d.loss_ppm = DrawRate(r, s.swarm.loss_ppm);
  d.duplicate_ppm = DrawRate(r, s.swarm.duplicate_ppm);
  d.reorder_ppm = DrawRate(r, s.swarm.reorder_ppm);
  d.partitions_per_min = DrawRate(r, s.swarm.partitions_per_min);
  d.crashes_per_min = DrawRate(r, s.swarm.crashes_per_min);
  d.pauses_per_min = DrawRate(r, s.swarm.pauses_per_min);
  d.clock_steps_per_min = DrawRate(r, s.swarm.clock_steps_per_min);
  d.clogs_per_min = DrawRate(r, s.swarm.clogs_per_min);
  const bool buggify_coin = r.Uniform(2) == 0;  // Drawn even when the scenario disables it.
  d.buggify = s.swarm.buggify && buggify_coin;
  return d;
}

RunResult RunScenario(const Scenario& scenario, const RunOptions& options) {
  if (scenario.grid) return RunGridScenario(scenario, options);
  Run run(scenario, options);
  return run.Go();
}

}  // namespace seedgrid::scenarios
