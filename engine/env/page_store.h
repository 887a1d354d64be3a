// PageStore: the one storage-error policy of every engine node (GridServer, GridClient,
// ReplicaNode). It wraps Env::storage for writes; restore code reads storage() directly.
//
// Contract.
// - Put/Erase write through to Storage at once and remember the page (its latest bytes, or that
//   it was erased) until a Sync() succeeds. Failures are counted in stats(), never asserted: a
//   disk that fails is an operating condition.
// - After any failed write or sync the store is `failed()`: a failed fsync may have dropped the
//   pages written since the last good sync (Linux marks them clean; SimStorage drops them; SQLite
//   may roll its whole transaction back), so the next Sync() first re-writes every remembered
//   page, then syncs. It re-writes in chunks, each synced before the next; a page whose chunk was
//   synced is durable and forgotten, so a disk that keeps failing now and then still recovers. A
//   failed chunk halves the chunk (from the pages it tried; at least 1 page), a good one doubles
//   it, and a sync that needed no recovery resets it to kMaxRewriteChunkPages: a healthy disk
//   recovers in one chunk, a flaky one in small steps.
// - Sync() returns OK only when everything Put/Erased so far is durable. It is cheap when nothing
//   is pending (no storage call at all).
//
// The engine's rule (docs/architecture.md, "Storage errors"): a node acknowledges a write — an
// APPLIED or REPLICATED GridAck, a replica's Ack of a state, a client's op entering its sendable
// log, a ReplicaNode write returning OK — only after a Sync() that returned OK after the write.
// Otherwise the effect stays in memory, the node retries the sync at its next chance, and the
// peer (client or owner) retries the message; a duplicate is re-acknowledged once a sync succeeds.
//
// Memory: one entry per distinct page written since the last good sync.
// Determinism: no clock, no randomness; the rewrite after a failure goes in page order (the
// pending pages are hashed, and sorted once per Sync() only on that rare path).
#ifndef SEEDGRID_ENGINE_ENV_PAGE_STORE_H_
#define SEEDGRID_ENGINE_ENV_PAGE_STORE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "engine/base/strings.h"
#include "engine/env/env.h"

namespace seedgrid {

struct StorageStats {
  uint64_t write_errors = 0;
  uint64_t sync_errors = 0;
  uint64_t pages_rewritten = 0;  // re-written after a failure
  uint64_t syncs = 0;            // successful
  std::string last_error;
};

class PageStore {
 public:
  explicit PageStore(Storage& storage) : storage_(storage) {}
  PageStore(const PageStore&) = delete;
  PageStore& operator=(const PageStore&) = delete;

  void Put(std::string_view page, std::string_view bytes);
  void Erase(std::string_view page);
  // OK when every Put/Erase so far is durable (see the contract). Never asserts.
  absl::Status Sync();

  // Writes not yet known durable (Sync() would do work).
  bool dirty() const { return !pending_.empty() || failed_; }
  // Whether `page` was written or erased since the last successful Sync() (not yet durable).
  bool pending(std::string_view page) const { return pending_.contains(ToAbsl(page)); }
  bool failed() const { return failed_; }
  // Pages re-written per synced chunk on the next recovery (see the contract).
  size_t rewrite_chunk_pages() const { return rewrite_chunk_pages_; }
  static constexpr size_t kMaxRewriteChunkPages = 1024;
  const StorageStats& stats() const { return stats_; }
  Storage& storage() { return storage_; }

 private:
  void Failed(uint64_t& counter, const absl::Status& s, std::string_view what,
              std::string_view page);
  // One Storage::Sync(), behind the crash point; a failure is recorded (Failed) and returned.
  absl::Status SyncStorage();
  // Re-writes and syncs every pending page, chunk by chunk; OK when all of them are durable.
  absl::Status Rewrite();
  // Halves the chunk (from the `tried_pages` just tried when fewer); returns the last error.
  absl::Status ChunkFailed(size_t tried_pages);

  Storage& storage_;
  // Page -> latest bytes (nullopt: erased), since the last successful Sync(). Hashed: a grid
  // node puts a page per changed record, under names whose long shared prefixes ("R/17/5/users/")
  // made each step of an ordered map's search a long memcmp. Iterated only through a sort (Sync).
  // sg:lookup-only
  absl::flat_hash_map<std::string, std::optional<std::string>> pending_;
  bool failed_ = false;
  size_t rewrite_chunk_pages_ = kMaxRewriteChunkPages;
  StorageStats stats_;
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_ENV_PAGE_STORE_H_
