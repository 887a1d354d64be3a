#include "engine/hlc/timestamp.h"

#include <fmt/format.h>

#include <limits>

#include "absl/strings/numbers.h"

namespace seedgrid {

namespace {
constexpr size_t kNodeIdBytesMax = 255;
static_assert(NodeIdTraits::kNameBytesMax == kNodeIdBytesMax, "every valid node id is poolable");
static_assert(sizeof(Timestamp) == 24, "millis, counter and an 8-byte interned node id");

// Decimal digits only, no sign, no spaces, no leading zeros (so Parse(ToString(t)) is the only
// text for t and Parse is the inverse of ToString).

bool ParseDecimal(std::string_view digits, uint64_t max, uint64_t& out) {
  if (digits.empty() || digits.size() > 20) return false;
  if (digits.size() > 1 && digits[0] == '0') return false;  // Canonical: no leading zeros.
  for (char c : digits) {
    if (c < '0' || c > '9') return false;  // Rejects '+', '-', spaces that SimpleAtoi allows.
  }
  uint64_t value = 0;
  if (!absl::SimpleAtoi(absl::string_view(digits.data(), digits.size()), &value) || value > max) {
    return false;
  }
  out = value;
  return true;
}
}  // namespace

absl::Status ValidateNodeId(std::string_view node_id) {
  if (node_id.empty()) return absl::InvalidArgumentError("node id must not be empty");
  if (node_id.size() > kNodeIdBytesMax) {
    return absl::InvalidArgumentError(
        fmt::format("node id is {} bytes; at most {}", node_id.size(), kNodeIdBytesMax));
  }
  if (node_id.find(':') != std::string_view::npos) {
    return absl::InvalidArgumentError(fmt::format("node id '{}' contains ':'", node_id));
  }
  return absl::OkStatus();
}

std::string Timestamp::ToString() const {
  return fmt::format("{}:{}:{}", millis, counter, node_id);
}

absl::StatusOr<Timestamp> Timestamp::Parse(std::string_view text) {
  const auto fail = [&](std::string_view what) {
    return absl::InvalidArgumentError(fmt::format("timestamp '{}': {}", text, what));
  };
  const size_t first = text.find(':');
  if (first == std::string_view::npos) return fail("expected millis:counter:node_id");
  const size_t second = text.find(':', first + 1);
  if (second == std::string_view::npos) return fail("expected millis:counter:node_id");
  const std::string_view millis_text = text.substr(0, first);
  const std::string_view counter_text = text.substr(first + 1, second - first - 1);
  const std::string_view node_text = text.substr(second + 1);

  Timestamp ts;
  uint64_t value = 0;
  if (!ParseDecimal(millis_text, std::numeric_limits<uint64_t>::max(), value)) {
    return fail(fmt::format("millis '{}' is not a decimal uint64", millis_text));
  }
  ts.millis = value;
  if (!ParseDecimal(counter_text, std::numeric_limits<uint32_t>::max(), value)) {
    return fail(fmt::format("counter '{}' is not a decimal uint32", counter_text));
  }
  ts.counter = static_cast<uint32_t>(value);
  if (absl::Status s = ValidateNodeId(node_text); !s.ok()) return fail(std::string(s.message()));
  ts.node_id = std::string(node_text);
  return ts;
}

}  // namespace seedgrid
