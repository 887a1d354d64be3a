// One GridClient on the production Env (WsNetwork, or HttpSyncNetwork with --transport http;
// AsioTimers; SQLite or in-memory storage), for `seedgrid client` and its bench. A Session runs its
// io_context only inside RunUntil / RunFor, so a command is a sequence of "do something, then wait
// until it is done".
#ifndef SEEDGRID_TOOLS_SEEDGRID_CLIENT_SESSION_H_
#define SEEDGRID_TOOLS_SEEDGRID_CLIENT_SESSION_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/client/grid_client.h"
#include "engine/env/real/http_sync_network.h"
#include "engine/env/real/real_env.h"
#include "engine/env/real/ws_network.h"
#include "engine/net/handshake.h"
#include "tools/seedgrid/data_dir.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace seedgrid::tools {

using Steady = std::chrono::steady_clock;

struct ClientFlags {
  std::vector<std::string> servers;
  std::string token;
  std::string data;
  std::string client_id;
  std::string timeout = "10s";
  std::string concern = "applied";
  std::string transport = "websocket";
  std::string map, key, json, query, file;
  std::string cursor;    // query: the page after this cursor
  bool or_rows = false;  // query, subscribe: over the map's OR items
  int64_t delta = 1;     // incr
  bool quiet = false;
  bool no_wait = false;
  // bench
  uint32_t connections = 8;
  uint64_t ops = 200'000;
  uint64_t latency_writes = 2'000;
  uint32_t value_bytes = 100;
};

// InputError for anything but applied, replicated, fire-and-forget.
msg::WriteConcern ParseConcern(const std::string& text);
// InputError for anything but websocket, http.
ClientTransport ParseTransport(const std::string& text);

class Session {
 public:
  // Throws InputError for bad flags or a data directory that cannot be used. `io` may be shared
  // by several sessions (the bench); nullptr: the session's own.
  // `push_interval_ms` and `sync_interval_ms` as in GridClientOptions.
  explicit Session(const ClientFlags& f, std::shared_ptr<boost::asio::io_context> io = nullptr,
                   uint64_t push_interval_ms = 20, uint64_t sync_interval_ms = 1000);
  ~Session();

  GridClient& client() { return *client_; }
  boost::asio::io_context& io() { return *io_; }

  // Runs the event loop until `done` (true) or until `progress` has not changed for --timeout
  // (false). Without `progress`, --timeout bounds the whole wait.
  bool RunUntil(const std::function<bool()>& done,
                const std::function<uint64_t()>& progress = nullptr);
  void RunFor(std::chrono::milliseconds d);
  // Waits until the op log is empty (every write acknowledged).
  bool Flush();
  // Waits until `map` has caught up with the servers (after flushing writes): a sync round whose
  // root matched, confirmed by another 0.7 s later with nothing merged between. Each round that
  // merged something starts the next at once.
  bool CatchUp(const std::string& map);
  // Why the wait ran out: the server, the last connection error, where unsent writes wait.
  std::string Stuck(std::string_view waiting_for) const;

 private:
  // The network for --transport, knowing every --server's address.
  void MakeNetwork(const NodeId& id, const std::vector<net::ServerAddress>& servers);
  // Connects to every server before the first request (WebSocket only).
  void Settle();
  // Why `server` did not answer, as the network knows it.
  std::string Why(const NodeId& server) const;
  // One sync round (and the pulls it starts) until the root matches.
  bool MatchOnce(const std::string& map);
  std::string NewClientId();

  const ClientFlags& flags_;
  uint64_t timeout_ms_ = 10'000;
  std::shared_ptr<boost::asio::io_context> io_;
  SystemClock clock_;
  OsSeededRandom random_;
  std::unique_ptr<DataDir> data_;
  std::unique_ptr<Storage> storage_;
  ClientTransport transport_ = ClientTransport::kWebSocket;
  // One of the two, by --transport; network_ is that one.
  std::unique_ptr<WsNetwork> ws_;
  std::unique_ptr<HttpSyncNetwork> http_;
  Network* network_ = nullptr;
  std::unique_ptr<Timers> timers_;
  std::unique_ptr<Env> env_;
  std::unique_ptr<GridClient> client_;
};

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_CLIENT_SESSION_H_
