// In-memory Storage: pages in a btree map (deterministic iteration). Sync() marks the current
// contents durable; Crash() discards every write since the last Sync(), which is what a simulated
// power loss does. Usable in simulation and in production for ephemeral nodes.
// Cost: Sync() and Crash() touch only the pages changed since the last Sync().
#ifndef SEEDGRID_ENGINE_ENV_MEM_STORAGE_H_
#define SEEDGRID_ENGINE_ENV_MEM_STORAGE_H_

#include <optional>
#include <string>

#include "absl/container/btree_map.h"
#include "engine/env/env.h"

namespace seedgrid {

class MemStorage final : public Storage {
 public:
  absl::Status Write(std::string_view page, std::string_view bytes) override;
  absl::StatusOr<std::string> Read(std::string_view page) override;
  absl::Status Delete(std::string_view page) override;
  std::vector<std::string> List() override;
  absl::Status Sync() override;

  // Reverts to the contents at the last successful Sync().
  void Crash();
  // Pages written or deleted since the last Sync(), in name order.
  std::vector<std::string> UnsyncedPages() const;

 private:
  // The first change of page `name` since the last Sync() saves its durable contents: moved out
  // of `current` (the page's bytes, about to be overwritten or erased), nullptr: no such page.
  void MoveToUndo(const std::string& name, std::string* current);
  absl::btree_map<std::string, std::string> pages_;
  // Pages written or deleted since the last Sync(), with their durable contents (nullopt: the page
  // did not exist at the last Sync()).
  absl::btree_map<std::string, std::optional<std::string>> undo_;
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_ENV_MEM_STORAGE_H_
