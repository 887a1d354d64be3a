// Internal to WsNetwork (ws_network.cc, ws_connection.cc): the state the connections share
// (WsNetwork::Impl), one WebSocket connection (Connection) and one plain HTTP connection
// (HttpSession). Not for use elsewhere.
//
// Contract.
// - Everything runs on the thread running the io_context; nothing here locks.
// - Impl is held by shared_ptr: the WsNetwork, every Connection and HttpSession, and queued
//   handlers hold it, so a handler that runs after the WsNetwork is gone finds it `closed`.
// - A Connection or HttpSession is kept alive by the handlers of its pending operations
//   (shared_from_this); Impl also holds every Connection in `connections` until it closes.
#ifndef SEEDGRID_ENGINE_ENV_REAL_WS_NETWORK_IMPL_H_
#define SEEDGRID_ENGINE_ENV_REAL_WS_NETWORK_IMPL_H_

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "engine/env/real/ws_network.h"
#include "engine/net/backoff.h"

namespace seedgrid {

// Named, not anonymous: WsNetwork::Impl holds these types (an anonymous namespace there trips
// -Wsubobject-linkage in unity builds).
namespace ws_internal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using ErrorCode = boost::system::error_code;

class Connection;
class HttpSession;

inline constexpr const char* kClosedByPeer = "closed by the peer";  // a client leaving is not news

inline std::chrono::milliseconds Ms(uint64_t ms) { return std::chrono::milliseconds(ms); }

}  // namespace ws_internal

// Everything the connections share. Held by shared_ptr: queued handlers keep it alive after the
// WsNetwork is gone, and find it closed.
class WsNetwork::Impl : public std::enable_shared_from_this<WsNetwork::Impl> {
 public:
  using Connection = ws_internal::Connection;
  using tcp = ws_internal::tcp;

  Impl(boost::asio::io_context& io, Clock& clock, Random& random, WsNetworkOptions options)
      : io(io),
        clock(clock),
        random(random),
        options(std::move(options)),
        acceptor(io),
        maintain_timer(io),
        accept_timer(io) {}

  void Log(std::string line) {
    if (options.log) options.log(line);
  }
  void Accept();
  // Dials `id` at its known address; `first_frame` (if any) goes after the handshake.
  void Dial(const NodeId& id, std::optional<std::string> first_frame);
  // Dials every known server that has no connection and whose backoff allows it.
  void DialDue();
  // DialDue, then again every maintain_interval_ms.
  void Maintain();
  // Learns the servers a Welcome lists.
  void Learn(const std::vector<std::string>& servers);
  // ID@HOST:PORT of this node (if a server) and every server with a known address.
  std::vector<std::string> KnownServers() const;
  // A connection finished its handshake: it becomes the one frames to `peer` go on.
  void Opened(const std::shared_ptr<Connection>& c);
  // `was_open`: the connection had finished its handshake (else: a dial or handshake failed).
  void Closed(Connection* c, const std::string& why, bool was_open);
  void Deliver(const NodeId& from, std::string_view bytes) {
    if (closed || !handler) return;
    handler(from, bytes);
  }
  void CloseAll();

  struct Peer {
    std::optional<net::HostPort> address;
    std::optional<net::Backoff> backoff;
    uint64_t next_dial_ms = 0;
    std::string last_error;
    bool gave_up_logged = false;
  };
  Peer& PeerOf(const NodeId& id) {
    auto [it, inserted] = peers.try_emplace(id);
    if (inserted) {
      it->second.backoff.emplace(options.dial_backoff_initial_ms, options.dial_backoff_max_ms,
                                 options.give_up_after_ms);
    }
    return it->second;
  }

