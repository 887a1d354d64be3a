#include "engine/env/page_store.h"

#include <gtest/gtest.h>

#include "engine/env/mem_storage.h"

namespace seedgrid {
namespace {

// Forwards to a MemStorage; fails writes or syncs on demand and counts calls.
class FlakyStorage final : public Storage {
 public:
  absl::Status Write(std::string_view page, std::string_view bytes) override {
    ++writes;
    if (fail_writes) return absl::UnavailableError("disk full");
    return mem.Write(page, bytes);
  }
  absl::StatusOr<std::string> Read(std::string_view page) override { return mem.Read(page); }
  absl::Status Delete(std::string_view page) override { return mem.Delete(page); }
  std::vector<std::string> List() override { return mem.List(); }
  absl::Status Sync() override {
    ++syncs;
    if (fail_syncs) {
      mem.Crash();  // A failed fsync drops the unsynced pages.
      return absl::UnavailableError("EIO");
    }
    return mem.Sync();
  }
  MemStorage mem;
  bool fail_writes = false, fail_syncs = false;
  int writes = 0, syncs = 0;
};

TEST(PageStore, CleanStoreDoesNoStorageCalls) {
  FlakyStorage disk;
  PageStore store(disk);
  EXPECT_TRUE(store.Sync().ok());
  EXPECT_EQ(disk.syncs, 0);
  store.Put("a", "1");
  EXPECT_TRUE(store.dirty());
  EXPECT_TRUE(store.Sync().ok());
  EXPECT_FALSE(store.dirty());
  EXPECT_EQ(disk.syncs, 1);
  EXPECT_TRUE(store.Sync().ok());
  EXPECT_EQ(disk.syncs, 1);
}

TEST(PageStore, AFailedSyncIsRepairedByRewritingWhatItDropped) {
  FlakyStorage disk;
  PageStore store(disk);
  store.Put("a", "1");
  store.Put("b", "2");
  store.Erase("b");
  disk.fail_syncs = true;
  EXPECT_FALSE(store.Sync().ok());
  EXPECT_TRUE(store.failed());
  EXPECT_FALSE(disk.mem.Read("a").ok());  // Dropped by the failed sync.
  EXPECT_EQ(store.stats().sync_errors, 1u);
  EXPECT_NE(store.stats().last_error.find("EIO"), std::string::npos);
  disk.fail_syncs = false;
  EXPECT_TRUE(store.Sync().ok());
  EXPECT_FALSE(store.failed());
  EXPECT_EQ(*disk.mem.Read("a"), "1");
  EXPECT_FALSE(disk.mem.Read("b").ok());
  EXPECT_EQ(store.stats().pages_rewritten, 2u);  // "a" and the erase of "b"
  disk.mem.Crash();
  EXPECT_EQ(*disk.mem.Read("a"), "1");  // Durable now.
}

TEST(PageStore, AFailedWriteMakesSyncFailUntilTheRewriteSucceeds) {
  FlakyStorage disk;
  PageStore store(disk);
  disk.fail_writes = true;
  store.Put("a", "1");
  EXPECT_EQ(store.stats().write_errors, 1u);
  EXPECT_FALSE(store.Sync().ok());  // The rewrite fails too.
  EXPECT_TRUE(store.dirty());
  disk.fail_writes = false;
  EXPECT_TRUE(store.Sync().ok());
  EXPECT_EQ(*disk.mem.Read("a"), "1");
  EXPECT_FALSE(store.dirty());
}

}  // namespace
}  // namespace seedgrid
