#include "engine/env/real/sqlite_storage.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

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

}  // namespace
}  // namespace seedgrid
