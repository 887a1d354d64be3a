#include "engine/env/twin_page.h"

#include <fmt/format.h>

#include "engine/base/assert.h"

namespace seedgrid {

namespace {
constexpr char kSeal = '$';
}  // namespace

std::string TwinCopyName(std::string_view name, int copy) {
  SG_ASSERT(copy == 1 || copy == 2);
  return fmt::format("{}.{}", name, copy);
}

void PutTwinPage(PageStore& pages, std::string_view name, std::string_view value) {
  SG_ASSERT(value.find(kSeal) == std::string_view::npos);
  std::string sealed(value);
  sealed.push_back(kSeal);
  pages.Put(TwinCopyName(name, 1), sealed);
  pages.Put(TwinCopyName(name, 2), sealed);
}

TwinPart TwinPartOf(std::string_view page, std::string_view name) {
  if (page == name) return TwinPart::kLegacy;
  if (page.size() == name.size() + 2 && page.starts_with(name) && page[name.size()] == '.' &&
      (page.back() == '1' || page.back() == '2')) {
    return TwinPart::kCopy;
  }
  return TwinPart::kNeither;
}

std::optional<std::string_view> TwinPageValue(std::string_view bytes, TwinPart part) {
  if (part == TwinPart::kLegacy) return bytes;
  if (part != TwinPart::kCopy || bytes.empty() || bytes.back() != kSeal) return std::nullopt;
  const std::string_view value = bytes.substr(0, bytes.size() - 1);
  if (value.find(kSeal) != std::string_view::npos) return std::nullopt;
  return value;
}

}  // namespace seedgrid
