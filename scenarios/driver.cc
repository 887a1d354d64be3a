#include "scenarios/driver.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "engine/base/assert.h"
#include "engine/base/buggify.h"
#include "engine/base/probe.h"
#include "scenarios/faults.h"
#include "scenarios/system.h"

namespace seedgrid::scenarios {

using invariants::Invariant;

void RunContext::Violate(Invariant invariant, std::string detail) {
  Record(invariants::InvariantName(invariant), std::move(detail));
}

void RunContext::Violate(std::string_view system_invariant, std::string detail) {
  const SystemSpec* system = FindSystem(scenario.system);
  const bool registered =
      system != nullptr &&
      std::any_of(system->invariants.begin(), system->invariants.end(),
                  [&](const SystemInvariant& i) { return i.name == system_invariant; });
  if (!registered) {  // A programming error in the system: the run cannot say what failed.
    std::fprintf(stderr,
                 "seedgrid: system '%s' reported invariant '%.*s', which it did not register\n",
                 scenario.system.c_str(), static_cast<int>(system_invariant.size()),
                 system_invariant.data());
    std::abort();
  }
  if (On(system_invariant)) Record(system_invariant, std::move(detail));
}

void RunContext::Record(std::string_view invariant, std::string detail) {
  if (violation_) return;
  violation_ = Failure{std::string(invariant), std::move(detail)};
  violation_time_ns_ = sim.now_ns();
  violation_event_ = sim.trace().events();
}

namespace {

// The swarm the run uses: the one given (which must be one the scenario allows), else the seed's.
SwarmDraw SwarmFor(const Scenario& s, const RunOptions& o) {
  if (!o.swarm) return DrawSwarm(s, o.seed);
  SG_ASSERT(ValidateSwarm(s, *o.swarm).ok());
  return *o.swarm;
}

}  // namespace

class Driver {
 public:
  Driver(const Scenario& s, const RunOptions& o, const ClusterFactory& make)
      : s_(s),
        o_(o),
        swarm_(SwarmFor(s, o)),
        sim_(SimOptionsFor(s, o.seed, swarm_)),
        run_(s, o.seed, swarm_, sim_) {
    if (o.trace_sink) sim_.trace().set_sink(o.trace_sink);
    sim_.trace().set_keep_log(o.keep_trace_log);
    sim_.set_observer(o.observer);
    cluster_ = make(run_, o);
    faults_ = std::make_unique<FaultInjector>(run_, *cluster_);
  }

  RunResult Go() {
    std::optional<BuggifyContext> buggify;
    if (swarm_.buggify) buggify.emplace(o_.seed ^ 0xb0661f7ULL);
    ScopedBuggify scope(buggify ? &*buggify : nullptr);
    // Crash points report to the simulator only when the swarm turned them on.
    ScopedCrashPoints crash_points(swarm_.crash_points_ppm > 0 ? &sim_.crash_point_sink()
                                                               : nullptr);
    Start();
    const auto stop = [this] { return run_.violated() || converged_; };
    if (!sim_.RunUntil(UINT64_MAX, stop) && !run_.violated()) {
      run_.Violate(Invariant::kHang,
                   fmt::format("the run used its budget of {} events before it ended (raise "
                               "events_max or shorten the scenario)",
                               s_.events_max));
    }
    if (!run_.violated() && !converged_) {
      run_.Violate(Invariant::kLiveness, "the run ended (no events left) before it converged");
    }
    if (!run_.violated() && !skip_final_) cluster_->FinalChecks();
    RunResult r = Result();
    if (buggify) {
      for (const auto& [site, st] : buggify->sites()) {
        if (st.enabled) r.buggify_sites.push_back(site);
        r.buggify_fired += st.fired;
      }
    }
    faults_.reset();
    cluster_->Shutdown();  // Nodes go before the simulator.
    return r;
  }

 private:
  uint64_t safety_end_ns() const { return s_.duration_ms * kNsPerMs; }

  void Start() {
    sim_.SetNodeCallbacks([this](int i) { cluster_->StartNode(i); },
                          [this](int i) { cluster_->StopNode(i); });
    sim_.SetFaultRates(
        sim::NetworkFaultRates{swarm_.loss_ppm, swarm_.duplicate_ppm, swarm_.reorder_ppm});
    sim_.StartAll();
    sim_.trace().Record(0, sim::TraceKind::kPhase, -1, -1, 1,
                        [this] { return fmt::format("safety ({})", cluster_->SafetyText()); });
    cluster_->ScheduleWorkload();
    faults_->ScheduleAll();
    sim_.At(s_.check_interval_ms * kNsPerMs, [this] { PeriodicCheck(); });
    sim_.At(safety_end_ns(), [this] { StartLiveness(); });
  }

  void PeriodicCheck() {
    if (run_.liveness() || run_.violated()) return;
    cluster_->PeriodicCheck();
    sim_.At(sim_.now_ns() + s_.check_interval_ms * kNsPerMs, [this] { PeriodicCheck(); });
  }

