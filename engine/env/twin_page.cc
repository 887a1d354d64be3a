#include "engine/env/twin_page.h"

#include <fmt/format.h>

#include <charconv>

#include "engine/base/assert.h"

namespace seedgrid {

namespace {
constexpr char kSeal = '$';

// "<generation> <value>$" -> (generation, value); nullopt for anything else (a torn copy).
std::optional<std::pair<uint64_t, std::string_view>> ParseCopy(std::string_view bytes) {
  if (bytes.empty() || bytes.back() != kSeal) return std::nullopt;
  bytes.remove_suffix(1);
  if (bytes.find(kSeal) != std::string_view::npos) return std::nullopt;
  const size_t space = bytes.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  uint64_t generation = 0;
  auto [end, ec] = std::from_chars(bytes.data(), bytes.data() + space, generation);
  if (ec != std::errc() || end != bytes.data() + space) return std::nullopt;
  return std::make_pair(generation, bytes.substr(space + 1));
}
}  // namespace

std::string TwinPage::CopyName(int copy) const {
  SG_ASSERT(copy == 1 || copy == 2);
  return fmt::format("{}.{}", name_, copy);
}

absl::Status TwinPage::Restore(Storage& storage) {
  for (const std::string& page : {name_, CopyName(1), CopyName(2)}) {
    absl::StatusOr<std::string> bytes = storage.Read(page);
    if (absl::IsNotFound(bytes.status())) continue;
    if (!bytes.ok()) return bytes.status();
    (void)Offer(page, *bytes);
  }
  return absl::OkStatus();
}

bool TwinPage::Owns(std::string_view page) const {
  return page == name_ || page == CopyName(1) || page == CopyName(2);
}

bool TwinPage::Offer(std::string_view page, std::string_view bytes) {
  if (page == name_) {  // Generation 0: any valid copy is newer.
    legacy_listed_ = true;
    legacy_value_.emplace(bytes);
    return true;
  }
  for (int copy : {1, 2}) {
    if (page != CopyName(copy)) continue;
    const auto parsed = ParseCopy(bytes);
    if (parsed && (!copy_value_ || parsed->first > generation_)) {
      generation_ = parsed->first;
      copy_value_.emplace(parsed->second);
      synced_copy_ = copy;
    }
    return true;  // A torn copy is ignored: Put() overwrites it first.
  }
  return false;
}

void TwinPage::Put(PageStore& pages, std::string_view value) {
  SG_ASSERT(value.find(kSeal) == std::string_view::npos);
  if (written_at_syncs_ && pages.stats().syncs > *written_at_syncs_) {
    // The previous write is durable: its copy now holds the newest synced generation.
    synced_copy_ = 3 - synced_copy_;
    if (legacy_listed_) {
      pages.Erase(name_);
      legacy_listed_ = false;
    }
  }
  ++generation_;
  pages.Put(CopyName(3 - synced_copy_), fmt::format("{} {}{}", generation_, value, kSeal));
  written_at_syncs_ = pages.stats().syncs;
}

}  // namespace seedgrid
