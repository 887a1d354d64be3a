// GridCluster's workload: Poisson op arrivals, each a random client's LWW set or remove, counter
// increment or decrement, or OR add or remove (OpMix weights), fed to the history as issued.
#include <fmt/format.h>

#include "engine/base/strings.h"
#include "scenarios/grid_cluster.h"
#include "sim/random.h"

namespace seedgrid::scenarios {

using invariants::Invariant;

void GridCluster::ScheduleWorkload() {
  if (s_.ops_per_sec > 0 && g_.clients > 0) ScheduleNextOp();
  ScheduleTransportSwitches();
}

void GridCluster::ScheduleNextOp() {
  const uint64_t gap = sim::Exponential(workload_, 1'000'000'000 / s_.ops_per_sec);
  const uint64_t at = sim_.now_ns() + std::max<uint64_t>(gap, 1);
  if (at >= s_.duration_ms * kNsPerMs) return;
  sim_.At(at, [this] {
    const int c = static_cast<int>(workload_.Uniform(g_.clients));
    DoOp(c, run_.op_schedule.Next());
    ScheduleNextOp();
  });
}

// Every value a client write draws, in the order DoOp always drew them (with no counter and OR
// weights, the draws of the workload before counters). Counters ("n0" to "n15") and OR-Maps ("o0"
// to "o23") are key spaces of their own, few keys so that many clients write each; OR values are
// few too (a city), so a remove often takes several equal items.
GridCluster::Op GridCluster::DrawOp(Random& r) const {
  Op op;
  const uint64_t key = r.Uniform(static_cast<uint64_t>(s_.keys));
  const uint64_t set = s_.mix.lww_set, remove = s_.mix.lww_remove, counter = s_.mix.counter;
  const uint64_t kinds = remove + set + counter + s_.mix.or_add + s_.mix.or_remove;
  const uint64_t kind = r.Uniform(std::max<uint64_t>(kinds, 1));
  op.remove = kind < remove;
  op.counter = kind >= remove + set && kind < remove + set + counter;
  op.or_add = kind >= remove + set + counter && kind < remove + set + counter + s_.mix.or_add;
  op.or_remove = kind >= remove + set + counter + s_.mix.or_add;
  if (op.counter) {
    op.key = fmt::format("n{}", key % std::min<uint64_t>(s_.keys, 16));
  } else if (op.or_add || op.or_remove) {
    op.key = fmt::format("o{}", key % std::min<uint64_t>(s_.keys, 24));
  } else {
    op.key = fmt::format("k{}", key);
  }
  const uint64_t pick = r.Uniform(g_.fire_and_forget + g_.applied + g_.replicated);
  if (pick < g_.fire_and_forget) {
    op.concern = msg::WriteConcern::kFireAndForget;
  } else if (pick < g_.fire_and_forget + g_.applied) {
    op.concern = msg::WriteConcern::kApplied;
  }
  if (op.counter) {
    const int64_t magnitude = 1 + static_cast<int64_t>(r.Uniform(5));
    op.delta = r.Uniform(3) == 0 ? -magnitude : magnitude;  // a third are decrements
  } else if (op.or_add) {
    op.city = kCities[r.Uniform(std::size(kCities))];
  } else if (op.or_remove) {
    op.pick = r.Uniform(1 << 16);
  } else if (!op.remove) {
    op.city = kCities[r.Uniform(std::size(kCities))];
    op.age = static_cast<int64_t>(r.Uniform(100));
  }
  return op;
}

// A dropped op (!apply) is drawn all the same, so the client's stream stays where it would be.
void GridCluster::DoOp(int c, bool apply) {
  const int node = ClientNode(c);
  if (!clients_[c] || sim_.paused(node)) return;
  const Op op = DrawOp(client_random_[c]);
  if (!apply) return;
  sim::Simulator::ActingAs acting(sim_, node);  // Crash points in the call hit the client.
  GridClient& client = *clients_[c];
  std::string text;
  const NodeId& name = sim_.node_id(node);
  if (op.or_add || op.or_remove) {
    text = op.or_add ? DoOrAdd(c, op) : DoOrRemove(c, op);
    if (text.empty()) return;
  } else if (op.counter) {
    absl::StatusOr<uint64_t> seq = client.Increment(MapOf(c), op.key, op.delta, op.concern);
    if (!seq.ok()) {  // The workload's totals stay far below 2^64: the client's are wrong.
      if (run_.On(Invariant::kGridPnModel)) {
        run_.Violate(Invariant::kGridPnModel,
                     fmt::format("client {} refused to add {:+} to counter {}/{}: {}", name,
                                 op.delta, MapOf(c), op.key, seq.status().message()));
      }
      return;
    }
    history_.OnIssuedCounter(name, *seq, MapOf(c), op.key, op.delta);
    text = fmt::format("c{} incr {} {:+} {} #{}", c, op.key, op.delta,
                       msg::WriteConcernName(op.concern), *seq);
  } else if (op.remove) {
    const uint64_t seq = client.Remove(MapOf(c), op.key, op.concern);
    history_.OnIssued(name, seq, MapOf(c), op.key, invariants::ValueHash(std::nullopt));
    text = fmt::format("c{} remove {} {} #{}", c, op.key, msg::WriteConcernName(op.concern), seq);
  } else {
    Document doc{{"city", op.city}, {"age", op.age}, {"by", name}};
    text = fmt::format("c{} set {} {} {}", c, op.key, doc.ToString(),
                       msg::WriteConcernName(op.concern));
    const uint64_t value_hash = invariants::ValueHash(doc);
    const uint64_t seq = client.Set(MapOf(c), op.key, std::move(doc), op.concern);
    history_.OnIssued(name, seq, MapOf(c), op.key, value_hash);
    text += fmt::format(" #{}", seq);
  }
  ++ops_;
  sim_.trace().Record(sim_.now_ns(), sim::TraceKind::kOp, node, -1, OpDigest(text),
                      [&] { return text; });
  TurnPages(c);
}

// An OR add of a city: many clients add the same few values to the same few keys.
std::string GridCluster::DoOrAdd(int c, const Op& op) {
  GridClient& client = *clients_[c];
  const NodeId& name = sim_.node_id(ClientNode(c));
  Document doc{{"city", op.city}};
  const uint64_t value_hash = invariants::ValueHash(doc);
  absl::StatusOr<uint64_t> seq = client.AddItem(MapOf(c), op.key, std::move(doc), op.concern);
  if (!seq.ok()) {  // The workload's op logs stay far below 2^32 entries: the client is wrong.
    if (run_.On(Invariant::kGridOrModel)) {
      run_.Violate(Invariant::kGridOrModel,
                   fmt::format("client {} refused to add to OR-Map {}/{}: {}", name, MapOf(c),
                               op.key, seq.status().message()));
    }
    return {};
  }
  history_.OnIssuedOrAdd(name, *seq, MapOf(c), op.key, value_hash);
  return fmt::format("c{} add {} {} {} #{}", c, op.key, op.city, msg::WriteConcernName(op.concern),
                     *seq);
}

// An OR remove of the value of one of the items the client holds of the key (none: no op). The
// history learns which items the remove observed: every one of the key with that value.
std::string GridCluster::DoOrRemove(int c, const Op& op) {
  GridClient& client = *clients_[c];
  const OrMap* or_map = client.OrMapOf(MapOf(c));
  const OrEntry* entry = or_map ? or_map->GetEntry(op.key) : nullptr;
  if (entry == nullptr || entry->items.empty()) return {};
  const Document value =
      std::next(entry->items.begin(), op.pick % entry->items.size())->second.value;
  std::vector<Timestamp> observed;
  for (const auto& [tag, item] : entry->items) {
    if (item.value == value && item.origin) observed.push_back(*item.origin);
  }
  absl::StatusOr<uint64_t> seq = client.RemoveItem(MapOf(c), op.key, value, op.concern);
  const NodeId& name = sim_.node_id(ClientNode(c));
  if (!seq.ok()) {  // It holds an item with that value: the client is wrong.
    if (run_.On(Invariant::kGridOrModel)) {
      run_.Violate(Invariant::kGridOrModel,
                   fmt::format("client {} refused to remove {} from OR-Map {}/{}, which it holds: "
                               "{}",
                               name, value.ToString(), MapOf(c), op.key, seq.status().message()));
    }
    return {};
  }
  history_.OnIssuedOrRemove(name, *seq, MapOf(c), op.key, std::move(observed));
  return fmt::format("c{} remove-item {} {} {} #{}", c, op.key, value.ToString(),
                     msg::WriteConcernName(op.concern), *seq);
}

}  // namespace seedgrid::scenarios
