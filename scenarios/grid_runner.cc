#include "scenarios/grid_runner.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <xxhash.h>

#include <memory>

#include "engine/base/assert.h"
#include "engine/base/buggify.h"
#include "engine/base/strings.h"
#include "engine/client/grid_client.h"
#include "engine/cluster/grid_server.h"
#include "engine/query/query_engine.h"
#include "scenarios/faults.h"
#include "sim/random.h"

namespace seedgrid::scenarios {

namespace {

constexpr uint64_t kNsPerMs = 1'000'000;
constexpr const char* kCities[] = {"Oslo", "Rome", "Lima", "Kyiv", "Pune", "Quito"};

uint64_t Digest(std::string_view text) { return XXH3_64bits(text.data(), text.size()); }

// The live queries clients subscribe to (client c takes templates c, c+1, ... mod the count).
const std::vector<Query>& QueryTemplates() {
  static const std::vector<Query> kTemplates = {
      Query{Eq("city", Value{std::string("Oslo")}), {}, std::nullopt},
      Query{Gte("age", Value{int64_t{50}}), {SortField{"age", true}}, 5},
      Query{All(), {SortField{"city", false}, SortField{"age", false}}, 8},
  };
  return kTemplates;
}

struct Issue {
  std::string invariant;
  std::string detail;
};

class GridRun {
 public:
  GridRun(const Scenario& s, const RunOptions& o)
      : s_(s),
        g_(*s.grid),
        o_(o),
        swarm_(DrawSwarm(s, o.seed)),
        sim_(SimOptions(s, o.seed, DrawTorn(s, o.seed))),
        workload_(sim::Substream(o.seed, "workload")),
        servers_total_(g_.servers + static_cast<int>(g_.joins_at_ms.size())) {
    Xoshiro256 grid_swarm = sim::Substream(o.seed, "grid-swarm");
    offline_per_min_ = DrawRate(grid_swarm, g_.offline_per_min);
    servers_.resize(servers_total_);
    started_.assign(servers_total_, false);
    for (int i = 0; i < g_.servers; ++i) started_[i] = true;
    leaving_.assign(servers_total_, false);
    retired_.assign(servers_total_, false);
    generation_.assign(servers_total_, 0);
    started_at_ns_.assign(servers_total_, 0);
    clients_.resize(g_.clients);
    streams_.resize(g_.clients);
    offline_.assign(g_.clients, false);
    for (int i = 0; i < g_.servers; ++i) seeds_.push_back(sim_.node_id(i));
    for (int i = 0; i < g_.clients; ++i) {
      client_random_.push_back(sim::Substream(o.seed, fmt::format("workload/c{}", i)));
    }
    if (o.trace_sink) sim_.trace().set_sink(o.trace_sink);
    sim_.trace().set_keep_log(o.keep_trace_log);
  }

