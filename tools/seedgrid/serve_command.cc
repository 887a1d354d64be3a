#include "tools/seedgrid/serve_command.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <memory>

#include "engine/base/strings.h"
#include "engine/cluster/grid_server.h"
#include "engine/env/real/asio_timers.h"
#include "engine/env/real/real_env.h"
#include "engine/env/real/sqlite_storage.h"
#include "engine/env/real/ws_network.h"
#include "engine/net/handshake.h"
#include "tools/seedgrid/data_dir.h"
#include "tools/seedgrid/input.h"
#include "tools/seedgrid/serve_http.h"

namespace seedgrid::tools {
namespace {

struct ServeFlags {
  std::string listen;
  std::string advertise;
  std::string node_id;
  std::vector<std::string> peers;
  bool join = false;
  std::string data;
  std::string token;
  uint32_t backups = 1;
  uint64_t heartbeat_ms = 100;
  uint64_t suspect_after_ms = 1000;
  uint64_t anti_entropy_ms = 500;
  std::string leave_timeout = "30s";
  size_t frame_bytes_max = 16u << 20;
};

// "2026-11-30T21:07:31Z seedgrid serve [node]: text" on stderr.
void LogLine(const std::string& node, std::string_view text) {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &utc);
  std::fprintf(stderr, "%s seedgrid serve [%s]: %.*s\n", stamp, node.c_str(),
               static_cast<int>(text.size()), text.data());
  std::fflush(stderr);
}

net::HostPort ParseAddress(const std::string& text, std::string_view flag, bool any_port) {
  absl::StatusOr<net::HostPort> a = net::ParseHostPort(text, any_port);
  if (!a.ok()) throw InputError{fmt::format("{}: {}", flag, ToStd(a.status().message()))};
  return *a;
}

bool IsWildcard(const std::string& host) { return host == "0.0.0.0" || host == "::"; }

class Server {
 public:
  Server(const ServeFlags& f, const char* commit) : flags_(f), commit_(commit) {}

  int Run() {
    const net::HostPort listen = ParseAddress(flags_.listen, "--listen", /*any_port=*/true);
    std::vector<net::ServerAddress> peers = ParsePeers();
    WsNetworkOptions no;
    no.role = net::Role::kServer;
    no.token = flags_.token;
    no.frame_bytes_max = flags_.frame_bytes_max;
    no.log = [this](std::string_view line) { LogLine(node_id_, line); };
    // The network binds first so that port 0 (a free port) can name the node.
    network_ = std::make_unique<WsNetwork>(io_, clock_, random_, no);
    absl::StatusOr<uint16_t> port =
        network_->Listen(listen, [this](const HttpRequest& r, HttpReply reply) { Http(r, reply); });
    if (!port.ok()) throw InputError{fmt::format("--listen: {}", ToStd(port.status().message()))};
    net::HostPort advertise = flags_.advertise.empty()
                                  ? net::HostPort{listen.host, *port}
                                  : ParseAddress(flags_.advertise, "--advertise", false);
    if (flags_.advertise.empty() && IsWildcard(listen.host)) {
      throw InputError{
          "--listen on a wildcard address needs --advertise HOST:PORT (the address "
          "peers and clients dial)"};
    }
    node_id_ = flags_.node_id.empty() ? advertise.DefaultNodeId() : flags_.node_id;
    if (absl::Status s = net::ValidateNodeId(node_id_); !s.ok()) {
      throw InputError{fmt::format("--node-id: {}", ToStd(s.message()))};
    }
    network_->SetIdentity(node_id_, advertise.ToString());
    data_ = std::make_unique<DataDir>(flags_.data, "seedgrid-serve", node_id_);
    if (data_->temporary()) {
      LogLine(node_id_, fmt::format("warning: no --data; keeping data in {} (pass --data {} to "
                                    "restart with it)",
                                    data_->path(), data_->path()));
    }
    absl::StatusOr<std::unique_ptr<SqliteStorage>> storage =
        SqliteStorage::Open(data_->File("server.db"));
    if (!storage.ok()) throw InputError{std::string(ToStd(storage.status().message()))};
    storage_ = *std::move(storage);
    timers_ = std::make_unique<AsioTimers>(io_);
    env_ = std::make_unique<Env>(Env{clock_, random_, *network_, *timers_, *storage_});

    GridServerOptions o;
    o.node_id = node_id_;
    o.join = flags_.join;
    if (!flags_.join) o.seeds.push_back(node_id_);
    for (const net::ServerAddress& p : peers) {
      if (p.id == node_id_) continue;  // a shared peer list may name this server too
      network_->AddPeer(p.id, p.address);
      o.seeds.push_back(p.id);
    }
    std::sort(o.seeds.begin(), o.seeds.end());
    if (flags_.join && o.seeds.empty()) throw InputError{"--join needs --peers to join"};
    o.backup_count = flags_.backups;
    o.heartbeat_interval_ms = flags_.heartbeat_ms;
    o.suspect_after_ms = flags_.suspect_after_ms;
    o.anti_entropy_interval_ms = flags_.anti_entropy_ms;
    // An HTTP sync waits up to 2 s for the owners' acks (real owners may be busy with SQLite):
    // a shorter wait answers partially and makes the client send the same ops again.
    o.http_sync_wait_ms = 2000;
    o.events = [this](const events::NodeEvent& e) { counters_.Count(e); };
    absl::StatusOr<std::unique_ptr<GridServer>> server = GridServer::Open(*env_, std::move(o));
    if (!server.ok()) {
      throw InputError{
          fmt::format("cannot start from {}: {}", data_->path(), ToStd(server.status().message()))};
    }
    server_ = *std::move(server);
    state_ = ServeState{server_.get(),  network_.get(), &counters_,    flags_.token,
                        clock_.NowMs(), commit_,        storage_.get()};
    LogLine(node_id_,
            fmt::format("listening on {}:{} as node {} (data {}, {} peer(s), commit {})",
                        listen.host, *port, node_id_, data_->path(), peers.size(), commit_));
    if (flags_.token.empty()) {
      LogLine(node_id_, "warning: no --token; any client or server may connect");
    }
    WatchSignals();
    io_.run();
    return exit_code_;
  }

