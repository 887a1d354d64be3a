#include "engine/query/indexes.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "engine/base/assert.h"
#include "engine/query/matcher.h"
#include "engine/query/text.h"

namespace seedgrid {

namespace {

// The smallest value of each class, so ranges can stop at a class boundary.
Value ClassStart(ValueClass c) {
  switch (c) {
    case ValueClass::kNull:
      return std::monostate{};
    case ValueClass::kBool:
      return false;
    case ValueClass::kNumber:
      return -std::numeric_limits<double>::infinity();
    case ValueClass::kString:
      return std::string();
    case ValueClass::kList:
      return StringList();
  }
  SG_ASSERT(false);
}

size_t ValueBytes(const Value& v) {
  size_t bytes = sizeof(Value);
  if (const auto* s = std::get_if<std::string>(&v); s && s->size() > 15) bytes += s->capacity();
  if (const auto* l = std::get_if<StringList>(&v)) {
    for (const auto& e : *l) bytes += sizeof(std::string) + (e.size() > 15 ? e.capacity() : 0);
  }
  return bytes;
}

}  // namespace

std::string_view IndexKindName(IndexKind kind) {
  switch (kind) {
    case IndexKind::kHash:
      return "hash";
    case IndexKind::kNavigable:
      return "navigable";
    case IndexKind::kCompound:
      return "compound";
    case IndexKind::kInverted:
      return "inverted";
  }
  SG_ASSERT(false);
}

bool Index::SameKeys(const Document& a, const Document& b) const {
  for (const std::string& f : fields()) {
    if (!ValueEquals(Matcher::FieldValue(a, f), Matcher::FieldValue(b, f))) return false;
  }
  return true;
}

std::string Index::Describe() const {
  std::string out = fmt::format("{}(", IndexKindName(kind()));
  for (size_t i = 0; i < fields().size(); ++i) out += (i > 0 ? ", " : "") + fields()[i];
  return out + ")";
}

// --- HashIndex ---

void HashIndex::Insert(RowHandle h, const Document& doc) {
  const bool inserted = map_[NormalizeForEq(Matcher::FieldValue(doc, name_))].Insert(h);
  SG_ASSERT(inserted);
}

void HashIndex::Erase(RowHandle h, const Document& doc) {
  auto it = map_.find(NormalizedView(Matcher::FieldValue(doc, name_)));
  SG_ASSERT(it != map_.end());
  const bool erased = it->second.Erase(h);
  SG_ASSERT(erased);
  if (it->second.empty()) map_.erase(it);
}

const Postings* HashIndex::Find(const Value& v) const {
  auto it = map_.find(NormalizedView(v));
  return it == map_.end() ? nullptr : &it->second;
}

size_t HashIndex::ApproxBytes() const {
  size_t bytes = sizeof(*this) + map_.capacity() * (sizeof(Value) + sizeof(Postings) + 1);
  for (const auto& [value, postings] : map_) {
    bytes += ValueBytes(value) - sizeof(Value) + postings.ApproxBytes() - sizeof(Postings);
  }
  return bytes;
}

// --- NavigableIndex ---

void NavigableIndex::Insert(RowHandle h, const Document& doc) {
  const bool inserted = set_.insert({IndexValue(Matcher::FieldValue(doc, name_)), h}).second;
  SG_ASSERT(inserted);
}

void NavigableIndex::Erase(RowHandle h, const Document& doc) {
  const size_t erased = set_.erase(Probe{Matcher::FieldValue(doc, name_), h});
  SG_ASSERT(erased == 1);
}

NavigableIndex::Range NavigableIndex::Between(const Value& lo, bool lo_inclusive, const Value& hi,
                                              bool hi_inclusive) const {
  // Handles are below 2^32, so (v, 0) precedes and (v, max) follows every entry with value v.
  const RowHandle kMax = std::numeric_limits<RowHandle>::max();
  Set::const_iterator first =
      lo_inclusive ? set_.lower_bound(Probe{lo, 0}) : set_.upper_bound(Probe{lo, kMax});
  Set::const_iterator last =
      hi_inclusive ? set_.upper_bound(Probe{hi, kMax}) : set_.lower_bound(Probe{hi, 0});
  if (CompareValues(lo, hi) > 0 || first == set_.end() ||
      (last != set_.end() && !EntryLess()(*first, *last))) {
    return {set_.end(), set_.end()};
  }
  return {first, last};
}

NavigableIndex::Range NavigableIndex::AtLeast(const Value& lo, bool inclusive) const {
  const RowHandle kMax = std::numeric_limits<RowHandle>::max();
  Set::const_iterator first =
      inclusive ? set_.lower_bound(Probe{lo, 0}) : set_.upper_bound(Probe{lo, kMax});
  const ValueClass c = ClassOf(lo);
  Set::const_iterator last =
      c == ValueClass::kList
          ? set_.end()
          : set_.lower_bound(
                Probe{ClassStart(static_cast<ValueClass>(static_cast<int>(c) + 1)), 0});
  if (first == set_.end() || (last != set_.end() && !EntryLess()(*first, *last))) {
    return {set_.end(), set_.end()};
  }
  return {first, last};
}

NavigableIndex::Range NavigableIndex::AtMost(const Value& hi, bool inclusive) const {
  const RowHandle kMax = std::numeric_limits<RowHandle>::max();
  Set::const_iterator first = set_.lower_bound(Probe{ClassStart(ClassOf(hi)), 0});
  Set::const_iterator last =
      inclusive ? set_.upper_bound(Probe{hi, kMax}) : set_.lower_bound(Probe{hi, 0});
  if (first == set_.end() || (last != set_.end() && !EntryLess()(*first, *last))) {
    return {set_.end(), set_.end()};
  }
  return {first, last};
}

size_t NavigableIndex::ApproxBytes() const {
  // btree leaves hold entries densely; ~1/0.8 fill factor plus node headers.
  size_t bytes = sizeof(*this) + set_.size() * sizeof(Entry) * 5 / 4;
  for (const Entry& e : set_) bytes += e.value.heap_bytes();
  return bytes;
}

// --- CompoundIndex ---

size_t CompoundIndex::KeyHash::operator()(const std::vector<Value>& k) const {
  uint64_t h = 0x9E3779B97F4A7C15ull;
  for (const Value& v : k) h = (h ^ HashNormalized(v)) * 0x100000001B3ull;
  return static_cast<size_t>(h);
}

bool CompoundIndex::KeyEq::operator()(const std::vector<Value>& a,
                                      const std::vector<Value>& b) const {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!ValueEquals(a[i], b[i])) return false;
  }
  return true;
}

