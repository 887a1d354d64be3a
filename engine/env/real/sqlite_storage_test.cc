#include "engine/env/real/sqlite_storage.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>

namespace seedgrid {
namespace {

std::string FreshPath(const std::string& name) {
  const std::string path = ::testing::TempDir() + "seedgrid_" + name + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  return path;
}

TEST(SqliteStorage, SyncedPagesSurviveReopenUnsyncedOnesDoNot) {
  const std::string path = FreshPath("survive");
  {
    auto s = SqliteStorage::Open(path);
    ASSERT_TRUE(s.ok()) << s.status();
    ASSERT_TRUE((*s)->Write("a", "1").ok());
    ASSERT_TRUE((*s)->Write(std::string("b\0x", 3), std::string("\0\xff", 2)).ok());
    ASSERT_TRUE((*s)->Write("empty", "").ok());
    ASSERT_TRUE((*s)->Sync().ok());
    ASSERT_TRUE((*s)->Write("c", "lost").ok());
    ASSERT_TRUE((*s)->Delete("a").ok());
    EXPECT_EQ(*(*s)->Read("c"), "lost");  // Own unsynced writes are visible...
    EXPECT_EQ((*s)->Read("a").status().code(), absl::StatusCode::kNotFound);
  }  // ...and lost when the process goes away before Sync().
  auto s = SqliteStorage::Open(path);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(*(*s)->Read("a"), "1");
  EXPECT_EQ(*(*s)->Read(std::string("b\0x", 3)), std::string("\0\xff", 2));
  EXPECT_EQ(*(*s)->Read("empty"), "");
  EXPECT_EQ((*s)->Read("c").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*s)->List(), (std::vector<std::string>{"a", std::string("b\0x", 3), "empty"}));
}

TEST(SqliteStorage, ListIsByteWiseAndOverwritesReplace) {
  auto s = SqliteStorage::Open(FreshPath("order"));
  ASSERT_TRUE(s.ok()) << s.status();
  for (const char* name : {"b", "\xc3\xa9", "B", "a/2", "a"})
    ASSERT_TRUE((*s)->Write(name, "x").ok());
  ASSERT_TRUE((*s)->Write("a", "y").ok());
  EXPECT_EQ((*s)->List(), (std::vector<std::string>{"B", "a", "a/2", "b", "\xc3\xa9"}));
  EXPECT_EQ(*(*s)->Read("a"), "y");
  EXPECT_EQ((*s)->Write("", "x").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE((*s)->Sync().ok());
  EXPECT_TRUE((*s)->Sync().ok());  // Nothing pending: still OK.
}

TEST(SqliteStorage, AFileThatIsNotADatabaseIsAnErrorNamingIt) {
  const std::string path = FreshPath("garbage");
  std::ofstream(path) << "this is not an SQLite database, not even close...............";
  auto s = SqliteStorage::Open(path);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find(path), std::string_view::npos) << s.status();
  EXPECT_FALSE(SqliteStorage::Open("/nonexistent-dir/x.db").ok());
}

// Format 1 (one row per page, builds before 2026-12-02) is converted on open, pages intact.
TEST(SqliteStorage, AFormatOneDatabaseIsConvertedWithItsPages) {
  const std::string path = FreshPath("format1");
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "CREATE TABLE pages (name BLOB PRIMARY KEY, bytes BLOB NOT NULL) "
                           "WITHOUT ROWID; INSERT INTO pages VALUES (x'62', x'32'), "
                           "(x'61', x'31'), (x'65', x'')",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  for (int round = 0; round < 2; ++round) {  // converted once, then read as format 2
    auto s = SqliteStorage::Open(path);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ((*s)->List(), (std::vector<std::string>{"a", "b", "e"}));
    EXPECT_EQ(*(*s)->Read("a"), "1");
    EXPECT_EQ(*(*s)->Read("e"), "");
    EXPECT_EQ((*s)->stats().dead_rows, 0u);
  }
}

// What a build before format 2 ran on open: its write statement must fail on a converted file,
// so it refuses the file instead of serving an empty store.
TEST(SqliteStorage, AFormatTwoFileIsRefusedByAFormatOneBuild) {
  const std::string path = FreshPath("downgrade");
  {
    auto s = SqliteStorage::Open(path);
    ASSERT_TRUE(s.ok()) << s.status();
    ASSERT_TRUE((*s)->Write("a", "1").ok());
    ASSERT_TRUE((*s)->Sync().ok());
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db,
                         "CREATE TABLE IF NOT EXISTS pages (name BLOB PRIMARY KEY, bytes BLOB NOT "
                         "NULL) WITHOUT ROWID",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_stmt* write = nullptr;
  EXPECT_NE(sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO pages (name, bytes) VALUES (?1, ?2)", -1,
                               &write, nullptr),
            SQLITE_OK);
  sqlite3_finalize(write);
  sqlite3_close(db);
  auto s = SqliteStorage::Open(path);  // and this build still reads it
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(*(*s)->Read("a"), "1");
}

TEST(SqliteStorage, ANewerFormatIsRefusedNamingTheFile) {
  const std::string path = FreshPath("newer");
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 3", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto s = SqliteStorage::Open(path);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("newer seedgrid"), std::string_view::npos) << s.status();
  EXPECT_NE(s.status().message().find(path), std::string_view::npos) << s.status();
}

// Overwrites leave dead rows; compaction keeps them at most about the live pages (plus one pass's
// worth), a slice per Sync, and what it removes never changes what reads back.
TEST(SqliteStorage, CompactionBoundsDeadRowsAndKeepsEveryPage) {
  const std::string path = FreshPath("compact");
  const SqliteStorage::Options options{.compact_min_dead = 64, .compact_slice_min = 16};
  std::map<std::string, std::string> model;
  {
    auto s = SqliteStorage::Open(path, options);
    ASSERT_TRUE(s.ok()) << s.status();
    for (int i = 0; i < 5000; ++i) {
      const std::string page = "p/" + std::to_string(i % 100);
      ASSERT_TRUE((*s)->Write(page, std::to_string(i)).ok());
      model[page] = std::to_string(i);
      if (i % 10 == 9) {
        ASSERT_TRUE((*s)->Sync().ok());
        const SqliteStorage::Stats st = (*s)->stats();
        EXPECT_EQ(st.live_pages, std::min(i + 1, 100)) << "at write " << i;
        EXPECT_LE(st.dead_rows, 400u) << "at write " << i;
      }
    }
    EXPECT_GT((*s)->stats().compacted_rows, 4000u);
    ASSERT_TRUE((*s)->CompactAll().ok());
    EXPECT_EQ((*s)->stats().dead_rows, 0u);
  }
  auto s = SqliteStorage::Open(path, options);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ((*s)->stats().dead_rows, 0u);
  for (const auto& [page, bytes] : model) EXPECT_EQ(*(*s)->Read(page), bytes);
}

// Model: the durable pages and the current ones. Any sequence of writes, deletes (of pages that
// exist or not), syncs and crashes (reopen without a sync), with compaction running in slices as
// small as one row, reads and lists as the model does, and no page comes back from the dead.
RC_GTEST_PROP(SqliteStorage, MatchesAModelOfDurableAndCurrentPagesThroughCompaction, ()) {
  const std::string path = FreshPath("model");
  const SqliteStorage::Options options{.compact_min_dead = *rc::gen::inRange<uint64_t>(1, 20),
                                       .compact_slice_min = *rc::gen::inRange<uint64_t>(1, 8)};
  std::map<std::string, std::string> durable, current;
  auto opened = SqliteStorage::Open(path, options);
  RC_ASSERT(opened.ok());
  std::unique_ptr<SqliteStorage> s = std::move(*opened);
  const auto steps = *rc::gen::inRange(0, 300);
  for (int i = 0; i < steps; ++i) {
    const std::string page = "p/" + std::to_string(*rc::gen::inRange(0, 10));
    switch (*rc::gen::inRange(0, 8)) {
      case 0:
      case 1:
      case 2: {
        const std::string bytes = *rc::gen::arbitrary<std::string>();
        RC_ASSERT(s->Write(page, bytes).ok());
        current[page] = bytes;
        break;
      }
      case 3:
      case 4:
        RC_ASSERT(s->Delete(page).ok());
        current.erase(page);
        break;
      case 5:
      case 6:
        RC_ASSERT(s->Sync().ok());
        durable = current;
        break;
      default: {
        s.reset();  // a crash: the open transaction is rolled back
        auto reopened = SqliteStorage::Open(path, options);
        RC_ASSERT(reopened.ok());
        s = std::move(*reopened);
        current = durable;
        break;
      }
    }
    std::vector<std::string> names;
    for (const auto& [name, bytes] : current) names.push_back(name);
    RC_ASSERT(s->List() == names);
    const absl::StatusOr<std::string> read = s->Read(page);
    if (current.contains(page)) {
      RC_ASSERT(read.ok() && *read == current[page]);
    } else {
      RC_ASSERT(read.status().code() == absl::StatusCode::kNotFound);
    }
  }
}

}  // namespace
}  // namespace seedgrid
