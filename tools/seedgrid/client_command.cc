#include "tools/seedgrid/client_command.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "engine/base/strings.h"
#include "engine/client/grid_client.h"
#include "engine/env/mem_storage.h"
#include "engine/env/real/asio_timers.h"
#include "engine/env/real/real_env.h"
#include "engine/env/real/sqlite_storage.h"
#include "engine/env/real/ws_network.h"
#include "engine/net/handshake.h"
#include "engine/query/query.h"
#include "tools/seedgrid/data_dir.h"
#include "tools/seedgrid/document_json.h"
#include "tools/seedgrid/input.h"

namespace seedgrid::tools {
namespace {

using Steady = std::chrono::steady_clock;

struct ClientFlags {
  std::vector<std::string> servers;
  std::string token;
  std::string data;
  std::string client_id;
  std::string timeout = "10s";
  std::string concern = "applied";
  std::string map, key, json, query, file;
  bool quiet = false;
  bool no_wait = false;
};

msg::WriteConcern ParseConcern(const std::string& text) {
  if (text == "applied") return msg::WriteConcern::kApplied;
  if (text == "replicated") return msg::WriteConcern::kReplicated;
  if (text == "fire-and-forget") return msg::WriteConcern::kFireAndForget;
  throw InputError{
      fmt::format("--concern '{}' is not one of applied, replicated, fire-and-forget", text)};
}

// One GridClient on a real network, driven by RunUntil.
class Session {
 public:
  explicit Session(const ClientFlags& f) : flags_(f) {
    timeout_ms_ = ParseDuration(f.timeout, "--timeout", /*zero_ok=*/false) * 1000;
    std::vector<net::ServerAddress> servers;
    for (const std::string& s : f.servers) {
      absl::StatusOr<net::ServerAddress> a = net::ParseServerAddress(s);
      if (!a.ok()) throw InputError{fmt::format("--server: {}", ToStd(a.status().message()))};
      servers.push_back(*std::move(a));
    }
    if (servers.empty()) throw InputError{"--server HOST:PORT is required"};
    std::string id = f.client_id;
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
    WsNetworkOptions no;
    no.local_id = id;
    no.role = net::Role::kClient;
    no.token = f.token;
    no.give_up_after_ms = timeout_ms_;
    network_ = std::make_unique<WsNetwork>(io_, clock_, random_, std::move(no));
    GridClientOptions o;
    o.node_id = id;
    for (const net::ServerAddress& s : servers) {
      network_->AddPeer(s.id, s.address);
      o.servers.push_back(s.id);
    }
    o.push_interval_ms = 20;
    o.batch_ops_max = 1000;
    o.persist = data_ != nullptr;
    timers_ = std::make_unique<AsioTimers>(io_);
    env_ = std::make_unique<Env>(Env{clock_, random_, *network_, *timers_, *storage_});
    absl::StatusOr<std::unique_ptr<GridClient>> c = GridClient::Open(*env_, std::move(o));
    if (!c.ok()) {
      throw InputError{fmt::format("cannot open the client{}: {}",
                                   data_ ? " in " + data_->path() : "",
                                   ToStd(c.status().message()))};
    }
    client_ = *std::move(c);
  }

  GridClient& client() { return *client_; }
  boost::asio::io_context& io() { return io_; }

  // Runs the event loop until `done` (true) or until `progress` has not changed for --timeout
  // (false). `progress` defaults to "never changes": then --timeout bounds the whole wait.
  bool RunUntil(const std::function<bool()>& done,
                const std::function<uint64_t()>& progress = nullptr) {
    uint64_t last = progress ? progress() : 0;
    Steady::time_point deadline = Steady::now() + std::chrono::milliseconds(timeout_ms_);
    while (!done()) {
      if (Steady::now() >= deadline) return false;
      io_.run_one_for(std::chrono::milliseconds(20));
      if (progress && progress() != last) {
        last = progress();
        deadline = Steady::now() + std::chrono::milliseconds(timeout_ms_);
      }
    }
    return true;
  }

  void RunFor(std::chrono::milliseconds d) {
    const Steady::time_point end = Steady::now() + d;
    while (Steady::now() < end) io_.run_one_for(std::chrono::milliseconds(10));
  }

