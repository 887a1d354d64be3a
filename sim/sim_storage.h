// SimStorage: a node's simulated disk. Writes are volatile until Sync(); a crash loses every
// unsynced write and, when torn writes are on, leaves the last unsynced write torn: its page holds
// a prefix of the new bytes (possibly empty) instead of either version — what a power cut in the
// middle of a page write does to a disk without atomic page writes. Engines must detect such a
// page on restart (a decode failure) and recover from their replicas; they must never have
// acknowledged what the torn write held, since it was not synced.
//
// Storage errors (InjectErrors): at the drawn rate a Write fails (Unavailable; the page keeps its
// old contents) and a Sync fails (Unavailable; every write since the last good sync is dropped,
// as Linux drops dirty pages after a failed fsync and a retried fsync then succeeds without
// them). The disk is `failed()` from an injected error until a successful Sync() at a moment when
// every dropped page has been written (or deleted) again: that is what an engine must wait for
// before it acknowledges anything (engine/env/page_store.h).
#ifndef SEEDGRID_SIM_SIM_STORAGE_H_
#define SEEDGRID_SIM_SIM_STORAGE_H_

#include <optional>
#include <string>

#include "absl/container/btree_set.h"
#include "engine/env/env.h"
#include "engine/env/mem_storage.h"
#include "engine/env/xoshiro.h"

namespace seedgrid::sim {

class SimStorage final : public Storage {
 public:
  absl::Status Write(std::string_view page, std::string_view bytes) override;
  absl::StatusOr<std::string> Read(std::string_view page) override { return mem_.Read(page); }
  absl::Status Delete(std::string_view page) override;
  std::vector<std::string> List() override { return mem_.List(); }
  absl::Status Sync() override;

  // Loses unsynced writes; with `tear`, the last unsynced write survives as a prefix whose length
  // is drawn from `random`. Returns true when a page was torn.
  bool Crash(bool tear, Random& random);
  // Loses everything, synced or not: the disk was replaced (a fresh machine under the old name).
  void Wipe();
  uint64_t torn_pages() const { return torn_pages_; }

  // From now on each Write and Sync fails with probability error_ppm / 10^6, drawn from `random`
  // (a sub-stream of its own). 0 turns errors off.
  void InjectErrors(uint32_t error_ppm, Xoshiro256 random);
  // An injected error has not been recovered from yet (see the header comment).
  bool failed() const { return failed_; }
  uint64_t write_errors() const { return write_errors_; }
  uint64_t sync_errors() const { return sync_errors_; }
  // Successful syncs that left nothing unwritten (the disk not failed() after them): whatever was
  // written before one of them is durable. Never reset (not by Crash or Wipe).
  uint64_t clean_syncs() const { return clean_syncs_; }

 private:
  bool DrawError();
  void Recovered(std::string_view page);

  MemStorage mem_;
  std::string last_write_;  // the page of the last unsynced write (its bytes are in mem_), or ""
  uint64_t torn_pages_ = 0;
  uint64_t clean_syncs_ = 0;
  uint32_t error_ppm_ = 0;
  Xoshiro256 error_random_{0};
  bool failed_ = false;
  absl::btree_set<std::string> dropped_;  // lost to an error, not written again since
  uint64_t write_errors_ = 0;
  uint64_t sync_errors_ = 0;
};

}  // namespace seedgrid::sim

#endif  // SEEDGRID_SIM_SIM_STORAGE_H_
