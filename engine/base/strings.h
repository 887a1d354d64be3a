// Glue between std::string_view and Debian's Abseil, which is built with its own
// absl::string_view (ABSL_OPTION_USE_STD_STRING_VIEW = 0): absl::Status::message() returns
// absl::string_view, and absl btree string lookups are transparent for absl::string_view only.
#ifndef SEEDGRID_ENGINE_BASE_STRINGS_H_
#define SEEDGRID_ENGINE_BASE_STRINGS_H_

#include <fmt/format.h>

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/string_view.h"

namespace seedgrid {

inline absl::string_view ToAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}
inline std::string_view ToStd(absl::string_view s) { return std::string_view(s.data(), s.size()); }

// The whole of `s` as a decimal uint64 (no sign, no spaces, no trailing bytes); false otherwise.
inline bool ParseU64(std::string_view s, uint64_t& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

// Builds a page name (or any short string) from text and decimal numbers, as fmt::format("{}")
// would print them, without parsing a format string: storage names are built per written record.
class NameBuilder {
 public:
  explicit NameBuilder(size_t reserve_bytes) { out_.reserve(reserve_bytes); }
  NameBuilder& Text(std::string_view s) {
    out_.append(s);
    return *this;
  }
  NameBuilder& Number(uint64_t v) {
    char digits[20];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, v);
    out_.append(digits, end);
    return *this;
  }
  // "{size}/{s}": a part that may hold '/' yet cannot collide with another (a map name in a page).
  NameBuilder& Prefixed(std::string_view s) { return Number(s.size()).Text("/").Text(s); }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace seedgrid

// Lets fmt::format print absl::string_view (e.g. status.message()) directly.
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<std::string_view> {
  template <typename Context>
  auto format(absl::string_view s, Context& ctx) const {
    return fmt::formatter<std::string_view>::format(std::string_view(s.data(), s.size()), ctx);
  }
};

#endif  // SEEDGRID_ENGINE_BASE_STRINGS_H_
