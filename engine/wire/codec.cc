#include "engine/wire/codec.h"

#include <fmt/format.h>

#include <type_traits>

#include "engine/base/assert.h"
#include "engine/base/strings.h"
#include "engine/merkle/merkle_tree.h"
#include "engine/wire/seedgrid_generated.h"

namespace seedgrid {

namespace fb = ::seedgrid::wire;
using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

namespace msg {
std::string_view BodyName(const Body& body) {
  static constexpr std::string_view kNames[] = {"OpBatch",
                                                "Ack",
                                                "SyncInit",
                                                "SyncRoot",
                                                "SyncBucketsRequest",
                                                "SyncBuckets",
                                                "SyncLeafRequest",
                                                "SyncLeaf",
                                                "OrMapDiff",
                                                "PnCounterState",
                                                "QuerySubscribe",
                                                "GridOps",
                                                "GridAck",
                                                "PartitionState",
                                                "PartitionDigest",
                                                "Heartbeat",
                                                "QueryUpdate"};
  static_assert(std::size(kNames) == std::variant_size_v<Body>);
  return kNames[body.index()];
}

std::string_view WriteConcernName(WriteConcern concern) {
  switch (concern) {
    case WriteConcern::kFireAndForget:
      return "FIRE_AND_FORGET";
    case WriteConcern::kApplied:
      return "APPLIED";
    case WriteConcern::kReplicated:
      return "REPLICATED";
  }
  return "?";
}
}  // namespace msg

namespace {

// ---------------------------------------------------------------- encoding

class Encoder {
 public:
  Offset<fb::Timestamp> Ts(const Timestamp& ts) {
    SG_ASSERT(ValidateNodeId(ts.node_id).ok());
    return fb::CreateTimestamp(b_, ts.millis, ts.counter, b_.CreateString(ts.node_id));
  }

  std::pair<fb::Value, Offset<void>> Val(const Value& value) {
    switch (TypeOf(value)) {
      case ValueType::kNull:
        return {fb::Value::NullValue, fb::CreateNullValue(b_).Union()};
      case ValueType::kBool:
        return {fb::Value::BoolValue, fb::CreateBoolValue(b_, std::get<bool>(value)).Union()};
      case ValueType::kInt:
        return {fb::Value::IntValue, fb::CreateIntValue(b_, std::get<int64_t>(value)).Union()};
      case ValueType::kDouble: {
        // FlatBuffers omits scalars equal to their default, and -0.0 == 0.0: force the write so
        // the sign of zero survives (values are compared bit-exactly). Found by the fuzzer.
        b_.ForceDefaults(true);
        auto v = fb::CreateDoubleValue(b_, std::get<double>(value)).Union();
        b_.ForceDefaults(false);
        return {fb::Value::DoubleValue, v};
      }
      case ValueType::kString: {
        auto str = b_.CreateString(std::get<std::string>(value));
        return {fb::Value::StringValue, fb::CreateStringValue(b_, str).Union()};
      }
      case ValueType::kList: {
        auto list = b_.CreateVectorOfStrings(std::get<StringList>(value));
        return {fb::Value::StringListValue, fb::CreateStringListValue(b_, list).Union()};
      }
    }
    SG_ASSERT(false);
  }

  Offset<fb::Document> Doc(const Document& doc) {
    std::vector<Offset<fb::Field>> fields;
    fields.reserve(doc.size());
    for (const auto& [name, value] : doc) {
      auto name_offset = b_.CreateString(name);
      auto [type, v] = Val(value);
      fields.push_back(fb::CreateField(b_, name_offset, type, v));
    }
    return fb::CreateDocument(b_, b_.CreateVector(fields));
  }

  Offset<fb::PredicateNode> Pred(const Predicate& p) {
    std::vector<Offset<fb::QueryArg>> args;
    for (const Value& v : p.args) {
      auto [type, offset] = Val(v);
      args.push_back(fb::CreateQueryArg(b_, type, offset));
    }
    std::vector<Offset<fb::PredicateNode>> children;
    for (const Predicate& c : p.children) children.push_back(Pred(c));
    auto field = p.field.empty() ? 0 : b_.CreateString(p.field);
    auto args_offset = b_.CreateVector(args);
    auto children_offset = b_.CreateVector(children);
    return fb::CreatePredicateNode(b_, static_cast<uint8_t>(p.op), field, args_offset,
                                   children_offset);
  }

  Offset<fb::Query> QueryTable(const Query& q) {
    auto where = Pred(q.where);
    std::vector<Offset<fb::SortKey>> sort;
    for (const SortField& f : q.sort) {
      auto field = b_.CreateString(f.field);
      sort.push_back(fb::CreateSortKey(b_, field, f.descending));
    }
    auto sort_offset = b_.CreateVector(sort);
    return fb::CreateQuery(b_, where, sort_offset, Ttl(q.limit));
  }

  static flatbuffers::Optional<uint64_t> Ttl(const std::optional<uint64_t>& ttl) {
    return ttl ? flatbuffers::Optional<uint64_t>(*ttl) : flatbuffers::nullopt;
  }

  Offset<flatbuffers::Vector<Offset<fb::LwwRecord>>> Lww(const std::vector<msg::LwwEntry>& in) {
    std::vector<Offset<fb::LwwRecord>> out;
    out.reserve(in.size());
    for (const auto& e : in) {
      auto key = b_.CreateString(e.key);
      auto ts = Ts(e.record.ts);
      Offset<fb::Document> value = e.record.value ? Doc(*e.record.value) : 0;
      out.push_back(fb::CreateLwwRecord(b_, key, ts, value, Ttl(e.record.ttl_ms)));
    }
    return b_.CreateVector(out);
  }

