#include "tools/seedgrid/serve_http.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "engine/cluster/partition.h"
#include "engine/crdt/field_name.h"
#include "engine/hlc/timestamp.h"
#include "engine/net/handshake.h"
#include "engine/net/sync_json.h"
#include "engine/wire/codec.h"

namespace seedgrid::tools {
namespace {

HttpResponse Json(unsigned status, const nlohmann::json& body) {
  return HttpResponse{status, "application/json",
                      body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"};
}
HttpResponse Error(unsigned status, const std::string& message) {
  return Json(status, nlohmann::json{{"error", message}});
}

size_t OwnedPartitions(const GridServer& s) {
  if (s.table().empty()) return 0;
  size_t n = 0;
  for (uint32_t p = 0; p < kPartitionCount; ++p) n += s.table().owner(p) == s.node_id();
  return n;
}

nlohmann::json Digests(const GridServer& s) {
  nlohmann::json partitions = nlohmann::json::object();
  for (uint32_t p = 0; p < kPartitionCount; ++p) {
    const GridPartition* held = s.partition(p);
    if (held == nullptr) continue;
    nlohmann::json maps = nlohmann::json::object();
    for (const auto& [name, map] : held->maps) {
      maps[name] = fmt::format("{:016x}", held->MapDigest(name));
    }
    const char* role = s.table().empty()                     ? "held"
                       : s.table().owner(p) == s.node_id()   ? "owner"
                       : s.table().IsReplica(p, s.node_id()) ? "backup"
                                                             : "held";
    partitions[std::to_string(p)] = {{"role", role}, {"maps", maps}};
  }
  return nlohmann::json{{"node", s.node_id()}, {"partitions", partitions}};
}

// One metric: HELP and TYPE lines, then the samples.
void Metric(std::string& out, std::string_view name, std::string_view type, std::string_view help,
            std::initializer_list<std::pair<std::string_view, uint64_t>> samples) {
  fmt::format_to(std::back_inserter(out), "# HELP seedgrid_{} {}\n# TYPE seedgrid_{} {}\n", name,
                 help, name, type);
  for (const auto& [labels, value] : samples) {
    fmt::format_to(std::back_inserter(out), "seedgrid_{}{} {}\n", name, labels, value);
  }
}

}  // namespace

void ServeCounters::Count(const events::NodeEvent& e) {
  if (const auto* a = std::get_if<events::OpApplied>(&e)) {
    ++ops_applied;
    counter_ops_applied += a->counter;
    or_ops_applied += a->or_op;
  }
  if (const auto* a = std::get_if<events::OpAcknowledged>(&e)) {
    ++acks[static_cast<int>(a->concern) % 3];
    acks_duplicate += a->duplicate;
  }
  if (std::holds_alternative<events::StateAcknowledged>(e)) ++states_acknowledged;
  if (std::holds_alternative<events::PartitionHandedOff>(e)) ++partitions_handed_off;
  if (std::holds_alternative<events::StorageFailed>(e)) ++storage_failures;
}

std::string MetricsText(const ServeState& st, uint64_t now_ms) {
  const GridServer& s = *st.server;
  const GridServerStats g = s.stats();
  const WsNetworkStats n = st.network->stats();
  const ServeCounters& c = *st.counters;
  size_t held = 0, marks = 0;
  for (uint32_t p = 0; p < kPartitionCount; ++p) {
    if (const GridPartition* gp = s.partition(p)) {
      ++held;
      marks += gp->applied.size();
    }
  }
  std::string out;
  Metric(out, "up_seconds", "gauge", "Seconds since this server started.",
         {{"", (now_ms - st.started_ms) / 1000}});
  Metric(out, "ops_applied_total", "counter", "Client ops applied (first application).",
         {{"", c.ops_applied}});
  Metric(out, "counter_ops_applied_total", "counter",
         "PN-Counter ops applied (first application; also in ops_applied_total).",
         {{"", c.counter_ops_applied}});
  Metric(out, "or_ops_applied_total", "counter",
         "OR-Map ops applied (first application; also in ops_applied_total).",
         {{"", c.or_ops_applied}});
  Metric(out, "ops_duplicate_total", "counter", "Client ops received again and not re-applied.",
         {{"", g.ops_duplicate}});
  Metric(out, "ops_forwarded_total", "counter", "Client ops forwarded to their partition's owner.",
         {{"", g.ops_forwarded}});
  Metric(out, "ops_acknowledged_total", "counter", "Acknowledgements sent, by write concern.",
         {{R"({concern="fire_and_forget"})", c.acks[0]},
          {R"({concern="applied"})", c.acks[1]},
          {R"({concern="replicated"})", c.acks[2]}});
  Metric(out, "partitions_owned", "gauge", "Partitions this server owns.",
         {{"", OwnedPartitions(s)}});
  Metric(out, "partitions_held", "gauge", "Partitions held (owned or backed up).", {{"", held}});
  Metric(out, "pending_replications", "gauge", "REPLICATED writes awaiting their backups.",
         {{"", s.pending_replications()}});
  Metric(out, "applied_marks", "gauge",
         "Per-(partition, client) applied marks held: the op-log positions of every client seen.",
         {{"", marks}});
  Metric(out, "anti_entropy_rounds_total", "counter", "Anti-entropy rounds run.",
         {{"", g.anti_entropy_rounds}});
  Metric(out, "http_syncs_total", "counter", "HTTP sync requests answered, by result.",
         {{R"({result="complete"})", g.http_syncs - g.http_syncs_refused - g.http_syncs_partial},
          {R"({result="partial"})", g.http_syncs_partial},
          {R"({result="refused"})", g.http_syncs_refused}});
  Metric(out, "partitions_handed_off_total", "counter", "Partitions handed off on migration.",
         {{"", c.partitions_handed_off}});
  Metric(out, "tombstones_pruned_total", "counter", "Tombstones pruned by GC.",
         {{"", g.tombstones_pruned}});
  Metric(out, "hlc_drift_rejections_total", "counter", "Remote timestamps beyond the drift bound.",
         {{"", s.hlc().drift_violations()}});
  Metric(out, "connected_clients", "gauge", "Clients connected.", {{"", n.clients_connected}});
  Metric(out, "connected_servers", "gauge", "Server connections open (either direction).",
         {{"", n.servers_connected}});
  Metric(out, "frames_received_total", "counter", "WebSocket frames received.",
         {{"", n.frames_received}});
  Metric(out, "frames_sent_total", "counter", "WebSocket frames sent.", {{"", n.frames_sent}});
  Metric(out, "frames_dropped_total", "counter", "Frames dropped (queue full, peer unreachable).",
         {{"", n.frames_dropped}});
  Metric(out, "handshakes_refused_total", "counter", "Connections refused at the handshake.",
         {{"", n.handshakes_refused}});
  Metric(out, "bad_input_total", "counter", "Undecodable or unexpected messages, by kind.",
         {{R"({kind="decode"})", g.decode_errors},
          {R"({kind="protocol"})", g.protocol_errors},
          {R"({kind="http"})", n.http_errors}});
  Metric(out, "interned_node_ids", "gauge",
         "Node ids in the interning pool; past its bound (65536) each further id is copied per "
         "timestamp: same behaviour, more memory.",
         {{"", InternedNodeId::PoolSize()}});
  Metric(out, "interned_field_names", "gauge",
         "Field names in the interning pool; past its bound (32768) each further name is copied "
         "per document.",
         {{"", FieldName::PoolSize()}});
  Metric(out, "storage_failures_total", "counter", "Failed storage writes or syncs.",
         {{"", c.storage_failures}});
  Metric(out, "storage_syncs_total", "counter", "Successful storage syncs.",
         {{"", g.storage.syncs}});
  if (st.storage != nullptr) {
    const SqliteStorage::Stats db = st.storage->stats();
    Metric(out, "storage_pages", "gauge", "Live pages in server.db.", {{"", db.live_pages}});
    Metric(out, "storage_dead_rows", "gauge",
           "Superseded rows and delete markers in server.db, awaiting compaction.",
           {{"", db.dead_rows}});
    Metric(out, "storage_compacted_rows_total", "counter", "Dead rows removed by compaction.",
           {{"", db.compacted_rows}});
    Metric(out, "storage_compaction_failures_total", "counter",
           "Compaction slices undone after an SQLite error (the writes committed).",
           {{"", db.compaction_failures}});
  }
  return out;
}

namespace {

constexpr std::string_view kFlatBuffers = "application/x-flatbuffers";

// The media type without parameters ("application/json; charset=utf-8" -> "application/json").
std::string_view MediaType(std::string_view content_type) {
  std::string_view t = content_type.substr(0, content_type.find(';'));
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  return t;
}

// POST /v1/sync: decode, hand to the server, answer in the request's form when it has answered.
void Sync(const ServeState& st, const HttpRequest& r, const HttpReply& reply) {
  const std::string_view type = MediaType(r.content_type);
  const bool json = type == "application/json";
  if (!json && type != kFlatBuffers) {
    return reply(Error(415, fmt::format("Content-Type '{}': expected application/json or {}",
                                        r.content_type, kFlatBuffers)));
  }
  msg::HttpSyncRequest request;
  if (json) {
    absl::StatusOr<msg::HttpSyncRequest> parsed = net::SyncRequestFromJson(r.body);
    if (!parsed.ok()) return reply(Error(400, std::string(parsed.status().message())));
    request = *std::move(parsed);
  } else {
    absl::StatusOr<msg::Envelope> e = DecodeMessage(r.body);
    if (!e.ok()) return reply(Error(400, std::string(e.status().message())));
    auto* body = std::get_if<msg::HttpSyncRequest>(&e->body);
    if (body == nullptr) {
      return reply(
          Error(400, fmt::format("body: a {}, not an HttpSyncRequest", msg::BodyName(e->body))));
    }
    request = std::move(*body);
  }
  const NodeId self = st.server->node_id();
  st.server->HttpSync(std::move(request), [reply, json, self](msg::HttpSyncResponse answer) {
    const unsigned status = answer.status;
    if (json)
      return reply(HttpResponse{status, "application/json", net::SyncResponseToJson(answer)});
    reply(HttpResponse{status, std::string(kFlatBuffers),
                       EncodeMessage(msg::Envelope{self, std::move(answer)})});
  });
}

bool Authorized(const ServeState& st, const HttpRequest& r) {
  return st.token.empty() || net::TokensEqual(r.authorization, "Bearer " + st.token);
}
HttpResponse Unauthorized(const HttpRequest& r) {
  return Error(401, r.authorization.empty() ? "missing Authorization: Bearer TOKEN"
                                            : "wrong token in Authorization");
}

HttpResponse ServeHttpAnswer(const ServeState& st, const HttpRequest& r, uint64_t now_ms) {
  const std::string path = r.target.substr(0, r.target.find('?'));
  const bool known = path == "/healthz" || path == "/metrics" || path == "/v1/digests";
  if (!known) return Error(404, fmt::format("no such path: {}", path));
  if (r.method != "GET") return Error(405, fmt::format("{} takes GET, not {}", path, r.method));
  if (path.starts_with("/v1/") && !Authorized(st, r)) return Unauthorized(r);
  if (path == "/healthz") {
    const GridServer& s = *st.server;
    return Json(
        s.joined() ? 200 : 503,
        {{"status", s.joined() ? "ok" : "joining"},
         {"node", s.node_id()},
         {"commit", st.commit},
         {"table_version", s.table().empty() ? 0 : s.table().version()},
         {"members", s.table().empty() ? std::vector<std::string>{} : s.table().members()}});
  }
  if (path == "/metrics") {
    return HttpResponse{200, "text/plain; version=0.0.4", MetricsText(st, now_ms)};
  }
  return Json(200, Digests(*st.server));
}

}  // namespace

void HandleServeHttp(const ServeState& st, const HttpRequest& r, uint64_t now_ms,
                     const HttpReply& reply) {
  if (r.target.substr(0, r.target.find('?')) != "/v1/sync") {
    return reply(ServeHttpAnswer(st, r, now_ms));  // every other path answers at once
  }
  if (r.method != "POST")
    return reply(Error(405, fmt::format("/v1/sync takes POST, not {}", r.method)));
  if (!Authorized(st, r)) return reply(Unauthorized(r));
  Sync(st, r, reply);
}

}  // namespace seedgrid::tools
