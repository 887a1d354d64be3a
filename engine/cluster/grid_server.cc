#include "engine/cluster/grid_server.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <charconv>

#include "engine/base/assert.h"
#include "engine/base/buggify.h"
#include "engine/base/strings.h"
#include "engine/wire/codec.h"

namespace seedgrid {

static_assert(kWirePartitionCount == kPartitionCount);

namespace {

constexpr std::string_view kHlcPage = "H";
constexpr size_t kPendingReplicationsMax = 1 << 16;
constexpr uint64_t kDigestEveryTicks = 5;

// Page names: a kind letter, then length-prefixed parts, so no map name or key can collide.
std::string RecordPage(uint32_t p, std::string_view map, std::string_view key) {
  return fmt::format("R/{}/{}/{}/{}", p, map.size(), map, key);
}
std::string MarkPage(uint32_t p, std::string_view client) {
  return fmt::format("A/{}/{}", p, client);
}
std::string WatermarkPage(uint32_t p) { return fmt::format("W/{}", p); }

// Full states: the sender's whole partition, so its watermark proves what it lacks dead.
bool IsFullState(msg::StatePurpose purpose) {
  return purpose == msg::StatePurpose::kHandoff || purpose == msg::StatePurpose::kSyncReply ||
         purpose == msg::StatePurpose::kSyncPush;
}

bool ParseU64(std::string_view s, uint64_t& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

uint64_t MixMap(std::string_view map, uint64_t digest) {
  if (digest == 0) return 0;
  return XXH3_64bits_withSeed(map.data(), map.size(), digest);
}

uint64_t MarkHash(std::string_view client, uint64_t seq) {
  return XXH3_64bits_withSeed(client.data(), client.size(), seq ^ 0x9e3779b97f4a7c15ull);
}

uint64_t NowMs(Env& env) { return env.clock.NowMs(); }

}  // namespace

uint64_t GridPartition::MapDigest(const std::string& map, uint32_t partition) const {
  auto it = digests.find(map);
  return it == digests.end() ? 0 : it->second.of(partition);
}

uint64_t GridPartition::Digest(uint32_t partition) const {
  if (!digest_stale) return digest_cached;
  uint64_t d = 0;
  for (const auto& [name, digest] : digests) d ^= MixMap(name, digest.of(partition));
  for (const auto& [client, seq] : applied) d ^= MarkHash(client, seq);
  if (pruned_below_ms != 0) d ^= MarkHash("", pruned_below_ms);
  digest_cached = d;
  digest_stale = false;
  return d;
}

absl::StatusOr<std::unique_ptr<GridServer>> GridServer::Open(Env& env, GridServerOptions options) {
  if (absl::Status s = ValidateNodeId(options.node_id); !s.ok()) {
    return absl::InvalidArgumentError(fmt::format("grid server: node id: {}", s.message()));
  }
  if (options.heartbeat_interval_ms == 0 || options.anti_entropy_interval_ms == 0 ||
      options.retry_interval_ms == 0 || options.query_lease_ms == 0 ||
      options.tombstone_grace_ms == 0) {
    return absl::InvalidArgumentError(
        "grid server: timer intervals, query_lease_ms and tombstone_grace_ms must be positive");
  }
  if (options.suspect_after_ms <= options.heartbeat_interval_ms) {
    return absl::InvalidArgumentError(
        "grid server: suspect_after_ms must exceed heartbeat_interval_ms");
  }
  if (!options.join && std::find(options.seeds.begin(), options.seeds.end(), options.node_id) ==
                           options.seeds.end()) {
    return absl::InvalidArgumentError(
        fmt::format("grid server: '{}' is not among the seeds; set join to add it at run time",
                    options.node_id));
  }
  std::vector<NodeId> seeds = options.seeds;
  std::sort(seeds.begin(), seeds.end());
  if (std::adjacent_find(seeds.begin(), seeds.end()) != seeds.end()) {
    return absl::InvalidArgumentError("grid server: duplicate seed");
  }
  for (const NodeId& s : seeds) {
    if (absl::Status st = ValidateNodeId(s); !st.ok()) {
      return absl::InvalidArgumentError(fmt::format("grid server: seed '{}': {}", s, st.message()));
    }
  }
  std::unique_ptr<GridServer> server(new GridServer(env, std::move(options)));
  if (server->options_.persist) {
    if (absl::Status s = server->Restore(); !s.ok()) return s;
  }
  server->env_.network.SetHandler(server->options_.node_id,
                                  [s = server.get()](const NodeId& from, std::string_view bytes) {
                                    s->HandleMessage(from, bytes);
                                  });
  server->Tick();
  server->AntiEntropy();
  return server;
}

GridServer::GridServer(Env& env, GridServerOptions options)
    : env_(env),
      options_(std::move(options)),
      hlc_(env.clock, HlcOptions{options_.node_id, options_.max_drift_ms, DriftMode::kLenient}) {
  partitions_.resize(kPartitionCount);
  opened_ms_ = NowMs(env_);
  for (const NodeId& s : options_.seeds) {
    if (s != options_.node_id) last_heard_ms_[s] = opened_ms_;
  }
}

GridServer::~GridServer() {
  env_.network.SetHandler(options_.node_id, nullptr);
  if (tick_timer_) env_.timers.Cancel(*tick_timer_);
  if (anti_entropy_timer_) env_.timers.Cancel(*anti_entropy_timer_);
}

bool GridServer::left() const {
  if (!leaving_ || table_.Contains(options_.node_id)) return false;
  return std::all_of(partitions_.begin(), partitions_.end(),
                     [](const auto& p) { return p == nullptr; });
}

void GridServer::Send(const NodeId& to, msg::Body body) {
  SG_ASSERT(to != options_.node_id);
  (void)env_.network.Send(options_.node_id, to,
                          EncodeMessage(msg::Envelope{options_.node_id, std::move(body)}));
}

void GridServer::Fail(uint64_t& counter, std::string error) {
  ++counter;
  stats_.last_error = std::move(error);
}

// ------------------------------------------------------------------ storage

absl::Status GridServer::Restore() {
  restoring_ = true;
  for (const std::string& page : env_.storage.List()) {
    absl::StatusOr<std::string> bytes = env_.storage.Read(page);
    if (!bytes.ok()) return bytes.status();
    bool ok = false;
    if (page == kHlcPage) {
      ok = RestoreHlcState(hlc_, *bytes).ok();
    } else if (page.starts_with("R/")) {
      absl::StatusOr<msg::Envelope> e = DecodeMessage(*bytes);
      if (e.ok() && std::holds_alternative<msg::PartitionState>(e->body)) {
        MergeState(std::get<msg::PartitionState>(e->body));
        ok = true;
      }
    } else if (page.starts_with("W/")) {
      uint64_t p = 0, w = 0;
      ok = ParseU64(std::string_view(page).substr(2), p) && p < kPartitionCount &&
           ParseU64(*bytes, w);
      if (ok) {
        GridPartition& held = Hold(static_cast<uint32_t>(p));
        held.pruned_below_ms = std::max(held.pruned_below_ms, w);
        held.Touch();
      }
    } else if (page.starts_with("A/")) {
      const size_t slash = page.find('/', 2);
      uint64_t p = 0, seq = 0;
      ok = slash != std::string::npos && ParseU64(std::string_view(page).substr(2, slash - 2), p) &&
           p < kPartitionCount && ParseU64(*bytes, seq) &&
           ValidateNodeId(page.substr(slash + 1)).ok();
      if (ok) {
        GridPartition& held = Hold(static_cast<uint32_t>(p));
        held.Touch();
        uint64_t& mark = held.applied[page.substr(slash + 1)];
        mark = std::max(mark, seq);
      }
    }
    if (!ok) {
      // A torn or foreign page: only an unsynced write can tear, so what it held was never
      // acknowledged by this server; replicas and anti-entropy supply it again.
      ++stats_.torn_pages_discarded;
      (void)env_.storage.Delete(page);
      dirty_ = true;
    }
  }
  restoring_ = false;
  if (dirty_) SyncStorage();
  return absl::OkStatus();
}

void GridServer::SyncStorage() {
  if (!options_.persist) return;
  (void)env_.storage.Write(kHlcPage, SaveHlcState(hlc_));
  (void)env_.storage.Sync();
  dirty_ = false;
}

GridPartition& GridServer::Hold(uint32_t p) {
  SG_ASSERT(p < kPartitionCount);
  if (!partitions_[p]) partitions_[p] = std::make_unique<GridPartition>();
  return *partitions_[p];
}

void GridServer::Drop(uint32_t p) {
  GridPartition* part = partitions_[p].get();
  if (part == nullptr) return;
  if (queries_.coverage()[p]) {  // Live-query rows point into the partition: take them out first.
    Coverage covered = queries_.coverage();
    covered.reset(p);
    queries_.SetCoverage(covered);
  }
  if (options_.persist) {
    for (const auto& [name, map] : part->maps) {
      for (const auto& [key, record] : map->records()) {
        (void)env_.storage.Delete(RecordPage(p, name, key));
      }
    }
    for (const auto& [client, seq] : part->applied) (void)env_.storage.Delete(MarkPage(p, client));
    if (part->pruned_below_ms != 0) (void)env_.storage.Delete(WatermarkPage(p));
    SyncStorage();
  }
  partitions_[p].reset();
  not_ready_.erase(p);
}

LwwMap& GridServer::MapOf(uint32_t p, const std::string& name) {
  GridPartition& part = Hold(p);
  auto it = part.maps.find(name);
  if (it != part.maps.end()) return *it->second;
  map_names_.insert(name);
  // Digests come from the listener (record_digest.h): no Merkle tree per partition map.
  auto map = std::make_unique<LwwMap>(hlc_, LwwMapOptions{.merkle_depth = 1, .merkle = false});
  PartitionDigests* digests = &part.digests[name];
  GridPartition* owner = &part;
  map->AddListener([this, p, name, digests, owner](const LwwChange& c) {
    digests->Apply(c, p);
    owner->Touch();
    if (queries_.Watching(name)) queries_.OnChange(p, name, c);
    if (restoring_ || !options_.persist) return;
    const std::string page = RecordPage(p, name, c.key);
    if (c.new_record == nullptr) {
      (void)env_.storage.Delete(page);
    } else {
      msg::PartitionState one{
          0,
          p,
          msg::StatePurpose::kHandoff,
          {msg::MapRecords{name, {msg::LwwEntry{std::string(c.key), *c.new_record}}}},
          {}};
      (void)env_.storage.Write(page, EncodeMessage(msg::Envelope{options_.node_id, one}));
    }
    dirty_ = true;
  });
  return *part.maps.emplace(name, std::move(map)).first->second;
}

size_t GridServer::MergeState(const msg::PartitionState& state) {
  size_t changed = 0;
  for (const msg::MapRecords& m : state.maps) {
    LwwMap& map = MapOf(state.partition, m.map_name);
    // Restoring, pages come in any order: the watermark page may precede the records it covers.
    const uint64_t watermark = restoring_ ? 0 : Hold(state.partition).pruned_below_ms;
    for (const msg::LwwEntry& e : m.lww) {
      if (PartitionOf(e.key) != state.partition) {
        Fail(stats_.protocol_errors,
             fmt::format("key '{}' is not in partition {}", e.key, state.partition));
        continue;
      }
      const LwwRecord* r = map.GetRecord(e.key);
      if (r && r->ts == e.record.ts) continue;
      if (r == nullptr && e.record.ts.millis < watermark) {
        // GC invariant: this server holds every live record older than its watermark, so this
        // is a value whose tombstone was pruned; merging it would resurrect it.
        ++stats_.records_refused;
        continue;
      }
      absl::StatusOr<bool> merged = map.Merge(e.key, e.record);
      if (!merged.ok()) {
        Fail(stats_.protocol_errors, std::string(ToStd(merged.status().message())));
      } else if (*merged) {
        ++changed;
      }
    }
  }
  if (IsFullState(state.purpose) && state.pruned_below_ms != 0) AdoptWatermark(state);
  if (!state.applied.empty()) {
    GridPartition& part = Hold(state.partition);
    for (const msg::ClientMark& mark : state.applied) {
      part.Touch();
      uint64_t& seq = part.applied[mark.client];
      // A replicated batch carries only its own records: advancing past a missed batch would
      // mark ops applied whose records this replica lacks. Anti-entropy and handoffs carry whole
      // states, so their marks always apply.
      if (state.purpose == msg::StatePurpose::kReplicate && seq < mark.prev) continue;
      if (mark.seq > seq) {
        seq = mark.seq;
        if (!restoring_ && options_.persist) {
          (void)env_.storage.Write(MarkPage(state.partition, mark.client), std::to_string(seq));
          dirty_ = true;
        }
      }
    }
  }
  return changed;
}

msg::PartitionState GridServer::StateOf(uint32_t p, msg::StatePurpose purpose, uint64_t id,
                                        const std::string& only_map) const {
  msg::PartitionState state{id, p, purpose, {}, {}};
  // A client leaf names its map even when empty, so the client can apply the watermark to it.
  if (!only_map.empty()) state.maps.push_back(msg::MapRecords{only_map, {}});
  const GridPartition* part = partitions_[p].get();
  if (part == nullptr) return state;
  // The watermark claims "I hold every live record before it": not while still pulling.
  if (ready(p)) state.pruned_below_ms = part->pruned_below_ms;
  for (const auto& [name, map] : part->maps) {
    if (!only_map.empty()) {
      if (name != only_map) continue;
      state.maps.back().lww.reserve(map->size());
      for (const auto& [key, record] : map->records())
        state.maps.back().lww.push_back({key, record});
      continue;
    }
    msg::MapRecords records{name, {}};
    records.lww.reserve(map->size());
    for (const auto& [key, record] : map->records()) records.lww.push_back({key, record});
    state.maps.push_back(std::move(records));
  }
  if (only_map.empty()) {
    for (const auto& [client, seq] : part->applied) state.applied.push_back({client, seq});
  }
  return state;
}

// ------------------------------------------------------------------ tombstone GC

void GridServer::SetWatermark(uint32_t p, uint64_t w) {
  GridPartition& part = Hold(p);
  if (w <= part.pruned_below_ms) return;
  part.pruned_below_ms = w;
  part.Touch();
  // Every later stamp of this server is above the watermark, so no new write is ever refused.
  (void)hlc_.Update(Timestamp{w, 0, options_.node_id});
  if (options_.persist && !restoring_) {
    // Written after the records it covers, so a crash before the sync cannot keep it without
    // them (unsynced writes are lost together, and only the last one can tear).
    (void)env_.storage.Write(WatermarkPage(p), std::to_string(w));
    dirty_ = true;
  }
}

void GridServer::AdoptWatermark(const msg::PartitionState& full) {
  const uint32_t p = full.partition;
  const uint64_t w = full.pruned_below_ms;
  GridPartition& part = Hold(p);
  // The sender holds every live record before w: what it lacks before w is dead here too.
  absl::btree_map<std::string, absl::btree_set<std::string>> theirs;
  for (const msg::MapRecords& m : full.maps) {
    auto& keys = theirs[m.map_name];
    for (const msg::LwwEntry& e : m.lww) keys.insert(e.key);
  }
  for (const auto& [name, map] : part.maps) {
    const auto their_keys = theirs.find(name);
    std::vector<std::string> dead;
    for (const auto& [key, record] : map->records()) {
      if (record.ts.millis >= w) continue;
      if (their_keys == theirs.end() || !their_keys->second.contains(key)) dead.push_back(key);
    }
    for (const std::string& key : dead) {
      (void)map->Forget(key);
      ++stats_.records_forgotten;
    }
  }
  SetWatermark(p, w);
}

void GridServer::CollectGarbage() {
  const uint64_t now = NowMs(env_);
  const uint64_t grace = options_.tombstone_grace_ms;
  // Stable: every known server alive (gracefully left ones excepted) and the same table, for a
  // whole grace period, so every copy of every partition has been merged into its owner.
  if (now - std::min(now, stable_since_ms_) < grace) return;
  if (now - std::min(now, last_gc_ms_) < std::max<uint64_t>(grace / 4, 1)) return;
  last_gc_ms_ = now;
  uint64_t low = std::max(hlc_.last().millis, now);
  for (const auto& [node, heard] : last_heard_ms_) {
    if (leaving_peers_.contains(node)) continue;
    if (!stable_alive_.contains(node)) return;
    auto it = peer_hlc_ms_.find(node);
    if (it == peer_hlc_ms_.end()) return;
    low = std::min(low, it->second);
  }
  if (low <= grace) return;
  const uint64_t horizon = low - grace;
  const Timestamp older_than{horizon, 0, ""};
  std::vector<uint32_t> pushes;
  for (uint32_t p = 0; p < kPartitionCount; ++p) {
    GridPartition* part = partitions_[p].get();
    if (part == nullptr || table_.owner(p) != options_.node_id || !ready(p)) continue;
    if (horizon <= part->pruned_below_ms) continue;
    size_t pruned = 0;
    for (const auto& [name, map] : part->maps) pruned += map->Prune(older_than);
    if (pruned == 0) continue;  // The watermark moves only with a prune (it costs a state sync).
    stats_.tombstones_pruned += pruned;
    SetWatermark(p, horizon);
    pushes.push_back(p);
  }
  if (dirty_) SyncStorage();
  // The backups learn the watermark now rather than at the next anti-entropy round.
  for (uint32_t p : pushes) {
    const msg::PartitionState state = StateOf(p, msg::StatePurpose::kSyncPush, 0);
    for (const NodeId& b : table_.replicas(p).backups) Send(b, state);
  }
}

// ------------------------------------------------------------------ membership

absl::btree_set<NodeId> GridServer::Alive() {
  absl::btree_set<NodeId> alive;
  if (!leaving_) alive.insert(options_.node_id);
  const uint64_t now = NowMs(env_);
  for (const auto& [node, heard] : last_heard_ms_) {
    if (now - std::min(now, heard) <= options_.suspect_after_ms && !leaving_peers_.contains(node)) {
      alive.insert(node);
    }
  }
  return alive;
}

void GridServer::Install(PartitionTable table) {
  const PartitionTable old = std::move(table_);
  table_ = std::move(table);
  version_seen_ = std::max(version_seen_, table_.version());
  const NodeId& self = options_.node_id;
  for (uint32_t p = 0; p < kPartitionCount; ++p) {
    const bool owner_now = table_.owner(p) == self;
    const bool owner_before = !old.empty() && old.owner(p) == self;
    if (!owner_now) {
      not_ready_.erase(p);
      continue;
    }
    if (owner_before) continue;
    // A new owner pulls the partition from every replica of the previous table before it takes
    // client ops, so applied marks (and acknowledged writes) are never behind. A server adopting
    // its first table (fresh, restarted, or with a replaced disk) pulls from the other replicas
    // of the new table.
    absl::btree_set<NodeId> awaiting;
    const PartitionReplicas& before = old.empty() ? table_.replicas(p) : old.replicas(p);
    if (before.owner != self) awaiting.insert(before.owner);
    for (const NodeId& b : before.backups) {
      if (b != self) awaiting.insert(b);
    }
    if (!awaiting.empty()) not_ready_[p] = std::move(awaiting);
  }
}

void GridServer::OnHeartbeat(const NodeId& from, const msg::Heartbeat& m) {
  last_heard_ms_[from] = NowMs(env_);
  uint64_t& peer_hlc = peer_hlc_ms_[from];
  peer_hlc = std::max(peer_hlc, m.hlc_ms);
  if (m.leaving) {
    leaving_peers_.insert(from);
  } else {
    leaving_peers_.erase(from);
  }
  if (m.has_digests) {
    auto& dir = directory_[from];
    dir.clear();
    for (const msg::PartitionDigest& d : m.digests) {
      map_names_.insert(d.map_name);
      auto& slots = dir[d.map_name];
      for (size_t i = 0; i < d.partitions.size(); ++i) slots[d.partitions[i]] = d.hashes[i];
    }
  }
  version_seen_ = std::max(version_seen_, m.table_version);
  // Compare (version, author) before building the table: most heartbeats carry the same one.
  const bool newer = table_.empty() || m.table_version > table_.version() ||
                     (m.table_version == table_.version() && m.table_author < table_.author());
  if (!m.members.empty() && m.table_version > 0 && newer) {
    PartitionTable theirs(m.table_version, m.table_author, m.members, options_.backup_count);
    if (table_.empty() || theirs.NewerThan(table_)) {
      ++stats_.tables_adopted;
      Install(std::move(theirs));
    }
  }
  joined_ = true;
}

void GridServer::Tick() {
  const uint64_t now = NowMs(env_);
  if (!joined_ && now - opened_ms_ >= options_.suspect_after_ms) joined_ = true;
  const absl::btree_set<NodeId> alive = Alive();
  if (alive != stable_alive_ || table_.version() != stable_version_) {
    stable_alive_ = alive;
    stable_version_ = table_.version();
    stable_since_ms_ = now;
  }
  // Coordinator: the smallest live id publishes a table when membership changed.
  if (joined_ && !leaving_ && !alive.empty() && *alive.begin() == options_.node_id) {
    std::vector<NodeId> members(alive.begin(), alive.end());
    if (table_.empty() || table_.members() != members) {
      ++stats_.tables_published;
      Install(PartitionTable(version_seen_ + 1, options_.node_id, members, options_.backup_count));
    }
  }
  // Heartbeats, with the digests of owned partitions.
  msg::Heartbeat hb{table_.version(),
                    table_.author(),
                    table_.members(),
                    leaving_,
                    {},
                    false,
                    std::max(hlc_.last().millis, now)};
  // Owned digests ride on every kDigestEveryTicks-th heartbeat (gateways answer client syncs
  // from them, so they may be that much stale; a client's next sync catches up).
  if (!table_.empty() && ticks_++ % kDigestEveryTicks == 0) {
    hb.has_digests = true;
    absl::btree_map<std::string, msg::PartitionDigest> by_map;
    for (uint32_t p = 0; p < kPartitionCount; ++p) {
      const GridPartition* part = partitions_[p].get();
      if (part == nullptr || table_.owner(p) != options_.node_id) continue;
      for (const auto& [name, digests] : part->digests) {
        const uint64_t h = digests.of(p);
        if (h == 0) continue;
        msg::PartitionDigest& d = by_map[name];
        d.map_name = name;
        d.partitions.push_back(p);
        d.hashes.push_back(h);
      }
    }
    for (auto& [name, d] : by_map) hb.digests.push_back(std::move(d));
  }
  absl::btree_set<NodeId> peers(table_.members().begin(), table_.members().end());
  for (const auto& [node, heard] : last_heard_ms_) peers.insert(node);
  for (const NodeId& s : options_.seeds) peers.insert(s);
  peers.erase(options_.node_id);
  for (const NodeId& peer : peers) Send(peer, hb);

  if (joined_ && !table_.empty()) {
    // Readiness pulls: forget replicas that died, resend to the rest.
    absl::btree_map<NodeId, msg::PartitionDigest> pulls;
    for (auto it = not_ready_.begin(); it != not_ready_.end();) {
      absl::btree_set<NodeId>& awaiting = it->second;
      for (auto a = awaiting.begin(); a != awaiting.end();) {
        a = alive.contains(*a) ? std::next(a) : awaiting.erase(a);
      }
      if (awaiting.empty()) {
        it = not_ready_.erase(it);
        continue;
      }
      for (const NodeId& a : awaiting) {
        msg::PartitionDigest& d = pulls[a];
        d.pull = true;
        d.partitions.push_back(it->first);
        d.hashes.push_back(0);
      }
      ++it;
    }
    for (auto& [node, d] : pulls) Send(node, std::move(d));
    // Replication resends; a partition this server no longer owns is not acknowledged here.
    for (auto it = pending_.begin(); it != pending_.end();) {
      PendingReplication& r = it->second;
      if (table_.owner(r.partition) != options_.node_id) {
        it = pending_.erase(it);
        continue;
      }
      // The backups may have changed since the acks came in (a table flapped back): complete
      // here too, not only when an ack arrives.
      if (AllBackupsAcked(r)) {
        Send(r.client, msg::GridAck{std::move(r.acks)});
        it = pending_.erase(it);
        continue;
      }
      if (now - r.sent_ms >= options_.retry_interval_ms) {
        r.sent_ms = now;
        for (const NodeId& b : table_.replicas(r.partition).backups) {
          if (!r.acked.contains(b)) Send(b, r.state);
        }
      }
      ++it;
    }
    // Migration: hand off partitions this server no longer replicates — to the owner and every
    // backup of the current table, and drop them only once all have merged and synced. (Handing
    // off to the owner alone let a rejoining backup stay empty while the old copy was dropped:
    // the owner's disk loss then lost REPLICATED writes; found by grid_durability.)
    for (uint32_t p = 0; p < kPartitionCount; ++p) {
      if (partitions_[p] == nullptr || table_.IsReplica(p, options_.node_id)) continue;
      auto in_flight = std::find_if(handoffs_.begin(), handoffs_.end(),
                                    [p](const auto& h) { return h.second.partition == p; });
      if (in_flight != handoffs_.end()) {
        if (now - in_flight->second.sent_ms < options_.retry_interval_ms) continue;
        handoffs_.erase(in_flight);
      }
      const uint64_t id = next_id_++;
      const PartitionReplicas& r = table_.replicas(p);
      Handoff& h = handoffs_[id];
      h = Handoff{p, now, table_.version(), {}};
      h.awaiting.insert(r.owner);
      h.awaiting.insert(r.backups.begin(), r.backups.end());
      const msg::PartitionState state = StateOf(p, msg::StatePurpose::kHandoff, id);
      for (const NodeId& to : h.awaiting) Send(to, state);
    }
  }
  queries_.Expire(now, options_.query_lease_ms);
  FlushQueries();
  uint64_t delay = options_.heartbeat_interval_ms;
  if (SG_BUGGIFY()) delay = std::max<uint64_t>(1, delay / 4);
  tick_timer_ = env_.timers.Schedule(delay, [this] { Tick(); });
}

void GridServer::AntiEntropy() {
  if (joined_ && !table_.empty() && !SG_BUGGIFY()) {
    absl::btree_map<NodeId, msg::PartitionDigest> digests;
    for (uint32_t p = 0; p < kPartitionCount; ++p) {
      const PartitionReplicas& r = table_.replicas(p);
      if (r.owner != options_.node_id || not_ready_.contains(p)) continue;
      const uint64_t h = partitions_[p] ? partitions_[p]->Digest(p) : 0;
      for (const NodeId& b : r.backups) {
        msg::PartitionDigest& d = digests[b];
        d.partitions.push_back(p);
        d.hashes.push_back(h);
      }
    }
    for (auto& [node, d] : digests) Send(node, std::move(d));
    CollectGarbage();
    FlushQueries();
  }
  anti_entropy_timer_ =
      env_.timers.Schedule(options_.anti_entropy_interval_ms, [this] { AntiEntropy(); });
}

// ------------------------------------------------------------------ protocol

void GridServer::HandleMessage(const NodeId& from, std::string_view bytes) {
  absl::StatusOr<msg::Envelope> e = DecodeMessage(bytes);
  if (!e.ok()) {
    Fail(stats_.decode_errors, std::string(ToStd(e.status().message())));
    return;
  }
  std::visit(
      [&](auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, msg::GridOps>) {
          OnOps(from, std::move(m));
        } else if constexpr (std::is_same_v<T, msg::PartitionState>) {
          OnState(from, m);
        } else if constexpr (std::is_same_v<T, msg::Ack>) {
          OnAck(from, m);
        } else if constexpr (std::is_same_v<T, msg::PartitionDigest>) {
          OnDigest(from, m);
        } else if constexpr (std::is_same_v<T, msg::Heartbeat>) {
          OnHeartbeat(from, m);
        } else if constexpr (std::is_same_v<T, msg::SyncInit>) {
          OnSyncInit(from, m);
        } else if constexpr (std::is_same_v<T, msg::SyncBucketsRequest>) {
          OnBucketsRequest(from, m);
        } else if constexpr (std::is_same_v<T, msg::QuerySubscribe>) {
          OnQuerySubscribe(from, m);
        } else {
          Fail(stats_.protocol_errors,
               fmt::format("unexpected {} from '{}'", msg::BodyName(e->body), from));
        }
      },
      e->body);
  FlushQueries();
}

void GridServer::OnOps(const NodeId& from, msg::GridOps m) {
  if (!joined_ || table_.empty()) return;  // The client retries.
  (void)from;
  // Group by partition, keeping each client's seq order.
  absl::btree_map<uint32_t, std::vector<msg::GridOp*>> by_partition;
  for (msg::GridOp& op : m.ops) by_partition[PartitionOf(op.key)].push_back(&op);
  absl::btree_map<NodeId, msg::GridOps> forward;
  std::vector<msg::GridOpAck> acks;  // sent once storage is synced
  std::vector<std::pair<NodeId, msg::PartitionState>> replicate;
  for (auto& [p, ops] : by_partition) {
    const NodeId& owner = table_.owner(p);
    if (owner == options_.node_id) {
      if (not_ready_.contains(p)) {
        stats_.ops_dropped_not_ready += ops.size();
        continue;
      }
      ApplyOwned(p, m, ops, acks, replicate);
      continue;
    }
    if (m.hops >= kForwardHopsMax) {
      stats_.ops_dropped_hops += ops.size();
      continue;
    }
    msg::GridOps& f = forward[owner];
    f.client = m.client;
    f.gateway = options_.node_id;
    f.hops = static_cast<uint8_t>(m.hops + 1);
    for (const msg::GridOp* op : ops) f.ops.push_back(*op);
    stats_.ops_forwarded += ops.size();
  }
  // Durable before any acknowledgement or replication leaves; one sync for the whole message.
  if (dirty_) SyncStorage();
  if (!acks.empty()) Send(m.client, msg::GridAck{std::move(acks)});
  for (auto& [backup, state] : replicate) Send(backup, std::move(state));
  for (auto& [owner, f] : forward) Send(owner, std::move(f));
}

void GridServer::ApplyOwned(uint32_t p, const msg::GridOps& m, std::vector<msg::GridOp*>& ops,
                            std::vector<msg::GridOpAck>& now_acks,
                            std::vector<std::pair<NodeId, msg::PartitionState>>& replicate) {
  std::sort(ops.begin(), ops.end(),
            [](const msg::GridOp* a, const msg::GridOp* b) { return a->seq < b->seq; });
  GridPartition& part = Hold(p);
  const std::vector<NodeId>& backups = table_.replicas(p).backups;
  std::vector<msg::GridOpAck> replicated_acks;
  absl::btree_map<std::string, absl::btree_set<std::string>> touched;  // map -> keys (backups)
  // One lookup of the client's mark per message (nothing below inserts into `applied`).
  uint64_t& mark = part.applied[m.client];
  const uint64_t mark_before = mark;
  part.Touch();
  const std::string* map_name = nullptr;
  LwwMap* map = nullptr;
  for (msg::GridOp* op : ops) {
    if (map_name == nullptr || *map_name != op->map_name) {
      map_name = &op->map_name;
      map = &MapOf(p, op->map_name);
    }
    if (!backups.empty()) touched[op->map_name].insert(op->key);
    Timestamp ts;
    const bool duplicate = op->seq <= mark;
    if (!duplicate) {
      (void)hlc_.Update(op->client_ts);  // Lenient: a far-ahead client clock is counted.
      // The op is consumed here (the message is this call's own copy).
      ts = op->value ? map->Set(std::move(op->key), *std::move(op->value))
                     : map->Remove(std::move(op->key));
      mark = op->seq;
      ++stats_.ops_applied;
      if (options_.on_applied) options_.on_applied(m.client, op->seq, ts);
    } else {
      ++stats_.ops_duplicate;
      const LwwRecord* current = map->GetRecord(op->key);
      // No record left: the key's tombstone was garbage-collected; the stamp is then 0 (older
      // than anything), never a made-up current one.
      ts = current ? current->ts : Timestamp{0, 0, options_.node_id};
    }
    msg::GridOpAck ack{op->seq, ts, op->concern, duplicate};
    if (op->concern == msg::WriteConcern::kReplicated) {
      replicated_acks.push_back(std::move(ack));
    } else {
      now_acks.push_back(std::move(ack));
    }
  }
  if (mark != mark_before && options_.persist) {
    (void)env_.storage.Write(MarkPage(p, m.client), std::to_string(mark));
    dirty_ = true;
  }
  if (backups.empty()) {
    for (msg::GridOpAck& a : replicated_acks) now_acks.push_back(std::move(a));
    return;
  }
  // Replicate the touched records and the client's mark.
  msg::PartitionState state{next_id_++, p, msg::StatePurpose::kReplicate, {}, {}};
  for (const auto& [name, keys] : touched) {
    msg::MapRecords records{name, {}};
    const LwwMap& map = *part.maps.at(name);
    for (const std::string& key : keys) {
      // A duplicate's key may have no record left: its tombstone was pruned (GC).
      if (const LwwRecord* r = map.GetRecord(key)) records.lww.push_back({key, *r});
    }
    state.maps.push_back(std::move(records));
  }
  state.applied.push_back({m.client, part.applied[m.client], mark_before});
  for (const NodeId& b : backups) replicate.emplace_back(b, state);
  if (replicated_acks.empty()) return;
  if (pending_.size() >= kPendingReplicationsMax) return;  // The client retries.
  const uint64_t id = state.id;
  pending_.emplace(id,
                   PendingReplication{
                       p, std::move(state), {}, m.client, std::move(replicated_acks), NowMs(env_)});
}

bool GridServer::AllBackupsAcked(const PendingReplication& r) const {
  for (const NodeId& b : table_.replicas(r.partition).backups) {
    if (!r.acked.contains(b)) return false;
  }
  return true;
}

void GridServer::OnAck(const NodeId& from, const msg::Ack& m) {
  if (auto h = handoffs_.find(m.batch_id); h != handoffs_.end()) {
    h->second.awaiting.erase(from);
    if (!h->second.awaiting.empty()) return;
    const uint32_t p = h->second.partition;
    const bool same_table = h->second.table_version == table_.version();
    handoffs_.erase(h);
    if (same_table && !table_.IsReplica(p, options_.node_id)) {
      Drop(p);
      ++stats_.partitions_handed_off;
    }
    return;
  }
  auto it = pending_.find(m.batch_id);
  if (it == pending_.end()) return;  // Late or duplicate.
  PendingReplication& r = it->second;
  r.acked.insert(from);
  if (!AllBackupsAcked(r)) return;
  // BUGGIFY-free promise: every backup of the current table applied and synced these records.
  Send(r.client, msg::GridAck{std::move(r.acks)});
  pending_.erase(it);
}

void GridServer::OnState(const NodeId& from, const msg::PartitionState& m) {
  switch (m.purpose) {
    case msg::StatePurpose::kReplicate:
    case msg::StatePurpose::kHandoff: {
      MergeState(m);
      if (dirty_) SyncStorage();
      if (m.purpose == msg::StatePurpose::kHandoff) {
        if (auto it = not_ready_.find(m.partition); it != not_ready_.end()) {
          it->second.erase(from);
          if (it->second.empty()) not_ready_.erase(it);
        }
      }
      if (m.id != 0) Send(from, msg::Ack{m.id, 0, ""});
      return;
    }
    case msg::StatePurpose::kSyncReply: {
      MergeState(m);
      if (dirty_) SyncStorage();
      // The sender's digest is that of the state it sent; push back when ours still differs.
      uint64_t theirs = 0;
      for (const msg::MapRecords& r : m.maps) {
        uint64_t d = 0;
        for (const msg::LwwEntry& e : r.lww) d ^= RecordHash(e.key, e.record);
        theirs ^= MixMap(r.map_name, d);
      }
      for (const msg::ClientMark& mark : m.applied) theirs ^= MarkHash(mark.client, mark.seq);
      if (m.pruned_below_ms != 0) theirs ^= MarkHash("", m.pruned_below_ms);
      const uint64_t ours =
          partitions_[m.partition] ? partitions_[m.partition]->Digest(m.partition) : 0;
      if (ours != theirs) Send(from, StateOf(m.partition, msg::StatePurpose::kSyncPush, 0));
      return;
    }
    case msg::StatePurpose::kSyncPush:
      MergeState(m);
      if (dirty_) SyncStorage();
      return;
    case msg::StatePurpose::kClientRepair: {
      // From a client (at its gateway) or forwarded by one: the owner merges it.
      const bool at_gateway = !table_.empty() && !table_.Contains(from);
      if (at_gateway && table_.owner(m.partition) != options_.node_id) {
        Send(table_.owner(m.partition), m);
        return;
      }
      MergeState(m);
      return;
    }
    case msg::StatePurpose::kClientLeaf:
      Fail(stats_.protocol_errors, fmt::format("ClientLeaf state from '{}'", from));
      return;
  }
}

void GridServer::OnDigest(const NodeId& from, const msg::PartitionDigest& m) {
  if (!m.pull) {
    // Anti-entropy from an owner: answer every partition whose digest differs.
    for (size_t i = 0; i < m.partitions.size(); ++i) {
      const uint32_t p = m.partitions[i];
      const uint64_t ours = partitions_[p] ? partitions_[p]->Digest(p) : 0;
      if (ours != m.hashes[i]) Send(from, StateOf(p, msg::StatePurpose::kSyncReply, 0));
    }
    return;
  }
  if (m.requester.empty()) {
    // A new owner's readiness pull.
    for (uint32_t p : m.partitions) Send(from, StateOf(p, msg::StatePurpose::kHandoff, 0));
    return;
  }
  if (m.map_name.empty()) {
    Fail(stats_.protocol_errors, "client pull without a map name");
    return;
  }
  if (m.requester == from) {
    // A client's pull at its gateway: fan out to the owners.
    if (table_.empty()) return;
    absl::btree_map<NodeId, msg::PartitionDigest> forward;
    for (size_t i = 0; i < m.partitions.size(); ++i) {
      const uint32_t p = m.partitions[i];
      const NodeId& owner = table_.owner(p);
      if (owner == options_.node_id) {
        Send(from, StateOf(p, msg::StatePurpose::kClientLeaf, m.id, m.map_name));
        continue;
      }
      msg::PartitionDigest& f = forward[owner];
      f.id = m.id;
      f.map_name = m.map_name;
      f.pull = true;
      f.requester = m.requester;
      f.partitions.push_back(p);
      f.hashes.push_back(m.hashes[i]);
    }
    for (auto& [owner, f] : forward) Send(owner, std::move(f));
    return;
  }
  // Forwarded client pull: answer the client directly.
  for (uint32_t p : m.partitions) {
    Send(m.requester, StateOf(p, msg::StatePurpose::kClientLeaf, m.id, m.map_name));
  }
}

msg::PartitionDigest GridServer::DirectoryOf(const std::string& map) const {
  // Each partition's digest from its current owner: this server's own live digests, the others'
  // as last gossiped. One pass over the directory, not a lookup per partition.
  std::array<uint64_t, kPartitionCount> slots{};
  for (uint32_t p = 0; p < kPartitionCount; ++p) {
    if (partitions_[p] != nullptr && table_.owner(p) == options_.node_id) {
      slots[p] = partitions_[p]->MapDigest(map, p);
    }
  }
  for (const auto& [owner, maps] : directory_) {
    auto it = maps.find(map);
    if (it == maps.end()) continue;
    for (const auto& [p, h] : it->second) {
      if (table_.owner(p) == owner) slots[p] = h;
    }
  }
  msg::PartitionDigest d;
  d.map_name = map;
  for (uint32_t p = 0; p < kPartitionCount; ++p) {
    if (slots[p] == 0) continue;
    d.partitions.push_back(p);
    d.hashes.push_back(slots[p]);
  }
  return d;
}

void GridServer::OnSyncInit(const NodeId& from, const msg::SyncInit& m) {
  if (table_.empty()) return;
  uint64_t root = 0;
  for (uint64_t h : DirectoryOf(m.map_name).hashes) root ^= h;
  Send(from, msg::SyncRoot{m.map_name, m.kind, m.depth, root});
}

void GridServer::OnBucketsRequest(const NodeId& from, const msg::SyncBucketsRequest& m) {
  if (table_.empty()) return;
  Send(from, DirectoryOf(m.map_name));
}

// ------------------------------------------------------------------ live queries

Coverage GridServer::CoveredNow() const {
  Coverage covered;
  if (table_.empty()) return covered;
  for (uint32_t p = 0; p < kPartitionCount; ++p) {
    covered[p] = table_.owner(p) == options_.node_id && ready(p);
  }
  return covered;
}

void GridServer::OnQuerySubscribe(const NodeId& from, const msg::QuerySubscribe& m) {
  if (table_.empty()) return;  // The client refreshes.
  NodeId client = m.requester;
  if (client.empty()) {
    // From the client: this server is its gateway; every other member serves it too.
    client = from;
    msg::QuerySubscribe forward = m;
    forward.requester = from;
    for (const NodeId& member : table_.members()) {
      if (member != options_.node_id) Send(member, forward);
    }
  }
  UpdateCoverage();
  queries_.OnSubscribe(client, options_.node_id, m, NowMs(env_));
}

void GridServer::UpdateCoverage() {
  // Coverage changes only with the table or the set of partitions still pulling.
  auto signature = std::make_tuple(table_.version(), table_.author(), not_ready_.size());
  if (signature == coverage_signature_) return;
  coverage_signature_ = std::move(signature);
  queries_.SetCoverage(CoveredNow());
}

void GridServer::FlushQueries() {
  if (queries_.subscriptions() == 0) return;
  UpdateCoverage();
  auto updates = queries_.TakeUpdates(
      table_.version(),
      [this] {
        const Timestamp t = hlc_.Now();
        return (t.millis << 16) | (t.counter & 0xffff);
      },
      hlc_.last());
  for (auto& [client, update] : updates) Send(client, std::move(update));
}

}  // namespace seedgrid