  Offset<flatbuffers::Vector<Offset<fb::OrKeyState>>> Or(const std::vector<msg::OrKeyState>& in) {
    std::vector<Offset<fb::OrKeyState>> out;
    out.reserve(in.size());
    for (const auto& e : in) {
      auto key = b_.CreateString(e.key);
      std::vector<Offset<fb::OrRecord>> items;
      for (const auto& r : e.items) {
        auto tag = Ts(r.tag);
        auto doc = Doc(r.value);
        items.push_back(fb::CreateOrRecord(b_, tag, doc, Ttl(r.ttl_ms)));
      }
      std::vector<Offset<fb::Timestamp>> tombstones;
      for (const auto& t : e.tombstones) tombstones.push_back(Ts(t));
      // One builder call per statement: argument evaluation order is unspecified in C++ (gcc and
      // clang differ), and the order of builder calls decides the bytes.
      auto items_offset = b_.CreateVector(items);
      auto tombstones_offset = b_.CreateVector(tombstones);
      out.push_back(fb::CreateOrKeyState(b_, key, items_offset, tombstones_offset));
    }
    return b_.CreateVector(out);
  }

  std::pair<fb::Body, Offset<void>> Body(const msg::Body& body) {
    return std::visit([this](const auto& m) { return Encode(m); }, body);
  }

  std::pair<fb::Body, Offset<void>> Encode(const msg::OpBatch& m) {
    auto name = b_.CreateString(m.map_name);
    auto lww = Lww(m.lww);
    auto ors = Or(m.or_entries);
    return {fb::Body::OpBatch, fb::CreateOpBatch(b_, m.batch_id, name, lww, ors).Union()};
  }
  std::pair<fb::Body, Offset<void>> Encode(const msg::Ack& m) {
    auto error = m.error.empty() ? 0 : b_.CreateString(m.error);
    return {fb::Body::Ack, fb::CreateAck(b_, m.batch_id, m.accepted, error).Union()};
  }
  std::pair<fb::Body, Offset<void>> Encode(const msg::SyncInit& m) {
    auto name = b_.CreateString(m.map_name);
    return {fb::Body::SyncInit,
            fb::CreateSyncInit(b_, name, static_cast<fb::MapKind>(m.kind), m.depth, m.root_hash)
                .Union()};
  }
  std::pair<fb::Body, Offset<void>> Encode(const msg::SyncRoot& m) {
    auto name = b_.CreateString(m.map_name);
    return {fb::Body::SyncRoot,
            fb::CreateSyncRoot(b_, name, static_cast<fb::MapKind>(m.kind), m.depth, m.root_hash)
                .Union()};
  }
  std::pair<fb::Body, Offset<void>> Encode(const msg::SyncBucketsRequest& m) {
    auto name = b_.CreateString(m.map_name);
    auto path = b_.CreateVector(m.path);
    return {fb::Body::SyncBucketsRequest, fb::CreateSyncBucketsRequest(b_, name, path).Union()};
  }
  std::pair<fb::Body, Offset<void>> Encode(const msg::SyncBuckets& m) {
    auto name = b_.CreateString(m.map_name);
    auto path = b_.CreateVector(m.path);
    auto hashes = b_.CreateVector(m.hashes.data(), m.hashes.size());
    return {fb::Body::SyncBuckets, fb::CreateSyncBuckets(b_, name, path, hashes).Union()};
  }
  std::pair<fb::Body, Offset<void>> Encode(const msg::SyncLeafRequest& m) {
    auto name = b_.CreateString(m.map_name);
    auto path = b_.CreateVector(m.path);
    return {fb::Body::SyncLeafRequest, fb::CreateSyncLeafRequest(b_, name, path).Union()};
  }
  std::pair<fb::Body, Offset<void>> Encode(const msg::SyncLeaf& m) {
    auto name = b_.CreateString(m.map_name);
    auto path = b_.CreateVector(m.path);
    auto lww = Lww(m.lww);
    auto ors = Or(m.or_entries);
    return {fb::Body::SyncLeaf, fb::CreateSyncLeaf(b_, name, path, lww, ors).Union()};
  }
  std::pair<fb::Body, Offset<void>> Encode(const msg::OrMapDiff& m) {
    auto name = b_.CreateString(m.map_name);
    auto ors = Or(m.entries);
    return {fb::Body::OrMapDiff, fb::CreateOrMapDiff(b_, name, ors).Union()};
  }
  std::pair<fb::Body, Offset<void>> Encode(const msg::PnCounterState& m) {
    auto name = b_.CreateString(m.name);
    std::vector<Offset<fb::PnEntry>> entries;
    for (const auto& [node, totals] : m.entries) {
      SG_ASSERT(ValidateNodeId(node).ok());
      entries.push_back(
          fb::CreatePnEntry(b_, b_.CreateString(node), totals.positive, totals.negative));
    }
    return {fb::Body::PnCounterState,
            fb::CreatePnCounterState(b_, name, b_.CreateVector(entries)).Union()};
  }

  std::pair<fb::Body, Offset<void>> Encode(const msg::QuerySubscribe& m) {
    auto name = b_.CreateString(m.map_name);
    auto query = QueryTable(m.query);
    auto requester = m.requester.empty() ? 0 : b_.CreateString(m.requester);
    std::vector<Offset<fb::QueryMark>> known;
    for (const msg::QueryMark& k : m.known) {
      SG_ASSERT(ValidateNodeId(k.server).ok());
      known.push_back(fb::CreateQueryMark(b_, b_.CreateString(k.server), k.epoch, k.seq));
    }
    auto known_offset = b_.CreateVector(known);
    return {fb::Body::QuerySubscribe, fb::CreateQuerySubscribe(b_, m.subscription_id, name, query,
                                                               requester, known_offset, m.cancel)
                                          .Union()};
  }
  std::pair<fb::Body, Offset<void>> Encode(const msg::QueryUpdate& m) {
    auto partitions = b_.CreateVector(m.partitions);
    auto rows_name = b_.CreateString(m.rows.map_name);
    auto rows_lww = Lww(m.rows.lww);
    auto rows = fb::CreateMapRecords(b_, rows_name, rows_lww);
    return {fb::Body::QueryUpdate, fb::CreateQueryUpdate(b_, m.subscription_id, m.epoch, m.seq,
                                                         m.table_version, partitions, rows)
                                       .Union()};
  }

