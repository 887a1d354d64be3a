#include "scenarios/grid_cluster.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "engine/base/assert.h"
#include "engine/base/strings.h"
#include "engine/cluster/record_digest.h"
#include "sim/random.h"

namespace seedgrid::scenarios {

using invariants::Invariant;

GridCluster::GridCluster(RunContext& run)
    : run_(run),
      s_(run.scenario),
      g_(*run.scenario.grid),
      sim_(run.sim),
      workload_(sim::Substream(run.seed, "workload")),
      servers_total_(g_.servers + static_cast<int>(g_.joins_at_ms.size())),
      hlc_(run.scenario.nodes) {
  SG_ASSERT(s_.nodes == g_.nodes());
  servers_.resize(servers_total_);
  started_.assign(servers_total_, false);
  for (int i = 0; i < g_.servers; ++i) started_[i] = true;
  history_.SetBackupCount(g_.backup_count);
  leaving_.assign(servers_total_, false);
  retired_.assign(servers_total_, false);
  disk_.assign(servers_total_, 0);
  started_at_ns_.assign(servers_total_, 0);
  clients_.resize(g_.clients);
  durable_at_crash_.resize(g_.clients);
  streams_.resize(g_.clients);
  offline_.assign(g_.clients, false);
  for (int i = 0; i < g_.servers; ++i) seeds_.push_back(sim_.node_id(i));
  for (int i = 0; i < g_.clients; ++i) {
    client_random_.push_back(sim::Substream(run.seed, fmt::format("workload/c{}", i)));
    transport_.push_back(InitialTransport(i));
  }
}

std::string GridCluster::SafetyText() const {
  return fmt::format("grid: {} servers, {} clients, {}", servers_total_, g_.clients,
                     run_.swarm.ToString());
}

std::string GridCluster::MapOf(int c) const {
  return g_.client_groups == 1 ? std::string("users")
                               : fmt::format("users{}", c % g_.client_groups);
}

// ------------------------------------------------------------------ nodes

void GridCluster::StartNode(int i) {
  if (IsServer(i)) {
    StartServer(i);
  } else {
    StartClient(i - servers_total_);
  }
}

void GridCluster::StartServer(int i) {
  if (!started_[i] || retired_[i]) return;
  GridServerOptions o{.node_id = sim_.node_id(i),
                      .seeds = seeds_,
                      .join = i >= g_.servers,
                      .backup_count = g_.backup_count,
                      .heartbeat_interval_ms = g_.heartbeat_interval_ms,
                      .suspect_after_ms = g_.suspect_after_ms,
                      .anti_entropy_interval_ms = g_.anti_entropy_interval_ms,
                      .retry_interval_ms = g_.retry_interval_ms,
                      .tombstone_grace_ms = g_.tombstone_grace_ms,
                      .events = [this, i](const events::NodeEvent& e) { OnServerEvent(i, e); }};
  auto server = GridServer::Open(sim_.env(i), std::move(o));
  if (!server.ok()) {
    run_.Violate(Invariant::kGridDurability,
                 fmt::format("server n{} could not start from its storage: {}", i,
                             server.status().message()));
    return;
  }
  servers_[i] = std::move(*server);
  started_at_ns_[i] = sim_.now_ns();
  if (leaving_[i]) servers_[i]->Leave();
}

void GridCluster::StartClient(int c) {
  const int node = ClientNode(c);
  GridClientOptions o{.node_id = sim_.node_id(node),
                      .servers = seeds_,
                      .first_server = static_cast<size_t>(c),
                      .push_interval_ms = g_.client_push_interval_ms,
                      .sync_interval_ms = g_.client_sync_interval_ms,
                      .server_timeout_ms = g_.client_timeout_ms,
                      .transport = transport_[c],
                      .start_online = !offline_[c],
                      .events = [this, c](const events::NodeEvent& e) { OnClientEvent(c, e); }};
  auto client = GridClient::Open(sim_.env(node), std::move(o));
  if (!client.ok()) {
    run_.Violate(Invariant::kGridDurability,
                 fmt::format("client n{} could not start from its storage: {}", node,
                             client.status().message()));
    return;
  }
  clients_[c] = std::move(*client);
  CheckRestoredClient(c);
  clients_[c]->Open(MapOf(c));
  Subscribe(c);
}

// A client's disk is its own (MayLoseDisk: servers only): what it had synced comes back, before
// any server could repair it.
void GridCluster::RecordDurableAtCrash(int c) {
  durable_at_crash_[c].clear();
  const GridClient* client = clients_[c].get();
  if (client == nullptr || !run_.On(Invariant::kGridDurability)) return;
  const std::string map = MapOf(c);
  const auto m = client->maps().find(map);
  if (m == client->maps().end()) return;
  for (const auto& [key, record] : m->second->records()) {
    if (client->RecordDurable(map, key)) durable_at_crash_[c].emplace(key, record.ts);
  }
}

void GridCluster::CheckRestoredClient(int c) {
  const absl::btree_map<std::string, Timestamp> want = std::exchange(durable_at_crash_[c], {});
  if (want.empty() || !run_.On(Invariant::kGridDurability)) return;
  const auto m = clients_[c]->maps().find(MapOf(c));
  for (const auto& [key, ts] : want) {
    const LwwRecord* got = m == clients_[c]->maps().end() ? nullptr : m->second->GetRecord(key);
    if (got != nullptr && !(got->ts < ts)) continue;
    run_.Violate(Invariant::kGridDurability,
                 fmt::format("client n{} restarted without its synced record '{}' of map '{}' "
                             "(stamped {}; it restored {})",
                             ClientNode(c), key, MapOf(c), ts.ToString(),
                             got == nullptr ? std::string("none") : got->ts.ToString()));
    return;
  }
}

void GridCluster::StopNode(int i) {
  if (IsServer(i)) {
    // Before the disk loses its unsynced writes (Simulator::Crash stops the node first).
    history_.OnServerCrash(sim_.node_id(i), sim_.storage(i).clean_syncs());
    servers_[i].reset();
  } else {
    RecordDurableAtCrash(i - servers_total_);  // Before the disk loses its unsynced writes.
    clients_[i - servers_total_].reset();
  }
  hlc_.OnCrash(i, sim_.storage(i).clean_syncs());
}

void GridCluster::Shutdown() {
  clients_.clear();
  servers_.clear();
}

// A node's events after its crash point stand for what it did after crashing: ignored.
void GridCluster::OnServerEvent(int i, const events::NodeEvent& e) {
  if (sim_.crashing(i)) return;
  const NodeId& name = sim_.node_id(i);  // "n<i>"; no formatting on this per-event path
  if (const auto* a = std::get_if<events::OpApplied>(&e)) {
    ++checks_;
    auto v = history_.OnApplied(name, disk_[i], sim_.storage(i).clean_syncs(), a->partition,
                                a->client, a->seq, a->ts, a->client_ts);
    if (v && run_.On(v->invariant)) run_.Violate(v);
    OnIssued(i, a->ts);
  } else if (std::holds_alternative<events::OpAcknowledged>(e) ||
             std::holds_alternative<events::StateAcknowledged>(e)) {
    if (!run_.On(Invariant::kGridStorageAcks)) return;
    ++checks_;
    run_.Violate(invariants::CheckStorageAck(name, sim_.storage(i).failed(), e));
  } else if (const auto* f = std::get_if<events::StorageFailed>(&e)) {
    sim_.TraceFault(i, fmt::format("storage error n{}: {}", i, f->error));
  }
}

void GridCluster::OnIssued(int i, const Timestamp& ts) {
  auto v = hlc_.OnIssued(i, ts, sim_.storage(i).clean_syncs());
  if (run_.On(Invariant::kHlc)) run_.Violate(v);
}

std::optional<uint64_t> GridCluster::LastIssuedMs(int i) const {
  const std::optional<Timestamp>& last = hlc_.last_local(i);
  return last ? std::optional<uint64_t>(last->millis) : std::nullopt;
}

void GridCluster::OnClientEvent(int c, const events::NodeEvent& e) {
  if (sim_.crashing(ClientNode(c))) return;
  if (const auto* t = std::get_if<events::TimestampIssued>(&e)) {
    OnIssued(ClientNode(c), t->ts);
  } else if (const auto* a = std::get_if<events::AckReceived>(&e)) {
    ++checks_;
    auto v = history_.OnAckReceived(sim_.node_id(ClientNode(c)), *a,
                                    invariants::ValueHash(*a->value), sim_.now_ns());
    if (run_.On(Invariant::kGridLostUpdate)) run_.Violate(v);
  } else if (const auto* l = std::get_if<events::OpLogged>(&e)) {
    history_.OnLogged(sim_.node_id(ClientNode(c)), l->seq);
  } else if (const auto* f = std::get_if<events::StorageFailed>(&e)) {
    sim_.TraceFault(ClientNode(c), fmt::format("storage error n{}: {}", ClientNode(c), f->error));
  }
}

// ------------------------------------------------------------------ fault targets

int GridCluster::PickCrash(Random& r) {
  if (g_.clients > 0 && r.Uniform(100) < g_.client_crash_pct) {
    return ClientNode(static_cast<int>(r.Uniform(g_.clients)));
  }
  const int i = static_cast<int>(r.Uniform(servers_total_));
  return started_[i] && !retired_[i] ? i : -1;
}

// A REPLICATED acknowledgement promised that another server already holds the write.
void GridCluster::BeforeDiskLoss(int i) {
  if (run_.On(Invariant::kGridDurability)) CheckHeldElsewhere(i);
}

void GridCluster::AfterDiskLoss(int i) {
  ++disk_[i];
  hlc_.OnDiskLost(i);  // A replaced disk holds no clock state: nothing is owed.
  history_.OnDiskLost(sim_.now_ns(), sim_.node_id(i));
}

// Every acknowledged write survives servers crashing together; checked before anything (a client's
// repair, anti-entropy) could restore a lost one, when every other server is up.
void GridCluster::AfterRestartTogether(const std::vector<int>& nodes) {
  if (!run_.On(Invariant::kGridDurability)) return;
  for (int j = 0; j < servers_total_; ++j) {
    if (Active(j) && !servers_[j]) return;
  }
  checks_ += history_.replicated().size() + history_.applied().size();
  run_.Violate(invariants::CheckAckedHeld(
      history_, HoldersExcept(-1), fmt::format("n{} crashed together", fmt::join(nodes, ",n"))));
}

void GridCluster::SetOffline(int c, bool offline) {
  offline_[c] = offline;
  sim_.TraceFault(ClientNode(c),
                  fmt::format("{} n{}", offline ? "offline" : "online", ClientNode(c)));
  if (!clients_[c]) return;
  sim::Simulator::ActingAs acting(sim_, ClientNode(c));
  if (offline) {
    clients_[c]->GoOffline();
  } else {
    clients_[c]->GoOnline();
  }
}

void GridCluster::Join(int i) {
  started_[i] = true;
  sim_.TraceFault(i, fmt::format("join n{}", i));
  sim::Simulator::ActingAs acting(sim_, i);
  if (sim_.alive(i)) StartNode(i);
}

void GridCluster::BeginLeave(int i) {
  if (!started_[i] || leaving_[i]) return;
  // Never let the last active server leave.
  int active = 0;
  for (int j = 0; j < servers_total_; ++j) active += Active(j) ? 1 : 0;
  if (active <= 1) return;
  leaving_[i] = true;
  sim_.TraceFault(i, fmt::format("leave n{}", i));
  if (servers_[i]) {
    sim::Simulator::ActingAs acting(sim_, i);
    servers_[i]->Leave();
  }
  PollLeft(i);
}

void GridCluster::PollLeft(int i) {
  if (servers_[i] && servers_[i]->left()) {
    retired_[i] = true;
    sim_.TraceFault(i, fmt::format("left n{}", i));
    sim_.Crash(i);  // Stops it for good (StartServer ignores retired servers).
    return;
  }
  sim_.At(sim_.now_ns() + 100 * kNsPerMs, [this, i] { PollLeft(i); });
}

// ------------------------------------------------------------------ checks

std::vector<invariants::Holder> GridCluster::HoldersExcept(int lost) const {
  std::vector<invariants::Holder> out;
  for (int j = 0; j < servers_total_; ++j) {
    if (j == lost || !servers_[j]) continue;
    const GridServer* s = servers_[j].get();
    out.push_back({fmt::format("n{}", j), [s](uint32_t p) { return s->partition(p); }});
  }
  return out;
}

// The promise covers one server failure at a time: check only when every other server is up and
// has been for long enough to catch up (suspicion, a pull, anti-entropy rounds). Also run every
// check_interval_ms of the safety phase (lost = -1), so a migration that drops data is seen
// before a client's repair could restore it.
void GridCluster::CheckHeldElsewhere(int lost) {
  const uint64_t settle_ns =
      (g_.suspect_after_ms + 3 * g_.anti_entropy_interval_ms + 2 * g_.retry_interval_ms) * kNsPerMs;
  for (int j = 0; j < servers_total_; ++j) {
    if (j == lost || !Active(j)) continue;
    if (!servers_[j] || sim_.now_ns() - started_at_ns_[j] < settle_ns) return;
  }
  checks_ += history_.replicated().size();
  run_.Violate(invariants::CheckHeldElsewhere(history_, HoldersExcept(lost),
                                              lost >= 0 ? fmt::format("n{}", lost) : ""));
}

void GridCluster::PeriodicCheck() {
  sim_.trace().Record(sim_.now_ns(), sim::TraceKind::kCheck, -1, -1, 0,
                      [] { return std::string("replicated writes held"); });
  if (run_.On(Invariant::kGridDurability)) CheckHeldElsewhere(-1);
}

const GridServer* GridCluster::FirstActive() const {
  for (int i = 0; i < servers_total_; ++i) {
    if (Active(i)) return servers_[i].get();
  }
  return nullptr;
}

const GridServer* GridCluster::ServerById(const NodeId& id) const {
  for (int i = 0; i < servers_total_; ++i) {
    if (servers_[i] && sim_.node_id(i) == id) return servers_[i].get();
  }
  return nullptr;
}

std::optional<Unconverged> GridCluster::Probe(bool full) {
  ++checks_;
  std::vector<invariants::ServerView> servers;
  for (int i = 0; i < servers_total_; ++i) {
    servers.push_back(
        {fmt::format("n{}", i), Active(i), leaving_[i] && !retired_[i], servers_[i].get()});
  }
  std::vector<invariants::ClientView> clients;
  clients.reserve(g_.clients);
  // Full probes recompute each client's digests from its records (the quiescence check), so a
  // digest bug cannot hide a difference; other probes use the client's maintained digests.
  std::vector<PartitionDigests> recomputed;
  recomputed.reserve(full ? g_.clients : 0);
  for (int c = 0; c < g_.clients; ++c) {
    invariants::ClientView v{fmt::format("n{}", ClientNode(c)), clients_[c] != nullptr, 0,
                             MapOf(c)};
    if (const GridClient* client = clients_[c].get()) {
      v.op_log = client->op_log().size();
      v.digests = full ? nullptr : client->Digests(v.map);
      const auto m = client->maps().find(v.map);
      if (full && m != client->maps().end()) {
        PartitionDigests& mine = recomputed.emplace_back();
        for (const auto& [key, record] : m->second->records()) {
          mine.Apply(LwwChange{key, nullptr, &record, ChangeCause::kMerge});
        }
        if (const CounterMap* counters = client->Counters(v.map)) {
          for (const auto& [key, state] : counters->counters()) {
            for (const auto& [writer, totals] : state) {
              mine.Apply(CounterChange{key, writer, nullptr, totals});
            }
          }
        }
        if (const OrMap* or_map = client->OrMapOf(v.map)) {
          for (const auto& [key, entry] : or_map->entries()) {
            mine.Apply(OrChange{key, nullptr, &entry, ChangeCause::kMerge});
          }
        }
        v.digests = &mine;
      }
    }
    clients.push_back(std::move(v));
  }
  if (auto d = invariants::FindGridDifference(servers, clients)) {
    return Unconverged{d->invariant, d->detail};
  }
  if (s_.subscriptions_per_node > 0 && run_.On(Invariant::kGridLiveQueries)) {
    if (auto v = LiveQueriesUnmatched(FirstActive()->table()))
      return Unconverged{v->invariant, v->detail};
  }
  return std::nullopt;
}

uint64_t GridCluster::QuiescenceWaitMs() const {
  return 2 * std::max({g_.anti_entropy_interval_ms, g_.client_sync_interval_ms,
                       g_.heartbeat_interval_ms});
}

// Tombstone GC keeps changing replicas after the grid converged, until every tombstone is past
// the horizon: a difference that follows GC activity is progress, not divergence.
uint64_t GridCluster::Progress() const {
  uint64_t n = 0;
  for (const auto& s : servers_) {
    if (s) n += s->stats().tombstones_pruned + s->stats().records_forgotten;
  }
  for (const auto& c : clients_) {
    if (c) n += c->stats().records_forgotten;
  }
  return n;
}

void GridCluster::FinalChecks() {
  const GridServer* first = FirstActive();
  const PartitionTable* table = first != nullptr ? &first->table() : nullptr;
  const auto owner_of = [this, table](uint32_t p) {
    const GridServer* owner = ServerById(table->owner(p));
    return invariants::Holder{
        table->owner(p), [owner](uint32_t q) { return owner ? owner->partition(q) : nullptr; }};
  };
  if (run_.On(Invariant::kGridDurability) && table != nullptr) {
    checks_ += history_.replicated().size() + history_.applied().size();
    run_.Violate(invariants::CheckHeldByOwners(history_, owner_of));
  }
  if (run_.On(Invariant::kGridExactlyOnce)) {
    ++checks_;
    run_.Violate(invariants::CheckAllApplied(history_));
  }
  if (table == nullptr) return;
  if (run_.On(Invariant::kGridLostUpdate)) {
    checks_ += history_.acked_values().size();
    run_.Violate(invariants::CheckAckedValues(history_, owner_of));
  }
  if (run_.On(Invariant::kGridLwwModel)) {
    ++checks_;
    run_.Violate(invariants::CheckGridLwwModel(history_, owner_of));
  }
  if (run_.On(Invariant::kGridPnModel)) {
    ++checks_;
    run_.Violate(invariants::CheckGridPnModel(history_, owner_of));
  }
  if (run_.On(Invariant::kGridOrModel)) {
    ++checks_;
    run_.Violate(invariants::CheckGridOrModel(history_, owner_of));
  }
}

}  // namespace seedgrid::scenarios
