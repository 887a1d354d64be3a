// The simulated world: virtual time, one event queue, per-node skewed clocks, timers and storage,
// a faulty network, and node lifecycle (crash, restart, pause). Single-threaded and a pure function
// of its seed and the calls made on it.
//
// Time. Virtual time is integer nanoseconds from 0; Run() jumps from event to event. A node's
// clock is SkewedClock over the virtual epoch (offset, drift in ppm, NTP-like steps). A timer
// scheduled for d ms on a node's clock fires after d ms of *that node's* time: with drift +100 ppm
// it fires 0.01% sooner in virtual time.
//
// Network. Every directed link has a minimum latency drawn at start, plus a tail per message
// (exponential, log-normal or Pareto: latency.h); links between zones may form a class of their
// own (SimulatorOptions::cross_zone: regions far apart).
// Faults applied per message in this order: partition (the link is blocked: dropped at send and
// at delivery), loss, duplication (an extra copy with its own latency), reordering (extra random
// delay), clogging (held until the link unclogs). Messages to a node that crashed after they were
// sent are dropped at delivery.
//
// Nodes. The owner supplies start/stop callbacks that create and destroy the node's application
// (e.g. a ReplicaNode) on the node's Env. Crash: stop, discard unsynced storage, drop the node's
// timers and in-flight messages to it. Restart: start again on the same storage. Pause: events for
// the node are held until the pause ends (its timers fire late; messages wait).
//
// Crash points (engine/base/crash_point.h). The simulator is the run's CrashPointSink. It knows
// which node's code is running: the destination of a delivery, the owner of a timer, a node being
// started, or the node named by an ActingAs scope (the owner wraps the calls its tasks make into
// a node, e.g. a workload write, in one). With SetCrashPoints(ppm > 0), each crash point that
// node reaches crashes it with probability ppm / 10^6, drawn from the "crash-points" sub-stream
// (so no other draw moves), unless the owner's `admit` hook vetoes it (a dropped schedule item,
// the liveness phase). A crash point that fires is traced ("crash point <name> on n<i>") and the
// node is *crashing* until the current event returns:
//   - Network::Send from it is dropped (traced as a drop: "sender crashing");
//   - its Storage Write/Delete/Sync return Unavailable without touching the disk (reads still
//     see the disk as it was at the point), so the engine, which acknowledges only after a good
//     sync, acknowledges nothing that was not durable at the point;
//   - timers it schedules carry its current incarnation, which the crash ends, so they never
//     fire; no other event can run before the crash (events are dispatched one at a time and
//     the network never delivers synchronously);
//   - crashing(node) is true, so the owner ignores the node's events and the results of calls
//     it made into the node during the event (they stand for what happened after the crash).
// When the event returns, the simulator crashes the node as Crash() does (stop, unsynced writes
// lost, the last one torn when torn writes are on, incarnation bumped) and calls the owner's
// `crashed` hook, which schedules the restart. Why this is exact: every effect the node could
// have on the world after the point — a message, a durable byte, a timer, a reported event — is
// suppressed, and every effect before it stands; the crash that follows is an ordinary crash at
// the same virtual instant as the point.
//
// Every delivered or dropped message, timer and fault is recorded in the trace.
#ifndef SEEDGRID_SIM_SIMULATOR_H_
#define SEEDGRID_SIM_SIMULATOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/status/status.h"
#include "engine/base/crash_point.h"
#include "engine/env/env.h"
#include "engine/env/mem_storage.h"
#include "engine/env/xoshiro.h"
#include "sim/event_queue.h"
#include "sim/latency.h"
#include "sim/sim_storage.h"
#include "sim/skewed_clock.h"
#include "sim/trace.h"

