#include "engine/env/real/http_sync_network.h"

#include <fmt/format.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <deque>
#include <optional>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "engine/base/assert.h"

namespace seedgrid {

// Named, not anonymous: HttpSyncNetwork::Impl holds these types (an anonymous namespace there
// trips -Wsubobject-linkage in unity builds).
namespace http_sync_internal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using ErrorCode = boost::system::error_code;

constexpr std::string_view kFlatBuffers = "application/x-flatbuffers";
// Distinct error texts logged per server between two delivered responses.
constexpr size_t kLoggedErrorsMax = 16;
// Of an error body quoted in an error text.
constexpr size_t kErrorTextBytesMax = 300;

// The media type without parameters ("application/json; charset=utf-8" -> "application/json").
std::string_view MediaType(std::string_view content_type) {
  std::string_view t = content_type.substr(0, content_type.find(';'));
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  return t;
}

// Printable, bounded text for a log line.
std::string Printable(std::string_view text) {
  std::string out;
  for (char ch : text.substr(0, kErrorTextBytesMax)) {
    out += static_cast<unsigned char>(ch) < 0x20 ? ' ' : ch;
  }
  return out;
}

// The string after "error": in a JSON error body ({"error": "..."}, escapes kept simple), or the
// start of any other body.
std::string ErrorText(std::string_view body) {
  size_t at = body.find("\"error\"");
  if (at != std::string_view::npos) at = body.find_first_not_of(" \t\r\n:", at + 7);
  if (at == std::string_view::npos || body[at] != '"') {
    return body.empty() ? "(no body)" : Printable(body);
  }
  std::string text;
  for (size_t i = at + 1; i < body.size() && body[i] != '"'; ++i) {
    if (body[i] == '\\' && i + 1 < body.size()) ++i;
    text += body[i];
  }
  return Printable(text);
}

// A failure that a stale keep-alive connection (closed by the server while idle) explains.
bool StaleConnectionError(const ErrorCode& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe;
}

inline std::chrono::milliseconds Ms(uint64_t ms) { return std::chrono::milliseconds(ms); }

class Link;

}  // namespace http_sync_internal

// The state every Link shares, held by shared_ptr: pending operations keep it alive after the
// HttpSyncNetwork is gone, and find it closed.
class HttpSyncNetwork::Impl {
 public:
  Impl(boost::asio::io_context& io, HttpSyncNetworkOptions options)
      : io(io), options(std::move(options)) {}

  void Log(const std::string& line) const {
    if (!closed && options.log) options.log(line);
  }
  void Deliver(const NodeId& from, std::string_view bytes) {
    if (closed || !handler) return;
    Handler h = handler;  // the handler may replace itself
    h(from, bytes);
  }

  boost::asio::io_context& io;
  HttpSyncNetworkOptions options;
  Handler handler;
  bool closed = false;
  HttpSyncNetworkStats stats;
  absl::btree_map<NodeId, std::shared_ptr<http_sync_internal::Link>> links;
};

namespace http_sync_internal {

// The connection to one server and the requests queued for it. Idle (no connection), or open;
// one request at a time is busy (connecting, writing, reading). Every asynchronous handler holds
// the Link (shared_from_this) and the attempt it belongs to: a handler of an abandoned attempt
// (failed, timed out, closed) does nothing.
class Link : public std::enable_shared_from_this<Link> {
 public:
  using Impl = HttpSyncNetwork::Impl;
  Link(std::shared_ptr<Impl> net, NodeId id, net::HostPort address)
      : net_(std::move(net)),
        id_(std::move(id)),
        address_(std::move(address)),
        stream_(net_->io),
        resolver_(net_->io),
        timer_(net_->io) {}

  void set_address(const net::HostPort& address) { address_ = address; }
  bool open() const { return open_; }
  const std::string& last_error() const { return last_error_; }
  size_t pending() const { return queue_.size() + (busy_ ? 1 : 0); }

  void Enqueue(std::string body) {
    queue_.push_back(std::move(body));
    while (queue_.size() > net_->options.queued_requests_max) {
      queue_.pop_front();
      ++net_->stats.requests_dropped;
    }
    Next();
  }

  // The network is closing: abandon everything.
  void Close() {
    queue_.clear();
    busy_ = false;
    Abandon();
  }

