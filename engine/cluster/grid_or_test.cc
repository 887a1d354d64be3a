// OR-Maps on grid servers (engine/crdt/or_map.h, "Origins"): an owner tags a client's add with its
// own clock and keeps the add's origin; removes name tags or origins; entries replicate, persist,
// merge under the GC watermark and are garbage-collected like records.
#include <gtest/gtest.h>

#include "engine/cluster/grid_testing.h"
#include "engine/cluster/partition_store.h"
#include "engine/env/mem_storage.h"
#include "engine/env/testing/manual_env.h"
#include "engine/wire/codec.h"

namespace seedgrid {
namespace {

using grid_testing::Grid;

msg::GridOp OrAdd(uint64_t seq, std::string key, Document value,
                  msg::WriteConcern concern = msg::WriteConcern::kApplied) {
  msg::GridOp op{seq, concern, "m", std::move(key), std::move(value), Timestamp{seq, 0, "c9"}};
  op.or_kind = msg::OrOpKind::kAdd;
  return op;
}

msg::GridOp OrRemove(uint64_t seq, std::string key, std::vector<Timestamp> tags) {
  msg::GridOp op{seq,          msg::WriteConcern::kApplied, "m", std::move(key),
                 std::nullopt, Timestamp{seq, 0, "c9"}};
  op.or_kind = msg::OrOpKind::kRemove;
  op.or_tags = std::move(tags);
  return op;
}

// Sends ops as client "c9" (no GridClient: its OR support is separate) to server `to`.
void Send(Grid& g, int to, std::vector<msg::GridOp> ops) {
  const msg::GridOps m{"c9", "", 0, std::move(ops)};
  ASSERT_TRUE(g.network.Send("c9", g.server_ids[to], EncodeMessage(msg::Envelope{"c9", m})).ok());
  g.Run(300);
}

// Every server's entry of `key` in map "m", by server index (absent: not held).
std::map<int, OrEntry> Holders(Grid& g, const std::string& key) {
  std::map<int, OrEntry> out;
  for (size_t i = 0; i < g.server_hosts.size(); ++i) {
    const GridPartition* part = g.server(static_cast<int>(i)).partition(PartitionOf(key));
    if (part == nullptr || part->OrMapOf("m") == nullptr) continue;
    const OrEntry* entry = part->OrMapOf("m")->GetEntry(key);
    if (entry != nullptr) out[static_cast<int>(i)] = *entry;
  }
  return out;
}

TEST(GridOrMaps, TheOwnerTagsAnAddKeepsItsOriginAndReplicatesTheEntry) {
  Grid g(3, 0);
  const int owner = g.OwnerIndex("k");
  Send(g, (owner + 1) % 3,
       {OrAdd(1, "k", Document{{"v", 1}}, msg::WriteConcern::kReplicated)});  // via a gateway
  const auto holders = Holders(g, "k");
  ASSERT_EQ(holders.size(), 2u);  // the owner and its backup
  const OrEntry& entry = holders.at(owner);
  ASSERT_EQ(entry.items.size(), 1u);
  const auto& [tag, item] = *entry.items.begin();
  EXPECT_EQ(tag.node_id, g.server_ids[owner]);  // the owner's clock, not the client's
  EXPECT_EQ(item.origin, OrOrigin("c9", 1));
  EXPECT_EQ(item.value, (Document{{"v", 1}}));
  for (const auto& [i, e] : holders) EXPECT_EQ(e, entry) << "server " << i;
  // REPLICATED: acknowledged once the backup holds it, with the item's tag.
  ASSERT_EQ(g.server_acks.size(), 1u);
  EXPECT_EQ(g.server_acks[0].ts, tag);
  EXPECT_FALSE(g.server_acks[0].duplicate);
  // The partition digests agree, and they cover the entry.
  const uint32_t p = PartitionOf("k");
  std::set<uint64_t> digests;
  for (const auto& [i, e] : holders) digests.insert(g.server(i).partition(p)->MapDigest("m"));
  EXPECT_EQ(digests.size(), 1u);
  EXPECT_EQ(*digests.begin(), OrEntryHash("k", entry));
}

TEST(GridOrMaps, ARemoveNamingTheOriginKillsItEverywhereAtTheOwnersTime) {
  Grid g(3, 0);
  const int owner = g.OwnerIndex("k");
  // The client removed its add before it heard the owner's tag: it names the add's origin.
  Send(g, owner,
       {OrAdd(1, "k", Document{{"v", 1}}), OrAdd(2, "k", Document{{"v", 2}}),
        OrRemove(3, "k", {OrOrigin("c9", 1)})});
  const auto holders = Holders(g, "k");
  ASSERT_EQ(holders.size(), 2u);
  const OrEntry& entry = holders.at(owner);
  ASSERT_EQ(entry.items.size(), 1u);
  EXPECT_EQ(entry.items.begin()->second.value, (Document{{"v", 2}}));
  // The origin's kill, at the owner's clock (what the GC horizon measures): any copy of the add
  // that arrives later dies too.
  ASSERT_EQ(entry.tombstones.size(), 1u);
  const Timestamp& kill = *entry.tombstones.begin();
  EXPECT_TRUE(IsOrKill(kill));
  EXPECT_EQ(OrKill(OrOrigin("c9", 1), GcMillis(kill)), kill);
  EXPECT_GE(GcMillis(kill), entry.items.begin()->first.millis);
  for (const auto& [i, e] : holders) EXPECT_EQ(e, entry) << "server " << i;
  EXPECT_EQ((g.applied[{"c9", 3}]), 1);
}

TEST(GridOrMaps, ARemoveNamingATagNoOwnerCouldHaveIssuedIsRefused) {
  Grid g(1, 0);
  Send(g, 0, {OrAdd(1, "k", Document{{"v", 1}})});
  const Timestamp tag = Holders(g, "k").at(0).items.begin()->first;
  // A tag past the HLC's hard bound (2^62 ms): stored as a tombstone, it would make every later
  // merge of the key fail (merges are checked whole) — on backups, in leaves, at a restart.
  const Timestamp future{uint64_t{1} << 62, 0, "s0"};
  Send(g, 0, {OrRemove(2, "k", {future, tag})});
  const OrEntry entry = Holders(g, "k").at(0);
  EXPECT_TRUE(entry.items.empty());
  // The good name still applies: its item's origin is killed.
  ASSERT_EQ(entry.tombstones.size(), 1u);
  EXPECT_EQ(OrKill(OrOrigin("c9", 1), GcMillis(*entry.tombstones.begin())),
            *entry.tombstones.begin());
  EXPECT_EQ(g.server(0).write_stats().or_tags_refused, 1u);
}

TEST(GridOrMaps, ADuplicateAddIsReacknowledgedWithItsTagOrZeroOnceRemoved) {
  Grid g(1, 0);
  Send(g, 0, {OrAdd(1, "k", Document{{"v", 1}})});
  Send(g, 0, {OrAdd(1, "k", Document{{"v", 1}})});  // a resend
  EXPECT_EQ((g.applied[{"c9", 1}]), 1);
  const OrEntry entry = Holders(g, "k").at(0);
  ASSERT_EQ(entry.items.size(), 1u);  // applied once
  ASSERT_EQ(g.server_acks.size(), 2u);
  EXPECT_TRUE(g.server_acks[1].duplicate);
  EXPECT_EQ(g.server_acks[1].ts, entry.items.begin()->first);
  Send(g, 0, {OrRemove(2, "k", {entry.items.begin()->first})});
  Send(g, 0, {OrAdd(1, "k", Document{{"v", 1}})});  // a late resend after the remove
  ASSERT_EQ(g.server_acks.size(), 4u);
  EXPECT_TRUE(g.server_acks[3].duplicate);
  EXPECT_EQ(g.server_acks[3].ts.millis, 0u);  // gone: the client drops its provisional item
  EXPECT_TRUE(Holders(g, "k").at(0).items.empty());
}

TEST(GridOrMaps, AServerRestartRestoresItsOrEntriesFromItsPages) {
  Grid g(1, 0);
  Send(g, 0,
       {OrAdd(1, "k", Document{{"v", 1}}), OrAdd(2, "k", Document{{"v", 2}}),
        OrRemove(3, "k", {OrOrigin("c9", 2)})});
  const OrEntry before = Holders(g, "k").at(0);
  ASSERT_EQ(before.items.size(), 1u);
  ASSERT_EQ(before.tombstones.size(), 1u);
  g.CrashServer(0);
  g.StartServer(0);
  EXPECT_EQ(Holders(g, "k").at(0), before);
  EXPECT_EQ(g.server(0).partition(PartitionOf("k"))->MapDigest("m"), OrEntryHash("k", before));
}

std::vector<std::string> OrPages(Grid& g, int server) {
  std::vector<std::string> out;
  for (const std::string& page : g.server_hosts[server]->storage.List()) {
    if (page.starts_with("O")) out.push_back(page.substr(0, 3));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// An entry is stored item by item: a torn page (the last, unsynced write) takes only what it was
// writing, never the entry's older, acknowledged items (storage_errors, seed 16).
TEST(GridOrMaps, AnEntryIsStoredItemByItemSoATornPageLosesOnlyItsOwnWrite) {
  Grid g(1, 0);
  Send(g, 0,
       {OrAdd(1, "k", Document{{"v", 1}}), OrAdd(2, "k", Document{{"v", 2}}),
        OrRemove(3, "k", {OrOrigin("c9", 2)})});
  const OrEntry before = Holders(g, "k").at(0);
  EXPECT_EQ(OrPages(g, 0), (std::vector<std::string>{"OI/", "OT/"}));
  // The next item's page, torn by a crash before its sync.
  const std::string torn = "OI/" + std::to_string(PartitionOf("k")) + "/1/m/1/k/9:0:s0";
  ASSERT_TRUE(g.server_hosts[0]->storage.Write(torn, "\x01torn").ok());
  ASSERT_TRUE(g.server_hosts[0]->storage.Sync().ok());
  g.CrashServer(0);
  g.StartServer(0);
  EXPECT_EQ(g.server(0).stats().torn_pages_discarded, 1u);
  EXPECT_EQ(Holders(g, "k").at(0), before);
}

// A whole-entry page written by a build before item pages is restored, then rewritten item by
// item and erased.
TEST(GridOrMaps, AWholeEntryPageOfAnOlderBuildIsRestoredAndRewritten) {
  Grid g(1, 0);
  OrEntry entry;
  entry.items[Timestamp{1000, 0, "s0"}] =
      OrItem{Document{{"v", 1}}, std::nullopt, OrOrigin("c9", 1)};
  entry.tombstones.insert(Timestamp{900, 0, "s0"});
  const uint32_t p = PartitionOf("k");
  msg::MapRecords records{"m", {}, {}, {msg::FromOrEntry("k", entry)}};
  msg::PartitionState one{0, p, msg::StatePurpose::kHandoff, {std::move(records)}, {}};
  const std::string legacy = "OR/" + std::to_string(p) + "/1/m/k";
  ASSERT_TRUE(g.server_hosts[0]
                  ->storage.Write(legacy, EncodeMessage(msg::Envelope{"s0", std::move(one)}))
                  .ok());
  ASSERT_TRUE(g.server_hosts[0]->storage.Sync().ok());
  g.CrashServer(0);
  g.StartServer(0);
  EXPECT_EQ(Holders(g, "k").at(0), entry);
  EXPECT_EQ(OrPages(g, 0), (std::vector<std::string>{"OI/", "OT/"}));
  g.CrashServer(0);  // And the rewritten pages restore the same entry.
  g.StartServer(0);
  EXPECT_EQ(Holders(g, "k").at(0), entry);
}

// ---------- clients (GridClient's OR-Maps) ----------

std::vector<Document> ItemsOf(GridClient& c, const std::string& key) {
  std::vector<Document> out;
  for (const Document* d : c.Items("m", key)) out.push_back(*d);
  std::sort(out.begin(), out.end(),
            [](const Document& a, const Document& b) { return a.ToString() < b.ToString(); });
  return out;
}

// Every client's entry of `key` equals the owner's, and so do the partition digests.
void ExpectConverged(Grid& g, const std::string& key) {
  const int owner = g.OwnerIndex(key);
  const OrEntry owners = Holders(g, key).at(owner);
  const uint32_t p = PartitionOf(key);
  for (size_t c = 0; c < g.client_hosts.size(); ++c) {
    GridClient& client = g.client(static_cast<int>(c));
    EXPECT_TRUE(client.op_log().empty()) << "client " << c;
    ASSERT_NE(client.OrMapOf("m"), nullptr) << "client " << c;
    const OrEntry* mine = client.OrMapOf("m")->GetEntry(key);
    ASSERT_NE(mine, nullptr) << "client " << c;
    EXPECT_EQ(*mine, owners) << "client " << c;
    EXPECT_EQ(client.MapDigest("m", p), g.server(owner).partition(p)->MapDigest("m"));
  }
}

TEST(GridOrClients, AddsAndObservedRemovesConvergeOnEveryClient) {
  Grid g(3, 2);
  const Document x{{"v", "x"}}, y{{"v", "y"}};
  ASSERT_TRUE(g.client(0).AddItem("m", "k", x, msg::WriteConcern::kReplicated).ok());
  ASSERT_TRUE(g.client(0).AddItem("m", "k", y).ok());
  EXPECT_EQ(ItemsOf(g.client(0), "k"), (std::vector{x, y}));  // local first
  g.Run(300);  // the acknowledgements, before any sync round: they carry the owner's tags
  for (const auto& [tag, item] : g.client(0).OrMapOf("m")->GetEntry("k")->items) {
    EXPECT_EQ(tag.node_id, g.server_ids[g.OwnerIndex("k")]);
  }
  EXPECT_EQ(g.client(0).stats().leaves_merged, 0u);
  g.client(1).Open("m");
  g.Run(3000);
  EXPECT_EQ(ItemsOf(g.client(1), "k"), (std::vector{x, y}));
  ASSERT_TRUE(g.client(1).RemoveItem("m", "k", x).ok());
  EXPECT_EQ(ItemsOf(g.client(1), "k"), (std::vector{y}));
  EXPECT_EQ(g.client(1).RemoveItem("m", "k", x).status().code(), absl::StatusCode::kNotFound);
  g.Run(3000);
  EXPECT_EQ(ItemsOf(g.client(0), "k"), (std::vector{y}));
  ExpectConverged(g, "k");
  // The owner tagged both adds; the clients hold its tags, not their provisional ones.
  for (const auto& [tag, item] : g.client(0).OrMapOf("m")->GetEntry("k")->items) {
    EXPECT_EQ(tag.node_id, g.server_ids[g.OwnerIndex("k")]);
  }
}

TEST(GridOrClients, AnOfflineAddRemovedBeforeItsAcknowledgementStaysRemoved) {
  Grid g(3, 2);
  g.client(0).GoOffline();
  const Document x{{"v", "x"}};
  ASSERT_TRUE(g.client(0).AddItem("m", "k", x).ok());
  ASSERT_TRUE(g.client(0).RemoveItem("m", "k", x).ok());  // names the add's origin
  EXPECT_TRUE(ItemsOf(g.client(0), "k").empty());
  g.client(1).Open("m");
  g.client(0).GoOnline();
  g.Run(4000);
  EXPECT_TRUE(ItemsOf(g.client(1), "k").empty());
  const OrEntry owners = Holders(g, "k").at(g.OwnerIndex("k"));
  EXPECT_TRUE(owners.items.empty());
  ASSERT_EQ(owners.tombstones.size(), 1u);  // the owner's kill of the add's origin
  EXPECT_TRUE(IsOrKill(*owners.tombstones.begin()));
  EXPECT_EQ(owners.tombstones.begin()->node_id, "c0");
  ExpectConverged(g, "k");  // the client's bare origin tombstone gave way to the kill
}

TEST(GridOrClients, AConcurrentAddSurvivesARemoveThatDidNotSeeIt) {
  Grid g(3, 2);
  const Document x{{"v", "x"}};
  ASSERT_TRUE(g.client(0).AddItem("m", "k", x).ok());
  g.client(1).Open("m");
  g.Run(3000);
  ASSERT_EQ(ItemsOf(g.client(1), "k").size(), 1u);
  g.client(0).GoOffline();
  g.client(1).GoOffline();
  ASSERT_TRUE(g.client(0).RemoveItem("m", "k", x).ok());  // saw only the first add
  ASSERT_TRUE(g.client(1).AddItem("m", "k", x).ok());     // a second, concurrent add
  g.client(0).GoOnline();
  g.client(1).GoOnline();
  g.Run(4000);
  EXPECT_EQ(ItemsOf(g.client(0), "k"), (std::vector{x}));  // add wins
  EXPECT_EQ(ItemsOf(g.client(1), "k"), (std::vector{x}));
  ExpectConverged(g, "k");
}

TEST(GridOrClients, ARestartedClientKeepsItsPendingAddsAndTheirOrigins) {
  Grid g(3, 1);
  g.client(0).GoOffline();
  const Document x{{"v", "x"}};
  ASSERT_TRUE(g.client(0).AddItem("m", "k", x).ok());
  g.client_hosts[0]->client.reset();
  g.client_hosts[0]->storage.Crash();  // synced before AddItem returned
  g.OpenClient(0);
  EXPECT_EQ(ItemsOf(g.client(0), "k"), (std::vector{x}));
  EXPECT_EQ(g.client(0).op_log().size(), 1u);
  g.Run(3000);
  ExpectConverged(g, "k");
  const OrEntry owners = Holders(g, "k").at(g.OwnerIndex("k"));
  ASSERT_EQ(owners.items.size(), 1u);
  EXPECT_EQ(owners.items.begin()->second.origin, OrOrigin("c0", 1));
}

// ---------- the GC watermark (PartitionSet, without a cluster) ----------

struct OrFixture {
  ManualClock clock{1'700'000'000'000};
  Hlc hlc{clock, {.node_id = "s1"}};
  MemStorage storage;
  PartitionStore store{storage, "s1"};
  PartitionSet set{hlc, &store, nullptr, {}};
  const std::string key = "k";
  const uint32_t p = PartitionOf(key);

  msg::PartitionState State(std::vector<OrRecord> items, std::vector<Timestamp> tombstones,
                            msg::StatePurpose purpose = msg::StatePurpose::kReplicate,
                            uint64_t watermark = 0) {
    msg::MapRecords m{"m", {}, {}};
    m.or_keys.push_back(msg::OrKeyState{key, std::move(items), std::move(tombstones)});
    return msg::PartitionState{0, p, purpose, {std::move(m)}, {}, watermark};
  }
  const OrEntry* Entry() const {
    const GridPartition* part = set.get(p);
    return part == nullptr || part->OrMapOf("m") == nullptr ? nullptr
                                                            : part->OrMapOf("m")->GetEntry(key);
  }
};

TEST(GridOrWatermark, AnItemOlderThanTheWatermarkThatAReplicaLacksIsRefused) {
  OrFixture f;
  f.set.SetWatermark(f.p, 5000);
  const Timestamp old_tag{4000, 0, "s2"}, new_tag{6000, 0, "s2"};
  f.set.MergeState(f.State({{old_tag, Document{}, {}, {}}, {new_tag, Document{}, {}, {}}}, {}));
  ASSERT_NE(f.Entry(), nullptr);
  EXPECT_EQ(f.Entry()->items.size(), 1u);  // the old one was removed and its tombstone pruned
  EXPECT_TRUE(f.Entry()->items.contains(new_tag));
  EXPECT_EQ(f.set.stats().records_refused, 1u);
}

TEST(GridOrWatermark, AnOldTombstoneStillTakesItsItemAndIsPrunedAsOursWere) {
  OrFixture f;
  const Timestamp tag{4000, 0, "s2"};
  f.set.MergeState(f.State({{tag, Document{}, {}, {}}}, {}));
  f.set.SetWatermark(f.p, 5000);
  f.set.MergeState(f.State({}, {tag}));
  EXPECT_EQ(f.Entry(), nullptr);  // no item, and no tombstone below the watermark
}

TEST(GridOrWatermark, PruneCollectsOrTombstonesAndRaisesTheWatermark) {
  OrFixture f;
  const Timestamp a{4000, 0, "s2"}, b{7000, 0, "s2"};
  f.set.MergeState(f.State({}, {a, b}));
  EXPECT_EQ(f.set.Prune(f.p, 5000), 1u);
  EXPECT_EQ(f.set.get(f.p)->pruned_below_ms, 5000u);
  ASSERT_NE(f.Entry(), nullptr);
  EXPECT_EQ(f.Entry()->tombstones, absl::btree_set<Timestamp>{b});
}

TEST(GridOrWatermark, AFullStateForgetsTheItemsBeforeItsWatermarkThatItLacks) {
  OrFixture f;
  const Timestamp gone{4000, 0, "s2"}, kept{4500, 0, "s2"}, young{6000, 0, "s2"};
  f.set.MergeState(f.State(
      {{gone, Document{}, {}, {}}, {kept, Document{}, {}, {}}, {young, Document{}, {}, {}}}, {}));
  // The sender holds every live item before 5000: `gone` was removed there and its tombstone
  // pruned; `young` is after the watermark, so its absence proves nothing.
  f.set.MergeState(f.State({{kept, Document{}, {}, {}}}, {}, msg::StatePurpose::kSyncReply, 5000));
  ASSERT_NE(f.Entry(), nullptr);
  EXPECT_EQ(f.Entry()->items.size(), 2u);
  EXPECT_TRUE(f.Entry()->items.contains(kept));
  EXPECT_TRUE(f.Entry()->items.contains(young));
  EXPECT_EQ(f.set.get(f.p)->pruned_below_ms, 5000u);
}

TEST(GridOrWatermark, StatesCarryOrEntriesAndAPageRestoresThem) {
  OrFixture f;
  const Timestamp tag{6000, 0, "s2"};
  f.set.MergeState(f.State({{tag, Document{{"v", 1}}, {}, OrOrigin("c1", 4)}}, {}));
  const msg::PartitionState state =
      f.set.StateOf(f.p, msg::StatePurpose::kSyncReply, 1, /*with_watermark=*/true);
  ASSERT_EQ(state.maps.size(), 1u);
  ASSERT_EQ(state.maps[0].or_keys.size(), 1u);
  EXPECT_EQ(msg::ToOrEntry(state.maps[0].or_keys[0]), *f.Entry());
  EXPECT_EQ(f.set.get(f.p)->MapDigest("m"), msg::RecordsDigest(state.maps[0]));
  ASSERT_TRUE(f.store.Sync(f.hlc).ok());
  Hlc hlc2{f.clock, {.node_id = "s1"}};
  PartitionSet restored{hlc2, nullptr, nullptr, {}};
  restored.set_restoring(true);
  PartitionStore::RestoreSink sink{
      .mark = [](uint32_t, const std::string&, uint64_t) {},
      .hlc = [](std::string_view) { return true; },
      .record = [&](const msg::PartitionState& s) { (void)restored.MergeState(s); },
      .watermark = [](uint32_t, uint64_t) {}};
  ASSERT_TRUE(PartitionStore(f.storage, "s1").Restore(sink).ok());
  ASSERT_NE(restored.get(f.p), nullptr);
  EXPECT_EQ(*restored.get(f.p)->OrMapOf("m")->GetEntry(f.key), *f.Entry());
}

}  // namespace
}  // namespace seedgrid
