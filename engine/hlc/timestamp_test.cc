#include "engine/hlc/timestamp.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

namespace seedgrid {
namespace {

TEST(Timestamp, OrdersByMillisThenCounterThenNodeIdBytewise) {
  EXPECT_LT((Timestamp{1, 9, "z"}), (Timestamp{2, 0, "a"}));
  EXPECT_LT((Timestamp{5, 1, "z"}), (Timestamp{5, 2, "a"}));
  EXPECT_LT((Timestamp{5, 2, "a"}), (Timestamp{5, 2, "b"}));
  EXPECT_LT((Timestamp{5, 2, "B"}), (Timestamp{5, 2, "a"}));  // 'B' = 0x42 < 'a' = 0x61.
  // Byte-wise means unsigned: UTF-8 lead byte 0xC3 sorts after ASCII.
  EXPECT_LT((Timestamp{5, 2, "z"}), (Timestamp{5, 2, "\xC3\xA9"}));
  EXPECT_EQ((Timestamp{5, 2, "a"}), (Timestamp{5, 2, "a"}));
}

// A departure from TopGun (localeCompare): canonically equivalent node ids are different ids.
TEST(Timestamp, CanonicallyEquivalentNodeIdsAreDifferentAndOrderedByBytes) {
  const Timestamp composed{5, 2, "\xC3\xA9"};     // é, U+00E9.
  const Timestamp decomposed{5, 2, "e\xCC\x81"};  // e + U+0301.
  EXPECT_NE(composed, decomposed);
  EXPECT_LT(decomposed, composed);  // 'e' = 0x65 < 0xC3.
}

// Node ids are interned (8 bytes per timestamp); a timestamp still behaves as its text, including
// for the longest valid id and for copies that outlive the original.
TEST(Timestamp, InternedNodeIdsBehaveAsText) {
  const std::string longest(255, 'z');
  ASSERT_TRUE(ValidateNodeId(longest).ok());
  Timestamp a{5, 1, longest};
  EXPECT_TRUE(a.node_id.interned());
  const Timestamp b{5, 1, std::string(longest)};
  EXPECT_EQ(a, b);
  const Timestamp copy = a;
  a.node_id = "n1";
  EXPECT_EQ(copy.node_id, longest);
  EXPECT_LT(a, copy);  // "n1" < "zzz...": byte order.
  EXPECT_EQ(copy.ToString(), "5:1:" + longest);
}

TEST(Timestamp, TextFormRoundTrips) {
  const Timestamp ts{1700000000123, 42, "node-7"};
  EXPECT_EQ(ts.ToString(), "1700000000123:42:node-7");
  EXPECT_EQ(*Timestamp::Parse("1700000000123:42:node-7"), ts);
  EXPECT_EQ(*Timestamp::Parse("18446744073709551615:4294967295:n"),
            (Timestamp{18446744073709551615ULL, 4294967295U, "n"}));
}

TEST(Timestamp, ParseRejectsBadTextWithClearErrors) {
  const auto message = [](std::string_view text) {
    auto result = Timestamp::Parse(text);
    EXPECT_FALSE(result.ok()) << text;
    return std::string(result.status().message());
  };
  EXPECT_EQ(message("12"), "timestamp '12': expected millis:counter:node_id");
  EXPECT_EQ(message("12:3"), "timestamp '12:3': expected millis:counter:node_id");
  EXPECT_EQ(message("x:3:n"), "timestamp 'x:3:n': millis 'x' is not a decimal uint64");
  EXPECT_EQ(message("-1:3:n"), "timestamp '-1:3:n': millis '-1' is not a decimal uint64");
  EXPECT_EQ(message("18446744073709551616:0:n"),
            "timestamp '18446744073709551616:0:n': millis '18446744073709551616' is not a "
            "decimal uint64");
  EXPECT_EQ(message("1:4294967296:n"),
            "timestamp '1:4294967296:n': counter '4294967296' is not a decimal uint32");
  EXPECT_EQ(message("1: 2:n"), "timestamp '1: 2:n': counter ' 2' is not a decimal uint32");
  EXPECT_EQ(message("1:2:"), "timestamp '1:2:': node id must not be empty");
  EXPECT_EQ(message("01:0:a"), "timestamp '01:0:a': millis '01' is not a decimal uint64");
  EXPECT_EQ(message("1:00:a"), "timestamp '1:00:a': counter '00' is not a decimal uint32");
  EXPECT_TRUE(Timestamp::Parse("0:0:a").ok());
  EXPECT_EQ(message("1:2:a:b"), "timestamp '1:2:a:b': node id 'a:b' contains ':'");
}

RC_GTEST_PROP(Timestamp, ParseOfToStringIsIdentity, (uint64_t millis, uint32_t counter)) {
  const std::string node = *rc::gen::nonEmpty(
      rc::gen::container<std::string>(rc::gen::elementOf(std::string("abcXYZ-_.09é"))));
  RC_PRE(node.find(':') == std::string::npos);
  const Timestamp ts{millis, counter, node};
  const auto parsed = Timestamp::Parse(ts.ToString());
  RC_ASSERT(parsed.ok());
  RC_ASSERT(*parsed == ts);
}

RC_GTEST_PROP(Timestamp, ParseNeverCrashesOnArbitraryText, (std::string text)) {
  const auto parsed = Timestamp::Parse(text);
  if (parsed.ok()) RC_ASSERT(parsed->ToString() == text);
}

}  // namespace
}  // namespace seedgrid
