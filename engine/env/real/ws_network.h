// WsNetwork: the production Network. Nodes talk over WebSocket binary frames (Boost.Beast), one
// engine message per frame, after the handshake of engine/net/handshake.h. The same listening port
// serves plain HTTP (health, metrics, the HTTP sync): a request that is not a WebSocket upgrade
// goes to the HttpHandler.
//
// Contract.
// - One thread: every callback (message handler, HTTP handler) runs on the thread running the
//   io_context, so the engine stays single-threaded and lock-free.
// - Send(from, to, bytes) queues the frame on the open connection to `to`, or dials `to` at its
//   known address (servers: AddPeer, or learned from a server's Hello) and queues it behind the
//   handshake. Delivery is best-effort like the simulated network's: a frame queued on a
//   connection that then fails is lost, and the engine's retries cover it. Errors returned:
//   NotFound (no connection and no address: a client that is not connected), Unavailable (every
//   dial to `to` has failed for give_up_after_ms: the frame is dropped; dialling goes on with
//   capped exponential backoff).
// - Bounds: a frame (and an HTTP body) larger than frame_bytes_max is refused (the WebSocket
//   closes with "message too big"; HTTP answers 413); at most connections_max connections at
//   once; a connection whose handshake is not done in handshake_timeout_ms is closed; a
//   connection's queue holds at most queued_frames_max frames and queued_bytes_max bytes (the
//   oldest are dropped and counted: a peer that cannot keep up costs bounded memory, and the
//   engine's retries resend); an HTTP request the HttpHandler has not answered in
//   http_reply_timeout_ms is answered 503.
// - A connection that fails the handshake (garbage, wrong token or version) is answered with a
//   Refusal and closed; it never reaches the engine. A connection that sends nothing for
//   idle_timeout_ms (the WebSocket pings it at half that) is closed.
// - Connections are kept up: every maintain_interval_ms each known server without a connection
//   is dialled (within its backoff). A Welcome lists the servers the answering server knows, and
//   the dialling side learns their addresses, so a client connects to every server of the
//   cluster (any of them may need to reach it) and a server learns of servers that joined.
// - Bad input never ends the process: every failure closes that one connection, is counted, and
//   logged as one line.
#ifndef SEEDGRID_ENGINE_ENV_REAL_WS_NETWORK_H_
#define SEEDGRID_ENGINE_ENV_REAL_WS_NETWORK_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/env/env.h"
#include "engine/net/handshake.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace seedgrid {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, e.g. "/metrics"
  std::string content_type;
  std::string authorization;
  std::string body;
};
struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
};
// Answers one HTTP request. See HttpHandler.
using HttpReply = std::function<void(HttpResponse)>;
// Handles one HTTP request (not a WebSocket upgrade) and answers it through `reply`.
// - The handler calls `reply` exactly once (twice is a bug: SG_ASSERT), on the thread running the
//   io_context, either before it returns or later (e.g. once the engine has gathered an answer
//   from other servers). A slow answer blocks nothing else: the handler returns at once and the
//   loop serves other connections meanwhile.
// - The connection reads no further request until the reply is written (HTTP/1.1 keep-alive, as
//   the request asks; the responses stay in request order).
// - If no reply comes within http_reply_timeout_ms, the transport answers 503
//   {"error": "the server did not answer in time"} itself.
// - A reply that comes after that 503, after the connection closed, or after the WsNetwork was
//   destroyed is dropped: `reply` holds the connection only weakly, so keeping it and calling it
//   late is safe, even once the WsNetwork (or the io_context) is gone.
// - A handler that throws is answered 500 {"error": "internal error"} (if it had not replied),
//   logged and counted in http_errors.
using HttpHandler = std::function<void(const HttpRequest&, HttpReply reply)>;

struct WsNetworkOptions {
  NodeId local_id;
  net::Role role = net::Role::kServer;
  std::string advertise;  // a server's HOST:PORT, sent in its Hello; empty for a client
  std::string token;      // presented when dialling, required from whoever dials in
  size_t frame_bytes_max = 16u << 20;
  size_t queued_frames_max = 100'000;
  size_t queued_bytes_max = 64u << 20;
  // Connections (WebSocket and plain HTTP) accepted at once; more are closed at accept.
  size_t connections_max = 10'000;
  uint64_t dial_backoff_initial_ms = 50;
  uint64_t dial_backoff_max_ms = 2'000;
  uint64_t give_up_after_ms = 30'000;
  uint64_t handshake_timeout_ms = 5'000;
  uint64_t idle_timeout_ms = 20'000;
  uint64_t maintain_interval_ms = 200;
  // The HttpHandler's deadline: no reply by then is answered 503 by the transport.
  uint64_t http_reply_timeout_ms = 30'000;
  // One line per notable event (connections made and lost, refusals, bad frames). May be empty.
  std::function<void(std::string_view line)> log;
};

struct WsNetworkStats {
  uint64_t frames_received = 0;
  uint64_t frames_sent = 0;
  uint64_t bytes_received = 0;
  uint64_t bytes_sent = 0;
  uint64_t frames_dropped = 0;  // queue full, or the peer unreachable
  uint64_t handshakes_refused = 0;
  uint64_t connections_failed = 0;   // dials that failed, and connections closed by an error
  uint64_t connections_refused = 0;  // over connections_max
  uint64_t http_requests = 0;
  uint64_t http_errors = 0;    // answered 4xx by the transport (too large, malformed), or 500
  uint64_t http_timeouts = 0;  // answered 503: the handler did not reply in time
  size_t clients_connected = 0;
  size_t servers_connected = 0;
};

class WsNetwork final : public Network {
 public:
  WsNetwork(boost::asio::io_context& io, Clock& clock, Random& random, WsNetworkOptions options);
  // Closes every connection. Handlers queued on the io_context afterwards do nothing.
  ~WsNetwork() override;
  WsNetwork(const WsNetwork&) = delete;
  WsNetwork& operator=(const WsNetwork&) = delete;

  // Starts accepting on `at` (port 0: a free port). Returns the bound port, or an error naming
  // the address (in use, not local, ...).
  absl::StatusOr<uint16_t> Listen(const net::HostPort& at, HttpHandler http);
  // Stops accepting new connections; open ones stay.
  void StopAccepting();
  // Names this node once its address is known (a server listening on port 0 is named after the
  // port it got). REQUIRES: no connection made yet.
  void SetIdentity(const NodeId& local_id, const std::string& advertise);
  // The address a server is dialled at.
  void AddPeer(const NodeId& id, const net::HostPort& address);

  absl::Status Send(const NodeId& from, const NodeId& to, std::string_view bytes) override;
  void SetHandler(const NodeId& node, Handler handler) override;

  // Dials every known server without a connection now (within backoff), not at the next tick.
  void ConnectNow();
  // Every known server is connected or its last dial failed: a client that waits for this
  // before its first request is reachable by every server that may answer it.
  bool Settled() const;
  // Open (handshaken) to `id`.
  bool Connected(const NodeId& id) const;
  // The last dial failure to `id` since its last success (empty when none).
  std::string DialError(const NodeId& id) const;
  WsNetworkStats stats() const;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_ENV_REAL_WS_NETWORK_H_
