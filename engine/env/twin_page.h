// TwinPage: a small text value (a next sequence number, an HLC state) that no torn write and no
// crash, however many in a row, rolls back below what was last synced.
//
// Contract.
// - Storage tears at most the last unsynced write, leaving a prefix of its new bytes, and the
//   prefix survives the crash (a crash in the simulator, sim_storage.h; a power cut mid-write on
//   a disk); every other unsynced write is lost, its page back to what the last good sync left.
//   A plain decimal page "217" torn to "2" still parses — to a smaller value.
// - The value lives in two copies, "<name>.1" and "<name>.2", each "<generation> <value>$": the
//   terminator makes a torn copy recognisable (no strict prefix passes), the generation orders
//   the copies. Restore takes the valid copy with the highest generation.
// - Put() writes one copy only: the one *not* holding the newest synced generation. So that copy
//   is never touched until a sync made the other one durable, and a crash — before, during or
//   after a rewrite after a storage error, also right after a restart — leaves it intact. (Writing
//   both copies in one sync is not enough: a crash that tears one copy makes the torn bytes
//   durable, and the next sync's tear of the other leaves none valid.) Put() learns that its
//   previous write became durable from the PageStore's count of good syncs.
// - The single unsealed page `name` of a data directory written before twins existed is read as
//   generation 0 and erased by the first Put() after a copy became durable.
// - Values must not contain the terminator (asserted).
// Determinism: no clock, no randomness.
#ifndef SEEDGRID_ENGINE_ENV_TWIN_PAGE_H_
#define SEEDGRID_ENGINE_ENV_TWIN_PAGE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "engine/env/env.h"
#include "engine/env/page_store.h"

namespace seedgrid {

class TwinPage {
 public:
  explicit TwinPage(std::string name) : name_(std::move(name)) {}

  // Restore: reads this twin's pages (its copies and the legacy page) from `storage` — before a
  // node restores anything else, so its clock is restored first. A read error is returned.
  absl::Status Restore(Storage& storage);
  // Restore, page by page: true when `page` is one of this twin's pages. A torn copy is accepted
  // and ignored (the next Put() overwrites it); the caller need not erase it.
  bool Offer(std::string_view page, std::string_view bytes);
  bool Owns(std::string_view page) const;
  // After every page was offered: the newest valid value (nullopt: none was ever synced).
  const std::optional<std::string>& restored() const {
    return copy_value_ ? copy_value_ : legacy_value_;
  }

  // Writes `value` (not yet durable: the caller syncs `pages`).
  void Put(PageStore& pages, std::string_view value);

  const std::string& name() const { return name_; }
  std::string CopyName(int copy) const;

 private:
  std::string name_;
  std::optional<std::string> copy_value_;     // restored from the newest valid copy
  std::optional<std::string> legacy_value_;   // restored from the legacy page
  uint64_t generation_ = 0;                   // of the newest value written or restored
  int synced_copy_ = 1;                       // the copy holding the newest synced generation
  bool legacy_listed_ = false;                // the legacy page exists and is not erased yet
  std::optional<uint64_t> written_at_syncs_;  // PageStore good syncs when Put() last wrote
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_ENV_TWIN_PAGE_H_
