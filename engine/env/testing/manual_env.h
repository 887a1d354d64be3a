// Deterministic, hand-driven Env parts for tests, examples and single-process tools.
//
// ManualClock: time moves only when told (it may be set backwards, like a stepped NTP clock).
// ManualTimers: fires due callbacks when RunDue() is called, in (due time, schedule order).
// QueueNetwork: FIFO queue of messages, delivered one at a time by DeliverNext().
// None of them read the wall clock or start threads.
#ifndef SEEDGRID_ENGINE_ENV_TESTING_MANUAL_ENV_H_
#define SEEDGRID_ENGINE_ENV_TESTING_MANUAL_ENV_H_

#include <cstdint>
#include <deque>
#include <map>
#include <utility>

#include "absl/container/btree_map.h"
#include "engine/env/env.h"

namespace seedgrid {

class ManualClock final : public Clock {
 public:
  explicit ManualClock(uint64_t now_ms = 0) : now_ms_(now_ms) {}
  uint64_t NowMs() override { return now_ms_; }
  void SetMs(uint64_t now_ms) { now_ms_ = now_ms; }
  void AdvanceMs(uint64_t delta_ms) { now_ms_ += delta_ms; }

 private:
  uint64_t now_ms_;
};

class ManualTimers final : public Timers {
 public:
  explicit ManualTimers(Clock& clock) : clock_(clock) {}
  TimerId Schedule(uint64_t delay_ms, std::function<void()> callback) override;
  bool Cancel(TimerId id) override;
  // Runs every timer whose due time is <= clock now, including ones scheduled by those callbacks
  // that are already due. Returns how many ran. At most `max_callbacks` run (a loop bound).
  size_t RunDue(size_t max_callbacks = 1'000'000);
  size_t pending() const { return timers_.size(); }

 private:
  Clock& clock_;
  TimerId next_id_ = 1;
  // (due_ms, id) -> callback; ids increase, so equal due times run in schedule order.
  std::map<std::pair<uint64_t, TimerId>, std::function<void()>> timers_;
  absl::btree_map<TimerId, uint64_t> due_by_id_;
};

class QueueNetwork final : public Network {
 public:
  absl::Status Send(const NodeId& from, const NodeId& to, std::string_view bytes) override;
  void SetHandler(const NodeId& node, Handler handler) override;
  // Delivers the oldest queued message. Returns false when the queue is empty.
  bool DeliverNext();
  // Delivers until the queue is empty or `max_messages` were delivered; returns the count.
  size_t DeliverAll(size_t max_messages = 10'000'000);
  // Delivers queued message i when keep[i], drops it otherwise (a lossy link); messages beyond
  // keep.size() stay queued. Returns how many were delivered.
  size_t DeliverOrDrop(const std::vector<bool>& keep);
  size_t queued() const { return queue_.size(); }

 private:
  struct Message {
    NodeId from;
    NodeId to;
    std::string bytes;
  };
  absl::btree_map<NodeId, Handler> handlers_;
  std::deque<Message> queue_;
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_ENV_TESTING_MANUAL_ENV_H_
