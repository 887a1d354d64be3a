#include "engine/net/sync_json.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "engine/base/assert.h"
#include "engine/base/status_macros.h"
#include "engine/cluster/partition.h"
#include "engine/crdt/lww_map.h"
#include "engine/hlc/timestamp.h"
#include "engine/net/document_json.h"
#include "engine/net/json_fields.h"
#include "engine/net/sync_json_internal.h"

namespace seedgrid::net {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

using json_fields::Array;
using json_fields::Bool;
using json_fields::CheckObject;
using json_fields::Clip;
using json_fields::Concern;
using json_fields::ConcernName;
using json_fields::Digest;
using json_fields::Doc;
using json_fields::Error;
using json_fields::Expected;
using json_fields::MapName;
using json_fields::Node;
using json_fields::Optional;
using json_fields::Parse;
using json_fields::Partition;
using json_fields::PartitionKey;
using json_fields::Path;
using json_fields::Required;
using json_fields::Str;
using json_fields::Ts;
using json_fields::U64;

}  // namespace

namespace sync_json_internal {

// An array of `what` that the budget (the records, counters included, the message may still hold)
// has room for; takes its length from the budget.
absl::Status TakeRecords(const json& v, const Path& at, const char* what, size_t& budget) {
  SG_RETURN_IF_ERROR(Array(v, at, what));
  if (v.size() > budget) {
    return Error(at, fmt::format("more than {} records in one request", kSyncJsonRecordsMax));
  }
  budget -= v.size();
  return absl::OkStatus();
}

// The required "key" of a record or counter of `partition`.
absl::Status ReadKey(const json& j, const Path& at, uint32_t partition, std::string& key) {
  const json* field = nullptr;
  SG_RETURN_IF_ERROR(Required(j, at, "key", field));
  SG_RETURN_IF_ERROR(Str(*field, at.Field("key"), key));
  if (const uint32_t p = PartitionOf(key); p != partition) {
    return Error(at.Field("key"),
                 fmt::format("key '{}' is in partition {}, not {}", Clip(key), p, partition));
  }
  return absl::OkStatus();
}

}  // namespace sync_json_internal

