// The run's trace: every delivered or dropped message, timer, fault and workload operation as a
// canonical event, folded into a rolling 64-bit xxHash (XXH3 chained through its seed).
//
// The hash covers only canonical fields (event kind, virtual time, node indexes, a 64-bit digest
// of the payload), so two runs of one binary with one seed have the same hash exactly when they
// did the same things in the same order. Optional sinks: a callback per event (the tool writes
// JSON lines from it), and an in-memory log of compact events (the determinism check compares two
// runs' logs to name the first divergent event).
//
// Context and notes (for tools such as the timeline): an event may carry context that is not
// hashed and not logged (a message's send time, copy id and bytes; a timer's schedule time), and
// the simulator may add notes (storage syncs) that reach the sink only: they are not hashed, not
// counted, not logged, and carry `note = true`. Both cost nothing when no sink is set.
#ifndef SEEDGRID_SIM_TRACE_H_
#define SEEDGRID_SIM_TRACE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace seedgrid::sim {

enum class TraceKind : uint8_t {
  kDeliver,    // a message handed to its receiver
  kDrop,       // a message lost (detail says why)
  kDuplicate,  // the network made an extra copy
  kTimer,      // a node's timer fired
  kFault,      // crash, restart, pause, partition, heal, clog, clock step
  kOp,         // a workload operation on a node
  kCheck,      // an invariant check ran
  kPhase,      // safety -> liveness -> done
  kSync,       // a node's storage sync (notes only: never hashed)
};
std::string_view TraceKindName(TraceKind kind);

struct TraceEvent {
  uint64_t index;    // 0-based position in the run
  uint64_t time_ns;  // virtual time
  TraceKind kind;
  int32_t node;             // -1 when not about one node
  int32_t peer;             // -1 when none (for messages: the sender)
  uint64_t digest;          // hash of the payload (message bytes, op result, fault parameters)
  std::string_view detail;  // human-readable, not hashed (valid only during the callback)
  // Not hashed; zero or empty when unknown.
  uint64_t sent_ns = 0;     // deliver/drop/duplicate: the send time; timer: when it was scheduled
  uint64_t message_id = 0;  // deliver/drop/duplicate: one id per copy of a message, from 1
  std::string_view
      payload;        // deliver/drop/duplicate: the message bytes (valid during the callback)
  bool note = false;  // a note (see the top of this file), not part of the canonical trace
};

// The unhashed context of a message or timer event (see TraceEvent).
struct TraceContext {
  uint64_t sent_ns = 0;
  uint64_t message_id = 0;
  std::string_view payload;
};

// "#123 t=1.234567890s deliver n1<-n4 digest=..." (one line, no newline).
std::string DescribeEvent(const TraceEvent& e, std::string_view detail);

class Trace {
 public:
  using Sink = std::function<void(const TraceEvent&)>;

  // `detail` is formatted only when someone reads it (a sink or the log); pass a callable.
  template <typename DetailFn>
  void Record(uint64_t time_ns, TraceKind kind, int32_t node, int32_t peer, uint64_t digest,
              DetailFn&& detail) {
    Record(time_ns, kind, node, peer, digest, TraceContext{}, std::forward<DetailFn>(detail));
  }
  // The same, with unhashed context for the sink.
  template <typename DetailFn>
  void Record(uint64_t time_ns, TraceKind kind, int32_t node, int32_t peer, uint64_t digest,
              const TraceContext& context, DetailFn&& detail) {
    Fold(time_ns, kind, node, peer, digest);
    if (!sink_ && !keep_log_) {
      ++events_;
      return;
    }
    const std::string text = detail();
    Emit(TraceEvent{events_, time_ns, kind, node, peer, digest, text, context.sent_ns,
                    context.message_id, context.payload});
    ++events_;
  }

  // A note for the sink only (see the top of this file); `index` is that of the next event.
  template <typename DetailFn>
  void Note(uint64_t time_ns, TraceKind kind, int32_t node, DetailFn&& detail) {
    if (!sink_) return;
    const std::string text = detail();
    sink_(TraceEvent{events_, time_ns, kind, node, -1, 0, text, 0, 0, {}, true});
  }
  bool has_sink() const { return static_cast<bool>(sink_); }

  void set_sink(Sink sink) { sink_ = std::move(sink); }
  // Keeps every event (with its detail) in memory, for the determinism check.
  void set_keep_log(bool keep) { keep_log_ = keep; }

  uint64_t hash() const { return hash_; }
  uint64_t events() const { return events_; }
  struct LoggedEvent {
    uint64_t time_ns;
    TraceKind kind;
    int32_t node, peer;
    uint64_t digest;
    uint64_t hash_after;
    std::string detail;
  };
  const std::vector<LoggedEvent>& log() const { return log_; }

 private:
  void Fold(uint64_t time_ns, TraceKind kind, int32_t node, int32_t peer, uint64_t digest);
  void Emit(const TraceEvent& e);

  uint64_t hash_ = 0;
  uint64_t events_ = 0;
  Sink sink_;
  bool keep_log_ = false;
  std::vector<LoggedEvent> log_;
};

// The first index where two logs differ (kind, time, nodes, digest), or -1 when they are equal
// in length and content.
int64_t FirstDivergence(const std::vector<Trace::LoggedEvent>& a,
                        const std::vector<Trace::LoggedEvent>& b);

}  // namespace seedgrid::sim

#endif  // SEEDGRID_SIM_TRACE_H_
