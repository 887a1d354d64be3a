// Effects: what a grid server component returns instead of acting — messages to send and events
// to report. The GridServer sends and emits them, in order; components never hold the server.
#ifndef SEEDGRID_ENGINE_CLUSTER_EFFECTS_H_
#define SEEDGRID_ENGINE_CLUSTER_EFFECTS_H_

#include <utility>
#include <vector>

#include "engine/env/env.h"
#include "engine/events/node_events.h"
#include "engine/wire/messages.h"

namespace seedgrid {

// A PartitionStates batch holds at most this many records (and counters) and about this many bytes
// of keys and documents, unless one state alone is bigger (it then goes alone, as before batching):
// batches stay well below the real network's frame limit (16 MiB by default, ws_network.h) and a
// lost batch costs little.
inline constexpr size_t kStatesBatchRecordsMax = 4096;
inline constexpr size_t kStatesBatchBytesMax = 4u << 20;

// What a state's records weigh on the wire, roughly (keys, field names and values).
inline size_t ApproxStateBytes(const msg::PartitionState& state) {
  size_t bytes = 64;
  for (const msg::MapRecords& m : state.maps) {
    bytes += m.map_name.size();
    for (const msg::LwwEntry& e : m.lww) {
      bytes += 48 + e.key.size() + e.record.ts.node_id.size();
      if (!e.record.value) continue;
      for (const auto& [name, value] : *e.record.value) {
        bytes += 16 + name.size();
        if (value.is_string()) bytes += value.string_value().size();
        if (value.is_list()) {
          for (std::string_view item : value.list_value()) bytes += 8 + item.size();
        }
      }
    }
    for (const msg::CounterEntry& c : m.counters) {
      bytes += 16 + c.key.size();
      for (const auto& [writer, totals] : c.state) bytes += 24 + writer.size();
    }
  }
  return bytes;
}

struct Effects {
  std::vector<std::pair<NodeId, msg::Body>> messages;
  std::vector<events::NodeEvent> events;

  void Send(const NodeId& to, msg::Body body) { messages.emplace_back(to, std::move(body)); }
  // Several partitions' states for one receiver, in order: one message per batch within
  // kStatesBatchRecordsMax and kStatesBatchBytesMax (a lone state goes as a plain PartitionState).
  void SendStates(const NodeId& to, std::vector<msg::PartitionState> states);
  void Emit(events::NodeEvent event) { events.push_back(std::move(event)); }
  void Append(Effects&& other) {
    for (auto& m : other.messages) messages.push_back(std::move(m));
    for (auto& e : other.events) events.push_back(std::move(e));
  }
  bool empty() const { return messages.empty() && events.empty(); }
};

inline void Effects::SendStates(const NodeId& to, std::vector<msg::PartitionState> states) {
  msg::PartitionStates batch;
  size_t records = 0;
  size_t bytes = 0;
  const auto flush = [&] {
    if (batch.states.size() == 1) {
      Send(to, std::move(batch.states.front()));
    } else if (!batch.states.empty()) {
      Send(to, std::move(batch));
    }
    batch.states.clear();
    records = 0;
    bytes = 0;
  };
  for (msg::PartitionState& state : states) {
    size_t n = 0;
    for (const msg::MapRecords& m : state.maps) n += m.lww.size() + m.counters.size();
    const size_t b = ApproxStateBytes(state);
    if (!batch.states.empty() &&
        (records + n > kStatesBatchRecordsMax || bytes + b > kStatesBatchBytesMax)) {
      flush();
    }
    records += n;
    bytes += b;
    batch.states.push_back(std::move(state));
  }
  flush();
}

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_CLUSTER_EFFECTS_H_
