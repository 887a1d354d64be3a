#include "engine/wire/decoder.h"

#include <algorithm>

#include "engine/base/probe.h"
#include "engine/base/strings.h"
#include "engine/merkle/merkle_tree.h"
#include "engine/wire/codec.h"
#include "engine/wire/packed_doc.h"
#include "engine/wire/packed_record.h"

namespace seedgrid::wire_codec {

absl::Status WireError(std::string_view where, std::string_view what) {
  return absl::InvalidArgumentError(fmt::format("{}: {}", where, what));
}

void WirePath::AppendTo(std::string& out) const {
  if (parent_ != nullptr) parent_->AppendTo(out);
  if (index_ == kNoIndex) {
    out.append(text_);
  } else {
    fmt::format_to(std::back_inserter(out), "[{}]", index_);
  }
}

std::string WirePath::str() const {
  std::string out;
  AppendTo(out);
  return out;
}

bool Decoder::Charge(size_t bytes) {
  if (bytes > budget_left_) {
    if (!budget_exceeded_) SG_PROBE("wire.decode_budget_exceeded");
    budget_left_ = 0;
    budget_exceeded_ = true;
    return false;
  }
  budget_left_ -= bytes;
  return true;
}

absl::Status Decoder::BudgetError(const WirePath& where) const {
  return absl::InvalidArgumentError(
      fmt::format("{}: decoded size exceeds the budget for this message size (the buffer repeats "
                  "references to the same data)",
                  where.str()));
}

absl::Status Decoder::Error(const WirePath& where, std::string_view what) const {
  // Once the budget ran out, strings decode as empty and later checks fail for that reason:
  // report the real cause.
  if (budget_exceeded_) return BudgetError(where);
  return WireError(where.str(), what);
}

std::string Decoder::Str(const flatbuffers::String* in) {
  if (in == nullptr || !Charge(kDecodeStringCharge + in->size())) return std::string();
  return in->str();
}

absl::Status Decoder::Node(const flatbuffers::String* in, const WirePath& where, std::string& out) {
  out = Str(in);
  if (absl::Status s = ValidateNodeId(out); !s.ok()) return Error(where, ToStd(s.message()));
  return absl::OkStatus();
}

absl::Status Decoder::OptionalNode(const flatbuffers::String* in, const WirePath& where,
                                   std::string& out) {
  if (in == nullptr) return absl::OkStatus();
  return Node(in, where, out);
}

absl::Status Decoder::MapName(const flatbuffers::String* in, const WirePath& where,
                              std::string& out) {
  out = Str(in);
  if (out.empty()) return Error(where, "map name must not be empty");
  if (out.size() > kMapNameBytesMax) {
    return Error(where,
                 fmt::format("map name is {} bytes; at most {}", out.size(), kMapNameBytesMax));
  }
  return absl::OkStatus();
}

absl::Status Decoder::Path(const FbVector<uint8_t>* in, const WirePath& where, size_t length_min,
                           size_t length_max, std::vector<uint8_t>& out) {
  out.clear();
  if (in != nullptr) out.assign(in->begin(), in->end());
  if (out.size() < length_min || out.size() > length_max) {
    return Error(where, fmt::format("path has {} digits; expected {}..{}", out.size(), length_min,
                                    length_max));
  }
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] >= MerkleTree::kFanout) {
      return Error(where[i], fmt::format("digit {} out of range 0..15", out[i]));
    }
  }
  return absl::OkStatus();
}

absl::Status Decoder::Partition(uint32_t in, const WirePath& where, uint32_t& out) {
  if (in >= kWirePartitionCount) {
    return Error(where,
                 fmt::format("partition {} out of range 0..{}", in, kWirePartitionCount - 1));
  }
  out = in;
  return absl::OkStatus();
}

absl::Status Decoder::Partitions(const FbVector<uint32_t>* in, const WirePath& where,
                                 std::vector<uint32_t>& out) {
  // The common case in one pass (a heartbeat carries thousands); only a bad one takes the
  // element-by-element path below, which names the first bad element.
  if (in == nullptr) return absl::OkStatus();
  if (std::all_of(in->begin(), in->end(), [](uint32_t p) { return p < kWirePartitionCount; })) {
    out.insert(out.end(), in->begin(), in->end());
    return absl::OkStatus();
  }
  return Vector(in, where, kNoCharge, out, [this](uint32_t p, const WirePath& at, uint32_t& v) {
    return Partition(p, at, v);
  });
}

absl::Status Decoder::Ts(const fb::Timestamp* in, const WirePath& where, Timestamp& out) {
  if (in == nullptr) return Error(where, "missing timestamp");
  out.millis = in->millis();
  out.counter = in->counter();
  // Validated before it is interned: a rejected id must not take a slot of the node-id pool.
  std::string node_id = Str(in->node_id());
  if (absl::Status s = ValidateNodeId(node_id); !s.ok()) {
    return Error(where + ".node_id", ToStd(s.message()));
  }
  out.node_id = node_id;
  return absl::OkStatus();
}

