#include "engine/query/query.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <array>
#include <cmath>

#include "engine/base/assert.h"
#include "engine/query/value_order.h"

namespace seedgrid {

namespace {

constexpr std::array<std::string_view, kOpCount> kOpNames = {
    "all",       "eq",    "neq",         "gt",       "gte",         "lt",          "lte",
    "between",   "in",    "like",        "contains", "containsAll", "containsAny", "isNull",
    "isNotNull", "match", "matchPrefix", "and",      "or",          "not"};

bool IsLogical(Op op) { return op == Op::kAnd || op == Op::kOr || op == Op::kNot; }

absl::Status Fail(std::string_view at, std::string_view what) {
  return absl::InvalidArgumentError(fmt::format("{}: {}", at, what));
}

absl::Status ValidateNode(const Predicate& p, int depth, size_t* nodes, const std::string& at) {
  if (depth > kDepthMax) return Fail(at, fmt::format("nesting deeper than {}", kDepthMax));
  if (++*nodes > kNodesMax) return Fail(at, fmt::format("more than {} operators", kNodesMax));
  if (static_cast<int>(p.op) >= kOpCount) return Fail(at, "unknown operator");
  const std::string_view name = OpName(p.op);
  if (IsLogical(p.op) || p.op == Op::kAll) {
    if (!p.field.empty()) return Fail(at, fmt::format("{} takes no field", name));
    if (!p.args.empty()) return Fail(at, fmt::format("{} takes no values", name));
    if (p.op == Op::kAll && !p.children.empty()) return Fail(at, "all takes no operands");
    if (p.op == Op::kNot && p.children.size() != 1)
      return Fail(at, "not takes exactly one operand");
    if ((p.op == Op::kAnd || p.op == Op::kOr) && p.children.empty()) {
      return Fail(at, fmt::format("{} needs at least one operand", name));
    }
    for (size_t i = 0; i < p.children.size(); ++i) {
      absl::Status s =
          ValidateNode(p.children[i], depth + 1, nodes, fmt::format("{}.{}[{}]", at, name, i));
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }
  if (p.field.empty()) return Fail(at, fmt::format("{} needs a field name", name));
  if (!p.children.empty()) return Fail(at, fmt::format("{} takes no operands", name));
  if (p.args.size() > kArgsMax) return Fail(at, fmt::format("more than {} values", kArgsMax));
  const auto want_args = [&](size_t n) -> absl::Status {
    if (p.args.size() == n) return absl::OkStatus();
    return Fail(
        at, fmt::format("{} takes {} value{}, got {}", name, n, n == 1 ? "" : "s", p.args.size()));
  };
  switch (p.op) {
    case Op::kEq:
    case Op::kNeq:
    case Op::kGt:
    case Op::kGte:
    case Op::kLt:
    case Op::kLte:
      return want_args(1);
    case Op::kBetween: {
      if (absl::Status s = want_args(2); !s.ok()) return s;
      const ValueClass lo = ClassOf(p.args[0]);
      const ValueClass hi = ClassOf(p.args[1]);
      if (lo != hi) {
        return Fail(at, fmt::format("between bounds must be of one kind, got {} and {}",
                                    ValueClassName(lo), ValueClassName(hi)));
      }
      return absl::OkStatus();
    }
    case Op::kIn:
      if (p.args.empty()) return Fail(at, "in needs at least one value");
      return absl::OkStatus();
    case Op::kLike:
    case Op::kContains:
    case Op::kMatch:
    case Op::kMatchPrefix:
      if (absl::Status s = want_args(1); !s.ok()) return s;
      if (TypeOf(p.args[0]) != ValueType::kString) {
        return Fail(at, fmt::format("{} needs a string, got {}", name, ValueToString(p.args[0])));
      }
      return absl::OkStatus();
    case Op::kContainsAll:
    case Op::kContainsAny:
      if (absl::Status s = want_args(1); !s.ok()) return s;
      if (TypeOf(p.args[0]) != ValueType::kList) {
        return Fail(
            at, fmt::format("{} needs a list of strings, got {}", name, ValueToString(p.args[0])));
      }
      return absl::OkStatus();
    case Op::kIsNull:
    case Op::kIsNotNull:
      return want_args(0);
    default:
      SG_ASSERT(false);
  }
}

Predicate FieldOp(Op op, std::string field, std::vector<Value> args) {
  Predicate p;
  p.op = op;
  p.field = std::move(field);
  p.args = std::move(args);
  return p;
}

Predicate Logical(Op op, std::vector<Predicate> children) {
  Predicate p;
  p.op = op;
  p.children = std::move(children);
  return p;
}

bool IsIdentifierStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool IsIdentifierChar(char c) {
  return IsIdentifierStart(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

bool IsKeyword(std::string_view s) {
  return s == "null" || s == "true" || s == "false" || s == "inf" || s == "nan";
}

void AppendQuoted(std::string_view s, std::string* out) {
  out->push_back('"');
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (c == '\n') {
      *out += "\\n";
    } else if (c == '\t') {
      *out += "\\t";
    } else if (c == '\r') {
      *out += "\\r";
    } else if (u < 0x20 || u == 0x7F) {
      *out += fmt::format("\\x{:02x}", u);
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

void AppendField(std::string_view field, std::string* out) {
  bool plain = !field.empty() && IsIdentifierStart(field[0]) && !IsKeyword(field);
  for (char c : field) plain = plain && IsIdentifierChar(c);
  if (plain) {
    *out += field;
  } else {
    AppendQuoted(field, out);
  }
}

void AppendValue(const Value& v, std::string* out) {
  switch (TypeOf(v)) {
    case ValueType::kNull:
      *out += "null";
      return;
    case ValueType::kBool:
      *out += std::get<bool>(v) ? "true" : "false";
      return;
    case ValueType::kInt:
      *out += fmt::format("{}", std::get<int64_t>(v));
      return;
    case ValueType::kDouble: {
      const double d = std::get<double>(v);
      if (std::isnan(d)) {
        *out += "nan";
        return;
      }
      std::string s = fmt::format("{}", d);  // Shortest text that reads back to the same double.
      if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // Keep it a double.
      *out += s;
      return;
    }
    case ValueType::kString:
      AppendQuoted(std::get<std::string>(v), out);
      return;
    case ValueType::kList: {
      out->push_back('[');
      bool first = true;
      for (const std::string& s : std::get<StringList>(v)) {
        if (!first) *out += ", ";
        first = false;
        AppendQuoted(s, out);
      }
      out->push_back(']');
      return;
    }
  }
}

void AppendPredicate(const Predicate& p, std::string* out) {
  *out += OpName(p.op);
  out->push_back('(');
  bool first = true;
  const auto sep = [&] {
    if (!first) *out += ", ";
    first = false;
  };
  if (!p.field.empty()) {
    sep();
    AppendField(p.field, out);
  }
  for (const Value& v : p.args) {
    sep();
    AppendValue(v, out);
  }
  for (const Predicate& c : p.children) {
    sep();
    AppendPredicate(c, out);
  }
  out->push_back(')');
}

}  // namespace

std::string_view OpName(Op op) {
  const auto i = static_cast<size_t>(op);
  SG_ASSERT(i < kOpNames.size());
  return kOpNames[i];
}

std::optional<Op> OpFromName(std::string_view name) {
  for (size_t i = 0; i < kOpNames.size(); ++i) {
    if (kOpNames[i] == name) return static_cast<Op>(i);
  }
  return std::nullopt;
}

bool operator==(const Predicate& a, const Predicate& b) {
  if (a.op != b.op || a.field != b.field || a.args.size() != b.args.size() ||
      a.children != b.children) {
    return false;
  }
  for (size_t i = 0; i < a.args.size(); ++i) {
    if (!ValueEquals(a.args[i], b.args[i])) return false;
  }
  return true;
}

absl::Status Validate(const Predicate& p) {
  size_t nodes = 0;
  return ValidateNode(p, 1, &nodes, "where");
}

absl::Status Validate(const Query& q) {
  if (absl::Status s = Validate(q.where); !s.ok()) return s;
  if (q.sort.size() > kSortFieldsMax) {
    return Fail("sort", fmt::format("more than {} sort fields", kSortFieldsMax));
  }
  for (size_t i = 0; i < q.sort.size(); ++i) {
    if (q.sort[i].field.empty()) return Fail(fmt::format("sort[{}]", i), "empty field name");
  }
  if (q.limit.has_value() && *q.limit == 0) return Fail("limit", "must be at least 1");
  return absl::OkStatus();
}

std::string ToString(const Predicate& p) {
  std::string out;
  AppendPredicate(p, &out);
  return out;
}

std::string ToString(const Query& q) {
  std::string out = ToString(q.where);
  if (!q.sort.empty()) {
    out += " sort(";
    for (size_t i = 0; i < q.sort.size(); ++i) {
      if (i > 0) out += ", ";
      AppendField(q.sort[i].field, &out);
      if (q.sort[i].descending) out += " desc";
    }
    out += ")";
  }
  if (q.limit) out += fmt::format(" limit({})", *q.limit);
  return out;
}

uint64_t PredicateAndSortHash(const Query& q) {
  Query key = q;
  key.limit.reset();
  const std::string text = ToString(key);
  return XXH3_64bits(text.data(), text.size());
}

Predicate All() { return Predicate{}; }
Predicate Eq(std::string f, Value v) { return FieldOp(Op::kEq, std::move(f), {std::move(v)}); }
Predicate Neq(std::string f, Value v) { return FieldOp(Op::kNeq, std::move(f), {std::move(v)}); }
Predicate Gt(std::string f, Value v) { return FieldOp(Op::kGt, std::move(f), {std::move(v)}); }
Predicate Gte(std::string f, Value v) { return FieldOp(Op::kGte, std::move(f), {std::move(v)}); }
Predicate Lt(std::string f, Value v) { return FieldOp(Op::kLt, std::move(f), {std::move(v)}); }
Predicate Lte(std::string f, Value v) { return FieldOp(Op::kLte, std::move(f), {std::move(v)}); }
Predicate Between(std::string f, Value lo, Value hi) {
  return FieldOp(Op::kBetween, std::move(f), {std::move(lo), std::move(hi)});
}
Predicate In(std::string f, std::vector<Value> values) {
  return FieldOp(Op::kIn, std::move(f), std::move(values));
}
Predicate Like(std::string f, std::string pattern) {
  return FieldOp(Op::kLike, std::move(f), {std::move(pattern)});
}
Predicate Contains(std::string f, std::string needle) {
  return FieldOp(Op::kContains, std::move(f), {std::move(needle)});
}
Predicate ContainsAll(std::string f, StringList elements) {
  return FieldOp(Op::kContainsAll, std::move(f), {std::move(elements)});
}
Predicate ContainsAny(std::string f, StringList elements) {
  return FieldOp(Op::kContainsAny, std::move(f), {std::move(elements)});
}
Predicate IsNull(std::string f) { return FieldOp(Op::kIsNull, std::move(f), {}); }
Predicate IsNotNull(std::string f) { return FieldOp(Op::kIsNotNull, std::move(f), {}); }
Predicate Match(std::string f, std::string text) {
  return FieldOp(Op::kMatch, std::move(f), {std::move(text)});
}
Predicate MatchPrefix(std::string f, std::string text) {
  return FieldOp(Op::kMatchPrefix, std::move(f), {std::move(text)});
}
Predicate And(std::vector<Predicate> children) { return Logical(Op::kAnd, std::move(children)); }
Predicate Or(std::vector<Predicate> children) { return Logical(Op::kOr, std::move(children)); }
Predicate Not(Predicate child) { return Logical(Op::kNot, {std::move(child)}); }

}  // namespace seedgrid
