#include "engine/replica/replica.h"

#include <fmt/format.h>

#include "engine/base/assert.h"
#include "engine/base/buggify.h"
#include "engine/base/strings.h"
#include "engine/wire/codec.h"

namespace seedgrid {

msg::OrKeyState ToKeyState(const std::string& key, const OrEntry& entry) {
  msg::OrKeyState state{key, {}, {}};
  for (const auto& [tag, item] : entry.items) state.items.push_back({tag, item.value, item.ttl_ms});
  state.tombstones.assign(entry.tombstones.begin(), entry.tombstones.end());
  return state;
}

Replica::Replica(Env& env, ReplicaOptions options)
    : env_(env),
      options_(std::move(options)),
      hlc_(env.clock, HlcOptions{options_.node_id, options_.max_drift_ms, options_.drift_mode}) {
  SG_ASSERT(options_.batch_records_max > 0);
  env_.network.SetHandler(options_.node_id, [this](const NodeId& from, std::string_view bytes) {
    HandleMessage(from, bytes);
  });
}

Replica::~Replica() { env_.network.SetHandler(options_.node_id, nullptr); }

LwwMap& Replica::lww(std::string_view name) {
  auto it = lww_.find(ToAbsl(name));
  if (it != lww_.end()) return *it->second;
  SG_ASSERT(!or_.contains(ToAbsl(name)));
  auto map = std::make_unique<LwwMap>(hlc_, LwwMapOptions{options_.merkle_depth});
  const std::string map_name(name);
  map->AddListener([this, map_name](const LwwChange& c) {
    if (c.cause == ChangeCause::kLocalWrite || c.cause == ChangeCause::kLocalRemove) {
      lww_outbox_[map_name][std::string(c.key)] = *c.new_record;
      if (hooks_.on_outbox) hooks_.on_outbox();
    }
  });
  LwwMap& result = *lww_.emplace(map_name, std::move(map)).first->second;
  if (hooks_.on_lww) hooks_.on_lww(map_name, result);
  return result;
}

OrMap& Replica::orm(std::string_view name) {
  auto it = or_.find(ToAbsl(name));
  if (it != or_.end()) return *it->second;
  SG_ASSERT(!lww_.contains(ToAbsl(name)));
  auto map = std::make_unique<OrMap>(hlc_, OrMapOptions{options_.merkle_depth});
  const std::string map_name(name);
  map->AddListener([this, map_name](const OrChange& c) {
    if (c.cause == ChangeCause::kLocalWrite || c.cause == ChangeCause::kLocalRemove) {
      SG_ASSERT(c.new_entry != nullptr);
      or_outbox_[map_name][std::string(c.key)] = *c.new_entry;
      if (hooks_.on_outbox) hooks_.on_outbox();
    }
  });
  OrMap& result = *or_.emplace(map_name, std::move(map)).first->second;
  if (hooks_.on_or) hooks_.on_or(map_name, result);
  return result;
}

PnCounter& Replica::counter(std::string_view name) {
  auto it = pn_.find(ToAbsl(name));
  if (it != pn_.end()) return *it->second;
  auto counter = std::make_unique<PnCounter>(options_.node_id);
  const std::string counter_name(name);
  // Only local changes go to the outbox: re-broadcasting every merged state would make each
  // increment echo through the whole group (n^2 messages); anti-entropy pushes full states anyway.
  counter->AddListener([this, counter_name](const PnChange&) {
    if (merging_counter_) return;
    pn_outbox_[counter_name] = true;
    if (hooks_.on_outbox) hooks_.on_outbox();
  });
  PnCounter& result = *pn_.emplace(counter_name, std::move(counter)).first->second;
  if (hooks_.on_counter) hooks_.on_counter(counter_name, result);
  return result;
}

void Replica::Send(const NodeId& to, msg::Body body) {
  const std::string_view name = msg::BodyName(body);
  SendEncoded(to, name, EncodeMessage(msg::Envelope{options_.node_id, std::move(body)}));
}

void Replica::SendToEach(std::span<const NodeId> targets, msg::Body body) {
  const std::string_view name = msg::BodyName(body);
  // One encoding for every target: the envelope names the sender, not the receiver.
  const std::string bytes = EncodeMessage(msg::Envelope{options_.node_id, std::move(body)});
  for (const NodeId& to : targets) {
    if (to != options_.node_id) SendEncoded(to, name, bytes);
  }
}

void Replica::SendEncoded(const NodeId& to, std::string_view name, const std::string& bytes) {
  if (bytes.size() > kWireMessageBytesMax) {
    // Never send what the peer's decoder must reject. (A leaf or batch this large needs paging,
    // which the replica does not do yet; the error makes the gap visible.)
    Fail(stats_.protocol_errors,
         fmt::format("{} to '{}' is {} bytes, over the {}-byte message limit; not sent", name, to,
                     bytes.size(), kWireMessageBytesMax));
    return;
  }
  if (absl::Status s = env_.network.Send(options_.node_id, to, bytes); !s.ok()) {
    Fail(stats_.protocol_errors, std::string(s.message()));
    return;
  }
  ++stats_.messages_sent;
}

void Replica::Fail(uint64_t& counter, std::string error) {
  ++counter;
  stats_.last_error = std::move(error);
}

void Replica::Flush(const std::vector<NodeId>& peers) {
  std::vector<msg::Body> bodies;
  // Buggify: split the outbox into tiny batches (receivers must not care how changes are grouped).
  const size_t batch_records_max =
      SG_BUGGIFY() ? 1 + env_.random.Uniform(3) : options_.batch_records_max;
  for (auto& [name, records] : lww_outbox_) {
    msg::OpBatch batch{0, name, {}, {}};
    for (auto& [key, record] : records) {
      batch.lww.push_back({key, std::move(record)});
      if (batch.lww.size() == batch_records_max) {
        bodies.push_back(std::move(batch));
        batch = msg::OpBatch{0, name, {}, {}};
      }
    }
    if (!batch.lww.empty()) bodies.push_back(std::move(batch));
  }
  for (auto& [name, entries] : or_outbox_) {
    msg::OpBatch batch{0, name, {}, {}};
    for (auto& [key, entry] : entries) {
      batch.or_entries.push_back(ToKeyState(key, entry));
      if (batch.or_entries.size() == batch_records_max) {
        bodies.push_back(std::move(batch));
        batch = msg::OpBatch{0, name, {}, {}};
      }
    }
    if (!batch.or_entries.empty()) bodies.push_back(std::move(batch));
  }
  for (const auto& [name, dirty] : pn_outbox_) {
    bodies.push_back(msg::PnCounterState{name, pn_.at(name)->state()});
  }
  lww_outbox_.clear();
  or_outbox_.clear();
  pn_outbox_.clear();
  for (msg::Body& body : bodies) {
    if (auto* batch = std::get_if<msg::OpBatch>(&body)) batch->batch_id = next_batch_id_++;
    SendToEach(peers, std::move(body));
  }
}

void Replica::SyncWith(const NodeId& peer) {
  for (const auto& [name, map] : lww_) {
    Send(peer, msg::SyncInit{name, msg::MapKind::kLww, static_cast<uint8_t>(options_.merkle_depth),
                             map->merkle().root()});
  }
  for (const auto& [name, map] : or_) {
    Send(peer, msg::SyncInit{name, msg::MapKind::kOr, static_cast<uint8_t>(options_.merkle_depth),
                             map->merkle().root()});
  }
  // Counters are tiny: push the full state instead of a pull.
  for (const auto& [name, counter] : pn_) Send(peer, msg::PnCounterState{name, counter->state()});
}

void Replica::HandleMessage(const NodeId& from, std::string_view bytes) {
  ++stats_.messages_received;
  absl::StatusOr<msg::Envelope> envelope = DecodeMessage(bytes);
  if (!envelope.ok()) {
    Fail(stats_.decode_errors,
         fmt::format("message from '{}': {}", from, envelope.status().message()));
    return;
  }
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, msg::OpBatch>) OnOpBatch(from, m);
        if constexpr (std::is_same_v<T, msg::SyncInit>) OnSyncInit(from, m);
        if constexpr (std::is_same_v<T, msg::SyncRoot>) OnSyncRoot(from, m);
        if constexpr (std::is_same_v<T, msg::SyncBucketsRequest>) OnBucketsRequest(from, m);
        if constexpr (std::is_same_v<T, msg::SyncBuckets>) OnBuckets(from, m);
        if constexpr (std::is_same_v<T, msg::SyncLeafRequest>) OnLeafRequest(from, m);
        if constexpr (std::is_same_v<T, msg::SyncLeaf>) OnLeaf(m);
        if constexpr (std::is_same_v<T, msg::OrMapDiff>) MergeOr(m.map_name, m.entries);
        if constexpr (std::is_same_v<T, msg::PnCounterState>) OnPnState(m);
        if constexpr (std::is_same_v<T, msg::Ack>) {
          if (!m.error.empty())
            Fail(stats_.protocol_errors, "peer '" + from + "' nacked: " + m.error);
        }
      },
      envelope->body);
}

