// GridCluster: GridServers (the initial members, then one per scheduled join) and GridClients.
// The safety phase runs client writes (LWW set/remove on the client's group map, each with a
// write concern drawn from the scenario's weights) on random clients — online or offline — while
// the fault injector crashes nodes, replaces disks, takes clients offline, fails storage writes
// and syncs, and joins and retires servers. The checks are the pure functions of
// invariants/grid_checks.h, fed from the nodes' events and their public read API, and the HLC
// monitor of invariants/history.h over every server's and client's own stamps.
//
// Node indexes: servers 0..servers_total-1, then the clients.
#ifndef SEEDGRID_SCENARIOS_GRID_CLUSTER_H_
#define SEEDGRID_SCENARIOS_GRID_CLUSTER_H_

#include <map>
#include <memory>
#include <vector>

#include "absl/container/btree_map.h"
#include "engine/client/grid_client.h"
#include "engine/cluster/grid_server.h"
#include "invariants/grid_checks.h"
#include "invariants/history.h"
#include "scenarios/cluster.h"

namespace seedgrid::scenarios {

class GridCluster final : public Cluster {
 public:
  explicit GridCluster(RunContext& run);

  void StartNode(int i) override;
  void StopNode(int i) override;
  void ScheduleWorkload() override;
  std::string SafetyText() const override;
  void PeriodicCheck() override;
  bool RestartsForLiveness(int i) const override {
    return !IsServer(i) || (started_[i] && !retired_[i]);
  }
  std::optional<Unconverged> Probe(bool full) override;
  uint64_t QuiescenceWaitMs() const override;
  uint64_t Progress() const override;
  void FinalChecks() override;
  void Shutdown() override;
  uint64_t ops() const override { return ops_; }
  uint64_t checks() const override { return checks_ + hlc_.checked(); }

  // FaultTargets.
  int PickCrash(Random& r) override;
  bool MayLoseDisk(int i) const override { return IsServer(i) && !retired_[i]; }
  void BeforeDiskLoss(int i) override;
  void AfterDiskLoss(int i) override;
  void AfterRestartTogether(const std::vector<int>& nodes) override;
  int clients() const override { return g_.clients; }
  void SetOffline(int c, bool offline) override;
  bool offline(int c) const override { return offline_[c]; }
  void Join(int i) override;
  void BeginLeave(int i) override;
  std::optional<uint64_t> LastIssuedMs(int i) const override;

 private:
  // Per client, per subscription: the stream of deltas replayed into rows.
  struct Replay {
    uint64_t id = 0;
    size_t query_template = 0;
    std::string cursor;  // a second page: the rows after this cursor
    std::map<std::string, Document> rows;
  };

  bool IsServer(int i) const { return i < servers_total_; }
  int ClientNode(int c) const { return servers_total_ + c; }
  // Started, not retired and not leaving: a server that should be a table member.
  bool Active(int i) const { return started_[i] && !retired_[i] && !leaving_[i]; }
  std::string MapOf(int c) const;
  void StartServer(int i);
  void StartClient(int c);
  // Live queries (grid_live_queries.cc).
  void Subscribe(int c);
  std::unique_ptr<Replay> SubscribeReplay(int c, size_t query_template, std::string cursor);
  void TurnPages(int c);
  bool CursorAtPageEnd(int c, uint64_t id, const std::string& cursor);
  // Transports (grid_transports.cc): which clients sync by HTTP, and the switching clients' flips.
  ClientTransport InitialTransport(int c) const;
  void ScheduleTransportSwitches();
  void ScheduleSwitch(int c);
  void SwitchTransport(int c);
  void OnServerEvent(int i, const events::NodeEvent& e);
  void OnClientEvent(int c, const events::NodeEvent& e);
  // A stamp node i issued (server: OpApplied; client: TimestampIssued), for the HLC monitor.
  void OnIssued(int i, const Timestamp& ts);
  void PollLeft(int i);
  // One client write: drawn first, then applied unless the schedule drops it.
  struct Op {
    std::string key;
    bool remove = false;
    bool counter = false;  // an increment of counter `key` by `delta`
    int64_t delta = 0;
    bool or_add = false;     // an OR add of {"city": city} to `key`
    bool or_remove = false;  // an OR remove of the value of the client's item number `pick`
    uint64_t pick = 0;
    msg::WriteConcern concern = msg::WriteConcern::kReplicated;
    const char* city = "";
    int64_t age = 0;
  };
  void ScheduleNextOp();
  Op DrawOp(Random& r) const;
  void DoOp(int c, bool apply);
  // The OR ops of DoOp: what the op did, for the trace (empty: nothing was issued).
  std::string DoOrAdd(int c, const Op& op);
  std::string DoOrRemove(int c, const Op& op);
  // grid_durability between failures (lost = -1) and at a disk loss.
  void CheckHeldElsewhere(int lost);
  std::vector<invariants::Holder> HoldersExcept(int lost) const;
  const GridServer* ServerById(const NodeId& id) const;
  // The first server that should be a table member (nullptr: none, or it is down).
  const GridServer* FirstActive() const;
  std::optional<invariants::Violation> LiveQueriesUnmatched(const PartitionTable& table);

  RunContext& run_;
  const Scenario& s_;
  const GridConfig& g_;
  sim::Simulator& sim_;
  Xoshiro256 workload_;
  const int servers_total_;
  std::vector<NodeId> seeds_;
  std::vector<Xoshiro256> client_random_;
  std::vector<bool> started_, leaving_, retired_, offline_;
  std::vector<std::unique_ptr<GridServer>> servers_;
  std::vector<std::unique_ptr<GridClient>> clients_;
  // Per client, taken when it crashes: key -> timestamp of every record of its map that was on its
  // disk as it was in memory. Its restart must restore each at least as new (grid_durability).
  std::vector<absl::btree_map<std::string, Timestamp>> durable_at_crash_;
  void RecordDurableAtCrash(int c);
  void CheckRestoredClient(int c);
  std::vector<std::vector<std::unique_ptr<Replay>>> streams_;
  std::vector<uint32_t> disk_;              // per server: disks replaced so far
  std::vector<ClientTransport> transport_;  // per client: what it uses now (kept over restarts)
  std::vector<Xoshiro256> switch_random_;   // per switching client: when it switches
  std::vector<uint64_t> started_at_ns_;
  invariants::GridHistory history_;
  // Servers' stamps (OpApplied) and clients' (TimestampIssued), checked as `hlc` across restarts.
  invariants::HlcMonitor hlc_;
  uint64_t checks_ = 0;
  uint64_t ops_ = 0;
};

}  // namespace seedgrid::scenarios

#endif  // SEEDGRID_SCENARIOS_GRID_CLUSTER_H_
