// Test support for engine/query: RapidCheck generators for documents and queries over a small
// field vocabulary (so predicates hit), and a brute-force reference evaluator.
#ifndef SEEDGRID_ENGINE_QUERY_QUERY_TESTING_H_
#define SEEDGRID_ENGINE_QUERY_QUERY_TESTING_H_

#include <rapidcheck.h>

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "engine/crdt/lww_map.h"
#include "engine/crdt/or_map.h"
#include "engine/query/matcher.h"
#include "engine/query/query.h"
#include "engine/query/query_engine.h"
#include "engine/query/value_order.h"

namespace seedgrid::testing {

inline const std::vector<std::string>& Fields() {
  static const std::vector<std::string> fields = {"a", "b", "c", "t", "l"};
  return fields;
}

inline rc::Gen<std::string> GenText() {
  return rc::gen::element<std::string>("", "a", "B", "ab", "Foo bar", "foo", "bar baz", "é", "É",
                                       "Ünïcode café", "ça va", "x_y", "a%b", "\xff\xfe", "日本 語",
                                       "foo-bar", "Straße", "ΑΒΓ αβγ", "z");
}

inline rc::Gen<Value> GenValue() {
  return rc::gen::oneOf(
      rc::gen::just(Value(std::monostate{})),
      rc::gen::map(rc::gen::arbitrary<bool>(), [](bool b) { return Value(b); }),
      rc::gen::map(rc::gen::inRange<int64_t>(-3, 4), [](int64_t i) { return Value(i); }),
      rc::gen::map(rc::gen::element<double>(-1.5, 0.0, -0.0, 1.0, 2.0, 2.5,
                                            std::numeric_limits<double>::infinity(),
                                            std::numeric_limits<double>::quiet_NaN(), 1e300),
                   [](double d) { return Value(d); }),
      rc::gen::map(GenText(), [](std::string s) { return Value(std::move(s)); }),
      rc::gen::map(
          rc::gen::container<StringList>(rc::gen::element<std::string>("x", "y", "Foo", "é")),
          [](StringList l) {
            if (l.size() > 3) l.resize(3);
            return Value(std::move(l));
          }));
}

inline rc::Gen<Document> GenDocument() {
  return rc::gen::exec([] {
    Document d;
    for (const std::string& f : Fields()) {
      if (*rc::gen::inRange(0, 5) == 0) continue;  // Missing field.
      d.Set(f, *GenValue());
    }
    return d;
  });
}

inline Predicate GenPredicate(int depth) {
  const int leaf_ops = 16;
  const int choice = *rc::gen::inRange(0, depth > 0 ? leaf_ops + 3 : leaf_ops);
  const std::string field = *rc::gen::element<std::string>("a", "b", "c", "t", "l", "z");
  const auto text = [] { return std::get<std::string>(Value(*GenText())); };
  switch (choice) {
    case 0:
      return Eq(field, *GenValue());
    case 1:
      return Neq(field, *GenValue());
    case 2:
      return Gt(field, *GenValue());
    case 3:
      return Gte(field, *GenValue());
    case 4:
      return Lt(field, *GenValue());
    case 5:
      return Lte(field, *GenValue());
    case 6: {
      Value lo = *GenValue();
      Value hi =
          *rc::gen::suchThat(GenValue(), [&](const Value& v) { return ClassOf(v) == ClassOf(lo); });
      return Between(field, lo, hi);
    }
    case 7:
      return In(field, *rc::gen::nonEmpty(rc::gen::container<std::vector<Value>>(GenValue())));
    case 8:
      return Like(field, *rc::gen::element<std::string>("%", "a%", "%b%", "_", "f_o%", "é", "%É%",
                                                        "a\\%b", "", "%a_"));
    case 9:
      return Contains(field, *rc::gen::element<std::string>("", "a", "oo b", "É", "bar", " ",
                                                            "foo bar", "-bar", "CAF"));
    case 10:
      return ContainsAll(
          field, *rc::gen::container<StringList>(rc::gen::element<std::string>("x", "y", "Foo")));
    case 11:
      return ContainsAny(
          field, *rc::gen::container<StringList>(rc::gen::element<std::string>("x", "y", "é")));
    case 12:
      return IsNull(field);
    case 13:
      return IsNotNull(field);
    case 14:
      return Match(field, text());
    case 15:
      return MatchPrefix(
          field, *rc::gen::element<std::string>("fo", "foo b", "ba", "É", "x", "", "straß", "日"));
    case 16:
    case 17: {
      std::vector<Predicate> children;
      const int n = *rc::gen::inRange(1, 4);
      for (int i = 0; i < n; ++i) children.push_back(GenPredicate(depth - 1));
      return choice == 16 ? And(std::move(children)) : Or(std::move(children));
    }
    default:
      return Not(GenPredicate(depth - 1));
  }
}

inline Query GenQuery() {
  Query q;
  q.where = *rc::gen::inRange(0, 8) == 0 ? All() : GenPredicate(3);
  const int sorts = *rc::gen::inRange(0, 3);
  for (int i = 0; i < sorts; ++i) {
    q.sort.push_back(
        {*rc::gen::element<std::string>("a", "b", "c", "z"), *rc::gen::arbitrary<bool>()});
  }
  if (*rc::gen::arbitrary<bool>()) q.limit = *rc::gen::inRange<uint64_t>(1, 8);
  return q;
}

struct IndexSpec {
  IndexKind kind;
  std::vector<std::string> fields;
};

inline std::vector<IndexSpec> AllIndexSpecs() {
  return {{IndexKind::kHash, {"a"}},      {IndexKind::kNavigable, {"a"}},
          {IndexKind::kHash, {"b"}},      {IndexKind::kNavigable, {"b"}},
          {IndexKind::kNavigable, {"c"}}, {IndexKind::kCompound, {"a", "b"}},
          {IndexKind::kInverted, {"t"}},  {IndexKind::kInverted, {"l"}},
          {IndexKind::kHash, {"l"}},      {IndexKind::kInverted, {"a"}},
          {IndexKind::kNavigable, {"z"}}};
}

inline std::vector<IndexSpec> GenIndexes() {
  std::vector<IndexSpec> out;
  for (const IndexSpec& s : AllIndexSpecs()) {
    if (*rc::gen::arbitrary<bool>()) out.push_back(s);
  }
  return out;
}

// A row as the reference sees it.
struct RefRow {
  std::string key;
  std::optional<Timestamp> tag;
  Document doc;
};

// Brute force: filter, sort by the query order, apply the limit.
inline std::vector<RefRow> Reference(const Query& q, std::vector<RefRow> rows) {
  const Matcher m(q.where);
  std::erase_if(rows, [&](const RefRow& r) { return !m.Matches(r.doc); });
  std::sort(rows.begin(), rows.end(), [&](const RefRow& x, const RefRow& y) {
    for (const SortField& s : q.sort) {
      int c =
          CompareValues(Matcher::FieldValue(x.doc, s.field), Matcher::FieldValue(y.doc, s.field));
      if (s.descending) c = -c;
      if (c != 0) return c < 0;
    }
    if (x.key != y.key) return x.key < y.key;
    return x.tag < y.tag;
  });
  if (q.limit && rows.size() > *q.limit) rows.resize(*q.limit);
  return rows;
}

inline std::vector<RefRow> LiveRows(const LwwMap& map, uint64_t now_ms) {
  std::vector<RefRow> rows;
  for (const auto& [key, record] : map.records()) {
    if (!record.tombstone() && !record.ExpiredAt(now_ms))
      rows.push_back({key, std::nullopt, *record.value});
  }
  return rows;
}

inline std::vector<RefRow> LiveRows(const OrMap& map, uint64_t now_ms) {
  std::vector<RefRow> rows;
  for (const auto& [key, entry] : map.entries()) {
    for (const auto& [tag, item] : entry.items) {
      if (!TtlExpired(tag.millis, item.ttl_ms, now_ms)) rows.push_back({key, tag, item.value});
    }
  }
  return rows;
}

inline std::vector<RefRow> ToRef(const std::vector<RowRef>& rows) {
  std::vector<RefRow> out;
  for (const RowRef& r : rows) {
    out.push_back(
        {std::string(r.key), r.tag ? std::optional<Timestamp>(*r.tag) : std::nullopt, *r.value});
  }
  return out;
}

// Result order for a query without sort fields: key, then OR tag. Run returns the rows of a
// query without a sort and a limit in index order; tests compare them in this order.
inline void SortByKeyAndTag(std::vector<RefRow>* rows) {
  std::sort(rows->begin(), rows->end(), [](const RefRow& x, const RefRow& y) {
    return x.key != y.key ? x.key < y.key : x.tag < y.tag;
  });
}

inline std::string Describe(const std::vector<RefRow>& rows) {
  std::string out;
  for (const RefRow& r : rows) {
    out += r.key + (r.tag ? "/" + r.tag->ToString() : "") + " " + r.doc.ToString() + "\n";
  }
  return out;
}

inline bool SameRows(const std::vector<RefRow>& a, const std::vector<RefRow>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].key != b[i].key || a[i].tag != b[i].tag || !(a[i].doc == b[i].doc)) return false;
  }
  return true;
}

}  // namespace seedgrid::testing

#endif  // SEEDGRID_ENGINE_QUERY_QUERY_TESTING_H_
