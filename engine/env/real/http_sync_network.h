// HttpSyncNetwork: a client's Network over HTTP sync (POST /v1/sync, tools/seedgrid/serve_http.h)
// instead of WebSocket frames. It carries a GridClient whose transport is ClientTransport::kHttp:
// the client sends only HttpSyncRequest envelopes to its current server, one at a time, and
// expects one HttpSyncResponse envelope back for each.
//
// A Network of its own rather than a mode of WsNetwork: the two share nothing but the io_context.
// WsNetwork is symmetric (it accepts and dials, handshakes, learns servers from a Welcome, keeps
// links up, frames flow both ways); this is a request/response client that never accepts, never
// handshakes and sends nothing unasked.
//
// Contract.
// - One thread: everything, the handler included, runs on the thread running the io_context;
//   Send never calls the handler before it returns.
// - Send(from, to, bytes) REQUIRES from == local_id. It POSTs `bytes` (opaque here: an encoded
//   Envelope) to http://ADDRESS/v1/sync of server `to` (its address: AddPeer, e.g. from
//   net::ParseServerAddress), with Content-Type application/x-flatbuffers and, when a token is
//   set, Authorization: Bearer TOKEN. Errors returned: NotFound (no address for `to`),
//   Unavailable (the network is closed). Nothing checks that the server at ADDRESS is named `to`
//   (there is no handshake): the answer is delivered as from `to`.
// - A response whose Content-Type is application/x-flatbuffers, whatever its status (200, 400,
//   503), is delivered to the handler as a message from `to` (its body, undecoded). Anything else
//   delivers nothing: a JSON error answer ({"error": "..."}: 401, 413, 415, 5xx), another content
//   type, a failed resolve or connect, a timeout, a broken connection, a body over
//   response_bytes_max. Each is counted, kept as LastError(to), and logged once per distinct
//   error text per server (with the server's id and address) until a response is delivered again.
//   The engine's own deadline (GridClient server_timeout_ms) then retries or switches server.
// - Connections: at most one per server, kept alive between requests (HTTP/1.1); the requests on
//   it go strictly one at a time, in Send order. A request that fails on a reused connection before
//   any byte of its response (the server closed the idle connection meanwhile) is sent once more
//   on a fresh connection: HTTP sync requests are idempotent (the servers' applied marks).
// - Bounds: per server at most queued_requests_max requests wait behind the one in flight (beyond
//   that the oldest waiting one is dropped and counted); resolving and connecting must be done in
//   connect_timeout_ms, writing a request and reading its whole response in request_timeout_ms;
//   a response body holds at most response_bytes_max bytes.
// - Destruction closes every connection and drops every queued request: no handler and no log
//   line runs afterwards, even when the io_context runs on (its pending operations hold the
//   shared state, which is then closed).
#ifndef SEEDGRID_ENGINE_ENV_REAL_HTTP_SYNC_NETWORK_H_
#define SEEDGRID_ENGINE_ENV_REAL_HTTP_SYNC_NETWORK_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "engine/env/env.h"
#include "engine/net/handshake.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace seedgrid {

struct HttpSyncNetworkOptions {
  NodeId local_id;
  std::string token;  // sent as Authorization: Bearer TOKEN; empty: no Authorization header
  std::string target = "/v1/sync";
  uint64_t connect_timeout_ms = 5'000;
  uint64_t request_timeout_ms = 30'000;
  size_t response_bytes_max = 64u << 20;
  size_t queued_requests_max = 16;  // per server, behind the one in flight
  // One line per distinct error per server (see the contract). May be empty.
  std::function<void(std::string_view line)> log;
};

struct HttpSyncNetworkStats {
  uint64_t requests_sent = 0;        // written in full (a resend on a fresh connection counts)
  uint64_t responses_delivered = 0;  // FlatBuffers bodies handed to the handler
  uint64_t responses_refused = 0;    // answered without a FlatBuffers body (JSON errors)
  uint64_t requests_failed = 0;      // no answer: connect, timeout, broken, body too large
  uint64_t connects_failed = 0;      // of requests_failed: resolve or connect failed
  uint64_t requests_dropped = 0;     // over queued_requests_max
  uint64_t requests_resent = 0;      // on a fresh connection after a stale keep-alive one
  uint64_t connections_opened = 0;
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
};

class HttpSyncNetwork final : public Network {
 public:
  HttpSyncNetwork(boost::asio::io_context& io, HttpSyncNetworkOptions options);
  // Closes every connection and drops every queued request (see the contract).
  ~HttpSyncNetwork() override;
  HttpSyncNetwork(const HttpSyncNetwork&) = delete;
  HttpSyncNetwork& operator=(const HttpSyncNetwork&) = delete;

  // The address server `id` is reached at (a changed one is used from its next connection on).
  void AddPeer(const NodeId& id, const net::HostPort& address);

  absl::Status Send(const NodeId& from, const NodeId& to, std::string_view bytes) override;
  void SetHandler(const NodeId& node, Handler handler) override;

  // A keep-alive connection to `id` is open.
  bool Connected(const NodeId& id) const;
  // The last error with `id` since a response was last delivered from it (empty when none).
  std::string LastError(const NodeId& id) const;
  // Requests to `id` queued or in flight.
  size_t Pending(const NodeId& id) const;
  HttpSyncNetworkStats stats() const;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_ENV_REAL_HTTP_SYNC_NETWORK_H_