  Offset<flatbuffers::Vector<Offset<fb::MapRecords>>> Maps(const std::vector<msg::MapRecords>& in) {
    std::vector<Offset<fb::MapRecords>> out;
    for (const auto& m : in) {
      auto name = b_.CreateString(m.map_name);
      auto lww = Lww(m.lww);
      out.push_back(fb::CreateMapRecords(b_, name, lww));
    }
    return b_.CreateVector(out);
  }

  Offset<fb::PartitionDigest> DigestTable(const msg::PartitionDigest& m) {
    auto name = m.map_name.empty() ? 0 : b_.CreateString(m.map_name);
    auto partitions = b_.CreateVector(m.partitions);
    auto hashes = b_.CreateVector(m.hashes);
    auto requester = m.requester.empty() ? 0 : b_.CreateString(m.requester);
    return fb::CreatePartitionDigest(b_, m.id, name, partitions, hashes, m.pull, requester);
  }

  std::pair<fb::Body, Offset<void>> Encode(const msg::GridOps& m) {
    SG_ASSERT(ValidateNodeId(m.client).ok());
    auto client = b_.CreateString(m.client);
    auto gateway = m.gateway.empty() ? 0 : b_.CreateString(m.gateway);
    std::vector<Offset<fb::GridOp>> ops;
    ops.reserve(m.ops.size());
    for (const msg::GridOp& op : m.ops) {
      auto name = b_.CreateString(op.map_name);
      auto key = b_.CreateString(op.key);
      Offset<fb::Document> value = op.value ? Doc(*op.value) : 0;
      auto ts = Ts(op.client_ts);
      ops.push_back(fb::CreateGridOp(b_, op.seq, static_cast<fb::WriteConcern>(op.concern), name,
                                     key, value, ts));
    }
    auto ops_offset = b_.CreateVector(ops);
    return {fb::Body::GridOps, fb::CreateGridOps(b_, client, gateway, m.hops, ops_offset).Union()};
  }
  std::pair<fb::Body, Offset<void>> Encode(const msg::GridAck& m) {
    std::vector<Offset<fb::GridOpAck>> acks;
    acks.reserve(m.acks.size());
    for (const msg::GridOpAck& a : m.acks) {
      auto ts = Ts(a.ts);
      acks.push_back(
          fb::CreateGridOpAck(b_, a.seq, ts, static_cast<fb::WriteConcern>(a.level), a.duplicate));
    }
    auto acks_offset = b_.CreateVector(acks);
    return {fb::Body::GridAck, fb::CreateGridAck(b_, acks_offset).Union()};
  }
  std::pair<fb::Body, Offset<void>> Encode(const msg::PartitionState& m) {
    auto maps = Maps(m.maps);
    std::vector<Offset<fb::ClientMark>> marks;
    for (const msg::ClientMark& c : m.applied) {
      SG_ASSERT(ValidateNodeId(c.client).ok());
      marks.push_back(fb::CreateClientMark(b_, b_.CreateString(c.client), c.seq, c.prev));
    }
    auto marks_offset = b_.CreateVector(marks);
    return {
        fb::Body::PartitionState,
        fb::CreatePartitionState(b_, m.id, m.partition, static_cast<fb::StatePurpose>(m.purpose),
                                 maps, marks_offset, m.pruned_below_ms)
            .Union()};
  }
  std::pair<fb::Body, Offset<void>> Encode(const msg::PartitionDigest& m) {
    return {fb::Body::PartitionDigest, DigestTable(m).Union()};
  }
  std::pair<fb::Body, Offset<void>> Encode(const msg::Heartbeat& m) {
    auto author = m.table_author.empty() ? 0 : b_.CreateString(m.table_author);
    auto members = b_.CreateVectorOfStrings(m.members);
    std::vector<Offset<fb::PartitionDigest>> digests;
    for (const msg::PartitionDigest& d : m.digests) digests.push_back(DigestTable(d));
    auto digests_offset = b_.CreateVector(digests);
    return {fb::Body::Heartbeat,
            fb::CreateHeartbeat(b_, m.table_version, author, members, m.leaving, digests_offset,
                                m.has_digests, m.hlc_ms)
                .Union()};
  }

  std::string Finish(const msg::Envelope& envelope) {
    SG_ASSERT(ValidateNodeId(envelope.sender).ok());
    auto sender = b_.CreateString(envelope.sender);
    auto [type, body] = Body(envelope.body);
    b_.Finish(fb::CreateEnvelope(b_, kWireProtocolVersion, sender, type, body),
              fb::EnvelopeIdentifier());
    return std::string(reinterpret_cast<const char*>(b_.GetBufferPointer()), b_.GetSize());
  }