namespace seedgrid::sim {

struct NodeClockParams {
  int64_t offset_ms = 0;
  int64_t drift_ppm = 0;
};

struct SimulatorOptions {
  uint64_t seed = 1;
  int nodes = 3;                          // 1..4096
  uint64_t epoch_ms = 1'700'000'000'000;  // virtual time 0 on the (unskewed) wall clock
  std::vector<NodeClockParams> clocks;    // one per node (missing: no skew)
  uint64_t latency_min_lo_ns = 200'000;   // per-link minimum drawn from [lo, hi]
  uint64_t latency_min_hi_ns = 2'000'000;
  uint64_t latency_tail_mean_ns = 1'000'000;       // mean of the tail on every message
  TailKind latency_tail = TailKind::kExponential;  // its shape (latency.h)
  uint32_t latency_tail_shape_milli = 0;
  // Links between nodes of different zones (regions) draw their minimum and tail from this class
  // instead (cross_zone); zone_of gives each node's zone (empty: all in one).
  std::vector<int> zone_of;
  bool cross_zone = false;
  uint64_t cross_latency_min_lo_ns = 0;
  uint64_t cross_latency_min_hi_ns = 0;
  TailSpec cross_tail;
  uint64_t events_max = 200'000'000;  // event budget for the whole run
  bool torn_writes = false;           // a crash tears the last unsynced write (SimStorage)
};

// Rates of the probabilistic network faults (ppm per message); zero means off.
struct NetworkFaultRates {
  uint32_t loss_ppm = 0;
  uint32_t duplicate_ppm = 0;
  uint32_t reorder_ppm = 0;
  uint64_t reorder_delay_max_ns = 50'000'000;
};

struct SimStats {
  uint64_t messages_sent = 0;
  uint64_t messages_delivered = 0;
  uint64_t dropped_partition = 0;
  uint64_t dropped_loss = 0;
  uint64_t dropped_dead = 0;  // destination crashed (or restarted) since the send
  uint64_t duplicated = 0;
  uint64_t reordered = 0;
  uint64_t clogged = 0;
  uint64_t timers_fired = 0;
  uint64_t events = 0;
  uint64_t crashes = 0, restarts = 0, pauses = 0;
  uint64_t crash_points = 0;      // crash points that fired (each followed by a crash)
  uint64_t dropped_crashing = 0;  // sent by a node after its crash point
};

// Where a run's wall time goes (`seedgrid run --profile`). The simulator calls Enter before and
// Leave after each message it delivers, timer it fires and owner task it runs. It never reads a
// clock: the observer does, outside the deterministic state (nothing it sees reaches a decision,
// a draw or the trace), so a profiled run is the same run.
class DispatchObserver {
 public:
  enum class Kind { kMessage, kTimer, kTask };
  virtual ~DispatchObserver() = default;
  virtual void Enter() = 0;
  // `node`: the message's destination or the timer's owner (-1 for a task); `bytes`: the
  // message as delivered (empty for timers and tasks).
  virtual void Leave(Kind kind, int node, std::string_view bytes) = 0;
};

// The owner's say over crash points (see the top of this file). Both optional.
struct CrashPointHooks {
  // A drawn crash point on `node`: true to crash there, false to ignore it (no effect at all).
  std::function<bool(int node, std::string_view name)> admit;
  // After the simulator crashed `node` at crash point `name` (e.g. schedule its restart).
  std::function<void(int node, std::string_view name)> crashed;
};

class Simulator {
 public:
  using NodeCallback = std::function<void(int node)>;

  explicit Simulator(SimulatorOptions options);
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // The node's environment (its own clock, timers, storage and random stream; the shared network).
  Env& env(int node);
  const NodeId& node_id(int node) const { return ids_[node]; }
  const std::vector<NodeId>& node_ids() const { return ids_; }
  int nodes() const { return static_cast<int>(ids_.size()); }
  SkewedClock& clock(int node);
  SimStorage& storage(int node);

  // Lifecycle callbacks; `start` also runs for every node in Start().
  void SetNodeCallbacks(NodeCallback start, NodeCallback stop);
  void StartAll();
  void Crash(int node);
  void Restart(int node);
  void Pause(int node, uint64_t duration_ns);
  bool alive(int node) const;
  bool paused(int node) const;
  void StepClock(int node, int64_t delta_ms);

  // Crash points: `ppm` per evaluated point (0: off).
  void SetCrashPoints(uint32_t ppm, CrashPointHooks hooks = {});
  uint32_t crash_points_ppm() const { return crash_points_ppm_; }
  // What SG_CRASH_POINT reports to while installed (ScopedCrashPoints) on the run's thread.
  CrashPointSink& crash_point_sink();
  // The node reached a crash point that fired and crashes when the current event returns.
  bool crashing(int node) const;
  // The node whose code is running now, or -1.
  int acting_node() const { return acting_node_; }
  // Names the node the owner's code calls into (a workload op on node i) until destroyed.
  class ActingAs {
   public:
    ActingAs(Simulator& sim, int node) : sim_(sim), previous_(sim.acting_node_) {
      sim.acting_node_ = node;
    }
    ~ActingAs() { sim_.acting_node_ = previous_; }
    ActingAs(const ActingAs&) = delete;
    ActingAs& operator=(const ActingAs&) = delete;

   private:
    Simulator& sim_;
    int previous_;
  };

  // Network faults.
  void SetFaultRates(const NetworkFaultRates& rates) { rates_ = rates; }
  const NetworkFaultRates& fault_rates() const { return rates_; }
  void Block(int from, int to);              // one direction
  void Split(const std::vector<int>& side);  // side <-> everyone else, both directions
  void Isolate(int node);
  // Two sides that cannot talk, joined by `bridge` which talks to both.
  void Bridge(const std::vector<int>& left, const std::vector<int>& right, int bridge);
  void Clog(int from, int to, uint64_t duration_ns);
  void HealAll();  // unblock and unclog every link
  bool blocked(int from, int to) const { return blocked_[Link(from, to)] != 0; }