bool Replica::KindConflict(const std::string& map_name, msg::MapKind kind) {
  const bool conflict =
      kind == msg::MapKind::kLww ? or_.contains(map_name) : lww_.contains(map_name);
  if (conflict) {
    Fail(stats_.protocol_errors, fmt::format("map '{}' is an {} map here; the peer sent {} data",
                                             map_name, kind == msg::MapKind::kLww ? "OR" : "LWW",
                                             kind == msg::MapKind::kLww ? "LWW" : "OR"));
  }
  return conflict;
}

bool Replica::NoteMerge(const std::string& map_name, const std::string& key,
                        const absl::StatusOr<bool>& merged) {
  if (!merged.ok()) {
    Fail(stats_.merge_errors,
         fmt::format("map '{}' key '{}': {}", map_name, key, merged.status().message()));
    return true;
  }
  if (*merged) ++stats_.records_merged;
  return false;
}

uint64_t Replica::MergeLww(const std::string& map_name, const std::vector<msg::LwwEntry>& entries) {
  if (entries.empty()) return 0;
  if (KindConflict(map_name, msg::MapKind::kLww)) return entries.size();
  LwwMap& map = lww(map_name);
  uint64_t failed = 0;
  for (const msg::LwwEntry& e : entries)
    failed += NoteMerge(map_name, e.key, map.Merge(e.key, e.record));
  return failed;
}

