// The cost-based planner. Every node estimates how many handles it yields; AND intersects starting
// from the smallest operand and filters (rather than materialises) operands much larger than the
// running estimate; OR unions when every operand is indexable; NOT complements an exact operand.
// Anything not indexable is left to the final filter, which evaluates the whole predicate on the
// candidates of an inexact plan. Estimates for hash and token lookups are exact sizes; for ranges
// they count entries up to kCountCap.
#include "engine/query/planner.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "engine/base/assert.h"
#include "engine/query/text.h"

namespace seedgrid {

namespace {

constexpr size_t kCountCap = 1 << 14;
// An AND operand whose estimate exceeds the driver's by this factor is filtered, not fetched.
constexpr size_t kIntersectRatioMax = 8;

using Plan = QueryEngine::Plan;

std::unique_ptr<Plan> Leaf(std::string label, size_t estimate, bool exact,
                           std::function<void(std::vector<RowHandle>*)> fetch) {
  auto p = std::make_unique<Plan>();
  p->kind = Plan::Kind::kLeaf;
  p->label = std::move(label);
  p->estimate = estimate;
  p->exact = exact;
  p->fetch = std::move(fetch);
  return p;
}

std::unique_ptr<Plan> FromPostings(std::string label, const Postings* postings) {
  return Leaf(std::move(label), postings ? postings->size() : 0, true,
              [postings](std::vector<RowHandle>* out) {
                if (postings) postings->AppendTo(out);
              });
}

size_t CountRange(const NavigableIndex::Range& r, size_t cap) {
  size_t n = 0;
  for (auto it = r.first; it != r.last && n < cap; ++it) ++n;
  return n;
}

std::unique_ptr<Plan> FromRanges(std::string label, std::vector<NavigableIndex::Range> ranges,
                                 size_t rows) {
  size_t estimate = 0;
  bool capped = false;
  for (const auto& r : ranges) {
    const size_t n = CountRange(r, kCountCap);
    capped = capped || n == kCountCap;
    estimate += n;
  }
  if (capped) estimate = std::max(estimate, rows / 4);
  return Leaf(std::move(label), estimate, true, [ranges](std::vector<RowHandle>* out) {
    for (const auto& r : ranges) {
      for (auto it = r.first; it != r.last; ++it) out->push_back(it->handle);
    }
    Canonicalize(out);
  });
}

// A node's Explain label, formatted only when asked for (`make` returns it).
template <typename F>
std::string Label(bool labels, const F& make) {
  return labels ? make() : std::string();
}

std::string Args(const Predicate& p) {
  std::string out;
  for (const Value& v : p.args) out += (out.empty() ? "" : ", ") + ValueToString(v);
  return out;
}

}  // namespace

const Index* QueryEngine::FindIndex(IndexKind kind, const std::string& field) const {
  for (const auto& index : indexes_) {
    if (index->kind() == kind && index->fields().size() == 1 && index->fields()[0] == field) {
      return index.get();
    }
  }
  return nullptr;
}

const NavigableIndex* QueryEngine::SortIndex(const Query& q) const {
  if (q.sort.empty()) return nullptr;
  return static_cast<const NavigableIndex*>(FindIndex(IndexKind::kNavigable, q.sort[0].field));
}

std::vector<RowHandle> QueryEngine::AllHandles() const {
  std::vector<RowHandle> out;
  out.reserve(live_rows_);
  for (size_t h = 0; h < rows_.size(); ++h) {
    if (rows_[h].live) out.push_back(static_cast<RowHandle>(h));
  }
  return out;
}

std::unique_ptr<Plan> QueryEngine::PlanPredicate(const Predicate& p, bool labels) const {
  const auto complement = [&](std::unique_ptr<Plan> child) -> std::unique_ptr<Plan> {
    if (!child || !child->exact) return nullptr;
    auto plan = std::make_unique<Plan>();
    plan->kind = Plan::Kind::kComplement;
    plan->label = "complement";
    plan->estimate = live_rows_ - std::min(live_rows_, child->estimate);
    plan->children.push_back(std::move(child));
    return plan;
  };
  switch (p.op) {
    case Op::kAll: {
      auto plan = std::make_unique<Plan>();
      plan->kind = Plan::Kind::kAllRows;
      plan->label = "all rows";
      plan->estimate = live_rows_;
      return plan;
    }
    case Op::kAnd:
      return PlanAnd(p, labels);
    case Op::kOr: {
      auto plan = std::make_unique<Plan>();
      plan->kind = Plan::Kind::kUnion;
      plan->label = "union";
      for (const Predicate& c : p.children) {
        std::unique_ptr<Plan> child = PlanPredicate(c, labels);
        if (!child) return nullptr;  // One unindexable operand: the OR needs a scan.
        plan->estimate += child->estimate;
        plan->exact = plan->exact && child->exact;
        plan->children.push_back(std::move(child));
      }
      plan->estimate = std::min(plan->estimate, live_rows_);
      return plan;
    }
    case Op::kNot:
      return complement(PlanPredicate(p.children[0], labels));
    default:
      break;
  }
  const std::string& f = p.field;
  const auto* hash = static_cast<const HashIndex*>(FindIndex(IndexKind::kHash, f));
  const auto* nav = static_cast<const NavigableIndex*>(FindIndex(IndexKind::kNavigable, f));
  const auto* inv = static_cast<const InvertedIndex*>(FindIndex(IndexKind::kInverted, f));
  const Value null = std::monostate{};
  switch (p.op) {
    case Op::kEq:
    case Op::kIsNull: {
      const Value& v = p.op == Op::kEq ? p.args[0] : null;
      if (hash)
        return FromPostings(
            Label(labels, [&] { return fmt::format("hash({}) = {}", f, ValueToString(v)); }),
            hash->Find(v));
      if (nav) {
        return FromRanges(
            Label(labels, [&] { return fmt::format("navigable({}) = {}", f, ValueToString(v)); }),
            {nav->Equal(v)}, live_rows_);
      }
      return nullptr;
    }
    case Op::kNeq:
    case Op::kIsNotNull: {
      Predicate eq = p.op == Op::kNeq ? Eq(f, p.args[0]) : IsNull(f);
      return complement(PlanPredicate(eq, labels));
    }
    case Op::kIn: {
      if (hash) {
        std::vector<const Postings*> lists;
        size_t estimate = 0;
        for (const Value& v : p.args) {
          if (const Postings* postings = hash->Find(v)) {
            lists.push_back(postings);
            estimate += postings->size();
          }
        }
        return Leaf(Label(labels, [&] { return fmt::format("hash({}) in [{}]", f, Args(p)); }),
                    estimate, true, [lists](std::vector<RowHandle>* out) {
                      for (const Postings* l : lists) l->AppendTo(out);
                      Canonicalize(out);
                    });
      }
      if (nav) {
        std::vector<NavigableIndex::Range> ranges;
        for (const Value& v : p.args) ranges.push_back(nav->Equal(v));
        return FromRanges(
            Label(labels, [&] { return fmt::format("navigable({}) in [{}]", f, Args(p)); }),
            std::move(ranges), live_rows_);
      }
      return nullptr;
    }
    case Op::kGt:
    case Op::kGte:
      if (!nav) return nullptr;
      return FromRanges(Label(labels,
                              [&] {
                                return fmt::format("navigable({}) {} {}", f,
                                                   p.op == Op::kGt ? ">" : ">=", Args(p));
                              }),
                        {nav->AtLeast(p.args[0], p.op == Op::kGte)}, live_rows_);
    case Op::kLt:
    case Op::kLte:
      if (!nav) return nullptr;
      return FromRanges(Label(labels,
                              [&] {
                                return fmt::format("navigable({}) {} {}", f,
                                                   p.op == Op::kLt ? "<" : "<=", Args(p));
                              }),
                        {nav->AtMost(p.args[0], p.op == Op::kLte)}, live_rows_);
    case Op::kBetween:
      if (!nav) return nullptr;
      return FromRanges(
          Label(labels, [&] { return fmt::format("navigable({}) between {}", f, Args(p)); }),
          {nav->Between(p.args[0], true, p.args[1], true)}, live_rows_);
    case Op::kMatch:
    case Op::kMatchPrefix:
    case Op::kContains: {
      if (!inv) return nullptr;
      const std::string& text = std::get<std::string>(p.args[0]);
      std::vector<std::string> exact_tokens =
          p.op == Op::kContains ? InnerTokens(text) : Tokenize(text);
      if (exact_tokens.empty()) {
        if (p.op == Op::kContains) return nullptr;  // Nothing to narrow by.
        return Leaf(Label(labels, [&] { return fmt::format("inverted({}) no tokens", f); }), 0,
                    true, [](auto*) {});
      }
      std::optional<std::string> prefix;
      if (p.op == Op::kMatchPrefix) {
        prefix = std::move(exact_tokens.back());
        exact_tokens.pop_back();
      }
      std::vector<const Postings*> lists;
      size_t estimate = SIZE_MAX;
      bool missing = false;
      for (const std::string& t : exact_tokens) {
        const Postings* postings = inv->Find(t);
        missing = missing || postings == nullptr;
        if (postings) lists.push_back(postings);
        estimate = std::min(estimate, postings ? postings->size() : 0);
      }
      std::vector<const Postings*> prefixed;
      if (prefix) {
        size_t sum = 0;
        for (auto [it, last] = inv->PrefixRange(*prefix); it != last; ++it) {
          prefixed.push_back(&it->second);
          sum += it->second.size();
        }
        estimate = std::min(estimate, sum);
      }
      if (missing) estimate = 0;
      std::string label = Label(labels, [&] {
        std::string text =
            fmt::format("inverted({}) tokens [{}]", f, fmt::join(exact_tokens, ", "));
        if (prefix) text += fmt::format(" prefix \"{}\"", *prefix);
        return text;
      });
      return Leaf(
          std::move(label), std::min(estimate, live_rows_), p.op != Op::kContains,
          [lists, prefixed, missing, has_prefix = prefix.has_value()](std::vector<RowHandle>* out) {
            if (missing) return;
            std::vector<RowHandle> acc;
            bool first = true;
            for (const Postings* l : lists) {
              std::vector<RowHandle> next;
              l->AppendTo(&next);
              acc = first ? std::move(next) : IntersectSorted(acc, next);
              first = false;
            }
            if (has_prefix) {
              std::vector<RowHandle> any;
              for (const Postings* l : prefixed) l->AppendTo(&any);
              Canonicalize(&any);
              acc = first ? std::move(any) : IntersectSorted(acc, any);
            }
            out->insert(out->end(), acc.begin(), acc.end());
          });
    }
    default:
      return nullptr;  // like, containsAll, containsAny: filtered.
  }
}

std::unique_ptr<Plan> QueryEngine::PlanAnd(const Predicate& p, bool labels) const {
  std::vector<std::unique_ptr<Plan>> operands;
  std::vector<bool> covered(p.children.size(), false);
  // Compound indexes: usable when every field has an eq operand.
  for (const auto& index : indexes_) {
    if (index->kind() != IndexKind::kCompound) continue;
    std::vector<Value> values;
    std::vector<size_t> used;
    for (const std::string& f : index->fields()) {
      for (size_t i = 0; i < p.children.size(); ++i) {
        const Predicate& c = p.children[i];
        if (c.op == Op::kEq && c.field == f) {
          values.push_back(c.args[0]);
          used.push_back(i);
          break;
        }
      }
    }
    if (values.size() != index->fields().size()) continue;
    std::string label = Label(labels, [&] {
      std::string text = fmt::format("compound({}) = (", fmt::join(index->fields(), ", "));
      for (size_t i = 0; i < values.size(); ++i) text += (i ? ", " : "") + ValueToString(values[i]);
      return text + ")";
    });
    operands.push_back(FromPostings(std::move(label),
                                    static_cast<const CompoundIndex*>(index.get())->Find(values)));
    for (size_t i : used) covered[i] = true;
  }
  size_t unindexed = 0;
  for (size_t i = 0; i < p.children.size(); ++i) {
    if (covered[i]) continue;
    std::unique_ptr<Plan> child = PlanPredicate(p.children[i], labels);
    if (child) {
      operands.push_back(std::move(child));
    } else {
      ++unindexed;
    }
  }
  if (operands.empty()) return nullptr;
  std::stable_sort(operands.begin(), operands.end(),
                   [](const auto& a, const auto& b) { return a->estimate < b->estimate; });
  auto plan = std::make_unique<Plan>();
  plan->kind = Plan::Kind::kIntersect;
  plan->label = "intersect";
  plan->estimate = operands[0]->estimate;
  plan->filtered_operands = unindexed;
  const size_t driver = operands[0]->estimate;
  for (auto& operand : operands) {
    const bool fetch =
        plan->children.empty() || operand->estimate <= kIntersectRatioMax * driver + 64;
    if (!fetch) {
      ++plan->filtered_operands;
      continue;
    }
    plan->exact = plan->exact && operand->exact;
    plan->children.push_back(std::move(operand));
  }
  plan->exact = plan->exact && plan->filtered_operands == 0;
  if (plan->children.size() == 1 && plan->filtered_operands == 0)
    return std::move(plan->children[0]);
  return plan;
}

std::vector<RowHandle> QueryEngine::Execute(const Plan& plan) const {
  switch (plan.kind) {
    case Plan::Kind::kAllRows:
      return AllHandles();
    case Plan::Kind::kLeaf: {
      std::vector<RowHandle> out;
      out.reserve(plan.estimate);
      plan.fetch(&out);
      return out;
    }
    case Plan::Kind::kIntersect: {
      std::vector<RowHandle> acc = Execute(*plan.children[0]);
      for (size_t i = 1; i < plan.children.size() && !acc.empty(); ++i) {
        acc = IntersectSorted(acc, Execute(*plan.children[i]));
      }
      return acc;
    }
    case Plan::Kind::kUnion: {
      std::vector<RowHandle> acc;
      for (const auto& child : plan.children) acc = UnionSorted(acc, Execute(*child));
      return acc;
    }
    case Plan::Kind::kComplement: {
      const std::vector<RowHandle> excluded = Execute(*plan.children[0]);
      std::vector<RowHandle> out;
      out.reserve(live_rows_ - std::min(live_rows_, excluded.size()));
      size_t j = 0;
      for (size_t h = 0; h < rows_.size(); ++h) {
        if (!rows_[h].live) continue;
        while (j < excluded.size() && excluded[j] < h) ++j;
        if (j < excluded.size() && excluded[j] == h) continue;
        out.push_back(static_cast<RowHandle>(h));
      }
      return out;
    }
  }
  SG_ASSERT(false);
}

std::string QueryEngine::DescribePlan(const Plan& plan, int indent) const {
  std::string out = fmt::format("{:{}}{} (est {} rows{})\n", "", indent * 2, plan.label,
                                plan.estimate, plan.exact ? "" : ", then filter");
  if (plan.filtered_operands > 0) {
    out += fmt::format("{:{}}+ {} operand(s) checked by the filter\n", "", indent * 2 + 2,
                       plan.filtered_operands);
  }
  for (const auto& child : plan.children) out += DescribePlan(*child, indent + 1);
  return out;
}

}  // namespace seedgrid
