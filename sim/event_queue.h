// The simulator's one event queue: a binary min-heap ordered by (virtual time in ns, sequence).
//
// The sequence number is assigned at Push, so events due at the same instant run in the order
// they were scheduled: the order is a pure function of the calls, never of addresses or hashing.
// An event carries a small fixed payload (kind, node, two words) that the owner interprets; the
// queue itself knows nothing about networks or timers, which keeps Push/Pop cheap (see
// BM_SimEventQueue).
#ifndef SEEDGRID_SIM_EVENT_QUEUE_H_
#define SEEDGRID_SIM_EVENT_QUEUE_H_

#include <cstdint>
#include <vector>

#include "engine/base/assert.h"

namespace seedgrid::sim {

struct Event {
  uint64_t time_ns;
  uint64_t seq;
  uint32_t kind;
  uint32_t node;
  uint64_t a;
  uint64_t b;
};

class EventQueue {
 public:
  // REQUIRES: time_ns >= now_ns() (no event in the past) and the queue below its bound.
  uint64_t Push(uint64_t time_ns, uint32_t kind, uint32_t node, uint64_t a = 0, uint64_t b = 0) {
    SG_ASSERT(time_ns >= now_ns_);
    SG_ASSERT(heap_.size() < kEventsPendingMax);
    const uint64_t seq = next_seq_++;
    heap_.push_back(Event{time_ns, seq, kind, node, a, b});
    SiftUp(heap_.size() - 1);
    return seq;
  }

  // Removes and returns the earliest event, advancing now_ns() to its time. REQUIRES: !empty().
  Event Pop() {
    SG_ASSERT(!heap_.empty());
    Event top = heap_.front();
    heap_.front() = heap_.back();
    heap_.pop_back();
    if (!heap_.empty()) SiftDown(0);
    now_ns_ = top.time_ns;
    return top;
  }

  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  uint64_t now_ns() const { return now_ns_; }
  // The time of the earliest event. REQUIRES: !empty().
  uint64_t next_time_ns() const { return heap_.front().time_ns; }
  uint64_t pushed() const { return next_seq_; }

  static constexpr size_t kEventsPendingMax = size_t{1} << 26;

 private:
  static bool Before(const Event& x, const Event& y) {
    return x.time_ns != y.time_ns ? x.time_ns < y.time_ns : x.seq < y.seq;
  }
  void SiftUp(size_t i) {
    const Event e = heap_[i];
    while (i > 0) {
      const size_t parent = (i - 1) / 2;
      if (!Before(e, heap_[parent])) break;
      heap_[i] = heap_[parent];
      i = parent;
    }
    heap_[i] = e;
  }
  void SiftDown(size_t i) {
    const Event e = heap_[i];
    const size_t n = heap_.size();
    for (;;) {
      size_t child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && Before(heap_[child + 1], heap_[child])) ++child;
      if (!Before(heap_[child], e)) break;
      heap_[i] = heap_[child];
      i = child;
    }
    heap_[i] = e;
  }

  std::vector<Event> heap_;
  uint64_t now_ns_ = 0;
  uint64_t next_seq_ = 0;
};

}  // namespace seedgrid::sim

#endif  // SEEDGRID_SIM_EVENT_QUEUE_H_
