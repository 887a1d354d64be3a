// The PN-Counter parts of the grid checkers (grid_checks.h): the counter history (issued deltas,
// acknowledged totals), grid_pn_model, and what grid_durability asks of counters (CounterNotHeld).
#include <fmt/format.h>

#include <algorithm>

#include "engine/cluster/partition.h"
#include "invariants/grid_checks.h"

namespace seedgrid::invariants {

namespace {

void RaiseTotals(GridHistory::CounterTotals& totals, const std::string& map, const std::string& key,
                 const NodeId& writer, const PnTotals& t) {
  PnTotals& held = totals[{map, key}][writer];
  held.positive = std::max(held.positive, t.positive);
  held.negative = std::max(held.negative, t.negative);
}

}  // namespace

void GridHistory::OnIssuedCounter(const NodeId& client, uint64_t seq, const std::string& map,
                                  const std::string& key, int64_t delta) {
  ForgetIssued(client, seq);
  counter_ops_[{client, seq}] = CounterOp{map, key, delta};
}

GridHistory::CounterTotals GridHistory::ExpectedCounters() const {
  CounterTotals expected;
  for (const auto& [client_seq, op] : counter_ops_) {
    const auto& [client, seq] = client_seq;
    auto logged = logged_seqs_.find(client);
    if (logged == logged_seqs_.end() || !Contains(logged->second, seq)) continue;  // lost
    PnTotals& t = expected[{op.map, op.key}][client];
    // Wrapping, like the engine: the workload never comes near 2^64.
    if (op.delta >= 0) {
      t.positive += static_cast<uint64_t>(op.delta);
    } else {
      t.negative += ~static_cast<uint64_t>(op.delta) + 1;
    }
  }
  return expected;
}

void GridHistory::OnCounterAcked(const NodeId& client, const events::AckReceived& ack) {
  if (ack.concern == msg::WriteConcern::kReplicated) {
    RaiseTotals(counters_replicated_, ack.map, ack.key, client, *ack.counter);
  } else if (ack.concern == msg::WriteConcern::kApplied) {
    RaiseTotals(counters_applied_, ack.map, ack.key, client, *ack.counter);
  }
}

namespace {

// The writer's entry of counter map/key in `part` (zero when absent).
PnTotals EntryOf(const GridPartition* part, const std::string& map, const std::string& key,
                 const std::string& writer) {
  if (part == nullptr) return {};
  const CounterMap* counters = part->CountersOf(map);
  const PnState* state = counters ? counters->Get(key) : nullptr;
  if (state == nullptr) return {};
  auto it = state->find(writer);
  return it == state->end() ? PnTotals{} : it->second;
}

bool AtLeast(const PnTotals& held, const PnTotals& promised) {
  return held.positive >= promised.positive && held.negative >= promised.negative;
}

std::string TotalsText(const PnTotals& t) { return fmt::format("+{}/-{}", t.positive, t.negative); }

}  // namespace

std::optional<std::string> CounterNotHeld(const GridHistory::CounterTotals& promised,
                                          const std::vector<Holder>& holders) {
  for (const auto& [map_key, writers] : promised) {
    const auto& [map, key] = map_key;
    const uint32_t p = PartitionOf(key);
    for (const auto& [writer, totals] : writers) {
      const bool held = std::any_of(holders.begin(), holders.end(), [&](const Holder& h) {
        return AtLeast(EntryOf(h.partition(p), map, key, writer), totals);
      });
      if (held) continue;
      std::string found;
      for (const Holder& h : holders) {
        if (h.partition(p) == nullptr) continue;
        found += fmt::format("; {} holds {}", h.name,
                             TotalsText(EntryOf(h.partition(p), map, key, writer)));
      }
      return fmt::format("counter {}/{}: {}'s totals {}{}", map, key, writer, TotalsText(totals),
                         found);
    }
  }
  return std::nullopt;
}

std::optional<Violation> CheckGridPnModel(
    const GridHistory& history, const std::function<Holder(uint32_t partition)>& owner_of) {
  const GridHistory::CounterTotals expected = history.ExpectedCounters();
  const auto fail = [](const Holder& owner, const std::string& map, const std::string& key,
                       const PnState* held, std::string what) {
    return Violation{
        Invariant::kGridPnModel,
        fmt::format("owner {} holds counter {}/{} = {}: {}", owner.name, map, key,
                    held ? fmt::format("{}", CounterValue(*held)) : std::string("nothing"), what)};
  };
  // Every entry the owners hold is the model's.
  for (uint32_t p = 0; p < kPartitionCount; ++p) {
    const Holder owner = owner_of(p);
    const GridPartition* part = owner.partition(p);
    if (part == nullptr) continue;
    for (const auto& [map, counters] : part->counters) {
      for (const auto& [key, state] : counters->counters()) {
        const auto model = expected.find({map, key});
        for (const auto& [writer, totals] : state) {
          const PnTotals* want = nullptr;
          if (model != expected.end()) {
            auto w = model->second.find(writer);
            if (w != model->second.end()) want = &w->second;
          }
          if (want == nullptr) {
            return fail(owner, map, key, &state,
                        fmt::format("{} has an entry {} but no durable op of it incremented this "
                                    "counter",
                                    writer, TotalsText(totals)));
          }
          if (*want == totals) continue;
          return fail(owner, map, key, &state,
                      fmt::format("{}'s entry is {}, but its durable ops add up to {}", writer,
                                  TotalsText(totals), TotalsText(*want)));
        }
      }
    }
  }
  // Every entry of the model is held (the loop above saw every held one).
  for (const auto& [map_key, writers] : expected) {
    const auto& [map, key] = map_key;
    const uint32_t p = PartitionOf(key);
    const Holder owner = owner_of(p);
    const GridPartition* part = owner.partition(p);
    const CounterMap* counters = part ? part->CountersOf(map) : nullptr;
    const PnState* held = counters ? counters->Get(key) : nullptr;
    for (const auto& [writer, totals] : writers) {
      if (totals == PnTotals{} || (held != nullptr && held->contains(writer))) continue;
      return fail(owner, map, key, held,
                  fmt::format("{}'s entry is missing; its durable ops add up to {}", writer,
                              TotalsText(totals)));
    }
  }
  return std::nullopt;
}

}  // namespace seedgrid::invariants
