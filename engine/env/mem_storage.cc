#include "engine/env/mem_storage.h"

#include <fmt/format.h>

namespace seedgrid {

absl::Status MemStorage::Write(std::string_view page, std::string_view bytes) {
  if (page.empty()) return absl::InvalidArgumentError("storage: page name must not be empty");
  pages_[std::string(page)] = std::string(bytes);
  return absl::OkStatus();
}

absl::StatusOr<std::string> MemStorage::Read(std::string_view page) {
  auto it = pages_.find(std::string(page));
  if (it == pages_.end()) return absl::NotFoundError(fmt::format("storage: no page '{}'", page));
  return it->second;
}

absl::Status MemStorage::Delete(std::string_view page) {
  pages_.erase(std::string(page));
  return absl::OkStatus();
}

std::vector<std::string> MemStorage::List() {
  std::vector<std::string> names;
  names.reserve(pages_.size());
  for (const auto& [name, bytes] : pages_) names.push_back(name);
  return names;
}

absl::Status MemStorage::Sync() {
  durable_ = pages_;
  return absl::OkStatus();
}

void MemStorage::Crash() { pages_ = durable_; }

}  // namespace seedgrid
