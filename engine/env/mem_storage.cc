#include "engine/env/mem_storage.h"

#include <fmt/format.h>

namespace seedgrid {

absl::Status MemStorage::Write(std::string_view page, std::string_view bytes) {
  if (page.empty()) return absl::InvalidArgumentError("storage: page name must not be empty");
  // One lookup per map; the durable contents move into the undo log instead of being copied
  // (they are overwritten here anyway).
  auto [it, inserted] = pages_.try_emplace(std::string(page));
  auto [undo, first_since_sync] = undo_.try_emplace(it->first);
  if (first_since_sync && !inserted) undo->second = std::move(it->second);
  it->second.assign(bytes.data(), bytes.size());
  return absl::OkStatus();
}

absl::StatusOr<std::string> MemStorage::Read(std::string_view page) {
  auto it = pages_.find(std::string(page));
  if (it == pages_.end()) return absl::NotFoundError(fmt::format("storage: no page '{}'", page));
  return it->second;
}

absl::Status MemStorage::Delete(std::string_view page) {
  Remember(page);
  pages_.erase(std::string(page));
  return absl::OkStatus();
}

std::vector<std::string> MemStorage::List() {
  std::vector<std::string> names;
  names.reserve(pages_.size());
  for (const auto& [name, bytes] : pages_) names.push_back(name);
  return names;
}

void MemStorage::Remember(std::string_view page) {
  const std::string name(page);
  if (undo_.contains(name)) return;  // The durable contents are already saved.
  auto it = pages_.find(name);
  undo_.emplace(name, it == pages_.end() ? std::nullopt : std::optional<std::string>(it->second));
}

absl::Status MemStorage::Sync() {
  undo_.clear();
  return absl::OkStatus();
}

std::vector<std::string> MemStorage::UnsyncedPages() const {
  std::vector<std::string> names;
  names.reserve(undo_.size());
  for (const auto& [name, durable] : undo_) names.push_back(name);
  return names;
}

void MemStorage::Crash() {
  for (auto& [name, durable] : undo_) {
    if (durable.has_value()) {
      pages_[name] = std::move(*durable);
    } else {
      pages_.erase(name);
    }
  }
  undo_.clear();
}

}  // namespace seedgrid
