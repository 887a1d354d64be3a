// WsNetwork over loopback: handshake, delivery both ways, refusals, bounds, HTTP on the same port.
#include "engine/env/real/ws_network.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <functional>
#include <thread>

#include "engine/env/real/asio_timers.h"
#include "engine/env/real/real_env.h"

namespace seedgrid {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using ::testing::HasSubstr;

// Runs the loop until `done` or 10 s; returns done().
bool RunUntil(asio::io_context& io, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.run_for(std::chrono::milliseconds(5));
    io.restart();
  }
  return done();
}

struct Node {
  Node(asio::io_context& io, WsNetworkOptions o) : net(io, clock, random, std::move(o)) {}
  SystemClock clock;
  OsSeededRandom random;
  WsNetwork net;
  std::vector<std::pair<NodeId, std::string>> received;
  std::vector<std::string> log;
};

WsNetworkOptions Options(NodeId id, net::Role role, std::string token = "t") {
  WsNetworkOptions o;
  o.local_id = std::move(id);
  o.role = role;
  o.token = std::move(token);
  o.frame_bytes_max = 4096;
  return o;
}

class WsNetworkTest : public ::testing::Test {
 protected:
  std::unique_ptr<Node> Start(NodeId id, net::Role role, std::string token = "t") {
    auto n = std::make_unique<Node>(io_, Options(id, role, token));
    Node* raw = n.get();
    n->net.SetHandler(id, [raw](const NodeId& from, std::string_view bytes) {
      raw->received.emplace_back(from, std::string(bytes));
    });
    return n;
  }
  uint16_t Listen(Node& n) {
    absl::StatusOr<uint16_t> port =
        n.net.Listen(net::HostPort{"127.0.0.1", 0}, [](const HttpRequest& r) {
          if (r.target == "/echo") return HttpResponse{200, "text/plain", r.method + ":" + r.body};
          return HttpResponse{404, "application/json", R"({"error": "no such path"})"};
        });
    EXPECT_TRUE(port.ok()) << port.status();
    return *port;
  }
  asio::io_context io_;
};

TEST_F(WsNetworkTest, ClientDialsServerAndBothDeliver) {
  auto server = Start("s1", net::Role::kServer);
  const uint16_t port = Listen(*server);
  auto client = Start("c1", net::Role::kClient);
  client->net.AddPeer("s1", net::HostPort{"127.0.0.1", port});
  EXPECT_THAT(server->net.Send("s1", "c1", "x").message(), HasSubstr("no connection to 'c1'"));

  ASSERT_TRUE(client->net.Send("c1", "s1", "hello").ok());
  ASSERT_TRUE(client->net.Send("c1", "s1", std::string(3000, 'z')).ok());
  ASSERT_TRUE(RunUntil(io_, [&] { return server->received.size() == 2; }));
  EXPECT_EQ(server->received[0], (std::pair<NodeId, std::string>{"c1", "hello"}));
  EXPECT_EQ(server->received[1].second.size(), 3000u);
  EXPECT_EQ(server->net.stats().clients_connected, 1u);

  // The server answers over the connection the client opened.
  ASSERT_TRUE(server->net.Send("s1", "c1", "welcome back").ok());
  ASSERT_TRUE(RunUntil(io_, [&] { return client->received.size() == 1; }));
  EXPECT_EQ(client->received[0], (std::pair<NodeId, std::string>{"s1", "welcome back"}));
  EXPECT_TRUE(client->net.Connected("s1"));
}

TEST_F(WsNetworkTest, WrongTokenIsRefusedAndNeverDelivered) {
  auto server = Start("s1", net::Role::kServer, "secret");
  const uint16_t port = Listen(*server);
  auto client = Start("c1", net::Role::kClient, "guess");
  client->net.AddPeer("s1", net::HostPort{"127.0.0.1", port});
  ASSERT_TRUE(client->net.Send("c1", "s1", "let me in").ok());
  ASSERT_TRUE(RunUntil(io_, [&] { return !client->net.DialError("s1").empty(); }));
  EXPECT_THAT(client->net.DialError("s1"), HasSubstr("refused the connection: wrong token"));
  EXPECT_TRUE(server->received.empty());
  EXPECT_EQ(server->net.stats().handshakes_refused, 1u);
}

TEST_F(WsNetworkTest, AServerNamedOtherwiseIsNamedInTheError) {
  auto server = Start("n1", net::Role::kServer);
  const uint16_t port = Listen(*server);
  auto client = Start("c1", net::Role::kClient);
  const net::HostPort address{"127.0.0.1", port};
  const NodeId id = address.DefaultNodeId();
  client->net.AddPeer(id, address);
  ASSERT_TRUE(client->net.Send("c1", id, "x").ok());
  ASSERT_TRUE(RunUntil(io_, [&] { return !client->net.DialError(id).empty(); }));
  EXPECT_THAT(client->net.DialError(id), HasSubstr("name it as n1@" + address.ToString()));
}

TEST_F(WsNetworkTest, OversizedFrameClosesOnlyThatConnection) {
  auto server = Start("s1", net::Role::kServer);
  const uint16_t port = Listen(*server);
  auto big = Start("c1", net::Role::kClient);
  auto good = Start("c2", net::Role::kClient);
  for (Node* n : {big.get(), good.get()}) n->net.AddPeer("s1", net::HostPort{"127.0.0.1", port});
  ASSERT_TRUE(big->net.Send("c1", "s1", std::string(5000, 'x')).ok());
  ASSERT_TRUE(RunUntil(io_, [&] { return server->net.stats().connections_failed == 1; }));
  ASSERT_TRUE(good->net.Send("c2", "s1", "still here").ok());
  ASSERT_TRUE(RunUntil(io_, [&] { return server->received.size() == 1; }));
  EXPECT_EQ(server->received[0].first, "c2");
}

