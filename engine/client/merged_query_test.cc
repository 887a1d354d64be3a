// MergedQuery (merged_query.h): a client's merged view of one live query, fed by every server's
// snapshots and deltas. These examples pin what a new snapshot from one server does when no
// partition changes hands (only its rows that came, went or changed show differently) and when
// one does (the rows are re-decided from the newest table).
#include "engine/client/merged_query.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "engine/cluster/partition.h"
#include "engine/env/testing/manual_env.h"

namespace seedgrid {
namespace {

class MergedQueryTest : public ::testing::Test {
 protected:
  MergedQueryTest()
      : query_(*ParseQuery("gte(age, 0) sort(age)")),
        merged_(clock_, "m", query_, [this](const LiveDelta& d) { deltas_.push_back(d.kind); }) {}

  // A snapshot from `server` covering `partitions` (all when empty) with `rows` (key -> age).
  msg::QueryUpdate Snapshot(uint64_t epoch, uint64_t table_version,
                            const std::map<std::string, int64_t>& rows,
                            std::vector<uint32_t> partitions = {}) {
    msg::QueryUpdate u;
    u.epoch = epoch;
    u.table_version = table_version;
    if (partitions.empty()) {
      for (uint32_t p = 0; p < kPartitionCount; ++p) partitions.push_back(p);
    }
    u.partitions = std::move(partitions);
    u.rows.map_name = "m";
    for (const auto& [key, age] : rows) {
      u.rows.lww.push_back({key, LwwRecord{Document{{"age", age}}, {1, 0, "s"}, std::nullopt}});
    }
    return u;
  }

  // The merged result as key -> age.
  std::map<std::string, int64_t> Result() const {
    std::map<std::string, int64_t> out;
    for (const RowRef& r : merged_.Result()) {
      out[std::string(r.key)] = r.value->Get("age")->int_value();
    }
    return out;
  }

  ManualClock clock_;
  Query query_;
  MergedQuery merged_;
  std::vector<DeltaKind> deltas_;
};

TEST_F(MergedQueryTest, ASnapshotShowsTheRowsThatCameWentOrChangedAndNothingElse) {
  ASSERT_TRUE(merged_.Apply("s1", Snapshot(1, 1, {{"a", 1}, {"b", 2}, {"c", 3}})));
  EXPECT_EQ(Result(), (std::map<std::string, int64_t>{{"a", 1}, {"b", 2}, {"c", 3}}));
  deltas_.clear();
  // b changed, c went, d came, a is unchanged.
  ASSERT_TRUE(merged_.Apply("s1", Snapshot(2, 1, {{"a", 1}, {"b", 20}, {"d", 4}})));
  EXPECT_EQ(Result(), (std::map<std::string, int64_t>{{"a", 1}, {"b", 20}, {"d", 4}}));
  std::vector<DeltaKind> kinds = deltas_;
  std::sort(kinds.begin(), kinds.end());
  EXPECT_EQ(kinds,
            (std::vector<DeltaKind>{DeltaKind::kEnter, DeltaKind::kUpdate, DeltaKind::kLeave}));
  // An older or duplicate snapshot is ignored.
  EXPECT_FALSE(merged_.Apply("s1", Snapshot(2, 1, {})));
  EXPECT_EQ(Result().size(), 3u);
}

TEST_F(MergedQueryTest, ASnapshotUnderANewerTableTakesThePartitionsOverFromAnotherServer) {
  const uint32_t pa = PartitionOf("a");
  std::vector<uint32_t> rest;
  for (uint32_t p = 0; p < kPartitionCount; ++p) {
    if (p != pa) rest.push_back(p);
  }
  ASSERT_TRUE(merged_.Apply("s1", Snapshot(1, 1, {{"a", 1}, {"b", 2}})));
  ASSERT_TRUE(merged_.Apply("s2", Snapshot(1, 1, {{"a", 9}}, {pa})));
  EXPECT_EQ(Result().at("a"), 1);  // The same table version: the smallest server id wins.
  ASSERT_TRUE(merged_.Apply("s2", Snapshot(2, 2, {{"a", 7}}, {pa})));
  EXPECT_EQ(Result().at("a"), 7);  // A newer table: s2 owns a's partition now.
  ASSERT_TRUE(merged_.Apply("s1", Snapshot(2, 2, {{"b", 2}}, rest)));
  EXPECT_EQ(Result(), (std::map<std::string, int64_t>{{"a", 7}, {"b", 2}}));
  EXPECT_TRUE(merged_.Complete());
  // s3 takes a's partition over, holding nothing there: a leaves though s2 still lists it.
  ASSERT_TRUE(merged_.Apply("s3", Snapshot(1, 3, {}, {pa})));
  EXPECT_EQ(Result(), (std::map<std::string, int64_t>{{"b", 2}}));
  // s1 takes it back under a newer table, with a's row: a returns with s1's document.
  std::vector<uint32_t> all = rest;
  all.push_back(pa);
  ASSERT_TRUE(merged_.Apply("s1", Snapshot(3, 4, {{"a", 5}, {"b", 2}}, all)));
  EXPECT_EQ(Result(), (std::map<std::string, int64_t>{{"a", 5}, {"b", 2}}));
}

}  // namespace
}  // namespace seedgrid
