#include "sim/simulator.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>

#include "engine/base/assert.h"
#include "sim/random.h"

namespace seedgrid::sim {

class Simulator::VirtualClock final : public Clock {
 public:
  VirtualClock(const EventQueue& queue, uint64_t epoch_ms) : queue_(queue), epoch_ms_(epoch_ms) {}
  uint64_t NowMs() override { return epoch_ms_ + queue_.now_ns() / 1'000'000; }

 private:
  const EventQueue& queue_;
  uint64_t epoch_ms_;
};

class Simulator::SimNetwork final : public Network {
 public:
  explicit SimNetwork(Simulator& sim) : sim_(sim) {}
  absl::Status Send(const NodeId& from, const NodeId& to, std::string_view bytes) override {
    return sim_.Send(from, to, bytes);
  }
  void SetHandler(const NodeId& node, Handler handler) override;

 private:
  Simulator& sim_;
};

class Simulator::SimTimers final : public Timers {
 public:
  SimTimers(Simulator& sim, int node) : sim_(sim), node_(node) {}
  TimerId Schedule(uint64_t delay_ms, std::function<void()> callback) override {
    return sim_.ScheduleTimer(node_, delay_ms, std::move(callback));
  }
  bool Cancel(TimerId id) override { return sim_.CancelTimer(id); }

 private:
  Simulator& sim_;
  int node_;
};

// The node's storage as its Env sees it: SimStorage, plus a trace note per sync (for tools; only
// when the trace has a sink, and never hashed). Inert while the node is crashing at a crash point:
// writes, deletes and syncs fail without reaching the disk.
class Simulator::NotedStorage final : public Storage {
 public:
  NotedStorage(Simulator& sim, int node, SimStorage& storage)
      : sim_(sim), node_(node), storage_(storage) {}
  absl::Status Write(std::string_view page, std::string_view bytes) override {
    if (sim_.crashing(node_)) return Crashing();
    ++writes_;
    return storage_.Write(page, bytes);
  }
  absl::StatusOr<std::string> Read(std::string_view page) override { return storage_.Read(page); }
  absl::Status Delete(std::string_view page) override {
    if (sim_.crashing(node_)) return Crashing();
    ++writes_;
    return storage_.Delete(page);
  }
  std::vector<std::string> List() override { return storage_.List(); }
  absl::Status Sync() override {
    if (sim_.crashing(node_)) return Crashing();
    absl::Status status = storage_.Sync();
    sim_.trace_.Note(sim_.now_ns(), TraceKind::kSync, node_, [&] {
      return status.ok()
                 ? fmt::format("sync {} writes", writes_)
                 : fmt::format("sync {} writes failed: {}", writes_, std::string(status.message()));
    });
    if (status.ok()) writes_ = 0;
    return status;
  }
  void Crashed() { writes_ = 0; }

 private:
  static absl::Status Crashing() {
    return absl::UnavailableError("the node is crashing at a crash point");
  }

  Simulator& sim_;
  int node_;
  SimStorage& storage_;
  uint64_t writes_ = 0;  // writes and deletes since the last good sync
};

class Simulator::CrashPoints final : public CrashPointSink {
 public:
  explicit CrashPoints(Simulator& sim) : sim_(sim) {}
  bool Reached(std::string_view name) override { return sim_.ReachedCrashPoint(name); }

