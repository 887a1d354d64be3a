// TimelineBuilder: a run's trace events in, the Timeline (timeline_model.h) of one window out.
//
// Contract:
// - Add() takes every event of one run in trace order, notes included, while the run goes. Memory
//   stays bounded by what happened in the last two windows: older items are dropped as the run
//   goes (the window's end, e.g. a violation, is known only at the end of the run).
// - Finish() closes the window at the violation's time (or the last event's, for a pass) and
//   keeps what the options select. A message is in the window when its delivery or loss is; its
//   send may precede the window. Call it once.
// - What the builder reads: messages (decoded for their type, keys and ids; undecodable bytes
//   are shown as "?"), faults (by their trace text: crash, restart, pause, clock step, split,
//   isolate, one-way, bridge, heal, clog, offline, online, ...), ops, checks, phases, timers and
//   storage-sync notes. Counters are derived from the events: a client's op log (writes not yet
//   acknowledged), requests a node awaits an Ack for, and messages in flight to a node.
// - Pure and tool-side: no I/O, and nothing here influences the simulation.
#ifndef SEEDGRID_TOOLS_SEEDGRID_TIMELINE_H_
#define SEEDGRID_TOOLS_SEEDGRID_TIMELINE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "sim/trace.h"
#include "tools/seedgrid/timeline_message.h"
#include "tools/seedgrid/timeline_model.h"

namespace seedgrid::tools {

inline constexpr uint64_t kDefaultWindowNs = 10'000'000'000;

struct TimelineOptions {
  uint64_t window_ns = kDefaultWindowNs;  // 0: the whole run
  std::vector<int> nodes;                 // empty: every node
  std::string key;                        // empty: every event; else only events touching it
};

class TimelineBuilder {
 public:
  // `lanes`: every node of the run, in node order.
  TimelineBuilder(TimelineOptions options, std::vector<TimelineLane> lanes, std::string title);

  void Add(const sim::TraceEvent& e);
  Timeline Finish(std::optional<TimelineViolation> violation);

 private:
  struct OpenSpan {
    std::string label;
    uint64_t begin_ns = 0;
    uint64_t until_ns = UINT64_MAX;  // a planned end (pauses, clogs)
  };
  using TrackKey = std::pair<int, std::string>;

  void AddMessage(const sim::TraceEvent& e);
  void CountMessage(const sim::TraceEvent& e, const MessageInfo& info);
  void AddFault(const sim::TraceEvent& e);
  void AddPartition(uint64_t t, const std::string& text, const std::vector<int>& nodes);
  void AddPhase(const sim::TraceEvent& e);
  void AddOp(const sim::TraceEvent& e);
  void HealNetwork(uint64_t t);
  void Begin(int node, const std::string& track, std::string label, uint64_t t,
             uint64_t until_ns = UINT64_MAX);
  // Extends the open span of the track to `until_ns`, or begins one.
  void BeginOrExtend(int node, const std::string& track, std::string label, uint64_t t,
                     uint64_t until_ns);
  void Close(int node, const std::string& track, uint64_t t);
  void CloseTracks(const std::string& prefix, uint64_t t);  // every node's tracks named so
  void Mark(int node, const std::string& track, std::string label, std::string detail, uint64_t t);
  void Sample(int node, const std::string& name, uint64_t t, int64_t value);
  void Prune();
  std::vector<TimelineCounter> InFlight(uint64_t begin_ns, uint64_t end_ns) const;
  bool Kept(int node) const;

  TimelineOptions options_;
  Timeline all_;  // everything not yet pruned
  std::map<TrackKey, OpenSpan> open_;
  std::map<TrackKey, size_t> counters_;       // -> index in all_.counters
  std::map<int, std::set<uint64_t>> op_log_;  // client node -> unacknowledged seqs
  std::map<int, std::set<std::pair<uint64_t, int>>> awaiting_;  // node -> (request id, peer)
  int lanes_ = 0;                                               // nodes in the run
  uint64_t latest_ns_ = 0;
  uint64_t added_ = 0;
};

// "5s", "250ms", "2m", "1.5s" or "all" (0: the whole run); nullopt when malformed or 0.
std::optional<uint64_t> ParseWindow(const std::string& text);

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_TIMELINE_H_