 private:
  // Starts the next queued request unless one is busy.
  void Next() {
    if (net_->closed || busy_ || queue_.empty()) return;
    busy_ = true;
    resent_ = false;
    request_ = {http::verb::post, net_->options.target, 11};
    request_.set(http::field::host, address_.ToString());
    request_.set(http::field::user_agent, "seedgrid");
    request_.set(http::field::content_type, kFlatBuffers);
    if (!net_->options.token.empty()) {
      request_.set(http::field::authorization, "Bearer " + net_->options.token);
    }
    request_.keep_alive(true);
    request_.body() = std::move(queue_.front());
    queue_.pop_front();
    request_.prepare_payload();
    open_ ? Write() : Connect();
  }

  void Connect() {
    const uint64_t attempt = ++attempt_;
    reused_ = false;
    ArmTimer(net_->options.connect_timeout_ms,
             fmt::format("no connection within {} ms", net_->options.connect_timeout_ms));
    resolver_.async_resolve(
        address_.host, std::to_string(address_.port),
        [self = shared_from_this(), attempt](ErrorCode ec, tcp::resolver::results_type r) {
          if (self->Abandoned(attempt)) return;
          if (ec) {
            return self->Fail(
                fmt::format("cannot resolve {}: {}", self->address_.host, ec.message()), true);
          }
          self->stream_.async_connect(r, [self, attempt](ErrorCode ec, const tcp::endpoint&) {
            if (self->Abandoned(attempt)) return;
            if (ec) return self->Fail(fmt::format("cannot connect: {}", ec.message()), true);
            ErrorCode ignored;  // small requests must not wait for Nagle's algorithm
            self->stream_.socket().set_option(tcp::no_delay(true), ignored);
            self->open_ = true;
            ++self->net_->stats.connections_opened;
            self->Write();
          });
        });
  }

  void Write() {
    SG_ASSERT(busy_ && open_);
    const uint64_t attempt = attempt_;
    ArmTimer(net_->options.request_timeout_ms,
             fmt::format("no response within {} ms", net_->options.request_timeout_ms));
    http::async_write(stream_, request_,
                      [self = shared_from_this(), attempt](ErrorCode ec, size_t bytes) {
                        if (self->Abandoned(attempt)) return;
                        if (ec) return self->Broken("sending the request", ec, true);
                        ++self->net_->stats.requests_sent;
                        self->net_->stats.bytes_sent += bytes;
                        self->Read();
                      });
  }

