// Grid live queries beyond LWW rows: pages (a live subscription after a keyset cursor, bound to
// the query and the position, not to a server, so paging goes on across the failover of the
// server the pages came through; bad cursors refused with the reason), and OR rows (one per
// (key, tag) of a map's live OR items).
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "engine/client/merged_query.h"
#include "engine/cluster/grid_queries.h"
#include "engine/cluster/grid_testing.h"
#include "engine/env/testing/manual_env.h"
#include "engine/query/cursor.h"

namespace seedgrid {
namespace {

using grid_testing::Doc;
using grid_testing::Grid;

const Query kTopByV{All(), {SortField{"v", /*descending=*/true}}, 10};

std::vector<std::string> Keys(const GridClient& c, uint64_t id) {
  std::vector<std::string> keys;
  for (const RowRef& r : c.subscription(id)->Result()) keys.emplace_back(r.key);
  return keys;
}

std::vector<std::string> KeysFromTo(int high, int low) {
  std::vector<std::string> keys;
  for (int i = high; i >= low; --i) keys.push_back("k" + std::to_string(i));
  return keys;
}

uint64_t SubscribePage(GridClient& c, const std::string& cursor) {
  auto id = c.Subscribe("m", kTopByV, [](const LiveDelta&) {}, {.cursor = cursor});
  EXPECT_TRUE(id.ok()) << id.status();
  return id.ok() ? *id : 0;
}

std::string Cursor(const GridClient& c, uint64_t id) {
  absl::StatusOr<std::string> cursor = c.NextCursor(id);
  EXPECT_TRUE(cursor.ok()) << cursor.status();
  return cursor.ok() ? *cursor : std::string();
}

TEST(GridPaging, PagesFollowTheCursorAcrossTheFailoverOfTheServerTheyCameThrough) {
  Grid g(3, 2);
  for (int i = 0; i < 30; ++i) {
    g.client(0).Set("m", "k" + std::to_string(i), Doc(i), msg::WriteConcern::kReplicated);
  }
  g.Run(2000);
  const uint64_t page1 = SubscribePage(g.client(1), "");
  g.Run(1500);
  ASSERT_EQ(Keys(g.client(1), page1), KeysFromTo(29, 20));
  const std::string cursor1 = Cursor(g.client(1), page1);
  ASSERT_FALSE(cursor1.empty());

  // s0, the clients' server, dies: the next page comes through another server, from the
  // partitions' new owners.
  g.CrashServer(0);
  g.Run(4000);
  const uint64_t page2 = SubscribePage(g.client(1), cursor1);
  g.Run(2000);
  EXPECT_EQ(Keys(g.client(1), page2), KeysFromTo(19, 10));

  // A page is live: a row moving before the cursor leaves it and the next row enters; a row
  // moving into its range enters.
  g.client(0).Set("m", "k15", Doc(100));
  g.client(0).Set("m", "k25", Doc(12));
  g.Run(2000);
  EXPECT_EQ(Keys(g.client(1), page2), (std::vector<std::string>{"k19", "k18", "k17", "k16", "k14",
                                                                "k13", "k12", "k25", "k11", "k10"}))
      << "ties on v go by key";
  // Its cursor continues after its (new) last row; the last pages end the paging.
  const uint64_t page3 = SubscribePage(g.client(1), Cursor(g.client(1), page2));
  g.Run(2000);
  EXPECT_EQ(Keys(g.client(1), page3), KeysFromTo(9, 0));
  const uint64_t page4 = SubscribePage(g.client(1), Cursor(g.client(1), page3));
  g.Run(2000);
  EXPECT_TRUE(Keys(g.client(1), page4).empty());
  EXPECT_EQ(Cursor(g.client(1), page4), "");
  for (uint64_t id : {page1, page2, page3, page4}) EXPECT_TRUE(g.client(1).Unsubscribe(id));
}

TEST(GridPaging, BadCursorsAreRefusedWithTheReason) {
  Grid g(1, 1);
  GridClient& c = g.client(0);
  const auto error = [&](const Query& q, const std::string& cursor) {
    auto id = c.Subscribe("m", q, [](const LiveDelta&) {}, {.cursor = cursor});
    EXPECT_FALSE(id.ok());
    return id.status();
  };
  CursorState state{PredicateAndSortHash(kTopByV),
                    kGridCursorInstance,
                    0,
                    g.now_ms + 60'000,
                    {Value{int64_t{5}}},
                    "k5",
                    std::nullopt};
  std::string garbled = EncodeCursor(state);
  garbled[garbled.size() / 2] ^= 0x3;
  EXPECT_EQ(error(kTopByV, garbled).code(), absl::StatusCode::kInvalidArgument);

  Query other = kTopByV;
  other.sort[0].descending = false;
  EXPECT_EQ(error(other, EncodeCursor(state)).message(),
            "grid client: cursor belongs to a different query (predicate or sort differ)");

  CursorState expired = state;
  expired.expires_at_ms = g.now_ms - 1;
  const absl::Status late = error(kTopByV, EncodeCursor(expired));
  EXPECT_EQ(late.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(late.message().find("cursor expired at") != absl::string_view::npos) << late;

  CursorState single_node = state;
  single_node.instance_id = 12345;
  EXPECT_EQ(error(kTopByV, EncodeCursor(single_node)).code(),
            absl::StatusCode::kFailedPrecondition);

  // The good cursor works; NextCursor explains why it has none to give.
  EXPECT_TRUE(
      c.Subscribe("m", kTopByV, [](const LiveDelta&) {}, {.cursor = EncodeCursor(state)}).ok());
  auto unlimited = c.Subscribe("m", Query{All(), {}, std::nullopt}, [](const LiveDelta&) {});
  ASSERT_TRUE(unlimited.ok());
  EXPECT_EQ(c.NextCursor(*unlimited).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(c.NextCursor(999).status().code(), absl::StatusCode::kNotFound);
  const uint64_t fresh = SubscribePage(c, "");
  EXPECT_EQ(c.NextCursor(fresh).status().code(), absl::StatusCode::kFailedPrecondition)
      << "no server's rows have arrived yet";
  g.Run(1500);
  EXPECT_EQ(Cursor(c, fresh), "") << "an empty map has one page";
}

TEST(GridPaging, AServerRefusesAPageWhoseCursorIsNotItsQuerys) {
  // In process there is no wire decoder in front of the host: it checks the cursor itself.
  ManualClock clock{1000};
  PartitionSlots partitions(kPartitionCount);
  GridQueryHost host(clock, partitions);
  Query other = kTopByV;
  other.sort[0].descending = false;
  CursorState state{PredicateAndSortHash(other), kGridCursorInstance, 0, 1, {Value{}}, "k", {}};
  msg::QuerySubscribe m{7, "m", kTopByV, "", {}, false, EncodeCursor(state)};
  host.OnSubscribe("c9", "s0", m, 1000);
  EXPECT_EQ(host.subscriptions(), 0u);
  EXPECT_EQ(host.stats().subscriptions_refused, 1u);
  m.cursor = "garbage";
  host.OnSubscribe("c9", "s0", m, 1000);
  EXPECT_EQ(host.stats().subscriptions_refused, 2u);
  state.query_hash = PredicateAndSortHash(kTopByV);
  m.cursor = EncodeCursor(state);
  host.OnSubscribe("c9", "s0", m, 1000);
  EXPECT_EQ(host.subscriptions(), 1u);
}

Document City(const char* city) { return Document{{"city", std::string(city)}}; }

// The replayed rows of an OR subscription: (key, tag) -> document.
struct OrStream {
  std::map<std::pair<std::string, Timestamp>, Document> rows;
  QueryEngine::DeltaCallback Callback() {
    return [this](const LiveDelta& d) {
      ASSERT_NE(d.row.tag, nullptr);
      const auto id = std::make_pair(std::string(d.row.key), *d.row.tag);
      if (d.kind == DeltaKind::kLeave) {
        rows.erase(id);
      } else {
        rows[id] = *d.row.value;
      }
    };
  }
  std::vector<std::string> Keys() const {
    std::vector<std::string> keys;
    for (const auto& [id, doc] : rows) keys.push_back(id.first);
    return keys;
  }
};

TEST(GridOrLiveQueries, RowsAreKeyAndTagAndFollowAddsRemovesAndAFailover) {
  Grid g(3, 2);
  GridClient& writer = g.client(0);
  for (const auto& [key, city] : std::vector<std::pair<std::string, const char*>>{
           {"o1", "Oslo"}, {"o1", "Oslo"}, {"o2", "Rome"}, {"o3", "Oslo"}}) {
    ASSERT_TRUE(writer.AddItem("m", key, City(city), msg::WriteConcern::kReplicated).ok());
  }
  writer.Set("m", "o1", City("Oslo"));  // An LWW record of the same key: not an OR row.
  OrStream stream;
  const Query oslo{Eq("city", Value{std::string("Oslo")}), {}, std::nullopt};
  auto id = g.client(1).Subscribe("m", oslo, stream.Callback(), {.or_rows = true});
  ASSERT_TRUE(id.ok()) << id.status();
  int lww_rows = 0;
  auto lww = g.client(1).Subscribe("m", oslo, [&](const LiveDelta& d) {
    lww_rows += d.kind == DeltaKind::kLeave ? -1 : (d.kind == DeltaKind::kEnter ? 1 : 0);
  });
  ASSERT_TRUE(lww.ok());
  g.Run(2000);
  EXPECT_EQ(stream.Keys(), (std::vector<std::string>{"o1", "o1", "o3"})) << "equal items coexist";
  EXPECT_EQ(g.client(1).subscription(*id)->Result().size(), 3u);
  EXPECT_EQ(lww_rows, 1) << "the LWW subscription sees the record only";

  // A remove takes both equal items of o1; a failover of the clients' server keeps the rows.
  ASSERT_TRUE(writer.RemoveItem("m", "o1", City("Oslo"), msg::WriteConcern::kReplicated).ok());
  g.Run(2000);
  EXPECT_EQ(stream.Keys(), (std::vector<std::string>{"o3"}));
  g.CrashServer(0);
  g.Run(4000);
  ASSERT_TRUE(writer.AddItem("m", "o4", City("Oslo"), msg::WriteConcern::kReplicated).ok());
  ASSERT_TRUE(writer.AddItem("m", "o2", City("Oslo")).ok());
  g.Run(3000);
  EXPECT_EQ(stream.Keys(), (std::vector<std::string>{"o2", "o3", "o4"}));
  for (const auto& [row, doc] : stream.rows) {  // Rows carry the owners' tags.
    const OrMap* owner_items = g.client(0).OrMapOf("m");
    ASSERT_NE(owner_items, nullptr);
    EXPECT_TRUE(owner_items->GetEntry(row.first)->items.contains(row.second)) << row.first;
  }

  // OR rows page too: two rows a page, by city then key then tag.
  const Query by_city{All(), {SortField{"city", false}}, 2};
  OrStream first, second;
  auto p1 = g.client(1).Subscribe("m", by_city, first.Callback(), {.or_rows = true});
  ASSERT_TRUE(p1.ok());
  g.Run(2000);
  EXPECT_EQ(first.Keys(), (std::vector<std::string>{"o2", "o3"}));
  auto p2 = g.client(1).Subscribe("m", by_city, second.Callback(),
                                  {.cursor = Cursor(g.client(1), *p1), .or_rows = true});
  ASSERT_TRUE(p2.ok()) << p2.status();
  g.Run(2000);
  EXPECT_EQ(second.Keys(), (std::vector<std::string>{"o2", "o4"}));
}

}  // namespace
}  // namespace seedgrid
