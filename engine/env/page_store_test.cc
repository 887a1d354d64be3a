// PageStore: the storage-error policy — remember, re-write after a failure, OK only when durable.
#include "engine/env/page_store.h"

#include <gtest/gtest.h>

#include "engine/env/testing/flaky_storage.h"

namespace seedgrid {
namespace {

TEST(PageStore, SyncIsOkAndWritesThrough) {
  FlakyStorage storage;
  PageStore pages(storage);
  pages.Put("a", "1");
  EXPECT_EQ(*storage.Read("a"), "1");  // Written at once.
  EXPECT_TRUE(pages.dirty());
  ASSERT_TRUE(pages.Sync().ok());
  EXPECT_FALSE(pages.dirty());
  storage.Crash();
  EXPECT_EQ(*storage.Read("a"), "1");  // Durable.
  EXPECT_EQ(pages.stats().syncs, 1u);
}

TEST(PageStore, NoStorageCallsWhenClean) {
  FlakyStorage storage;
  PageStore pages(storage);
  ASSERT_TRUE(pages.Sync().ok());
  EXPECT_EQ(storage.calls(), 0u);
  pages.Put("a", "1");
  ASSERT_TRUE(pages.Sync().ok());
  const uint64_t calls = storage.calls();
  ASSERT_TRUE(pages.Sync().ok());
  EXPECT_EQ(storage.calls(), calls);
}

TEST(PageStore, AFailedSyncIsNotOkAndTheNextSyncRewritesTheDroppedPages) {
  FlakyStorage storage;
  PageStore pages(storage);
  pages.Put("a", "1");
  pages.Put("b", "2");
  pages.Erase("b");
  storage.fail_syncs = true;
  EXPECT_FALSE(pages.Sync().ok());
  EXPECT_TRUE(pages.failed());
  EXPECT_EQ(pages.stats().sync_errors, 1u);
  EXPECT_FALSE(pages.stats().last_error.empty());
  EXPECT_FALSE(storage.Read("a").ok());  // The failed sync dropped it.
  EXPECT_FALSE(pages.Sync().ok());       // Still failing.
  storage.fail_syncs = false;
  ASSERT_TRUE(pages.Sync().ok());
  EXPECT_FALSE(pages.failed());
  EXPECT_GE(pages.stats().pages_rewritten, 2u);
  storage.Crash();
  EXPECT_EQ(*storage.Read("a"), "1");
  EXPECT_FALSE(storage.Read("b").ok());  // The erase is remembered too.
}

TEST(PageStore, AFailedWriteMakesTheNextSyncRewriteBeforeItIsOk) {
  FlakyStorage storage;
  PageStore pages(storage);
  storage.fail_writes = true;
  pages.Put("a", "1");
  EXPECT_EQ(pages.stats().write_errors, 1u);
  EXPECT_FALSE(pages.Sync().ok());  // The re-write fails as well: not OK, and no sync claimed.
  EXPECT_EQ(storage.syncs, 0u);
  storage.fail_writes = false;
  ASSERT_TRUE(pages.Sync().ok());
  storage.Crash();
  EXPECT_EQ(*storage.Read("a"), "1");
}

TEST(PageStore, OnlyTheLatestBytesOfAPageAreRewritten) {
  FlakyStorage storage;
  PageStore pages(storage);
  pages.Put("a", "1");
  storage.fail_syncs = true;
  EXPECT_FALSE(pages.Sync().ok());
  pages.Put("a", "2");
  storage.fail_syncs = false;
  ASSERT_TRUE(pages.Sync().ok());
  storage.Crash();
  EXPECT_EQ(*storage.Read("a"), "2");
}

}  // namespace
}  // namespace seedgrid
