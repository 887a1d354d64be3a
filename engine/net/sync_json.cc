#include "engine/net/sync_json.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "engine/base/assert.h"
#include "engine/cluster/partition.h"
#include "engine/crdt/lww_map.h"
#include "engine/hlc/timestamp.h"
#include "engine/net/document_json.h"
#include "engine/wire/codec.h"

#ifndef SG_RETURN_IF_ERROR
#define SG_RETURN_IF_ERROR(expr)                       \
  do {                                                 \
    if (absl::Status _s = (expr); !_s.ok()) return _s; \
  } while (false)
#endif

namespace seedgrid::net {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

static_assert(kPartitionCount == kWirePartitionCount);

constexpr msg::WriteConcern kConcerns[] = {
    msg::WriteConcern::kFireAndForget, msg::WriteConcern::kApplied, msg::WriteConcern::kReplicated};
constexpr size_t kClipBytes = 64;  // of a value quoted in an error
constexpr size_t kUnknownFieldsNamed = 5;

// "fire_and_forget", "applied", "replicated": msg::WriteConcernName in lower case.
std::string ConcernName(msg::WriteConcern concern) {
  std::string name(msg::WriteConcernName(concern));
  for (char& c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return name;
}

// A position in the body, such as "ops[3].concern": a chain of segments on the stack, formatted
// only when an error names it. Make paths as call arguments or locals, never store them.
class Path {
 public:
  Path() = default;  // The body itself.
  Path Field(std::string_view name) const { return Path(this, name, kNoIndex); }
  Path operator[](size_t i) const { return Path(this, {}, i); }
  std::string str() const {
    std::string out;
    AppendTo(out);
    return out.empty() ? std::string("body") : out;
  }

 private:
  static constexpr size_t kNoIndex = static_cast<size_t>(-1);
  Path(const Path* parent, std::string_view text, size_t index)
      : parent_(parent), text_(text), index_(index) {}
  void AppendTo(std::string& out) const {
    if (parent_ != nullptr) parent_->AppendTo(out);
    if (index_ != kNoIndex) {
      out += fmt::format("[{}]", index_);
    } else if (!text_.empty()) {
      if (!out.empty()) out += '.';
      out += text_;
    }
  }

  const Path* parent_ = nullptr;
  std::string_view text_;
  size_t index_ = kNoIndex;
};

absl::Status Error(const Path& at, std::string_view what) {
  return absl::InvalidArgumentError(fmt::format("{}: {}", at.str(), what));
}

std::string Clip(std::string_view s) {
  if (s.size() <= kClipBytes) return std::string(s);
  return fmt::format("{}...", s.substr(0, kClipBytes));
}

// How an error shows a value it did not expect: numbers and short strings as they are, other
// types by name.
std::string Describe(const json& v) {
  switch (v.type()) {
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
    case json::value_t::boolean:
    case json::value_t::null:
      return v.dump();
    case json::value_t::string:
      return fmt::format("string '{}'", Clip(v.get_ref<const std::string&>()));
    default:
      return v.type_name();
  }
}

absl::Status Expected(const Path& at, std::string_view what, const json& v) {
  return Error(at, fmt::format("expected {}, got {}", what, Describe(v)));
}

// "a, b or c".
std::string OneOf(std::initializer_list<const char*> names) {
  std::string out;
  size_t i = 0;
  for (const char* name : names) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += name;
    ++i;
  }
  return out;
}

// An object whose fields are all among `fields`.
absl::Status CheckObject(const json& j, const Path& at, std::initializer_list<const char*> fields) {
  if (!j.is_object()) return Expected(at, "an object", j);
  std::vector<std::string> unknown;
  size_t unknown_count = 0;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    const bool known =
        std::any_of(fields.begin(), fields.end(), [&name](const char* f) { return name == f; });
    if (known) continue;
    ++unknown_count;
    if (unknown.size() < kUnknownFieldsNamed) unknown.push_back(fmt::format("'{}'", Clip(name)));
  }
  if (unknown_count == 0) return absl::OkStatus();
  std::string named = fmt::format("{}", fmt::join(unknown, ", "));
  if (unknown_count > unknown.size()) {
    named += fmt::format(" and {} more", unknown_count - unknown.size());
  }
  return Error(at, fmt::format("unknown field{} {} (expected {})", unknown_count == 1 ? "" : "s",
                               named, OneOf(fields)));
}

