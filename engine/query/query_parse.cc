// Recursive-descent parser for the query text form (grammar in docs/queries.md). Errors name the
// 1-based column and what was expected; nesting is bounded while parsing, so hostile input cannot
// exhaust the stack.
#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <limits>

#include "engine/base/strings.h"
#include "engine/query/query.h"

namespace seedgrid {

namespace {

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  absl::StatusOr<Predicate> ParsePredicateOnly() {
    absl::StatusOr<Predicate> p = ParsePredicateAt(1);
    if (!p.ok()) return p;
    if (absl::Status s = ExpectEnd(); !s.ok()) return s;
    return p;
  }

  absl::StatusOr<Query> ParseQueryText() {
    Query q;
    absl::StatusOr<Predicate> p = ParsePredicateAt(1);
    if (!p.ok()) return p.status();
    q.where = *std::move(p);
    SkipSpace();
    if (PeekWord() == "sort") {
      pos_ += 4;
      if (absl::Status s = Expect('(', "after sort"); !s.ok()) return s;
      while (true) {
        SortField f;
        absl::StatusOr<std::string> name = ParseFieldName("a sort field");
        if (!name.ok()) return name.status();
        f.field = *std::move(name);
        SkipSpace();
        const std::string_view dir = PeekWord();
        if (dir == "asc" || dir == "desc") {
          f.descending = dir == "desc";
          pos_ += dir.size();
        }
        q.sort.push_back(std::move(f));
        if (q.sort.size() > kSortFieldsMax) {
          return Error(fmt::format("more than {} sort fields", kSortFieldsMax));
        }
        SkipSpace();
        if (Consume(',')) continue;
        if (absl::Status s = Expect(')', "to close sort"); !s.ok()) return s;
        break;
      }
      SkipSpace();
    }
    if (PeekWord() == "limit") {
      pos_ += 5;
      if (absl::Status s = Expect('(', "after limit"); !s.ok()) return s;
      SkipSpace();
      const size_t start = pos_;
      uint64_t n = 0;
      const auto [end, ec] = std::from_chars(text_.data() + pos_, text_.data() + text_.size(), n);
      if (ec != std::errc() || end == text_.data() + start) {
        return Error("limit needs a positive integer");
      }
      pos_ = static_cast<size_t>(end - text_.data());
      if (n == 0) return ErrorAt(start, "limit must be at least 1");
      q.limit = n;
      if (absl::Status s = Expect(')', "to close limit"); !s.ok()) return s;
    }
    if (absl::Status s = ExpectEnd(); !s.ok()) return s;
    if (absl::Status s = Validate(q); !s.ok()) return s;
    return q;
  }

