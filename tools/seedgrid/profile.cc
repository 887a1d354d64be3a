#include "tools/seedgrid/profile.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "engine/wire/seedgrid_generated.h"

namespace seedgrid::tools {

std::string_view MessageTypeOf(std::string_view bytes) {
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  flatbuffers::Verifier verifier(data, bytes.size());
  if (bytes.size() < 8 || !wire::VerifyEnvelopeBuffer(verifier)) return "?";
  return wire::EnumNameBody(wire::GetEnvelope(data)->body_type());
}

std::string_view RunProfile::NodeKind(int node) const {
  if (node < 0) return "owner";
  if (!scenario_.grid) return "replica";
  return scenario_.IsServerNode(node) ? "server" : "client";
}

void RunProfile::Enter() { entered_ = std::chrono::steady_clock::now(); }

void RunProfile::Leave(Kind kind, int node, std::string_view bytes) {
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - entered_)
          .count();
  std::string_view event = "task (workload, faults, checks)";
  if (kind == Kind::kMessage) event = MessageTypeOf(bytes);
  if (kind == Kind::kTimer) event = "timers";
  Row& row = rows_[{std::string(NodeKind(node)), std::string(event)}];
  ++row.count;
  row.wall_ms += ms;
}

namespace {

struct Line {
  std::string kind, event;
  RunProfile::Row row;
};

// Rows by time, largest first; then "outside events" (the run's wall time not in any event).
std::vector<Line> Lines(const RunProfile& p, double wall_ms) {
  std::vector<Line> lines;
  double inside_ms = 0;
  for (const auto& [key, row] : p.rows()) {
    lines.push_back({key.first, key.second, row});
    inside_ms += row.wall_ms;
  }
  std::stable_sort(lines.begin(), lines.end(),
                   [](const Line& a, const Line& b) { return a.row.wall_ms > b.row.wall_ms; });
  lines.push_back({"-", "outside events", {0, std::max(0.0, wall_ms - inside_ms)}});
  return lines;
}

}  // namespace

std::string RunProfile::Table(double wall_ms, uint64_t virtual_ms) const {
  const double compression = wall_ms > 0 ? static_cast<double>(virtual_ms) / wall_ms : 0;
  std::string out = fmt::format(
      "profile: {:.0f} ms of wall time for {} virtual ms ({:.1f}x); by node kind and event, "
      "largest first:\n",
      wall_ms, virtual_ms, compression);
  out += fmt::format("  {:<8} {:<32} {:>10} {:>11} {:>6} {:>9}\n", "node", "event", "count",
                     "wall ms", "%", "us/event");
  for (const Line& l : Lines(*this, wall_ms)) {
    const double pct = wall_ms > 0 ? 100.0 * l.row.wall_ms / wall_ms : 0;
    const std::string per = l.row.count == 0
                                ? std::string("-")
                                : fmt::format("{:.1f}", 1000.0 * l.row.wall_ms / l.row.count);
    out += fmt::format("  {:<8} {:<32} {:>10} {:>11.1f} {:>6.1f} {:>9}\n", l.kind, l.event,
                       l.row.count, l.row.wall_ms, pct, per);
  }
  return out;
}

nlohmann::json RunProfile::Json(double wall_ms, uint64_t virtual_ms) const {
  nlohmann::json rows = nlohmann::json::array();
  for (const Line& l : Lines(*this, wall_ms)) {
    rows.push_back(
        {{"node", l.kind}, {"event", l.event}, {"count", l.row.count}, {"wall_ms", l.row.wall_ms}});
  }
  return {{"wall_ms", wall_ms}, {"virtual_ms", virtual_ms}, {"rows", rows}};
}

}  // namespace seedgrid::tools
