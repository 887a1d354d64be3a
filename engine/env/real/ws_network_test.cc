// WsNetwork over loopback: handshake, delivery both ways, refusals, bounds, HTTP on the same port
// (answered at once, later, or never).
#include "engine/env/real/ws_network.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/lexical_cast.hpp>
#include <chrono>
#include <functional>
#include <thread>

#include "engine/env/real/asio_timers.h"
#include "engine/env/real/real_env.h"
#include "engine/env/real/run_until_testing.h"

namespace seedgrid {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using ::testing::HasSubstr;

using testing::RunUntil;
using tcp = asio::ip::tcp;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

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

void Echo(const HttpRequest& r, const HttpReply& reply) {
  if (r.target == "/echo") return reply(HttpResponse{200, "text/plain", r.method + ":" + r.body});
  reply(HttpResponse{404, "application/json", R"({"error": "no such path"})"});
}

uint16_t Listen(Node& n, HttpHandler http = Echo) {
  absl::StatusOr<uint16_t> port = n.net.Listen(net::HostPort{"127.0.0.1", 0}, std::move(http));
  EXPECT_TRUE(port.ok()) << port.status();
  return *port;
}

Request Get(std::string target) { return Request{http::verb::get, target, 11}; }
Request Post(std::string target, std::string body) {
  Request r{http::verb::post, target, 11};
  r.body() = std::move(body);
  return r;
}

// An HTTP/1.1 client on the test's loop. Connecting and sending do not need the loop (the kernel
// holds the bytes until the server reads them); reading does. Closes when destroyed.
class HttpClient {
 public:
  HttpClient(asio::io_context& io, uint16_t port) : stream_(io) {
    stream_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  // Sends `requests` at once, one after the other on this connection (pipelined).
  void Send(std::vector<Request> requests) {
    std::string wire;
    for (Request& r : requests) {
      r.prepare_payload();
      wire += boost::lexical_cast<std::string>(r);
    }
    asio::write(stream_.socket(), asio::buffer(wire));
  }
  // Reads `count` more responses, in order, as the loop runs; ended() once they are in or the
  // connection ended.
  void Read(size_t count) {
    ended_ = count == 0;
    if (ended_) return;
    next_ = {};
    http::async_read(stream_, buffer_, next_, [this, count](beast::error_code ec, size_t) {
      if (ec) {
        ended_ = true;
        return;
      }
      responses_.push_back(std::move(next_));
      Read(count - 1);
    });
  }
  bool ended() const { return ended_; }
  const std::vector<Response>& responses() const { return responses_; }

 private:
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  Response next_;
  std::vector<Response> responses_;
  bool ended_ = false;
};

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
  // Echo, plus /later (answered 100 ms after the handler returns) and /never (the reply is kept
  // in kept_ and not called). calls_ lists the requests handled, in order.
  HttpHandler Slow() {
    return [this](const HttpRequest& r, HttpReply reply) {
      calls_.push_back(r.target + (later_pending_ > 0 ? " while /later waits" : ""));
      if (r.target == "/never") return kept_.push_back(std::move(reply));
      if (r.target != "/later") return Echo(r, reply);
      ++later_pending_;
      timers_.Schedule(100, [this, reply] {
        --later_pending_;
        reply(HttpResponse{200, "text/plain", "later"});
      });
    };
  }
  asio::io_context io_;
  AsioTimers timers_{io_};
  std::vector<std::string> calls_;
  int later_pending_ = 0;
  std::vector<HttpReply> kept_;
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

TEST_F(WsNetworkTest, AHandlerMayReplyLaterAndOtherConnectionsAreServedMeanwhile) {
  auto server = Start("s1", net::Role::kServer);
  const uint16_t port = Listen(*server, Slow());
  HttpClient slow(io_, port);
  slow.Send({Get("/later")});
  slow.Read(1);
  ASSERT_TRUE(RunUntil(io_, [&] { return later_pending_ == 1; }));
  HttpClient fast(io_, port);
  fast.Send({Post("/echo", "abc")});
  fast.Read(1);
  ASSERT_TRUE(RunUntil(io_, [&] { return fast.ended(); }));
  EXPECT_FALSE(slow.ended());  // still waiting for its reply
  ASSERT_TRUE(RunUntil(io_, [&] { return slow.ended(); }));
  ASSERT_EQ(fast.responses().size(), 1u);
  EXPECT_EQ(fast.responses()[0].body(), "POST:abc");
  ASSERT_EQ(slow.responses().size(), 1u);
  EXPECT_EQ(slow.responses()[0].result_int(), 200);
  EXPECT_EQ(slow.responses()[0].body(), "later");
  EXPECT_EQ(calls_, (std::vector<std::string>{"/later", "/echo while /later waits"}));
}

TEST_F(WsNetworkTest, KeepAliveReadsTheNextRequestOnlyOnceALateReplyIsWritten) {
  auto server = Start("s1", net::Role::kServer);
  const uint16_t port = Listen(*server, Slow());
  HttpClient client(io_, port);
  client.Send({Get("/later"), Post("/echo", "abc")});  // both at once, on one connection
  client.Read(2);
  ASSERT_TRUE(RunUntil(io_, [&] { return client.ended(); }));
  ASSERT_EQ(client.responses().size(), 2u);
  EXPECT_EQ(client.responses()[0].body(), "later");
  EXPECT_TRUE(client.responses()[0].keep_alive());
  EXPECT_EQ(client.responses()[1].body(), "POST:abc");
  // The second request was read only after the first one's reply.
  EXPECT_EQ(calls_, (std::vector<std::string>{"/later", "/echo"}));
  EXPECT_EQ(server->net.stats().http_requests, 2u);
}

TEST_F(WsNetworkTest, NoReplyInTimeIsAnswered503AndTheLateReplyIsDropped) {
  WsNetworkOptions o = Options("s1", net::Role::kServer);
  o.http_reply_timeout_ms = 200;
  Node server(io_, o);
  const uint16_t port = Listen(server, Slow());
  HttpClient client(io_, port);
  client.Send({Get("/never"), Post("/echo", "abc")});
  client.Read(2);
  ASSERT_TRUE(RunUntil(io_, [&] { return client.ended(); }));
  ASSERT_EQ(client.responses().size(), 2u);
  EXPECT_EQ(client.responses()[0].result_int(), 503);
  EXPECT_EQ(client.responses()[0].body(), R"({"error": "the server did not answer in time"})");
  EXPECT_EQ(client.responses()[1].body(), "POST:abc");
  EXPECT_EQ(server.net.stats().http_timeouts, 1u);

  // The reply comes after all, on the loop: dropped, and the connection serves on.
  ASSERT_EQ(kept_.size(), 1u);
  bool called = false;
  asio::post(io_, [&] {
    kept_[0](HttpResponse{200, "text/plain", "too late"});
    called = true;
  });
  ASSERT_TRUE(RunUntil(io_, [&] { return called; }));
  client.Send({Post("/echo", "again")});
  client.Read(1);
  ASSERT_TRUE(RunUntil(io_, [&] { return client.ended(); }));
  ASSERT_EQ(client.responses().size(), 3u);
  EXPECT_EQ(client.responses()[2].body(), "POST:again");
}

TEST_F(WsNetworkTest, AClientThatLeavesBeforeALateReplyCostsNothing) {
  auto server = Start("s1", net::Role::kServer);
  const uint16_t port = Listen(*server, Slow());
  {
    HttpClient gone(io_, port);
    gone.Send({Get("/later")});
    ASSERT_TRUE(RunUntil(io_, [&] { return later_pending_ == 1; }));
  }                                                                 // closes before the reply
  ASSERT_TRUE(RunUntil(io_, [&] { return later_pending_ == 0; }));  // the reply is written, or not
  HttpClient next(io_, port);
  next.Send({Post("/echo", "abc")});
  next.Read(1);
  ASSERT_TRUE(RunUntil(io_, [&] { return next.ended(); }));
  ASSERT_EQ(next.responses().size(), 1u);
  EXPECT_EQ(next.responses()[0].body(), "POST:abc");
}

TEST(WsNetworkHttp, AReplyAfterTheNetworkOrTheLoopIsGoneIsDropped) {
  std::vector<HttpReply> kept;
  {
    asio::io_context io;
    auto server = std::make_unique<Node>(io, Options("s1", net::Role::kServer));
    const uint16_t port =
        Listen(*server, [&](const HttpRequest&, HttpReply reply) { kept.push_back(reply); });
    HttpClient a(io, port);
    a.Send({Get("/one")});
    a.Read(1);
    HttpClient b(io, port);
    b.Send({Get("/two")});
    ASSERT_TRUE(RunUntil(io, [&] { return kept.size() == 2; }));
    server.reset();  // the WsNetwork goes while both requests await their replies
    asio::post(io, [&] { kept[0](HttpResponse{200, "text/plain", "too late"}); });
    ASSERT_TRUE(RunUntil(io, [&] { return a.ended(); }));
    EXPECT_TRUE(a.responses().empty());                      // dropped; the connection was shut
  }                                                          // the io_context goes too
  kept[1](HttpResponse{200, "text/plain", "far too late"});  // nothing left to answer
}

TEST(WsNetworkHttpDeathTest, ReplyingTwiceIsABug) {
  EXPECT_DEATH(
      {
        asio::io_context io;
        Node server(io, Options("s1", net::Role::kServer));
        const uint16_t port = Listen(server, [](const HttpRequest&, HttpReply reply) {
          reply(HttpResponse{});
          reply(HttpResponse{});
        });
        HttpClient client(io, port);
        client.Send({Get("/twice")});
        RunUntil(
            io, [] { return false; }, std::chrono::seconds(5));
      },
      "ticket->called");
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
