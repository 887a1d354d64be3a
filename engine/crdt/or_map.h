// OR-Map (observed-remove map): each key holds a set of values, each added under a unique tag.
//
// Semantics (TopGun's): every Add gets a unique tag, the HLC text of the add (a tag is identified
// by its timestamp; tag() gives the text). Remove(key, value) tombstones every observed tag of
// that key whose value equals `value`. Merge = union of items minus union of tombstoned tags, so
// an add concurrent with a remove survives (add wins): the remove only saw older tags.
// PruneTombstones(older_than) forgets tombstoned tags with ts < older_than (after that, a stale
// replica re-sending such an add could resurrect it; prune only past the sync horizon).
//
// Tombstones are kept per key (TopGun keeps one global set): that way a key's Merkle item covers
// its live items and its tombstones, and key-level anti-entropy ships both.
//
// Origins (the grid; docs/architecture.md, "OR-Maps on the grid"). A grid client adds under a
// provisional tag of its own clock; the partition's owner re-stamps the add with a tag of its
// clock. Both keep the add's `origin`, the identity of the client's op (OrOrigin: millis 0, so it
// is never taken for a clock reading). An item is live while neither its tag nor its origin is
// tombstoned, so a remove that named the origin (the client removed its add before hearing the
// owner's tag) kills the item wherever it goes, and merge stays a union of items and tombstones.
// Items without an origin (the replica path) hash and merge as before.
//
// Kills. An owner applying a client's remove of an item with an origin tombstones the origin as
// a *kill*, OrKill(origin, at_ms): the origin's identity plus the owner's clock reading, with the
// top bit of millis set (no clock reading has it: an HLC refuses millis >= 2^62). A kill takes
// every item of that origin, wherever and whenever it arrives — an add applied twice, by two
// owners across a failover, has two tags and is one item — and is pruned by the GC horizon at
// `at_ms` (GcMillis), like a tag tombstone at its tag. A bare origin tombstone (millis 0: a
// client's own local remove before it hears the owner's kill) is subsumed by a kill of the same
// origin and dropped. An add applied twice shows once: GetAt lists, per origin, its smallest tag
// only (the state keeps both, so merge stays a plain union).
//
// Every applied change is reported as (key, old entry or null, new entry or null, cause).
// Merging always calls hlc.Update for every remote timestamp first.
#ifndef SEEDGRID_ENGINE_CRDT_OR_MAP_H_
#define SEEDGRID_ENGINE_CRDT_OR_MAP_H_

#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/status/statusor.h"
#include "engine/crdt/listeners.h"
#include "engine/crdt/lww_map.h"
#include "engine/crdt/value.h"
#include "engine/hlc/hlc.h"
#include "engine/merkle/merkle_tree.h"

namespace seedgrid {

// The origin of a grid client's add: its op (client, op-log seq) as a timestamp of millis 0.
// REQUIRES seq <= UINT32_MAX (the grid refuses larger OR ops).
Timestamp OrOrigin(const NodeId& client, uint64_t seq);
// The kill of `origin` (an OrOrigin) by an owner whose clock read `at_ms` (REQUIRES < 2^62).
inline constexpr uint64_t kOrKillBit = uint64_t{1} << 63;
Timestamp OrKill(const Timestamp& origin, uint64_t at_ms);
inline bool IsOrKill(const Timestamp& t) { return (t.millis & kOrKillBit) != 0; }
// The clock reading the GC horizon judges a tombstone by: a kill's time, or the tag itself.
inline uint64_t GcMillis(const Timestamp& t) { return t.millis & ~kOrKillBit; }

struct OrItem {
  Document value;
  std::optional<uint64_t> ttl_ms;
  std::optional<Timestamp> origin;  // the grid client's op (OrOrigin; see above)
  friend bool operator==(const OrItem&, const OrItem&) = default;
};

// One item as shipped between replicas: the tag's timestamp plus the item.
struct OrRecord {
  Timestamp tag;
  Document value;
  std::optional<uint64_t> ttl_ms;
  std::optional<Timestamp> origin;
  friend bool operator==(const OrRecord&, const OrRecord&) = default;
};

// Everything a replica knows about one key.
struct OrEntry {
  // std::map: an item stays at the same address until its tag is erased (see LwwMap::Records).
  std::map<Timestamp, OrItem> items;      // Live (not tombstoned) tags.
  absl::btree_set<Timestamp> tombstones;  // Removed tags.
  bool empty() const { return items.empty() && tombstones.empty(); }
  // The live item whose tag or origin is `tag` (end() when none).
  std::map<Timestamp, OrItem>::const_iterator FindByTagOrOrigin(const Timestamp& tag) const;
  friend bool operator==(const OrEntry&, const OrEntry&) = default;
};

uint64_t OrEntryHash(std::string_view key, const OrEntry& entry);

struct OrChange {
  std::string_view key;
  const OrEntry* old_entry;  // nullptr: the key had no entry.
  const OrEntry* new_entry;  // nullptr: the entry became empty and was dropped.
  ChangeCause cause;
};

struct OrMapOptions {
  int merkle_depth = MerkleTree::kDepthDefault;
  // false: no Merkle tree (the grid digests partitions from the listener instead).
  bool merkle = true;
};

class OrMap {
 public:
  // Pointer-stable, like LwwMap::Records: an entry moves only when it is erased (when empty).
  using Entries = std::map<std::string, OrEntry, std::less<>>;