 private:
  std::vector<net::ServerAddress> ParsePeers() const {
    std::vector<net::ServerAddress> out;
    for (const std::string& item : flags_.peers) {
      absl::StatusOr<net::ServerAddress> a = net::ParseServerAddress(item);
      if (!a.ok()) throw InputError{fmt::format("--peers: {}", ToStd(a.status().message()))};
      out.push_back(*std::move(a));
    }
    return out;
  }

  void Http(const HttpRequest& r, const HttpReply& reply) {
    if (server_ == nullptr) {
      return reply(HttpResponse{503, "application/json", R"({"error":"starting"})"});
    }
    HandleServeHttp(state_, r, clock_.NowMs(), reply);
  }

  void WatchSignals() {
    signals_ = std::make_unique<boost::asio::signal_set>(io_, SIGINT, SIGTERM);
    signals_->async_wait([this](boost::system::error_code ec, int signal) {
      if (ec) return;
      Stop(signal);
    });
  }

  // First signal: stop accepting, leave, hand off (bounded), sync, exit 0. A second signal while
  // leaving: sync and exit 0 at once.
  void Stop(int signal) {
    if (stopping_) return Finish("second signal: stopping without waiting for the hand-off");
    stopping_ = true;
    signals_->async_wait([this](boost::system::error_code ec, int s) {
      if (!ec) Stop(s);
    });
    network_->StopAccepting();
    const size_t others = server_->table().empty() ? 0 : server_->table().members().size() - 1;
    if (others == 0 || !server_->table().Contains(node_id_)) {
      return Finish(
          fmt::format("{}: stopping (no other member to hand partitions to)", strsignal(signal)));
    }
    LogLine(node_id_,
            fmt::format("{}: leaving the cluster, handing partitions off", strsignal(signal)));
    server_->Leave();
    leave_deadline_ms_ = clock_.NowMs() + ParseDuration(flags_.leave_timeout, "--leave-timeout",
                                                        /*zero_ok=*/true) *
                                              1000;
    PollLeave();
  }

  void PollLeave() {
    if (server_->left()) return Finish("left the cluster; every partition handed off");
    bool others_leaving = true;
    for (const NodeId& m : server_->table().members()) {
      others_leaving &= m == node_id_ || server_->leaving_peers().contains(m);
    }
    if (others_leaving) {
      return Finish("every other member is leaving too: stopping with the data kept in " +
                    data_->path());
    }
    if (clock_.NowMs() >= leave_deadline_ms_) {
      return Finish(
          fmt::format("--leave-timeout {} passed before the hand-off finished; the "
                      "data stays in {} and the cluster re-replicates from backups",
                      flags_.leave_timeout, data_->path()));
    }
    poll_ = std::make_unique<boost::asio::steady_timer>(io_, std::chrono::milliseconds(50));
    poll_->async_wait([this](boost::system::error_code ec) {
      if (!ec) PollLeave();
    });
  }