uint64_t Replica::MergeOr(const std::string& map_name,
                          const std::vector<msg::OrKeyState>& entries) {
  if (entries.empty()) return 0;
  if (KindConflict(map_name, msg::MapKind::kOr)) return entries.size();
  OrMap& map = orm(map_name);
  uint64_t failed = 0;
  for (const msg::OrKeyState& e : entries) {
    failed += NoteMerge(map_name, e.key, map.Merge(e.key, e.items, e.tombstones));
  }
  return failed;
}

void Replica::OnOpBatch(const NodeId& from, const msg::OpBatch& m) {
  // Two statements: the order matters (the first creates the map) and must not be left to the
  // compiler's choice of operand evaluation order.
  uint64_t failed = MergeLww(m.map_name, m.lww);
  failed += MergeOr(m.map_name, m.or_entries);
  const uint64_t total = m.lww.size() + m.or_entries.size();
  Send(from, msg::Ack{m.batch_id, static_cast<uint32_t>(total - failed),
                      failed == 0 ? std::string() : stats_.last_error});
}

const MerkleTree* Replica::TreeOf(std::string_view map_name, msg::MapKind kind) {
  if (kind == msg::MapKind::kLww) {
    auto it = lww_.find(ToAbsl(map_name));
    return it == lww_.end() ? nullptr : &it->second->merkle();
  }
  auto it = or_.find(ToAbsl(map_name));
  return it == or_.end() ? nullptr : &it->second->merkle();
}

void Replica::OnSyncInit(const NodeId& from, const msg::SyncInit& m) {
  if (m.depth != options_.merkle_depth) {
    Fail(stats_.protocol_errors, fmt::format("sync of '{}' from '{}': depth {} != local {}",
                                             m.map_name, from, m.depth, options_.merkle_depth));
    return;
  }
  if (KindConflict(m.map_name, m.kind)) return;
  const MerkleTree* tree = TreeOf(m.map_name, m.kind);
  const uint64_t local_root = tree ? tree->root() : 0;
  Send(from, msg::SyncRoot{m.map_name, m.kind, m.depth, local_root});
  // Buggify: skip the pull-back; the responder's own anti-entropy rounds must repair it later.
  if (m.root_hash != 0 && m.root_hash != local_root && !SG_BUGGIFY()) {
    // The initiator has something we may lack: pull it back (creating the map if it is new).
    SG_PROBE("replica.sync_pulls_back");
    if (tree == nullptr) SG_PROBE("replica.map_learned_by_sync");
    if (m.kind == msg::MapKind::kLww) lww(m.map_name);
    if (m.kind == msg::MapKind::kOr) orm(m.map_name);
    Send(from, msg::SyncBucketsRequest{m.map_name, {}});
  }
}

void Replica::OnSyncRoot(const NodeId& from, const msg::SyncRoot& m) {
  if (m.depth != options_.merkle_depth) {
    Fail(stats_.protocol_errors, fmt::format("sync root of '{}' from '{}': depth {} != local {}",
                                             m.map_name, from, m.depth, options_.merkle_depth));
    return;
  }
  const MerkleTree* tree = TreeOf(m.map_name, m.kind);
  const uint64_t local_root = tree ? tree->root() : 0;
  if (m.root_hash == 0 || m.root_hash == local_root) return;  // Nothing to pull.
  if (KindConflict(m.map_name, m.kind)) return;
  if (tree == nullptr) SG_PROBE("replica.map_learned_by_sync");
  // Remember the kind through the map's existence: create it so replies can be routed.
  if (m.kind == msg::MapKind::kLww) lww(m.map_name);
  if (m.kind == msg::MapKind::kOr) orm(m.map_name);
  Send(from, msg::SyncBucketsRequest{m.map_name, {}});
}

