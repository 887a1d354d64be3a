#include "sim/trace.h"

#include <fmt/format.h>
#include <xxhash.h>

namespace seedgrid::sim {

std::string_view TraceKindName(TraceKind kind) {
  switch (kind) {
    case TraceKind::kDeliver:
      return "deliver";
    case TraceKind::kDrop:
      return "drop";
    case TraceKind::kDuplicate:
      return "duplicate";
    case TraceKind::kTimer:
      return "timer";
    case TraceKind::kFault:
      return "fault";
    case TraceKind::kOp:
      return "op";
    case TraceKind::kCheck:
      return "check";
    case TraceKind::kPhase:
      return "phase";
    case TraceKind::kSync:
      return "sync";
  }
  return "?";
}

std::string DescribeEvent(const TraceEvent& e, std::string_view detail) {
  std::string nodes;
  if (e.node >= 0) nodes = fmt::format(" n{}", e.node);
  if (e.peer >= 0) nodes += fmt::format("<-n{}", e.peer);
  return fmt::format("#{} t={}.{:09}s {}{} digest={:016x} {}", e.index, e.time_ns / 1'000'000'000,
                     e.time_ns % 1'000'000'000, TraceKindName(e.kind), nodes, e.digest, detail);
}

void Trace::Fold(uint64_t time_ns, TraceKind kind, int32_t node, int32_t peer, uint64_t digest) {
  // A fixed little record; every field is an integer, so the bytes are the same everywhere this
  // runs (x86-64 and other little-endian targets).
  const uint64_t record[4] = {
      time_ns, static_cast<uint64_t>(kind),
      (static_cast<uint64_t>(static_cast<uint32_t>(node)) << 32) | static_cast<uint32_t>(peer),
      digest};
  hash_ = XXH3_64bits_withSeed(record, sizeof(record), hash_);
}

void Trace::Emit(const TraceEvent& e) {
  if (sink_) sink_(e);
  if (keep_log_) {
    log_.push_back(
        LoggedEvent{e.time_ns, e.kind, e.node, e.peer, e.digest, hash_, std::string(e.detail)});
  }
}

int64_t FirstDivergence(const std::vector<Trace::LoggedEvent>& a,
                        const std::vector<Trace::LoggedEvent>& b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (a[i].hash_after != b[i].hash_after || a[i].detail != b[i].detail) {
      return static_cast<int64_t>(i);
    }
  }
  return a.size() == b.size() ? -1 : static_cast<int64_t>(n);
}

}  // namespace seedgrid::sim