  RunResult Go() {
    std::optional<BuggifyContext> buggify;
    if (swarm_.buggify) buggify.emplace(o_.seed ^ 0xb0661f7ULL);
    ScopedBuggify scope(buggify ? &*buggify : nullptr);

    sim_.SetNodeCallbacks([this](int i) { StartNode(i); }, [this](int i) { StopNode(i); });
    sim_.SetFaultRates(
        sim::NetworkFaultRates{swarm_.loss_ppm, swarm_.duplicate_ppm, swarm_.reorder_ppm});
    sim_.StartAll();
    sim_.trace().Record(0, sim::TraceKind::kPhase, -1, -1, 1, [this] {
      return fmt::format("safety (grid: {} servers, {} clients; offline {}/min, torn writes {})",
                         servers_total_, g_.clients, offline_per_min_, torn_ ? "on" : "off");
    });
    const uint64_t safety_end = s_.duration_ms * kNsPerMs;
    if (s_.ops_per_sec > 0 && g_.clients > 0) ScheduleNextOp();
    faults_.ScheduleAll();
    ScheduleOffline();
    for (size_t j = 0; j < g_.joins_at_ms.size(); ++j) {
      const int i = g_.servers + static_cast<int>(j);
      sim_.At(g_.joins_at_ms[j] * kNsPerMs, [this, i] { Join(i); });
    }
    for (const GridLeave& l : g_.leaves) {
      sim_.At(l.at_ms * kNsPerMs, [this, l] { BeginLeave(l.server); });
    }
    sim_.At(s_.check_interval_ms * kNsPerMs, [this] { PeriodicCheck(); });
    sim_.At(safety_end, [this] { StartLiveness(); });

    const auto stop = [this] { return violation_.has_value() || converged_; };
    const bool budget_ok = sim_.RunUntil(UINT64_MAX, stop);
    if (!budget_ok && !violation_) {
      Violate("event-budget", fmt::format("the run used its budget of {} events before it ended "
                                          "(raise events_max or shorten the scenario)",
                                          s_.events_max));
    }
    if (!violation_ && !converged_) {
      Violate("liveness", "the run ended (no events left) before the grid converged");
    }
    if (!violation_ && !skip_final_) FinalChecks();

    RunResult r;
    r.pass = !violation_.has_value();
    r.violation = violation_;
    r.swarm = swarm_;
    r.trace_hash = sim_.trace().hash();
    r.events = sim_.trace().events();
    r.sim_events = sim_.stats().events;
    r.messages = sim_.stats().messages_delivered;
    r.virtual_ms = sim_.now_ns() / kNsPerMs;
    r.ops = ops_;
    r.checks = checks_;
    r.converged_after_ms = converged_ ? (converged_at_ns_ - safety_end) / kNsPerMs : 0;
    r.stats = sim_.stats();
    if (buggify) {
      for (const auto& [site, st] : buggify->sites()) {
        if (st.enabled) r.buggify_sites.push_back(site);
        r.buggify_fired += st.fired;
      }
    }
    if (o_.keep_trace_log) r.trace_log = sim_.trace().log();
    clients_.clear();
    servers_.clear();
    return r;
  }

 private:
  struct Acked {
    std::string map;
    std::string key;
    Timestamp ts;
    msg::WriteConcern level;
    uint64_t at_ns;
  };

  static bool DrawTorn(const Scenario& s, uint64_t seed) {
    Xoshiro256 r = sim::Substream(seed, "grid-torn");
    return s.grid->torn_writes && r.Uniform(2) == 0;
  }
  static sim::SimulatorOptions SimOptions(const Scenario& s, uint64_t seed, bool torn) {
    sim::SimulatorOptions o{.seed = seed, .nodes = s.nodes, .clocks = DrawClocks(s, seed)};
    o.latency_min_lo_ns = static_cast<uint64_t>(s.latency_min_us.lo) * 1000;
    o.latency_min_hi_ns = static_cast<uint64_t>(s.latency_min_us.hi) * 1000;
    o.latency_tail_mean_ns = s.latency_tail_mean_us * 1000;
    o.events_max = s.events_max;
    o.torn_writes = torn;
    return o;
  }

  std::string MapOf(int c) const {
    return g_.client_groups == 1 ? std::string("users")
                                 : fmt::format("users{}", c % g_.client_groups);
  }
  bool On(std::string_view invariant) const { return s_.invariants.contains(ToAbsl(invariant)); }
  bool IsServer(int i) const { return i < servers_total_; }
  int ClientNode(int c) const { return servers_total_ + c; }
  // Started, not retired and not leaving: a server that should be a table member.
  bool Active(int i) const { return started_[i] && !retired_[i] && !leaving_[i]; }

  void Violate(std::string invariant, std::string detail) {
    if (violation_) return;
    violation_ =
        RunViolation{std::move(invariant), std::move(detail), sim_.now_ns(), sim_.trace().events()};
  }

