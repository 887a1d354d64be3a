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
#include "engine/net/document_json.h"
#include "engine/net/handshake.h"
#include "engine/query/query.h"
#include "engine/wire/codec.h"
#include "tools/seedgrid/client_bench.h"
#include "tools/seedgrid/client_session.h"
#include "tools/seedgrid/data_dir.h"
#include "tools/seedgrid/input.h"

namespace seedgrid::tools {
namespace {

// Bounds a client checks before writing (a server's frame bound is 16 MiB by default; a push
// holds up to 4 MiB of writes).
constexpr size_t kKeyBytesMax = 64 * 1024;
constexpr size_t kDocumentBytesMax = 4u << 20;

void PrintRow(std::string_view key, const Document& value, const Timestamp* tag = nullptr) {
  nlohmann::json j{{"key", key}};
  if (tag != nullptr) j["tag"] = tag->ToString();  // an OR row (--or)
  j["value"] = net::DocumentToJson(value);
  std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

void PrintDocument(const Document& doc) {
  std::cout << net::DocumentToJson(doc).dump(-1, ' ', false,
                                             nlohmann::json::error_handler_t::replace)
            << "\n";
}

int Fail(std::string_view message) {
  std::fprintf(stderr, "seedgrid client: %.*s\n", static_cast<int>(message.size()), message.data());
  return kExitViolation;
}

// What a server would refuse or the transport could not carry: InputError naming it.
void CheckWrite(const std::string& map, const std::string& key, const Document* doc,
                std::string_view where) {
  if (map.empty() || map.size() > kMapNameBytesMax) {
    throw InputError{
        fmt::format("{}: a map name is 1..{} bytes, got {}", where, kMapNameBytesMax, map.size())};
  }
  if (key.size() > kKeyBytesMax) {
    throw InputError{
        fmt::format("{}: a key is at most {} bytes, got {}", where, kKeyBytesMax, key.size())};
  }
  size_t bytes = 0;
  if (doc != nullptr) {
    for (const auto& [name, v] : *doc) bytes += name.size() + ValueToString(v).size();
  }
  if (bytes > kDocumentBytesMax) {
    throw InputError{fmt::format("{}: the document is about {} bytes; at most {} are accepted",
                                 where, bytes, kDocumentBytesMax)};
  }
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
    absl::StatusOr<Document> d = net::ParseDocument(f.json, "JSON");
    if (!d.ok()) throw InputError{std::string(ToStd(d.status().message()))};
    doc = *std::move(d);
  }
  CheckWrite(f.map, f.key, doc ? &*doc : nullptr, "put");
  Session s(f);
  if (remove) {
    s.client().Remove(f.map, f.key, concern);
  } else {
    s.client().Set(f.map, f.key, *std::move(doc), concern);
  }
  return WaitForAcks(f, s);
}

int Increment(const ClientFlags& f) {
  const msg::WriteConcern concern = ParseConcern(f.concern);
  CheckWrite(f.map, f.key, nullptr, "incr");
  Session s(f);
  absl::StatusOr<uint64_t> seq = s.client().Increment(f.map, f.key, f.delta, concern);
  if (!seq.ok()) throw InputError{fmt::format("incr: {}", ToStd(seq.status().message()))};
  return WaitForAcks(f, s);
}

Document ParseDocFlag(const ClientFlags& f, std::string_view where) {
  absl::StatusOr<Document> d = net::ParseDocument(f.json, "JSON");
  if (!d.ok()) throw InputError{fmt::format("{}: {}", where, ToStd(d.status().message()))};
  CheckWrite(f.map, f.key, &*d, where);
  return *std::move(d);
}

// OR-Maps: add an item, remove the items with a value (those this client holds once caught up).
int OrWrite(const ClientFlags& f, bool remove) {
  const msg::WriteConcern concern = ParseConcern(f.concern);
  Document doc = ParseDocFlag(f, remove ? "remove-item" : "add");
  Session s(f);
  if (!remove) {
    absl::StatusOr<uint64_t> seq = s.client().AddItem(f.map, f.key, std::move(doc), concern);
    if (!seq.ok()) throw InputError{fmt::format("add: {}", ToStd(seq.status().message()))};
    return WaitForAcks(f, s);
  }
  // Observed remove: what this client has seen of the key is what it removes.
  if (!s.CatchUp(f.map)) return Fail(s.Stuck("complete sync"));
  absl::StatusOr<uint64_t> seq = s.client().RemoveItem(f.map, f.key, doc, concern);
  if (absl::IsNotFound(seq.status())) {
    std::fprintf(stderr, "seedgrid client: %s/%s holds no item %s\n", f.map.c_str(), f.key.c_str(),
                 doc.ToString().c_str());
    return kExitNotFound;
  }
  if (!seq.ok()) throw InputError{fmt::format("remove-item: {}", ToStd(seq.status().message()))};
  return WaitForAcks(f, s);
}

// Once the map is caught up: the OR items of KEY, one JSON document per line (in tag order).
int PrintItems(const ClientFlags& f) {
  Session s(f);
  if (!s.CatchUp(f.map)) return Fail(s.Stuck("complete sync"));
  for (const Document* doc : s.client().Items(f.map, f.key)) PrintDocument(*doc);
  return kExitOk;
}

// Once the map is caught up: the counter's value (0 for a counter nobody touched: a PN-Counter
// has no "absent"), or without a key every counter of the map as {"key", "value"} JSON lines.
int PrintCounters(const ClientFlags& f) {
  Session s(f);
  if (!s.CatchUp(f.map)) return Fail(s.Stuck("complete sync"));
  if (!f.key.empty()) {
    std::cout << s.client().CounterValue(f.map, f.key) << "\n";
    return kExitOk;
  }
  if (const CounterMap* counters = s.client().Counters(f.map)) {
    for (const auto& [key, state] : counters->counters()) {
      std::cout << nlohmann::json{{"key", key}, {"value", seedgrid::CounterValue(state)}}.dump(
                       -1, ' ', false, nlohmann::json::error_handler_t::replace)
                << "\n";
    }
  }
  return kExitOk;
}

int Get(const ClientFlags& f) {
  Session s(f);
  if (!s.CatchUp(f.map)) return Fail(s.Stuck("complete sync"));
  const Document* doc = s.client().Get(f.map, f.key);
  if (doc == nullptr) {
    std::fprintf(stderr, "seedgrid client: %s/%s not found\n", f.map.c_str(), f.key.c_str());
    return kExitNotFound;
  }
  PrintDocument(*doc);
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

// One page: its rows on stdout; when the page is full, "next cursor: TOKEN" on stderr (pass it
// back with --cursor for the next page; the last page prints none).
int RunQuery(const ClientFlags& f) {
  Query q = ParseQueryFlag(f.query);
  if (!f.cursor.empty() && !q.limit) {
    throw InputError{"--cursor: the query has no limit, so it has one page and takes no cursor"};
  }
  Session s(f);
  absl::StatusOr<uint64_t> id = s.client().Subscribe(f.map, std::move(q), [](const LiveDelta&) {},
                                                     {.cursor = f.cursor, .or_rows = f.or_rows});
  if (!id.ok()) {
    throw InputError{fmt::format("{}: {}", f.cursor.empty() ? "query" : "--cursor",
                                 ToStd(id.status().message()))};
  }
  if (!s.RunUntil([&] { return s.client().subscription(*id)->Complete(); })) {
    return Fail(s.Stuck("complete result"));
  }
  for (const RowRef& row : s.client().subscription(*id)->Result()) {
    PrintRow(row.key, *row.value, row.tag);
  }
  std::cout << std::flush;
  absl::StatusOr<std::string> next = s.client().NextCursor(*id);
  if (next.ok() && !next->empty()) std::cerr << "next cursor: " << *next << "\n";
  return kExitOk;
}

int Subscribe(const ClientFlags& f) {
  Query q = ParseQueryFlag(f.query);
  Session s(f);
  const auto print = [](const LiveDelta& d) {
    nlohmann::json j{
        {"type", DeltaKindName(d.kind)}, {"reason", DeltaReasonName(d.reason)}, {"key", d.row.key}};
    if (d.row.tag != nullptr) j["tag"] = d.row.tag->ToString();  // an OR row (--or)
    if (d.row.value != nullptr) j["value"] = net::DocumentToJson(*d.row.value);
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
              << std::endl;  // a line at a time, for pipes
  };
  absl::StatusOr<uint64_t> id =
      s.client().Subscribe(f.map, std::move(q), print, {.or_rows = f.or_rows});
  if (!id.ok()) throw InputError{fmt::format("query: {}", ToStd(id.status().message()))};
  bool stop = false;
  boost::asio::signal_set signals(s.io(), SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int) { stop = !ec; });
  while (!stop) s.io().run_one_for(std::chrono::milliseconds(100));
  return kExitOk;
}

// Reads and checks every line before anything is written.
std::vector<std::pair<std::string, Document>> ReadImport(const std::string& map,
                                                         const std::string& file) {
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
    absl::StatusOr<Document> d = net::DocumentFromJson(j["value"], where);
    if (!d.ok()) throw InputError{std::string(ToStd(d.status().message()))};
    CheckWrite(map, j["key"].get<std::string>(), &*d, where);
    rows.emplace_back(j["key"].get<std::string>(), *std::move(d));
  }
  return rows;
}

int Import(const ClientFlags& f) {
  const msg::WriteConcern concern = ParseConcern(f.concern);
  std::vector<std::pair<std::string, Document>> rows = ReadImport(f.map, f.file);
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
  app.add_option("--transport", f->transport,
                 "websocket (a connection to every server; live queries) or http (POST /v1/sync "
                 "to one server at a time, request by request; no query or subscribe)")
      ->capture_default_str();
  app.add_option("--data", f->data,
                 "directory for the op log and replica (default: in memory, this run only)");
  app.add_option("--client-id", f->client_id, "client id (default: random, or the one in --data)");
  app.add_option("--timeout", f->timeout, "how long to wait without progress")
      ->capture_default_str();
  app.add_flag("-q,--quiet", f->quiet, "no progress lines on stderr");
  app.add_flag(
      "--no-wait", f->no_wait,
      "put, rm, incr, add, remove-item, import: return once the writes are durable in --data, "
      "without waiting "
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
  CLI::App* incr = app.add_subcommand(
      "incr", "add to a PN-Counter: incr MAP KEY [DELTA] (default 1; negative subtracts)");
  incr->add_option("map", f->map)->required();
  incr->add_option("key", f->key)->required();
  incr->add_option("delta", f->delta, "an integer (e.g. 5, -2)")->capture_default_str();
  concern(incr);
  CLI::App* counter = app.add_subcommand(
      "counter",
      "print a PN-Counter's value: counter MAP KEY (0 if untouched); without KEY every counter of "
      "MAP as {\"key\", \"value\"} JSON lines");
  counter->add_option("map", f->map)->required();
  counter->add_option("key", f->key, "the counter (default: all of MAP's)");
  CLI::App* add = app.add_subcommand(
      "add", "add an item to an OR-Map key: add MAP KEY JSON (equal items may coexist)");
  add->add_option("map", f->map)->required();
  add->add_option("key", f->key)->required();
  add->add_option("json", f->json, "the item, a JSON object")->required();
  concern(add);
  CLI::App* remove_item = app.add_subcommand(
      "remove-item",
      "remove every item equal to JSON that this client sees under an OR-Map key: remove-item MAP "
      "KEY JSON (exit 3: none; an add it has not seen survives)");
  remove_item->add_option("map", f->map)->required();
  remove_item->add_option("key", f->key)->required();
  remove_item->add_option("json", f->json, "the item, a JSON object")->required();
  concern(remove_item);
  CLI::App* items =
      app.add_subcommand("items", "print the items of an OR-Map key as JSON lines: items MAP KEY");
  items->add_option("map", f->map)->required();
  items->add_option("key", f->key)->required();
  CLI::App* get = app.add_subcommand("get", "print a document: get MAP KEY (exit 3: not found)");
  get->add_option("map", f->map)->required();
  get->add_option("key", f->key)->required();
  CLI::App* dump = app.add_subcommand("dump", "print every live record of MAP as JSON lines");
  dump->add_option("map", f->map)->required();
  CLI::App* query = app.add_subcommand(
      "query", "print a query's rows: query MAP 'QUERY' [--cursor C] (a limit pages it)");
  query->add_option("map", f->map)->required();
  query->add_option("query", f->query, "the query's text form (docs/queries.md)")->required();
  query->add_option("--cursor", f->cursor,
                    "the page after this cursor (printed as 'next cursor: ...' on stderr by the "
                    "previous page of the same query)");
  CLI::App* sub = app.add_subcommand("subscribe", "print a live query's deltas until interrupted");
  sub->add_option("map", f->map)->required();
  sub->add_option("query", f->query)->required();
  for (CLI::App* app_with_rows : {query, sub}) {
    app_with_rows->add_flag("--or", f->or_rows,
                            "rows are MAP's OR-Map items, one per (key, tag), printed with their "
                            "\"tag\" (default: its LWW records)");
  }
  CLI::App* import = app.add_subcommand("import", "write {\"key\",\"value\"} JSON lines");
  import->add_option("map", f->map)->required();
  import->add_option("file", f->file, "the file (default: stdin)");
  concern(import);
  CLI::App* sync = app.add_subcommand("sync", "send the op log kept in --data");
  CLI::App* bench = app.add_subcommand(
      "bench", "throughput and latency against running servers (docs/performance.md)");
  bench->add_option("--connections", f->connections, "client connections (one thread)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  bench->add_option("--ops", f->ops, "writes in the throughput phase")->capture_default_str();
  bench
      ->add_option("--latency-writes", f->latency_writes,
                   "REPLICATED writes timed one at a time (0: skip)")
      ->capture_default_str();
  bench->add_option("--value-bytes", f->value_bytes, "payload per document")
      ->check(CLI::Range(0, 1 << 20))
      ->capture_default_str();
  bench->add_option("--concern", f->concern, "throughput phase's write concern");
  return [f, put, rm, incr, counter, add, remove_item, items, get, dump, query, sub, import, sync,
          bench] {
    const ClientTransport transport = ParseTransport(f->transport);
    if (transport == ClientTransport::kHttp && (query->parsed() || sub->parsed())) {
      throw InputError{fmt::format(
          "{}: live queries need --transport websocket (HTTP sync carries no query results)",
          query->parsed() ? "query" : "subscribe")};
    }
    if (bench->parsed()) {
      if (bench->count("--concern") == 0) f->concern = "fire-and-forget";
      return RunClientBench(*f);
    }
    if (f->no_wait && f->data.empty()) {
      throw InputError{"--no-wait needs --data DIR (where the writes wait to be sent)"};
    }
    const bool writes = put->parsed() || rm->parsed() || incr->parsed() || import->parsed() ||
                        add->parsed() || remove_item->parsed();
    if (writes && !f->client_id.empty() && f->data.empty()) {
      // Its op log (and counter totals) would live in memory for this command only: a second
      // command under the same id reuses its sequence numbers, and the servers take the new
      // writes for duplicates of the old ones and drop them (a counter restarts below its totals).
      throw InputError{
          "--client-id without --data: a client id names an op log, which without --data lives "
          "in memory for this command only, so the next command under the same id would reuse "
          "its sequence numbers and its writes would be dropped as duplicates; add --data DIR, "
          "or leave out --client-id"};
    }
    if (put->parsed()) return Write(*f, false);
    if (rm->parsed()) return Write(*f, true);
    if (incr->parsed()) return Increment(*f);
    if (counter->parsed()) return PrintCounters(*f);
    if (add->parsed()) return OrWrite(*f, false);
    if (remove_item->parsed()) return OrWrite(*f, true);
    if (items->parsed()) return PrintItems(*f);
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
