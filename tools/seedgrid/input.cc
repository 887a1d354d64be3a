#include "tools/seedgrid/input.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "tools/seedgrid/command.h"

namespace seedgrid::tools {

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFileOrThrow(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out || !(out << text) || !out.flush()) {
    throw InputError{fmt::format("{}: cannot write the file", path)};
  }
}

Loaded LoadScenarioFile(const std::string& path) {
  std::optional<std::string> text = ReadFile(path);
  if (!text) throw InputError{fmt::format("{}: cannot read the scenario file", path)};
  absl::StatusOr<scenarios::Scenario> s = scenarios::ParseScenario(*text, path);
  if (!s.ok()) throw InputError{std::string(s.status().message())};
  return Loaded{std::move(*s), path, std::move(*text)};
}

uint64_t ParseSeed(const std::string& text, std::string_view what) {
  uint64_t v = 0;
  bool ok;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    ok = text.size() <= 18 && absl::SimpleHexAtoi(text.substr(2), &v);
  } else {
    ok = !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
         absl::SimpleAtoi(text, &v);
  }
  if (!ok) {
    throw InputError{
        fmt::format("{} '{}' is not a 64-bit unsigned integer (decimal or 0x-hex)", what, text)};
  }
  return v;
}

void CreateDirectoryOrThrow(const std::string& dir, std::string_view what) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    throw InputError{
        fmt::format("{} {}: cannot create the directory: {}", what, dir, ec.message())};
  }
}

uint64_t ParseDuration(const std::string& text, std::string_view what, bool zero_ok) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  uint64_t n = 0;
  if (digits == 0 || !absl::SimpleAtoi(text.substr(0, digits), &n)) {
    throw InputError{fmt::format("{} '{}' is not a duration (e.g. 60s, 10m, 2h)", what, text)};
  }
  const std::string unit = text.substr(digits);
  uint64_t scale;
  if (unit.empty() || unit == "s") {
    scale = 1;
  } else if (unit == "m") {
    scale = 60;
  } else if (unit == "h") {
    scale = 3600;
  } else {
    throw InputError{fmt::format("{} '{}': unknown unit '{}' (use s, m or h)", what, text, unit)};
  }
  if ((n == 0 && !zero_ok) || n > 366ull * 24 * 3600 / scale) {
    throw InputError{fmt::format("{} '{}' must be between {} and a year", what, text,
                                 zero_ok ? "0 (no limit)" : "1 s")};
  }
  return n * scale;
}

std::string Hex(uint64_t v) { return fmt::format("{:016x}", v); }

}  // namespace seedgrid::tools
