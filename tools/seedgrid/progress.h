// The live progress of suite and fuzz: one line that says how far the campaign is and which
// (scenario, seed) runs are in flight, so a long job is never silent and an interrupted one
// names what it was running.
//
// Contract: ProgressLine is a pure formatter. ProgressPrinter writes to stderr: on a terminal it
// redraws one line in place (at most ~10 times a second, and at once when forced, e.g. when a
// run starts); otherwise it prints a plain line at most every `plain_interval_s` (CI logs).
// Print() puts other output (a FAIL line) above the progress line.
#ifndef SEEDGRID_TOOLS_SEEDGRID_PROGRESS_H_
#define SEEDGRID_TOOLS_SEEDGRID_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace seedgrid::tools {

struct ProgressState {
  uint64_t done = 0;
  uint64_t total = 0;  // 0 when unknown (a time budget)
  uint64_t failures = 0;
  double elapsed_s = 0;
  double eta_s = -1;                 // < 0 when unknown
  std::vector<std::string> running;  // e.g. "grid_scale seed 3 (12 s)"
  std::string extra;                 // e.g. "distinct=2 runs/s=25.1"
};

// "[37/100] 1 failed  1m02s elapsed  ETA 40s  extra  running: a seed 3 (12 s), b seed 2 (1 s)".
std::string ProgressLine(const ProgressState& s);
// "1h02m03s", "4m05s" or "12s".
std::string Duration(double seconds);

class ProgressPrinter {
 public:
  ProgressPrinter(bool tty, double plain_interval_s);
  void Update(const ProgressState& s, bool force = false);
  // Writes `text` to `out` above the progress line.
  void Print(std::FILE* out, const std::string& text);
  // Clears the line (terminal); call before the final report.
  void Finish();
  bool tty() const { return tty_; }

 private:
  void Draw();
  const bool tty_;
  const double plain_interval_s_;
  std::string line_;
  std::chrono::steady_clock::time_point last_draw_{};
  bool drawn_ = false;
};

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_PROGRESS_H_