  // Why the wait ran out: the server and the last dial error.
  std::string Stuck(std::string_view waiting_for) const {
    const NodeId& server = client_->server();
    std::string why = network_->Connected(server) ? "connected, but it did not answer in time"
                      : network_->DialError(server).empty() ? "not connected"
                                                            : network_->DialError(server);
    std::string kept =
        data_ ? fmt::format(
                    "; unacknowledged writes stay in {} and are sent by the next "
                    "command using --data {}",
                    data_->path(), data_->path())
              : (client_->op_log().empty() ? "" : "; unacknowledged writes are lost (no --data)");
    return fmt::format("no {} within {} from server {}: {}{}", waiting_for, flags_.timeout, server,
                       why, kept);
  }

  // Waits until the op log is empty (every write acknowledged).
  bool Flush() {
    client_->SyncNow();
    return RunUntil([this] { return client_->op_log().empty(); },
                    [this] { return client_->stats().acks; });
  }
  // Waits until `map` has caught up with the servers (after flushing writes): a sync round whose
  // root matched. Each round that merged something starts the next at once.
  bool CatchUp(const std::string& map) {
    client_->Open(map);
    if (!Flush()) return false;
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

 private:
  std::string NewClientId() { return fmt::format("client-{:016x}", random_.Next64()); }

  const ClientFlags& flags_;
  uint64_t timeout_ms_ = 10'000;
  boost::asio::io_context io_;
  SystemClock clock_;
  OsSeededRandom random_;
  std::unique_ptr<DataDir> data_;
  std::unique_ptr<Storage> storage_;
  std::unique_ptr<WsNetwork> network_;
  std::unique_ptr<AsioTimers> timers_;
  std::unique_ptr<Env> env_;
  std::unique_ptr<GridClient> client_;
};

void PrintRow(std::string_view key, const Document& value) {
  std::cout << nlohmann::json{{"key", key}, {"value", DocumentToJson(value)}}.dump() << "\n";
}

int Fail(std::string_view message) {
  std::fprintf(stderr, "seedgrid client: %.*s\n", static_cast<int>(message.size()), message.data());
  return kExitViolation;
}

// --no-wait: the writes are durable in --data; give them one short chance to leave, then return.
int WaitForAcks(const ClientFlags& f, Session& s) {
  if (f.no_wait) {
    s.client().SyncNow();
    s.RunFor(std::chrono::milliseconds(100));
    return kExitOk;
  }
  if (!s.Flush()) return Fail(s.Stuck("acknowledgement"));
  return kExitOk;
}

int Write(const ClientFlags& f, bool remove) {
  const msg::WriteConcern concern = ParseConcern(f.concern);
  std::optional<Document> doc;
  if (!remove) {
    absl::StatusOr<Document> d = ParseDocument(f.json, "JSON");
    if (!d.ok()) throw InputError{std::string(ToStd(d.status().message()))};
    doc = *std::move(d);
  }
  Session s(f);
  if (remove) {
    s.client().Remove(f.map, f.key, concern);
  } else {
    s.client().Set(f.map, f.key, *std::move(doc), concern);
  }
  return WaitForAcks(f, s);
}

int Get(const ClientFlags& f) {
  Session s(f);
  if (!s.CatchUp(f.map)) return Fail(s.Stuck("complete sync"));
  const Document* doc = s.client().Get(f.map, f.key);
  if (doc == nullptr) return Fail(fmt::format("{}/{} not found", f.map, f.key));
  std::cout << DocumentToJson(*doc).dump() << "\n";
  return kExitOk;
}

int Dump(const ClientFlags& f) {
  Session s(f);
  if (!s.CatchUp(f.map)) return Fail(s.Stuck("complete sync"));
  auto it = s.client().maps().find(f.map);
  if (it == s.client().maps().end()) return kExitOk;
  for (const auto& [key, record] : it->second->records()) {
    if (record.value) PrintRow(key, *record.value);
  }
  return kExitOk;
}

Query ParseQueryFlag(const std::string& text) {
  absl::StatusOr<Query> q = ParseQuery(text);
  if (!q.ok()) throw InputError{fmt::format("query: {}", ToStd(q.status().message()))};
  return *std::move(q);
}

int RunQuery(const ClientFlags& f) {
  Query q = ParseQueryFlag(f.query);
  Session s(f);
  absl::StatusOr<uint64_t> id = s.client().Subscribe(f.map, std::move(q), [](const LiveDelta&) {});
  if (!id.ok()) throw InputError{fmt::format("query: {}", ToStd(id.status().message()))};
  if (!s.RunUntil([&] { return s.client().subscription(*id)->Complete(); })) {
    return Fail(s.Stuck("complete result"));
  }
  for (const RowRef& row : s.client().subscription(*id)->Result()) PrintRow(row.key, *row.value);
  return kExitOk;
}

int Subscribe(const ClientFlags& f) {
  Query q = ParseQueryFlag(f.query);
  Session s(f);
  absl::StatusOr<uint64_t> id = s.client().Subscribe(f.map, std::move(q), [](const LiveDelta& d) {
    nlohmann::json j{
        {"type", DeltaKindName(d.kind)}, {"reason", DeltaReasonName(d.reason)}, {"key", d.row.key}};
    if (d.row.value != nullptr) j["value"] = DocumentToJson(*d.row.value);
    std::cout << j.dump() << std::endl;  // a line at a time, for pipes
  });
  if (!id.ok()) throw InputError{fmt::format("query: {}", ToStd(id.status().message()))};
  bool stop = false;
  boost::asio::signal_set signals(s.io(), SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int) { stop = !ec; });
  while (!stop) s.io().run_one_for(std::chrono::milliseconds(100));
  return kExitOk;
}

// Reads and checks every line before anything is written.
std::vector<std::pair<std::string, Document>> ReadImport(const std::string& file) {
  std::ifstream in;
  if (!file.empty() && file != "-") {
    in.open(file);
    if (!in) throw InputError{fmt::format("cannot open {}", file)};
  }
  std::istream& src = file.empty() || file == "-" ? std::cin : in;
  const std::string name = file.empty() || file == "-" ? "stdin" : file;
  std::vector<std::pair<std::string, Document>> rows;
  std::string line;
  for (size_t n = 1; std::getline(src, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = fmt::format("{} line {}", name, n);
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object() || !j.contains("key") || !j["key"].is_string() ||
        !j.contains("value")) {
      throw InputError{fmt::format("{}: expected {{\"key\": \"...\", \"value\": {{...}}}}", where)};
    }
    absl::StatusOr<Document> d = DocumentFromJson(j["value"], where);
    if (!d.ok()) throw InputError{std::string(ToStd(d.status().message()))};
    rows.emplace_back(j["key"].get<std::string>(), *std::move(d));
  }
  return rows;
}

int Import(const ClientFlags& f) {
  const msg::WriteConcern concern = ParseConcern(f.concern);
  std::vector<std::pair<std::string, Document>> rows = ReadImport(f.file);
  Session s(f);
  constexpr size_t kChunk = 1000;
  Steady::time_point last_report = Steady::now();
  for (size_t i = 0; i < rows.size(); i += kChunk) {
    s.client().BeginWrites();
    for (size_t j = i; j < std::min(rows.size(), i + kChunk); ++j) {
      s.client().Set(f.map, std::move(rows[j].first), std::move(rows[j].second), concern);
    }
    if (absl::Status st = s.client().EndWrites(); !st.ok()) {
      return Fail(fmt::format("storing the writes failed: {}", ToStd(st.message())));
    }
    // Keep at most a few chunks in flight.
    if (!f.no_wait && !s.RunUntil([&] { return s.client().op_log().size() <= 2 * kChunk; },
                    [&] { return s.client().stats().acks; })) {
      return Fail(s.Stuck("acknowledgement"));
    }
    if (!f.quiet && Steady::now() - last_report > std::chrono::seconds(2)) {
      last_report = Steady::now();
      std::fprintf(stderr, "seedgrid client: import: %zu of %zu written, %zu awaiting ack\n",
                   std::min(rows.size(), i + kChunk), rows.size(), s.client().op_log().size());
    }
  }
  if (!f.quiet) std::fprintf(stderr, "seedgrid client: import: %zu records\n", rows.size());
  return WaitForAcks(f, s);
}

int SyncOnly(const ClientFlags& f) {
  if (f.data.empty()) throw InputError{"sync needs --data DIR (the op log to send)"};
  Session s(f);
  const size_t pending = s.client().op_log().size();
  if (!s.Flush()) return Fail(s.Stuck("acknowledgement"));
  if (!f.quiet) std::fprintf(stderr, "seedgrid client: sync: %zu pending write(s) sent\n", pending);
  return kExitOk;
}

}  // namespace

CommandMain SetUpClientCommand(CLI::App& app, const char* /*commit*/) {
  auto f = std::make_shared<ClientFlags>();
  app.description("A grid client over the network, for people and scripts (JSON in and out).");
  app.add_option("--server", f->servers,
                 "a server, HOST:PORT or ID@HOST:PORT (repeat or comma-separate: tried in order)")
      ->delimiter(',')
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->required();
  app.add_option("--token", f->token, "the cluster token")->envname("SEEDGRID_TOKEN");
  app.add_option("--data", f->data,
                 "directory for the op log and replica (default: in memory, this run only)");
  app.add_option("--client-id", f->client_id, "client id (default: random, or the one in --data)");
  app.add_option("--timeout", f->timeout, "how long to wait without progress")
      ->capture_default_str();
  app.add_flag("-q,--quiet", f->quiet, "no progress lines on stderr");
  app.add_flag("--no-wait", f->no_wait,
               "put, rm, import: return once the writes are durable in --data, without waiting "
               "for acknowledgements (the next command using --data sends what is left)");
  app.require_subcommand(1);
  auto concern = [f](CLI::App* sub) {
    sub->add_option("--concern", f->concern, "applied, replicated or fire-and-forget")
        ->capture_default_str();
  };
  CLI::App* put = app.add_subcommand("put", "write a document: put MAP KEY JSON");
  put->add_option("map", f->map)->required();
  put->add_option("key", f->key)->required();
  put->add_option("json", f->json, "the document, a JSON object")->required();
  concern(put);
  CLI::App* rm = app.add_subcommand("rm", "remove a key: rm MAP KEY");
  rm->add_option("map", f->map)->required();
  rm->add_option("key", f->key)->required();
  concern(rm);
  CLI::App* get = app.add_subcommand("get", "print a document: get MAP KEY (exit 1: not found)");
  get->add_option("map", f->map)->required();
  get->add_option("key", f->key)->required();
  CLI::App* dump = app.add_subcommand("dump", "print every live record of MAP as JSON lines");
  dump->add_option("map", f->map)->required();
  CLI::App* query = app.add_subcommand("query", "print a query's rows: query MAP 'QUERY'");
  query->add_option("map", f->map)->required();
  query->add_option("query", f->query, "the query's text form (docs/queries.md)")->required();
  CLI::App* sub = app.add_subcommand("subscribe", "print a live query's deltas until interrupted");
  sub->add_option("map", f->map)->required();
  sub->add_option("query", f->query)->required();
  CLI::App* import = app.add_subcommand("import", "write {\"key\",\"value\"} JSON lines");
  import->add_option("map", f->map)->required();
  import->add_option("file", f->file, "the file (default: stdin)");
  concern(import);
  CLI::App* sync = app.add_subcommand("sync", "send the op log kept in --data");
  return [f, put, rm, get, dump, query, sub, import, sync] {
    if (f->no_wait && f->data.empty()) {
      throw InputError{"--no-wait needs --data DIR (where the writes wait to be sent)"};
    }
    if (put->parsed()) return Write(*f, false);
    if (rm->parsed()) return Write(*f, true);
    if (get->parsed()) return Get(*f);
    if (dump->parsed()) return Dump(*f);
    if (query->parsed()) return RunQuery(*f);
    if (sub->parsed()) return Subscribe(*f);
    if (import->parsed()) return Import(*f);
    if (sync->parsed()) return SyncOnly(*f);
    throw InputError{"no subcommand"};
  };
}

}  // namespace seedgrid::tools
