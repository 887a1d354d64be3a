// Test fixture for grid servers and clients on hand-driven Env parts (grid_test.cc,
// grid_storage_test.cc): every host has a manual clock and timers and a FlakyStorage; Run()
// advances all clocks in 10 ms steps and delivers every message.
#ifndef SEEDGRID_ENGINE_CLUSTER_GRID_TESTING_H_
#define SEEDGRID_ENGINE_CLUSTER_GRID_TESTING_H_

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/client/grid_client.h"
#include "engine/cluster/grid_server.h"
#include "engine/env/testing/flaky_storage.h"
#include "engine/env/testing/manual_env.h"
#include "engine/env/xoshiro.h"

namespace seedgrid::grid_testing {

struct Host {
  ManualClock clock{1'000'000};
  ManualTimers timers{clock};
  FlakyStorage storage;  // fails writes and syncs on demand
  std::unique_ptr<Env> env;
  std::unique_ptr<GridServer> server;
  std::unique_ptr<GridClient> client;
};

class Grid {
 public:
  explicit Grid(int servers, int clients = 1, uint64_t tombstone_grace_ms = 10 * 60 * 1000)
      : grace_ms(tombstone_grace_ms) {
    for (int i = 0; i < servers; ++i) server_ids.push_back("s" + std::to_string(i));
    for (int i = 0; i < servers; ++i) StartServer(i);
    for (int i = 0; i < clients; ++i) {
      client_hosts.push_back(MakeHost());
      OpenClient(i);
    }
    Run(1200);  // The cluster forms its first table (a lone server waits suspect_after_ms).
  }
  std::unique_ptr<Host> MakeHost() {
    auto h = std::make_unique<Host>();
    h->clock.SetMs(now_ms);
    h->env = std::make_unique<Env>(Env{h->clock, random, network, h->timers, h->storage});
    return h;
  }
  GridServerOptions ServerOptions(const NodeId& id) {
    return GridServerOptions{.node_id = id,
                             .seeds = server_ids,
                             .tombstone_grace_ms = grace_ms,
                             .events = [this](const events::NodeEvent& e) {
                               if (const auto* a = std::get_if<events::OpApplied>(&e)) {
                                 ++applied[{a->client, a->seq}];
                               }
                               if (const auto* a = std::get_if<events::OpAcknowledged>(&e)) {
                                 server_acks.push_back(*a);
                               }
                               if (const auto* a = std::get_if<events::StateAcknowledged>(&e)) {
                                 state_acks.push_back(*a);
                               }
                             }};
  }
  void StartServer(int i) {
    if (static_cast<size_t>(i) >= server_hosts.size()) server_hosts.resize(i + 1);
    if (!server_hosts[i]) server_hosts[i] = MakeHost();
    auto opened = GridServer::Open(*server_hosts[i]->env, ServerOptions(server_ids[i]));
    ASSERT_TRUE(opened.ok()) << opened.status();
    server_hosts[i]->server = std::move(*opened);
  }
  void CrashServer(int i) {
    server_hosts[i]->server.reset();
    server_hosts[i]->storage.Crash();
  }
  void OpenClient(int i, size_t first_server = 0) {
    auto opened = GridClient::Open(
        *client_hosts[i]->env,
        GridClientOptions{
            .node_id = "c" + std::to_string(i),
            .servers = server_ids,
            .first_server = first_server,
            .events = [this](const events::NodeEvent& e) {
              if (const auto* a = std::get_if<events::AckReceived>(&e)) {
                acks.push_back({msg::GridOp{a->seq, a->concern, a->map, a->key, std::nullopt, {}},
                                msg::GridOpAck{a->seq, a->ts, a->concern, false}});
              }
            }});
    ASSERT_TRUE(opened.ok()) << opened.status();
    client_hosts[i]->client = std::move(*opened);
  }
  // Advances every clock in 10 ms steps, running timers and delivering every message.
  void Run(uint64_t ms) {
    for (uint64_t t = 0; t < ms; t += 10) {
      now_ms += 10;
      for (auto* hosts : {&server_hosts, &client_hosts}) {
        for (auto& h : *hosts) {
          if (!h) continue;
          h->clock.SetMs(now_ms);
          h->timers.RunDue();
        }
      }
      network.DeliverAll();
    }
  }
  GridServer& server(int i) { return *server_hosts[i]->server; }
  GridClient& client(int i) { return *client_hosts[i]->client; }
  // The owner's record of (map, key) under server 0's... the first live server's table.
  const LwwRecord* OwnerRecord(const std::string& map, const std::string& key) {
    for (auto& h : server_hosts) {
      if (!h || !h->server || h->server->table().empty()) continue;
      const NodeId& owner = h->server->table().owner(PartitionOf(key));
      for (auto& o : server_hosts) {
        if (!o || !o->server || o->server->node_id() != owner) continue;
        const GridPartition* part = o->server->partition(PartitionOf(key));
        if (part == nullptr || !part->maps.contains(map)) return nullptr;
        return part->maps.at(map)->GetRecord(key);
      }
    }
    return nullptr;
  }

  uint64_t now_ms = 1'000'000;
  uint64_t grace_ms = 10 * 60 * 1000;
  Xoshiro256 random{5};
  QueueNetwork network;
  std::vector<NodeId> server_ids;
  std::vector<std::unique_ptr<Host>> server_hosts;
  std::vector<std::unique_ptr<Host>> client_hosts;
  std::map<std::pair<NodeId, uint64_t>, int> applied;
  std::vector<std::pair<msg::GridOp, msg::GridOpAck>> acks;  // as the clients received them
  std::vector<events::OpAcknowledged> server_acks;           // as the servers sent them
  std::vector<events::StateAcknowledged> state_acks;         // as backups and targets sent them
  // The index of the server owning `key` under server 0's table.
  int OwnerIndex(const std::string& key) {
    const NodeId& owner = server(0).table().owner(PartitionOf(key));
    for (size_t i = 0; i < server_ids.size(); ++i) {
      if (server_ids[i] == owner) return static_cast<int>(i);
    }
    return -1;
  }
};

inline Document Doc(int v) { return Document{{"v", int64_t{v}}}; }

}  // namespace seedgrid::grid_testing

#endif  // SEEDGRID_ENGINE_CLUSTER_GRID_TESTING_H_
