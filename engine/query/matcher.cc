#include "engine/query/matcher.h"

#include <algorithm>
#include <optional>

#include "engine/base/assert.h"
#include "engine/query/value_order.h"

namespace seedgrid {

namespace {

bool InRange(ValueView v, ValueView bound, Op op) {
  if (ClassOf(v) != ClassOf(bound)) return false;
  const int c = CompareValues(v, bound);
  switch (op) {
    case Op::kGt:
      return c > 0;
    case Op::kGte:
      return c >= 0;
    case Op::kLt:
      return c < 0;
    case Op::kLte:
      return c <= 0;
    default:
      SG_ASSERT(false);
  }
}

}  // namespace

struct Matcher::Node {
  Op op;
  FieldName field;          // Interned once: documents are read by pool slot.
  std::vector<Value> args;  // Normalised; for `in`, sorted and deduplicated.
  std::optional<LikePattern> like;
  std::optional<FoldedNeedle> needle;
  std::vector<std::string> tokens;  // match / matchPrefix: the query's tokens.
  std::vector<Node> children;
  // eq of a string constant (the commonest scan filter): compared as bytes, which is exactly
  // query equality for strings, and no other class equals a string.
  bool eq_string = false;

  explicit Node(const Predicate& p) : op(p.op), field(p.field) {
    for (const Value& v : p.args) args.push_back(NormalizeForEq(v));
    if (op == Op::kIn) {
      std::sort(args.begin(), args.end(), ValueLess());
      args.erase(
          std::unique(args.begin(), args.end(),
                      [](const Value& a, const Value& b) { return CompareValues(a, b) == 0; }),
          args.end());
    }
    if (op == Op::kLike) like.emplace(std::get<std::string>(p.args[0]));
    if (op == Op::kContains) needle.emplace(std::get<std::string>(p.args[0]));
    if (op == Op::kMatch || op == Op::kMatchPrefix)
      tokens = Tokenize(std::get<std::string>(p.args[0]));
    for (const Predicate& c : p.children) children.emplace_back(c);
    eq_string = op == Op::kEq && std::holds_alternative<std::string>(args[0]);
  }

  bool Eval(const Document& doc) const {
    switch (op) {
      case Op::kAll:
        return true;
      case Op::kAnd:
        for (const Node& c : children) {
          if (!c.Eval(doc)) return false;
        }
        return true;
      case Op::kOr:
        for (const Node& c : children) {
          if (c.Eval(doc)) return true;
        }
        return false;
      case Op::kNot:
        return !children[0].Eval(doc);
      default:
        return EvalField(FieldValue(doc, field));
    }
  }

  bool EvalField(ValueView v) const {
    switch (op) {
      case Op::kEq:
        if (eq_string) return v.is_string() && v.string_value() == std::get<std::string>(args[0]);
        return CompareValues(v, args[0]) == 0;
      case Op::kNeq:
        return CompareValues(v, args[0]) != 0;
      case Op::kGt:
      case Op::kGte:
      case Op::kLt:
      case Op::kLte:
        return InRange(v, args[0], op);
      case Op::kBetween:
        return InRange(v, args[0], Op::kGte) && InRange(v, args[1], Op::kLte);
      case Op::kIn:
        return std::binary_search(args.begin(), args.end(), v, ValueLess());
      case Op::kLike:
        return v.is_string() && like->Matches(v.string_value());
      case Op::kContains:
        return v.is_string() && needle->FoundIn(v.string_value());
      case Op::kContainsAll:
      case Op::kContainsAny: {
        if (!v.is_list()) return false;
        const ListView list = v.list_value();
        const StringList& want = std::get<StringList>(args[0]);
        const auto has = [&](const std::string& e) { return list.Contains(e); };
        return op == Op::kContainsAll ? std::all_of(want.begin(), want.end(), has)
                                      : std::any_of(want.begin(), want.end(), has);
      }
      case Op::kIsNull:
        return TypeOf(v) == ValueType::kNull;
      case Op::kIsNotNull:
        return TypeOf(v) != ValueType::kNull;
      case Op::kMatch:
      case Op::kMatchPrefix: {
        if (tokens.empty()) return false;
        const std::vector<std::string> have = ValueTokens(v);  // Sorted, unique.
        const size_t exact = op == Op::kMatch ? tokens.size() : tokens.size() - 1;
        for (size_t i = 0; i < exact; ++i) {
          if (!std::binary_search(have.begin(), have.end(), tokens[i])) return false;
        }
        if (op == Op::kMatch) return true;
        const std::string& prefix = tokens.back();
        const auto first = std::lower_bound(have.begin(), have.end(), prefix);
        return first != have.end() && first->starts_with(prefix);
      }
      default:
        SG_ASSERT(false);
    }
  }
};

Matcher::Matcher(const Predicate& p) : root_(std::make_unique<Node>(p)) {}
Matcher::~Matcher() = default;

bool Matcher::Matches(const Document& doc) const { return root_->Eval(doc); }

ValueView Matcher::FieldValue(const Document& doc, std::string_view field) {
  return doc.Get(field).value_or(ValueView());
}

ValueView Matcher::FieldValue(const Document& doc, const FieldName& field) {
  return doc.Get(field).value_or(ValueView());
}

bool MatchesPredicate(const Predicate& p, const Document& doc) { return Matcher(p).Matches(doc); }

std::vector<std::string> ValueTokens(ValueView v) {
  std::vector<std::string> tokens;
  if (v.is_string()) tokens = Tokenize(v.string_value());
  if (v.is_list()) {
    for (std::string_view e : v.list_value()) {
      std::vector<std::string> t = Tokenize(e);
      tokens.insert(tokens.end(), std::make_move_iterator(t.begin()),
                    std::make_move_iterator(t.end()));
    }
  }
  std::sort(tokens.begin(), tokens.end());
  tokens.erase(std::unique(tokens.begin(), tokens.end()), tokens.end());
  return tokens;
}

}  // namespace seedgrid
