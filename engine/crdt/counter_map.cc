#include "engine/crdt/counter_map.h"

#include <algorithm>

#include "engine/crdt/digest.h"

namespace seedgrid {

uint64_t EntryHash(std::string_view key, std::string_view writer, const PnTotals& totals) {
  DigestWriter w;
  w.U8(0xc7);  // A counter entry (a separate domain from RecordHash's encodings by design only;
               // digests rely on 64-bit hashes not colliding, as everywhere).
  w.Str(key);
  w.Str(writer);
  w.U64(totals.positive);
  w.U64(totals.negative);
  return w.Finish();
}

uint64_t CounterHash(std::string_view key, const PnState& state) {
  uint64_t h = 0;
  for (const auto& [writer, totals] : state) h ^= EntryHash(key, writer, totals);
  return h;
}

int64_t CounterValue(const PnState& state) {
  uint64_t sum = 0;  // Wrapping, as PnCounter::value().
  for (const auto& [writer, totals] : state) sum += totals.positive - totals.negative;
  return static_cast<int64_t>(sum);
}

PnState MergedCounter(PnState a, const PnState& b) {
  for (const auto& [writer, totals] : b) {
    PnTotals& mine = a[writer];
    mine.positive = std::max(mine.positive, totals.positive);
    mine.negative = std::max(mine.negative, totals.negative);
  }
  return a;
}

bool CounterMap::Raise(const std::string& key, const std::string& writer, const PnTotals& totals) {
  if (totals == PnTotals{}) return false;  // An all-zero entry is no entry.
  auto counter = counters_.find(key);
  if (counter == counters_.end()) counter = counters_.try_emplace(key).first;
  auto [entry, inserted] = counter->second.try_emplace(writer, totals);
  if (inserted) {
    if (listener_) listener_(CounterChange{counter->first, entry->first, nullptr, totals});
    return true;
  }
  const PnTotals old = entry->second;
  const PnTotals raised{std::max(old.positive, totals.positive),
                        std::max(old.negative, totals.negative)};
  if (raised == old) return false;
  entry->second = raised;
  if (listener_) listener_(CounterChange{counter->first, entry->first, &old, raised});
  return true;
}

bool CounterMap::Merge(const std::string& key, const PnState& state) {
  bool rose = false;
  for (const auto& [writer, totals] : state) rose |= Raise(key, writer, totals);
  return rose;
}

}  // namespace seedgrid
