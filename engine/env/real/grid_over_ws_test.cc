// The grid over real sockets, in one process: a GridServer and GridClients on WsNetwork (loopback),
// and a client that sends garbage after a valid handshake. The server keeps serving everyone
// else, counts the bad input, and loses nothing acknowledged.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>

#include "engine/client/grid_client.h"
#include "engine/cluster/grid_server.h"
#include "engine/env/mem_storage.h"
#include "engine/env/real/asio_timers.h"
#include "engine/env/real/real_env.h"
#include "engine/env/real/run_until_testing.h"
#include "engine/env/real/ws_network.h"

namespace seedgrid {
namespace {

namespace asio = boost::asio;

using testing::RunUntil;

// A whole grid (join, 100 acknowledged writes) takes longer than one socket does.
constexpr std::chrono::seconds kGridTimeout{20};

// One node's production Env (in-memory storage: the transport is under test here).
struct RealNode {
  RealNode(asio::io_context& io, NodeId id, net::Role role)
      : timers(io), network(io, clock, random, Options(std::move(id), role)) {}
  static WsNetworkOptions Options(NodeId id, net::Role role) {
    WsNetworkOptions o;
    o.local_id = std::move(id);
    o.role = role;
    o.token = "t";
    return o;
  }
  Env env() { return Env{clock, random, network, timers, storage}; }
  SystemClock clock;
  OsSeededRandom random;
  AsioTimers timers;
  WsNetwork network;
  MemStorage storage;
};

TEST(GridOverWebSocket, OneBadClientDoesNotHurtTheOthers) {
  asio::io_context io;
  RealNode s(io, "s1", net::Role::kServer);
  absl::StatusOr<uint16_t> port = s.network.Listen(net::HostPort{"127.0.0.1", 0}, nullptr);
  ASSERT_TRUE(port.ok()) << port.status();
  s.network.SetIdentity("s1", fmt::format("127.0.0.1:{}", *port));
  Env server_env = s.env();
  auto server = GridServer::Open(server_env, {.node_id = "s1", .seeds = {"s1"}});
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_TRUE(RunUntil(
      io, [&] { return (*server)->joined(); }, kGridTimeout));

  RealNode bad(io, "bad", net::Role::kClient);
  bad.network.AddPeer("s1", net::HostPort{"127.0.0.1", *port});
  for (const std::string& garbage : {std::string("\x00\x01\x02", 3), std::string(200, '\xff'),
                                     std::string("not flatbuffers at all")}) {
    ASSERT_TRUE(bad.network.Send("bad", "s1", garbage).ok());
  }
  ASSERT_TRUE(RunUntil(
      io, [&] { return (*server)->stats().decode_errors == 3; }, kGridTimeout));

  RealNode good(io, "c1", net::Role::kClient);
  good.network.AddPeer("s1", net::HostPort{"127.0.0.1", *port});
  Env client_env = good.env();
  auto client = GridClient::Open(client_env, {.node_id = "c1", .servers = {"s1"}});
  ASSERT_TRUE(client.ok()) << client.status();
  for (int i = 0; i < 100; ++i) {
    (*client)->Set("users", fmt::format("u{}", i), Document{{"n", int64_t{i}}});
  }
  ASSERT_TRUE(RunUntil(
      io, [&] { return (*client)->op_log().empty(); }, kGridTimeout));
  EXPECT_EQ((*server)->stats().ops_applied, 100u);
  EXPECT_EQ((*server)->stats().decode_errors, 3u);
  // The bad client's connection is still open: garbage is the engine's to refuse, by name.
  EXPECT_NE((*server)->stats().last_error, "");
}

}  // namespace
}  // namespace seedgrid