std::vector<Value> CompoundIndex::KeyOf(const Document& doc) const {
  std::vector<Value> key;
  key.reserve(fields_.size());
  for (const FieldName& f : names_) key.push_back(NormalizeForEq(Matcher::FieldValue(doc, f)));
  return key;
}

void CompoundIndex::Insert(RowHandle h, const Document& doc) {
  const bool inserted = map_[KeyOf(doc)].Insert(h);
  SG_ASSERT(inserted);
}

void CompoundIndex::Erase(RowHandle h, const Document& doc) {
  auto it = map_.find(KeyOf(doc));
  SG_ASSERT(it != map_.end());
  const bool erased = it->second.Erase(h);
  SG_ASSERT(erased);
  if (it->second.empty()) map_.erase(it);
}

const Postings* CompoundIndex::Find(const std::vector<Value>& values) const {
  std::vector<Value> key;
  key.reserve(values.size());
  for (const Value& v : values) key.push_back(NormalizeForEq(v));
  auto it = map_.find(key);
  return it == map_.end() ? nullptr : &it->second;
}

size_t CompoundIndex::ApproxBytes() const {
  size_t bytes =
      sizeof(*this) + map_.capacity() * (sizeof(std::vector<Value>) + sizeof(Postings) + 1);
  for (const auto& [key, postings] : map_) {
    for (const Value& v : key) bytes += ValueBytes(v);
    bytes += postings.ApproxBytes() - sizeof(Postings);
  }
  return bytes;
}

// --- InvertedIndex ---

void InvertedIndex::Insert(RowHandle h, const Document& doc) {
  for (std::string& t : ValueTokens(Matcher::FieldValue(doc, name_))) {
    const bool inserted = tokens_[std::move(t)].Insert(h);
    SG_ASSERT(inserted);
  }
}

void InvertedIndex::Erase(RowHandle h, const Document& doc) {
  for (const std::string& t : ValueTokens(Matcher::FieldValue(doc, name_))) {
    auto it = tokens_.find(t);
    SG_ASSERT(it != tokens_.end());
    const bool erased = it->second.Erase(h);
    SG_ASSERT(erased);
    if (it->second.empty()) tokens_.erase(it);
  }
}

const Postings* InvertedIndex::Find(const std::string& token) const {
  auto it = tokens_.find(token);
  return it == tokens_.end() ? nullptr : &it->second;
}

std::pair<InvertedIndex::Tokens::const_iterator, InvertedIndex::Tokens::const_iterator>
InvertedIndex::PrefixRange(const std::string& prefix) const {
  auto first = tokens_.lower_bound(prefix);
  auto last = first;
  while (last != tokens_.end() && last->first.starts_with(prefix)) ++last;
  return {first, last};
}

size_t InvertedIndex::ApproxBytes() const {
  size_t bytes = sizeof(*this);
  for (const auto& [token, postings] : tokens_) {
    bytes +=
        sizeof(std::string) + (token.size() > 15 ? token.capacity() : 0) + postings.ApproxBytes();
  }
  return bytes * 5 / 4;
}

}  // namespace seedgrid
