// `seedgrid run --profile`: where a run's wall time goes, by node kind and event — each message
// type a node kind receives, its timers, and the owner's tasks (workload, faults, checks) — so a
// user can see why a scenario is slow.
//
// Contract:
// - RunProfile is the run's sim::DispatchObserver (RunOptions::observer). It reads the steady
//   clock around each dispatched event; nothing it measures reaches the simulation, so a profiled
//   run has the same trace hash as any other.
// - A row's time is the handler's own wall time: the event's engine work, the checkers it
//   feeds and the messages it sends; "outside events" is the rest of the run (setup, the
//   simulator's own queue and network work, end checks).
// - Json() orders rows by time, largest first (ties by name), then "outside events"; it is
//   deterministic given the measurements. ProfileTable() renders it for the report.
#ifndef SEEDGRID_TOOLS_SEEDGRID_PROFILE_H_
#define SEEDGRID_TOOLS_SEEDGRID_PROFILE_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>

#include "scenarios/scenario.h"
#include "sim/simulator.h"

namespace seedgrid::tools {

class RunProfile final : public sim::DispatchObserver {
 public:
  explicit RunProfile(const scenarios::Scenario& scenario) : scenario_(scenario) {}

  void Enter() override;
  void Leave(Kind kind, int node, std::string_view bytes) override;

  // {"wall_ms", "virtual_ms", "rows": [{"node", "event", "count", "wall_ms"}, ...]} for a run of
  // `wall_ms` that simulated `virtual_ms`.
  nlohmann::json Json(double wall_ms, uint64_t virtual_ms) const;

  struct Row {
    uint64_t count = 0;
    double wall_ms = 0;
  };
  // (node kind, event) -> totals; node kind is "server", "client", "replica" or "owner".
  const std::map<std::pair<std::string, std::string>, Row>& rows() const { return rows_; }

 private:
  std::string_view NodeKind(int node) const;

  const scenarios::Scenario& scenario_;
  std::chrono::steady_clock::time_point entered_;
  std::map<std::pair<std::string, std::string>, Row> rows_;
};

// The report's table of a RunProfile::Json() object.
std::string ProfileTable(const nlohmann::json& profile);

// The message type of wire bytes ("GridOps", "Heartbeat", ...), or "?" when they do not verify.
std::string_view MessageTypeOf(std::string_view bytes);

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_PROFILE_H_
