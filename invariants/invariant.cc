#include "invariants/invariant.h"

#include <array>
#include <vector>

#include "engine/base/assert.h"

namespace seedgrid::invariants {

namespace {

using enum Invariant;
using enum InvariantScope;

constexpr std::array kInvariants = {
    InvariantInfo{kConvergence, "convergence", kReplica,
                  "replicas agree after the heal, and still after everything in flight lands"},
    InvariantInfo{kLwwModel, "lww_model", kReplica,
                  "every LWW key holds the write with the highest stamp"},
    InvariantInfo{kOrModel, "or_model", kReplica,
                  "OR-Map items are the adds no remove observed (add wins)"},
    InvariantInfo{kPnModel, "pn_model", kReplica,
                  "counters equal the increments minus the decrements, per node and half"},
    InvariantInfo{kHlc, "hlc", kBoth,
                  "local stamps strictly increase, across restarts too, and (replica) exceed every "
                  "accepted remote stamp"},
    InvariantInfo{kQueries, "queries", kReplica,
                  "indexed queries, pages and live subscriptions equal a scan"},
    InvariantInfo{kGridTable, "grid_table", kGrid,
                  "live servers hold one partition table whose members are the live servers"},
    InvariantInfo{kGridConvergence, "grid_convergence", kGrid,
                  "owners, backups and clients hold the same records and marks"},
    InvariantInfo{kGridDurability, "grid_durability", kGrid,
                  "acknowledged writes survive crashes and (REPLICATED) a lost disk"},
    InvariantInfo{kGridExactlyOnce, "grid_exactly_once", kGrid,
                  "every durable op-log entry is applied, never twice on one disk"},
    InvariantInfo{kGridLiveQueries, "grid_live_queries", kGrid,
                  "replayed live-query streams equal a fresh query over the owners"},
    InvariantInfo{kGridStorageAcks, "grid_storage_acks", kGrid,
                  "no acknowledgement leaves a server whose storage failed and has not recovered"},
    InvariantInfo{kGridLostUpdate, "grid_lost_update", kGrid,
                  "every acknowledged write is the client's own op (no reused sequence number) "
                  "and its owner holds its value at its stamp unless a later write replaced it"},
    InvariantInfo{kGridLwwModel, "grid_lww_model", kGrid,
                  "every record an owner holds is a client's write, with its value, at the stamp "
                  "the grid applied it with"},
    InvariantInfo{kGridPnModel, "grid_pn_model", kGrid,
                  "every counter entry an owner holds is the sum of its client's durably logged "
                  "increments (and decrements, apart)"},
    InvariantInfo{kGridOrModel, "grid_or_model", kGrid,
                  "every OR-Map item an owner holds is a client's durable add, with its "
                  "value, observed by no durable remove; every acknowledged add no remove "
                  "observed is held"},
    InvariantInfo{kLiveness, "liveness", kBoth, "the cluster converges within liveness_ms"},
    InvariantInfo{kHang, "hang", kHarness,
                  "the run ends within the scenario's events_max events (and the tool's "
                  "--run-timeout of wall time)"},
    InvariantInfo{kCrash, "crash", kHarness,
                  "the run's process does not die (signal, failed assertion, sanitizer report, "
                  "std::terminate); reported by the tool"},
};

bool InScope(InvariantScope scope, bool grid) {
  return scope == kBoth || scope == (grid ? kGrid : kReplica);
}

std::vector<Invariant> Collect(bool grid) {
  std::vector<Invariant> out;
  for (const InvariantInfo& info : kInvariants) {
    if (InScope(info.scope, grid)) out.push_back(info.id);
  }
  return out;
}

}  // namespace

std::span<const InvariantInfo> AllInvariants() { return kInvariants; }

std::string_view InvariantName(Invariant invariant) {
  const size_t i = static_cast<size_t>(invariant);
  SG_ASSERT(i < kInvariants.size());
  SG_ASSERT(kInvariants[i].id == invariant);  // The table is in enum order.
  return kInvariants[i].name;
}

std::optional<Invariant> ParseInvariant(std::string_view name) {
  for (const InvariantInfo& info : kInvariants) {
    if (info.name == name) return info.id;
  }
  return std::nullopt;
}

std::span<const Invariant> InvariantsFor(bool grid) {
  static const std::vector<Invariant> kReplicaSet = Collect(false);
  static const std::vector<Invariant> kGridSet = Collect(true);
  return grid ? kGridSet : kReplicaSet;
}

std::string InvariantList(bool grid) {
  std::string out;
  for (Invariant i : InvariantsFor(grid)) {
    if (!out.empty()) out += ", ";
    out += InvariantName(i);
  }
  return out;
}

}  // namespace seedgrid::invariants