absl::Status Decoder::Val(fb::Value type, const void* in, const WirePath& where, Value& out) {
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

absl::Status Decoder::Unpacked(const absl::Status& s, const WirePath& where) const {
  if (s.ok()) return s;
  if (absl::IsResourceExhausted(s)) return BudgetError(where);
  return Error(where, ToStd(s.message()));
}

absl::Status Decoder::Doc(const fb::Document* in, const WirePath& where, Document& out) {
  out = Document();
  if (in == nullptr) return Error(where, "missing document");
  if (const FbVector<uint8_t>* packed = in->packed(); packed != nullptr) {
    if (in->fields() != nullptr) {
      return Error(where, "both fields and packed are set (a document has one form)");
    }
    return Unpacked(UnpackDocument(
                        Bytes(*packed), [this](size_t n) { return Charge(n); }, out),
                    where + ".packed");
  }
  std::vector<Document::Field> fields;
  SG_RETURN_IF_ERROR(Elements(
      in->fields(), where + ".fields", kDecodeElementCharge,
      [&](const fb::Field* f, const WirePath& at) {
        std::string name = Str(f->name());
        if (!fields.empty() && !(fields.back().first.view() < name)) {
          return Error(at + ".name", fmt::format("'{}' is not after '{}' (fields must be sorted "
                                                 "and unique)",
                                                 name, fields.back().first.view()));
        }
        Value value;
        SG_RETURN_IF_ERROR(Val(f->value_type(), f->value(), at + ".value", value));
        fields.emplace_back(FieldName(name), std::move(value));
        return absl::OkStatus();
      }));
  out = Document(std::move(fields));  // One encoding of the whole document.
  return absl::OkStatus();
}

absl::Status Decoder::OptionalDoc(const fb::Document* in, const WirePath& where,
                                  std::optional<Document>& out) {
  out.reset();
  if (in == nullptr) return absl::OkStatus();
  Document doc;
  SG_RETURN_IF_ERROR(Doc(in, where, doc));
  out = std::move(doc);
  return absl::OkStatus();
}

std::optional<uint64_t> Decoder::Ttl(flatbuffers::Optional<uint64_t> in) {
  return in ? std::optional<uint64_t>(*in) : std::nullopt;
}

absl::Status Decoder::Lww(const FbTables<fb::LwwRecord>* in, const WirePath& where,
                          std::vector<msg::LwwEntry>& out) {
  return Vector(in, where, kDecodeElementCharge, out,
                [this](const fb::LwwRecord* r, const WirePath& at, msg::LwwEntry& e) {
                  e.key = Str(r->key());
                  SG_RETURN_IF_ERROR(Ts(r->ts(), at + ".ts", e.record.ts));
                  SG_RETURN_IF_ERROR(OptionalDoc(r->value(), at + ".value", e.record.value));
                  e.record.ttl_ms = Ttl(r->ttl_ms());
                  return absl::OkStatus();
                });
}

absl::Status Decoder::Or(const FbTables<fb::OrKeyState>* in, const WirePath& where,
                         std::vector<msg::OrKeyState>& out) {
  const auto item = [this](const fb::OrRecord* r, const WirePath& at, OrRecord& rec) {
    SG_RETURN_IF_ERROR(Ts(r->tag(), at + ".tag", rec.tag));
    SG_RETURN_IF_ERROR(Doc(r->value(), at + ".value", rec.value));
    rec.ttl_ms = Ttl(r->ttl_ms());
    if (r->origin() != nullptr) {
      Timestamp origin;
      SG_RETURN_IF_ERROR(Ts(r->origin(), at + ".origin", origin));
      rec.origin = std::move(origin);
    }
    return absl::OkStatus();
  };
  const auto tombstone = [this](const fb::Timestamp* t, const WirePath& at, Timestamp& ts) {
    return Ts(t, at, ts);
  };
  return Vector(
      in, where, kDecodeElementCharge, out,
      [&](const fb::OrKeyState* k, const WirePath& at, msg::OrKeyState& e) {
        e.key = Str(k->key());
        SG_RETURN_IF_ERROR(Vector(k->items(), at + ".items", kDecodeElementCharge, e.items, item));
        return Vector(k->tombstones(), at + ".tombstones", kDecodeElementCharge, e.tombstones,
                      tombstone);
      });
}

absl::Status Decoder::Pn(const FbTables<fb::PnEntry>* in, const WirePath& where, PnState& out) {
  return Elements(in, where, kDecodeElementCharge, [&](const fb::PnEntry* p, const WirePath& at) {
    std::string node;
    SG_RETURN_IF_ERROR(Node(p->node_id(), at + ".node_id", node));
    if (out.contains(node)) {
      return Error(at + ".node_id", fmt::format("node '{}' appears twice", node));
    }
    out.emplace(std::move(node), PnTotals{p->positive(), p->negative()});
    return absl::OkStatus();
  });
}

absl::Status Decoder::Map(const fb::MapRecords* in, const WirePath& where, msg::MapRecords& out) {
  SG_RETURN_IF_ERROR(MapName(in->map_name(), where + ".map_name", out.map_name));
  if (const FbVector<uint8_t>* packed = in->lww_packed(); packed != nullptr) {
    if (in->lww() != nullptr) {
      return Error(where, "both lww and lww_packed are set (records have one form)");
    }
    SG_RETURN_IF_ERROR(
        Unpacked(UnpackLwwEntries(
                     Bytes(*packed), [this](size_t n) { return Charge(n); }, out.lww),
                 where + ".lww_packed"));
  } else {
    SG_RETURN_IF_ERROR(Lww(in->lww(), where + ".lww", out.lww));
  }
  SG_RETURN_IF_ERROR(
      Vector(in->counters(), where + ".counters", kDecodeElementCharge, out.counters,
             [this](const fb::CounterState* c, const WirePath& at, msg::CounterEntry& e) {
               e.key = Str(c->key());
               return Pn(c->entries(), at + ".entries", e.state);
             }));
  return Or(in->or_keys(), where + ".or_keys", out.or_keys);
}

absl::Status Decoder::Maps(const FbTables<fb::MapRecords>* in, const WirePath& where,
                           std::vector<msg::MapRecords>& out) {
  return Vector(in, where, kDecodeElementCharge, out,
                [this](const fb::MapRecords* r, const WirePath& at, msg::MapRecords& m) {
                  return Map(r, at, m);
                });
}

}  // namespace seedgrid::wire_codec