void Replica::OnBucketsRequest(const NodeId& from, const msg::SyncBucketsRequest& m) {
  // Map names are unique across kinds, so at most one tree matches.
  for (msg::MapKind kind : {msg::MapKind::kLww, msg::MapKind::kOr}) {
    const MerkleTree* tree = TreeOf(m.map_name, kind);
    if (tree == nullptr) continue;
    absl::StatusOr<MerkleTree::ChildHashes> children = tree->Children(m.path);
    if (!children.ok()) {
      Fail(stats_.protocol_errors, std::string(children.status().message()));
      return;
    }
    Send(from, msg::SyncBuckets{m.map_name, m.path, *children});
    return;
  }
}

void Replica::Descend(const NodeId& from, const std::string& map_name, std::vector<uint8_t> path) {
  if (path.size() == static_cast<size_t>(options_.merkle_depth)) {
    Send(from, msg::SyncLeafRequest{map_name, std::move(path)});
  } else {
    Send(from, msg::SyncBucketsRequest{map_name, std::move(path)});
  }
}

void Replica::OnBuckets(const NodeId& from, const msg::SyncBuckets& m) {
  const MerkleTree* tree = TreeOf(m.map_name, msg::MapKind::kLww);
  if (tree == nullptr) tree = TreeOf(m.map_name, msg::MapKind::kOr);
  if (tree == nullptr) {
    Fail(stats_.protocol_errors, fmt::format("buckets for unknown map '{}'", m.map_name));
    return;
  }
  absl::StatusOr<MerkleTree::ChildHashes> local = tree->Children(m.path);
  if (!local.ok()) {
    Fail(stats_.protocol_errors, std::string(local.status().message()));
    return;
  }
  for (uint8_t digit = 0; digit < MerkleTree::kFanout; ++digit) {
    if (m.hashes[digit] == 0 || m.hashes[digit] == (*local)[digit]) continue;
    if ((*local)[digit] == 0) SG_PROBE("replica.sync_subtree_missing_here");
    std::vector<uint8_t> child = m.path;
    child.push_back(digit);
    Descend(from, m.map_name, std::move(child));
  }
}

void Replica::OnLeafRequest(const NodeId& from, const msg::SyncLeafRequest& m) {
  msg::SyncLeaf leaf{m.map_name, m.path, {}, {}};
  if (auto it = lww_.find(ToAbsl(m.map_name)); it != lww_.end()) {
    absl::StatusOr<std::vector<std::pair<std::string, uint64_t>>> items =
        it->second->merkle().LeafItems(m.path);
    if (!items.ok()) {
      Fail(stats_.protocol_errors, std::string(items.status().message()));
      return;
    }
    for (const auto& [key, hash] : *items) leaf.lww.push_back({key, *it->second->GetRecord(key)});
  }
  if (auto it = or_.find(ToAbsl(m.map_name)); it != or_.end()) {
    absl::StatusOr<std::vector<std::pair<std::string, uint64_t>>> items =
        it->second->merkle().LeafItems(m.path);
    if (!items.ok()) {
      Fail(stats_.protocol_errors, std::string(items.status().message()));
      return;
    }
    for (const auto& [key, hash] : *items) {
      leaf.or_entries.push_back(ToKeyState(key, *it->second->GetEntry(key)));
    }
  }
  Send(from, std::move(leaf));
}

void Replica::OnLeaf(const msg::SyncLeaf& m) {
  ++stats_.leaves_pulled;
  const uint64_t merged_before = stats_.records_merged;
  MergeLww(m.map_name, m.lww);
  MergeOr(m.map_name, m.or_entries);
  // Anti-entropy repaired something the broadcast had not delivered.
  if (stats_.records_merged > merged_before) SG_PROBE("replica.sync_leaf_repaired");
}

void Replica::OnPnState(const msg::PnCounterState& m) {
  PnCounter& target = counter(m.name);
  // A peer knows more of this node's own totals than the node itself: the node lost increments
  // it had made (only a lost disk, or an increment whose sync failed, can do that).
  const auto remote_own = m.entries.find(options_.node_id);
  const auto own = target.state().find(options_.node_id);
  if (remote_own != m.entries.end() &&
      (own == target.state().end() || remote_own->second.positive > own->second.positive ||
       remote_own->second.negative > own->second.negative)) {
    SG_PROBE("pn.own_total_raised_by_peer");
  }
  merging_counter_ = true;
  const absl::Status s = target.Merge(m.entries);
  merging_counter_ = false;
  if (!s.ok()) {
    Fail(stats_.merge_errors, fmt::format("counter '{}': {}", m.name, s.message()));
  }
}

}  // namespace seedgrid
