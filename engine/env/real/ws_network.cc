#include "engine/env/real/ws_network.h"

#include <fmt/format.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <deque>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "engine/base/assert.h"
#include "engine/net/backoff.h"

namespace seedgrid {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using ErrorCode = boost::system::error_code;

// Named, not anonymous: WsNetwork::Impl holds these types (an anonymous namespace there trips
// -Wsubobject-linkage in unity builds).
namespace ws_internal {

class Connection;
class HttpSession;

constexpr const char* kClosedByPeer = "closed by the peer";  // a client leaving is not news

std::chrono::milliseconds Ms(uint64_t ms) { return std::chrono::milliseconds(ms); }

// {"error": "..."} for the transport's own messages (ASCII text it wrote itself).
std::string JsonErrorBody(std::string_view message) {
  std::string escaped;
  for (char ch : message) {
    if (static_cast<unsigned char>(ch) < 0x20) continue;
    if (ch == '"' || ch == '\\') escaped += '\\';
    escaped += ch;
  }
  return fmt::format(R"({{"error": "{}"}})", escaped);
}

}  // namespace ws_internal

using ws_internal::Connection;
using ws_internal::HttpSession;
using ws_internal::JsonErrorBody;
using ws_internal::kClosedByPeer;
using ws_internal::Ms;

// Everything the connections share. Held by shared_ptr: queued handlers keep it alive after the
// WsNetwork is gone, and find it closed.
class WsNetwork::Impl : public std::enable_shared_from_this<WsNetwork::Impl> {
 public:
  Impl(asio::io_context& io, Clock& clock, Random& random, WsNetworkOptions options)
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

  asio::io_context& io;
  Clock& clock;
  Random& random;
  WsNetworkOptions options;
  tcp::acceptor acceptor;
  asio::steady_timer maintain_timer;
  asio::steady_timer accept_timer;
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
  Connection(std::shared_ptr<Impl> net, tcp::socket socket, bool inbound)
      : net_(std::move(net)),
        ws_(std::move(socket)),
        inbound_(inbound),
        handshake_timer_(net_->io) {}
  Connection(std::shared_ptr<Impl> net, bool inbound)
      : net_(std::move(net)), ws_(net_->io), inbound_(inbound), handshake_timer_(net_->io) {}

  const NodeId& peer() const { return peer_; }
  net::Role peer_role() const { return peer_role_; }
  bool open() const { return state_ == State::kOpen; }

  // Inbound: the upgrade request was read by the HTTP session.
  void AcceptUpgrade(http::request<http::string_body> request) {
    ArmHandshakeTimer();
    Configure(beast::role_type::server);
    ws_.async_accept(request, [self = shared_from_this()](ErrorCode ec) {
      if (ec) return self->Fail(fmt::format("WebSocket upgrade failed: {}", ec.message()));
      self->Read();
    });
  }

  // Outbound: resolve, connect, upgrade, send the Hello, await the answer.
  void Dial(NodeId expected, const net::HostPort& address, std::string hello) {
    peer_ = std::move(expected);
    peer_role_ = net::Role::kServer;
    address_ = address.ToString();
    ArmHandshakeTimer();
    Send(std::move(hello), /*handshake=*/true);
    auto resolver = std::make_shared<tcp::resolver>(net_->io);
    resolver->async_resolve(
        address.host, std::to_string(address.port),
        [self = shared_from_this(), resolver, host = address_](ErrorCode ec,
                                                               tcp::resolver::results_type r) {
          if (ec) return self->Fail(fmt::format("cannot resolve {}: {}", host, ec.message()));
          beast::get_lowest_layer(self->ws_).expires_after(
              Ms(self->net_->options.handshake_timeout_ms));
          beast::get_lowest_layer(self->ws_).async_connect(
              r, [self, host](ErrorCode ec, const tcp::endpoint&) {
                if (ec) return self->Fail(fmt::format("cannot connect: {}", ec.message()));
                self->Configure(beast::role_type::client);
                self->ws_.async_handshake(host, "/v1/ws", [self](ErrorCode ec) {
                  if (ec) return self->Fail(fmt::format("WebSocket upgrade: {}", ec.message()));
                  self->Flush();
                  self->Read();
                });
              });
        });
  }

