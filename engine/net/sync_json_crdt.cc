// The HTTP sync JSON body's counter and OR-Map parts (sync_json.h has the format): a map's
// "counters" and "or_keys", an op's "counter" and "or", both ways.
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "engine/base/status_macros.h"
#include "engine/net/document_json.h"
#include "engine/net/json_fields.h"
#include "engine/net/sync_json.h"
#include "engine/net/sync_json_internal.h"

namespace seedgrid::net::sync_json_internal {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

using json_fields::CheckObject;
using json_fields::Clip;
using json_fields::Doc;
using json_fields::Error;
using json_fields::Expected;
using json_fields::Node;
using json_fields::Optional;
using json_fields::Path;
using json_fields::Required;
using json_fields::Str;
using json_fields::Ts;
using json_fields::U64;

}  // namespace

// ---- Reading.

// A counter's entries: {"<node id>": [positive, negative], ...}.
static absl::Status ReadEntries(const json& v, const Path& at, PnState& out) {
  if (!v.is_object()) return Expected(at, "an object of node id to [positive, negative]", v);
  for (auto it = v.begin(); it != v.end(); ++it) {
    const Path e = at.Field(it.key());
    std::string node;
    SG_RETURN_IF_ERROR(Node(json(it.key()), e, node));
    const json& pair = it.value();
    if (!pair.is_array() || pair.size() != 2) {
      return Expected(e, "[positive, negative] (two non-negative integers)", pair);
    }
    PnTotals t;
    SG_RETURN_IF_ERROR(U64(pair[0], e[0], t.positive));
    SG_RETURN_IF_ERROR(U64(pair[1], e[1], t.negative));
    out.emplace(std::move(node), t);
  }
  return absl::OkStatus();
}

absl::Status ReadCounters(const json& v, const Path& at, uint32_t partition, size_t& budget,
                          std::vector<msg::CounterEntry>& out) {
  SG_RETURN_IF_ERROR(TakeRecords(v, at, "counters", budget));
  out.resize(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const json& j = v[i];
    const Path c = at[i];
    SG_RETURN_IF_ERROR(CheckObject(j, c, {"key", "entries"}));
    SG_RETURN_IF_ERROR(ReadKey(j, c, partition, out[i].key));
    const json* field = nullptr;
    SG_RETURN_IF_ERROR(Required(j, c, "entries", field));
    SG_RETURN_IF_ERROR(ReadEntries(*field, c.Field("entries"), out[i].state));
  }
  return absl::OkStatus();
}

// An array of timestamps (counted against the budget like records).
static absl::Status ReadStamps(const json& v, const Path& at, const char* what, size_t& budget,
                               std::vector<Timestamp>& out) {
  SG_RETURN_IF_ERROR(TakeRecords(v, at, what, budget));
  out.resize(v.size());
  for (size_t i = 0; i < v.size(); ++i) SG_RETURN_IF_ERROR(Ts(v[i], at[i], out[i]));
  return absl::OkStatus();
}

// ORENTRY: {"key", "items": [{"tag", "value", "ttl_ms", "origin"}], "tombstones": [TS, ...]}.
absl::Status ReadOrKeys(const json& v, const Path& at, uint32_t partition, size_t& budget,
                        std::vector<msg::OrKeyState>& out) {
  SG_RETURN_IF_ERROR(TakeRecords(v, at, "or_keys", budget));
  out.resize(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const json& j = v[i];
    const Path e = at[i];
    SG_RETURN_IF_ERROR(CheckObject(j, e, {"key", "items", "tombstones"}));
    SG_RETURN_IF_ERROR(ReadKey(j, e, partition, out[i].key));
    if (const json* items = Optional(j, "items")) {
      const Path ia = e.Field("items");
      SG_RETURN_IF_ERROR(TakeRecords(*items, ia, "items", budget));
      for (size_t n = 0; n < items->size(); ++n) {
        const json& item = (*items)[n];
        const Path r = ia[n];
        SG_RETURN_IF_ERROR(CheckObject(item, r, {"tag", "value", "ttl_ms", "origin"}));
        OrRecord& rec = out[i].items.emplace_back();
        const json* field = nullptr;
        SG_RETURN_IF_ERROR(Required(item, r, "tag", field));
        SG_RETURN_IF_ERROR(Ts(*field, r.Field("tag"), rec.tag));
        SG_RETURN_IF_ERROR(Required(item, r, "value", field));
        SG_RETURN_IF_ERROR(Doc(*field, r.Field("value"), rec.value));
        if (const json* ttl = Optional(item, "ttl_ms")) {
          SG_RETURN_IF_ERROR(U64(*ttl, r.Field("ttl_ms"), rec.ttl_ms.emplace()));
        }
        if (const json* origin = Optional(item, "origin")) {
          SG_RETURN_IF_ERROR(Ts(*origin, r.Field("origin"), rec.origin.emplace()));
          if (rec.origin->millis != 0) {
            return Error(r.Field("origin"), "an origin is \"0:<seq>:<client>\"");
          }
        }
      }
    }
    if (const json* tombstones = Optional(j, "tombstones")) {
      SG_RETURN_IF_ERROR(
          ReadStamps(*tombstones, e.Field("tombstones"), "tombstones", budget, out[i].tombstones));
    }
  }
  return absl::OkStatus();
}

