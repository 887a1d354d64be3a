// CounterMap: the PN-Counters of one grid map — key -> every writer's totals (PnState) — and the
// grid's rule for changing them.
//
// Contract.
// - Each writer (a grid client) changes only its own entry, and only upward: its totals after an
//   increment or decrement are carried by its op (msg::GridOp.counter). Raise() and Merge() take
//   the per-writer maximum of each total, so they are commutative, associative and idempotent: a
//   resent, duplicated or reordered op, or a state merged twice, changes nothing (exactly-once
//   application is not needed for counters, though the grid's applied marks still hold).
// - A counter's value is sum(P) - sum(N), in wrapping 64-bit arithmetic, read as int64.
// - A counter with no entries is the same as no counter: none is ever stored, and its hash is 0.
// - Every raised entry is reported to the listener (key, writer, old totals or null, new totals).
//   EntryHash is what digests fold: the XOR of EntryHash over a counter's entries is the
//   counter's hash, so one raise costs one XOR out and one in.
// Determinism: btree containers; iteration in key order.
#ifndef SEEDGRID_ENGINE_CRDT_COUNTER_MAP_H_
#define SEEDGRID_ENGINE_CRDT_COUNTER_MAP_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/container/btree_map.h"
#include "engine/crdt/pn_counter.h"

namespace seedgrid {

struct CounterChange {
  std::string_view key;
  std::string_view writer;
  const PnTotals* old_totals;  // null: the writer had no entry
  PnTotals new_totals;
};

// The hash of one writer's entry of counter `key` (never equal to an LWW RecordHash's domain).
uint64_t EntryHash(std::string_view key, std::string_view writer, const PnTotals& totals);
// The XOR of EntryHash over the counter's entries.
uint64_t CounterHash(std::string_view key, const PnState& state);
int64_t CounterValue(const PnState& state);
// Per-writer maxima of a and b.
PnState MergedCounter(PnState a, const PnState& b);

class CounterMap {
 public:
  using Listener = std::function<void(const CounterChange&)>;
  void set_listener(Listener listener) { listener_ = std::move(listener); }

  // Raises `writer`'s totals of `key` to at least `totals` (each half separately); true when
  // anything rose.
  bool Raise(const std::string& key, const std::string& writer, const PnTotals& totals);
  // Raises every entry of `state`; true when anything rose.
  bool Merge(const std::string& key, const PnState& state);

  const PnState* Get(const std::string& key) const {
    auto it = counters_.find(key);
    return it == counters_.end() ? nullptr : &it->second;
  }
  // 0 for an unknown counter.
  int64_t Value(const std::string& key) const {
    const PnState* s = Get(key);
    return s == nullptr ? 0 : CounterValue(*s);
  }
  const absl::btree_map<std::string, PnState>& counters() const { return counters_; }
  size_t size() const { return counters_.size(); }
  bool empty() const { return counters_.empty(); }

 private:
  absl::btree_map<std::string, PnState> counters_;
  Listener listener_;
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_CRDT_COUNTER_MAP_H_