  // --- Nodes.
  void StartNode(int i) {
    if (IsServer(i)) {
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
                          .events = [this, i](const events::NodeEvent& e) {
                            if (const auto* a = std::get_if<events::OpApplied>(&e)) {
                              OnApplied(i, a->client, a->seq, a->ts);
                            }
                          }};
      auto server = GridServer::Open(sim_.env(i), std::move(o));
      if (!server.ok()) {
        Violate("grid_durability", fmt::format("server n{} could not start from its storage: {}", i,
                                               server.status().message()));
        return;
      }
      servers_[i] = std::move(*server);
      started_at_ns_[i] = sim_.now_ns();
      if (leaving_[i]) servers_[i]->Leave();
      return;
    }
    const int c = i - servers_total_;
    GridClientOptions o{
        .node_id = sim_.node_id(i),
        .servers = seeds_,
        .first_server = static_cast<size_t>(c),
        .push_interval_ms = g_.client_push_interval_ms,
        .sync_interval_ms = g_.client_sync_interval_ms,
        .server_timeout_ms = g_.client_timeout_ms,
        .start_online = !offline_[c],
        .events = [this](const events::NodeEvent& e) {
          const auto* ack = std::get_if<events::AckReceived>(&e);
          if (ack && ack->concern != msg::WriteConcern::kFireAndForget) {
            acked_.push_back({ack->map, ack->key, ack->ts, ack->concern, sim_.now_ns()});
          }
        }};
    auto client = GridClient::Open(sim_.env(i), std::move(o));
    if (!client.ok()) {
      Violate("grid_durability", fmt::format("client n{} could not start from its storage: {}", i,
                                             client.status().message()));
      return;
    }
    clients_[c] = std::move(*client);
    clients_[c]->Open(MapOf(c));
    // Subscriptions are volatile: a (re)started client subscribes again; the stream replay
    // starts over with it.
    streams_[c].clear();
    const int subs = std::min<int>(s_.subscriptions_per_node, QueryTemplates().size());
    for (int j = 0; j < subs; ++j) {
      const size_t t = (static_cast<size_t>(c) + j) % QueryTemplates().size();
      auto replay = std::make_unique<Replay>();
      replay->query_template = t;
      Replay* r = replay.get();
      auto id = clients_[c]->Subscribe(MapOf(c), QueryTemplates()[t], [r](const LiveDelta& d) {
        if (d.kind == DeltaKind::kLeave) {
          r->rows.erase(std::string(d.row.key));
        } else {
          r->rows[std::string(d.row.key)] = *d.row.value;
        }
      });
      SG_ASSERT(id.ok());
      replay->id = *id;
      streams_[c].push_back(std::move(replay));
    }
  }

  void StopNode(int i) {
    if (IsServer(i)) {
      servers_[i].reset();
      if (!retired_[i] && disk_random_.Uniform(100) < g_.disk_loss_pct) {
        // The machine will come back with a new, empty disk. A REPLICATED acknowledgement
        // promised that another server already holds the write: check it now, before anything
        // (anti-entropy, a client's repair) could restore a write that was lost.
        if (On("grid_durability")) CheckHeldElsewhere(i);
        sim_.storage(i).Wipe();
        ++generation_[i];
        last_disk_loss_ns_ = sim_.now_ns();
        sim_.TraceFault(i, fmt::format("disk lost n{}", i));
      }
    } else {
      clients_[i - servers_total_].reset();
    }
  }

  // A server applies an op-log entry at most once per disk (a replaced disk is a new machine).
  // The promise covers one server failure at a time: check only when every other server is up
  // and has been for long enough to catch up (suspicion, a pull, anti-entropy rounds).
  // Also run every check_interval_ms of the safety phase (lost = -1), so a migration that drops
  // data is seen before a client's repair could restore it.
  void CheckHeldElsewhere(int lost) {
    const uint64_t settle_ns =
        (g_.suspect_after_ms + 3 * g_.anti_entropy_interval_ms + 2 * g_.retry_interval_ms) *
        kNsPerMs;
    for (int j = 0; j < servers_total_; ++j) {
      if (j == lost || !Active(j)) continue;
      if (!servers_[j] || sim_.now_ns() - started_at_ns_[j] < settle_ns) return;
    }
    for (const Acked& w : acked_) {
      if (w.level != msg::WriteConcern::kReplicated) continue;
      ++checks_;
      const uint32_t p = PartitionOf(w.key);
      bool held = false;
      for (int j = 0; j < servers_total_ && !held; ++j) {
        if (j == lost || !servers_[j]) continue;
        const GridPartition* part = servers_[j]->partition(p);
        held = Holds(part, w);
      }
      if (!held) {
        std::string found;
        for (int j = 0; j < servers_total_; ++j) {
          if (j == lost || !servers_[j]) continue;
          const GridPartition* part = servers_[j]->partition(p);
          if (part == nullptr) continue;
          const LwwRecord* r = RecordOf(part, w);
          found += fmt::format("; n{} holds {} (GC watermark {})", j,
                               r ? r->ToString() : std::string("nothing"), part->pruned_below_ms);
        }
        Violate("grid_durability",
                fmt::format("{}no live server holds the write to {}/{} acknowledged at REPLICATED "
                            "with stamp {}{}",
                            lost >= 0 ? fmt::format("n{} lost its disk, and ", lost) : "", w.map,
                            w.key, w.ts.ToString(), found));
        return;
      }
    }
  }