// The field, or nullptr when it is absent or null (an optional field may be spelled null).
const json* Optional(const json& j, const char* name) {
  auto it = j.find(name);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

absl::Status Required(const json& j, const Path& at, const char* name, const json*& out) {
  auto it = j.find(name);
  if (it == j.end()) return Error(at, fmt::format("missing required field '{}'", name));
  out = &*it;
  return absl::OkStatus();
}

absl::Status U64(const json& v, const Path& at, uint64_t& out) {
  // "-0" parses as a signed zero; every other non-negative integer as unsigned.
  if (!v.is_number_integer() || (!v.is_number_unsigned() && v.get<int64_t>() < 0)) {
    return Expected(at, "a non-negative integer", v);
  }
  out = v.is_number_unsigned() ? v.get<uint64_t>() : 0;
  return absl::OkStatus();
}

absl::Status Bool(const json& v, const Path& at, bool& out) {
  if (!v.is_boolean()) return Expected(at, "true or false", v);
  out = v.get<bool>();
  return absl::OkStatus();
}

absl::Status Str(const json& v, const Path& at, std::string& out) {
  if (!v.is_string()) return Expected(at, "a string", v);
  out = v.get<std::string>();
  return absl::OkStatus();
}

// The wire decoder's rule (Decoder::Node): ValidateNodeId of engine/hlc/timestamp.h.
absl::Status Node(const json& v, const Path& at, std::string& out) {
  SG_RETURN_IF_ERROR(Str(v, at, out));
  if (absl::Status s = ::seedgrid::ValidateNodeId(out); !s.ok()) {
    return Error(at, std::string(s.message()));
  }
  return absl::OkStatus();
}

// The wire decoder's rule (Decoder::MapName).
absl::Status MapName(const json& v, const Path& at, std::string& out) {
  SG_RETURN_IF_ERROR(Str(v, at, out));
  if (out.empty()) return Error(at, "map name must not be empty");
  if (out.size() > kMapNameBytesMax) {
    return Error(at, fmt::format("map name is {} bytes; at most {}", out.size(), kMapNameBytesMax));
  }
  return absl::OkStatus();
}

absl::Status Ts(const json& v, const Path& at, Timestamp& out) {
  if (!v.is_string()) return Expected(at, "a timestamp string \"millis:counter:node_id\"", v);
  absl::StatusOr<Timestamp> ts = Timestamp::Parse(v.get_ref<const std::string&>());
  if (!ts.ok()) return Error(at, std::string(ts.status().message()));
  out = *std::move(ts);
  return absl::OkStatus();
}

absl::Status Concern(const json& v, const Path& at, msg::WriteConcern& out) {
  if (!v.is_string()) return Expected(at, "a write concern string", v);
  const std::string& text = v.get_ref<const std::string&>();
  for (msg::WriteConcern c : kConcerns) {
    if (text == ConcernName(c)) {
      out = c;
      return absl::OkStatus();
    }
  }
  return Error(at, fmt::format("unknown write concern '{}' (expected fire_and_forget, applied or "
                               "replicated)",
                               Clip(text)));
}

absl::Status Partition(const json& v, const Path& at, uint32_t& out) {
  uint64_t p = 0;
  SG_RETURN_IF_ERROR(U64(v, at, p));
  if (p >= kPartitionCount) {
    return Error(at, fmt::format("partition {} is not 0..{}", p, kPartitionCount - 1));
  }
  out = static_cast<uint32_t>(p);
  return absl::OkStatus();
}

// A "digests" key: a partition in canonical decimal.
std::optional<uint32_t> PartitionKey(std::string_view text) {
  if (text.empty() || text.size() > 3 || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  uint32_t p = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    p = p * 10 + static_cast<uint32_t>(c - '0');
  }
  if (p >= kPartitionCount) return std::nullopt;
  return p;
}

absl::Status Digest(const json& v, const Path& at, uint64_t& out) {
  if (!v.is_string()) return Expected(at, "a digest of 16 hex digits", v);
  const std::string& text = v.get_ref<const std::string&>();
  uint64_t d = 0;
  bool ok = text.size() == 16;
  for (size_t i = 0; ok && i < text.size(); ++i) {
    const char c = text[i];
    uint64_t digit = 0;
    if (c >= '0' && c <= '9') {
      digit = static_cast<uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<uint64_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      digit = static_cast<uint64_t>(c - 'A' + 10);
    } else {
      ok = false;
    }
    d = (d << 4) | digit;
  }
  if (!ok) return Error(at, fmt::format("digest '{}' is not 16 hex digits", Clip(text)));
  out = d;
  return absl::OkStatus();
}

absl::Status Doc(const json& v, const Path& at, Document& out) {
  absl::StatusOr<Document> doc = DocumentFromJson(v, at.str());
  if (!doc.ok()) return doc.status();
  out = *std::move(doc);
  return absl::OkStatus();
}

absl::Status Array(const json& v, const Path& at, std::string_view of) {
  if (!v.is_array()) return Expected(at, fmt::format("an array of {}", of), v);
  return absl::OkStatus();
}

absl::Status Parse(std::string_view body, json& out) {
  try {
    out = json::parse(body.data(), body.data() + body.size());
  } catch (const json::exception& e) {
    // "[json.exception.parse_error.101] parse error at line 1, ...": the part after the tag.
    std::string_view what = e.what();
    if (const size_t tag_end = what.find("] "); tag_end != std::string_view::npos) {
      what.remove_prefix(tag_end + 2);
    }
    return Error(Path(), fmt::format("not JSON: {}", what));
  }
  return absl::OkStatus();
}

// ---- Reading.

// `budget`: the records the message may still hold.
absl::Status ReadRecords(const json& v, const Path& at, uint32_t partition, size_t& budget,
                         std::vector<msg::LwwEntry>& out) {
  SG_RETURN_IF_ERROR(Array(v, at, "records"));
  if (v.size() > budget) {
    return Error(at, fmt::format("more than {} records in one request", kSyncJsonRecordsMax));
  }
  budget -= v.size();
  out.resize(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const json& j = v[i];
    const Path r = at[i];
    msg::LwwEntry& e = out[i];
    SG_RETURN_IF_ERROR(CheckObject(j, r, {"key", "value", "ts", "ttl_ms"}));
    const json* field = nullptr;
    SG_RETURN_IF_ERROR(Required(j, r, "key", field));
    SG_RETURN_IF_ERROR(Str(*field, r.Field("key"), e.key));
    if (const uint32_t p = PartitionOf(e.key); p != partition) {
      return Error(r.Field("key"),
                   fmt::format("key '{}' is in partition {}, not {}", Clip(e.key), p, partition));
    }
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

absl::Status ReadOp(const json& j, const Path& at, const std::string& client, msg::GridOp& op) {
  SG_RETURN_IF_ERROR(CheckObject(j, at, {"seq", "map", "key", "value", "concern", "client_ts"}));
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
    SG_RETURN_IF_ERROR(
        CheckObject(j, at, {"map", "partition", "digest", "pruned_below_ms", "records"}));
  } else {
    SG_RETURN_IF_ERROR(CheckObject(j, at, {"partition", "map", "records"}));
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
  const json* records = Optional(j, "records");
  if (records == nullptr) return absl::OkStatus();
  if (map == nullptr) {
    SG_RETURN_IF_ERROR(Array(*records, at.Field("records"), "records"));
    if (!records->empty()) return Error(at.Field("records"), "records without a map");
    return absl::OkStatus();
  }
  return ReadRecords(*records, at.Field("records"), s.partition, budget, s.maps[0].lww);
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
  if (const json* ops = Optional(j, "ops")) {
    const Path at = body.Field("ops");
    SG_RETURN_IF_ERROR(Array(*ops, at, "ops"));
    if (ops->size() > kSyncJsonOpsMax) {
      return Error(at,
                   fmt::format("{} ops; at most {} in one request", ops->size(), kSyncJsonOpsMax));
    }
    r.ops.resize(ops->size());
    for (size_t i = 0; i < ops->size(); ++i) {
      SG_RETURN_IF_ERROR(ReadOp((*ops)[i], at[i], r.client, r.ops[i]));
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
    size_t budget = kSyncJsonRecordsMax;
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

// The server's per-map digest of these records (PartitionDigests::of, record_digest.h).
uint64_t RecordsDigest(const std::vector<msg::LwwEntry>& lww) {
  uint64_t d = 0;
  for (const msg::LwwEntry& e : lww) d ^= RecordHash(e.key, e.record);
  return d;
}

ojson ChangeJson(const msg::PartitionState& leaf, const msg::MapRecords* map) {
  ojson j;
  if (map != nullptr) j["map"] = map->map_name;
  j["partition"] = leaf.partition;
  j["digest"] = Hex(map != nullptr ? RecordsDigest(map->lww) : 0);
  j["pruned_below_ms"] = leaf.pruned_below_ms;
  j["records"] = map != nullptr ? RecordsJson(map->lww) : ojson::array();
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
