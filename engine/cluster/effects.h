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

struct Effects {
  std::vector<std::pair<NodeId, msg::Body>> messages;
  std::vector<events::NodeEvent> events;

  void Send(const NodeId& to, msg::Body body) { messages.emplace_back(to, std::move(body)); }
  void Emit(events::NodeEvent event) { events.push_back(std::move(event)); }
  void Append(Effects&& other) {
    for (auto& m : other.messages) messages.push_back(std::move(m));
    for (auto& e : other.events) events.push_back(std::move(e));
  }
  bool empty() const { return messages.empty() && events.empty(); }
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_CLUSTER_EFFECTS_H_