namespace {

using sync_json_internal::AddCountersJson;
using sync_json_internal::AddOrKeysJson;
using sync_json_internal::ReadCounterOp;
using sync_json_internal::ReadCounters;
using sync_json_internal::ReadKey;
using sync_json_internal::ReadOrKeys;
using sync_json_internal::ReadOrOp;
using sync_json_internal::StampsJson;
using sync_json_internal::TakeRecords;

// ---- Reading.

absl::Status ReadRecords(const json& v, const Path& at, uint32_t partition, size_t& budget,
                         std::vector<msg::LwwEntry>& out) {
  SG_RETURN_IF_ERROR(TakeRecords(v, at, "records", budget));
  out.resize(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const json& j = v[i];
    const Path r = at[i];
    msg::LwwEntry& e = out[i];
    SG_RETURN_IF_ERROR(CheckObject(j, r, {"key", "value", "ts", "ttl_ms"}));
    SG_RETURN_IF_ERROR(ReadKey(j, r, partition, e.key));
    const json* field = nullptr;
    SG_RETURN_IF_ERROR(Required(j, r, "value", field));
    if (!field->is_null()) {
      e.record.value.emplace();
      SG_RETURN_IF_ERROR(Doc(*field, r.Field("value"), *e.record.value));
    }
    SG_RETURN_IF_ERROR(Required(j, r, "ts", field));
    SG_RETURN_IF_ERROR(Ts(*field, r.Field("ts"), e.record.ts));
    if (const json* ttl = Optional(j, "ttl_ms")) {
      uint64_t ttl_ms = 0;
      SG_RETURN_IF_ERROR(U64(*ttl, r.Field("ttl_ms"), ttl_ms));
      e.record.ttl_ms = ttl_ms;
    }
  }
  return absl::OkStatus();
}

absl::Status ReadOp(const json& j, const Path& at, const std::string& client, size_t& budget,
                    msg::GridOp& op) {
  SG_RETURN_IF_ERROR(
      CheckObject(j, at, {"seq", "map", "key", "value", "concern", "client_ts", "counter", "or"}));
  const json* field = nullptr;
  SG_RETURN_IF_ERROR(Required(j, at, "seq", field));
  SG_RETURN_IF_ERROR(U64(*field, at.Field("seq"), op.seq));
  if (op.seq == 0) return Error(at.Field("seq"), "seq must be at least 1");
  SG_RETURN_IF_ERROR(Required(j, at, "map", field));
  SG_RETURN_IF_ERROR(MapName(*field, at.Field("map"), op.map_name));
  SG_RETURN_IF_ERROR(Required(j, at, "key", field));
  SG_RETURN_IF_ERROR(Str(*field, at.Field("key"), op.key));
  if (const json* value = Optional(j, "value")) {
    op.value.emplace();
    SG_RETURN_IF_ERROR(Doc(*value, at.Field("value"), *op.value));
  }
  op.concern = msg::WriteConcern::kApplied;
  if (const json* concern = Optional(j, "concern")) {
    SG_RETURN_IF_ERROR(Concern(*concern, at.Field("concern"), op.concern));
  }
  op.client_ts = Timestamp{0, 0, client};
  if (const json* ts = Optional(j, "client_ts")) {
    SG_RETURN_IF_ERROR(Ts(*ts, at.Field("client_ts"), op.client_ts));
  }
  if (const json* counter = Optional(j, "counter")) {
    if (op.value) return Error(at.Field("value"), "a counter op carries no value");
    SG_RETURN_IF_ERROR(ReadCounterOp(*counter, at.Field("counter"), op.counter.emplace()));
  }
  if (const json* or_op = Optional(j, "or")) {
    if (op.counter) return Error(at.Field("or"), "a counter op is no OR op");
    SG_RETURN_IF_ERROR(ReadOrOp(*or_op, at.Field("or"), budget, op));
  }
  return absl::OkStatus();
}

absl::Status ReadMarks(const json& j, const Path& at, msg::MapMarks& m) {
  SG_RETURN_IF_ERROR(CheckObject(j, at, {"map", "digests"}));
  const json* field = nullptr;
  SG_RETURN_IF_ERROR(Required(j, at, "map", field));
  SG_RETURN_IF_ERROR(MapName(*field, at.Field("map"), m.map_name));
  const json* digests = Optional(j, "digests");
  if (digests == nullptr) return absl::OkStatus();
  const Path d = at.Field("digests");
  if (!digests->is_object()) {
    return Expected(d, "an object of partition (decimal string) to digest", *digests);
  }
  std::vector<std::pair<uint32_t, uint64_t>> pairs;
  pairs.reserve(digests->size());
  for (auto it = digests->begin(); it != digests->end(); ++it) {
    const std::optional<uint32_t> p = PartitionKey(it.key());
    if (!p) {
      return Error(
          d, fmt::format("key '{}' is not a partition 0..{}", Clip(it.key()), kPartitionCount - 1));
    }
    uint64_t digest = 0;
    SG_RETURN_IF_ERROR(Digest(it.value(), d.Field(it.key()), digest));
    pairs.emplace_back(*p, digest);
  }
  // Object keys iterate as strings ("17" before "3"): partitions ascending.
  std::sort(pairs.begin(), pairs.end());
  for (const auto& [p, digest] : pairs) {
    m.partitions.push_back(p);
    m.digests.push_back(digest);
  }
  return absl::OkStatus();
}

// A repair (`leaf` false) or a change (`leaf` true): one map of one partition.
absl::Status ReadState(const json& j, const Path& at, bool leaf, size_t& budget,
                       msg::PartitionState& s) {
  if (leaf) {
    SG_RETURN_IF_ERROR(CheckObject(
        j, at,
        {"map", "partition", "digest", "pruned_below_ms", "records", "counters", "or_keys"}));
  } else {
    SG_RETURN_IF_ERROR(CheckObject(j, at, {"partition", "map", "records", "counters", "or_keys"}));
  }
  s.purpose = leaf ? msg::StatePurpose::kClientLeaf : msg::StatePurpose::kClientRepair;
  const json* field = nullptr;
  SG_RETURN_IF_ERROR(Required(j, at, "partition", field));
  SG_RETURN_IF_ERROR(Partition(*field, at.Field("partition"), s.partition));
  const json* map = nullptr;
  if (leaf) {
    map = Optional(j, "map");
  } else {
    SG_RETURN_IF_ERROR(Required(j, at, "map", map));
  }
  if (map != nullptr) {
    SG_RETURN_IF_ERROR(MapName(*map, at.Field("map"), s.maps.emplace_back().map_name));
  }
  if (leaf) {
    uint64_t ignored = 0;  // Computed by the writer; the records are the truth.
    if (const json* digest = Optional(j, "digest")) {
      SG_RETURN_IF_ERROR(Digest(*digest, at.Field("digest"), ignored));
    }
    if (const json* pruned = Optional(j, "pruned_below_ms")) {
      SG_RETURN_IF_ERROR(U64(*pruned, at.Field("pruned_below_ms"), s.pruned_below_ms));
    }
  }
  for (const char* name : {"records", "counters", "or_keys"}) {
    const json* v = Optional(j, name);
    if (v == nullptr) continue;
    const Path where = at.Field(name);
    if (map == nullptr) {
      SG_RETURN_IF_ERROR(Array(*v, where, name));
      if (!v->empty()) return Error(where, fmt::format("{} without a map", name));
      continue;
    }
    const std::string_view n = name;
    SG_RETURN_IF_ERROR(n == "records" ? ReadRecords(*v, where, s.partition, budget, s.maps[0].lww)
                       : n == "counters"
                           ? ReadCounters(*v, where, s.partition, budget, s.maps[0].counters)
                           : ReadOrKeys(*v, where, s.partition, budget, s.maps[0].or_keys));
  }
  return absl::OkStatus();
}

absl::Status ReadAck(const json& j, const Path& at, msg::GridOpAck& a) {
  SG_RETURN_IF_ERROR(CheckObject(j, at, {"seq", "ts", "level", "duplicate"}));
  const json* field = nullptr;
  SG_RETURN_IF_ERROR(Required(j, at, "seq", field));
  SG_RETURN_IF_ERROR(U64(*field, at.Field("seq"), a.seq));
  SG_RETURN_IF_ERROR(Required(j, at, "ts", field));
  SG_RETURN_IF_ERROR(Ts(*field, at.Field("ts"), a.ts));
  a.level = msg::WriteConcern::kApplied;
  if (const json* level = Optional(j, "level")) {
    SG_RETURN_IF_ERROR(Concern(*level, at.Field("level"), a.level));
  }
  a.duplicate = false;
  if (const json* duplicate = Optional(j, "duplicate")) {
    SG_RETURN_IF_ERROR(Bool(*duplicate, at.Field("duplicate"), a.duplicate));
  }
  return absl::OkStatus();
}

absl::Status ReadRequest(const json& j, msg::HttpSyncRequest& r) {
  const Path body;
  SG_RETURN_IF_ERROR(
      CheckObject(j, body, {"client", "request_id", "ops", "marks", "repairs", "cursor"}));
  const json* field = nullptr;
  SG_RETURN_IF_ERROR(Required(j, body, "client", field));
  SG_RETURN_IF_ERROR(Node(*field, body.Field("client"), r.client));
  if (const json* id = Optional(j, "request_id")) {
    SG_RETURN_IF_ERROR(U64(*id, body.Field("request_id"), r.request_id));
  }
  size_t budget = kSyncJsonRecordsMax;  // records, counters, OR items, tombstones and names
  if (const json* ops = Optional(j, "ops")) {
    const Path at = body.Field("ops");
    SG_RETURN_IF_ERROR(Array(*ops, at, "ops"));
    if (ops->size() > kSyncJsonOpsMax) {
      return Error(at,
                   fmt::format("{} ops; at most {} in one request", ops->size(), kSyncJsonOpsMax));
    }
    r.ops.resize(ops->size());
    for (size_t i = 0; i < ops->size(); ++i) {
      SG_RETURN_IF_ERROR(ReadOp((*ops)[i], at[i], r.client, budget, r.ops[i]));
    }
  }
  if (const json* marks = Optional(j, "marks")) {
    const Path at = body.Field("marks");
    SG_RETURN_IF_ERROR(Array(*marks, at, "marks"));
    r.marks.resize(marks->size());
    for (size_t i = 0; i < marks->size(); ++i) {
      SG_RETURN_IF_ERROR(ReadMarks((*marks)[i], at[i], r.marks[i]));
    }
  }
  if (const json* repairs = Optional(j, "repairs")) {
    const Path at = body.Field("repairs");
    SG_RETURN_IF_ERROR(Array(*repairs, at, "repairs"));
    if (repairs->size() > kSyncJsonRecordsMax) {
      return Error(at, fmt::format("{} repairs; at most {} in one request", repairs->size(),
                                   kSyncJsonRecordsMax));
    }
    r.repairs.resize(repairs->size());
    for (size_t i = 0; i < repairs->size(); ++i) {
      SG_RETURN_IF_ERROR(ReadState((*repairs)[i], at[i], /*leaf=*/false, budget, r.repairs[i]));
    }
  }
  if (const json* cursor = Optional(j, "cursor")) {
    SG_RETURN_IF_ERROR(Str(*cursor, body.Field("cursor"), r.cursor));
  }
  return absl::OkStatus();
}

absl::Status ReadResponse(const json& j, msg::HttpSyncResponse& r) {
  const Path body;
  SG_RETURN_IF_ERROR(
      CheckObject(j, body, {"request_id", "status", "error", "acks", "changes", "cursor"}));
  if (const json* id = Optional(j, "request_id")) {
    SG_RETURN_IF_ERROR(U64(*id, body.Field("request_id"), r.request_id));
  }
  r.status = 200;
  if (const json* status = Optional(j, "status")) {
    uint64_t s = 0;
    SG_RETURN_IF_ERROR(U64(*status, body.Field("status"), s));
    if (s < 100 || s > 599) {
      return Error(body.Field("status"),
                   fmt::format("status {} is not an HTTP status 100..599", s));
    }
    r.status = static_cast<uint16_t>(s);
  }
  if (const json* error = Optional(j, "error")) {
    SG_RETURN_IF_ERROR(Str(*error, body.Field("error"), r.error));
  }
  if (const json* acks = Optional(j, "acks")) {
    const Path at = body.Field("acks");
    SG_RETURN_IF_ERROR(Array(*acks, at, "acks"));
    r.acks.resize(acks->size());
    for (size_t i = 0; i < acks->size(); ++i) {
      SG_RETURN_IF_ERROR(ReadAck((*acks)[i], at[i], r.acks[i]));
    }
  }
  if (const json* changes = Optional(j, "changes")) {
    const Path at = body.Field("changes");
    SG_RETURN_IF_ERROR(Array(*changes, at, "changes"));
    size_t budget = std::numeric_limits<size_t>::max();  // A server's answer: bounded by its size.
    r.leaves.resize(changes->size());
    for (size_t i = 0; i < changes->size(); ++i) {
      SG_RETURN_IF_ERROR(ReadState((*changes)[i], at[i], /*leaf=*/true, budget, r.leaves[i]));
    }
  }
  if (const json* cursor = Optional(j, "cursor")) {
    SG_RETURN_IF_ERROR(Str(*cursor, body.Field("cursor"), r.cursor));
  }
  return absl::OkStatus();
}

// ---- Writing.

std::string Hex(uint64_t digest) { return fmt::format("{:016x}", digest); }

std::string Dump(const ojson& j) { return j.dump(-1, ' ', false, ojson::error_handler_t::replace); }

ojson DocJson(const std::optional<Document>& doc) {
  return doc ? ojson(DocumentToJson(*doc)) : ojson(nullptr);
}

ojson RecordsJson(const std::vector<msg::LwwEntry>& lww) {
  ojson out = ojson::array();
  for (const msg::LwwEntry& e : lww) {
    ojson j;
    j["key"] = e.key;
    j["value"] = DocJson(e.record.value);
    j["ts"] = e.record.ts.ToString();
    if (e.record.ttl_ms) j["ttl_ms"] = *e.record.ttl_ms;
    out.push_back(std::move(j));
  }
  return out;
}

ojson ChangeJson(const msg::PartitionState& leaf, const msg::MapRecords* map) {
  ojson j;
  if (map != nullptr) j["map"] = map->map_name;
  j["partition"] = leaf.partition;
  // The server's per-map digest of these contents (PartitionDigests::of, record_digest.h).
  j["digest"] = Hex(map != nullptr ? msg::RecordsDigest(*map) : 0);
  j["pruned_below_ms"] = leaf.pruned_below_ms;
  j["records"] = map != nullptr ? RecordsJson(map->lww) : ojson::array();
  if (map != nullptr) AddCountersJson(map->counters, j);
  if (map != nullptr) AddOrKeysJson(map->or_keys, j);
  return j;
}

}  // namespace

