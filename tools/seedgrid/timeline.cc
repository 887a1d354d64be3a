#include "tools/seedgrid/timeline.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>

namespace seedgrid::tools {

namespace {

constexpr uint64_t kNsPerMs = 1'000'000;
constexpr uint64_t kPruneEvery = 8192;
constexpr size_t kCountedMax = 1 << 16;  // per node: ids awaiting an ack, op-log seqs
constexpr char kCounterOpLog[] = "op log";
constexpr char kCounterAwaiting[] = "awaiting ack";
constexpr char kCounterInFlight[] = "in flight";  // to the node

std::string UnitOf(const std::string& counter) {
  if (counter == kCounterOpLog) return "entries";
  if (counter == kCounterAwaiting) return "requests";
  return "messages";
}

std::string_view FirstWord(std::string_view text) { return text.substr(0, text.find(' ')); }

// Every decimal number in `text` (node indexes of a fault's text: "split 0,1", "isolate n3").
std::vector<int> Numbers(std::string_view text) {
  std::vector<int> out;
  for (size_t i = 0; i < text.size() && out.size() < 4096;) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    int v = 0;
    for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) && v < 100'000;
         ++i) {
      v = v * 10 + (text[i] - '0');
    }
    out.push_back(v);
  }
  return out;
}

// The number after the last '#' (a grid op's op-log seq: "c1 set k3 {...} applied #12").
std::optional<uint64_t> SeqOf(std::string_view text) {
  const size_t at = text.rfind('#');
  if (at == std::string_view::npos || at + 1 >= text.size()) return std::nullopt;
  uint64_t v = 0;
  for (size_t i = at + 1; i < text.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i])) || v > UINT64_MAX / 10 - 10) {
      return std::nullopt;
    }
    v = v * 10 + static_cast<uint64_t>(text[i] - '0');
  }
  return v;
}

// The signed number of milliseconds in "... for 500 ms" / "... by -30 ms" / "... 300 ms".
uint64_t MsIn(std::string_view text) {
  const std::vector<int> n = Numbers(text);
  return n.empty() ? 0 : static_cast<uint64_t>(n.back()) * kNsPerMs;
}

std::string Shorten(std::string_view text, size_t max) {
  if (text.size() <= max) return std::string(text);
  return std::string(text.substr(0, max)) + "…";
}

}  // namespace

TimelineBuilder::TimelineBuilder(TimelineOptions options, std::vector<TimelineLane> lanes,
                                 std::string title)
    : options_(std::move(options)), lanes_(static_cast<int>(lanes.size())) {
  all_.lanes = std::move(lanes);
  all_.title = std::move(title);
}

bool TimelineBuilder::Kept(int node) const {
  if (node >= lanes_) return false;  // Not a node of the run (a fault text misread).
  return node < 0 || options_.nodes.empty() ||
         std::find(options_.nodes.begin(), options_.nodes.end(), node) != options_.nodes.end();
}

void TimelineBuilder::Add(const sim::TraceEvent& e) {
  latest_ns_ = std::max(latest_ns_, e.time_ns);
  const bool all = options_.key.empty();
  switch (e.kind) {
    case sim::TraceKind::kDeliver:
    case sim::TraceKind::kDrop:
    case sim::TraceKind::kDuplicate:
      AddMessage(e);
      break;
    case sim::TraceKind::kTimer:
      if (all) {
        Mark(e.node, kTrackTimers, "timer",
             fmt::format("scheduled {:.3f} ms earlier",
                         static_cast<double>(e.time_ns - std::min(e.sent_ns, e.time_ns)) / 1e6),
             e.time_ns);
      }
      break;
    case sim::TraceKind::kSync:
      if (all) Mark(e.node, kTrackStorage, std::string(e.detail), "", e.time_ns);
      break;
    case sim::TraceKind::kFault:
      AddFault(e);
      break;
    case sim::TraceKind::kOp:
      AddOp(e);
      break;
    case sim::TraceKind::kCheck:
      if (all) {
        Mark(e.node, e.node < 0 ? kTrackChecks : kTrackOps, "check", std::string(e.detail),
             e.time_ns);
      }
      break;
    case sim::TraceKind::kPhase:
      AddPhase(e);
      break;
  }
  if (++added_ % kPruneEvery == 0) Prune();
}