TEST_F(WsNetworkTest, UnreachablePeerIsRetriedWithBackoffThenReportedUnavailable) {
  WsNetworkOptions o = Options("c1", net::Role::kClient);
  o.give_up_after_ms = 300;
  Node client(io_, o);
  // A port nobody listens on: bind one and close it.
  asio::ip::tcp::acceptor a(io_, {asio::ip::make_address("127.0.0.1"), 0});
  const uint16_t port = a.local_endpoint().port();
  a.close();
  client.net.AddPeer("s1", net::HostPort{"127.0.0.1", port});
  absl::Status last;
  ASSERT_TRUE(RunUntil(io_, [&] {
    last = client.net.Send("c1", "s1", "x");
    return absl::IsUnavailable(last);
  }));
  EXPECT_THAT(last.message(), HasSubstr("cannot reach 's1'"));
  EXPECT_GE(client.net.stats().connections_failed, 2u);
}

TEST_F(WsNetworkTest, APeerThatNeverAnswersCostsBoundedMemory) {
  // Accepts TCP and never speaks: the dial's upgrade never completes, frames wait in the queue.
  asio::ip::tcp::acceptor silent(io_, {asio::ip::make_address("127.0.0.1"), 0});
  asio::ip::tcp::socket held(io_);
  silent.async_accept(held, [](boost::system::error_code) {});
  WsNetworkOptions o = Options("c1", net::Role::kClient);
  o.queued_bytes_max = 10'000;
  Node client(io_, o);
  client.net.AddPeer("s1", net::HostPort{"127.0.0.1", silent.local_endpoint().port()});
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(client.net.Send("c1", "s1", std::string(1000, 'x')).ok());
  EXPECT_GE(client.net.stats().frames_dropped, 89u);
  EXPECT_LE(client.net.stats().frames_dropped, 91u);
}

TEST_F(WsNetworkTest, AnUpgradeWithoutAHelloIsClosedAfterTheHandshakeTimeout) {
  WsNetworkOptions o = Options("s1", net::Role::kServer);
  o.handshake_timeout_ms = 200;
  Node server(io_, o);
  const uint16_t port = Listen(server);
  std::atomic<bool> closed{false};
  std::thread t([&] {
    asio::io_context io;
    beast::websocket::stream<beast::tcp_stream> ws(io);
    beast::get_lowest_layer(ws).connect(
        asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    ws.handshake("127.0.0.1", "/v1/ws");
    beast::flat_buffer b;
    beast::error_code ec;
    ws.read(b, ec);  // says nothing; waits to be closed
    closed = true;
  });
  ASSERT_TRUE(RunUntil(io_, [&] { return closed.load(); }));
  t.join();
  EXPECT_EQ(server.net.stats().connections_failed, 1u);
}

TEST_F(WsNetworkTest, PlainHttpOnTheSamePortWith413And400) {
  auto server = Start("s1", net::Role::kServer);
  const uint16_t port = Listen(*server);
  auto request = [&](http::request<http::string_body> req) {
    http::response<http::string_body> res;
    std::thread t([&] {
      asio::io_context io;
      beast::tcp_stream s(io);
      s.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
      req.prepare_payload();
      http::write(s, req);
      beast::flat_buffer b;
      beast::error_code ec;
      http::read(s, b, res, ec);
    });
    EXPECT_TRUE(RunUntil(io_, [&] { return res.result_int() != 0 && res.has_content_length(); }));
    t.join();
    return res;
  };
  http::request<http::string_body> echo{http::verb::post, "/echo", 11};
  echo.body() = "abc";
  EXPECT_EQ(request(echo).body(), "POST:abc");
  http::request<http::string_body> big{http::verb::post, "/echo", 11};
  big.body() = std::string(5000, 'x');
  http::response<http::string_body> too_big = request(big);
  EXPECT_EQ(too_big.result_int(), 413);
  EXPECT_THAT(too_big.body(), HasSubstr("exceeds 4096 bytes"));
  EXPECT_EQ(request(http::request<http::string_body>{http::verb::get, "/nope", 11}).result_int(),
            404);
  EXPECT_EQ(server->net.stats().http_errors, 1u);
}

TEST(AsioTimers, FireInOrderAndCancelledNeverFire) {
  asio::io_context io;
  AsioTimers timers(io);
  std::vector<int> fired;
  timers.Schedule(30, [&] { fired.push_back(3); });
  timers.Schedule(10, [&] { fired.push_back(1); });
  const Timers::TimerId cancelled = timers.Schedule(20, [&] { fired.push_back(2); });
  EXPECT_TRUE(timers.Cancel(cancelled));
  EXPECT_FALSE(timers.Cancel(cancelled));
  EXPECT_TRUE(fired.empty());  // never inside Schedule
  ASSERT_TRUE(RunUntil(io, [&] { return fired.size() == 2; }));
  EXPECT_EQ(fired, (std::vector<int>{1, 3}));
  EXPECT_EQ(timers.pending(), 0u);
}

}  // namespace
}  // namespace seedgrid
