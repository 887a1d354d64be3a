#include "engine/env/mem_storage.h"

#include <fmt/format.h>

namespace seedgrid {

absl::Status MemStorage::Write(std::string_view page, std::string_view bytes) {
  if (page.empty()) return absl::InvalidArgumentError("storage: page name must not be empty");
  auto [it, inserted] = pages_.try_emplace(std::string(page));
  MoveToUndo(it->first, inserted ? nullptr : &it->second);
  it->second.assign(bytes.data(), bytes.size());
  return absl::OkStatus();
}

absl::StatusOr<std::string> MemStorage::Read(std::string_view page) {
  auto it = pages_.find(std::string(page));
  if (it == pages_.end()) return absl::NotFoundError(fmt::format("storage: no page '{}'", page));
  return it->second;
}

absl::Status MemStorage::Delete(std::string_view page) {
  const std::string name(page);
  auto it = pages_.find(name);
  if (it == pages_.end()) {
    MoveToUndo(name, nullptr);
    return absl::OkStatus();
  }
  MoveToUndo(it->first, &it->second);
  pages_.erase(it);
  return absl::OkStatus();
}

std::vector<std::string> MemStorage::List() {
  std::vector<std::string> names;
  names.reserve(pages_.size());
  for (const auto& [name, bytes] : pages_) names.push_back(name);
  return names;
}

void MemStorage::MoveToUndo(const std::string& name, std::string* current) {
  auto [undo, first_since_sync] = undo_.try_emplace(name);
  if (!first_since_sync) return;  // The durable contents are already saved.
  if (current != nullptr) undo->second = std::move(*current);
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