  void Read() {
    const uint64_t attempt = attempt_;
    parser_.emplace();
    parser_->body_limit(net_->options.response_bytes_max);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this(), attempt](ErrorCode ec, size_t bytes) {
                       if (self->Abandoned(attempt)) return;
                       if (ec == http::error::body_limit) {
                         return self->Fail(fmt::format("the response body exceeds {} bytes",
                                                       self->net_->options.response_bytes_max),
                                           false);
                       }
                       if (ec) {
                         return self->Broken("reading the response", ec,
                                             !self->parser_->got_some());
                       }
                       self->net_->stats.bytes_received += bytes;
                       self->OnResponse(self->parser_->release());
                     });
  }

  void OnResponse(http::response<http::string_body> response) {
    timer_.cancel();
    ++attempt_;  // A deadline handler already queued for this request must not fail the next one.
    reused_ = true;
    if (!response.keep_alive()) CloseSocket();
    busy_ = false;
    const std::string_view type = MediaType(response[http::field::content_type]);
    if (type == kFlatBuffers) {
      last_error_.clear();
      logged_.clear();
      ++net_->stats.responses_delivered;
      net_->Deliver(id_, response.body());  // may queue the next request (and start it)
    } else {
      ++net_->stats.responses_refused;
      Report(fmt::format("HTTP {}: {}", response.result_int(), ErrorText(response.body())));
    }
    Next();
  }

  // A broken connection: resent once on a fresh one if a stale keep-alive connection explains it
  // and no byte of the answer came (`unanswered`).
  void Broken(std::string_view doing, const ErrorCode& ec, bool unanswered) {
    if (reused_ && unanswered && !resent_ && StaleConnectionError(ec)) {
      resent_ = true;
      ++net_->stats.requests_resent;
      Abandon();
      return Connect();
    }
    Fail(fmt::format("{}: {}", doing, ec.message()), false);
  }

  // The busy request gets no answer; the queue goes on (on a fresh connection).
  void Fail(std::string why, bool connecting) {
    Abandon();
    ++net_->stats.requests_failed;
    if (connecting) ++net_->stats.connects_failed;
    busy_ = false;
    Report(why);
    Next();
  }

  void Report(std::string error) {
    if (logged_.size() < kLoggedErrorsMax && logged_.insert(error).second) {
      net_->Log(fmt::format("server {} ({}): {}", id_, address_.ToString(), error));
    }
    last_error_ = std::move(error);
  }

  // Ends the current attempt: its handlers find themselves abandoned.
  void Abandon() {
    ++attempt_;
    timer_.cancel();
    resolver_.cancel();
    CloseSocket();
  }

  void CloseSocket() {
    ErrorCode ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    buffer_.clear();
    open_ = false;
  }

  void ArmTimer(uint64_t ms, std::string why) {
    timer_.expires_after(Ms(ms));
    timer_.async_wait([self = shared_from_this(), attempt = attempt_, why](ErrorCode ec) {
      if (ec || self->Abandoned(attempt)) return;
      self->Fail(why, !self->open_);
    });
  }

  bool Abandoned(uint64_t attempt) const { return net_->closed || attempt != attempt_; }

  std::shared_ptr<Impl> net_;
  NodeId id_;
  net::HostPort address_;
  beast::tcp_stream stream_;
  tcp::resolver resolver_;
  asio::steady_timer timer_;  // the deadline of the current connect, or request
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;  // the busy one
  std::optional<http::response_parser<http::string_body>> parser_;
  std::deque<std::string> queue_;  // bodies waiting behind the busy one
  uint64_t attempt_ = 0;
  bool open_ = false;    // connected
  bool busy_ = false;    // request_ is being sent or answered
  bool reused_ = false;  // the connection answered a request before
  bool resent_ = false;  // request_ went once more on a fresh connection
  std::string last_error_;
  absl::btree_set<std::string> logged_;
};

}  // namespace http_sync_internal

using http_sync_internal::Link;

HttpSyncNetwork::HttpSyncNetwork(boost::asio::io_context& io, HttpSyncNetworkOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {
  SG_ASSERT(impl_->options.queued_requests_max > 0);
  SG_ASSERT(impl_->options.connect_timeout_ms > 0);
  SG_ASSERT(impl_->options.request_timeout_ms > 0);
}

HttpSyncNetwork::~HttpSyncNetwork() {
  impl_->closed = true;
  impl_->handler = nullptr;
  for (auto& [id, link] : impl_->links) link->Close();
  impl_->links.clear();  // the links still busy live on in their handlers, which do nothing
}

void HttpSyncNetwork::AddPeer(const NodeId& id, const net::HostPort& address) {
  auto it = impl_->links.find(id);
  if (it != impl_->links.end()) return it->second->set_address(address);
  impl_->links.emplace(id, std::make_shared<Link>(impl_, id, address));
}

absl::Status HttpSyncNetwork::Send(const NodeId& from, const NodeId& to, std::string_view bytes) {
  SG_ASSERT(from == impl_->options.local_id);
  if (impl_->closed) return absl::UnavailableError("the network is closed");
  auto it = impl_->links.find(to);
  if (it == impl_->links.end()) {
    return absl::NotFoundError(fmt::format("no address for server '{}'", to));
  }
  it->second->Enqueue(std::string(bytes));
  return absl::OkStatus();
}

void HttpSyncNetwork::SetHandler(const NodeId& node, Handler handler) {
  SG_ASSERT(node == impl_->options.local_id);
  impl_->handler = std::move(handler);
}

bool HttpSyncNetwork::Connected(const NodeId& id) const {
  auto it = impl_->links.find(id);
  return it != impl_->links.end() && it->second->open();
}

std::string HttpSyncNetwork::LastError(const NodeId& id) const {
  auto it = impl_->links.find(id);
  return it == impl_->links.end() ? "" : it->second->last_error();
}

size_t HttpSyncNetwork::Pending(const NodeId& id) const {
  auto it = impl_->links.find(id);
  return it == impl_->links.end() ? 0 : it->second->pending();
}

HttpSyncNetworkStats HttpSyncNetwork::stats() const { return impl_->stats; }

}  // namespace seedgrid
