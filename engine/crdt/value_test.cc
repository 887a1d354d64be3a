#include "engine/crdt/value.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <xxhash.h>

#include <cmath>
#include <limits>
#include <map>
#include <string>

#include "engine/crdt/flat_bytes.h"

namespace seedgrid {
namespace {

TEST(Document, FieldsAreSortedAndReplaced) {
  Document d{{"b", int64_t{1}}, {"a", std::string("x")}};
  d.Set("b", 2.5);
  d.Set("c", StringList{"p", "q"});
  EXPECT_EQ(d.ToString(), R"({"a": "x", "b": 2.5, "c": ["p", "q"]})");
  ASSERT_TRUE(d.Get("b").has_value());
  EXPECT_EQ(d.Get("b")->double_value(), 2.5);
  EXPECT_FALSE(d.Get("zz").has_value());
  EXPECT_TRUE(d.Erase("a"));
  EXPECT_FALSE(d.Erase("a"));
  EXPECT_EQ(d.size(), 2u);
}

TEST(Document, EqualityAndDigestIgnoreInsertionOrder) {
  Document a{{"x", int64_t{1}}, {"y", true}};
  Document b{{"y", true}, {"x", int64_t{1}}};
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.Digest(), b.Digest());
}

TEST(Document, DigestSeparatesTypesAndValues) {
  // int 1, double 1.0, bool true, string "1", null, list ["1"] all differ.
  std::vector<Value> values{
      int64_t{1},      1.0,          true,           std::string("1"), std::monostate{},
      StringList{"1"}, StringList{}, std::string("")};
  for (size_t i = 0; i < values.size(); ++i) {
    for (size_t j = 0; j < values.size(); ++j) {
      Document a{{"f", values[i]}}, b{{"f", values[j]}};
      EXPECT_EQ(a == b, i == j) << i << " " << j;
      EXPECT_EQ(a.Digest() == b.Digest(), i == j) << i << " " << j;
    }
  }
  // Field boundaries are length-prefixed: {"ab": "c"} != {"a": "bc"}.
  EXPECT_NE((Document{{"ab", std::string("c")}}).Digest(),
            (Document{{"a", std::string("bc")}}).Digest());
}

TEST(Document, DoublesCompareByBits) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ((Document{{"f", nan}}), (Document{{"f", nan}}));
  EXPECT_NE((Document{{"f", 0.0}}), (Document{{"f", -0.0}}));
  EXPECT_NE((Document{{"f", 0.0}}).Digest(), (Document{{"f", -0.0}}).Digest());
}

TEST(Document, DigestIsStableAcrossBuilds) {
  // Pinned: a change here changes every Merkle root and breaks saved repro files.
  const Document d{{"name", std::string("café")}, {"n", int64_t{-7}}, {"tags", StringList{"a"}}};
  EXPECT_EQ(d.Digest(), 0xc09aece2ccd9b2caULL) << std::hex << d.Digest();
}

// A digest inside, at the edge of and past DigestWriter's 2 KiB inline buffer is XXH3 of the
// same canonical bytes. The record is 16 bytes plus the string: 2,031-2,033 make it 2,047-2,049
// bytes (a field that spills whole), and a second field after a long first one spills a
// fixed-size write (the value's type byte and length) as well.
TEST(Document, DigestOfALargeDocumentIsTheHashOfItsCanonicalBytes) {
  const auto u32 = [](std::string& bytes, uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<char>(v >> (8 * i)));
  };
  const auto field = [&](std::string& bytes, const std::string& name, const std::string& text) {
    u32(bytes, static_cast<uint32_t>(name.size()));
    bytes += name;
    bytes.push_back(static_cast<char>(ValueType::kString));
    u32(bytes, static_cast<uint32_t>(text.size()));
    bytes += text;
  };
  for (const size_t size : {300, 2031, 2032, 2033, 3000, 70000}) {
    const std::string text(size, 'x');
    std::string one;
    u32(one, 1);
    field(one, "big", text);
    EXPECT_EQ((Document{{"big", text}}.Digest()), XXH3_64bits(one.data(), one.size())) << size;
    std::string two;
    u32(two, 2);
    field(two, "big", text);
    field(two, "more", "y");
    EXPECT_EQ((Document{{"big", text}, {"more", std::string("y")}}.Digest()),
              XXH3_64bits(two.data(), two.size()))
        << size;
  }
}