void TimelineBuilder::AddMessage(const sim::TraceEvent& e) {
  const MessageInfo info = DescribeMessage(e.payload);
  if (options_.key.empty()) {
    CountMessage(e, info);
  } else if (!MentionsKey(info.keys, "", options_.key)) {
    return;
  }
  if (e.kind == sim::TraceKind::kDuplicate) {
    Mark(e.peer, kTrackOut, fmt::format("duplicate {} -> n{}", info.name, e.node), info.summary,
         e.time_ns);
    return;
  }
  TimelineMessage m{e.message_id, e.peer,    e.node,      std::min(e.sent_ns, e.time_ns),
                    e.time_ns,    info.name, info.summary};
  if (!options_.key.empty() && !MentionsKey({}, m.summary, options_.key)) {
    m.summary += fmt::format(" [{}]", options_.key);  // The key was among those not listed.
  }
  if (e.kind == sim::TraceKind::kDrop) {
    m.lost = std::string(e.detail);
    m.lost_at_send = e.sent_ns >= e.time_ns;
  }
  all_.messages.push_back(std::move(m));
}

void TimelineBuilder::CountMessage(const sim::TraceEvent& e, const MessageInfo& info) {
  if (info.request_id) {
    auto& waiting = awaiting_[e.peer];
    waiting.insert({*info.request_id, e.node});
    if (waiting.size() > kCountedMax) waiting.erase(waiting.begin());  // Bounded: oldest go.
    Sample(e.peer, kCounterAwaiting, e.time_ns, static_cast<int64_t>(waiting.size()));
  }
  if (e.kind != sim::TraceKind::kDeliver) return;
  if (info.ack_id) {
    auto& waiting = awaiting_[e.node];
    if (waiting.erase({*info.ack_id, e.peer}) > 0) {
      Sample(e.node, kCounterAwaiting, e.time_ns, static_cast<int64_t>(waiting.size()));
    }
  }
  if (!info.acked_seqs.empty()) {
    auto it = op_log_.find(e.node);
    if (it == op_log_.end()) return;
    for (uint64_t seq : info.acked_seqs) it->second.erase(seq);
    Sample(e.node, kCounterOpLog, e.time_ns, static_cast<int64_t>(it->second.size()));
  }
}

void TimelineBuilder::AddOp(const sim::TraceEvent& e) {
  const std::string_view text = e.detail;
  if (options_.key.empty()) {
    if (const std::optional<uint64_t> seq = SeqOf(text); seq && e.node >= 0) {
      auto& log = op_log_[e.node];
      log.insert(*seq);
      if (log.size() > kCountedMax) log.erase(log.begin());  // Bounded: oldest go.
      Sample(e.node, kCounterOpLog, e.time_ns, static_cast<int64_t>(log.size()));
    }
  } else if (!MentionsKey({}, text, options_.key)) {
    return;
  }
  Mark(e.node, kTrackOps, Shorten(text, 40), std::string(text), e.time_ns);
}

void TimelineBuilder::AddFault(const sim::TraceEvent& e) {
  const std::string text(e.detail);
  const std::string_view word = FirstWord(text);
  const uint64_t t = e.time_ns;
  const std::vector<int> nodes = Numbers(text);
  const int node = e.node >= 0 ? e.node : (nodes.empty() ? -1 : nodes.front());
  if (word == "split" || word == "isolate" || word == "one-way" || word == "bridge") {
    AddPartition(t, text, nodes);
  } else if (word == "heal") {
    HealNetwork(t);
    Mark(-1, kTrackPartitions, "heal", text, t);
  } else if (text.starts_with("crash point ")) {  // "crash point <name> on n<i>"; "crash" follows.
    Mark(node, kTrackLifecycle, Shorten(text, 40), text, t);
  } else if (word == "crash") {
    Begin(node, kTrackDown, "down (crashed)", t);
    Mark(node, kTrackLifecycle, "crash", text, t);
  } else if (word == "restart") {
    Close(node, kTrackDown, t);
    Mark(node, kTrackLifecycle, "restart", text, t);
  } else if (word == "pause") {
    BeginOrExtend(node, kTrackPaused, "paused", t, t + MsIn(text));
  } else if (word == "clog" && nodes.size() >= 2) {
    BeginOrExtend(nodes[0], fmt::format("{}->n{}", kTrackClogPrefix, nodes[1]), text, t,
                  t + MsIn(text));
  } else if (word == "offline") {
    Begin(node, kTrackOffline, "offline", t);
  } else if (word == "online") {
    Close(node, kTrackOffline, t);
  } else {
    // clock step, torn write, disk lost, storage error, join, leave, left, ...
    Mark(node, node < 0 ? kTrackPartitions : kTrackLifecycle, Shorten(text, 40), text, t);
  }
}

void TimelineBuilder::AddPartition(uint64_t t, const std::string& text,
                                   const std::vector<int>& nodes) {
  const auto add = [&](int node, const std::string& track) {
    auto it = open_.find({node, track});
    std::string label = it == open_.end() ? text : it->second.label + "; " + text;
    Begin(node, track, std::move(label), t);
  };
  add(-1, kTrackPartitions);
  std::set<int> seen;
  for (int n : nodes) {
    if (n < static_cast<int>(all_.lanes.size()) && seen.insert(n).second) add(n, kTrackNetwork);
  }
}

