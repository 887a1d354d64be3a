// Scenario files: what a simulated run does. JSON (see docs/scenarios.md for every field).
//
// A scenario fixes the cluster (node count, replication timers), the workload (rate, key space,
// operation mix, live subscriptions), the network (per-link latency), clock skew ranges, the
// swarm ranges from which each seed draws which fault kinds are on and how often, fixed fault
// events at given times, the invariants to check, and the phase lengths: a safety phase of
// `duration_ms` (workload and faults) and a liveness phase (faults healed and stopped, network
// reliable, clocks still skewed) that must converge within `liveness_ms`.
//
// Parsing is strict: an unknown field, a wrong type or a value out of range is an error naming
// the file, line, column and field path ("bench.json:12:5: network.latency_min_us: ...").
#ifndef SEEDGRID_SCENARIOS_SCENARIO_H_
#define SEEDGRID_SCENARIOS_SCENARIO_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/status/statusor.h"
#include "invariants/invariant.h"
#include "scenarios/schedule.h"
#include "sim/latency.h"

namespace seedgrid::scenarios {

struct Range {
  int64_t lo = 0;
  int64_t hi = 0;
  friend bool operator==(const Range&, const Range&) = default;
};

// One fixed fault at a given time of the safety phase.
struct FaultEvent {
  enum class Kind {
    kSplit,      // `nodes` <-> everyone else
    kIsolate,    // `node` <-> everyone else
    kOneWay,     // `from` -> `to` blocked (nodes lists), the other direction works
    kBridge,     // `left` and `right` cannot talk; `node` talks to both
    kHeal,       // every partition and clog is lifted
    kCrash,      // `node` crashes
    kRestart,    // `node` restarts from its storage (with `clock_behind_ms`: clock behind)
    kPause,      // `node` stops processing for `duration_ms`
    kClockStep,  // `node`'s clock jumps by `delta_ms`
    kClog,       // link `from[0]` -> `to[0]` holds messages for `duration_ms`
    kPowerLoss,  // every server (replica runs: every node) crashes at once; all restart after
                 // `duration_ms`
    kZoneLoss,   // every node of `zone` (servers and clients) crashes at once; all restart after
                 // `duration_ms`
  };
  uint64_t at_ms = 0;
  Kind kind = Kind::kHeal;
  int node = -1;
  int zone = -1;
  std::vector<int> nodes, from, to, left, right;
  uint64_t duration_ms = 0;
  int64_t delta_ms = 0;
  // kRestart only; > 0: the node comes back with its clock this far below the last timestamp it
  // issued (an NTP step after a reboot; faults.h).
  uint64_t clock_behind_ms = 0;
  friend bool operator==(const FaultEvent&, const FaultEvent&) = default;
};
std::string_view FaultKindName(FaultEvent::Kind kind);

// A class of network links: each link's minimum latency is drawn once from `latency_min_us`, and
// every message adds a tail of mean `latency_tail_mean_us` and shape `tail` (sim/latency.h).
struct LinkClass {
  Range latency_min_us{200, 2000};
  uint64_t latency_tail_mean_us = 1000;
  sim::TailKind tail = sim::TailKind::kExponential;
  uint32_t tail_shape_milli = 0;  // lognormal sigma / pareto alpha, x1000
  friend bool operator==(const LinkClass&, const LinkClass&) = default;
};

struct OpMix {  // relative weights
  uint32_t lww_set = 40, lww_remove = 10, or_add = 20, or_remove = 10, counter = 10, query = 10;
  uint32_t total() const { return lww_set + lww_remove + or_add + or_remove + counter + query; }
  friend bool operator==(const OpMix&, const OpMix&) = default;
};

struct Swarm {  // ranges; a range with lo == 0 is on for about half the seeds
  Range loss_ppm, duplicate_ppm, reorder_ppm;
  Range partitions_per_min, crashes_per_min, pauses_per_min, clock_steps_per_min, clogs_per_min;
  // Correlated failures (FaultEvent kPowerLoss, kZoneLoss at Poisson times).
  Range power_losses_per_min, zone_losses_per_min;
  Range clock_step_ms{-5000, 5000};
  Range fault_duration_ms{500, 5000};
  // Share (%) of swarm crashes whose restart comes back with the clock behind the node's last
  // issued timestamp, by a margin drawn from `clock_behind_ms`.
  Range restart_clock_behind_pct;
  Range clock_behind_ms{1, 5000};
  bool buggify = true;  // SG_BUGGIFY sites active (each on for 1/4 of seeds)
  // Crash points (SG_CRASH_POINT): the chance, in parts per million, that a crash point the
  // running node reaches crashes it there (then it restarts after fault_duration_ms).
  Range crash_points_ppm;
  friend bool operator==(const Swarm&, const Swarm&) = default;
};

// A grid scenario (present: the run simulates GridServers and GridClients instead of peer
// replica nodes). Node indexes: servers 0..servers-1, then one per join, then the clients.
struct GridLeave {
  uint64_t at_ms = 0;
  int server = 0;
  friend bool operator==(const GridLeave&, const GridLeave&) = default;
};

struct GridConfig {
  int servers = 3;
  std::vector<uint64_t> joins_at_ms;  // each adds one server at that time
  std::vector<GridLeave> leaves;      // graceful leaves
  int clients = 10;
  // Clients form groups; group g shares the map "users<g>" (the only map its clients use and
  // sync), so per-client traffic scales with the group, not the whole grid.
  int client_groups = 1;
  uint32_t backup_count = 1;
  uint64_t heartbeat_interval_ms = 100;
  uint64_t suspect_after_ms = 1000;
  uint64_t anti_entropy_interval_ms = 500;
  uint64_t retry_interval_ms = 200;
  uint64_t client_push_interval_ms = 100;
  uint64_t client_sync_interval_ms = 1000;
  uint64_t client_timeout_ms = 1500;
  // Tombstone GC: servers prune tombstones this much older than every server's clock, once
  // membership has been stable this long (GridServerOptions::tombstone_grace_ms).
  uint64_t tombstone_grace_ms = 3000;
  // Write-concern weights of client writes.
  uint32_t fire_and_forget = 1, applied = 2, replicated = 2;
  // Client churn (swarm ranges: lo == 0 is on for about half the seeds): offline periods per
  // minute across all clients, and their length.
  Range offline_per_min{0, 0};
  Range offline_ms{1000, 10000};
  uint32_t client_crash_pct = 50;  // share of swarm crashes that hit a client, not a server
  // Transports (GridClient "Transport"): the first http_client_pct % of the clients sync only by
  // HTTP sync; the next switching_client_pct % switch between WebSocket and HTTP at intervals
  // drawn from transport_switch_ms; the rest use WebSocket.
  uint32_t http_client_pct = 0;
  uint32_t switching_client_pct = 0;
  Range transport_switch_ms{1000, 5000};
  uint32_t disk_loss_pct = 0;  // share of server restarts on a replaced (empty) disk
  bool torn_writes = true;     // a crash may tear the last unsynced write (half the seeds)
  // Storage errors (swarm range, parts per million of writes and of syncs on every node; lo == 0
  // is on for about half the seeds): SimStorage fails a write or a sync at the drawn rate.
  Range storage_errors_ppm{0, 0};
  int nodes() const { return servers + static_cast<int>(joins_at_ms.size()) + clients; }
  friend bool operator==(const GridConfig&, const GridConfig&) = default;
};

// A regression test (the file's "regression" section): the run is exactly this seed, and the
// expectation is that it passes — the bug it once found is fixed. The other fields say where it
// came from; they do not change the run.
struct Regression {
  uint64_t seed = 0;
  std::string invariant;  // the invariant the seed violated when the test was made
  std::string found_by;   // e.g. the repro file that was shrunk
  std::string commit;     // the commit that failed
  friend bool operator==(const Regression&, const Regression&) = default;
};

struct Scenario {
  std::string name;
  std::string description;
  int nodes = 5;
  uint64_t duration_ms = 20'000;
  uint64_t liveness_ms = 60'000;
  // workload
  uint64_t ops_per_sec = 100;
  int keys = 100;
  OpMix mix;
  int subscriptions_per_node = 2;
  // replication
  uint64_t flush_interval_ms = 50;
  uint64_t anti_entropy_interval_ms = 500;
  int anti_entropy_fanout = 1;
  // network and clocks
  Range latency_min_us{200, 2000};
  uint64_t latency_tail_mean_us = 1000;
  sim::TailKind latency_tail = sim::TailKind::kExponential;
  uint32_t latency_tail_shape_milli = 0;
  // Links between nodes of different zones (see `zones`): regions far apart.
  std::optional<LinkClass> cross_zone;
  Range clock_offset_ms{-2000, 2000};
  Range clock_drift_ppm{-200, 200};
  Swarm swarm;
  // Failure zones (racks, regions): node i of a replica run is in zone i % zones; on a grid,
  // server i is in zone i % zones and client c in zone c % zones. A zone loss crashes a zone.
  int zones = 1;
  std::vector<FaultEvent> faults;
  std::optional<GridConfig> grid;
  absl::btree_set<invariants::Invariant> invariants;  // default: all (of the run's kind)
  // A registered system (system.h) instead of the built-in replica or grid run ("": built-in).
  // Its "params" object as canonical JSON text ("{}" when absent), and the system's invariants
  // the run checks (default: all it registers; `invariants` then holds at most liveness).
  std::string system;
  std::string params_json = "{}";
  absl::btree_set<std::string, std::less<>> system_invariants;
  uint64_t check_interval_ms = 1000;
  uint64_t events_max = 100'000'000;
  ScheduleDrops schedule;                // items of the generated schedule not applied
  std::optional<Regression> regression;  // present: a regression test with a fixed seed
  // A grid's servers (initial and joining); every node of a replica run.
  bool IsServerNode(int node) const {
    return !grid || node < grid->servers + static_cast<int>(grid->joins_at_ms.size());
  }
  // The failure zone of `node` (see `zones`).
  int ZoneOf(int node) const {
    const int servers = grid ? grid->servers + static_cast<int>(grid->joins_at_ms.size()) : nodes;
    return (node < servers ? node : node - servers) % zones;
  }
  friend bool operator==(const Scenario&, const Scenario&) = default;
};

// `file` names the source in errors. InvalidArgument "file:line:col: path: what" on any error.
absl::StatusOr<Scenario> ParseScenario(std::string_view text, std::string_view file);
// The scenario as JSON text (every field written out) that ParseScenario reads back to an equal
// scenario. Used by shrinking to save the shrunk scenario inside a repro file.
std::string ScenarioToJson(const Scenario& scenario);

// Reads and parses a file; NotFound when it cannot be read.
absl::StatusOr<Scenario> LoadScenario(const std::string& path);

}  // namespace seedgrid::scenarios

#endif  // SEEDGRID_SCENARIOS_SCENARIO_H_
