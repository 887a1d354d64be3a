// IndexedLwwMap / IndexedOrMap: attach a QueryEngine to a CRDT map so that every change of the map
// (local writes, remote merges, tombstones, prune) keeps rows, indexes and live queries exact, and
// TTL expiry (against the map's Env clock) removes rows as it comes due.
//
// The indexed map listens to the map; write through the map as usual (map().Set(...), Merge...).
// The map must outlive the indexed map. Rows of an LWW-Map are its live records; rows of an OR-Map
// are its live items, one per (key, tag).
//
// Expiry runs before every query and every change; give `timers` to also wake up when the next
// row is due, so live subscribers hear the LEAVE without other activity.
#ifndef SEEDGRID_ENGINE_QUERY_INDEXED_MAP_H_
#define SEEDGRID_ENGINE_QUERY_INDEXED_MAP_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "engine/crdt/lww_map.h"
#include "engine/crdt/or_map.h"
#include "engine/env/env.h"
#include "engine/query/query_engine.h"

namespace seedgrid {

struct IndexedMapOptions {
  QueryEngineOptions engine;
  // Binds cursors to this instance. Default: a hash of a fresh HLC timestamp of the map's node,
  // unique per node and incarnation.
  std::optional<uint64_t> instance_id;
  Timers* timers = nullptr;  // Optional; must outlive the indexed map.
};

// Shared plumbing: the engine, its queries and the expiry timer.
class IndexedMapBase {
 public:
  IndexedMapBase(const IndexedMapBase&) = delete;
  IndexedMapBase& operator=(const IndexedMapBase&) = delete;

  QueryEngine& engine() { return engine_; }
  absl::Status AddIndex(IndexKind kind, std::vector<std::string> fields) {
    return engine_.AddIndex(kind, std::move(fields));
  }
  absl::StatusOr<QueryPage> Run(const Query& q, std::string_view cursor = {}) {
    return engine_.Run(q, cursor);
  }
  absl::StatusOr<std::string> Explain(const Query& q) { return engine_.Explain(q); }
  absl::StatusOr<QueryEngine::Subscription> Subscribe(const Query& q,
                                                      QueryEngine::DeltaCallback callback) {
    return engine_.Subscribe(q, std::move(callback));
  }
  absl::StatusOr<QueryEngine::Subscription> SubscribeAfter(const Query& q, const CursorState& start,
                                                           QueryEngine::DeltaCallback callback) {
    return engine_.SubscribeAfter(q, start, std::move(callback));
  }
  bool Unsubscribe(SubscriptionId id) { return engine_.Unsubscribe(id); }
  // Expires due rows now (also runs before every query and change).
  void ExpireDue();

 protected:
  IndexedMapBase(Hlc& hlc, const IndexedMapOptions& options);
  ~IndexedMapBase();
  void ArmTimer();

  QueryEngine engine_;
  Timers* timers_;
  std::optional<Timers::TimerId> timer_;
  uint64_t timer_deadline_ms_ = UINT64_MAX;
};

class IndexedLwwMap : public IndexedMapBase {
 public:
  explicit IndexedLwwMap(LwwMap& map, IndexedMapOptions options = {});
  ~IndexedLwwMap();
  LwwMap& map() { return map_; }

 private:
  void OnChange(const LwwChange& change);

  // Rows by key, held as handles alone (5 bytes a slot with its control byte, instead of 25 for a
  // key view and a handle): hashing and equality read a handle's key from the engine's row, a view
  // of the map's own (pointer-stable) key. Every handle in the set is a live row: a row leaves the
  // set before the engine frees it, and a record with a row leaves the map only by Forget, whose
  // change is reported while the extracted node (and its key) still lives.
  struct RowKeyHash {
    using is_transparent = void;
    const QueryEngine* engine;
    size_t operator()(RowHandle h) const { return (*this)(engine->Row(h).key); }
    size_t operator()(std::string_view key) const;
  };
  struct RowKeyEq {
    using is_transparent = void;
    const QueryEngine* engine;
    std::string_view KeyOf(RowHandle h) const { return engine->Row(h).key; }
    std::string_view KeyOf(std::string_view key) const { return key; }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return KeyOf(a) == KeyOf(b);
    }
  };

  LwwMap& map_;
  ListenerId listener_;
  // sg:lookup-only
  absl::flat_hash_set<RowHandle, RowKeyHash, RowKeyEq> handles_;
};

class IndexedOrMap : public IndexedMapBase {
 public:
  explicit IndexedOrMap(OrMap& map, IndexedMapOptions options = {});
  ~IndexedOrMap();
  OrMap& map() { return map_; }

 private:
  void OnChange(const OrChange& change);
  void Sync(std::string_view key, const OrEntry* old_entry, const OrEntry* new_entry);

  OrMap& map_;
  ListenerId listener_;
  // Owned keys: an OR entry is erased before its change is reported.
  // sg:lookup-only
  absl::flat_hash_map<std::string, absl::btree_map<Timestamp, RowHandle>> handles_;
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_QUERY_INDEXED_MAP_H_
