// The HTTP surface of `seedgrid serve` (same port as the WebSocket):
//   GET /healthz      200 {"status": "ok", ...} once the server has joined; 503 before
//   GET /metrics      Prometheus text format (version 0.0.4)
//   GET /v1/digests   {"node": ..., "partitions": {"P": {"role": "owner"|"backup"|"held",
//                     "maps": {"MAP": "hex digest"}}}} — what an operator or a test compares to
//                     see replicas converge
//   POST /v1/sync     HTTP sync (docs/deployment.md, "HTTP sync"): a JSON request
//                     (Content-Type application/json, engine/net/sync_json.h) or a FlatBuffers
//                     Envelope holding an HttpSyncRequest (application/x-flatbuffers); the answer
//                     in the same form, once the cluster has answered (HttpSync in grid_server.h).
//                     400 bad request (the error names the field), 415 another content type,
//                     503 not joined or busy; a body over the frame bound is 413 (ws_network.h).
// Every other request: 404 (unknown path) or 405 (wrong method), with {"error": "..."}. When the
// server has a token, /v1/ paths require "Authorization: Bearer TOKEN" (401 otherwise);
// /healthz and /metrics stay open for probes and scrapers.
#ifndef SEEDGRID_TOOLS_SEEDGRID_SERVE_HTTP_H_
#define SEEDGRID_TOOLS_SEEDGRID_SERVE_HTTP_H_

#include <cstdint>
#include <string>

#include "engine/cluster/grid_server.h"
#include "engine/env/real/sqlite_storage.h"
#include "engine/env/real/ws_network.h"
#include "engine/events/node_events.h"
#include "engine/hlc/hlc.h"

namespace seedgrid::tools {

// Counters fed by the server's event sink (acknowledgements by write concern, ...).
struct ServeCounters {
  uint64_t ops_applied = 0;
  uint64_t counter_ops_applied = 0;
  uint64_t or_ops_applied = 0;
  uint64_t acks[3] = {0, 0, 0};  // by msg::WriteConcern
  uint64_t acks_duplicate = 0;
  uint64_t states_acknowledged = 0;
  uint64_t partitions_handed_off = 0;
  uint64_t storage_failures = 0;
  void Count(const events::NodeEvent& e);
};

struct ServeState {
  GridServer* server = nullptr;
  const WsNetwork* network = nullptr;
  const ServeCounters* counters = nullptr;
  std::string token;
  uint64_t started_ms = 0;
  const char* commit = "";
  const SqliteStorage* storage = nullptr;  // the log's page and compaction figures, when set
};

// An HttpHandler (engine/env/real/ws_network.h) for `state`: answers through `reply`.
void HandleServeHttp(const ServeState& state, const HttpRequest& request, uint64_t now_ms,
                     const HttpReply& reply);
std::string MetricsText(const ServeState& state, uint64_t now_ms);

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_SERVE_HTTP_H_
