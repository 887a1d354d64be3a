// PN-Counter: per-node positive and negative totals. Merge takes the per-node maximum of each,
// so it is commutative, associative and idempotent; value = sum(P) - sum(N), computed with
// wrapping 64-bit arithmetic and read as int64.
//
// Only the owning node increments its own totals; merges may carry any node's totals. Every change
// of the state (even one that leaves the value equal) is reported as (old value, new value).
#ifndef SEEDGRID_ENGINE_CRDT_PN_COUNTER_H_
#define SEEDGRID_ENGINE_CRDT_PN_COUNTER_H_

#include <cstdint>
#include <string>

#include "absl/container/btree_map.h"
#include "absl/status/status.h"
#include "engine/crdt/listeners.h"

namespace seedgrid {

struct PnTotals {
  uint64_t positive = 0;
  uint64_t negative = 0;
  friend bool operator==(const PnTotals&, const PnTotals&) = default;
};

using PnState = absl::btree_map<std::string, PnTotals>;  // node id -> totals

struct PnChange {
  int64_t old_value;
  int64_t new_value;
};

class PnCounter {
 public:
  // REQUIRES: ValidateNodeId(node_id).ok().
  explicit PnCounter(std::string node_id);

  // OutOfRange (nothing changes) when this node's running total would pass 2^64 - 1; a remote
  // state may have raised the total, so this is an error, not an assertion.
  absl::Status Increment(uint64_t by = 1);
  absl::Status Decrement(uint64_t by = 1);
  // InvalidArgument (nothing changes) when a node id in `remote` is invalid.
  absl::Status Merge(const PnState& remote);

  int64_t value() const;
  const PnState& state() const { return state_; }
  const std::string& node_id() const { return node_id_; }
  uint64_t Digest() const;

  ListenerId AddListener(ListenerSet<PnChange>::Listener listener) {
    return listeners_.Add(std::move(listener));
  }
  bool RemoveListener(ListenerId id) { return listeners_.Remove(id); }

 private:
  void Notify(int64_t old_value);
  absl::Status Add(bool positive, uint64_t by);

  std::string node_id_;
  PnState state_;
  ListenerSet<PnChange> listeners_;
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_CRDT_PN_COUNTER_H_
