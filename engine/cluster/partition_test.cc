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
  EXPECT_EQ(Fnv1aUtf16("caf\xC3\xA9"), 856211068u);          // "café"
  EXPECT_EQ(Fnv1aUtf16("\xF0\x9F\x99\x82"), 2368824094u);    // "🙂", a surrogate pair
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
  EXPECT_EQ(Utf8ToUtf16("\xFF" "a"), (std::u16string{0xFFFD, u'a'}));
  EXPECT_EQ(Utf8ToUtf16("\xC3"), (std::u16string{0xFFFD}));            // Truncated.
  EXPECT_EQ(Utf8ToUtf16("\xC0\xAF"), (std::u16string{0xFFFD, 0xFFFD}));  // Overlong.
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

}  // namespace
}  // namespace seedgrid
