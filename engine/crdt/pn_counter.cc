#include "engine/crdt/pn_counter.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "engine/base/assert.h"
#include "engine/base/strings.h"
#include "engine/crdt/digest.h"
#include "engine/hlc/timestamp.h"

namespace seedgrid {

PnCounter::PnCounter(std::string node_id) : node_id_(std::move(node_id)) {
  SG_ASSERT(ValidateNodeId(node_id_).ok());
}

void PnCounter::Notify(int64_t old_value) {
  const int64_t new_value = value();
  if (!listeners_.empty() && new_value != old_value) listeners_.Notify({old_value, new_value});
}

void PnCounter::Increment(uint64_t by) {
  const int64_t old_value = value();
  PnTotals& mine = state_[node_id_];
  SG_ASSERT(by <= std::numeric_limits<uint64_t>::max() - mine.positive);
  mine.positive += by;
  Notify(old_value);
}

void PnCounter::Decrement(uint64_t by) {
  const int64_t old_value = value();
  PnTotals& mine = state_[node_id_];
  SG_ASSERT(by <= std::numeric_limits<uint64_t>::max() - mine.negative);
  mine.negative += by;
  Notify(old_value);
}

absl::Status PnCounter::Merge(const PnState& remote) {
  for (const auto& [node, totals] : remote) {
    if (absl::Status s = ValidateNodeId(node); !s.ok()) {
      return absl::InvalidArgumentError(fmt::format("pn-counter merge: {}", s.message()));
    }
  }
  const int64_t old_value = value();
  for (const auto& [node, totals] : remote) {
    PnTotals& mine = state_[node];
    mine.positive = std::max(mine.positive, totals.positive);
    mine.negative = std::max(mine.negative, totals.negative);
  }
  Notify(old_value);
  return absl::OkStatus();
}

int64_t PnCounter::value() const {
  uint64_t sum = 0;  // Wrapping arithmetic is defined for unsigned; the cast is modular in C++20.
  for (const auto& [node, totals] : state_) sum += totals.positive - totals.negative;
  return static_cast<int64_t>(sum);
}

uint64_t PnCounter::Digest() const {
  DigestWriter w;
  w.U32(static_cast<uint32_t>(state_.size()));
  for (const auto& [node, totals] : state_) {
    w.Str(node);
    w.U64(totals.positive);
    w.U64(totals.negative);
  }
  return w.Finish();
}

}  // namespace seedgrid
