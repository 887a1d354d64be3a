// The timeline flags of `run` and `replay` (--timeline, --html, --window, --nodes, --key) and the
// step that turns one run into those files.
//
// Contract: TimelineOutput checks every flag before the run starts (InputError naming the flag:
// exit 2), collects the run's trace events through Sink() (bounded by the window), and Write()
// writes the files after the run. With neither --timeline nor --html it does nothing (Sink() is
// empty) and the filter flags are an error. Tool-side only: the simulation never sees it.
#ifndef SEEDGRID_TOOLS_SEEDGRID_TIMELINE_OUTPUT_H_
#define SEEDGRID_TOOLS_SEEDGRID_TIMELINE_OUTPUT_H_

#include <cstdint>
#include <memory>
#include <string>

#include "scenarios/runner.h"
#include "sim/trace.h"
#include "tools/seedgrid/input.h"
#include "tools/seedgrid/timeline.h"

namespace CLI {
class App;
}  // namespace CLI

namespace seedgrid::tools {

struct TimelineFlags {
  std::string json_path;  // --timeline
  std::string html_path;  // --html
  std::string window;     // --window ("" = default)
  std::string nodes;      // --nodes
  std::string key;        // --key
};

void AddTimelineFlags(CLI::App& app, TimelineFlags& f);

class TimelineOutput {
 public:
  // Throws InputError for bad flags.
  TimelineOutput(const TimelineFlags& flags, const Loaded& loaded, uint64_t seed);

  sim::Trace::Sink Sink();
  // Writes the requested files; returns report lines naming them ("" when none were asked for).
  std::string Write(const scenarios::RunResult& result);

 private:
  TimelineFlags flags_;
  std::shared_ptr<TimelineBuilder> builder_;  // null when no file was asked for
};

// Both sinks (either may be empty).
sim::Trace::Sink TeeSinks(sim::Trace::Sink a, sim::Trace::Sink b);

// Node names of a scenario: "server n0", "client c3 (n8)", "replica n2" (exposed for tests).
std::vector<TimelineLane> LanesOf(const scenarios::Scenario& s);

// "n0,n3,c2" -> node indexes of `s`; InputError naming --nodes otherwise (exposed for tests).
std::vector<int> ParseNodes(const std::string& text, const scenarios::Scenario& s);

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_TIMELINE_OUTPUT_H_