 private:
  FlatBufferBuilder b_{1024};
};

// ---------------------------------------------------------------- decoding

// The grid's partition count (engine/cluster/partition.h; asserted equal in the grid server).
constexpr uint32_t kGridPartitionCount = kWirePartitionCount;

// Decode budget. FlatBuffers lets many offsets point at one table or string, and the verifier
// checks each in constant time, so a 1 MB message can name the same 1 MB string a million times.
// Decoding charges every string and every element against a budget proportional to the message
// size and stops when it runs out. Legitimate messages decode to a few times their own size;
// kDecodeBytesPerWireByte leaves ample room. Per thread: a decode never spans threads.
constexpr size_t kDecodeBytesPerWireByte = 8;
constexpr size_t kDecodeBytesSlack = 64 * 1024;
constexpr size_t kDecodeElementCharge = 48;
constexpr size_t kDecodeStringCharge = 32;

struct DecodeBudget {
  size_t left = 0;
  bool exceeded = false;
};
thread_local DecodeBudget* tls_budget = nullptr;

bool Charge(size_t bytes) {
  SG_ASSERT(tls_budget != nullptr);
  if (bytes > tls_budget->left) {
    tls_budget->left = 0;
    tls_budget->exceeded = true;
    return false;
  }
  tls_budget->left -= bytes;
  return true;
}

absl::Status BudgetError(const std::string& where) {
  return absl::InvalidArgumentError(
      fmt::format("{}: decoded size exceeds the budget for this message size (the buffer repeats "
                  "references to the same data)",
                  where));
}

absl::Status Error(const std::string& where, std::string_view what) {
  // Once the budget ran out, strings decode as empty and later checks fail for that reason:
  // report the real cause.
  if (tls_budget != nullptr && tls_budget->exceeded) return BudgetError(where);
  return absl::InvalidArgumentError(fmt::format("{}: {}", where, what));
}

#define SG_RETURN_IF_ERROR(expr)                       \
  do {                                                 \
    if (absl::Status _s = (expr); !_s.ok()) return _s; \
  } while (false)

std::string Str(const flatbuffers::String* s) {
  if (s == nullptr || !Charge(kDecodeStringCharge + s->size())) return std::string();
  return s->str();
}

template <typename T>
size_t Size(const flatbuffers::Vector<T>* v) {
  return v ? v->size() : 0;
}

absl::Status DecodeTs(const fb::Timestamp* in, const std::string& where, Timestamp& out) {
  if (in == nullptr) return Error(where, "missing timestamp");
  out.millis = in->millis();
  out.counter = in->counter();
  out.node_id = Str(in->node_id());
  if (absl::Status s = ValidateNodeId(out.node_id); !s.ok()) {
    return Error(where + ".node_id", ToStd(s.message()));
  }
  return absl::OkStatus();
}

absl::Status DecodeValue(fb::Value type, const void* in, const std::string& where, Value& out) {
  if (in == nullptr) return Error(where, "missing value");
  switch (type) {
    case fb::Value::NullValue:
      out = std::monostate{};
      return absl::OkStatus();
    case fb::Value::BoolValue:
      out = static_cast<const fb::BoolValue*>(in)->v();
      return absl::OkStatus();
    case fb::Value::IntValue:
      out = static_cast<int64_t>(static_cast<const fb::IntValue*>(in)->v());
      return absl::OkStatus();
    case fb::Value::DoubleValue:
      out = static_cast<const fb::DoubleValue*>(in)->v();
      return absl::OkStatus();
    case fb::Value::StringValue:
      out = Str(static_cast<const fb::StringValue*>(in)->v());
      return absl::OkStatus();
    case fb::Value::StringListValue: {
      StringList list;
      const auto* v = static_cast<const fb::StringListValue*>(in)->v();
      if (!Charge(kDecodeElementCharge * v->size())) return BudgetError(where);
      list.reserve(v->size());
      for (const auto* s : *v) list.push_back(Str(s));
      out = std::move(list);
      return absl::OkStatus();
    }
    default:
      return Error(where, fmt::format("unknown value type {}", static_cast<int>(type)));
  }
}

absl::Status DecodeDoc(const fb::Document* in, const std::string& where, Document& out) {
  out = Document();
  if (in == nullptr) return Error(where, "missing document");
  const std::string* previous = nullptr;
  std::string previous_storage;
  for (size_t i = 0; i < Size(in->fields()); ++i) {
    const fb::Field* f = in->fields()->Get(static_cast<flatbuffers::uoffset_t>(i));
    const std::string at = fmt::format("{}.fields[{}]", where, i);
    if (!Charge(kDecodeElementCharge)) return BudgetError(at);
    std::string name = Str(f->name());
    if (previous != nullptr && !(*previous < name)) {
      return Error(at + ".name", fmt::format("'{}' is not after '{}' (fields must be sorted and "
                                             "unique)",
                                             name, *previous));
    }
    Value value;
    SG_RETURN_IF_ERROR(DecodeValue(f->value_type(), f->value(), at + ".value", value));
    previous_storage = name;
    previous = &previous_storage;
    out.Set(std::move(name), std::move(value));
  }
  return absl::OkStatus();
}

std::optional<uint64_t> Ttl(flatbuffers::Optional<uint64_t> in) {
  return in ? std::optional<uint64_t>(*in) : std::nullopt;
}

absl::Status DecodeMapName(const flatbuffers::String* in, const std::string& where,
                           std::string& out) {
  out = Str(in);
  if (out.empty()) return Error(where, "map name must not be empty");
  if (out.size() > kMapNameBytesMax) {
    return Error(where,
                 fmt::format("map name is {} bytes; at most {}", out.size(), kMapNameBytesMax));
  }
  return absl::OkStatus();
}

absl::Status DecodePath(const flatbuffers::Vector<uint8_t>* in, const std::string& where,
                        size_t length_min, size_t length_max, std::vector<uint8_t>& out) {
  out.clear();
  if (in != nullptr) out.assign(in->begin(), in->end());
  if (out.size() < length_min || out.size() > length_max) {
    return Error(where, fmt::format("path has {} digits; expected {}..{}", out.size(), length_min,
                                    length_max));
  }
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] >= MerkleTree::kFanout) {
      return Error(fmt::format("{}[{}]", where, i),
                   fmt::format("digit {} out of range 0..15", out[i]));
    }
  }
  return absl::OkStatus();
}

absl::Status DecodeLww(const flatbuffers::Vector<Offset<fb::LwwRecord>>* in,
                       const std::string& where, std::vector<msg::LwwEntry>& out) {
  for (size_t i = 0; i < Size(in); ++i) {
    const fb::LwwRecord* r = in->Get(static_cast<flatbuffers::uoffset_t>(i));
    const std::string at = fmt::format("{}[{}]", where, i);
    if (!Charge(kDecodeElementCharge)) return BudgetError(at);
    msg::LwwEntry e;
    e.key = Str(r->key());
    SG_RETURN_IF_ERROR(DecodeTs(r->ts(), at + ".ts", e.record.ts));
    if (r->value() != nullptr) {
      Document doc;
      SG_RETURN_IF_ERROR(DecodeDoc(r->value(), at + ".value", doc));
      e.record.value = std::move(doc);
    }
    e.record.ttl_ms = Ttl(r->ttl_ms());
    out.push_back(std::move(e));
  }
  return absl::OkStatus();
}