  // Queues a frame. Handshake frames go first; others wait for the Welcome.
  void Send(std::string frame, bool handshake = false) {
    if (state_ == State::kClosed) return;
    std::deque<std::string>& q = (handshake || state_ == State::kOpen) ? out_ : held_;
    queued_bytes_ += frame.size();
    q.push_back(std::move(frame));
    // Over a bound: drop the oldest frames, never the one being written (its buffer is in use)
    // nor the handshake's.
    const size_t keep = (&q == &out_ && (writing_ || state_ != State::kOpen)) ? 1 : 0;
    while (q.size() > keep + 1 && (q.size() > net_->options.queued_frames_max ||
                                   queued_bytes_ > net_->options.queued_bytes_max)) {
      queued_bytes_ -= q[keep].size();
      q.erase(q.begin() + static_cast<std::ptrdiff_t>(keep));
      ++net_->stats.frames_dropped;
    }
    if (&q == &out_) Flush();
  }

  void Close(const std::string& why) {
    if (state_ == State::kClosed) return;
    const bool was_open = state_ == State::kOpen;
    state_ = State::kClosed;
    handshake_timer_.cancel();
    ErrorCode ignored;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(ws_).close();
    net_->Closed(this, why, was_open);
  }

  bool inbound() const { return inbound_; }

  // Closes the connection if its handshake (upgrade, Hello, Welcome) is not done in time: a peer
  // that upgrades and then says nothing must not hold a connection forever.
  void ArmHandshakeTimer() {
    handshake_timer_.expires_after(Ms(net_->options.handshake_timeout_ms));
    handshake_timer_.async_wait([self = shared_from_this()](ErrorCode ec) {
      if (ec || self->state_ != State::kHandshaking) return;
      self->Fail(
          fmt::format("no handshake within {} ms", self->net_->options.handshake_timeout_ms));
    });
  }

 private:
  enum class State { kHandshaking, kOpen, kClosed };

