// Secondary indexes over the rows of an indexed map. Every index covers every live row (a missing
// field is indexed as null), so an index lookup is an exact answer for the operators it serves;
// QueryEngine keeps them exact on every change and the planner picks among them by cost.
//
//   HashIndex(f)          eq, in, isNull, isNotNull (complement), neq (complement)
//   NavigableIndex(f)     eq, in, gt/gte/lt/lte, between, isNull, and ordered walks for sort
//   CompoundIndex(f1..n)  eq on all of f1..fn at once (inside an `and`)
//   InvertedIndex(f)      match / matchPrefix exactly; a candidate superset for contains
//
// Lookups return handles in ascending order. Hash containers here are lookup-only: nothing
// observable iterates them (results are in result order or ascending handle order: query_engine.h).
#ifndef SEEDGRID_ENGINE_QUERY_INDEXES_H_
#define SEEDGRID_ENGINE_QUERY_INDEXES_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "engine/crdt/value.h"
#include "engine/query/index_value.h"
#include "engine/query/postings.h"
#include "engine/query/value_order.h"

namespace seedgrid {

enum class IndexKind : uint8_t { kHash, kNavigable, kCompound, kInverted };
std::string_view IndexKindName(IndexKind kind);

class Index {
 public:
  virtual ~Index() = default;
  virtual IndexKind kind() const = 0;
  // The indexed fields (one, except for compound indexes).
  virtual const std::vector<std::string>& fields() const = 0;
  virtual void Insert(RowHandle h, const Document& doc) = 0;
  virtual void Erase(RowHandle h, const Document& doc) = 0;
  // True when the entries for `a` and `b` would be identical (an update can skip the index).
  bool SameKeys(const Document& a, const Document& b) const;
  virtual size_t ApproxBytes() const = 0;
  std::string Describe() const;
};

class HashIndex final : public Index {
 public:
  explicit HashIndex(std::string field) : fields_{std::move(field)}, name_(fields_[0]) {}
  IndexKind kind() const override { return IndexKind::kHash; }
  const std::vector<std::string>& fields() const override { return fields_; }
  void Insert(RowHandle h, const Document& doc) override;
  void Erase(RowHandle h, const Document& doc) override;
  size_t ApproxBytes() const override;

  // Rows whose field equals `v` under query equality (nullptr when none).
  const Postings* Find(const Value& v) const;

 private:
  std::vector<std::string> fields_;
  FieldName name_;  // fields_[0], interned: documents are read by pool slot.
  // sg:lookup-only
  absl::flat_hash_map<Value, Postings, NormalizedValueHash, NormalizedValueEq> map_;
};

class NavigableIndex final : public Index {
 public:
  // 24 bytes: the value in 16 (numbers inline), the row handle.
  struct Entry {
    IndexValue value;
    RowHandle handle;
  };
  // A value to look for, borrowed (no copy into an IndexValue).
  struct Probe {
    ValueView value;
    RowHandle handle;
  };
  struct EntryLess {
    using is_transparent = void;
    static ValueView ViewOf(const Entry& e) { return e.value.view(); }
    static ValueView ViewOf(const Probe& p) { return p.value; }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      const int c = CompareValues(ViewOf(a), ViewOf(b));
      return c != 0 ? c < 0 : a.handle < b.handle;
    }
  };
  using Set = absl::btree_set<Entry, EntryLess>;

  explicit NavigableIndex(std::string field) : fields_{std::move(field)}, name_(fields_[0]) {}
  IndexKind kind() const override { return IndexKind::kNavigable; }
  const std::vector<std::string>& fields() const override { return fields_; }
  void Insert(RowHandle h, const Document& doc) override;
  void Erase(RowHandle h, const Document& doc) override;
  size_t ApproxBytes() const override;

  // [first, last) of the entries whose value v satisfies lo (<= or <) v (<= or <) hi, where a
  // missing bound is "the start / end of lo's (or hi's) class".
  struct Range {
    Set::const_iterator first, last;
  };
  Range Between(const Value& lo, bool lo_inclusive, const Value& hi, bool hi_inclusive) const;
  Range Equal(const Value& v) const { return Between(v, true, v, true); }
  Range AtLeast(const Value& lo, bool inclusive) const;  // Up to the end of lo's class.
  Range AtMost(const Value& hi, bool inclusive) const;   // From the start of hi's class.
  const Set& set() const { return set_; }

 private:
  std::vector<std::string> fields_;
  FieldName name_;  // fields_[0], interned.
  Set set_;
};

class CompoundIndex final : public Index {
 public:
  explicit CompoundIndex(std::vector<std::string> fields)
      : fields_(std::move(fields)), names_(fields_.begin(), fields_.end()) {}
  IndexKind kind() const override { return IndexKind::kCompound; }
  const std::vector<std::string>& fields() const override { return fields_; }
  void Insert(RowHandle h, const Document& doc) override;
  void Erase(RowHandle h, const Document& doc) override;
  size_t ApproxBytes() const override;

  // `values` in fields() order.
  const Postings* Find(const std::vector<Value>& values) const;

 private:
  struct KeyHash {
    size_t operator()(const std::vector<Value>& k) const;
  };
  struct KeyEq {
    bool operator()(const std::vector<Value>& a, const std::vector<Value>& b) const;
  };
  std::vector<Value> KeyOf(const Document& doc) const;

  std::vector<std::string> fields_;
  std::vector<FieldName> names_;  // fields_, interned.
  // sg:lookup-only
  absl::flat_hash_map<std::vector<Value>, Postings, KeyHash, KeyEq> map_;
};

class InvertedIndex final : public Index {
 public:
  using Tokens = absl::btree_map<std::string, Postings>;
  explicit InvertedIndex(std::string field) : fields_{std::move(field)}, name_(fields_[0]) {}
  IndexKind kind() const override { return IndexKind::kInverted; }
  const std::vector<std::string>& fields() const override { return fields_; }
  void Insert(RowHandle h, const Document& doc) override;
  void Erase(RowHandle h, const Document& doc) override;
  size_t ApproxBytes() const override;

  const Postings* Find(const std::string& token) const;
  // Every (token, postings) whose token starts with `prefix`, in token order.
  std::pair<Tokens::const_iterator, Tokens::const_iterator> PrefixRange(
      const std::string& prefix) const;

 private:
  std::vector<std::string> fields_;
  FieldName name_;  // fields_[0], interned.
  Tokens tokens_;
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_QUERY_INDEXES_H_
