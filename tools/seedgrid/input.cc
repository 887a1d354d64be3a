#include "tools/seedgrid/input.h"

#include <fmt/format.h>

#include <algorithm>
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

std::string Hex(uint64_t v) { return fmt::format("{:016x}", v); }

}  // namespace seedgrid::tools
