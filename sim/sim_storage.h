// SimStorage: a node's simulated disk. Writes are volatile until Sync(); a crash loses every
// unsynced write and, when torn writes are on, leaves the last unsynced write torn: its page holds
// a prefix of the new bytes (possibly empty) instead of either version — what a power cut in the
// middle of a page write does to a disk without atomic page writes. Engines must detect such a
// page on restart (a decode failure) and recover from their replicas; they must never have
// acknowledged what the torn write held, since it was not synced.
#ifndef SEEDGRID_SIM_SIM_STORAGE_H_
#define SEEDGRID_SIM_SIM_STORAGE_H_

#include <optional>
#include <string>

#include "engine/env/env.h"
#include "engine/env/mem_storage.h"

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

 private:
  MemStorage mem_;
  std::optional<std::pair<std::string, std::string>> last_write_;  // unsynced (page, bytes)
  uint64_t torn_pages_ = 0;
};

}  // namespace seedgrid::sim

#endif  // SEEDGRID_SIM_SIM_STORAGE_H_