  // A replica holds an acknowledged write when its record of the key is at least as new, or when
  // it has none and the write is older than the partition's tombstone GC watermark (the write,
  // or a later delete of the key, was pruned). An older record means the write was lost or a
  // deleted value came back.
  static const LwwRecord* RecordOf(const GridPartition* part, const Acked& w) {
    if (part == nullptr) return nullptr;
    auto m = part->maps.find(w.map);
    return m == part->maps.end() ? nullptr : m->second->GetRecord(w.key);
  }
  static bool Holds(const GridPartition* part, const Acked& w) {
    if (part == nullptr) return false;
    const LwwRecord* r = RecordOf(part, w);
    if (r == nullptr) return w.ts.millis < part->pruned_below_ms;
    return !(r->ts < w.ts);
  }

  void OnApplied(int server, const NodeId& client, uint64_t seq, const Timestamp& ts) {
    ++checks_;
    auto& appliers = applied_[{client, seq}];
    const std::pair<int, uint32_t> applier{server, generation_[server]};
    for (const auto& a : appliers) {
      if (a == applier && On("grid_exactly_once")) {
        Violate("grid_exactly_once",
                fmt::format("server n{} applied op-log entry {}#{} a second time (now stamped {})",
                            server, client, seq, ts.ToString()));
      }
    }
    appliers.push_back(applier);
  }

  // --- Membership changes.
  void Join(int i) {
    if (liveness_) return;
    started_[i] = true;
    sim_.TraceFault(i, fmt::format("join n{}", i));
    if (sim_.alive(i)) StartNode(i);
  }
  void BeginLeave(int i) {
    if (liveness_ || !started_[i] || leaving_[i]) return;
    // Never let the last active server leave.
    int active = 0;
    for (int j = 0; j < servers_total_; ++j) active += Active(j) ? 1 : 0;
    if (active <= 1) return;
    leaving_[i] = true;
    sim_.TraceFault(i, fmt::format("leave n{}", i));
    if (servers_[i]) servers_[i]->Leave();
    PollLeft(i);
  }
  void PollLeft(int i) {
    if (servers_[i] && servers_[i]->left()) {
      retired_[i] = true;
      sim_.TraceFault(i, fmt::format("left n{}", i));
      sim_.Crash(i);  // Stops it for good (StartNode ignores retired servers).
      return;
    }
    sim_.At(sim_.now_ns() + 100 * kNsPerMs, [this, i] { PollLeft(i); });
  }