 private:
  absl::Status ErrorAt(size_t at, std::string_view what) const {
    return absl::InvalidArgumentError(fmt::format("query text at column {}: {}", at + 1, what));
  }
  absl::Status Error(std::string_view what) const { return ErrorAt(pos_, what); }

  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool Consume(char c) {
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  absl::Status Expect(char c, std::string_view context) {
    if (Consume(c)) return absl::OkStatus();
    return Error(fmt::format("expected '{}' {}, found {}", c, context, Found()));
  }
  absl::Status ExpectEnd() {
    SkipSpace();
    if (pos_ == text_.size()) return absl::OkStatus();
    return Error(fmt::format("unexpected {} after the end of the query", Found()));
  }
  std::string Found() const {
    if (pos_ >= text_.size()) return "end of text";
    return fmt::format("'{}'", text_.substr(pos_, 1));
  }
  std::string_view PeekWord() const {
    size_t end = pos_;
    while (end < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[end])) != 0 ||
                                  text_[end] == '_' || text_[end] == '.' || text_[end] == '-')) {
      ++end;
    }
    return text_.substr(pos_, end - pos_);
  }

  absl::StatusOr<Predicate> ParsePredicateAt(int depth) {
    SkipSpace();
    if (depth > kDepthMax) return Error(fmt::format("nesting deeper than {}", kDepthMax));
    const size_t start = pos_;
    const std::string_view name = PeekWord();
    if (name.empty()) return Error(fmt::format("expected an operator, found {}", Found()));
    const std::optional<Op> op = OpFromName(name);
    if (!op) return Error(fmt::format("unknown operator '{}'", name));
    pos_ += name.size();
    if (absl::Status s = Expect('(', fmt::format("after {}", name)); !s.ok()) return s;
    Predicate p;
    p.op = *op;
    const bool logical = *op == Op::kAnd || *op == Op::kOr || *op == Op::kNot;
    if (Consume(')')) {
      if (absl::Status s = CheckNode(p, start); !s.ok()) return s;
      return p;
    }
    if (!logical && *op != Op::kAll) {
      absl::StatusOr<std::string> field = ParseFieldName("a field name");
      if (!field.ok()) return field.status();
      p.field = *std::move(field);
    }
    bool first = logical || *op == Op::kAll;
    while (true) {
      if (!first) {
        if (Consume(')')) break;
        if (absl::Status s = Expect(',', fmt::format("or ')' in {}", name)); !s.ok()) return s;
      }
      first = false;
      if (logical) {
        absl::StatusOr<Predicate> child = ParsePredicateAt(depth + 1);
        if (!child.ok()) return child.status();
        p.children.push_back(*std::move(child));
      } else {
        if (p.args.size() >= kArgsMax) return Error(fmt::format("more than {} values", kArgsMax));
        absl::StatusOr<Value> v = ParseValue();
        if (!v.ok()) return v.status();
        p.args.push_back(*std::move(v));
      }
    }
    if (absl::Status s = CheckNode(p, start); !s.ok()) return s;
    return p;
  }

  // Checks one node's shape (children were checked as they were parsed).
  absl::Status CheckNode(const Predicate& p, size_t start) {
    Predicate shallow = p;
    for (Predicate& c : shallow.children) c = All();
    absl::Status s = Validate(shallow);
    if (s.ok()) return s;
    std::string_view message = ToStd(s.message());
    if (const size_t colon = message.find(": "); colon != std::string_view::npos) {
      message.remove_prefix(colon + 2);
    }
    return ErrorAt(start, message);
  }

  absl::StatusOr<std::string> ParseFieldName(std::string_view what) {
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == '"') return ParseString();
    const std::string_view word = PeekWord();
    if (word.empty() || std::isdigit(static_cast<unsigned char>(word[0])) != 0 || word[0] == '-' ||
        word[0] == '.') {
      return Error(fmt::format("expected {}, found {}", what, Found()));
    }
    pos_ += word.size();
    return std::string(word);
  }

  absl::StatusOr<std::string> ParseString() {
    const size_t start = pos_;
    ++pos_;  // Opening quote.
    std::string out;
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == '"') return out;
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) break;
      const char e = text_[pos_++];
      switch (e) {
        case '"':
        case '\\':
          out.push_back(e);
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 'x': {
          unsigned byte = 0;
          const char* first = text_.data() + pos_;
          const char* last = text_.data() + std::min(text_.size(), pos_ + 2);
          const auto [end, ec] = std::from_chars(first, last, byte, 16);
          if (ec != std::errc() || end != first + 2) {
            return ErrorAt(pos_ - 2, "\\x needs two hex digits");
          }
          pos_ += 2;
          out.push_back(static_cast<char>(byte));
          break;
        }
        default:
          return ErrorAt(pos_ - 2, fmt::format("unknown escape '\\{}'", e));
      }
    }
    return ErrorAt(start, "unterminated string");
  }

  absl::StatusOr<Value> ParseValue() {
    SkipSpace();
    if (pos_ >= text_.size()) return Error("expected a value, found end of text");
    const char c = text_[pos_];
    if (c == '"') {
      absl::StatusOr<std::string> s = ParseString();
      if (!s.ok()) return s.status();
      return Value(*std::move(s));
    }
    if (c == '[') {
      ++pos_;
      StringList list;
      if (Consume(']')) return Value(std::move(list));
      while (true) {
        SkipSpace();
        if (pos_ >= text_.size() || text_[pos_] != '"') {
          return Error(fmt::format("lists hold strings only; found {}", Found()));
        }
        if (list.size() >= kArgsMax) return Error(fmt::format("more than {} values", kArgsMax));
        absl::StatusOr<std::string> s = ParseString();
        if (!s.ok()) return s.status();
        list.push_back(*std::move(s));
        if (Consume(']')) return Value(std::move(list));
        if (absl::Status st = Expect(',', "or ']' in a list"); !st.ok()) return st;
      }
    }
    const size_t start = pos_;
    const std::string_view word = PeekWord();
    pos_ += word.size();
    if (word == "null") return Value(std::monostate{});
    if (word == "true") return Value(true);
    if (word == "false") return Value(false);
    if (word == "nan") return Value(std::numeric_limits<double>::quiet_NaN());
    if (word == "inf") return Value(std::numeric_limits<double>::infinity());
    if (word == "-inf") return Value(-std::numeric_limits<double>::infinity());
    // Numbers: PeekWord stops at '+', so take an exponent sign explicitly.
    size_t end = pos_;
    if (end < text_.size() && text_[end] == '+' && !word.empty() &&
        (word.back() == 'e' || word.back() == 'E')) {
      ++end;
      while (end < text_.size() && std::isdigit(static_cast<unsigned char>(text_[end])) != 0) ++end;
    }
    const std::string_view number = text_.substr(start, end - start);
    pos_ = end;
    if (number.empty()) return ErrorAt(start, fmt::format("expected a value, found {}", Found()));
    const bool is_double = number.find_first_of(".eE") != std::string_view::npos;
    if (!is_double) {
      int64_t i = 0;
      const auto [p, ec] = std::from_chars(number.data(), number.data() + number.size(), i);
      if (ec == std::errc::result_out_of_range) {
        return ErrorAt(start, fmt::format("integer {} does not fit in 64 bits", number));
      }
      if (ec != std::errc() || p != number.data() + number.size()) {
        return ErrorAt(start, fmt::format("'{}' is not a value", number));
      }
      return Value(i);
    }
    double d = 0;
    const auto [p, ec] = std::from_chars(number.data(), number.data() + number.size(), d);
    if (ec == std::errc::result_out_of_range) {
      return ErrorAt(start, fmt::format("number {} is out of double range", number));
    }
    if (ec != std::errc() || p != number.data() + number.size() ||
        !(std::isdigit(static_cast<unsigned char>(number.back())) != 0)) {
      return ErrorAt(start, fmt::format("'{}' is not a value", number));
    }
    return Value(d);
  }

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<Predicate> ParsePredicate(std::string_view text) {
  return Parser(text).ParsePredicateOnly();
}

absl::StatusOr<Query> ParseQuery(std::string_view text) { return Parser(text).ParseQueryText(); }

}  // namespace seedgrid