// Names the pool holds and names it does not (longer than kPoolNameBytesMax: stored inline).
rc::Gen<std::string> GenName() {
  return rc::gen::oneOf(rc::gen::element<std::string>("", "a", "b", "city", "é", "z"),
                        rc::gen::map(rc::gen::inRange(0, 3), [](int i) {
                          return std::string(FieldName::kPoolNameBytesMax + 1 + i, 'n');
                        }));
}

rc::Gen<Value> GenAnyValue() {
  return rc::gen::oneOf(
      rc::gen::just(Value(std::monostate{})),
      rc::gen::map(rc::gen::arbitrary<bool>(), [](bool b) { return Value(b); }),
      rc::gen::map(rc::gen::arbitrary<int64_t>(), [](int64_t i) { return Value(i); }),
      rc::gen::map(rc::gen::arbitrary<double>(), [](double d) { return Value(d); }),
      rc::gen::map(rc::gen::arbitrary<std::string>(), [](std::string s) { return Value(s); }),
      rc::gen::map(rc::gen::container<StringList>(rc::gen::arbitrary<std::string>()),
                   [](StringList l) { return Value(l); }));
}

// A Document behaves as a sorted map of names to Values, whatever sequence of Set and Erase built
// it, and agrees with the same fields built in one go (equality, digest, bytes of the encoding).
RC_GTEST_PROP(Document, FlatEncodingIsASortedMapOfValues, ()) {
  Document doc;
  std::map<std::string, Value> model;
  const int steps = *rc::gen::inRange(0, 24);
  for (int i = 0; i < steps; ++i) {
    const std::string name = *GenName();
    if (*rc::gen::inRange(0, 4) == 0) {
      RC_ASSERT(doc.Erase(name) == (model.erase(name) == 1));
    } else {
      const Value v = *GenAnyValue();
      doc.Set(name, v);
      model[name] = v;
    }
  }
  RC_ASSERT(doc.size() == model.size());
  auto it = model.begin();
  for (const auto [name, value] : doc) {
    RC_ASSERT(name == it->first);
    RC_ASSERT(ValueEquals(value, it->second));
    RC_ASSERT(value.ToValue() == it->second || TypeOf(it->second) == ValueType::kDouble);
    const std::optional<ValueView> got = doc.Get(name);
    RC_ASSERT(got.has_value() && ValueEquals(*got, it->second));
    ++it;
  }
  RC_ASSERT(!doc.Get("absent-name").has_value());
  std::vector<Document::Field> fields;
  for (const auto& [name, value] : model) fields.emplace_back(FieldName(name), value);
  std::reverse(fields.begin(), fields.end());  // Order given does not matter.
  const Document built(std::move(fields));
  RC_ASSERT(built == doc);
  RC_ASSERT(built.Digest() == doc.Digest());
  RC_ASSERT(built.encoded_bytes() == doc.encoded_bytes());
  const Document copy = doc;
  RC_ASSERT(copy == doc);
  RC_ASSERT(copy.ToString() == doc.ToString());
}

TEST(Document, LaterFieldsOfTheSameNameWin) {
  const Document d(
      std::vector<Document::Field>{{"a", int64_t{1}}, {"b", true}, {"a", std::string("second")}});
  EXPECT_EQ(d.ToString(), R"({"a": "second", "b": true})");
}