void TimelineBuilder::HealNetwork(uint64_t t) {
  CloseTracks(kTrackPartitions, t);
  CloseTracks(kTrackNetwork, t);
  CloseTracks(kTrackClogPrefix, t);
}

void TimelineBuilder::AddPhase(const sim::TraceEvent& e) {
  const uint64_t t = e.time_ns;
  const std::string detail(e.detail);
  if (e.digest == 1) {
    Begin(-1, kTrackPhases, "safety", t);
    Mark(-1, kTrackPhases, "safety", detail, t);
  } else if (e.digest == 2) {
    Begin(-1, kTrackPhases, "liveness", t);
    Mark(-1, kTrackPhases, "liveness", detail, t);
    HealNetwork(t);
    CloseTracks(kTrackPaused, t);
  } else {
    Mark(-1, kTrackPhases, FirstWord(detail).empty() ? "phase" : std::string(FirstWord(detail)),
         detail, t);
  }
}

void TimelineBuilder::Begin(int node, const std::string& track, std::string label, uint64_t t,
                            uint64_t until_ns) {
  Close(node, track, t);
  open_[{node, track}] = OpenSpan{std::move(label), t, until_ns};
}

void TimelineBuilder::BeginOrExtend(int node, const std::string& track, std::string label,
                                    uint64_t t, uint64_t until_ns) {
  auto it = open_.find({node, track});
  if (it != open_.end() && it->second.until_ns > t) {
    it->second.until_ns = std::max(it->second.until_ns, until_ns);
    return;
  }
  Begin(node, track, std::move(label), t, until_ns);
}

void TimelineBuilder::Close(int node, const std::string& track, uint64_t t) {
  auto it = open_.find({node, track});
  if (it == open_.end()) return;
  const uint64_t end = std::min(t, it->second.until_ns);
  if (end > it->second.begin_ns) {
    all_.spans.push_back(
        TimelineSpan{node, track, std::move(it->second.label), it->second.begin_ns, end});
  }
  open_.erase(it);
}

void TimelineBuilder::CloseTracks(const std::string& prefix, uint64_t t) {
  std::vector<TrackKey> keys;
  for (const auto& [key, span] : open_) {
    if (key.second.rfind(prefix, 0) == 0) keys.push_back(key);
  }
  for (const TrackKey& k : keys) Close(k.first, k.second, t);
}

void TimelineBuilder::Mark(int node, const std::string& track, std::string label,
                           std::string detail, uint64_t t) {
  all_.marks.push_back(TimelineMark{node, track, std::move(label), std::move(detail), t});
}

void TimelineBuilder::Sample(int node, const std::string& name, uint64_t t, int64_t value) {
  auto [it, inserted] = counters_.try_emplace({node, name}, all_.counters.size());
  if (inserted) all_.counters.push_back(TimelineCounter{node, name, UnitOf(name), {}});
  auto& samples = all_.counters[it->second].samples;
  if (!samples.empty() && samples.back().first == t) {
    samples.back().second = value;
  } else if (samples.empty() || samples.back().second != value) {
    samples.emplace_back(t, value);
  }
}

// Drops what ended before the last two windows (the final window ends at or near the latest
// event, so nothing it needs is lost); a counter keeps its last sample before as a baseline.
void TimelineBuilder::Prune() {
  if (options_.window_ns == 0 || latest_ns_ <= 2 * options_.window_ns) return;
  const uint64_t horizon = latest_ns_ - 2 * options_.window_ns;
  std::erase_if(all_.messages, [&](const TimelineMessage& m) { return m.end_ns < horizon; });
  std::erase_if(all_.marks, [&](const TimelineMark& m) { return m.time_ns < horizon; });
  std::erase_if(all_.spans, [&](const TimelineSpan& s) { return s.end_ns < horizon; });
  for (TimelineCounter& c : all_.counters) {
    size_t first = 0;
    while (first + 1 < c.samples.size() && c.samples[first + 1].first <= horizon) ++first;
    c.samples.erase(c.samples.begin(), c.samples.begin() + static_cast<ptrdiff_t>(first));
  }
}