  void Configure(beast::role_type role) {
    beast::get_lowest_layer(ws_).expires_never();
    // Small frames (acks, heartbeats) must not wait for Nagle's algorithm and delayed ACKs.
    ErrorCode ignored;
    beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), ignored);
    websocket::stream_base::timeout t;
    t.handshake_timeout = Ms(net_->options.handshake_timeout_ms);
    t.idle_timeout = Ms(net_->options.idle_timeout_ms);
    t.keep_alive_pings = true;
    ws_.set_option(t);
    ws_.read_message_max(net_->options.frame_bytes_max);
    ws_.binary(true);
    if (role == beast::role_type::server) {
      ws_.set_option(websocket::stream_base::decorator(
          [](websocket::response_type& m) { m.set(http::field::server, "seedgrid"); }));
    }
  }

  void Fail(std::string why) {
    if (state_ == State::kClosed) return;
    ++net_->stats.connections_failed;
    Close(std::move(why));
  }

  void Flush() {
    if (writing_ || out_.empty() || state_ == State::kClosed) return;
    if (!ws_.is_open()) return;  // the upgrade is still under way; it flushes when done
    writing_ = true;
    ws_.async_write(asio::buffer(out_.front()),
                    [self = shared_from_this()](ErrorCode ec, size_t bytes) {
                      self->writing_ = false;
                      if (ec) return self->Fail(fmt::format("write failed: {}", ec.message()));
                      ++self->net_->stats.frames_sent;
                      self->net_->stats.bytes_sent += bytes;
                      self->queued_bytes_ -= self->out_.front().size();
                      self->out_.pop_front();
                      if (self->closing_after_write_ && self->out_.empty()) {
                        return self->Close(self->closing_reason_);
                      }
                      self->Flush();
                    });
  }

  void Read() {
    ws_.async_read(buffer_, [self = shared_from_this()](ErrorCode ec, size_t bytes) {
      if (ec) {
        if (ec == websocket::error::message_too_big) {
          return self->Fail(
              fmt::format("a frame exceeds {} bytes", self->net_->options.frame_bytes_max));
        }
        const bool quiet = ec == websocket::error::closed || ec == asio::error::eof ||
                           ec == asio::error::operation_aborted;
        return quiet ? self->Close(kClosedByPeer)
                     : self->Fail(fmt::format("read failed: {}", ec.message()));
      }
      std::string frame = beast::buffers_to_string(self->buffer_.data());
      self->buffer_.consume(self->buffer_.size());
      ++self->net_->stats.frames_received;
      self->net_->stats.bytes_received += bytes;
      if (self->state_ == State::kHandshaking) {
        self->OnHandshake(frame);
      } else if (self->state_ == State::kOpen) {
        self->net_->Deliver(self->peer_, frame);
      }
      // A refused connection reads nothing more: it closes once the Refusal is written.
      if (self->state_ != State::kClosed && !self->closing_after_write_) self->Read();
    });
  }

  void OnHandshake(const std::string& frame) {
    absl::StatusOr<net::HandshakeFrame> f = net::DecodeHandshake(frame);
    if (inbound_) {
      net::HandshakeFrame answer =
          !f.ok() ? net::HandshakeFrame(net::Refusal{std::string(f.status().message())})
          : !std::holds_alternative<net::Hello>(*f)
              ? net::HandshakeFrame(net::Refusal{"the first frame must be a Hello"})
              : net::Answer(std::get<net::Hello>(*f),
                            net::AcceptPolicy{net_->options.local_id, net_->options.token,
                                              net_->options.role == net::Role::kServer,
                                              net_->KnownServers()});
      if (const auto* r = std::get_if<net::Refusal>(&answer)) {
        ++net_->stats.handshakes_refused;
        RefuseAndClose(r->reason);
        return;
      }
      const net::Hello& hello = std::get<net::Hello>(*f);
      peer_ = hello.node_id;
      peer_role_ = hello.role;
      if (hello.role == net::Role::kServer && !hello.advertise.empty()) {
        if (absl::StatusOr<net::HostPort> a = net::ParseHostPort(hello.advertise); a.ok()) {
          net_->PeerOf(peer_).address = *a;
        }
      }
      Send(net::EncodeHandshake(answer), /*handshake=*/true);
    } else {
      absl::Status s = f.ok() ? net::CheckAnswer(*f, peer_, address_) : f.status();
      if (!s.ok()) {
        net_->PeerOf(peer_).last_error = std::string(s.message());
        if (s.code() == absl::StatusCode::kFailedPrecondition) ++net_->stats.handshakes_refused;
        return Fail(std::string(s.message()));
      }
      net_->Learn(std::get<net::Welcome>(*f).servers);
    }
    state_ = State::kOpen;
    handshake_timer_.cancel();
    while (!held_.empty()) {
      out_.push_back(std::move(held_.front()));
      held_.pop_front();
    }
    net_->Opened(shared_from_this());
    Flush();
  }

  void RefuseAndClose(const std::string& reason) {
    net_->Log(fmt::format("refused a connection: {}", reason));
    closing_after_write_ = true;
    closing_reason_ = "refused: " + reason;
    for (const std::string& f : held_) queued_bytes_ -= f.size();
    held_.clear();
    Send(net::EncodeHandshake(net::Refusal{reason}), /*handshake=*/true);
  }

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

