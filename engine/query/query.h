// Queries: a predicate tree, an optional sort and an optional limit. A plain value type: build it
// in C++ with the helpers below, print it with ToString, parse the same text with ParseQuery, and
// ship it in the wire schema (engine/wire/seedgrid.fbs, table Query).
//
// Operators (a missing field reads as null; see docs/queries.md for the full reference):
//   all()                      every row
//   eq / neq (f, v)            equal / not equal under the query value order (1 == 1.0)
//   gt / gte / lt / lte (f, v) range within v's class (numbers with numbers, strings with strings)
//   between(f, lo, hi)         lo <= f <= hi, both inclusive, lo and hi of one class
//   in(f, v1, v2, ...)         eq to any of the values
//   like(f, "pat")             anchored, case-insensitive, '%' any run, '_' one character
//   contains(f, "s")           case-insensitive substring of a string field
//   containsAll / containsAny (f, ["a", "b"])  a list-of-strings field has all / any elements
//   isNull(f) / isNotNull(f)
//   match(f, "text")           the field's tokens include every token of the text
//   matchPrefix(f, "text")     as match, but the last token only needs to prefix a field token
//   and(p, ...) / or(p, ...) / not(p)
// Text form: `and(eq(status, "open"), gt(age, 30)) sort(age desc, name) limit(10)`.
//
// Validate() enforces arity and argument types, a depth bound (kDepthMax) and a size bound
// (kNodesMax); every entry point (parser, wire decoder, query engine) validates.
#ifndef SEEDGRID_ENGINE_QUERY_QUERY_H_
#define SEEDGRID_ENGINE_QUERY_QUERY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/crdt/value.h"

namespace seedgrid {

enum class Op : uint8_t {
  kAll = 0,
  kEq,
  kNeq,
  kGt,
  kGte,
  kLt,
  kLte,
  kBetween,
  kIn,
  kLike,
  kContains,
  kContainsAll,
  kContainsAny,
  kIsNull,
  kIsNotNull,
  kMatch,
  kMatchPrefix,
  kAnd,
  kOr,
  kNot,
};
inline constexpr int kOpCount = static_cast<int>(Op::kNot) + 1;
std::string_view OpName(Op op);
// The operator named `name` (exact spelling as in OpName), if any.
std::optional<Op> OpFromName(std::string_view name);

struct Predicate {
  Op op = Op::kAll;
  std::string field;                // Field operators only.
  std::vector<Value> args;          // Constants, per operator.
  std::vector<Predicate> children;  // and / or / not only.

  friend bool operator==(const Predicate& a, const Predicate& b);
};

struct SortField {
  std::string field;
  bool descending = false;
  friend bool operator==(const SortField&, const SortField&) = default;
};

struct Query {
  Predicate where;
  std::vector<SortField> sort;  // The key (then the OR tag) is always the final tie-break.
  std::optional<uint64_t> limit;
  friend bool operator==(const Query&, const Query&) = default;
};

// True when a one-shot query's rows come in result order (sort fields, key, tag): the query sorts
// or has a limit (a top-N window and its cursor need an order). Otherwise QueryEngine::Run returns
// the whole match set in index order, which costs no sort (docs/queries.md, "Results, paging,
// cursors").
inline bool HasResultOrder(const Query& q) { return !q.sort.empty() || q.limit.has_value(); }

inline constexpr int kDepthMax = 32;
inline constexpr size_t kNodesMax = 4096;
inline constexpr size_t kArgsMax = 4096;
inline constexpr size_t kSortFieldsMax = 16;

absl::Status Validate(const Predicate& p);
absl::Status Validate(const Query& q);

std::string ToString(const Predicate& p);
std::string ToString(const Query& q);
absl::StatusOr<Predicate> ParsePredicate(std::string_view text);
absl::StatusOr<Query> ParseQuery(std::string_view text);

// A 64-bit XXH3 of the predicate and sort (not the limit), stable across processes: binds
// cursors to their query and identifies shared live-query results.
uint64_t PredicateAndSortHash(const Query& q);

// Builders.
Predicate All();
Predicate Eq(std::string field, Value v);
Predicate Neq(std::string field, Value v);
Predicate Gt(std::string field, Value v);
Predicate Gte(std::string field, Value v);
Predicate Lt(std::string field, Value v);
Predicate Lte(std::string field, Value v);
Predicate Between(std::string field, Value lo, Value hi);
Predicate In(std::string field, std::vector<Value> values);
Predicate Like(std::string field, std::string pattern);
Predicate Contains(std::string field, std::string needle);
Predicate ContainsAll(std::string field, StringList elements);
Predicate ContainsAny(std::string field, StringList elements);
Predicate IsNull(std::string field);
Predicate IsNotNull(std::string field);
Predicate Match(std::string field, std::string text);
Predicate MatchPrefix(std::string field, std::string text);
Predicate And(std::vector<Predicate> children);
Predicate Or(std::vector<Predicate> children);
Predicate Not(Predicate child);

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_QUERY_QUERY_H_
