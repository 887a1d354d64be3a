#include "engine/crdt/pn_counter.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "engine/base/assert.h"
#include "engine/base/probe.h"
#include "engine/base/strings.h"
#include "engine/crdt/digest.h"
#include "engine/hlc/timestamp.h"

namespace seedgrid {

PnCounter::PnCounter(std::string node_id) : node_id_(std::move(node_id)) {
  SG_ASSERT(ValidateNodeId(node_id_).ok());
}

void PnCounter::Notify(int64_t old_value) {
  if (!listeners_.empty()) listeners_.Notify({old_value, value()});
}

absl::Status PnCounter::Add(bool positive, uint64_t by) {
  auto it = state_.find(node_id_);
  const uint64_t total =
      it == state_.end() ? 0 : (positive ? it->second.positive : it->second.negative);
  if (by > std::numeric_limits<uint64_t>::max() - total) {
    SG_PROBE("pn.overflow_refused");
    return absl::OutOfRangeError(fmt::format(
        "pn-counter on node '{}': {} by {} would overflow the node's {} total {}", node_id_,
        positive ? "increment" : "decrement", by, positive ? "positive" : "negative", total));
  }
  if (by == 0) return absl::OkStatus();  // No change, and no {0, 0} entry in the state.
  const int64_t old_value = value();
  PnTotals& mine = state_[node_id_];
  (positive ? mine.positive : mine.negative) += by;
  Notify(old_value);
  return absl::OkStatus();
}

absl::Status PnCounter::Increment(uint64_t by) { return Add(true, by); }
absl::Status PnCounter::Decrement(uint64_t by) { return Add(false, by); }

absl::Status PnCounter::Merge(const PnState& remote) {
  for (const auto& [node, totals] : remote) {
    if (absl::Status s = ValidateNodeId(node); !s.ok()) {
      return absl::InvalidArgumentError(fmt::format("pn-counter merge: {}", s.message()));
    }
  }
  const int64_t old_value = value();
  bool changed = false;
  for (const auto& [node, totals] : remote) {
    if (totals.positive == 0 && totals.negative == 0) continue;  // Never store {0, 0} entries.
    PnTotals& mine = state_[node];
    changed |= totals.positive > mine.positive || totals.negative > mine.negative;
    mine.positive = std::max(mine.positive, totals.positive);
    mine.negative = std::max(mine.negative, totals.negative);
  }
  if (changed) Notify(old_value);
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