// A plain HTTP connection; hands itself to a Connection on a WebSocket upgrade.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(std::shared_ptr<WsNetwork::Impl> net, tcp::socket socket)
      : net_(std::move(net)), stream_(std::move(socket)) {
    ++net_->http_sessions;
  }
  ~HttpSession() { --net_->http_sessions; }

  void Read() {
    parser_.emplace();
    parser_->body_limit(net_->options.frame_bytes_max);
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](ErrorCode ec, size_t) { self->OnRequest(ec); });
  }

 private:
  void OnRequest(ErrorCode ec) {
    if (net_->closed) return;
    if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted) {
      return Shutdown();
    }
    if (ec == http::error::body_limit) {
      return Error(413, fmt::format("the body exceeds {} bytes", net_->options.frame_bytes_max));
    }
    if (ec) return Error(400, fmt::format("malformed HTTP request: {}", ec.message()));
    http::request<http::string_body> req = parser_->release();
    if (websocket::is_upgrade(req)) {
      stream_.expires_never();
      auto c = std::make_shared<Connection>(net_, stream_.release_socket(), /*inbound=*/true);
      net_->connections.insert(c);
      c->AcceptUpgrade(std::move(req));
      return;
    }
    ++net_->stats.http_requests;
    HttpRequest r{std::string(req.method_string()), std::string(req.target()),
                  std::string(req[http::field::content_type]),
                  std::string(req[http::field::authorization]), std::move(req.body())};
    HttpResponse response{404, "application/json", R"({"error": "no HTTP here"})"};
    try {
      if (net_->http_handler) response = net_->http_handler(r);
    } catch (const std::exception& e) {  // one bad request must not stop the server
      net_->Log(fmt::format("HTTP {} {}: {}", r.method, r.target.substr(0, 200), e.what()));
      ++net_->stats.http_errors;
      response = HttpResponse{500, "application/json", JsonErrorBody("internal error")};
    }
    Write(response, req.keep_alive(), req.version());
  }

  void Error(unsigned status, const std::string& message) {
    ++net_->stats.http_errors;
    Write(HttpResponse{status, "application/json", JsonErrorBody(message)}, /*keep_alive=*/false,
          11);
  }

  void Write(const HttpResponse& r, bool keep_alive, unsigned version) {
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(r.status), version);
    res->set(http::field::server, "seedgrid");
    res->set(http::field::content_type, r.content_type);
    res->keep_alive(keep_alive);
    res->body() = r.body;
    res->prepare_payload();
    http::async_write(stream_, *res, [self = shared_from_this(), res](ErrorCode ec, size_t) {
      if (ec || !res->keep_alive() || self->net_->closed) return self->Shutdown();
      self->Read();
    });
  }

  void Shutdown() {
    ErrorCode ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  std::shared_ptr<WsNetwork::Impl> net_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

}  // namespace ws_internal

void WsNetwork::Impl::Accept() {
  acceptor.async_accept([self = shared_from_this()](ErrorCode ec, tcp::socket socket) {
    if (self->closed || !self->acceptor.is_open()) return;
    if (ec) {  // e.g. out of file descriptors: do not spin; try again shortly
      self->Log(fmt::format("accept failed: {}", ec.message()));
      self->accept_timer.expires_after(std::chrono::milliseconds(100));
      self->accept_timer.async_wait([self](ErrorCode e) {
        if (!e) self->Accept();
      });
      return;
    }
    if (self->connections.size() + self->http_sessions >= self->options.connections_max) {
      ++self->stats.connections_refused;
      ErrorCode ignored;
      socket.close(ignored);
    } else {
      std::make_shared<HttpSession>(self, std::move(socket))->Read();
    }
    self->Accept();
  });
}

void WsNetwork::Impl::Dial(const NodeId& id, std::optional<std::string> first_frame) {
  Peer& peer = PeerOf(id);
  SG_ASSERT(peer.address.has_value());
  auto c = std::make_shared<Connection>(shared_from_this(), /*inbound=*/false);
  connections.insert(c);
  route[id] = c;
  net::Hello hello{net::kProtocolVersion, options.local_id, options.role, options.token,
                   options.advertise};
  c->Dial(id, *peer.address, net::EncodeHandshake(hello));
  if (first_frame) c->Send(*std::move(first_frame));
}

