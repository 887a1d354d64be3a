#include "invariants/grid_checks.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "engine/base/assert.h"
#include "engine/cluster/partition.h"
#include "engine/cluster/record_digest.h"
#include "engine/query/matcher.h"
#include "engine/query/query_engine.h"
#include "engine/query/value_order.h"

namespace seedgrid::invariants {

// ------------------------------------------------------------------ history

void GridHistory::Insert(Seqs& set, uint64_t seq) {
  auto next = set.upper_bound(seq);
  if (next != set.begin()) {
    auto prev = std::prev(next);
    if (seq <= prev->second) return;  // Already in.
    if (prev->second + 1 == seq) {
      prev->second = seq;
      if (next != set.end() && next->first == seq + 1) {
        prev->second = next->second;
        set.erase(next);
      }
      return;
    }
  }
  if (next != set.end() && next->first == seq + 1) {
    const uint64_t last = next->second;
    set.erase(next);
    set.emplace(seq, last);
    return;
  }
  set.emplace(seq, seq);
}

bool GridHistory::Contains(const Seqs& set, uint64_t seq) {
  auto it = set.upper_bound(seq);
  if (it == set.begin()) return false;
  return std::prev(it)->second >= seq;
}

const Timestamp& GridHistory::AppliedOp::KnownAt(const Timestamp& held) const {
  SG_ASSERT(!stamps.empty());
  auto above = std::upper_bound(stamps.begin(), stamps.end(), held);
  return above == stamps.begin() ? stamps.back() : *std::prev(above);
}

std::optional<Violation> GridHistory::OnApplied(const std::string& server, uint32_t disk,
                                                uint64_t clean_syncs, uint32_t partition,
                                                const NodeId& client, uint64_t seq,
                                                const Timestamp& ts, const Timestamp& client_ts) {
  ++applications_;
  auto [op, first] = applied_ops_.try_emplace({client, seq}, AppliedOp{client_ts, {}});
  if (!first && op->second.client_ts != client_ts) {
    return Violation{
        Invariant::kGridLostUpdate,
        fmt::format("server {} applied op-log entry {}#{} as the client's write "
                    "stamped {}, but {}#{} was applied before as the write stamped {}: "
                    "the client reused a sequence number",
                    server, client, seq, client_ts.ToString(), client, seq,
                    op->second.client_ts.ToString())};
  }
  if (auto o = or_ops_.find({client, seq}); o != or_ops_.end() && !o->second.add) {
    or_remove_appliers_[{client, seq}].insert(server);
    or_remove_disks_lost_since_applied_.try_emplace({client, seq});
  }
  auto& stamps = op->second.stamps;
  stamps.insert(std::upper_bound(stamps.begin(), stamps.end(), ts), ts);
  if (auto issued = issued_.find({client, seq}); issued != issued_.end()) {
    applied_values_[{issued->second.map, issued->second.key}][ts] = issued->second.value_hash;
  }
  if (!Contains(logged_seqs_[client], seq)) {
    // The client sent an entry that was not durable in its log: a crash could make it reuse the
    // seq, and the servers would take the new entry for this one (a silently dropped write).
    return Violation{Invariant::kGridExactlyOnce,
                     fmt::format("server {} applied op-log entry {}#{} (stamped {}) that the "
                                 "client had not durably logged",
                                 server, client, seq, ts.ToString())};
  }
  Insert(applied_seqs_[client], seq);
  Unsynced& unsynced = unsynced_[server];
  if (unsynced.clean_syncs != clean_syncs) {  // Everything applied before is durable now.
    unsynced.clean_syncs = clean_syncs;
    unsynced.before.clear();
  }
  MarkKey key{server, disk, partition, client};
  uint64_t& last = last_applied_[key];
  if (seq <= last) {
    return Violation{Invariant::kGridExactlyOnce,
                     fmt::format("server {} applied op-log entry {}#{} (now stamped {}) after it "
                                 "had applied #{} on the same disk: an entry applied twice",
                                 server, client, seq, ts.ToString(), last)};
  }
  unsynced.before.try_emplace(std::move(key), last);
  last = seq;
  return std::nullopt;
}

void GridHistory::OnServerCrash(const std::string& server, uint64_t clean_syncs) {
  auto it = unsynced_.find(server);
  if (it == unsynced_.end()) return;
  if (it->second.clean_syncs == clean_syncs) {
    for (const auto& [key, before] : it->second.before) last_applied_[key] = before;
  }
  unsynced_.erase(it);
}

void GridHistory::OnIssued(const NodeId& client, uint64_t seq, const std::string& map,
                           const std::string& key, uint64_t value_hash) {
  ForgetIssued(client, seq);
  issued_[{client, seq}] = Issued{map, key, value_hash};
}

void GridHistory::ForgetIssued(const NodeId& client, uint64_t seq) {
  issued_.erase({client, seq});
  counter_ops_.erase({client, seq});
  or_ops_.erase({client, seq});
  or_adds_replicated_.erase({client, seq});
  or_adds_applied_.erase({client, seq});
  or_removes_acked_below_replicated_.erase({client, seq});
  or_removes_acked_replicated_.erase({client, seq});
  or_remove_disks_lost_since_applied_.erase({client, seq});
  or_remove_appliers_.erase({client, seq});
}

bool GridHistory::DeletedSince(const std::string& map, const std::string& key,
                               const Timestamp& ts) const {
  auto writes = applied_values_.find({map, key});
  if (writes == applied_values_.end()) return false;
  const uint64_t removed = ValueHash(std::nullopt);
  for (auto w = writes->second.lower_bound(ts); w != writes->second.end(); ++w) {
    if (w->second == removed) return true;
  }
  return false;
}

void GridHistory::OnLogged(const NodeId& client, uint64_t seq) {
  Insert(logged_seqs_[client], seq);
}

void GridHistory::OnAcked(const std::string& map, const std::string& key, const Timestamp& ts,
                          msg::WriteConcern concern, uint64_t at_ns) {
  if (concern == msg::WriteConcern::kFireAndForget) return;
  AckedByKey& by_key = concern == msg::WriteConcern::kReplicated ? replicated_ : applied_;
  auto [it, inserted] = by_key.try_emplace({map, key}, Acked{ts, at_ns});
  if (!inserted && it->second.ts < ts) it->second = Acked{ts, at_ns};
}

void GridHistory::OnDiskLost(uint64_t /*at_ns*/, const std::string& server) {
  for (auto& [op, appliers] : or_remove_appliers_) appliers.erase(server);
  for (auto& [op, lost] : or_remove_disks_lost_since_applied_) lost.insert(server);
  applied_.clear();
  counters_applied_.clear();
  or_adds_applied_.clear();
}

std::optional<Violation> GridHistory::OnAckReceived(const NodeId& client,
                                                    const events::AckReceived& ack,
                                                    uint64_t value_hash, uint64_t at_ns) {
  // Formatted only for a violation: this runs on every acknowledgement.
  const auto op = [&] {
    return fmt::format("{}#{} ({} {}/{}, client stamp {})", client, ack.seq,
                       ack.counter != nullptr                ? "increment"
                       : ack.or_op                           ? "OR op"
                       : ack.value && ack.value->has_value() ? "set"
                                                             : "remove",
                       ack.map, ack.key, ack.client_ts.ToString());
  };
  auto it = applied_ops_.find({client, ack.seq});
  // A duplicate's ack carries the acking server's current stamp of the key; the write's own is
  // the application that server knows of. (The last application anywhere is not it: a server
  // whose mark was behind may have applied the op again, and lost that copy with its disk before
  // it was acknowledged — server_crash_during_replication, seed 8.)
  const Timestamp& ts =
      ack.duplicate && it != applied_ops_.end() ? it->second.KnownAt(ack.ts) : ack.ts;
  // OR ops are not records: the LWW model and the durability of records do not apply to them.
  if (ack.counter == nullptr && !ack.or_op) OnAcked(ack.map, ack.key, ts, ack.concern, at_ns);
  if (it == applied_ops_.end()) {
    return Violation{Invariant::kGridLostUpdate,
                     fmt::format("{} was acknowledged{} but no server ever applied it", op(),
                                 ack.duplicate ? " as a duplicate" : "")};
  }
  if (it->second.client_ts != ack.client_ts) {
    return Violation{
        Invariant::kGridLostUpdate,
        fmt::format("{} was acknowledged{} of another write: the grid applied {}#{} as the write "
                    "stamped {} by the client, so this write is lost (a reused sequence number)",
                    op(), ack.duplicate ? " as a duplicate" : "", client, ack.seq,
                    it->second.client_ts.ToString())};
  }
  if (ack.counter != nullptr) {
    OnCounterAcked(client, ack);
    return std::nullopt;
  }
  if (ack.or_op) {
    OnOrAcked(client, ack);
    return std::nullopt;
  }
  auto [acked, inserted] = acked_values_.try_emplace({ack.map, ack.key});
  if (inserted || acked->second.ts < ts)
    acked->second = AckedValue{ts, value_hash, client, ack.seq};
  return std::nullopt;
}

// ------------------------------------------------------------------ durability

namespace {

const LwwRecord* RecordOf(const GridPartition* part, const std::string& map,
                          const std::string& key) {
  if (part == nullptr) return nullptr;
  auto m = part->maps.find(map);
  return m == part->maps.end() ? nullptr : m->second->GetRecord(key);
}

bool Holds(const GridHistory& history, const GridPartition* part, const std::string& map,
           const std::string& key, const Timestamp& ts) {
  if (part == nullptr) return false;
  const LwwRecord* r = RecordOf(part, map, key);
  if (r == nullptr) return ts.millis < part->pruned_below_ms && history.DeletedSince(map, key, ts);
  return !(r->ts < ts);
}

std::string WhatIsHeld(const std::vector<Holder>& holders, uint32_t p, const std::string& map,
                       const std::string& key) {
  std::string found;
  for (const Holder& h : holders) {
    const GridPartition* part = h.partition(p);
    if (part == nullptr) continue;
    const LwwRecord* r = RecordOf(part, map, key);
    found += fmt::format("; {} holds {} (GC watermark {})", h.name,
                         r ? r->ToString() : std::string("nothing"), part->pruned_below_ms);
  }
  return found;
}

}  // namespace

std::optional<Violation> CheckHeldElsewhere(const GridHistory& history,
                                            const std::vector<Holder>& others,
                                            const std::string& lost) {
  for (const auto& [map_key, acked] : history.replicated()) {
    const auto& [map, key] = map_key;
    const uint32_t p = PartitionOf(key);
    const bool held = std::any_of(others.begin(), others.end(), [&](const Holder& h) {
      return Holds(history, h.partition(p), map, key, acked.ts);
    });
    if (held) continue;
    return Violation{
        Invariant::kGridDurability,
        fmt::format("{}no live server holds the write to {}/{} acknowledged at REPLICATED with "
                    "stamp {}{}",
                    lost.empty() ? "" : fmt::format("{} lost its disk, and ", lost), map, key,
                    acked.ts.ToString(), WhatIsHeld(others, p, map, key))};
  }
  if (auto missing = CounterNotHeld(history.counters_replicated(), others)) {
    return Violation{
        Invariant::kGridDurability,
        fmt::format("{}no live server holds what was acknowledged at REPLICATED of {}",
                    lost.empty() ? "" : fmt::format("{} lost its disk, and ", lost), *missing)};
  }
  if (auto missing = OrAddNotHeld(history, /*replicated=*/true, others)) {
    return Violation{
        Invariant::kGridDurability,
        fmt::format("{}no live server holds {}",
                    lost.empty() ? "" : fmt::format("{} lost its disk, and ", lost), *missing)};
  }
  return std::nullopt;
}

std::optional<Violation> CheckHeldByOwners(
    const GridHistory& history, const std::function<Holder(uint32_t partition)>& owner_of) {
  for (const auto* acked_by_key : {&history.replicated(), &history.applied()}) {
    const bool replicated = acked_by_key == &history.replicated();
    for (const auto& [map_key, acked] : *acked_by_key) {
      const auto& [map, key] = map_key;
      const uint32_t p = PartitionOf(key);
      const Holder owner = owner_of(p);
      const GridPartition* part = owner.partition(p);
      if (Holds(history, part, map, key, acked.ts)) continue;
      const LwwRecord* r = RecordOf(part, map, key);
      return Violation{
          Invariant::kGridDurability,
          fmt::format("a write to {}/{} acknowledged at {} with stamp {} is lost: "
                      "owner {} of partition {} holds {}",
                      map, key, replicated ? "REPLICATED" : "APPLIED", acked.ts.ToString(),
                      owner.name, p, r ? r->ToString() : std::string("nothing"))};
    }
  }
  for (const auto* promised : {&history.counters_replicated(), &history.counters_applied()}) {
    for (const auto& [map_key, writers] : *promised) {
      const uint32_t p = PartitionOf(map_key.second);
      GridHistory::CounterTotals one{{map_key, writers}};
      if (auto missing = CounterNotHeld(one, {owner_of(p)})) {
        return Violation{
            Invariant::kGridDurability,
            fmt::format("an increment acknowledged at {} is lost: {}",
                        promised == &history.counters_replicated() ? "REPLICATED" : "APPLIED",
                        *missing)};
      }
    }
  }
  return std::nullopt;
}

std::optional<Violation> CheckAckedHeld(const GridHistory& history,
                                        const std::vector<Holder>& servers,
                                        const std::string& what) {
  for (const auto* acked_by_key : {&history.replicated(), &history.applied()}) {
    const bool replicated = acked_by_key == &history.replicated();
    for (const auto& [map_key, acked] : *acked_by_key) {
      const auto& [map, key] = map_key;
      const uint32_t p = PartitionOf(key);
      const bool held = std::any_of(servers.begin(), servers.end(), [&](const Holder& h) {
        return Holds(history, h.partition(p), map, key, acked.ts);
      });
      if (held) continue;
      return Violation{Invariant::kGridDurability,
                       fmt::format("after {}, no server holds the write to {}/{} acknowledged at "
                                   "{} with stamp {}{}",
                                   what, map, key, replicated ? "REPLICATED" : "APPLIED",
                                   acked.ts.ToString(), WhatIsHeld(servers, p, map, key))};
    }
  }
  for (const auto* promised : {&history.counters_replicated(), &history.counters_applied()}) {
    if (auto missing = CounterNotHeld(*promised, servers)) {
      return Violation{
          Invariant::kGridDurability,
          fmt::format("after {}, no server holds what was acknowledged at {} of {}", what,
                      promised == &history.counters_replicated() ? "REPLICATED" : "APPLIED",
                      *missing)};
    }
  }
  for (const bool replicated : {true, false}) {
    if (auto missing = OrAddNotHeld(history, replicated, servers)) {
      return Violation{Invariant::kGridDurability,
                       fmt::format("after {}, no server holds {}", what, *missing)};
    }
  }
  return std::nullopt;
}

uint64_t ValueHash(const std::optional<Document>& value) {
  return RecordHash("", LwwRecord{value, Timestamp{}, std::nullopt});
}

std::optional<Violation> CheckAckedValues(
    const GridHistory& history, const std::function<Holder(uint32_t partition)>& owner_of) {
  for (const auto& [map_key, acked] : history.acked_values()) {
    const auto& [map, key] = map_key;
    const uint32_t p = PartitionOf(key);
    const Holder owner = owner_of(p);
    const LwwRecord* r = RecordOf(owner.partition(p), map, key);
    if (r == nullptr || r->ts != acked.ts || ValueHash(r->value) == acked.value_hash) continue;
    return Violation{Invariant::kGridLostUpdate,
                     fmt::format("owner {} holds {}/{} at the stamp {} of acknowledged write "
                                 "{}#{}, but with another value: {}",
                                 owner.name, map, key, acked.ts.ToString(), acked.client, acked.seq,
                                 r->ToString())};
  }
  return std::nullopt;
}

std::optional<Violation> CheckGridLwwModel(
    const GridHistory& history, const std::function<Holder(uint32_t partition)>& owner_of) {
  for (uint32_t p = 0; p < kPartitionCount; ++p) {
    const Holder owner = owner_of(p);
    const GridPartition* part = owner.partition(p);
    if (part == nullptr) continue;
    for (const auto& [map, records] : part->maps) {
      for (const auto& [key, record] : records->records()) {
        auto writes = history.applied_values().find({map, key});
        const uint64_t* hash = nullptr;
        if (writes != history.applied_values().end()) {
          auto w = writes->second.find(record.ts);
          if (w != writes->second.end()) hash = &w->second;
        }
        if (hash != nullptr && *hash == ValueHash(record.value)) continue;
        return Violation{
            Invariant::kGridLwwModel,
            fmt::format("owner {} of partition {} holds {}/{} = {}, {}", owner.name, p, map, key,
                        record.ToString(),
                        hash == nullptr ? "a stamp no application of a client's write produced"
                                        : "but the write applied at that stamp had another value")};
      }
    }
  }
  return std::nullopt;
}

std::optional<Violation> CheckAllApplied(const GridHistory& history) {
  for (const auto& [client, logged] : history.logged_seqs_) {
    auto applied = history.applied_seqs_.find(client);
    for (const auto& [first, last] : logged) {
      // Every logged interval must lie inside one applied interval.
      const GridHistory::Seqs* set =
          applied == history.applied_seqs_.end() ? nullptr : &applied->second;
      uint64_t missing = first;
      if (set != nullptr) {
        auto it = set->upper_bound(first);
        if (it != set->begin()) {
          --it;
          if (it->second >= last) continue;
          if (it->second >= first) missing = it->second + 1;
        }
      }
      return Violation{
          Invariant::kGridExactlyOnce,
          fmt::format("op-log entry {}#{} was durably logged but never applied", client, missing)};
    }
  }
  return std::nullopt;
}

std::optional<Violation> CheckStorageAck(const std::string& node, bool storage_failed,
                                         const events::NodeEvent& event) {
  if (!storage_failed) return std::nullopt;
  if (const auto* a = std::get_if<events::OpAcknowledged>(&event)) {
    if (a->concern == msg::WriteConcern::kFireAndForget) return std::nullopt;
    return Violation{Invariant::kGridStorageAcks,
                     fmt::format("{} acknowledged {}#{} at {} while its storage had a failed write "
                                 "or sync it had not recovered from",
                                 node, a->client, a->seq, msg::WriteConcernName(a->concern))};
  }
  if (const auto* a = std::get_if<events::StateAcknowledged>(&event)) {
    return Violation{Invariant::kGridStorageAcks,
                     fmt::format("{} acknowledged state {} of partition {} to {} while its "
                                 "storage had a failed write or sync it had not recovered from",
                                 node, a->batch_id, a->partition, a->to)};
  }
  return std::nullopt;
}

// ------------------------------------------------------------------ table and convergence

namespace {

std::optional<Difference> TableDifference(const std::vector<ServerView>& servers,
                                          const GridServer*& first) {
  std::vector<NodeId> members;
  for (const ServerView& s : servers) {
    if (s.leaving) return Difference{Invariant::kGridTable, s.name + " has not finished leaving"};
    if (!s.member) continue;
    if (s.server == nullptr || !s.server->joined()) {
      return Difference{Invariant::kGridTable,
                        fmt::format("server {} is down or has not joined", s.name)};
    }
    members.push_back(s.server->node_id());
    if (first == nullptr) first = s.server;
  }
  if (first == nullptr) return Difference{Invariant::kGridTable, "no live server"};
  std::sort(members.begin(), members.end());
  for (const ServerView& s : servers) {
    if (!s.member) continue;
    const PartitionTable& t = s.server->table();
    const PartitionTable& f = first->table();
    if (!t.SameAs(f)) {
      return Difference{
          Invariant::kGridTable,
          fmt::format("{} holds table v{} by '{}' ({}) but {} holds v{} by '{}' ({})", s.name,
                      t.version(), t.author(), fmt::join(t.members(), ","), first->node_id(),
                      f.version(), f.author(), fmt::join(f.members(), ","))};
    }
    if (t.members() != members) {
      return Difference{Invariant::kGridTable,
                        fmt::format("table members ({}) are not the live servers ({})",
                                    fmt::join(t.members(), ","), fmt::join(members, ","))};
    }
    if (s.server->pending_replications() > 0) {
      return Difference{Invariant::kGridConvergence,
                        fmt::format("{} has replications in flight", s.name)};
    }
  }
  return std::nullopt;
}

const GridServer* ServerById(const std::vector<ServerView>& servers, const NodeId& id) {
  for (const ServerView& s : servers) {
    if (s.server != nullptr && s.server->node_id() == id) return s.server;
  }
  return nullptr;
}

std::optional<Difference> PartitionDifference(const std::vector<ServerView>& servers,
                                              const PartitionTable& table, uint32_t p) {
  const PartitionReplicas& r = table.replicas(p);
  const GridServer* owner = ServerById(servers, r.owner);
  SG_ASSERT(owner != nullptr);  // The table's members are the live servers (checked first).
  if (!owner->ready(p)) {
    return Difference{Invariant::kGridConvergence,
                      fmt::format("owner {} of partition {} is not ready", r.owner, p)};
  }
  const GridPartition* op = owner->partition(p);
  const uint64_t d = op ? op->Digest() : 0;
  for (const NodeId& b : r.backups) {
    const GridPartition* bp = ServerById(servers, b)->partition(p);
    if ((bp ? bp->Digest() : 0) != d) {
      return Difference{
          Invariant::kGridConvergence,
          fmt::format("partition {}: backup {} differs from owner {}", p, b, r.owner)};
    }
  }
  for (const ServerView& s : servers) {
    if (s.server == nullptr || table.IsReplica(p, s.server->node_id())) continue;
    if (s.server->partition(p) != nullptr) {
      return Difference{
          Invariant::kGridConvergence,
          fmt::format("{} still holds partition {}, which it does not replicate", s.name, p)};
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<Difference> FindGridDifference(const std::vector<ServerView>& servers,
                                             const std::vector<ClientView>& clients) {
  const GridServer* first = nullptr;
  if (auto d = TableDifference(servers, first)) return d;
  const PartitionTable& table = first->table();
  // Every owner's digest of every (map, partition), gathered once.
  absl::btree_map<std::string, std::array<uint64_t, kPartitionCount>> owner_digests;
  for (uint32_t p = 0; p < kPartitionCount; ++p) {
    if (auto d = PartitionDifference(servers, table, p)) return d;
    const GridPartition* op = ServerById(servers, table.owner(p))->partition(p);
    if (op == nullptr) continue;
    for (const auto& [name, digest] : op->digests) owner_digests[name][p] = digest;
  }
  for (const ClientView& c : clients) {
    if (!c.up) return Difference{Invariant::kGridConvergence, "client " + c.name + " is down"};
    if (c.op_log > 0) {
      return Difference{
          Invariant::kGridExactlyOnce,
          fmt::format("client {} still has {} op-log entries unacknowledged", c.name, c.op_log)};
    }
    const auto owners = owner_digests.find(c.map);
    for (uint32_t p = 0; p < kPartitionCount; ++p) {
      const uint64_t mine = c.digests == nullptr ? 0 : c.digests->of(p);
      if (mine != (owners == owner_digests.end() ? 0 : owners->second[p])) {
        return Difference{Invariant::kGridConvergence,
                          fmt::format("client {} differs from owner {} in partition {}", c.name,
                                      table.owner(p), p)};
      }
    }
  }
  return std::nullopt;
}

}  // namespace seedgrid::invariants