  boost::asio::io_context& io;
  Clock& clock;
  Random& random;
  WsNetworkOptions options;
  tcp::acceptor acceptor;
  boost::asio::steady_timer maintain_timer;
  boost::asio::steady_timer accept_timer;
  size_t http_sessions = 0;  // live HttpSessions (plain HTTP connections)
  HttpHandler http_handler;
  Handler handler;
  bool closed = false;
  WsNetworkStats stats;
  absl::btree_map<NodeId, Peer> peers;
  // Every live connection, and the one frames to each peer go on (open or still dialling).
  absl::btree_set<std::shared_ptr<Connection>> connections;
  absl::btree_map<NodeId, std::shared_ptr<Connection>> route;
};

namespace ws_internal {

// One WebSocket connection, either side. States: handshaking (frames queue in `held_`), open,
// closed.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Impl = WsNetwork::Impl;
  Connection(std::shared_ptr<Impl> net, tcp::socket socket, bool inbound);
  Connection(std::shared_ptr<Impl> net, bool inbound);

  const NodeId& peer() const { return peer_; }
  net::Role peer_role() const { return peer_role_; }
  bool open() const { return state_ == State::kOpen; }
  bool inbound() const { return inbound_; }

  // Inbound: the upgrade request was read by the HTTP session.
  void AcceptUpgrade(http::request<http::string_body> request);
  // Outbound: resolve, connect, upgrade, send the Hello, await the answer.
  void Dial(NodeId expected, const net::HostPort& address, std::string hello);
  // Queues a frame. Handshake frames go first; others wait for the Welcome.
  void Send(std::string frame, bool handshake = false);
  void Close(const std::string& why);
  // Closes the connection if its handshake (upgrade, Hello, Welcome) is not done in time: a peer
  // that upgrades and then says nothing must not hold a connection forever.
  void ArmHandshakeTimer();

 private:
  enum class State { kHandshaking, kOpen, kClosed };

  void Configure(beast::role_type role);
  void Fail(std::string why);
  void Flush();
  void Read();
  void OnHandshake(const std::string& frame);
  void RefuseAndClose(const std::string& reason);

  std::shared_ptr<Impl> net_;
  websocket::stream<beast::tcp_stream> ws_;
  bool inbound_;
  asio::steady_timer handshake_timer_;
  State state_ = State::kHandshaking;
  NodeId peer_;
  net::Role peer_role_ = net::Role::kClient;
  std::string address_;
  beast::flat_buffer buffer_;
  std::deque<std::string> out_;   // being written, in order
  std::deque<std::string> held_;  // waiting for the handshake
  size_t queued_bytes_ = 0;       // in out_ and held_
  bool writing_ = false;
  bool closing_after_write_ = false;
  std::string closing_reason_;
};

// A plain HTTP connection; hands itself to a Connection on a WebSocket upgrade. One request at a
// time: reads a request, hands it to the HttpHandler, writes its reply (or the 503 at
// http_reply_timeout_ms), then reads the next (keep-alive) or shuts down.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(std::shared_ptr<WsNetwork::Impl> net, tcp::socket socket);
  ~HttpSession();

  void Read();

 private:
  void OnRequest(ErrorCode ec);
  // Hands the request read (number request_) to the HttpHandler.
  void Handle(const HttpRequest& r);
  // The HttpReply for request_: holds this session weakly.
  HttpReply MakeReply();
  // Answers request number `request`, unless it was answered already or a newer one is read.
  void Answer(uint64_t request, const HttpResponse& response);
  void ArmReplyTimer();
  void Error(unsigned status, const std::string& message);
  void Write(const HttpResponse& r, bool keep_alive, unsigned version);
  void Shutdown();

  std::shared_ptr<WsNetwork::Impl> net_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  asio::steady_timer reply_timer_;  // http_reply_timeout_ms for the request awaiting its reply
  uint64_t request_ = 0;            // requests read; the last one is the one answered next
  bool awaiting_ = false;           // request_ has no answer yet
  bool keep_alive_ = false;         // as request_ asks
  unsigned version_ = 11;           // of request_
  std::string what_;                // "METHOD TARGET" of request_, for the log
};

}  // namespace ws_internal
}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_ENV_REAL_WS_NETWORK_IMPL_H_
