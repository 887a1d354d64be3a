// Matcher: a predicate compiled for repeated evaluation against documents (LIKE patterns and
// needles folded once, constants normalised once, `in` sets sorted for binary search).
//
// Semantics (the reference the indexes must agree with; see query.h and docs/queries.md):
//   A missing field is null. eq/neq/in use query equality (value_order.h). gt/gte/lt/lte/between
//   compare only values of the constant's class. like/contains need a string field.
//   containsAll/containsAny need a list field (containsAll of [] holds for any list).
//   match/matchPrefix accept a string field or a list (each element tokenised); a text with no
//   tokens matches nothing.
#ifndef SEEDGRID_ENGINE_QUERY_MATCHER_H_
#define SEEDGRID_ENGINE_QUERY_MATCHER_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/crdt/value.h"
#include "engine/query/query.h"
#include "engine/query/text.h"

namespace seedgrid {

class Matcher {
 public:
  // REQUIRES: Validate(p).ok().
  explicit Matcher(const Predicate& p);
  Matcher(Matcher&&) = default;
  Matcher& operator=(Matcher&&) = default;
  ~Matcher();

  bool Matches(const Document& doc) const;
  // The value a field op reads from `doc` (null when missing); valid while `doc` is unchanged.
  static ValueView FieldValue(const Document& doc, std::string_view field);
  // The same, faster for an interned name (a scan of pool slots instead of a search by text).
  static ValueView FieldValue(const Document& doc, const FieldName& field);
  static ValueView FieldValue(const Document& doc, const std::string& field) {
    return FieldValue(doc, std::string_view(field));
  }

 private:
  struct Node;
  std::unique_ptr<Node> root_;
};

// A matcher borrowed, or compiled from a predicate on first use: a query answered exactly by its
// indexes never compiles one. Not copyable; `p` must outlive it.
class LazyMatcher {
 public:
  explicit LazyMatcher(const Matcher& m) : ready_(&m) {}
  explicit LazyMatcher(const Predicate& p) : predicate_(&p) {}
  explicit LazyMatcher(const Matcher&&) = delete;  // It would dangle.
  explicit LazyMatcher(const Predicate&&) = delete;
  LazyMatcher(const LazyMatcher&) = delete;
  LazyMatcher& operator=(const LazyMatcher&) = delete;

  const Matcher& get() const {
    if (ready_ == nullptr) {
      ready_ = &owned_.emplace(*predicate_);
      ++compiled_;
    }
    return *ready_;
  }
  bool Matches(const Document& doc) const { return get().Matches(doc); }
  // Matchers this object compiled: 0 or 1.
  int compiled() const { return compiled_; }

 private:
  const Predicate* predicate_ = nullptr;
  mutable const Matcher* ready_ = nullptr;
  mutable std::optional<Matcher> owned_;
  mutable int compiled_ = 0;
};

// True when `doc` satisfies `p`, compiling `p` for this one call; for tests and one-off checks.
bool MatchesPredicate(const Predicate& p, const Document& doc);

// The distinct full-text tokens of a field value (a string, or every element of a list; other
// values have none), sorted. match/matchPrefix and the inverted index both use exactly these.
std::vector<std::string> ValueTokens(ValueView v);

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_QUERY_MATCHER_H_