// An OR op: {"kind": "add"} (the op's "value" is the item) or {"kind": "remove", "names": [TS]}.
absl::Status ReadOrOp(const json& v, const Path& at, size_t& budget, msg::GridOp& op) {
  SG_RETURN_IF_ERROR(CheckObject(v, at, {"kind", "names"}));
  const json* field = nullptr;
  SG_RETURN_IF_ERROR(Required(v, at, "kind", field));
  std::string kind;
  SG_RETURN_IF_ERROR(Str(*field, at.Field("kind"), kind));
  if (kind == "add") {
    op.or_kind = msg::OrOpKind::kAdd;
    if (Optional(v, "names") != nullptr) {
      return Error(at.Field("names"), "only an OR remove names items");
    }
    if (!op.value) return Error(at.Field("kind"), "an OR add carries a value");
    if (op.seq > UINT32_MAX) return Error(at.Field("kind"), "an OR add's seq must fit 32 bits");
    return absl::OkStatus();
  }
  if (kind != "remove") {
    return Error(at.Field("kind"),
                 fmt::format("unknown OR op kind '{}' (expected add or remove)", Clip(kind)));
  }
  op.or_kind = msg::OrOpKind::kRemove;
  if (op.value) return Error(at.Field("kind"), "an OR remove carries no value");
  SG_RETURN_IF_ERROR(Required(v, at, "names", field));
  SG_RETURN_IF_ERROR(ReadStamps(*field, at.Field("names"), "names", budget, op.or_tags));
  if (op.or_tags.empty()) return Error(at.Field("names"), "an OR remove names at least one item");
  return absl::OkStatus();
}

absl::Status ReadCounterOp(const json& v, const Path& at, PnTotals& out) {
  SG_RETURN_IF_ERROR(CheckObject(v, at, {"positive", "negative"}));
  if (const json* p = Optional(v, "positive")) {
    SG_RETURN_IF_ERROR(U64(*p, at.Field("positive"), out.positive));
  }
  if (const json* n = Optional(v, "negative")) {
    SG_RETURN_IF_ERROR(U64(*n, at.Field("negative"), out.negative));
  }
  return absl::OkStatus();
}

// ---- Writing.

// Written only when there are any: without counters a body is what it was before them.
void AddCountersJson(const std::vector<msg::CounterEntry>& counters, ojson& out) {
  if (counters.empty()) return;
  ojson& list = out["counters"] = ojson::array();
  for (const msg::CounterEntry& c : counters) {
    ojson entries = ojson::object();
    for (const auto& [node, totals] : c.state) {
      entries[node] = ojson::array({totals.positive, totals.negative});
    }
    list.push_back(ojson{{"key", c.key}, {"entries", std::move(entries)}});
  }
}

ojson StampsJson(const std::vector<Timestamp>& stamps) {
  ojson out = ojson::array();
  for (const Timestamp& t : stamps) out.push_back(t.ToString());
  return out;
}

// Written only when there are any, like counters.
void AddOrKeysJson(const std::vector<msg::OrKeyState>& or_keys, ojson& out) {
  if (or_keys.empty()) return;
  ojson& list = out["or_keys"] = ojson::array();
  for (const msg::OrKeyState& k : or_keys) {
    ojson items = ojson::array();
    for (const OrRecord& item : k.items) {
      ojson i;
      i["tag"] = item.tag.ToString();
      i["value"] = DocumentToJson(item.value);
      if (item.ttl_ms) i["ttl_ms"] = *item.ttl_ms;
      if (item.origin) i["origin"] = item.origin->ToString();
      items.push_back(std::move(i));
    }
    list.push_back(ojson{
        {"key", k.key}, {"items", std::move(items)}, {"tombstones", StampsJson(k.tombstones)}});
  }
}

}  // namespace seedgrid::net::sync_json_internal