  explicit OrMap(Hlc& hlc, OrMapOptions options = {});
  OrMap(const OrMap&) = delete;
  OrMap& operator=(const OrMap&) = delete;

  // Adds `value` under a fresh tag; returns the tag's timestamp. REQUIRES (asserted):
  // ValidateTtl(ttl_ms).ok(). Grid clients and owners pass the add's OrOrigin.
  Timestamp Add(std::string key, Document value, std::optional<uint64_t> ttl_ms = std::nullopt,
                std::optional<Timestamp> origin = std::nullopt);
  // Tombstones every observed tag of `key` whose value equals `value`; returns those tags.
  std::vector<Timestamp> Remove(std::string_view key, const Document& value);
  // A grid owner applying a client's remove at its clock reading `now_ms`: a named origin (millis
  // 0), or a named tag whose live item has an origin, becomes that origin's kill OrKill(origin,
  // now_ms); another named tag is tombstoned as named (an add this replica has not seen yet dies
  // on arrival). Returns whether anything changed.
  bool RemoveTags(std::string_view key, const std::vector<Timestamp>& tags, uint64_t now_ms);
  // Whether an item with `origin` would be dead here (its origin tombstoned or killed).
  bool OriginDead(std::string_view key, const Timestamp& origin) const;
  // Tombstones exactly `tags` (a grid client's local remove: its own adds' origins, the owners'
  // tags of the others), taking the items whose tag or origin they are. Returns whether anything
  // changed.
  bool TombstoneTags(std::string_view key, const std::vector<Timestamp>& tags);
  // A grid client learning the owner's tag `settled` for its add: an item under `provisional`
  // moves to `settled` keeping its origin (or goes, when `settled` is already here or dead), and a
  // tombstone `provisional` becomes `settled`. `settled` passes the HLC's drift check and update as
  // a merged tag would (refused: nothing changes). Returns whether anything changed.
  bool Retag(std::string_view key, const Timestamp& provisional, const Timestamp& settled);
  // Forgets the item or tombstone `tag` of `key` (no tombstone is left). Returns whether it was
  // there.
  bool ForgetTag(std::string_view key, const Timestamp& tag);
  // Forgets every item and tombstone of `key` tagged in `tags`, as one change (one listener call,
  // not one per tag: a sweep of a key's many dead tags). Returns how many were there. `tags` must
  // not point into this map's entries (pass copies: the erase frees them).
  size_t ForgetTags(std::string_view key, std::span<const Timestamp> tags);

  // Merges a remote replica's knowledge of `key`. Returns true when anything changed.
  // Errors (nothing changes): an invalid node id in any tag (InvalidArgument); an item origin
  // that is not an OrOrigin (millis != 0: kills match origins by (seq, client), so it would be
  // dead to one replica and alive to another; InvalidArgument); a tag beyond the HLC drift bound
  // in strict mode (FailedPrecondition). A tag with two payloads (bad input: honest tags are
  // unique per add) keeps the larger hash, which is commutative but not associative once an
  // origin tombstone takes one of the two: such replicas may stay different.
  absl::StatusOr<bool> Merge(std::string key, const std::vector<OrRecord>& items,
                             const std::vector<Timestamp>& tombstones);
  absl::StatusOr<bool> MergeEntry(std::string key, const OrEntry& remote);

  // Live, unexpired values of `key` in tag order (an origin's smallest tag only; see "Kills").
  std::vector<const Document*> Get(std::string_view key);
  std::vector<const Document*> GetAt(std::string_view key, uint64_t now_ms) const;
  const OrEntry* GetEntry(std::string_view key) const;

  // Forgets tombstones with ts < older_than (kills: GcMillis < older_than.millis); returns how
  // many.
  size_t PruneTombstones(const Timestamp& older_than);
  // Forgets one live item without a tombstone (a grid replica adopting a GC watermark: the item
  // was removed elsewhere and its tombstone pruned). Returns whether it was there.
  bool ForgetItem(std::string_view key, const Timestamp& tag);

  const Entries& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }
  const MerkleTree& merkle() const { return merkle_; }
  Hlc& hlc() { return hlc_; }

  ListenerId AddListener(ListenerSet<OrChange>::Listener listener) {
    return listeners_.Add(std::move(listener));
  }
  bool RemoveListener(ListenerId id) { return listeners_.Remove(id); }

 private:
  // Applies `mutate(entry)` to the entry of `key` in place (created empty if absent). `mutate`
  // returns whether it changed anything and must not fail part-way. Then drops an empty entry,
  // updates the Merkle tree and notifies listeners. The old entry is copied only when someone
  // listens. Returns whether anything changed.
  template <typename Mutate>
  bool Modify(std::string_view key, ChangeCause cause, Mutate&& mutate);

  Hlc& hlc_;
  Entries entries_;
  bool merkle_enabled_;
  MerkleTree merkle_;
  ListenerSet<OrChange> listeners_;
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_CRDT_OR_MAP_H_
