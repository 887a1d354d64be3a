#include "engine/env/real/ws_network.h"

#include <fmt/format.h>

#include "engine/base/assert.h"
#include "engine/env/real/ws_network_impl.h"

namespace seedgrid {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using ErrorCode = boost::system::error_code;
using ws_internal::Connection;
using ws_internal::HttpSession;
using ws_internal::kClosedByPeer;
using ws_internal::Ms;

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