absl::Status DecodeOr(const flatbuffers::Vector<Offset<fb::OrKeyState>>* in,
                      const std::string& where, std::vector<msg::OrKeyState>& out) {
  for (size_t i = 0; i < Size(in); ++i) {
    const fb::OrKeyState* k = in->Get(static_cast<flatbuffers::uoffset_t>(i));
    const std::string at = fmt::format("{}[{}]", where, i);
    if (!Charge(kDecodeElementCharge)) return BudgetError(at);
    msg::OrKeyState e;
    e.key = Str(k->key());
    for (size_t j = 0; j < Size(k->items()); ++j) {
      const fb::OrRecord* r = k->items()->Get(static_cast<flatbuffers::uoffset_t>(j));
      const std::string item_at = fmt::format("{}.items[{}]", at, j);
      if (!Charge(kDecodeElementCharge)) return BudgetError(item_at);
      OrRecord rec;
      SG_RETURN_IF_ERROR(DecodeTs(r->tag(), item_at + ".tag", rec.tag));
      SG_RETURN_IF_ERROR(DecodeDoc(r->value(), item_at + ".value", rec.value));
      rec.ttl_ms = Ttl(r->ttl_ms());
      e.items.push_back(std::move(rec));
    }
    for (size_t j = 0; j < Size(k->tombstones()); ++j) {
      if (!Charge(kDecodeElementCharge))
        return BudgetError(fmt::format("{}.tombstones[{}]", at, j));
      Timestamp t;
      SG_RETURN_IF_ERROR(DecodeTs(k->tombstones()->Get(static_cast<flatbuffers::uoffset_t>(j)),
                                  fmt::format("{}.tombstones[{}]", at, j), t));
      e.tombstones.push_back(std::move(t));
    }
    out.push_back(std::move(e));
  }
  return absl::OkStatus();
}

absl::Status DecodeKind(fb::MapKind in, const std::string& where, msg::MapKind& out) {
  if (in != fb::MapKind::Lww && in != fb::MapKind::Or) {
    return Error(where, fmt::format("unknown map kind {}", static_cast<int>(in)));
  }
  out = static_cast<msg::MapKind>(in);
  return absl::OkStatus();
}

absl::Status DecodeDepth(uint8_t in, const std::string& where, uint8_t& out) {
  if (in < MerkleTree::kDepthMin || in > MerkleTree::kDepthMax) {
    return Error(where, fmt::format("depth {} out of range {}..{}", in, MerkleTree::kDepthMin,
                                    MerkleTree::kDepthMax));
  }
  out = in;
  return absl::OkStatus();
}

absl::Status DecodePredicate(const fb::PredicateNode* in, const std::string& where, int depth,
                             Predicate& out) {
  if (in == nullptr) return Error(where, "missing predicate");
  if (depth > kDepthMax) return Error(where, fmt::format("nesting deeper than {}", kDepthMax));
  if (!Charge(kDecodeElementCharge)) return BudgetError(where);
  if (in->op() >= kOpCount)
    return Error(where + ".op", fmt::format("unknown operator {}", in->op()));
  out.op = static_cast<Op>(in->op());
  out.field = Str(in->field());
  for (size_t i = 0; i < Size(in->args()); ++i) {
    const fb::QueryArg* a = in->args()->Get(static_cast<flatbuffers::uoffset_t>(i));
    Value v;
    SG_RETURN_IF_ERROR(
        DecodeValue(a->value_type(), a->value(), fmt::format("{}.args[{}]", where, i), v));
    out.args.push_back(std::move(v));
  }
  for (size_t i = 0; i < Size(in->children()); ++i) {
    Predicate child;
    SG_RETURN_IF_ERROR(DecodePredicate(in->children()->Get(static_cast<flatbuffers::uoffset_t>(i)),
                                       fmt::format("{}.children[{}]", where, i), depth + 1, child));
    out.children.push_back(std::move(child));
  }
  return absl::OkStatus();
}

absl::Status DecodeQuery(const fb::Query* in, const std::string& where, Query& out) {
  SG_RETURN_IF_ERROR(DecodePredicate(in->where(), where + ".where", 1, out.where));
  for (size_t i = 0; i < Size(in->sort()); ++i) {
    const fb::SortKey* k = in->sort()->Get(static_cast<flatbuffers::uoffset_t>(i));
    if (!Charge(kDecodeElementCharge)) return BudgetError(where + ".sort");
    out.sort.push_back({Str(k->field()), k->descending()});
  }
  if (in->limit()) out.limit = *in->limit();
  // The query's own rules (arity, argument types, bounds), reported against the message.
  if (absl::Status s = Validate(out); !s.ok()) return Error(where, ToStd(s.message()));
  return absl::OkStatus();
}

absl::Status DecodeNode(const flatbuffers::String* in, const std::string& where, std::string& out) {
  out = Str(in);
  if (absl::Status s = ValidateNodeId(out); !s.ok()) return Error(where, ToStd(s.message()));
  return absl::OkStatus();
}

absl::Status DecodeConcern(fb::WriteConcern in, const std::string& where, msg::WriteConcern& out) {
  if (static_cast<uint8_t>(in) > static_cast<uint8_t>(fb::WriteConcern::Replicated)) {
    return Error(where, fmt::format("unknown write concern {}", static_cast<int>(in)));
  }
  out = static_cast<msg::WriteConcern>(in);
  return absl::OkStatus();
}

absl::Status DecodeMaps(const flatbuffers::Vector<Offset<fb::MapRecords>>* in,
                        const std::string& where, std::vector<msg::MapRecords>& out) {
  for (size_t i = 0; i < Size(in); ++i) {
    const fb::MapRecords* r = in->Get(static_cast<flatbuffers::uoffset_t>(i));
    const std::string at = fmt::format("{}[{}]", where, i);
    if (!Charge(kDecodeElementCharge)) return BudgetError(at);
    msg::MapRecords m;
    SG_RETURN_IF_ERROR(DecodeMapName(r->map_name(), at + ".map_name", m.map_name));
    SG_RETURN_IF_ERROR(DecodeLww(r->lww(), at + ".lww", m.lww));
    out.push_back(std::move(m));
  }
  return absl::OkStatus();
}