void WsNetwork::Impl::DialDue() {
  if (closed) return;
  const uint64_t now = clock.NowMs();
  for (auto& [id, peer] : peers) {
    if (!peer.address || route.contains(id) || now < peer.next_dial_ms) continue;
    Dial(id, std::nullopt);
  }
}

void WsNetwork::Impl::Maintain() {
  if (closed) return;
  DialDue();
  maintain_timer.expires_after(Ms(options.maintain_interval_ms));
  maintain_timer.async_wait([self = shared_from_this()](ErrorCode ec) {
    if (!ec) self->Maintain();
  });
}

void WsNetwork::Impl::Learn(const std::vector<std::string>& servers) {
  for (const std::string& text : servers) {
    absl::StatusOr<net::ServerAddress> a = net::ParseServerAddress(text);
    if (!a.ok() || a->id == options.local_id) continue;
    Peer& peer = PeerOf(a->id);
    if (!peer.address) peer.address = a->address;
  }
  DialDue();  // at once: an owner may answer this node before the next maintenance tick
}

std::vector<std::string> WsNetwork::Impl::KnownServers() const {
  std::vector<std::string> out;
  if (options.role == net::Role::kServer && !options.advertise.empty()) {
    out.push_back(options.local_id + "@" + options.advertise);
  }
  for (const auto& [id, peer] : peers) {
    if (peer.address) out.push_back(peer.address->Named(id));
  }
  return out;
}

void WsNetwork::Impl::Opened(const std::shared_ptr<Connection>& c) {
  if (closed) return c->Close("network closed");
  Peer& peer = PeerOf(c->peer());
  if (peer.backoff->failures() > 0) {
    Log(fmt::format("connected to {} after {} failed attempts", c->peer(),
                    peer.backoff->failures()));
  }
  peer.backoff->Succeeded();
  peer.last_error.clear();
  peer.gave_up_logged = false;
  route[c->peer()] = c;  // the newest connection carries frames; an older one still delivers
}

void WsNetwork::Impl::Closed(Connection* c, const std::string& why, bool was_open) {
  std::shared_ptr<Connection> keep;
  for (auto it = connections.begin(); it != connections.end(); ++it) {
    if (it->get() == c) {
      keep = *it;
      connections.erase(it);
      break;
    }
  }
  if (closed || c->peer().empty()) return;
  bool other_open = false;
  for (const std::shared_ptr<Connection>& other : connections) {
    other_open |= other->peer() == c->peer() && other->open();
  }
  auto r = route.find(c->peer());
  if (r != route.end() && r->second.get() == c) {
    route.erase(r);
    for (const std::shared_ptr<Connection>& other : connections) {  // another open one?
      if (other->peer() == c->peer() && other->open()) route[c->peer()] = other;
    }
  }
  if (other_open) return;  // a duplicate link (both sides dialled): the peer is still reachable
  const bool dial_failed = !was_open && !c->inbound();
  auto p = peers.find(c->peer());
  if (dial_failed && p != peers.end() && p->second.address) {
    Peer& peer = p->second;
    const uint64_t now = clock.NowMs();
    const bool first = peer.backoff->failures() == 0;
    peer.next_dial_ms = now + peer.backoff->Failed(now, random);
    peer.last_error = why;
    if (first) Log(fmt::format("cannot reach {}: {}", c->peer(), why));
  } else if (was_open && (c->peer_role() == net::Role::kServer || why != kClosedByPeer)) {
    Log(fmt::format("{} {} disconnected: {}", net::RoleName(c->peer_role()), c->peer(), why));
  }
}

void WsNetwork::Impl::CloseAll() {
  closed = true;
  ErrorCode ignored;
  acceptor.close(ignored);
  maintain_timer.cancel();
  accept_timer.cancel();
  absl::btree_set<std::shared_ptr<Connection>> all = std::move(connections);
  connections.clear();
  route.clear();
  for (const std::shared_ptr<Connection>& c : all) c->Close("network closed");
  handler = nullptr;
  http_handler = nullptr;
}