  void Finish(std::string why) {
    LogLine(node_id_, why);
    absl::Status s = storage_->Sync();
    if (!s.ok()) {
      LogLine(node_id_, fmt::format("final storage sync failed: {}", ToStd(s.message())));
      exit_code_ = 1;
    }
    server_.reset();  // cancels its timers before the loop stops
    network_.reset();
    io_.stop();
  }

  const ServeFlags& flags_;
  const char* commit_;
  boost::asio::io_context io_;
  SystemClock clock_;
  OsSeededRandom random_;
  std::unique_ptr<WsNetwork> network_;
  std::unique_ptr<DataDir> data_;
  std::unique_ptr<SqliteStorage> storage_;
  std::unique_ptr<AsioTimers> timers_;
  std::unique_ptr<Env> env_;
  std::unique_ptr<GridServer> server_;
  ServeCounters counters_;
  ServeState state_;
  std::string node_id_ = "?";
  std::unique_ptr<boost::asio::signal_set> signals_;
  std::unique_ptr<boost::asio::steady_timer> poll_;
  bool stopping_ = false;
  uint64_t leave_deadline_ms_ = 0;
  int exit_code_ = kExitOk;
};

}  // namespace

CommandMain SetUpServeCommand(CLI::App& app, const char* commit) {
  auto f = std::make_shared<ServeFlags>();
  app.description(
      "Run one grid server over the network: WebSocket for clients and peers, HTTP (/healthz, "
      "/metrics, /v1/digests) on the same port. Stops gracefully on SIGINT or SIGTERM.");
  app.add_option("--listen", f->listen, "HOST:PORT to listen on (port 0: a free port)")->required();
  app.add_option("--advertise", f->advertise,
                 "HOST:PORT peers and clients dial (default: the --listen address)");
  app.add_option("--node-id", f->node_id,
                 "this server's id (default: HOST-PORT of the advertised address)");
  app.add_option("--peers", f->peers,
                 "the other servers, HOST:PORT or ID@HOST:PORT (comma-separated or repeated); "
                 "every seed server lists the same set")
      ->delimiter(',')
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_flag("--join", f->join,
               "join a running cluster (this server is not one of the seeds named in --peers)");
  app.add_option("--data", f->data,
                 "data directory (SQLite); default: a fresh temporary directory, with a warning");
  app.add_option("--token", f->token,
                 "shared cluster token clients and peers must present (HTTP: Authorization: "
                 "Bearer TOKEN)")
      ->envname("SEEDGRID_TOKEN");
  app.add_option("--backups", f->backups, "backup replicas per partition")
      ->check(CLI::Range(0, 6))
      ->capture_default_str();
  app.add_option("--heartbeat-ms", f->heartbeat_ms, "heartbeat interval")
      ->check(CLI::Range(10, 60'000))
      ->capture_default_str();
  app.add_option("--suspect-after-ms", f->suspect_after_ms,
                 "a peer silent this long is considered dead")
      ->check(CLI::Range(50, 600'000))
      ->capture_default_str();
  app.add_option("--anti-entropy-ms", f->anti_entropy_ms, "anti-entropy interval")
      ->check(CLI::Range(10, 600'000))
      ->capture_default_str();
  app.add_option("--leave-timeout", f->leave_timeout,
                 "on SIGTERM, how long to wait for the hand-off before stopping anyway")
      ->capture_default_str();
  app.add_option("--frame-bytes-max", f->frame_bytes_max,
                 "largest WebSocket frame or HTTP body accepted")
      ->check(CLI::Range(size_t{1024}, size_t{1} << 30))
      ->capture_default_str();
  return [f, commit] {
    (void)ParseDuration(f->leave_timeout, "--leave-timeout", /*zero_ok=*/true);
    if (f->suspect_after_ms <= 2 * f->heartbeat_ms) {
      throw InputError{"--suspect-after-ms must exceed two heartbeats (--heartbeat-ms)"};
    }
    Server server(*f, commit);
    return server.Run();
  };
}

}  // namespace seedgrid::tools