absl::Status DecodePartition(uint32_t in, const std::string& where, uint32_t& out) {
  if (in >= kGridPartitionCount) {
    return Error(where,
                 fmt::format("partition {} out of range 0..{}", in, kGridPartitionCount - 1));
  }
  out = in;
  return absl::OkStatus();
}

absl::Status DecodeDigest(const fb::PartitionDigest* in, const std::string& where,
                          msg::PartitionDigest& m) {
  m.id = in->id();
  if (in->map_name() != nullptr) {
    SG_RETURN_IF_ERROR(DecodeMapName(in->map_name(), where + ".map_name", m.map_name));
  }
  if (Size(in->partitions()) != Size(in->hashes())) {
    return Error(where, fmt::format("{} partitions but {} hashes", Size(in->partitions()),
                                    Size(in->hashes())));
  }
  if (!Charge(kDecodeElementCharge + 12 * Size(in->partitions()))) return BudgetError(where);
  for (size_t i = 0; i < Size(in->partitions()); ++i) {
    uint32_t p = 0;
    SG_RETURN_IF_ERROR(
        DecodePartition(in->partitions()->Get(static_cast<flatbuffers::uoffset_t>(i)),
                        fmt::format("{}.partitions[{}]", where, i), p));
    m.partitions.push_back(p);
    m.hashes.push_back(in->hashes()->Get(static_cast<flatbuffers::uoffset_t>(i)));
  }
  m.pull = in->pull();
  if (in->requester() != nullptr) {
    SG_RETURN_IF_ERROR(DecodeNode(in->requester(), where + ".requester", m.requester));
  }
  return absl::OkStatus();
}

absl::StatusOr<msg::Body> DecodeGrid(const fb::Envelope* e) {
  switch (e->body_type()) {
    case fb::Body::GridOps: {
      const auto* in = e->body_as_GridOps();
      msg::GridOps m;
      SG_RETURN_IF_ERROR(DecodeNode(in->client(), "GridOps.client", m.client));
      if (in->gateway() != nullptr) {
        SG_RETURN_IF_ERROR(DecodeNode(in->gateway(), "GridOps.gateway", m.gateway));
      }
      m.hops = in->hops();
      for (size_t i = 0; i < Size(in->ops()); ++i) {
        const fb::GridOp* op = in->ops()->Get(static_cast<flatbuffers::uoffset_t>(i));
        const std::string at = fmt::format("GridOps.ops[{}]", i);
        if (!Charge(kDecodeElementCharge)) return BudgetError(at);
        msg::GridOp o;
        o.seq = op->seq();
        if (o.seq == 0) return Error(at + ".seq", "seq must be at least 1");
        SG_RETURN_IF_ERROR(DecodeConcern(op->concern(), at + ".concern", o.concern));
        SG_RETURN_IF_ERROR(DecodeMapName(op->map_name(), at + ".map_name", o.map_name));
        o.key = Str(op->key());
        if (op->value() != nullptr) {
          Document doc;
          SG_RETURN_IF_ERROR(DecodeDoc(op->value(), at + ".value", doc));
          o.value = std::move(doc);
        }
        SG_RETURN_IF_ERROR(DecodeTs(op->client_ts(), at + ".client_ts", o.client_ts));
        m.ops.push_back(std::move(o));
      }
      return m;
    }
    case fb::Body::GridAck: {
      const auto* in = e->body_as_GridAck();
      msg::GridAck m;
      for (size_t i = 0; i < Size(in->acks()); ++i) {
        const fb::GridOpAck* a = in->acks()->Get(static_cast<flatbuffers::uoffset_t>(i));
        const std::string at = fmt::format("GridAck.acks[{}]", i);
        if (!Charge(kDecodeElementCharge)) return BudgetError(at);
        msg::GridOpAck ack;
        ack.seq = a->seq();
        SG_RETURN_IF_ERROR(DecodeTs(a->ts(), at + ".ts", ack.ts));
        SG_RETURN_IF_ERROR(DecodeConcern(a->level(), at + ".level", ack.level));
        ack.duplicate = a->duplicate();
        m.acks.push_back(std::move(ack));
      }
      return m;
    }
    case fb::Body::PartitionState: {
      const auto* in = e->body_as_PartitionState();
      msg::PartitionState m;
      m.id = in->id();
      SG_RETURN_IF_ERROR(DecodePartition(in->partition(), "PartitionState.partition", m.partition));
      if (static_cast<uint8_t>(in->purpose()) >
          static_cast<uint8_t>(fb::StatePurpose::ClientRepair)) {
        return Error("PartitionState.purpose",
                     fmt::format("unknown purpose {}", static_cast<int>(in->purpose())));
      }
      m.purpose = static_cast<msg::StatePurpose>(in->purpose());
      SG_RETURN_IF_ERROR(DecodeMaps(in->maps(), "PartitionState.maps", m.maps));
      for (size_t i = 0; i < Size(in->applied()); ++i) {
        const fb::ClientMark* c = in->applied()->Get(static_cast<flatbuffers::uoffset_t>(i));
        const std::string at = fmt::format("PartitionState.applied[{}]", i);
        if (!Charge(kDecodeElementCharge)) return BudgetError(at);
        msg::ClientMark mark;
        SG_RETURN_IF_ERROR(DecodeNode(c->client(), at + ".client", mark.client));
        mark.seq = c->seq();
        mark.prev = c->prev();
        m.applied.push_back(std::move(mark));
      }
      m.pruned_below_ms = in->pruned_below_ms();
      return m;
    }
    case fb::Body::PartitionDigest: {
      msg::PartitionDigest m;
      SG_RETURN_IF_ERROR(DecodeDigest(e->body_as_PartitionDigest(), "PartitionDigest", m));
      return m;
    }
    case fb::Body::QueryUpdate: {
      const auto* in = e->body_as_QueryUpdate();
      msg::QueryUpdate m;
      m.subscription_id = in->subscription_id();
      m.epoch = in->epoch();
      m.seq = in->seq();
      m.table_version = in->table_version();
      if (m.seq != 0 && Size(in->partitions()) != 0) {
        return Error("QueryUpdate.partitions", "only a snapshot (seq 0) lists partitions");
      }
      if (!Charge(kDecodeElementCharge + 4 * Size(in->partitions()))) {
        return BudgetError("QueryUpdate.partitions");
      }
      for (size_t i = 0; i < Size(in->partitions()); ++i) {
        uint32_t p = 0;
        SG_RETURN_IF_ERROR(
            DecodePartition(in->partitions()->Get(static_cast<flatbuffers::uoffset_t>(i)),
                            fmt::format("QueryUpdate.partitions[{}]", i), p));
        m.partitions.push_back(p);
      }
      SG_RETURN_IF_ERROR(
          DecodeMapName(in->rows()->map_name(), "QueryUpdate.rows.map_name", m.rows.map_name));
      SG_RETURN_IF_ERROR(DecodeLww(in->rows()->lww(), "QueryUpdate.rows.lww", m.rows.lww));
      return m;
    }
    case fb::Body::Heartbeat: {
      const auto* in = e->body_as_Heartbeat();
      msg::Heartbeat m;
      m.table_version = in->table_version();
      if (in->table_author() != nullptr) {
        SG_RETURN_IF_ERROR(
            DecodeNode(in->table_author(), "Heartbeat.table_author", m.table_author));
      }
      for (size_t i = 0; i < Size(in->members()); ++i) {
        std::string member;
        SG_RETURN_IF_ERROR(DecodeNode(in->members()->Get(static_cast<flatbuffers::uoffset_t>(i)),
                                      fmt::format("Heartbeat.members[{}]", i), member));
        m.members.push_back(std::move(member));
      }
      m.leaving = in->leaving();
      m.has_digests = in->has_digests();
      m.hlc_ms = in->hlc_ms();
      for (size_t i = 0; i < Size(in->digests()); ++i) {
        msg::PartitionDigest d;
        SG_RETURN_IF_ERROR(DecodeDigest(in->digests()->Get(static_cast<flatbuffers::uoffset_t>(i)),
                                        fmt::format("Heartbeat.digests[{}]", i), d));
        m.digests.push_back(std::move(d));
      }
      return m;
    }
    default:
      return Error("Envelope.body",
                   fmt::format("unknown body type {}", static_cast<int>(e->body_type())));
  }
}

