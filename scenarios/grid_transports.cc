// GridCluster's client transports: HTTP-only clients, WebSocket clients, and clients that switch
// between the two mid-run (GridConfig::http_client_pct, switching_client_pct).
#include <fmt/format.h>

#include "scenarios/grid_cluster.h"
#include "sim/random.h"

namespace seedgrid::scenarios {

namespace {

int CountOf(int clients, uint32_t pct) { return static_cast<int>(clients * pct / 100); }

}  // namespace

ClientTransport GridCluster::InitialTransport(int c) const {
  return c < CountOf(g_.clients, g_.http_client_pct) ? ClientTransport::kHttp
                                                     : ClientTransport::kWebSocket;
}

void GridCluster::ScheduleTransportSwitches() {
  const int first = CountOf(g_.clients, g_.http_client_pct);
  const int last = first + CountOf(g_.clients, g_.switching_client_pct);
  switch_random_.clear();
  for (int c = 0; c < g_.clients; ++c) {
    switch_random_.push_back(sim::Substream(run_.seed, fmt::format("grid/transport/c{}", c)));
  }
  for (int c = first; c < last; ++c) ScheduleSwitch(c);
}

void GridCluster::ScheduleSwitch(int c) {
  const uint64_t ms = static_cast<uint64_t>(
      sim::SignedIn(switch_random_[c], g_.transport_switch_ms.lo, g_.transport_switch_ms.hi));
  const uint64_t at = sim_.now_ns() + ms * kNsPerMs;
  if (at >= s_.duration_ms * kNsPerMs) return;  // Bounded by the safety phase.
  sim_.At(at, [this, c] {
    SwitchTransport(c);
    ScheduleSwitch(c);
  });
}

// Flips a running or stopped client's transport (a stopped one restarts with the new one); a
// paused one keeps its transport until the next switch.
void GridCluster::SwitchTransport(int c) {
  const int node = ClientNode(c);
  GridClient* client = clients_[c].get();
  if (client != nullptr && sim_.paused(node)) return;
  const bool to_http = transport_[c] == ClientTransport::kWebSocket;
  transport_[c] = to_http ? ClientTransport::kHttp : ClientTransport::kWebSocket;
  sim_.TraceFault(node,
                  fmt::format("n{} switches to {}", node, ClientTransportName(transport_[c])));
  if (client == nullptr) return;
  sim::Simulator::ActingAs acting(sim_, node);
  client->SetTransport(transport_[c]);  // To HTTP: its live queries are cancelled.
  if (to_http) {
    streams_[c].clear();
  } else {
    Subscribe(c);
  }
}

}  // namespace seedgrid::scenarios
