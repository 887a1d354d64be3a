#include <fmt/format.h>

#include "engine/base/assert.h"
#include "engine/env/real/ws_network_impl.h"

namespace seedgrid::ws_internal {

// Reading one HTTP request, and writing one response, must each be done in this time.
constexpr std::chrono::seconds kHttpIoTimeout{30};

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

Connection::Connection(std::shared_ptr<Impl> net, tcp::socket socket, bool inbound)
    : net_(std::move(net)), ws_(std::move(socket)), inbound_(inbound), handshake_timer_(net_->io) {}

Connection::Connection(std::shared_ptr<Impl> net, bool inbound)
    : net_(std::move(net)), ws_(net_->io), inbound_(inbound), handshake_timer_(net_->io) {}

void Connection::AcceptUpgrade(http::request<http::string_body> request) {
  ArmHandshakeTimer();
  Configure(beast::role_type::server);
  ws_.async_accept(request, [self = shared_from_this()](ErrorCode ec) {
    if (ec) return self->Fail(fmt::format("WebSocket upgrade failed: {}", ec.message()));
    self->Read();
  });
}

void Connection::Dial(NodeId expected, const net::HostPort& address, std::string hello) {
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

void Connection::Send(std::string frame, bool handshake) {
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

void Connection::Close(const std::string& why) {
  if (state_ == State::kClosed) return;
  const bool was_open = state_ == State::kOpen;
  state_ = State::kClosed;
  handshake_timer_.cancel();
  ErrorCode ignored;
  beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
  beast::get_lowest_layer(ws_).close();
  net_->Closed(this, why, was_open);
}

void Connection::ArmHandshakeTimer() {
  handshake_timer_.expires_after(Ms(net_->options.handshake_timeout_ms));
  handshake_timer_.async_wait([self = shared_from_this()](ErrorCode ec) {
    if (ec || self->state_ != State::kHandshaking) return;
    self->Fail(fmt::format("no handshake within {} ms", self->net_->options.handshake_timeout_ms));
  });
}

void Connection::Configure(beast::role_type role) {
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

void Connection::Fail(std::string why) {
  if (state_ == State::kClosed) return;
  ++net_->stats.connections_failed;
  Close(std::move(why));
}

void Connection::Flush() {
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

void Connection::Read() {
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

void Connection::OnHandshake(const std::string& frame) {
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

void Connection::RefuseAndClose(const std::string& reason) {
  net_->Log(fmt::format("refused a connection: {}", reason));
  closing_after_write_ = true;
  closing_reason_ = "refused: " + reason;
  for (const std::string& f : held_) queued_bytes_ -= f.size();
  held_.clear();
  Send(net::EncodeHandshake(net::Refusal{reason}), /*handshake=*/true);
}

HttpSession::HttpSession(std::shared_ptr<WsNetwork::Impl> net, tcp::socket socket)
    : net_(std::move(net)), stream_(std::move(socket)), reply_timer_(net_->io) {
  ++net_->http_sessions;
}

HttpSession::~HttpSession() { --net_->http_sessions; }

void HttpSession::Read() {
  parser_.emplace();
  parser_->body_limit(net_->options.frame_bytes_max);
  stream_.expires_after(kHttpIoTimeout);
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](ErrorCode ec, size_t) { self->OnRequest(ec); });
}

void HttpSession::OnRequest(ErrorCode ec) {
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
  ++request_;
  awaiting_ = true;
  keep_alive_ = req.keep_alive();
  version_ = req.version();
  what_ = fmt::format("{} {}", r.method, r.target.substr(0, 200));
  ArmReplyTimer();
  Handle(r);
}

void HttpSession::Handle(const HttpRequest& r) {
  if (!net_->http_handler) {
    return Answer(request_, HttpResponse{404, "application/json", R"({"error": "no HTTP here"})"});
  }
  try {
    net_->http_handler(r, MakeReply());
  } catch (const std::exception& e) {  // one bad request must not stop the server
    net_->Log(fmt::format("HTTP {}: {}", what_, e.what()));
    ++net_->stats.http_errors;
    Answer(request_, HttpResponse{500, "application/json", JsonErrorBody("internal error")});
  }
}

HttpReply HttpSession::MakeReply() {
  struct Ticket {
    std::weak_ptr<HttpSession> session;  // weak: a reply may come after the session is gone
    uint64_t request = 0;
    bool called = false;
  };
  auto ticket = std::make_shared<Ticket>(Ticket{weak_from_this(), request_});
  return [ticket](HttpResponse response) {
    SG_ASSERT(!ticket->called);  // an HttpReply is called once
    ticket->called = true;
    if (std::shared_ptr<HttpSession> s = ticket->session.lock()) {
      s->Answer(ticket->request, response);
    }
  };
}

void HttpSession::Answer(uint64_t request, const HttpResponse& response) {
  SG_ASSERT(net_->io.get_executor().running_in_this_thread());
  if (request != request_ || !awaiting_) return;  // late: answered already (503, 500)
  awaiting_ = false;
  reply_timer_.cancel();
  if (net_->closed) return Shutdown();
  Write(response, keep_alive_, version_);
}

// Answers 503 if the handler has not replied in time (the reply, when it comes, is dropped).
void HttpSession::ArmReplyTimer() {
  reply_timer_.expires_after(Ms(net_->options.http_reply_timeout_ms));
  reply_timer_.async_wait([self = shared_from_this(), request = request_](ErrorCode ec) {
    // A cancelled or stale expiry (the reply came, or a newer request is read) does nothing.
    if (ec || request != self->request_ || !self->awaiting_) return;
    if (!self->net_->closed) {
      ++self->net_->stats.http_timeouts;
      self->net_->Log(fmt::format("HTTP {}: no reply within {} ms; answered 503", self->what_,
                                  self->net_->options.http_reply_timeout_ms));
    }
    self->Answer(request, HttpResponse{503, "application/json",
                                       JsonErrorBody("the server did not answer in time")});
  });
}

void HttpSession::Error(unsigned status, const std::string& message) {
  ++net_->stats.http_errors;
  Write(HttpResponse{status, "application/json", JsonErrorBody(message)}, /*keep_alive=*/false, 11);
}

void HttpSession::Write(const HttpResponse& r, bool keep_alive, unsigned version) {
  auto res = std::make_shared<http::response<http::string_body>>(
      static_cast<http::status>(r.status), version);
  res->set(http::field::server, "seedgrid");
  res->set(http::field::content_type, r.content_type);
  res->keep_alive(keep_alive);
  res->body() = r.body;
  res->prepare_payload();
  stream_.expires_after(kHttpIoTimeout);  // afresh: the handler may have taken a while
  http::async_write(stream_, *res, [self = shared_from_this(), res](ErrorCode ec, size_t) {
    if (ec || !res->keep_alive() || self->net_->closed) return self->Shutdown();
    self->Read();
  });
}

void HttpSession::Shutdown() {
  ErrorCode ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.close();
}

}  // namespace seedgrid::ws_internal