absl::StatusOr<msg::HttpSyncRequest> SyncRequestFromJson(std::string_view body) {
  json j;
  SG_RETURN_IF_ERROR(Parse(body, j));
  msg::HttpSyncRequest r;
  SG_RETURN_IF_ERROR(ReadRequest(j, r));
  return r;
}

std::string SyncRequestToJson(const msg::HttpSyncRequest& r) {
  ojson j;
  j["client"] = r.client;
  j["request_id"] = r.request_id;
  ojson& ops = j["ops"] = ojson::array();
  for (const msg::GridOp& op : r.ops) {
    ojson o;
    o["seq"] = op.seq;
    o["map"] = op.map_name;
    o["key"] = op.key;
    o["value"] = DocJson(op.value);
    o["concern"] = ConcernName(op.concern);
    o["client_ts"] = op.client_ts.ToString();
    if (op.counter) {
      o["counter"] = ojson{{"positive", op.counter->positive}, {"negative", op.counter->negative}};
    }
    if (op.or_kind == msg::OrOpKind::kAdd) o["or"] = ojson{{"kind", "add"}};
    if (op.or_kind == msg::OrOpKind::kRemove) {
      o["or"] = ojson{{"kind", "remove"}, {"names", StampsJson(op.or_tags)}};
    }
    ops.push_back(std::move(o));
  }
  ojson& marks = j["marks"] = ojson::array();
  for (const msg::MapMarks& m : r.marks) {
    SG_ASSERT(m.partitions.size() == m.digests.size());
    ojson digests = ojson::object();
    for (size_t i = 0; i < m.partitions.size(); ++i) {
      digests[std::to_string(m.partitions[i])] = Hex(m.digests[i]);
    }
    marks.push_back(ojson{{"map", m.map_name}, {"digests", std::move(digests)}});
  }
  ojson& repairs = j["repairs"] = ojson::array();
  for (const msg::PartitionState& s : r.repairs) {
    for (const msg::MapRecords& m : s.maps) {
      ojson e;
      e["partition"] = s.partition;
      e["map"] = m.map_name;
      e["records"] = RecordsJson(m.lww);
      AddCountersJson(m.counters, e);
      AddOrKeysJson(m.or_keys, e);
      repairs.push_back(std::move(e));
    }
  }
  if (!r.cursor.empty()) j["cursor"] = r.cursor;
  return Dump(j);
}