  // The latest due time of any message sent so far (a quiescence horizon: every message in flight
  // now arrives, or is dropped, by then).
  uint64_t latest_delivery_ns() const { return latest_delivery_ns_; }

  // Owner tasks (workload, fault schedule, checks) at a virtual time.
  void At(uint64_t time_ns, std::function<void()> task);

  // Processes events up to and including `until_ns` (or until `stop()` returns true after an
  // event). Returns false when the event budget ran out.
  bool RunUntil(uint64_t until_ns, const std::function<bool()>& stop = {});

  uint64_t now_ns() const { return queue_.now_ns(); }
  uint64_t pending_events() const { return queue_.size(); }
  const SimStats& stats() const { return stats_; }
  Trace& trace() { return trace_; }
  // nullptr (the default): no observer. The observer must outlive the run.
  void set_observer(DispatchObserver* observer) { observer_ = observer; }
  // Ends every pause now (held events run at their original times or now, whichever is later).
  void EndPauses();
  // Records a fault in the trace; its digest is the hash of `detail` (which names the fault and
  // its parameters).
  void TraceFault(int node, const std::string& detail);

 private:
  DispatchObserver* observer_ = nullptr;
  class SimNetwork;
  class SimTimers;
  class VirtualClock;
  struct Node;
  class NotedStorage;
  class CrashPoints;
  struct PendingCrash {
    int node;
    std::string name;
  };
  struct Message {
    int32_t from, to;
    uint32_t to_incarnation;
    std::string bytes;
    uint64_t digest;
    uint64_t id;       // trace context only (never hashed): one per copy
    uint64_t sent_ns;  // trace context only
  };
  struct TimerSlot {
    std::function<void()> callback;
    uint64_t id = 0;  // 0: free
    int32_t node = -1;
    uint32_t incarnation = 0;
    uint64_t scheduled_ns = 0;  // trace context only
  };
  enum EventKind : uint32_t { kDeliverEvent, kTimerEvent, kTaskEvent };

  size_t Link(int from, int to) const { return static_cast<size_t>(from) * ids_.size() + to; }
  int IndexOf(const NodeId& id) const;
  absl::Status Send(const NodeId& from, const NodeId& to, std::string_view bytes);
  void Enqueue(uint64_t time_ns, uint64_t message_slot);
  uint64_t Latency(int from, int to);
  bool CrossZone(int from, int to) const {
    return options_.cross_zone && options_.zone_of[from] != options_.zone_of[to];
  }
  uint64_t StoreMessage(Message m);
  Timers::TimerId ScheduleTimer(int node, uint64_t delay_ms, std::function<void()> callback);
  bool CancelTimer(uint64_t id);
  void Dispatch(const Event& e);
  bool ReachedCrashPoint(std::string_view name);
  // Crashes the nodes whose crash points fired during the event that just returned.
  void CrashPending();

  SimulatorOptions options_;
  EventQueue queue_;
  Trace trace_;
  SimStats stats_;
  Xoshiro256 network_random_;
  Xoshiro256 storage_random_;
  std::unique_ptr<VirtualClock> virtual_clock_;
  std::unique_ptr<SimNetwork> network_;
  std::vector<NodeId> ids_;
  absl::btree_map<NodeId, int> index_of_;
  std::vector<std::unique_ptr<Node>> nodes_;
  NodeCallback start_, stop_;
  NetworkFaultRates rates_;
  std::vector<uint8_t> blocked_;
  std::vector<uint64_t> clogged_until_ns_;
  std::vector<uint32_t> latency_min_ns_;
  std::vector<Message> messages_;
  std::vector<uint64_t> free_messages_;
  std::vector<TimerSlot> timers_;
  std::vector<uint64_t> free_timers_;
  uint64_t next_timer_generation_ = 1;
  uint64_t latest_delivery_ns_ = 0;
  uint64_t message_ids_ = 0;  // trace context only
  std::vector<std::function<void()>> tasks_;
  std::vector<uint64_t> free_tasks_;
  Xoshiro256 crash_points_random_;
  uint32_t crash_points_ppm_ = 0;
  CrashPointHooks crash_point_hooks_;
  std::unique_ptr<CrashPoints> crash_point_sink_;
  int acting_node_ = -1;
  std::vector<PendingCrash> pending_crashes_;  // at most one per node
};

}  // namespace seedgrid::sim

#endif  // SEEDGRID_SIM_SIMULATOR_H_
