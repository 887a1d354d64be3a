// LWW-Map: a last-writer-wins map of documents keyed by string, with TopGun's semantics.
//
//   Set / Remove stamp the record with hlc.Now(); Remove writes a tombstone (even for a key that
//   was never set), so the delete replicates.
//   Merge(key, remote) always calls hlc.Update(remote.ts) first, then accepts the remote record
//   iff there is no local record or remote.ts > local.ts (strictly; ties keep local). A tie with
//   *different* contents (a re-issued timestamp; never between honest replicas) is broken by the
//   greater RecordHash so replicas still converge, and counted in tie_conflicts().
//   TTL: a record is expired when ts.millis + ttl_ms < clock now (live at equality); expiry only
//   hides the record on read, it stays in the state, the Merkle tree and replication.
//   Prune(older_than) removes tombstones with ts < older_than; Forget(key) removes one record.
//
// Every applied change (set, remove, accepted merge, prune) is reported to listeners as
// (key, old record or null, new record or null, cause) after it is applied. Every record is in
// the Merkle tree with item hash RecordHash(key, record); the tree is updated in O(depth).
// Iteration order is key order (a std::map), so nothing observable depends on hashing; a
// lookup-only hash index of the keys (never iterated) makes lookups one probe.
#ifndef SEEDGRID_ENGINE_CRDT_LWW_MAP_H_
#define SEEDGRID_ENGINE_CRDT_LWW_MAP_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "engine/crdt/listeners.h"
#include "engine/crdt/value.h"
#include "engine/hlc/hlc.h"
#include "engine/merkle/merkle_tree.h"

namespace seedgrid {

// The last millisecond at which a record stamped at ts_millis with `ttl_ms` is live:
// ts_millis + ttl_ms, saturating; UINT64_MAX without a TTL.
uint64_t TtlDeadlineMs(uint64_t ts_millis, std::optional<uint64_t> ttl_ms);
// A TTL given to a write must be positive (as TopGun requires): 0 would expire the record the
// moment it is written. InvalidArgument for 0; OK for no TTL or a positive one. Writes check it;
// merges, the wire and storage accept a 0 already written (see Merge).
absl::Status ValidateTtl(std::optional<uint64_t> ttl_ms);
// True when a record stamped at ts_millis with `ttl_ms` is expired at now_ms:
// TtlDeadlineMs(...) < now_ms, so a record is still live at equality.
bool TtlExpired(uint64_t ts_millis, std::optional<uint64_t> ttl_ms, uint64_t now_ms);

struct LwwRecord {
  std::optional<Document> value;  // nullopt: tombstone.
  Timestamp ts;
  std::optional<uint64_t> ttl_ms;

  bool tombstone() const { return !value.has_value(); }
  // Expired when ts.millis + ttl_ms < now_ms (saturating), live at equality.
  bool ExpiredAt(uint64_t now_ms) const { return TtlExpired(ts.millis, ttl_ms, now_ms); }
  friend bool operator==(const LwwRecord&, const LwwRecord&) = default;
  std::string ToString() const;
};

// The Merkle item hash of a record: XXH3 over key, timestamp, tombstone flag, value digest, ttl.
uint64_t RecordHash(std::string_view key, const LwwRecord& record);

enum class ChangeCause : uint8_t { kLocalWrite, kLocalRemove, kMerge, kPrune };
std::string_view ChangeCauseName(ChangeCause cause);

struct LwwChange {
  std::string_view key;
  const LwwRecord* old_record;  // nullptr: the key had no record.
  const LwwRecord* new_record;  // nullptr: the record was pruned.
  ChangeCause cause;
};

struct LwwMapOptions {
  int merkle_depth = MerkleTree::kDepthDefault;
  // false: no Merkle tree is kept (merkle() stays empty). For owners that keep their own digests
  // from the change listener (the grid's per-partition XOR digests), saving a tree update and a
  // record hash per write.
  bool merkle = true;
};

class LwwMap {
 public:
  // std::map, not a btree: a record (and its Document) stays at the same address until the key is
  // erased (only Prune and Forget erase), which the query layer relies on to reference rows without
  // copies.
  using Records = std::map<std::string, LwwRecord, std::less<>>;

  // `hlc` (and its clock) must outlive the map.
  explicit LwwMap(Hlc& hlc, LwwMapOptions options = {});
  LwwMap(const LwwMap&) = delete;
  LwwMap& operator=(const LwwMap&) = delete;

  // REQUIRES: ValidateTtl(ttl_ms).ok() (asserted; callers taking a TTL from a user check first).
  Timestamp Set(std::string key, Document value, std::optional<uint64_t> ttl_ms = std::nullopt);
  Timestamp Remove(std::string key);

  // Returns true when the remote record was accepted. Errors (nothing changes): a remote
  // timestamp with an invalid node id (InvalidArgument), or one beyond the HLC drift bound in
  // strict mode (FailedPrecondition). A remote TTL of 0 is accepted (expired as it arrives): data
  // written before writes refused it may be stored and replicated, and a merge must take it.
  absl::StatusOr<bool> Merge(std::string key, LwwRecord remote);

  // The live value: nullptr when absent, tombstoned or expired at the clock's now.
  const Document* Get(std::string_view key);
  const Document* GetAt(std::string_view key, uint64_t now_ms) const;
  // The raw record, tombstones and expired records included.
  const LwwRecord* GetRecord(std::string_view key) const;

  // Removes tombstones with ts < older_than; returns how many.
  size_t Prune(const Timestamp& older_than);
  // Removes the key's record (a tombstone or a value) without a trace, reported as kPrune. For
  // garbage collection only: a replica forgets a record the grid has proven dead (see the
  // tombstone GC rule in docs/architecture.md). Returns false when the key has no record.
  bool Forget(std::string_view key);

  const Records& records() const { return records_; }
  size_t size() const { return records_.size(); }
  const MerkleTree& merkle() const { return merkle_; }
  Hlc& hlc() { return hlc_; }
  // Merges that met a record with the same timestamp but different contents.
  uint64_t tie_conflicts() const { return tie_conflicts_; }

  ListenerId AddListener(ListenerSet<LwwChange>::Listener listener) {
    return listeners_.Add(std::move(listener));
  }
  bool RemoveListener(ListenerId id) { return listeners_.Remove(id); }

 private:
  // Where `key` is or would go: one search serves both the lookup and the insert.
  struct Slot {
    Records::iterator it;  // the key's record when found, else the insert hint
    bool found;
  };
  Slot Locate(std::string_view key);
  // Installs `record` for `key` at `slot`, updating the Merkle tree and notifying listeners.
  void Apply(Slot slot, std::string key, LwwRecord record, ChangeCause cause);

  Hlc& hlc_;
  const bool keep_merkle_;
  Records records_;
  // Every record of records_ by key, for lookups in O(1) instead of a string compare per tree
  // level (a grid client looks keys up on every merge, acknowledgement and storage write). The keys
  // borrow the map nodes' keys, which stay put until erased; erasures remove the entry first.
  // sg:lookup-only
  absl::flat_hash_map<std::string_view, Records::iterator> index_;
  MerkleTree merkle_;
  ListenerSet<LwwChange> listeners_;
  uint64_t tie_conflicts_ = 0;
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_CRDT_LWW_MAP_H_
