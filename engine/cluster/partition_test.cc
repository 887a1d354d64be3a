#include "engine/cluster/partition.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

namespace seedgrid {
namespace {

TEST(Fnv1aUtf16, MatchesDesignVectors) {
  EXPECT_EQ(Fnv1aUtf16(""), 2166136261u);
  EXPECT_EQ(Fnv1aUtf16("hello"), 1335831723u);
  EXPECT_EQ(Fnv1aUtf16("key1"), 927623783u);
  EXPECT_EQ(Fnv1aUtf16("key1:100:0:test"), 3988528110u);
  EXPECT_EQ(Fnv1aUtf16("caf\xC3\xA9"), 856211068u);        // "café"
  EXPECT_EQ(Fnv1aUtf16("\xF0\x9F\x99\x82"), 2368824094u);  // "🙂", a surrogate pair
}

// Differential vectors: random byte strings (mostly invalid UTF-8), hashed by Node 20's
// TextDecoder + a JavaScript FNV-1a loop over charCodeAt (Math.imul), frozen here.
TEST(Fnv1aUtf16, MatchesJavaScriptTextDecoderOnInvalidUtf8) {
  const std::vector<std::pair<std::string, uint32_t>> vectors = {
      {"e2abdf82f0baf4f57f95", 1080026027u},
      {"c2c2bdef82", 2347299958u},
      {"9fac145d41e2ef41d9edc2", 4162273273u},
      {"c7ff418f09e2fa", 2230199362u},
      {"7f8fa0f022c428", 1953160054u},
      {"fcf5f4800d90c2fb", 2954592002u},
      {"748adf30e2e0ceef", 574877979u},
      {"c0ff3410ed9590e0", 1499769756u},
      {"86efa05a9034f509f0ee", 2081016102u},
      {"deffb38fe2921f7f", 3382249434u},
      {"41ff8209e03cdf82c2", 1986122273u},
      {"7106f4e0c0c29f8f", 917765403u},
      {"e26a90417e144190e4f5", 1837439090u},
      {"dfc0f082", 809377681u},
      {"a0a0e0f54e82ef41c2", 2397655821u},
      {"c0a283ef7fef9fb9", 2722094761u},
      {"f0df41828c7ff4c241", 3456136138u},
      {"ff7d9f1ba0c2ed87c2", 4041377667u},
      {"dfc2c0827fe2ff9f57", 430705784u},
      {"ef82f4fdf78fe2df", 1459926130u},
      {"edefe26f9c", 3235937298u},
      {"dd8fbf3bf0f441907f", 1818593099u},
      {"c0e2bf8082", 3114234655u},
      {"bfe2f0a47fa0ed", 1260551309u},
      {"32bff51b168f8d8fefa0", 3586856234u},
      {"ac5074417f8f", 900924311u},
      {"efc0dfbf7f", 1195166397u},
      {"e780f49fadc06b41a07ed5", 1792686966u},
      {"bfe250dcc282cfe2a0f9", 231209115u},
      {"80f5a35b80f0c0fc", 128829891u},
      {"7fbf8f199fe041", 56976480u},
      {"909fc0909ff0", 2134865659u},
      {"a0ffafefda31f5c5ff2590", 244391850u},
      {"0ddfffed", 2690104065u},
      {"c0419041", 2925530361u},
      {"f4320ee041", 1330385618u},
      {"eff6cbd87a90a090edffed", 3201740487u},
      {"f441e3c0f0c2d58280df5a", 1832154673u},
      {"b5cf6affc090", 1212413108u},
      {"418f8ff5c2ffc2a2e2", 2171396766u}};
  for (const auto& [hex, expected] : vectors) {
    std::string bytes;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) {
      bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    }
    EXPECT_EQ(Fnv1aUtf16(bytes), expected) << hex;
  }
}

TEST(PartitionOf, MatchesDesignVectors) {
  EXPECT_EQ(PartitionOf("hello"), 95u);
  EXPECT_EQ(PartitionOf("key1"), 268u);
  EXPECT_EQ(PartitionOf("caf\xC3\xA9"), 118u);
  EXPECT_EQ(PartitionOf("\xF0\x9F\x99\x82"), 86u);
}

TEST(Utf8ToUtf16, DecodesAndReplacesInvalidBytes) {
  EXPECT_EQ(Utf8ToUtf16("a\xC3\xA9"), (std::u16string{u'a', 0xE9}));
  EXPECT_EQ(Utf8ToUtf16("\xF0\x9F\x99\x82"), (std::u16string{0xD83D, 0xDE42}));
  EXPECT_EQ(Utf8ToUtf16("\xFF"
                        "a"),
            (std::u16string{0xFFFD, u'a'}));
  EXPECT_EQ(Utf8ToUtf16("\xC3"), (std::u16string{0xFFFD}));  // Truncated.
  // One U+FFFD per maximal subpart, as TextDecoder: a truncated 3-byte sequence then 'A'.
  EXPECT_EQ(Utf8ToUtf16("\xE2\x82"
                        "A"),
            (std::u16string{0xFFFD, u'A'}));
  EXPECT_EQ(Utf8ToUtf16("\xF0\x9F\x99"), (std::u16string{0xFFFD}));
  EXPECT_EQ(Utf8ToUtf16("\xF0\x9F\x99"
                        "\xF0\x9F\x99\x82"),
            (std::u16string{0xFFFD, 0xD83D, 0xDE42}));
  EXPECT_EQ(Utf8ToUtf16("\xF4\x90\x80\x80"), (std::u16string(4, 0xFFFD)));           // > U+10FFFF.
  EXPECT_EQ(Utf8ToUtf16("\xE0\x80\x80"), (std::u16string(3, 0xFFFD)));               // Overlong.
  EXPECT_EQ(Utf8ToUtf16("\xC0\xAF"), (std::u16string{0xFFFD, 0xFFFD}));              // Overlong.
  EXPECT_EQ(Utf8ToUtf16("\xED\xA0\x80"), (std::u16string{0xFFFD, 0xFFFD, 0xFFFD}));  // Surrogate.
}

TEST(ReplicasOf, OwnerIsSortedMemberAtPartitionModNAndBackupsWrap) {
  const std::vector<std::string> members{"c", "a", "b"};
  auto r = ReplicasOf(95, members);  // 95 % 3 = 2 -> "c"; backup wraps to "a".
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->owner, "c");
  EXPECT_EQ(r->backups, std::vector<std::string>{"a"});
  auto two = ReplicasOf(268, members, 2);  // 268 % 3 = 1 -> "b"; then "c", "a".
  EXPECT_EQ(two->owner, "b");
  EXPECT_EQ(two->backups, (std::vector<std::string>{"c", "a"}));
  auto capped = ReplicasOf(0, {"x", "y"}, 5);
  EXPECT_EQ(capped->backups, std::vector<std::string>{"y"});
  EXPECT_TRUE(ReplicasOf(0, {"solo"})->backups.empty());
}