WsNetwork::WsNetwork(asio::io_context& io, Clock& clock, Random& random, WsNetworkOptions options)
    : impl_(std::make_shared<Impl>(io, clock, random, std::move(options))) {
  impl_->Maintain();
}

WsNetwork::~WsNetwork() { impl_->CloseAll(); }

absl::StatusOr<uint16_t> WsNetwork::Listen(const net::HostPort& at, HttpHandler http) {
  ErrorCode ec;
  const asio::ip::address ip = asio::ip::make_address(at.host, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        fmt::format("listen address '{}' is not an IP address: {}", at.host, ec.message()));
  }
  const tcp::endpoint endpoint(ip, at.port);
  tcp::acceptor& a = impl_->acceptor;
  a.open(endpoint.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) {
    impl_->http_handler = std::move(http);
    impl_->Accept();
    return a.local_endpoint().port();
  }
  ErrorCode ignored;
  a.close(ignored);
  return absl::UnavailableError(
      fmt::format("cannot listen on {}: {}", at.ToString(), ec.message()));
}

void WsNetwork::StopAccepting() {
  ErrorCode ignored;
  impl_->acceptor.close(ignored);
}

void WsNetwork::SetIdentity(const NodeId& local_id, const std::string& advertise) {
  SG_ASSERT(impl_->connections.empty());
  impl_->options.local_id = local_id;
  impl_->options.advertise = advertise;
}

void WsNetwork::AddPeer(const NodeId& id, const net::HostPort& address) {
  impl_->PeerOf(id).address = address;
}

absl::Status WsNetwork::Send(const NodeId& from, const NodeId& to, std::string_view bytes) {
  Impl& n = *impl_;
  SG_ASSERT(from == n.options.local_id);
  if (n.closed) return absl::UnavailableError("the network is closed");
  if (auto r = n.route.find(to); r != n.route.end()) {
    r->second->Send(std::string(bytes));
    return absl::OkStatus();
  }
  auto p = n.peers.find(to);
  if (p == n.peers.end() || !p->second.address) {
    return absl::NotFoundError(fmt::format("no connection to '{}' and no address for it", to));
  }
  Impl::Peer& peer = p->second;
  const uint64_t now = n.clock.NowMs();
  if (now < peer.next_dial_ms) {
    ++n.stats.frames_dropped;
    if (!peer.backoff->GaveUp(now)) return absl::OkStatus();  // lost, as on a real network
    if (!peer.gave_up_logged) {
      peer.gave_up_logged = true;
      n.Log(fmt::format("still cannot reach {} after {} ms (last error: {}); retrying", to,
                        n.options.give_up_after_ms, peer.last_error));
    }
    return absl::UnavailableError(fmt::format("cannot reach '{}' for {} ms: {}", to,
                                              n.options.give_up_after_ms, peer.last_error));
  }
  n.Dial(to, std::string(bytes));
  return absl::OkStatus();
}

void WsNetwork::SetHandler(const NodeId& node, Handler handler) {
  SG_ASSERT(node == impl_->options.local_id);
  impl_->handler = std::move(handler);
}

void WsNetwork::ConnectNow() { impl_->DialDue(); }

bool WsNetwork::Settled() const {
  for (const auto& [id, peer] : impl_->peers) {
    if (peer.address && !Connected(id) && peer.last_error.empty()) return false;
  }
  return true;
}

bool WsNetwork::Connected(const NodeId& id) const {
  auto r = impl_->route.find(id);
  return r != impl_->route.end() && r->second->open();
}

std::string WsNetwork::DialError(const NodeId& id) const {
  auto p = impl_->peers.find(id);
  return p == impl_->peers.end() ? "" : p->second.last_error;
}

WsNetworkStats WsNetwork::stats() const {
  WsNetworkStats s = impl_->stats;
  for (const auto& c : impl_->connections) {
    if (!c->open()) continue;
    (c->peer_role() == net::Role::kServer ? s.servers_connected : s.clients_connected) += 1;
  }
  return s;
}

}  // namespace seedgrid