  // --- Workload.
  void ScheduleNextOp() {
    const uint64_t gap = sim::Exponential(workload_, 1'000'000'000 / s_.ops_per_sec);
    const uint64_t at = sim_.now_ns() + std::max<uint64_t>(gap, 1);
    if (at >= s_.duration_ms * kNsPerMs) return;
    sim_.At(at, [this] {
      DoOp(static_cast<int>(workload_.Uniform(g_.clients)));
      ScheduleNextOp();
    });
  }

  void DoOp(int c) {
    const int node = ClientNode(c);
    if (!clients_[c] || sim_.paused(node)) return;
    GridClient& client = *clients_[c];
    Random& r = client_random_[c];
    const std::string key = fmt::format("k{}", r.Uniform(static_cast<uint64_t>(s_.keys)));
    const uint32_t remove_weight = s_.mix.lww_remove;
    const bool remove =
        r.Uniform(std::max<uint64_t>(s_.mix.lww_set + remove_weight, 1)) < remove_weight;
    uint64_t pick = r.Uniform(g_.fire_and_forget + g_.applied + g_.replicated);
    msg::WriteConcern concern = msg::WriteConcern::kReplicated;
    if (pick < g_.fire_and_forget) {
      concern = msg::WriteConcern::kFireAndForget;
    } else if (pick < g_.fire_and_forget + g_.applied) {
      concern = msg::WriteConcern::kApplied;
    }
    uint64_t seq = 0;
    std::string text;
    if (remove) {
      seq = client.Remove(MapOf(c), key, concern);
      text = fmt::format("c{} remove {} {} #{}", c, key, msg::WriteConcernName(concern), seq);
    } else {
      Document doc{{"city", kCities[r.Uniform(std::size(kCities))]},
                   {"age", static_cast<int64_t>(r.Uniform(100))},
                   {"by", sim_.node_id(node)}};
      text =
          fmt::format("c{} set {} {} {}", c, key, doc.ToString(), msg::WriteConcernName(concern));
      seq = client.Set(MapOf(c), key, std::move(doc), concern);
      text += fmt::format(" #{}", seq);
    }
    ++ops_;
    issued_.push_back({sim_.node_id(node), seq});
    sim_.trace().Record(sim_.now_ns(), sim::TraceKind::kOp, node, -1, Digest(text),
                        [&] { return text; });
  }

  // --- Client churn: offline periods (the device loses its network; writes go on locally).
  void ScheduleOffline() {
    if (offline_per_min_ == 0 || g_.clients == 0) return;
    auto random = std::make_shared<Xoshiro256>(sim::Substream(o_.seed, "faults/offline"));
    const uint64_t mean_ns = 60'000'000'000ULL / offline_per_min_;
    uint64_t t = 0;
    for (int k = 0; k < 100'000; ++k) {
      t += std::max<uint64_t>(sim::Exponential(*random, mean_ns), 1);
      if (t >= s_.duration_ms * kNsPerMs) break;
      sim_.At(t, [this, random] {
        if (liveness_) return;
        const int c = static_cast<int>(random->Uniform(g_.clients));
        const uint64_t ms =
            static_cast<uint64_t>(sim::SignedIn(*random, g_.offline_ms.lo, g_.offline_ms.hi));
        if (offline_[c]) return;
        offline_[c] = true;
        sim_.TraceFault(ClientNode(c), fmt::format("offline n{} for {} ms", ClientNode(c), ms));
        if (clients_[c]) clients_[c]->GoOffline();
        sim_.At(sim_.now_ns() + ms * kNsPerMs, [this, c] { Online(c); });
      });
    }
  }
  void Online(int c) {
    if (!offline_[c]) return;
    offline_[c] = false;
    sim_.TraceFault(ClientNode(c), fmt::format("online n{}", ClientNode(c)));
    if (clients_[c]) clients_[c]->GoOnline();
  }

  int PickCrash(Random& r) {
    if (g_.clients > 0 && r.Uniform(100) < g_.client_crash_pct) {
      return ClientNode(static_cast<int>(r.Uniform(g_.clients)));
    }
    const int i = static_cast<int>(r.Uniform(servers_total_));
    return started_[i] && !retired_[i] ? i : -1;
  }

  void PeriodicCheck() {
    if (liveness_ || violation_) return;
    sim_.trace().Record(sim_.now_ns(), sim::TraceKind::kCheck, -1, -1, 0,
                        [] { return std::string("replicated writes held"); });
    if (On("grid_durability")) CheckHeldElsewhere(-1);
    sim_.At(sim_.now_ns() + s_.check_interval_ms * kNsPerMs, [this] { PeriodicCheck(); });
  }

  // --- Liveness and checks.
  void StartLiveness() {
    liveness_ = true;
    sim_.trace().Record(sim_.now_ns(), sim::TraceKind::kPhase, -1, -1, 2,
                        [] { return std::string("liveness: faults healed and stopped"); });
    sim_.HealAll();
    sim_.EndPauses();
    sim_.SetFaultRates({});
    for (int i = 0; i < sim_.nodes(); ++i) {
      if (IsServer(i) && (retired_[i] || !started_[i])) continue;
      if (!sim_.alive(i)) sim_.Restart(i);
    }
    for (int c = 0; c < g_.clients; ++c) Online(c);
    ProbeConvergence();
  }

  const GridServer* ServerById(const NodeId& id) const {
    for (int i = 0; i < servers_total_; ++i) {
      if (servers_[i] && sim_.node_id(i) == id) return servers_[i].get();
    }
    return nullptr;
  }

  // The first reason the grid is not (yet) converged, named by the invariant it concerns.
  std::optional<Issue> Unconverged(bool full) {
    ++checks_;
    std::vector<NodeId> active;
    const GridServer* first = nullptr;
    for (int i = 0; i < servers_total_; ++i) {
      if (leaving_[i] && !retired_[i]) {
        return Issue{"grid_table", fmt::format("n{} has not finished leaving", i)};
      }
      if (!Active(i)) continue;
      active.push_back(sim_.node_id(i));
      if (!servers_[i] || !servers_[i]->joined()) {
        return Issue{"grid_table", fmt::format("server n{} is down or has not joined", i)};
      }
      if (first == nullptr) first = servers_[i].get();
    }
    if (first == nullptr) return Issue{"grid_table", "no live server"};
    std::sort(active.begin(), active.end());
    for (int i = 0; i < servers_total_; ++i) {
      if (!Active(i)) continue;
      const PartitionTable& t = servers_[i]->table();
      if (!t.SameAs(first->table())) {
        return Issue{
            "grid_table",
            fmt::format("n{} holds table v{} by '{}' ({}) but {} holds v{} by '{}' ({})", i,
                        t.version(), t.author(), fmt::join(t.members(), ","), first->node_id(),
                        first->table().version(), first->table().author(),
                        fmt::join(first->table().members(), ","))};
      }
      if (t.members() != active) {
        return Issue{"grid_table",
                     fmt::format("table members ({}) are not the live servers ({})",
                                 fmt::join(t.members(), ","), fmt::join(active, ","))};
      }
      if (servers_[i]->pending_replications() > 0) {
        return Issue{"grid_convergence", fmt::format("n{} has replications in flight", i)};
      }
    }
    const PartitionTable& table = first->table();
    // Every owner's digest of every (map, partition), gathered once.
    absl::btree_map<std::string, std::array<uint64_t, kPartitionCount>> owner_digests;
    for (uint32_t p = 0; p < kPartitionCount; ++p) {
      const PartitionReplicas& r = table.replicas(p);
      const GridServer* owner = ServerById(r.owner);
      if (!owner->ready(p)) {
        return Issue{"grid_convergence",
                     fmt::format("owner {} of partition {} is not ready", r.owner, p)};
      }
      const GridPartition* op = owner->partition(p);
      const uint64_t d = op ? op->Digest(p) : 0;
      if (op != nullptr) {
        for (const auto& [name, digests] : op->digests) owner_digests[name][p] = digests.of(p);
      }
      for (const NodeId& b : r.backups) {
        const GridPartition* bp = ServerById(b)->partition(p);
        if ((bp ? bp->Digest(p) : 0) != d) {
          return Issue{"grid_convergence",
                       fmt::format("partition {}: backup {} differs from owner {}", p, b, r.owner)};
        }
      }
      for (int i = 0; i < servers_total_; ++i) {
        if (!servers_[i] || table.IsReplica(p, sim_.node_id(i))) continue;
        if (servers_[i]->partition(p) != nullptr) {
          return Issue{
              "grid_convergence",
              fmt::format("n{} still holds partition {}, which it does not replicate", i, p)};
        }
      }
    }
    if (std::optional<Issue> issue = LiveQueriesUnmatched(table)) return issue;
    for (int c = 0; c < g_.clients; ++c) {
      const GridClient* client = clients_[c].get();
      const int node = ClientNode(c);
      if (client == nullptr)
        return Issue{"grid_convergence", fmt::format("client n{} is down", node)};
      if (!client->op_log().empty()) {
        return Issue{"grid_exactly_once",
                     fmt::format("client n{} still has {} op-log entries unacknowledged", node,
                                 client->op_log().size())};
      }
      // Probes use the client's maintained digests; the quiescence check recomputes them from
      // the records, so a digest bug cannot hide a difference.
      const std::string map = MapOf(c);
      PartitionDigests mine;
      const auto m = client->maps().find(map);
      if (full && m != client->maps().end()) {
        for (const auto& [key, record] : m->second->records()) {
          mine.Apply(LwwChange{key, nullptr, &record, ChangeCause::kMerge});
        }
      }
      const auto owners = owner_digests.find(map);
      for (uint32_t p = 0; p < kPartitionCount; ++p) {
        const uint64_t d = full ? mine.of(p) : client->MapDigest(map, p);
        if (d != (owners == owner_digests.end() ? 0 : owners->second[p])) {
          return Issue{"grid_convergence",
                       fmt::format("client n{} differs from owner {} in partition {}", node,
                                   table.owner(p), p)};
        }
      }
    }
    return std::nullopt;
  }

  // Every subscription's replayed stream equals a fresh query over the owners' records, and the
  // client's merged result has the fresh result's order.
  std::optional<Issue> LiveQueriesUnmatched(const PartitionTable& table) {
    if (s_.subscriptions_per_node == 0 || !On("grid_live_queries")) return std::nullopt;
    // Fresh results per (map, template), computed once per check.
    absl::btree_map<std::pair<std::string, size_t>, std::vector<std::pair<std::string, Document>>>
        fresh;
    for (int c = 0; c < g_.clients; ++c) {
      if (!clients_[c]) continue;
      const std::string map = MapOf(c);
      for (const auto& replay : streams_[c]) {
        ++checks_;
        const auto key = std::make_pair(map, replay->query_template);
        if (!fresh.contains(key)) fresh[key] = FreshResult(table, map, replay->query_template);
        const auto& want = fresh[key];
        const std::map<std::string, Document> want_rows(want.begin(), want.end());
        const MergedQuery* merged = clients_[c]->subscription(replay->id);
        SG_ASSERT(merged != nullptr);
        std::vector<std::string> order;
        for (const RowRef& r : merged->Result()) order.emplace_back(r.key);
        std::vector<std::string> want_order;
        for (const auto& [k, doc] : want) want_order.push_back(k);
        if (replay->rows != want_rows || order != want_order) {
          return Issue{
              "grid_live_queries",
              fmt::format("client n{} subscription {} ({}): the replayed stream has {} "
                          "rows and the merged result [{}], but a fresh query gives {} "
                          "rows [{}]",
                          ClientNode(c), replay->id,
                          ToString(QueryTemplates()[replay->query_template]), replay->rows.size(),
                          fmt::join(order, ","), want_rows.size(), fmt::join(want_order, ","))};
        }
      }
    }
    return std::nullopt;
  }

  std::vector<std::pair<std::string, Document>> FreshResult(const PartitionTable& table,
                                                            const std::string& map, size_t t) {
    QueryEngine engine(sim_.env(0).clock, /*instance_id=*/1);
    for (uint32_t p = 0; p < kPartitionCount; ++p) {
      const GridServer* owner = ServerById(table.owner(p));
      const GridPartition* part = owner ? owner->partition(p) : nullptr;
      if (part == nullptr) continue;
      auto m = part->maps.find(map);
      if (m == part->maps.end()) continue;
      for (const auto& [key, record] : m->second->records()) {
        if (!record.tombstone()) engine.InsertRow(key, nullptr, &*record.value, UINT64_MAX);
      }
    }
    absl::StatusOr<QueryPage> page = engine.Run(QueryTemplates()[t]);
    SG_ASSERT(page.ok());
    std::vector<std::pair<std::string, Document>> out;
    for (const RowRef& r : page->rows) out.emplace_back(std::string(r.key), *r.value);
    return out;
  }

  void ProbeConvergence() {
    if (violation_ || converged_) return;
    std::optional<Issue> issue = Unconverged(false);
    if (!issue) {
      converged_at_ns_ = sim_.now_ns();
      gc_activity_at_convergence_ = GcActivity();
      sim_.trace().Record(sim_.now_ns(), sim::TraceKind::kPhase, -1, -1, 3,
                          [] { return std::string("converged"); });
      const uint64_t rounds = 2 * std::max({g_.anti_entropy_interval_ms, g_.client_sync_interval_ms,
                                            g_.heartbeat_interval_ms});
      const uint64_t horizon =
          std::max(sim_.latest_delivery_ns(), sim_.now_ns()) + rounds * kNsPerMs + kNsPerMs;
      sim_.At(horizon, [this] { CheckQuiescent(); });
      return;
    }
    const uint64_t deadline = (s_.duration_ms + s_.liveness_ms) * kNsPerMs;
    if (sim_.now_ns() >= deadline) {
      if (On("liveness")) {
        Violate("liveness", fmt::format("the grid did not converge within {} ms after the heal "
                                        "({}): {}",
                                        s_.liveness_ms, issue->invariant, issue->detail));
      } else {
        converged_ = true;
        skip_final_ = true;
      }
      return;
    }
    sim_.At(std::min(sim_.now_ns() + 100 * kNsPerMs, deadline), [this] { ProbeConvergence(); });
  }

  // Tombstone GC keeps changing replicas after the grid converged, until every tombstone is past
  // the horizon: a difference that follows GC activity is progress, not divergence.
  uint64_t GcActivity() const {
    uint64_t n = 0;
    for (const auto& s : servers_) {
      if (s) n += s->stats().tombstones_pruned + s->stats().records_forgotten;
    }
    for (const auto& c : clients_) {
      if (c) n += c->stats().records_forgotten;
    }
    return n;
  }

  void CheckQuiescent() {
    if (violation_) return;
    std::optional<Issue> issue = Unconverged(true);
    if (issue && GcActivity() != gc_activity_at_convergence_) {
      sim_.At(sim_.now_ns() + 100 * kNsPerMs, [this] { ProbeConvergence(); });
      return;
    }
    if (issue && On(issue->invariant)) {
      Violate(issue->invariant,
              fmt::format("converged at {} ms into the liveness phase but not {} ms later, after "
                          "the messages in flight arrived: {}",
                          (converged_at_ns_ - s_.duration_ms * kNsPerMs) / kNsPerMs,
                          (sim_.now_ns() - converged_at_ns_) / kNsPerMs, issue->detail));
      return;
    }
    converged_ = true;
  }

  void FinalChecks() {
    const GridServer* first = nullptr;
    for (int i = 0; i < servers_total_ && first == nullptr; ++i) {
      if (Active(i)) first = servers_[i].get();
    }
    if (On("grid_durability") && first != nullptr) {
      for (const Acked& w : acked_) {
        // APPLIED promises survive crashes (the owner syncs first) but not a lost disk before
        // the backups had the write; REPLICATED promises survive both.
        if (w.level == msg::WriteConcern::kApplied && last_disk_loss_ns_ >= w.at_ns) continue;
        ++checks_;
        const uint32_t p = PartitionOf(w.key);
        const NodeId& owner_id = first->table().owner(p);
        const GridPartition* part = ServerById(owner_id)->partition(p);
        if (!Holds(part, w)) {
          const LwwRecord* record = RecordOf(part, w);
          Violate("grid_durability",
                  fmt::format("a write to {}/{} acknowledged at {} with stamp {} is lost: "
                              "owner {} of partition {} holds {}",
                              w.map, w.key, msg::WriteConcernName(w.level), w.ts.ToString(),
                              owner_id, p, record ? record->ToString() : std::string("nothing")));
          return;
        }
      }
    }
    if (On("grid_exactly_once")) {
      for (const auto& [client, seq] : issued_) {
        ++checks_;
        if (!applied_.contains({client, seq})) {
          Violate(
              "grid_exactly_once",
              fmt::format("op-log entry {}#{} was acknowledged but never applied", client, seq));
          return;
        }
      }
    }
  }

  const Scenario& s_;
  const GridConfig& g_;
  const RunOptions& o_;
  SwarmDraw swarm_;
  bool torn_ = false;
  sim::Simulator sim_;
  Xoshiro256 workload_;
  const int servers_total_;
  uint32_t offline_per_min_ = 0;
  std::vector<NodeId> seeds_;
  std::vector<Xoshiro256> client_random_;
  std::vector<bool> started_, leaving_, retired_, offline_;
  std::vector<std::unique_ptr<GridServer>> servers_;
  std::vector<std::unique_ptr<GridClient>> clients_;
  // Per client, per subscription: the stream of deltas replayed into rows.
  struct Replay {
    uint64_t id = 0;
    size_t query_template = 0;
    std::map<std::string, Document> rows;
  };
  std::vector<std::vector<std::unique_ptr<Replay>>> streams_;
  absl::btree_map<std::pair<NodeId, uint64_t>, std::vector<std::pair<int, uint32_t>>> applied_;
  std::vector<uint32_t> generation_;  // per server: disks replaced so far
  std::vector<uint64_t> started_at_ns_;
  Xoshiro256 disk_random_{sim::Substream(o_.seed, "grid-disk")};
  uint64_t last_disk_loss_ns_ = 0;
  std::vector<std::pair<NodeId, uint64_t>> issued_;
  std::vector<Acked> acked_;
  std::optional<RunViolation> violation_;
  bool liveness_ = false;
  bool converged_ = false;
  bool skip_final_ = false;
  uint64_t converged_at_ns_ = 0;
  uint64_t gc_activity_at_convergence_ = 0;
  uint64_t checks_ = 0;
  uint64_t ops_ = 0;
  FaultInjector faults_{sim_,    s_,        swarm_,
                        o_.seed, liveness_, [this](Random& r) { return PickCrash(r); }};
};

}  // namespace

RunResult RunGridScenario(const Scenario& scenario, const RunOptions& options) {
  SG_ASSERT(scenario.grid.has_value());
  SG_ASSERT(scenario.nodes == scenario.grid->nodes());
  GridRun run(scenario, options);
  return run.Go();
}

}  // namespace seedgrid::scenarios