TEST(ReplicasOf, RejectsBadInput) {
  EXPECT_EQ(ReplicasOf(271, {"a"}).status().message(), "partition 271 out of range 0..270");
  EXPECT_EQ(ReplicasOf(0, {}).status().message(), "no active members to own partitions");
  EXPECT_EQ(ReplicasOf(0, {"a", "b", "a"}).status().message(), "member 'a' is listed twice");
}

RC_GTEST_PROP(PartitionOf, AlwaysInRangeForAnyBytes, (std::string key)) {
  RC_ASSERT(PartitionOf(key) < kPartitionCount);
}

// The hash decodes as it goes (an ASCII prefix without decoding at all); the model hashes the
// whole UTF-16 string. Keys mix ASCII with arbitrary bytes, so the ASCII prefix ends anywhere.
RC_GTEST_PROP(Fnv1aUtf16, IsFnvOverTheDecodedCodeUnits, ()) {
  const std::string ascii = *rc::gen::container<std::string>(  // 0x00..0x7F (the bound is open)
      rc::gen::map(rc::gen::inRange<int>(0, 0x80), [](int c) { return static_cast<char>(c); }));
  const std::string any = *rc::gen::arbitrary<std::string>();
  const std::string key =
      ascii + any +
      *rc::gen::elementOf(std::vector<std::string>{"", "a", "\xC3", "\xF0\x9F", "\xED\xA0\x80"});
  uint32_t model = 2166136261u;
  for (char16_t unit : Utf8ToUtf16(key)) model = (model ^ unit) * 16777619u;
  RC_ASSERT(Fnv1aUtf16(key) == model);
}

}  // namespace
}  // namespace seedgrid
