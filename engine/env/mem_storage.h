// In-memory Storage: pages in a hash map, listed in name order (List and UnsyncedPages sort, so
// nothing depends on the hash map's per-process iteration order). Sync() marks the current
// contents durable; Crash() discards every write since the last Sync(), which is what a simulated
// power loss does. Usable in simulation and in production for ephemeral nodes.
// Cost: Sync() and Crash() touch only the pages changed since the last Sync().
#ifndef SEEDGRID_ENGINE_ENV_MEM_STORAGE_H_
#define SEEDGRID_ENGINE_ENV_MEM_STORAGE_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
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
  void MoveToUndo(std::string_view name, std::string* current);
  // Hashed, not ordered: a write is one hash lookup instead of a string-compare walk down a tree
  // of page names sharing long prefixes (8 % of a grid simulation's time). Iterated only to be
  // sorted (List) or order-independently (Crash restores each page on its own).
  // sg:lookup-only
  absl::flat_hash_map<std::string, std::string> pages_;
  // Pages written or deleted since the last Sync(), with their durable contents (nullopt: the page
  // did not exist at the last Sync()). Iterated only to be sorted (UnsyncedPages) or by Crash.
  // sg:lookup-only
  absl::flat_hash_map<std::string, std::optional<std::string>> undo_;
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_ENV_MEM_STORAGE_H_