 private:
  Simulator& sim_;
};

struct Simulator::Node {
  Node(Simulator& sim, int index, Clock& truth, const NodeClockParams& p, uint64_t seed)
      : clock(truth, p.offset_ms, p.drift_ppm),
        timers(sim, index),
        noted(sim, index, storage),
        random(Substream(seed, fmt::format("node/{}", index))),
        env(Env{clock, random, *sim.network_, timers, noted}) {}
  SkewedClock clock;
  SimTimers timers;
  SimStorage storage;
  NotedStorage noted;
  Xoshiro256 random;
  Env env;
  Network::Handler handler;
  bool alive = false;
  bool crashing = false;  // reached a crash point that fired; crashes when the event returns
  uint32_t incarnation = 0;
  uint64_t paused_until_ns = 0;
};

void Simulator::SimNetwork::SetHandler(const NodeId& node, Handler handler) {
  const int i = sim_.IndexOf(node);
  SG_ASSERT(i >= 0);
  sim_.nodes_[i]->handler = std::move(handler);
}

bool Simulator::alive(int node) const { return nodes_.at(node)->alive; }
bool Simulator::paused(int node) const { return nodes_.at(node)->paused_until_ns > now_ns(); }
bool Simulator::crashing(int node) const { return nodes_.at(node)->crashing; }
CrashPointSink& Simulator::crash_point_sink() { return *crash_point_sink_; }

Simulator::Simulator(SimulatorOptions options)
    : options_(std::move(options)),
      network_random_(Substream(options_.seed, "network")),
      storage_random_(Substream(options_.seed, "storage")),
      crash_points_random_(Substream(options_.seed, "crash-points")),
      crash_point_sink_(std::make_unique<CrashPoints>(*this)) {
  SG_ASSERT(options_.nodes >= 1 && options_.nodes <= 4096);
  SG_ASSERT(options_.latency_min_lo_ns <= options_.latency_min_hi_ns);
  SG_ASSERT(options_.latency_min_hi_ns <= UINT32_MAX);
  SG_ASSERT(!options_.cross_zone ||
            (options_.zone_of.size() == static_cast<size_t>(options_.nodes) &&
             options_.cross_latency_min_lo_ns <= options_.cross_latency_min_hi_ns &&
             options_.cross_latency_min_hi_ns <= UINT32_MAX));
  virtual_clock_ = std::make_unique<VirtualClock>(queue_, options_.epoch_ms);
  network_ = std::make_unique<SimNetwork>(*this);
  const size_t n = static_cast<size_t>(options_.nodes);
  Xoshiro256 links = Substream(options_.seed, "links");
  for (size_t i = 0; i < n; ++i) {
    ids_.push_back(fmt::format("n{}", i));
    index_of_.emplace(ids_.back(), static_cast<int>(i));
    const NodeClockParams p = i < options_.clocks.size() ? options_.clocks[i] : NodeClockParams{};
    nodes_.push_back(
        std::make_unique<Node>(*this, static_cast<int>(i), *virtual_clock_, p, options_.seed));
  }
  blocked_.assign(n * n, 0);
  clogged_until_ns_.assign(n * n, 0);
  latency_min_ns_.resize(n * n);
  for (size_t link = 0; link < n * n; ++link) {  // one draw per link, whatever its class
    const bool cross = CrossZone(static_cast<int>(link / n), static_cast<int>(link % n));
    latency_min_ns_[link] = static_cast<uint32_t>(
        cross ? UniformIn(links, options_.cross_latency_min_lo_ns, options_.cross_latency_min_hi_ns)
              : UniformIn(links, options_.latency_min_lo_ns, options_.latency_min_hi_ns));
  }
}

Simulator::~Simulator() = default;

Env& Simulator::env(int node) { return nodes_.at(node)->env; }
SkewedClock& Simulator::clock(int node) { return nodes_.at(node)->clock; }
SimStorage& Simulator::storage(int node) { return nodes_.at(node)->storage; }

int Simulator::IndexOf(const NodeId& id) const {
  auto it = index_of_.find(id);
  return it == index_of_.end() ? -1 : it->second;
}

void Simulator::SetNodeCallbacks(NodeCallback start, NodeCallback stop) {
  start_ = std::move(start);
  stop_ = std::move(stop);
}

void Simulator::StartAll() {
  for (int i = 0; i < nodes(); ++i) {
    nodes_[i]->alive = true;
    ActingAs acting(*this, i);
    if (start_) start_(i);
  }
}

void Simulator::SetCrashPoints(uint32_t ppm, CrashPointHooks hooks) {
  SG_ASSERT(ppm <= 1'000'000);
  crash_points_ppm_ = ppm;
  crash_point_hooks_ = std::move(hooks);
}

bool Simulator::ReachedCrashPoint(std::string_view name) {
  if (crash_points_ppm_ == 0 || acting_node_ < 0) return false;
  const int node = acting_node_;
  Node& n = *nodes_[node];
  if (!n.alive || n.crashing) return false;
  if (!crash_points_random_.ChancePpm(crash_points_ppm_)) return false;
  if (crash_point_hooks_.admit && !crash_point_hooks_.admit(node, name)) return false;
  n.crashing = true;
  ++stats_.crash_points;
  TraceFault(node, fmt::format("crash point {} on n{}", name, node));
  SG_ASSERT(pending_crashes_.size() < ids_.size());  // At most one per node.
  pending_crashes_.push_back({node, std::string(name)});
  return true;
}

void Simulator::CrashPending() {
  std::vector<PendingCrash> pending;
  pending.swap(pending_crashes_);
  for (const PendingCrash& p : pending) {
    Node& n = *nodes_[p.node];
    if (!n.crashing) continue;  // Crashed in the same event by the owner: that crash stands.
    Crash(p.node);
    if (crash_point_hooks_.crashed) crash_point_hooks_.crashed(p.node, p.name);
  }
}

void Simulator::TraceFault(int node, const std::string& detail) {
  trace_.Record(now_ns(), TraceKind::kFault, node, -1, XXH3_64bits(detail.data(), detail.size()),
                [&] { return detail; });
}

void Simulator::EndPauses() {
  for (auto& n : nodes_) n->paused_until_ns = std::min(n->paused_until_ns, now_ns());
}

void Simulator::Crash(int node) {
  Node& n = *nodes_.at(node);
  if (!n.alive) return;
  ++stats_.crashes;
  TraceFault(node, fmt::format("crash n{}", node));
  {
    ActingAs acting(*this, -1);  // Tearing a node down is no place for a crash point.
    if (stop_) stop_(node);
  }
  n.crashing = false;
  n.alive = false;
  n.handler = nullptr;
  // Unsynced writes are lost; with torn writes on, the last one survives torn.
  n.noted.Crashed();
  if (n.storage.Crash(options_.torn_writes, storage_random_)) {
    TraceFault(node, fmt::format("torn write n{}", node));
  }
  ++n.incarnation;  // Timers and in-flight messages of the old incarnation are dropped.
}

void Simulator::Restart(int node) {
  Node& n = *nodes_.at(node);
  if (n.alive) return;
  ++stats_.restarts;
  TraceFault(node, fmt::format("restart n{}", node));
  n.alive = true;
  n.crashing = false;
  n.paused_until_ns = 0;
  ActingAs acting(*this, node);
  if (start_) start_(node);
}

void Simulator::Pause(int node, uint64_t duration_ns) {
  Node& n = *nodes_.at(node);
  ++stats_.pauses;
  TraceFault(node, fmt::format("pause n{} for {} ms", node, duration_ns / 1'000'000));
  n.paused_until_ns = std::max(n.paused_until_ns, now_ns() + duration_ns);
}

void Simulator::StepClock(int node, int64_t delta_ms) {
  TraceFault(node, fmt::format("clock step n{} by {:+} ms", node, delta_ms));
  nodes_.at(node)->clock.Step(delta_ms);
}

void Simulator::Block(int from, int to) { blocked_[Link(from, to)] = 1; }

void Simulator::Split(const std::vector<int>& side) {
  std::vector<uint8_t> in(ids_.size(), 0);
  for (int i : side) in.at(i) = 1;
  for (int a = 0; a < nodes(); ++a) {
    for (int b = 0; b < nodes(); ++b) {
      if (in[a] != in[b]) Block(a, b);
    }
  }
}

void Simulator::Isolate(int node) { Split({node}); }

void Simulator::Bridge(const std::vector<int>& left, const std::vector<int>& right, int bridge) {
  for (int a : left) {
    for (int b : right) {
      if (a == bridge || b == bridge) continue;
      Block(a, b);
      Block(b, a);
    }
  }
}

void Simulator::Clog(int from, int to, uint64_t duration_ns) {
  uint64_t& until = clogged_until_ns_[Link(from, to)];
  until = std::max(until, now_ns() + duration_ns);
}

void Simulator::HealAll() {
  std::fill(blocked_.begin(), blocked_.end(), 0);
  std::fill(clogged_until_ns_.begin(), clogged_until_ns_.end(), 0);
}

uint64_t Simulator::Latency(int from, int to) {
  const TailSpec base{options_.latency_tail, options_.latency_tail_mean_ns,
                      options_.latency_tail_shape_milli};
  uint64_t latency = latency_min_ns_[Link(from, to)] +
                     DrawTail(network_random_, CrossZone(from, to) ? options_.cross_tail : base);
  if (rates_.reorder_ppm > 0 && network_random_.ChancePpm(rates_.reorder_ppm)) {
    ++stats_.reordered;
    latency += UniformIn(network_random_, 0, rates_.reorder_delay_max_ns);
  }
  const uint64_t clog = clogged_until_ns_[Link(from, to)];
  if (clog > now_ns()) {
    ++stats_.clogged;
    latency += clog - now_ns();
  }
  return latency;
}

uint64_t Simulator::StoreMessage(Message m) {
  if (!free_messages_.empty()) {
    const uint64_t slot = free_messages_.back();
    free_messages_.pop_back();
    messages_[slot] = std::move(m);
    return slot;
  }
  messages_.push_back(std::move(m));
  return messages_.size() - 1;
}

absl::Status Simulator::Send(const NodeId& from_id, const NodeId& to_id, std::string_view bytes) {
  const int from = IndexOf(from_id), to = IndexOf(to_id);
  if (from < 0 || to < 0) {
    return absl::NotFoundError(
        fmt::format("network: unknown node '{}'", from < 0 ? from_id : to_id));
  }
  const uint64_t digest = XXH3_64bits(bytes.data(), bytes.size());
  if (nodes_[from]->crashing) {  // Sent after its crash point: it never left.
    ++stats_.dropped_crashing;
    trace_.Record(now_ns(), TraceKind::kDrop, to, from, digest,
                  TraceContext{now_ns(), ++message_ids_, bytes},
                  [] { return std::string("sender crashing (crash point)"); });
    return absl::OkStatus();
  }
  ++stats_.messages_sent;
  if (blocked(from, to)) {
    ++stats_.dropped_partition;
    trace_.Record(now_ns(), TraceKind::kDrop, to, from, digest,
                  TraceContext{now_ns(), ++message_ids_, bytes},
                  [] { return std::string("partition (at send)"); });
    return absl::OkStatus();
  }
  if (rates_.loss_ppm > 0 && network_random_.ChancePpm(rates_.loss_ppm)) {
    ++stats_.dropped_loss;
    trace_.Record(now_ns(), TraceKind::kDrop, to, from, digest,
                  TraceContext{now_ns(), ++message_ids_, bytes},
                  [] { return std::string("loss"); });
    return absl::OkStatus();
  }
  const int copies =
      rates_.duplicate_ppm > 0 && network_random_.ChancePpm(rates_.duplicate_ppm) ? 2 : 1;
  for (int c = 0; c < copies; ++c) {
    if (c == 1) {
      ++stats_.duplicated;
      trace_.Record(now_ns(), TraceKind::kDuplicate, to, from, digest,
                    TraceContext{now_ns(), message_ids_ + 1, bytes},
                    [] { return std::string("extra copy"); });
    }
    const uint64_t slot = StoreMessage(Message{
        from, to, nodes_[to]->incarnation, std::string(bytes), digest, ++message_ids_, now_ns()});
    const uint64_t due = now_ns() + Latency(from, to);
    latest_delivery_ns_ = std::max(latest_delivery_ns_, due);
    queue_.Push(due, kDeliverEvent, static_cast<uint32_t>(to), slot);
  }
  return absl::OkStatus();
}

Timers::TimerId Simulator::ScheduleTimer(int node, uint64_t delay_ms,
                                         std::function<void()> callback) {
  SG_ASSERT(delay_ms <= 365ull * 24 * 3600 * 1000);
  uint64_t slot;
  if (!free_timers_.empty()) {
    slot = free_timers_.back();
    free_timers_.pop_back();
  } else {
    timers_.emplace_back();
    slot = timers_.size() - 1;
  }
  SG_ASSERT(slot < (uint64_t{1} << 32));
  const uint64_t id = (next_timer_generation_++ << 32) | slot;
  timers_[slot] = TimerSlot{std::move(callback), id, node, nodes_[node]->incarnation, now_ns()};
  // delay on the node's clock -> virtual time: a clock running fast (drift > 0) reaches it sooner.
  const int64_t drift = nodes_[node]->clock.drift_ppm();
  const __int128 delay_ns =
      static_cast<__int128>(delay_ms) * 1'000'000 * 1'000'000 / (1'000'000 + drift);
  queue_.Push(now_ns() + static_cast<uint64_t>(delay_ns), kTimerEvent, static_cast<uint32_t>(node),
              slot, id);
  return id;
}

bool Simulator::CancelTimer(uint64_t id) {
  const uint64_t slot = id & 0xffffffffu;
  if (slot >= timers_.size() || timers_[slot].id != id) return false;
  timers_[slot] = TimerSlot{};
  free_timers_.push_back(slot);
  return true;
}

void Simulator::At(uint64_t time_ns, std::function<void()> task) {
  uint64_t slot;
  if (!free_tasks_.empty()) {
    slot = free_tasks_.back();
    free_tasks_.pop_back();
    tasks_[slot] = std::move(task);
  } else {
    tasks_.push_back(std::move(task));
    slot = tasks_.size() - 1;
  }
  queue_.Push(std::max(time_ns, now_ns()), kTaskEvent, 0, slot);
}

void Simulator::Dispatch(const Event& e) {
  switch (e.kind) {
    case kDeliverEvent: {
      Message& m = messages_[e.a];
      Node& to = *nodes_[m.to];
      if (to.alive && to.incarnation == m.to_incarnation && to.paused_until_ns > now_ns()) {
        latest_delivery_ns_ = std::max(latest_delivery_ns_, to.paused_until_ns);
        queue_.Push(to.paused_until_ns, kDeliverEvent, e.node, e.a);  // Held while paused.
        return;
      }
      Message local = std::move(m);
      free_messages_.push_back(e.a);
      if (!to.alive || to.incarnation != local.to_incarnation || !to.handler) {
        ++stats_.dropped_dead;
        trace_.Record(now_ns(), TraceKind::kDrop, local.to, local.from, local.digest,
                      TraceContext{local.sent_ns, local.id, local.bytes},
                      [] { return std::string("destination crashed"); });
        return;
      }
      if (blocked(local.from, local.to)) {
        ++stats_.dropped_partition;
        trace_.Record(now_ns(), TraceKind::kDrop, local.to, local.from, local.digest,
                      TraceContext{local.sent_ns, local.id, local.bytes},
                      [] { return std::string("partition (in flight)"); });
        return;
      }
      ++stats_.messages_delivered;
      trace_.Record(now_ns(), TraceKind::kDeliver, local.to, local.from, local.digest,
                    TraceContext{local.sent_ns, local.id, local.bytes},
                    [&] { return fmt::format("{} bytes", local.bytes.size()); });
      ActingAs acting(*this, local.to);
      if (observer_ != nullptr) observer_->Enter();
      to.handler(ids_[local.from], local.bytes);
      if (observer_ != nullptr)
        observer_->Leave(DispatchObserver::Kind::kMessage, local.to, local.bytes);
      return;
    }
    case kTimerEvent: {
      TimerSlot& t = timers_[e.a];
      if (t.id != e.b) return;  // Cancelled (the slot may have been reused).
      Node& node = *nodes_[t.node];
      if (node.alive && node.incarnation == t.incarnation && node.paused_until_ns > now_ns()) {
        queue_.Push(node.paused_until_ns, kTimerEvent, e.node, e.a, e.b);  // Fires late.
        return;
      }
      std::function<void()> callback = std::move(t.callback);
      const uint64_t scheduled_ns = t.scheduled_ns;
      const bool live = node.alive && node.incarnation == t.incarnation;
      t = TimerSlot{};
      free_timers_.push_back(e.a);
      if (!live) return;
      ++stats_.timers_fired;
      trace_.Record(now_ns(), TraceKind::kTimer, static_cast<int32_t>(e.node), -1, e.b,
                    TraceContext{scheduled_ns}, [] { return std::string(); });
      ActingAs acting(*this, static_cast<int>(e.node));
      if (observer_ != nullptr) observer_->Enter();
      callback();
      if (observer_ != nullptr) {
        observer_->Leave(DispatchObserver::Kind::kTimer, static_cast<int>(e.node), {});
      }
      return;
    }
    case kTaskEvent: {
      std::function<void()> task = std::move(tasks_[e.a]);
      tasks_[e.a] = nullptr;
      free_tasks_.push_back(e.a);
      if (observer_ != nullptr) observer_->Enter();
      task();
      if (observer_ != nullptr) observer_->Leave(DispatchObserver::Kind::kTask, -1, {});
      return;
    }
  }
  SG_ASSERT(false);
}

bool Simulator::RunUntil(uint64_t until_ns, const std::function<bool()>& stop) {
  if (!pending_crashes_.empty()) CrashPending();  // Points reached outside an event (StartAll).
  while (!queue_.empty() && queue_.next_time_ns() <= until_ns) {
    if (stats_.events >= options_.events_max) return false;
    ++stats_.events;
    Dispatch(queue_.Pop());
    if (!pending_crashes_.empty()) CrashPending();
    if (stop && stop()) return true;
  }
  return true;
}

}  // namespace seedgrid::sim