  void StartLiveness() {
    run_.liveness_ = true;
    sim_.trace().Record(sim_.now_ns(), sim::TraceKind::kPhase, -1, -1, 2,
                        [] { return std::string("liveness: faults healed and stopped"); });
    sim_.HealAll();
    sim_.EndPauses();
    sim_.SetFaultRates({});
    for (int i = 0; i < sim_.nodes(); ++i) {
      if (!sim_.alive(i) && cluster_->RestartsForLiveness(i)) sim_.Restart(i);
    }
    faults_->StopAll();
    cluster_->BeginLiveness();
    ProbeConvergence();
  }

  void ProbeConvergence() {
    if (run_.violated() || converged_) return;
    const std::optional<Unconverged> issue = cluster_->Probe(/*full=*/false);
    if (!issue) {
      converged_at_ns_ = sim_.now_ns();
      progress_at_convergence_ = cluster_->Progress();
      sim_.trace().Record(sim_.now_ns(), sim::TraceKind::kPhase, -1, -1, 3,
                          [] { return std::string("converged"); });
      // Quiescence: every message already in flight (clogged, reordered, held by a pause)
      // arrives, plus the cluster's rounds; the cluster must still agree.
      const uint64_t horizon = std::max(sim_.latest_delivery_ns(), sim_.now_ns()) +
                               cluster_->QuiescenceWaitMs() * kNsPerMs + kNsPerMs;
      sim_.At(horizon, [this] { CheckQuiescent(); });
      return;
    }
    const uint64_t deadline = (s_.duration_ms + s_.liveness_ms) * kNsPerMs;
    if (sim_.now_ns() >= deadline) {
      if (run_.On(Invariant::kLiveness)) {
        run_.Violate(
            Invariant::kLiveness,
            fmt::format("the cluster did not converge within {} ms after the heal ({}): {}",
                        s_.liveness_ms, issue->name(), issue->detail));
      } else {
        converged_ = true;  // Not checked: end the run and skip the final checks.
        skip_final_ = true;
      }
      return;
    }
    sim_.At(std::min(sim_.now_ns() + 100 * kNsPerMs, deadline), [this] { ProbeConvergence(); });
  }

  void CheckQuiescent() {
    if (run_.violated()) return;
    const std::optional<Unconverged> issue = cluster_->Probe(/*full=*/true);
    if (issue && cluster_->Progress() != progress_at_convergence_) {
      // Still legitimately changing (e.g. tombstone GC): progress, not divergence.
      sim_.At(sim_.now_ns() + 100 * kNsPerMs, [this] { ProbeConvergence(); });
      return;
    }
    const bool checked = issue && (issue->system_invariant.empty()
                                       ? run_.On(issue->invariant)
                                       : run_.On(std::string_view(issue->system_invariant)));
    if (checked) {
      run_.Record(issue->name(),
                  fmt::format("converged at {} ms into the liveness phase but not {} ms later, "
                              "after the messages in flight arrived: {}",
                              (converged_at_ns_ - safety_end_ns()) / kNsPerMs,
                              (sim_.now_ns() - converged_at_ns_) / kNsPerMs, issue->detail));
      return;
    }
    converged_ = true;
  }

  RunResult Result() {
    RunResult r;
    r.pass = !run_.violated();
    if (run_.violation_) {
      r.violation = RunViolation{run_.violation_->invariant, run_.violation_->detail,
                                 run_.violation_time_ns_, run_.violation_event_};
    }
    r.swarm = swarm_;
    r.trace_hash = sim_.trace().hash();
    r.events = sim_.trace().events();
    r.sim_events = sim_.stats().events;
    r.messages = sim_.stats().messages_delivered;
    r.virtual_ms = sim_.now_ns() / kNsPerMs;
    r.ops = cluster_->ops();
    r.ops_generated = run_.op_schedule.generated();
    r.ops_dropped = run_.op_schedule.dropped();
    r.faults_generated = run_.fault_schedule.generated();
    r.faults_dropped = run_.fault_schedule.dropped();
    r.checks = cluster_->checks();
    r.converged_after_ms = converged_ ? (converged_at_ns_ - safety_end_ns()) / kNsPerMs : 0;
    r.stats = sim_.stats();
    if (o_.keep_trace_log) r.trace_log = sim_.trace().log();
    return r;
  }

  const Scenario& s_;
  const RunOptions& o_;
  SwarmDraw swarm_;
  sim::Simulator sim_;
  RunContext run_;
  std::unique_ptr<Cluster> cluster_;
  std::unique_ptr<FaultInjector> faults_;
  bool converged_ = false;
  bool skip_final_ = false;
  uint64_t converged_at_ns_ = 0;
  uint64_t progress_at_convergence_ = 0;
};

RunResult DriveRun(const Scenario& scenario, const RunOptions& options,
                   const ClusterFactory& make_cluster) {
  // Probes count from the cluster's construction to the end of the run, on this thread only.
  ProbeContext probes;
  ScopedProbes probe_scope(&probes);
  RunResult result = Driver(scenario, options, make_cluster).Go();
  result.probes = probes.Hits();
  return result;
}

}  // namespace seedgrid::scenarios
