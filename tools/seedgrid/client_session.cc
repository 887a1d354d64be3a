#include "tools/seedgrid/client_session.h"

#include <fmt/format.h>

#include <boost/asio/io_context.hpp>
#include <cstdio>

#include "engine/base/strings.h"
#include "engine/env/mem_storage.h"
#include "engine/env/real/asio_timers.h"
#include "engine/env/real/sqlite_storage.h"
#include "engine/net/handshake.h"
#include "tools/seedgrid/command.h"
#include "tools/seedgrid/input.h"

namespace seedgrid::tools {

msg::WriteConcern ParseConcern(const std::string& text) {
  if (text == "applied") return msg::WriteConcern::kApplied;
  if (text == "replicated") return msg::WriteConcern::kReplicated;
  if (text == "fire-and-forget") return msg::WriteConcern::kFireAndForget;
  throw InputError{
      fmt::format("--concern '{}' is not one of applied, replicated, fire-and-forget", text)};
}

ClientTransport ParseTransport(const std::string& text) {
  if (text == "websocket") return ClientTransport::kWebSocket;
  if (text == "http") return ClientTransport::kHttp;
  throw InputError{fmt::format("--transport '{}' is not one of websocket, http", text)};
}

Session::Session(const ClientFlags& f, std::shared_ptr<boost::asio::io_context> io,
                 uint64_t push_interval_ms, uint64_t sync_interval_ms)
    : flags_(f), io_(io ? std::move(io) : std::make_shared<boost::asio::io_context>()) {
  timeout_ms_ = ParseDuration(f.timeout, "--timeout", /*zero_ok=*/false) * 1000;
  std::vector<net::ServerAddress> servers;
  for (const std::string& s : f.servers) {
    absl::StatusOr<net::ServerAddress> a = net::ParseServerAddress(s);
    if (!a.ok()) throw InputError{fmt::format("--server: {}", ToStd(a.status().message()))};
    servers.push_back(*std::move(a));
  }
  if (servers.empty()) throw InputError{"--server HOST:PORT is required"};
  std::string id = f.client_id;
  if (!id.empty()) {
    if (absl::Status s = net::ValidateNodeId(id); !s.ok()) {
      throw InputError{fmt::format("--client-id: {}", ToStd(s.message()))};
    }
  }
  if (!f.data.empty()) {
    data_ = std::make_unique<DataDir>(f.data, "seedgrid-client", f.client_id);
    if (data_->node_id().empty()) data_->Bind(NewClientId());
    id = data_->node_id();
    absl::StatusOr<std::unique_ptr<SqliteStorage>> s =
        SqliteStorage::Open(data_->File("client.db"));
    if (!s.ok()) throw InputError{std::string(ToStd(s.status().message()))};
    storage_ = *std::move(s);
  } else {
    storage_ = std::make_unique<MemStorage>();
    if (id.empty()) id = NewClientId();
  }
  if (absl::Status s = net::ValidateNodeId(id); !s.ok()) {
    throw InputError{fmt::format("--client-id: {}", ToStd(s.message()))};
  }
  transport_ = ParseTransport(f.transport);
  MakeNetwork(id, servers);
  GridClientOptions o;
  o.node_id = id;
  o.transport = transport_;
  for (const net::ServerAddress& s : servers) o.servers.push_back(s.id);
  o.push_interval_ms = push_interval_ms;
  o.sync_interval_ms = sync_interval_ms;
  o.batch_ops_max = 1000;
  o.resend_after_ms = 500;
  o.batch_bytes_max = 4u << 20;  // well under the servers' default 16 MiB frame bound
  // Over HTTP a server holds a request up to its http_sync_wait_ms (2 s in `seedgrid serve`)
  // gathering acks from the owners: give it that and a margin before trying another server.
  if (transport_ == ClientTransport::kHttp) o.server_timeout_ms = 5000;
  o.persist = data_ != nullptr;
  timers_ = std::make_unique<AsioTimers>(*io_);
  env_ = std::make_unique<Env>(Env{clock_, random_, *network_, *timers_, *storage_});
  absl::StatusOr<std::unique_ptr<GridClient>> c = GridClient::Open(*env_, std::move(o));
  if (!c.ok()) {
    throw InputError{fmt::format("cannot open the client{}: {}",
                                 data_ ? " in " + data_->path() : "", ToStd(c.status().message()))};
  }
  client_ = *std::move(c);
  Settle();
}

void Session::MakeNetwork(const NodeId& id, const std::vector<net::ServerAddress>& servers) {
  if (transport_ == ClientTransport::kHttp) {
    HttpSyncNetworkOptions ho;
    ho.local_id = id;
    ho.token = flags_.token;
    if (!flags_.quiet) {
      ho.log = [](std::string_view line) {
        std::fprintf(stderr, "seedgrid client: %.*s\n", static_cast<int>(line.size()), line.data());
      };
    }
    http_ = std::make_unique<HttpSyncNetwork>(*io_, std::move(ho));
    for (const net::ServerAddress& s : servers) http_->AddPeer(s.id, s.address);
    network_ = http_.get();
    return;
  }
  WsNetworkOptions no;
  no.local_id = id;
  no.role = net::Role::kClient;
  no.token = flags_.token;
  no.give_up_after_ms = timeout_ms_;
  ws_ = std::make_unique<WsNetwork>(*io_, clock_, random_, std::move(no));
  for (const net::ServerAddress& s : servers) ws_->AddPeer(s.id, s.address);
  network_ = ws_.get();
}

// Over WebSocket, connects to every server before the first request (bounded): the owner of a
// partition, not the server dialled, answers writes and pulls, and it can reach this client only
// over a connection the client opened. The servers' handshakes name the others. Over HTTP every
// answer comes back on the request's own connection: nothing to wait for.
void Session::Settle() {
  if (ws_ == nullptr) return;
  ws_->ConnectNow();
  const Steady::time_point until = Steady::now() + std::chrono::seconds(2);
  while (!ws_->Settled() && Steady::now() < until) {
    io_->run_one_for(std::chrono::milliseconds(10));
  }
}

std::string Session::NewClientId() { return fmt::format("client-{:016x}", random_.Next64()); }

Session::~Session() {
  client_.reset();  // before the network and timers it uses
  timers_.reset();
  network_ = nullptr;
  ws_.reset();
  http_.reset();
}

// Runs the event loop until `done` (true) or until `progress` has not changed for --timeout
// (false). `progress` defaults to "never changes": then --timeout bounds the whole wait.
bool Session::RunUntil(const std::function<bool()>& done,
                       const std::function<uint64_t()>& progress) {
  uint64_t last = progress ? progress() : 0;
  Steady::time_point deadline = Steady::now() + std::chrono::milliseconds(timeout_ms_);
  while (!done()) {
    if (Steady::now() >= deadline) return false;
    io_->run_one_for(std::chrono::milliseconds(20));
    if (progress && progress() != last) {
      last = progress();
      deadline = Steady::now() + std::chrono::milliseconds(timeout_ms_);
    }
  }
  return true;
}

void Session::RunFor(std::chrono::milliseconds d) {
  const Steady::time_point end = Steady::now() + d;
  while (Steady::now() < end) io_->run_one_for(std::chrono::milliseconds(10));
}

std::string Session::Why(const NodeId& server) const {
  if (http_ != nullptr) {  // over HTTP a connection says little; the last error says more
    const std::string error = http_->LastError(server);
    return !error.empty()               ? error
           : http_->Pending(server) > 0 ? "it did not answer in time"
                                        : "it answers, but not enough was done in time";
  }
  return ws_->Connected(server)           ? "connected, but it did not answer in time"
         : ws_->DialError(server).empty() ? "not connected"
                                          : ws_->DialError(server);
}

// Why the wait ran out: the server and the last dial error.
std::string Session::Stuck(std::string_view waiting_for) const {
  const NodeId& server = client_->server();
  const std::string why = Why(server);
  std::string kept =
      data_ ? fmt::format(
                  "; unacknowledged writes stay in {} and are sent by the next "
                  "command using --data {}",
                  data_->path(), data_->path())
            : (client_->op_log().empty() ? "" : "; unacknowledged writes are lost (no --data)");
  const GridClientStats st = client_->stats();
  return fmt::format(
      "no {} within {} from server {}: {}{} (so far: {} acknowledgements, {} partitions pulled, "
      "{} unacknowledged writes{})",
      waiting_for, flags_.timeout, server, why, kept, st.acks, st.leaves_merged,
      client_->op_log().size(), st.last_error.empty() ? "" : "; last error: " + st.last_error);
}

// Waits until the op log is empty (every write acknowledged).
bool Session::Flush() {
  client_->SyncNow();
  return RunUntil([this] { return client_->op_log().empty(); },
                  [this] { return client_->stats().acks; });
}
// Waits until `map` has caught up with the servers (after flushing writes): a sync round whose
// root matched. Each round that merged something starts the next at once.
bool Session::CatchUp(const std::string& map) {
  client_->Open(map);
  if (!Flush()) return false;
  // A root match is confirmed by a second one a gossip round later with nothing merged between:
  // a server that just restarted or took partitions over may not know another owner's digests
  // for one round (500 ms at the default heartbeat) and see an empty partition there.
  constexpr auto kConfirmAfter = std::chrono::milliseconds(700);
  for (int round = 0; round < 100; ++round) {
    if (!MatchOnce(map)) return false;
    const uint64_t merged = client_->stats().records_merged;
    RunFor(kConfirmAfter);
    if (!MatchOnce(map)) return false;
    if (client_->stats().records_merged == merged) return true;
  }
  return false;
}

bool Session::MatchOnce(const std::string& map) {
  const uint64_t before = client_->roots_matched(map);
  client_->SyncNow();
  uint64_t leaves = client_->stats().leaves_merged;
  return RunUntil(
      [&] {
        if (client_->stats().leaves_merged != leaves) {
          leaves = client_->stats().leaves_merged;
          client_->SyncNow();
        }
        return client_->roots_matched(map) > before;
      },
      [this] { return client_->stats().leaves_merged; });
}

}  // namespace seedgrid::tools
