// The timeline of one run's window, as the renderers draw it (timeline_json.h: Chrome trace-event
// JSON for Perfetto and chrome://tracing; timeline_html.h: a self-contained page). Built from trace
// events by TimelineBuilder (timeline.h). Plain data; times are virtual nanoseconds.
//
// Contract (TimelineBuilder guarantees it, the renderers rely on it):
// - every lane, message end, span and mark is inside [begin_ns, end_ns], except a message's send,
//   which may precede begin_ns (its delivery is in the window);
// - spans of one (node, track) never overlap and have end_ns > begin_ns;
// - messages are ordered by end_ns, counter samples by time (marks and spans are not ordered).
// Node -1 is the cluster as a whole (phases, partitions, checks, the violation).
#ifndef SEEDGRID_TOOLS_SEEDGRID_TIMELINE_MODEL_H_
#define SEEDGRID_TOOLS_SEEDGRID_TIMELINE_MODEL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace seedgrid::tools {

// Virtual nanoseconds as the renderers' milliseconds.
inline double Ms(uint64_t ns) { return static_cast<double>(ns) / 1e6; }

// Track names (a node's rows in a viewer).
inline constexpr char kTrackOut[] = "messages out";
inline constexpr char kTrackIn[] = "messages in";
inline constexpr char kTrackTimers[] = "timers";
inline constexpr char kTrackStorage[] = "storage";
inline constexpr char kTrackOps[] = "ops";
inline constexpr char kTrackLifecycle[] = "lifecycle";
inline constexpr char kTrackDown[] = "down";
inline constexpr char kTrackPaused[] = "paused";
inline constexpr char kTrackOffline[] = "offline";
inline constexpr char kTrackNetwork[] = "network";
inline constexpr char kTrackClogPrefix[] = "clog ";  // + "->n3": one track per clogged link
inline constexpr char kTrackPhases[] = "phases";     // cluster
inline constexpr char kTrackPartitions[] = "partitions";
inline constexpr char kTrackChecks[] = "checks";

struct TimelineLane {
  int node = -1;
  std::string name;  // "server n0", "client c3 (n8)", "replica n2"
};

struct TimelineMessage {
  uint64_t id = 0;  // unique per copy
  int from = -1, to = -1;
  uint64_t sent_ns = 0;
  uint64_t end_ns = 0;  // delivered or lost
  std::string name;     // the body type, e.g. "GridOps" ("?" when undecodable)
  std::string summary;  // one line about the contents
  std::string lost;     // empty when delivered, else why: "loss", "partition (in flight)", ...
  bool lost_at_send = false;
};

struct TimelineSpan {
  int node = -1;
  std::string track;
  std::string label;
  uint64_t begin_ns = 0, end_ns = 0;
};

struct TimelineMark {
  int node = -1;
  std::string track;
  std::string label;
  std::string detail;
  uint64_t time_ns = 0;
};

struct TimelineCounter {
  int node = -1;
  std::string name;  // "op log"
  std::string unit;  // "entries": Perfetto names the track "op log entries"
  std::vector<std::pair<uint64_t, int64_t>> samples;  // (time, value), the first at begin_ns
};

struct TimelineViolation {
  std::string invariant;
  std::string detail;
  uint64_t time_ns = 0;
};

struct Timeline {
  std::string title;  // "scenario partition_heal, seed 1"
  uint64_t begin_ns = 0, end_ns = 0;
  std::vector<TimelineLane> lanes;  // the kept nodes, in node order
  std::vector<TimelineMessage> messages;
  std::vector<TimelineSpan> spans;
  std::vector<TimelineMark> marks;
  std::vector<TimelineCounter> counters;
  std::optional<TimelineViolation> violation;
  std::string filter;  // what was left out ("nodes n0,n3; key k33"), empty when nothing
};

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_TIMELINE_MODEL_H_