absl::StatusOr<msg::Body> DecodeBody(const fb::Envelope* e) {
  const size_t depth_max = MerkleTree::kDepthMax;
  switch (e->body_type()) {
    case fb::Body::OpBatch: {
      const auto* in = e->body_as_OpBatch();
      msg::OpBatch m;
      m.batch_id = in->batch_id();
      SG_RETURN_IF_ERROR(DecodeMapName(in->map_name(), "OpBatch.map_name", m.map_name));
      SG_RETURN_IF_ERROR(DecodeLww(in->lww(), "OpBatch.lww", m.lww));
      SG_RETURN_IF_ERROR(DecodeOr(in->or_entries(), "OpBatch.or_entries", m.or_entries));
      return m;
    }
    case fb::Body::Ack: {
      const auto* in = e->body_as_Ack();
      return msg::Ack{in->batch_id(), in->accepted(), Str(in->error())};
    }
    case fb::Body::SyncInit: {
      const auto* in = e->body_as_SyncInit();
      msg::SyncInit m;
      SG_RETURN_IF_ERROR(DecodeMapName(in->map_name(), "SyncInit.map_name", m.map_name));
      SG_RETURN_IF_ERROR(DecodeKind(in->kind(), "SyncInit.kind", m.kind));
      SG_RETURN_IF_ERROR(DecodeDepth(in->depth(), "SyncInit.depth", m.depth));
      m.root_hash = in->root_hash();
      return m;
    }
    case fb::Body::SyncRoot: {
      const auto* in = e->body_as_SyncRoot();
      msg::SyncRoot m;
      SG_RETURN_IF_ERROR(DecodeMapName(in->map_name(), "SyncRoot.map_name", m.map_name));
      SG_RETURN_IF_ERROR(DecodeKind(in->kind(), "SyncRoot.kind", m.kind));
      SG_RETURN_IF_ERROR(DecodeDepth(in->depth(), "SyncRoot.depth", m.depth));
      m.root_hash = in->root_hash();
      return m;
    }
    case fb::Body::SyncBucketsRequest: {
      const auto* in = e->body_as_SyncBucketsRequest();
      msg::SyncBucketsRequest m;
      SG_RETURN_IF_ERROR(DecodeMapName(in->map_name(), "SyncBucketsRequest.map_name", m.map_name));
      SG_RETURN_IF_ERROR(
          DecodePath(in->path(), "SyncBucketsRequest.path", 0, depth_max - 1, m.path));
      return m;
    }
    case fb::Body::SyncBuckets: {
      const auto* in = e->body_as_SyncBuckets();
      msg::SyncBuckets m;
      SG_RETURN_IF_ERROR(DecodeMapName(in->map_name(), "SyncBuckets.map_name", m.map_name));
      SG_RETURN_IF_ERROR(DecodePath(in->path(), "SyncBuckets.path", 0, depth_max - 1, m.path));
      if (Size(in->hashes()) != m.hashes.size()) {
        return Error("SyncBuckets.hashes",
                     fmt::format("expected 16 hashes, got {}", Size(in->hashes())));
      }
      for (size_t i = 0; i < m.hashes.size(); ++i) {
        m.hashes[i] = in->hashes()->Get(static_cast<flatbuffers::uoffset_t>(i));
      }
      return m;
    }
    case fb::Body::SyncLeafRequest: {
      const auto* in = e->body_as_SyncLeafRequest();
      msg::SyncLeafRequest m;
      SG_RETURN_IF_ERROR(DecodeMapName(in->map_name(), "SyncLeafRequest.map_name", m.map_name));
      SG_RETURN_IF_ERROR(DecodePath(in->path(), "SyncLeafRequest.path", 1, depth_max, m.path));
      return m;
    }
    case fb::Body::SyncLeaf: {
      const auto* in = e->body_as_SyncLeaf();
      msg::SyncLeaf m;
      SG_RETURN_IF_ERROR(DecodeMapName(in->map_name(), "SyncLeaf.map_name", m.map_name));
      SG_RETURN_IF_ERROR(DecodePath(in->path(), "SyncLeaf.path", 1, depth_max, m.path));
      SG_RETURN_IF_ERROR(DecodeLww(in->lww(), "SyncLeaf.lww", m.lww));
      SG_RETURN_IF_ERROR(DecodeOr(in->or_entries(), "SyncLeaf.or_entries", m.or_entries));
      return m;
    }
    case fb::Body::OrMapDiff: {
      const auto* in = e->body_as_OrMapDiff();
      msg::OrMapDiff m;
      SG_RETURN_IF_ERROR(DecodeMapName(in->map_name(), "OrMapDiff.map_name", m.map_name));
      SG_RETURN_IF_ERROR(DecodeOr(in->entries(), "OrMapDiff.entries", m.entries));
      return m;
    }
    case fb::Body::PnCounterState: {
      const auto* in = e->body_as_PnCounterState();
      msg::PnCounterState m;
      SG_RETURN_IF_ERROR(DecodeMapName(in->name(), "PnCounterState.name", m.name));
      for (size_t i = 0; i < Size(in->entries()); ++i) {
        const fb::PnEntry* p = in->entries()->Get(static_cast<flatbuffers::uoffset_t>(i));
        const std::string at = fmt::format("PnCounterState.entries[{}].node_id", i);
        if (!Charge(kDecodeElementCharge)) return BudgetError(at);
        std::string node = Str(p->node_id());
        if (absl::Status s = ValidateNodeId(node); !s.ok()) return Error(at, ToStd(s.message()));
        if (m.entries.contains(node)) {
          return Error(at, fmt::format("node '{}' appears twice", node));
        }
        m.entries.emplace(std::move(node), PnTotals{p->positive(), p->negative()});
      }
      return m;
    }
    case fb::Body::QuerySubscribe: {
      const auto* in = e->body_as_QuerySubscribe();
      msg::QuerySubscribe m;
      m.subscription_id = in->subscription_id();
      SG_RETURN_IF_ERROR(DecodeMapName(in->map_name(), "QuerySubscribe.map_name", m.map_name));
      SG_RETURN_IF_ERROR(DecodeQuery(in->query(), "QuerySubscribe.query", m.query));
      if (in->requester() != nullptr) {
        SG_RETURN_IF_ERROR(DecodeNode(in->requester(), "QuerySubscribe.requester", m.requester));
      }
      for (size_t i = 0; i < Size(in->known()); ++i) {
        const fb::QueryMark* k = in->known()->Get(static_cast<flatbuffers::uoffset_t>(i));
        const std::string at = fmt::format("QuerySubscribe.known[{}]", i);
        if (!Charge(kDecodeElementCharge)) return BudgetError(at);
        msg::QueryMark mark;
        SG_RETURN_IF_ERROR(DecodeNode(k->server(), at + ".server", mark.server));
        mark.epoch = k->epoch();
        mark.seq = k->seq();
        m.known.push_back(std::move(mark));
      }
      m.cancel = in->cancel();
      return m;
    }
    default:
      return DecodeGrid(e);
  }
}

}  // namespace

