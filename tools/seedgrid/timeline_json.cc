#include "tools/seedgrid/timeline_json.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>
#include <vector>

namespace seedgrid::tools {

namespace {

using nlohmann::json;

constexpr uint64_t kSliceNs = 100'000;  // a message slice lasts 100 µs, or until the next one
constexpr int kClusterPid = 1;

int PidOf(int node) { return node < 0 ? kClusterPid : node + 2; }
double Us(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

int FixedTid(const std::string& track) {
  static const std::map<std::string, int> kTids = {
      {kTrackPhases, 1},    {kTrackPartitions, 2}, {kTrackChecks, 3},  {kTrackOut, 1},
      {kTrackIn, 2},        {kTrackTimers, 3},     {kTrackStorage, 4}, {kTrackOps, 5},
      {kTrackLifecycle, 6}, {kTrackDown, 7},       {kTrackPaused, 8},  {kTrackOffline, 9},
      {kTrackNetwork, 10}};
  auto it = kTids.find(track);
  return it == kTids.end() ? 0 : it->second;
}

// Collects events, assigns tracks, and writes them sorted by (time, phase rank).
class Writer {
 public:
  // Rank at equal times: a span ends before the next begins; a slice exists before its flow.
  void Add(uint64_t ts_ns, int rank, const json& e) {
    events_.push_back(Event{ts_ns, rank, Dump(e)});  // Text: a fraction of a json's memory.
  }

  json On(int node, const std::string& track, std::string_view ph, std::string name,
          uint64_t ts_ns) {
    return json{{"ph", ph},
                {"name", std::move(name)},
                {"pid", PidOf(node)},
                {"tid", Tid(node, track)},
                {"ts", Us(ts_ns)}};
  }

  int Tid(int node, const std::string& track) {
    auto it = tids_.find({node, track});
    if (it != tids_.end()) return it->second;
    int tid = FixedTid(track);
    if (tid == 0) tid = 20 + static_cast<int>(dynamic_[node]++);
    tids_[{node, track}] = tid;
    return tid;
  }

  std::string Finish(const Timeline& t) {
    std::stable_sort(events_.begin(), events_.end(), [](const Event& a, const Event& b) {
      return a.ts_ns != b.ts_ns ? a.ts_ns < b.ts_ns : a.rank < b.rank;
    });
    std::string out = "{\"displayTimeUnit\":\"ms\",\"otherData\":";
    out += json{{"title", t.title},
                {"window_ms", {Ms(t.begin_ns), Ms(t.end_ns)}},
                {"filter", t.filter},
                {"time", "virtual microseconds"}}
               .dump();
    out += ",\"traceEvents\":[\n";
    bool first = true;
    for (const json& m : Metadata(t)) Append(out, Dump(m), first);
    for (const Event& e : events_) Append(out, e.text, first);
    out += "\n]}\n";
    return out;
  }

 private:
  struct Event {
    uint64_t ts_ns;
    int rank;
    std::string text;
  };

  static std::string Dump(const json& e) {
    return e.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  static void Append(std::string& out, const std::string& e, bool& first) {
    if (!first) out += ",\n";
    first = false;
    out += e;
  }

  std::vector<json> Metadata(const Timeline& t) const {
    std::vector<json> out;
    const auto process = [&](int node, const std::string& name) {
      out.push_back(json{{"ph", "M"},
                         {"name", "process_name"},
                         {"pid", PidOf(node)},
                         {"tid", 0},
                         {"args", {{"name", name}}}});
      out.push_back(json{{"ph", "M"},
                         {"name", "process_sort_index"},
                         {"pid", PidOf(node)},
                         {"tid", 0},
                         {"args", {{"sort_index", PidOf(node)}}}});
    };
    process(-1, "cluster");
    for (const TimelineLane& l : t.lanes) process(l.node, l.name);
    for (const auto& [key, tid] : tids_) {
      const int pid = PidOf(key.first);
      out.push_back(json{{"ph", "M"},
                         {"name", "thread_name"},
                         {"pid", pid},
                         {"tid", tid},
                         {"args", {{"name", key.second}}}});
      out.push_back(json{{"ph", "M"},
                         {"name", "thread_sort_index"},
                         {"pid", pid},
                         {"tid", tid},
                         {"args", {{"sort_index", tid}}}});
    }
    return out;
  }

  std::vector<Event> events_;
  std::map<std::pair<int, std::string>, int> tids_;
  std::map<int, size_t> dynamic_;
};

bool Kept(const Timeline& t, int node) {
  if (node < 0) return false;
  return std::any_of(t.lanes.begin(), t.lanes.end(),
                     [node](const TimelineLane& l) { return l.node == node; });
}

// Message slices of one track: messages grouped by instant, each slice lasting until the next.
void WriteSlices(Writer& w, int node, const std::string& track,
                 const std::map<uint64_t, std::vector<const TimelineMessage*>>& at) {
  const bool out = track == kTrackOut;
  for (auto it = at.begin(); it != at.end(); ++it) {
    const auto next = std::next(it);
    // 1 ns short of the next slice: viewers add ts and dur in floating point.
    const uint64_t dur =
        next == at.end() ? kSliceNs : std::min(kSliceNs, next->first - it->first - 1);
    const std::vector<const TimelineMessage*>& ms = it->second;
    const TimelineMessage& m0 = *ms.front();
    std::string name = ms.size() > 1 ? fmt::format("{} ×{}", out ? "send" : "receive", ms.size())
                       : out         ? fmt::format("{} -> n{}", m0.name, m0.to)
                                     : fmt::format("{} <- n{}", m0.name, m0.from);
    json e = w.On(node, track, "X", std::move(name), it->first);
    e["dur"] = Us(dur);
    e["cat"] = "message";
    json list = json::array();
    for (const TimelineMessage* m : ms) {
      list.push_back(fmt::format("{} n{} -> n{} (sent {:.3f} ms, {}): {}", m->name, m->from, m->to,
                                 Ms(m->sent_ns), m->lost.empty() ? "delivered" : "lost: " + m->lost,
                                 m->summary));
    }
    e["args"] = {{"messages", std::move(list)}};
    w.Add(it->first, 1, e);
  }
}

void WriteMessages(Writer& w, const Timeline& t) {
  std::map<int, std::map<uint64_t, std::vector<const TimelineMessage*>>> sends, deliveries;
  for (const TimelineMessage& m : t.messages) {
    const bool from = Kept(t, m.from), to = Kept(t, m.to);
    if (!m.lost.empty()) {
      const int node = m.lost_at_send ? m.from : m.to;
      if (!m.lost_at_send && from) sends[m.from][m.sent_ns].push_back(&m);
      if (!Kept(t, node)) continue;
      json e = w.On(node, m.lost_at_send ? kTrackOut : kTrackIn, "i",
                    fmt::format("lost {} n{} -> n{}: {}", m.name, m.from, m.to, m.lost), m.end_ns);
      e["s"] = "t";
      e["cat"] = "lost";
      e["args"] = {{"why", m.lost}, {"sent_ms", Ms(m.sent_ns)}, {"summary", m.summary}};
      w.Add(m.end_ns, 3, e);
      continue;
    }
    if (from) sends[m.from][m.sent_ns].push_back(&m);
    if (to) deliveries[m.to][m.end_ns].push_back(&m);
    if (!from || !to) continue;
    json s = w.On(m.from, kTrackOut, "s", m.name, m.sent_ns);
    s["id"] = m.id;
    s["cat"] = "message";
    w.Add(m.sent_ns, 2, s);
    json f = w.On(m.to, kTrackIn, "f", m.name, m.end_ns);
    f["id"] = m.id;
    f["cat"] = "message";
    f["bp"] = "e";
    w.Add(m.end_ns, 2, f);
  }
  for (const auto& [node, at] : sends) WriteSlices(w, node, kTrackOut, at);
  for (const auto& [node, at] : deliveries) WriteSlices(w, node, kTrackIn, at);
}

void WriteSpansAndMarks(Writer& w, const Timeline& t) {
  for (const TimelineSpan& s : t.spans) {
    json b = w.On(s.node, s.track, "B", s.label, s.begin_ns);
    b["cat"] = s.track;
    w.Add(s.begin_ns, 1, b);
    json e = w.On(s.node, s.track, "E", s.label, s.end_ns);
    e["cat"] = s.track;
    w.Add(s.end_ns, 0, e);
  }
  for (const TimelineMark& m : t.marks) {
    json e = w.On(m.node, m.track, "i", m.label, m.time_ns);
    e["s"] = "t";
    e["cat"] = m.track;
    if (!m.detail.empty()) e["args"] = {{"detail", m.detail}};
    w.Add(m.time_ns, 3, e);
  }
  for (const TimelineCounter& c : t.counters) {
    for (const auto& [ts, v] : c.samples) {
      w.Add(ts, 3,
            json{{"ph", "C"},
                 {"name", c.name},
                 {"pid", PidOf(c.node)},
                 {"tid", 0},
                 {"ts", Us(ts)},
                 {"args", {{c.unit, v}}}});
    }
  }
  if (t.violation) {
    json e =
        w.On(-1, kTrackPhases, "i", "violation: " + t.violation->invariant, t.violation->time_ns);
    e["s"] = "g";
    e["cat"] = "violation";
    e["args"] = {{"invariant", t.violation->invariant},
                 {"detail", t.violation->detail},
                 {"time_ms", Ms(t.violation->time_ns)}};
    w.Add(t.violation->time_ns, 4, e);
  }
}

}  // namespace

std::string RenderTraceEventJson(const Timeline& t) {
  Writer w;
  WriteMessages(w, t);
  WriteSpansAndMarks(w, t);
  return w.Finish(t);
}

}  // namespace seedgrid::tools