TEST(Document, ABlockOver64KiBTakesTheWideLayoutAndBack) {
  const std::string big(70'000, 'x');
  const std::string long_name(FieldName::kPoolNameBytesMax + 1, 'n');
  Document d{{"a", int64_t{1}}, {long_name, StringList{"p", big}}, {"z", std::string("last")}};
  EXPECT_GT(d.encoded_bytes(), 70'000u);
  EXPECT_EQ(d.Get(long_name)->list_value().ToList(), (StringList{"p", big}));
  EXPECT_EQ(d.Get("z")->string_value(), "last");
  d.Set("b", big);
  const Document built{
      {"z", std::string("last")}, {"b", big}, {long_name, StringList{"p", big}}, {"a", int64_t{1}}};
  EXPECT_EQ(d, built);
  EXPECT_EQ(d.Digest(), built.Digest());
  EXPECT_TRUE(d.Erase("b"));
  EXPECT_TRUE(d.Erase(long_name));
  EXPECT_LT(d.encoded_bytes(), 40u);  // Narrow again.
  EXPECT_EQ(d.ToString(), R"({"a": 1, "z": "last"})");
}

// The largest narrow block is 65,535 bytes; one more byte of value makes it wide. An inline name
// whose text sits at the end of a full narrow block is read back through its 16-bit offset.
TEST(Document, TheNarrowLayoutEndsAt64KiB) {
  const std::string long_name(FieldName::kPoolNameBytesMax + 1, 'n');
  for (const size_t extra : {0, 1}) {
    // 5 header + 2 x 4 entries + 2 tags + (3 + L) string + (2 + 129) inline name + 8 int = 157 + L.
    const std::string big(65'378 + extra, 'x');
    const Document d{{"a", big}, {long_name, int64_t{7}}};
    EXPECT_EQ(d.encoded_bytes(), extra == 0 ? 65'535u : 65'536u + 4 + 2 * 4) << extra;
    EXPECT_EQ(d.Get("a")->string_value(), big);
    EXPECT_EQ(d.Get(long_name)->int_value(), 7);
    EXPECT_EQ(d.Get(FieldName(long_name))->int_value(), 7);
    EXPECT_EQ(d, (Document{{long_name, int64_t{7}}, {"a", big}}));
  }
}

// Get by an interned name (a scan of pool slots) agrees with Get by text, for pooled names, inline
// names and absent ones.
TEST(Document, GetByFieldNameAgreesWithGetByText) {
  const std::string long_name(FieldName::kPoolNameBytesMax + 3, 'q');
  const Document d{{"b", int64_t{2}}, {long_name, true}, {"a", std::string("x")}};
  for (const std::string& name :
       {std::string("a"), std::string("b"), long_name, std::string("absent"), std::string("")}) {
    const std::optional<ValueView> by_text = d.Get(std::string_view(name));
    const std::optional<ValueView> by_name = d.Get(FieldName(name));
    ASSERT_EQ(by_text.has_value(), by_name.has_value()) << name;
    if (by_text) {
      EXPECT_TRUE(ValueEquals(*by_text, *by_name)) << name;
    }
  }
}

// An inline name's 16-bit offset can equal some pooled name's slot: a lookup by slot must skip
// inline names. The document is laid out so that its inline name sits exactly at that offset.
TEST(Document, AnInlineNameIsNeverTakenForAPoolSlot) {
  const std::string long_name(FieldName::kPoolNameBytesMax + 1, 'n');
  int checked = 0;
  for (const char* text : {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"}) {
    const uint32_t slot = FieldName(text).pool_slot();
    if (slot == FieldName::kNoSlot || slot < 32 || slot > 60'000) continue;
    // Narrow, 2 fields: values start at 5 + 2 x 4 + 2 = 15; "0"'s string (prefix + L) comes first.
    size_t length = 0;
    for (size_t prefix = 1; prefix <= 3; ++prefix) {
      length = slot - 15 - prefix;
      if (flat::VarintBytes(static_cast<uint32_t>(length)) == prefix) break;
    }
    const Document d{{"0", std::string(length, 'x')}, {long_name, int64_t{5}}};
    ASSERT_LT(d.encoded_bytes(), 65'536u);
    EXPECT_FALSE(d.Get(FieldName(text)).has_value()) << text << " slot " << slot;
    EXPECT_EQ(d.Get(FieldName(long_name))->int_value(), 5);
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

TEST(Document, AnEmptyDocumentHasNoBlock) {
  Document d{{"a", int64_t{1}}};
  EXPECT_GT(d.encoded_bytes(), 0u);
  EXPECT_TRUE(d.Erase("a"));
  EXPECT_EQ(d.encoded_bytes(), 0u);
  EXPECT_EQ(d, Document());
  EXPECT_EQ(d.Digest(), Document().Digest());
  EXPECT_FALSE(d.Get("a").has_value());
  EXPECT_FALSE(d.Get(FieldName("a")).has_value());  // No block to read (UBSan checks).
}

TEST(Document, AnEightFieldRecordTakesAbout120Bytes) {
  // The memory benchmark's record shape (docs/performance.md, issue 19).
  const Document d{{"id", int64_t{123456}},
                   {"name", std::string("user-123456")},
                   {"email", std::string("user123456@example.com")},
                   {"age", int64_t{42}},
                   {"score", 1234.5},
                   {"city", std::string("city-42")},
                   {"status", std::string("status-7")},
                   {"active", true}};
  // Narrow: 5 (format, size, count) + 8 x 4 (entries) + 8 (tags) + 76 of values (three 8-byte
  // numbers; four strings of 11, 22, 7 and 8 bytes, each after a 1-byte length; a bool in its tag).
  EXPECT_EQ(d.encoded_bytes(), 121u);
  EXPECT_EQ(d.Get("email")->string_value(), "user123456@example.com");
  EXPECT_TRUE(d.Get("active")->bool_value());
}

}  // namespace
}  // namespace seedgrid
