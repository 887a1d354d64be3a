// PageStore: the storage-error policy — remember, re-write after a failure, OK only when durable.
#include "engine/env/page_store.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <optional>
#include <string>

#include "engine/env/mem_storage.h"
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

// The page's contents after a power cut now: what the last good sync left.
std::optional<std::string> Durable(const FlakyStorage& storage, const std::string& page) {
  MemStorage durable = storage.mem;
  durable.Crash();
  absl::StatusOr<std::string> bytes = durable.Read(page);
  if (!bytes.ok()) return std::nullopt;
  return *bytes;
}

std::string PageName(int i) { return fmt::format("p{:03}", i); }

TEST(PageStore, AFlakyDiskRecoversChunkByChunkAndTheSyncedChunksAreDurable) {
  FlakyStorage storage;
  PageStore pages(storage);
  for (int i = 0; i < 100; ++i) pages.Put(PageName(i), "v");
  storage.fail_syncs = true;
  EXPECT_FALSE(pages.Sync().ok());
  storage.fail_syncs = false;
  storage.fail_writes_to = PageName(50);  // One bad spot: no rewrite of all 100 gets through.
  for (int attempt = 0; attempt < 20; ++attempt) EXPECT_FALSE(pages.Sync().ok());
  EXPECT_LT(pages.rewrite_chunk_pages(), 50u);  // Each failed chunk halved the next.
  for (int i = 0; i < 50; ++i) {                // Every page before the bad one got through.
    EXPECT_FALSE(pages.pending(PageName(i))) << i;
    EXPECT_EQ(Durable(storage, PageName(i)), "v") << i;
  }
  EXPECT_TRUE(pages.pending(PageName(50)));
  EXPECT_TRUE(pages.pending(PageName(99)));
  EXPECT_TRUE(pages.failed());
  storage.fail_writes_to.clear();
  ASSERT_TRUE(pages.Sync().ok());
  EXPECT_FALSE(pages.failed());
  for (int i = 0; i < 100; ++i) EXPECT_EQ(Durable(storage, PageName(i)), "v") << i;
}

TEST(PageStore, AFailedChunkHalvesWhatItTriedAndAHealthySyncRestoresTheWholeChunk) {
  FlakyStorage storage;
  PageStore pages(storage);
  pages.Put("a", "1");
  storage.fates = {true};  // The first call (this write) fails.
  pages.Put("b", "2");
  EXPECT_EQ(pages.rewrite_chunk_pages(), PageStore::kMaxRewriteChunkPages);
  storage.fates = {false, true};  // The rewrite of "a" goes through, "b" fails.
  EXPECT_FALSE(pages.Sync().ok());
  EXPECT_EQ(pages.rewrite_chunk_pages(), 1u);  // Half of the 2 pages tried, not of 1024.
  const uint64_t syncs = storage.syncs;
  ASSERT_TRUE(pages.Sync().ok());
  EXPECT_EQ(storage.syncs, syncs + 2);  // "a", then "b" (the chunk doubled to 2 after "a").
  EXPECT_EQ(pages.rewrite_chunk_pages(), 4u);
  EXPECT_EQ(Durable(storage, "a"), "1");
  EXPECT_EQ(Durable(storage, "b"), "2");
  pages.Put("c", "3");
  ASSERT_TRUE(pages.Sync().ok());  // No recovery needed: the disk looks healthy again.
  EXPECT_EQ(pages.rewrite_chunk_pages(), PageStore::kMaxRewriteChunkPages);
  pages.Put("d", "4");
  storage.fates = {false, true};  // This write is fine, its sync fails: everything is redone.
  pages.Put("e", "5");
  EXPECT_FALSE(pages.Sync().ok());
  const uint64_t before = storage.syncs;
  ASSERT_TRUE(pages.Sync().ok());
  EXPECT_EQ(storage.syncs, before + 1);  // Both pages in one chunk.
  EXPECT_EQ(Durable(storage, "d"), "4");
  EXPECT_EQ(Durable(storage, "e"), "5");
}

// Any schedule of puts, erases and syncs, with any call failing: a page that is not pending holds
// its latest bytes durably, and a sync that returns OK leaves nothing pending.
RC_GTEST_PROP(PageStore, APageNotPendingIsDurableWhateverFails, ()) {
  FlakyStorage storage;
  PageStore pages(storage);
  std::map<std::string, std::optional<std::string>> latest;  // The model.
  const int steps = *rc::gen::inRange(1, 120);
  for (int i = 0; i < steps; ++i) {
    storage.fates.clear();
    for (bool fate : *rc::gen::container<std::vector<bool>>(
             *rc::gen::inRange(0, 40), rc::gen::weightedElement<bool>({{1, true}, {3, false}}))) {
      storage.fates.push_back(fate);
    }
    const std::string page = PageName(*rc::gen::inRange(0, 24));
    switch (*rc::gen::inRange(0, 4)) {
      case 0:
      case 1:
        latest[page] = std::to_string(i);
        pages.Put(page, std::to_string(i));
        break;
      case 2:
        latest[page] = std::nullopt;
        pages.Erase(page);
        break;
      case 3:
        if (pages.Sync().ok()) RC_ASSERT(!pages.dirty());
        break;
    }
    for (const auto& [name, bytes] : latest) {
      if (!pages.pending(name)) RC_ASSERT(Durable(storage, name) == bytes);
    }
  }
  storage.fates.clear();
  RC_ASSERT(pages.Sync().ok());  // A healthy disk again: one sync recovers everything.
  for (const auto& [name, bytes] : latest) RC_ASSERT(Durable(storage, name) == bytes);
}

}  // namespace
}  // namespace seedgrid
