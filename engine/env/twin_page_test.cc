// Twin pages: no torn copy passes, and a crash at either write never rolls the value back.
#include "engine/env/twin_page.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <charconv>

#include "engine/env/testing/flaky_storage.h"

namespace seedgrid {
namespace {

// What a restore finds for twin page "S": the largest valid part (0: none).
uint64_t RestoredTwinValue(Storage& storage) {
  uint64_t best = 0;
  for (const std::string& page : storage.List()) {
    const TwinPart part = TwinPartOf(page, "S");
    if (part == TwinPart::kNeither) continue;
    const absl::StatusOr<std::string> bytes = storage.Read(page);
    const std::optional<std::string_view> value = TwinPageValue(*bytes, part);
    uint64_t n = 0;
    if (value &&
        std::from_chars(value->data(), value->data() + value->size(), n).ec == std::errc()) {
      best = std::max(best, n);
    }
  }
  return best;
}

TEST(TwinPage, BothCopiesHoldTheValue) {
  FlakyStorage storage;
  PageStore pages(storage);
  PutTwinPage(pages, "S", "217");
  ASSERT_TRUE(pages.Sync().ok());
  EXPECT_EQ(storage.List(), (std::vector<std::string>{"S.1", "S.2"}));
  EXPECT_EQ(TwinPageValue(*storage.Read("S.1"), TwinPart::kCopy), "217");
  EXPECT_EQ(TwinPageValue(*storage.Read("S.2"), TwinPart::kCopy), "217");
  EXPECT_EQ(RestoredTwinValue(storage), 217u);
}

TEST(TwinPage, PartsAreNamedExactly) {
  EXPECT_EQ(TwinPartOf("S", "S"), TwinPart::kLegacy);
  EXPECT_EQ(TwinPartOf("S.1", "S"), TwinPart::kCopy);
  EXPECT_EQ(TwinPartOf("S.2", "S"), TwinPart::kCopy);
  for (const char* other : {"S.3", "S.", "S.12", "SS.1", "H.1", "R/1/S.1", ""}) {
    EXPECT_EQ(TwinPartOf(other, "S"), TwinPart::kNeither) << other;
  }
}

TEST(TwinPage, NoStrictPrefixOfACopyPasses) {
  const std::string sealed = "1764000000123 15$";
  for (size_t n = 0; n < sealed.size(); ++n) {
    const std::string_view torn = std::string_view(sealed).substr(0, n);
    EXPECT_FALSE(TwinPageValue(torn, TwinPart::kCopy)) << torn;
  }
  EXPECT_EQ(TwinPageValue(sealed, TwinPart::kCopy), "1764000000123 15");
  EXPECT_FALSE(TwinPageValue("12$3$", TwinPart::kCopy));  // Not one value.
  EXPECT_EQ(TwinPageValue("217", TwinPart::kLegacy), "217");
}

TEST(TwinPage, ACrashTearingEitherWriteRestoresAtLeastTheSyncedValue) {
  for (const char* torn_page : {"S.1", "S.2"}) {
    FlakyStorage storage;
    PageStore pages(storage);
    PutTwinPage(pages, "S", "217");
    ASSERT_TRUE(pages.Sync().ok());
    if (std::string_view(torn_page) == "S.1") storage.fail_writes_to = "S.2";  // Stops after 1.
    PutTwinPage(pages, "S", "300");
    ASSERT_EQ(storage.last_written, torn_page);
    storage.CrashTearingLastWrite();  // "300$" torn to "3"
    EXPECT_EQ(RestoredTwinValue(storage), 217u) << torn_page;
  }
}

TEST(TwinPage, AnUpgradeKeepsTheLegacyPageUntilTheCopiesAreSynced) {
  for (const char* torn_page : {"S.1", "S.2"}) {
    FlakyStorage storage;
    ASSERT_TRUE(storage.Write("S", "217").ok());  // An older seedgrid's page, synced.
    ASSERT_TRUE(storage.Sync().ok());
    PageStore pages(storage);
    pages.Erase("S");  // The restore that read it.
    if (std::string_view(torn_page) == "S.1") storage.fail_writes_to = "S.2";
    PutTwinPage(pages, "S", "300");
    storage.CrashTearingLastWrite();
    EXPECT_EQ(RestoredTwinValue(storage), 217u) << torn_page;  // The erase was not synced.
  }
  FlakyStorage storage;
  ASSERT_TRUE(storage.Write("S", "217").ok());
  PageStore pages(storage);
  pages.Erase("S");
  PutTwinPage(pages, "S", "300");
  ASSERT_TRUE(pages.Sync().ok());
  EXPECT_EQ(storage.List(), (std::vector<std::string>{"S.1", "S.2"}));
  EXPECT_EQ(RestoredTwinValue(storage), 300u);
}

}  // namespace
}  // namespace seedgrid