absl::StatusOr<msg::HttpSyncResponse> SyncResponseFromJson(std::string_view body) {
  json j;
  SG_RETURN_IF_ERROR(Parse(body, j));
  msg::HttpSyncResponse r;
  SG_RETURN_IF_ERROR(ReadResponse(j, r));
  return r;
}

std::string SyncResponseToJson(const msg::HttpSyncResponse& r) {
  ojson j;
  j["request_id"] = r.request_id;
  if (r.status != 200 || !r.error.empty()) {
    j["status"] = r.status;
    j["error"] = r.error;
  }
  if (r.status == 200 || !r.acks.empty()) {
    ojson& acks = j["acks"] = ojson::array();
    for (const msg::GridOpAck& a : r.acks) {
      ojson o;
      o["seq"] = a.seq;
      o["ts"] = a.ts.ToString();
      o["level"] = ConcernName(a.level);
      o["duplicate"] = a.duplicate;
      acks.push_back(std::move(o));
    }
  }
  if (r.status == 200 || !r.leaves.empty()) {
    ojson& changes = j["changes"] = ojson::array();
    for (const msg::PartitionState& leaf : r.leaves) {
      if (leaf.maps.empty()) changes.push_back(ChangeJson(leaf, nullptr));
      for (const msg::MapRecords& m : leaf.maps) changes.push_back(ChangeJson(leaf, &m));
    }
  }
  if (!r.cursor.empty()) j["cursor"] = r.cursor;
  return Dump(j);
}

}  // namespace seedgrid::net
