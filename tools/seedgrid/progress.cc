#include "tools/seedgrid/progress.h"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cmath>

namespace seedgrid::tools {

std::string Duration(double seconds) {
  const uint64_t s = static_cast<uint64_t>(std::llround(std::max(seconds, 0.0)));
  if (s >= 3600) return fmt::format("{}h{:02}m{:02}s", s / 3600, s / 60 % 60, s % 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

std::string ProgressLine(const ProgressState& s) {
  std::string line =
      s.total > 0 ? fmt::format("[{}/{}]", s.done, s.total) : fmt::format("[{} runs]", s.done);
  line += fmt::format(" {} failed  {} elapsed", s.failures, Duration(s.elapsed_s));
  if (s.eta_s >= 0) line += "  ETA " + Duration(s.eta_s);
  if (!s.extra.empty()) line += "  " + s.extra;
  if (!s.running.empty()) {
    line += "  running:";
    for (size_t i = 0; i < s.running.size(); ++i) line += (i ? ", " : " ") + s.running[i];
  }
  return line;
}

ProgressPrinter::ProgressPrinter(bool tty, double plain_interval_s)
    : tty_(tty), plain_interval_s_(plain_interval_s) {}

void ProgressPrinter::Update(const ProgressState& s, bool force) {
  line_ = ProgressLine(s);
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  if (tty_ ? (force || since >= 0.1) : (since >= plain_interval_s_ || !drawn_)) {
    last_draw_ = now;
    Draw();
  }
}

void ProgressPrinter::Draw() {
  drawn_ = true;
  if (!tty_) {
    std::fprintf(stderr, "progress %s\n", line_.c_str());
    std::fflush(stderr);
    return;
  }
  winsize ws{};
  size_t width = 120;
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10) width = ws.ws_col - 1;
  std::string shown = line_.size() > width ? line_.substr(0, width) : line_;
  std::fprintf(stderr, "\r\033[K%s", shown.c_str());
  std::fflush(stderr);
}

void ProgressPrinter::Print(std::FILE* out, const std::string& text) {
  if (tty_ && drawn_) std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
  std::fputs(text.c_str(), out);
  std::fflush(out);
  if (tty_ && drawn_) Draw();
}

void ProgressPrinter::Finish() {
  if (tty_ && drawn_) std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
}

}  // namespace seedgrid::tools