std::string EncodeMessage(const msg::Envelope& envelope) {
  Encoder encoder;
  return encoder.Finish(envelope);
}

absl::StatusOr<msg::Envelope> DecodeMessage(std::string_view bytes) {
  if (bytes.size() > kWireMessageBytesMax) {
    return Error("Envelope", fmt::format("message is {} bytes; at most {}", bytes.size(),
                                         kWireMessageBytesMax));
  }
  // FlatBuffers reads scalars in place, so the buffer must be aligned: copy when it is not.
  std::string aligned_copy;
  const uint8_t* data = reinterpret_cast<const uint8_t*>(bytes.data());
  // sg:address-ok: the address only decides whether to copy; the result never depends on it.
  if (reinterpret_cast<uintptr_t>(data) % alignof(uint64_t) != 0) {
    aligned_copy.assign(bytes);  // std::string storage from operator new is max-aligned.
    data = reinterpret_cast<const uint8_t*>(aligned_copy.data());
  }
  if (bytes.size() < 8 || !fb::EnvelopeBufferHasIdentifier(data)) {
    return Error("Envelope", fmt::format("not a seedgrid wire message ({} bytes, missing 'SGW1' "
                                         "identifier)",
                                         bytes.size()));
  }
  flatbuffers::Verifier::Options options;
  options.max_depth = 64;
  // Every table takes at least 4 bytes, so this bound never rejects a message that fits the size
  // limit; it only caps verifier work on hostile input.
  options.max_tables = kWireMessageBytesMax / 4;
  options.check_alignment = true;
  flatbuffers::Verifier verifier(data, bytes.size(), options);
  if (!fb::VerifyEnvelopeBuffer(verifier)) {
    return Error("Envelope", fmt::format("FlatBuffers verifier rejected the {}-byte buffer "
                                         "(truncated, corrupt, or a required field is missing)",
                                         bytes.size()));
  }
  const fb::Envelope* e = fb::GetEnvelope(data);
  if (e->protocol_version() != kWireProtocolVersion) {
    return absl::UnimplementedError(
        fmt::format("Envelope.protocol_version: version {} is not supported (this build speaks {})",
                    e->protocol_version(), kWireProtocolVersion));
  }
  DecodeBudget budget{kDecodeBytesPerWireByte * bytes.size() + kDecodeBytesSlack, false};
  tls_budget = &budget;
  struct Reset {
    ~Reset() { tls_budget = nullptr; }
  } reset;
  msg::Envelope out;
  out.sender = Str(e->sender());
  if (absl::Status s = ValidateNodeId(out.sender); !s.ok()) {
    return Error("Envelope.sender", ToStd(s.message()));
  }
  absl::StatusOr<msg::Body> body = DecodeBody(e);
  if (!body.ok()) return body.status();
  // Strings past the budget decode as empty; never return such a message.
  if (budget.exceeded) return BudgetError("Envelope");
  out.body = *std::move(body);
  return out;
}

}  // namespace seedgrid
