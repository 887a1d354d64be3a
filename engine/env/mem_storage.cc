#include "engine/env/mem_storage.h"

#include <fmt/format.h>

#include <algorithm>

#include "engine/base/strings.h"

namespace seedgrid {

absl::Status MemStorage::Write(std::string_view page, std::string_view bytes) {
  if (page.empty()) return absl::InvalidArgumentError("storage: page name must not be empty");
  auto [it, inserted] = pages_.try_emplace(ToAbsl(page));
  MoveToUndo(page, inserted ? nullptr : &it->second);
  it->second.assign(bytes.data(), bytes.size());
  return absl::OkStatus();
}

absl::StatusOr<std::string> MemStorage::Read(std::string_view page) {
  auto it = pages_.find(ToAbsl(page));
  if (it == pages_.end()) return absl::NotFoundError(fmt::format("storage: no page '{}'", page));
  return it->second;
}

absl::Status MemStorage::Delete(std::string_view page) {
  auto it = pages_.find(ToAbsl(page));
  if (it == pages_.end()) {
    MoveToUndo(page, nullptr);
    return absl::OkStatus();
  }
  MoveToUndo(page, &it->second);
  pages_.erase(it);
  return absl::OkStatus();
}

std::vector<std::string> MemStorage::List() {
  std::vector<std::string> names;
  names.reserve(pages_.size());
  for (const auto& [name, bytes] : pages_) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

void MemStorage::MoveToUndo(std::string_view name, std::string* current) {
  auto [undo, first_since_sync] = undo_.try_emplace(ToAbsl(name));
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
  std::sort(names.begin(), names.end());
  return names;
}

void MemStorage::Crash() {
  for (auto& [name, durable] : undo_) {  // each page once: the order does not matter
    if (durable.has_value()) {
      pages_[name] = std::move(*durable);
    } else {
      pages_.erase(name);
    }
  }
  undo_.clear();
}

}  // namespace seedgrid
