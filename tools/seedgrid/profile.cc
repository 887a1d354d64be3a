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

nlohmann::json RunProfile::Json(double wall_ms, uint64_t virtual_ms) const {
  nlohmann::json rows = nlohmann::json::array();
  for (const Line& l : Lines(*this, wall_ms)) {
    rows.push_back(
        {{"node", l.kind}, {"event", l.event}, {"count", l.row.count}, {"wall_ms", l.row.wall_ms}});
  }
  return {{"wall_ms", wall_ms}, {"virtual_ms", virtual_ms}, {"rows", rows}};
}

std::string ProfileTable(const nlohmann::json& profile) {
  const double wall_ms = profile.at("wall_ms").get<double>();
  const uint64_t virtual_ms = profile.at("virtual_ms").get<uint64_t>();
  const double compression = wall_ms > 0 ? static_cast<double>(virtual_ms) / wall_ms : 0;
  std::string out = fmt::format(
      "profile: {:.0f} ms of wall time for {} virtual ms ({:.1f}x); by node kind and event, "
      "largest first:\n",
      wall_ms, virtual_ms, compression);
  out += fmt::format("  {:<8} {:<32} {:>10} {:>11} {:>6} {:>9}\n", "node", "event", "count",
                     "wall ms", "%", "us/event");
  for (const nlohmann::json& row : profile.at("rows")) {
    const uint64_t count = row.at("count").get<uint64_t>();
    const double row_ms = row.at("wall_ms").get<double>();
    const double pct = wall_ms > 0 ? 100.0 * row_ms / wall_ms : 0;
    const std::string per =
        count == 0 ? std::string("-") : fmt::format("{:.1f}", 1000.0 * row_ms / count);
    out += fmt::format("  {:<8} {:<32} {:>10} {:>11.1f} {:>6.1f} {:>9}\n",
                       row.at("node").get<std::string>(), row.at("event").get<std::string>(), count,
                       row_ms, pct, per);
  }
  return out;
}

}  // namespace seedgrid::tools