// Messages in flight to each node (sent, not yet delivered or lost in flight).
std::vector<TimelineCounter> TimelineBuilder::InFlight(uint64_t begin_ns, uint64_t end_ns) const {
  std::map<int, std::vector<std::pair<uint64_t, int>>> deltas;
  for (const TimelineMessage& m : all_.messages) {
    if (m.lost_at_send || m.end_ns < begin_ns || m.sent_ns > end_ns) continue;
    deltas[m.to].emplace_back(m.sent_ns, +1);
    deltas[m.to].emplace_back(m.end_ns, -1);
  }
  std::vector<TimelineCounter> out;
  for (auto& [node, d] : deltas) {
    std::sort(d.begin(), d.end());
    TimelineCounter c{node, kCounterInFlight, UnitOf(kCounterInFlight), {{begin_ns, 0}}};
    int64_t v = 0;
    for (const auto& [t, delta] : d) {
      v += delta;
      const uint64_t at = std::max(t, begin_ns);
      if (at > end_ns) break;
      if (c.samples.back().first == at) {
        c.samples.back().second = v;
      } else {
        c.samples.emplace_back(at, v);
      }
    }
    out.push_back(std::move(c));
  }
  return out;
}

Timeline TimelineBuilder::Finish(std::optional<TimelineViolation> violation) {
  const uint64_t end_ns = violation ? violation->time_ns : latest_ns_;
  const uint64_t begin_ns =
      options_.window_ns > 0 && end_ns > options_.window_ns ? end_ns - options_.window_ns : 0;
  while (!open_.empty()) Close(open_.begin()->first.first, open_.begin()->first.second, end_ns);
  Timeline out;
  out.title = all_.title;
  out.begin_ns = begin_ns;
  out.end_ns = end_ns;
  for (TimelineLane& l : all_.lanes) {
    if (Kept(l.node)) out.lanes.push_back(std::move(l));
  }
  for (TimelineMessage& m : all_.messages) {
    if (m.end_ns >= begin_ns && m.end_ns <= end_ns && (Kept(m.from) || Kept(m.to))) {
      out.messages.push_back(std::move(m));
    }
  }
  for (TimelineSpan& s : all_.spans) {
    s.begin_ns = std::max(s.begin_ns, begin_ns);
    s.end_ns = std::min(s.end_ns, end_ns);
    if (s.end_ns > s.begin_ns && Kept(s.node)) out.spans.push_back(std::move(s));
  }
  for (TimelineMark& m : all_.marks) {
    if (m.time_ns >= begin_ns && m.time_ns <= end_ns && Kept(m.node)) {
      out.marks.push_back(std::move(m));
    }
  }
  std::vector<TimelineCounter> counters = std::move(all_.counters);
  if (options_.key.empty()) {
    for (TimelineCounter& c : InFlight(begin_ns, end_ns)) counters.push_back(std::move(c));
  }
  for (TimelineCounter& c : counters) {
    if (!Kept(c.node) || c.samples.empty()) continue;
    TimelineCounter kept{c.node, c.name, c.unit, {}};
    for (const auto& [t, v] : c.samples) {
      if (t > end_ns) break;
      if (t <= begin_ns) {
        kept.samples.assign({{begin_ns, v}});
      } else {
        kept.samples.emplace_back(t, v);
      }
    }
    if (!kept.samples.empty()) out.counters.push_back(std::move(kept));
  }
  if (violation) out.violation = std::move(violation);
  std::vector<std::string> filter;
  if (!options_.nodes.empty()) {
    std::vector<std::string> names;
    for (int n : options_.nodes) names.push_back(fmt::format("n{}", n));
    filter.push_back(fmt::format("nodes {}", fmt::join(names, ",")));
  }
  if (!options_.key.empty()) filter.push_back(fmt::format("key {}", options_.key));
  out.filter = fmt::format("{}", fmt::join(filter, "; "));
  return out;
}

std::optional<uint64_t> ParseWindow(const std::string& text) {
  if (text == "all") return 0;
  size_t i = 0;
  uint64_t whole = 0, frac = 0, frac_scale = 1;
  for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) && i < 12; ++i) {
    whole = whole * 10 + static_cast<uint64_t>(text[i] - '0');
  }
  if (i == 0) return std::nullopt;
  if (i < text.size() && text[i] == '.') {
    for (++i; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) &&
              frac_scale < 1'000'000;
         ++i) {
      frac = frac * 10 + static_cast<uint64_t>(text[i] - '0');
      frac_scale *= 10;
    }
  }
  const std::string unit = text.substr(i);
  uint64_t ns_per_unit = 0;
  if (unit == "ms") ns_per_unit = kNsPerMs;
  if (unit == "s") ns_per_unit = 1000 * kNsPerMs;
  if (unit == "m" || unit == "min") ns_per_unit = 60'000 * kNsPerMs;
  if (ns_per_unit == 0 || whole > UINT64_MAX / ns_per_unit / 2) return std::nullopt;
  const uint64_t ns = whole * ns_per_unit + frac * ns_per_unit / frac_scale;
  if (ns == 0) return std::nullopt;
  return ns;
}

}  // namespace seedgrid::tools
