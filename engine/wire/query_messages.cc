// Live queries: QuerySubscribe (with its Query / PredicateNode tables) and QueryUpdate. Each
// encoder is followed by its decoder, which reads the same fields in the same order.
#include "engine/base/strings.h"
#include "engine/query/query_engine.h"
#include "engine/wire/body_codecs.h"

namespace seedgrid::wire_codec {
namespace {

Offset<fb::PredicateNode> EncodePredicate(Encoder& e, const Predicate& p) {
  auto args = e.Offsets(p.args, [&e](const Value& v) {
    auto [type, offset] = e.Val(v);
    return fb::CreateQueryArg(e.builder(), type, offset);
  });
  auto children = e.Offsets(p.children, [&e](const Predicate& c) { return EncodePredicate(e, c); });
  auto field = e.OptionalString(p.field);
  auto args_offset = e.builder().CreateVector(args);
  auto children_offset = e.builder().CreateVector(children);
  return fb::CreatePredicateNode(e.builder(), static_cast<uint8_t>(p.op), field, args_offset,
                                 children_offset);
}
absl::Status DecodePredicate(Decoder& d, const fb::PredicateNode* in, const WirePath& where,
                             int depth, Predicate& out) {
  if (in == nullptr) return d.Error(where, "missing predicate");
  if (depth > kDepthMax) return d.Error(where, fmt::format("nesting deeper than {}", kDepthMax));
  if (!d.Charge(kDecodeElementCharge)) return d.BudgetError(where);
  if (in->op() >= kOpCount) {
    return d.Error(where + ".op", fmt::format("unknown operator {}", in->op()));
  }
  out.op = static_cast<Op>(in->op());
  out.field = d.Str(in->field());
  SG_RETURN_IF_ERROR(d.Vector(in->args(), where + ".args", kNoCharge, out.args,
                              [&d](const fb::QueryArg* a, const WirePath& at, Value& v) {
                                return d.Val(a->value_type(), a->value(), at, v);
                              }));
  return d.Vector(in->children(), where + ".children", kNoCharge, out.children,
                  [&d, depth](const fb::PredicateNode* c, const WirePath& at, Predicate& p) {
                    return DecodePredicate(d, c, at, depth + 1, p);
                  });
}

Offset<fb::Query> EncodeQuery(Encoder& e, const Query& q) {
  auto where = EncodePredicate(e, q.where);
  auto sort = e.Vector(q.sort, [&e](const SortField& f) {
    auto field = e.String(f.field);
    return fb::CreateSortKey(e.builder(), field, f.descending);
  });
  return fb::CreateQuery(e.builder(), where, sort, Encoder::Ttl(q.limit));
}
absl::Status DecodeQuery(Decoder& d, const fb::Query* in, const WirePath& where, Query& out) {
  SG_RETURN_IF_ERROR(DecodePredicate(d, in->where(), where + ".where", 1, out.where));
  SG_RETURN_IF_ERROR(d.Vector(in->sort(), where + ".sort", kDecodeElementCharge, out.sort,
                              [&d](const fb::SortKey* k, const WirePath&, SortField& f) {
                                f = SortField{d.Str(k->field()), k->descending()};
                                return absl::OkStatus();
                              }));
  out.limit = Decoder::Ttl(in->limit());
  // The query's own rules (arity, argument types, bounds), reported against the message.
  if (absl::Status s = Validate(out); !s.ok()) return d.Error(where, ToStd(s.message()));
  return absl::OkStatus();
}

}  // namespace

Offset<fb::QuerySubscribe> EncodeBody(Encoder& e, const msg::QuerySubscribe& m) {
  auto name = e.String(m.map_name);
  auto query = EncodeQuery(e, m.query);
  auto requester = e.OptionalString(m.requester);
  auto known = e.Vector(m.known, [&e](const msg::QueryMark& k) {
    auto server = e.Node(k.server);
    return fb::CreateQueryMark(e.builder(), server, k.epoch, k.seq);
  });
  auto cursor = e.OptionalString(m.cursor);
  return fb::CreateQuerySubscribe(e.builder(), m.subscription_id, name, query, requester, known,
                                  m.cancel, cursor, m.or_rows);
}
absl::Status DecodeBody(Decoder& d, const fb::QuerySubscribe& in, msg::QuerySubscribe& m) {
  m.subscription_id = in.subscription_id();
  SG_RETURN_IF_ERROR(d.MapName(in.map_name(), "QuerySubscribe.map_name", m.map_name));
  SG_RETURN_IF_ERROR(DecodeQuery(d, in.query(), "QuerySubscribe.query", m.query));
  SG_RETURN_IF_ERROR(d.OptionalNode(in.requester(), "QuerySubscribe.requester", m.requester));
  SG_RETURN_IF_ERROR(
      d.Vector(in.known(), "QuerySubscribe.known", kDecodeElementCharge, m.known,
               [&d](const fb::QueryMark* k, const WirePath& at, msg::QueryMark& mark) {
                 SG_RETURN_IF_ERROR(d.Node(k->server(), at + ".server", mark.server));
                 mark.epoch = k->epoch();
                 mark.seq = k->seq();
                 return absl::OkStatus();
               }));
  m.cancel = in.cancel();
  m.or_rows = in.or_rows();
  m.cursor = d.Str(in.cursor());
  if (m.cursor.empty()) return absl::OkStatus();
  if (!d.Charge(m.cursor.size())) return d.BudgetError("QuerySubscribe.cursor");
  // A page's cursor must be a cursor of its query: servers serve it without asking again.
  absl::StatusOr<CursorState> state = DecodeCursor(m.cursor);
  const absl::Status belongs =
      state.ok() ? QueryEngine::CursorBelongsTo(m.query, *state) : state.status();
  if (!belongs.ok()) return d.Error("QuerySubscribe.cursor", ToStd(belongs.message()));
  return absl::OkStatus();
}

Offset<fb::QueryUpdate> EncodeBody(Encoder& e, const msg::QueryUpdate& m) {
  auto partitions = e.Scalars(m.partitions);
  auto rows = e.Map(m.rows);
  return fb::CreateQueryUpdate(e.builder(), m.subscription_id, m.epoch, m.seq, m.table_version,
                               partitions, rows);
}
absl::Status DecodeBody(Decoder& d, const fb::QueryUpdate& in, msg::QueryUpdate& m) {
  m.subscription_id = in.subscription_id();
  m.epoch = in.epoch();
  m.seq = in.seq();
  m.table_version = in.table_version();
  const size_t partitions = in.partitions() == nullptr ? 0 : in.partitions()->size();
  if (m.seq != 0 && partitions != 0) {
    return d.Error("QueryUpdate.partitions", "only a snapshot (seq 0) lists partitions");
  }
  if (!d.Charge(kDecodeElementCharge + 4 * partitions)) {
    return d.BudgetError("QueryUpdate.partitions");
  }
  SG_RETURN_IF_ERROR(d.Partitions(in.partitions(), "QueryUpdate.partitions", m.partitions));
  return d.Map(in.rows(), "QueryUpdate.rows", m.rows);
}

}  // namespace seedgrid::wire_codec
