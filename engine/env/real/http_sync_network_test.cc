// HttpSyncNetwork against a WsNetwork's HTTP surface over loopback: delivery of FlatBuffers
// answers whatever their status, JSON errors and failed connects counted and logged once, one
// keep-alive connection with requests one at a time, the bounds, and destruction mid-request.
#include "engine/env/real/http_sync_network.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <memory>

#include "engine/env/real/asio_timers.h"
#include "engine/env/real/real_env.h"
#include "engine/env/real/run_until_testing.h"
#include "engine/env/real/ws_network.h"

namespace seedgrid {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::RunUntil;
using tcp = asio::ip::tcp;

constexpr std::string_view kFlatBuffers = "application/x-flatbuffers";
using Delivered = std::pair<NodeId, std::string>;

// A port nobody listens on: bound, then closed.
uint16_t ClosedPort(asio::io_context& io) {
  tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
  const uint16_t port = a.local_endpoint().port();
  a.close();
  return port;
}

class HttpSyncNetworkTest : public ::testing::Test {
 protected:
  // A server answering POST /v1/sync like `seedgrid serve`: 401 JSON without "Bearer t", else
  // what `answer` says (by default "echo:BODY" as FlatBuffers); /never is kept unanswered.
  uint16_t StartServer() {
    WsNetworkOptions o;
    o.local_id = "s1";
    o.token = "t";
    server_ = std::make_unique<WsNetwork>(io_, clock_, random_, o);
    absl::StatusOr<uint16_t> port = server_->Listen(
        net::HostPort{"127.0.0.1", 0}, [this](const HttpRequest& r, HttpReply reply) {
          requests_.push_back(r);
          if (r.authorization != "Bearer t") {
            return reply(HttpResponse{401, "application/json",
                                      R"({"error": "wrong token in Authorization"})"});
          }
          if (r.body == "never") return kept_.push_back(std::move(reply));
          if (r.body == "later") {
            timers_.Schedule(100, [reply] { reply({200, std::string(kFlatBuffers), "later"}); });
            return;
          }
          reply(answer_ ? answer_(r)
                        : HttpResponse{200, std::string(kFlatBuffers), "echo:" + r.body});
        });
    EXPECT_TRUE(port.ok()) << port.status();
    return *port;
  }

  std::unique_ptr<HttpSyncNetwork> Client(uint16_t port, std::string token = "t",
                                          HttpSyncNetworkOptions o = {}) {
    o.local_id = "c1";
    o.token = std::move(token);
    o.log = [this](std::string_view line) { log_.emplace_back(line); };
    auto c = std::make_unique<HttpSyncNetwork>(io_, std::move(o));
    c->AddPeer("s1", net::HostPort{"127.0.0.1", port});
    c->SetHandler("c1", [this](const NodeId& from, std::string_view bytes) {
      delivered_.emplace_back(from, std::string(bytes));
    });
    return c;
  }

  asio::io_context io_;
  SystemClock clock_;
  OsSeededRandom random_;
  AsioTimers timers_{io_};
  std::unique_ptr<WsNetwork> server_;
  std::function<HttpResponse(const HttpRequest&)> answer_;
  std::vector<HttpRequest> requests_;
  std::vector<HttpReply> kept_;
  std::vector<Delivered> delivered_;
  std::vector<std::string> log_;
};

TEST_F(HttpSyncNetworkTest, PostsTheBytesAndDeliversTheFlatBuffersAnswer) {
  const uint16_t port = StartServer();
  auto client = Client(port);
  EXPECT_THAT(client->Send("c1", "s9", "x").message(), HasSubstr("no address for server 's9'"));
  ASSERT_TRUE(client->Send("c1", "s1", std::string("a\0b", 3)).ok());
  EXPECT_TRUE(delivered_.empty());  // never inside Send
  ASSERT_TRUE(RunUntil(io_, [&] { return delivered_.size() == 1; }));
  EXPECT_EQ(delivered_[0], (Delivered{"s1", std::string("echo:a\0b", 8)}));
  ASSERT_EQ(requests_.size(), 1u);
  EXPECT_EQ(requests_[0].method, "POST");
  EXPECT_EQ(requests_[0].target, "/v1/sync");
  EXPECT_EQ(requests_[0].content_type, kFlatBuffers);
  EXPECT_EQ(requests_[0].authorization, "Bearer t");
  EXPECT_TRUE(client->Connected("s1"));
  EXPECT_EQ(client->LastError("s1"), "");
  EXPECT_EQ(client->stats().responses_delivered, 1u);
  EXPECT_EQ(client->stats().requests_sent, 1u);
  EXPECT_TRUE(log_.empty());
}

TEST_F(HttpSyncNetworkTest, AFlatBuffersAnswerIsDeliveredWhateverItsStatus) {
  answer_ = [](const HttpRequest&) { return HttpResponse{503, std::string(kFlatBuffers), "busy"}; };
  auto client = Client(StartServer());
  ASSERT_TRUE(client->Send("c1", "s1", "x").ok());
  ASSERT_TRUE(RunUntil(io_, [&] { return delivered_.size() == 1; }));
  EXPECT_EQ(delivered_[0].second, "busy");
}

TEST_F(HttpSyncNetworkTest, AJsonErrorIsCountedAndLoggedOnceNotDelivered) {
  auto client = Client(StartServer(), "wrong");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client->Send("c1", "s1", "x").ok());
  ASSERT_TRUE(RunUntil(io_, [&] { return client->stats().responses_refused == 3; }));
  EXPECT_TRUE(delivered_.empty());
  EXPECT_EQ(client->LastError("s1"), "HTTP 401: wrong token in Authorization");
  ASSERT_EQ(log_.size(), 1u);  // once per distinct error
  EXPECT_THAT(log_[0], HasSubstr("server s1 (127.0.0.1:"));
  EXPECT_THAT(log_[0], HasSubstr("HTTP 401: wrong token in Authorization"));
  EXPECT_EQ(client->stats().connections_opened, 1u);  // a JSON answer keeps the connection
}

TEST_F(HttpSyncNetworkTest, ADeliveredAnswerClearsTheErrorAndAnotherBodyIsAnError) {
  answer_ = [](const HttpRequest& r) {
    return r.body == "text" ? HttpResponse{200, "text/plain", "hello"}
                            : HttpResponse{200, std::string(kFlatBuffers), "ok"};
  };
  auto client = Client(StartServer());
  ASSERT_TRUE(client->Send("c1", "s1", "text").ok());
  ASSERT_TRUE(RunUntil(io_, [&] { return client->stats().responses_refused == 1; }));
  EXPECT_EQ(client->LastError("s1"), "HTTP 200: hello");
  ASSERT_TRUE(client->Send("c1", "s1", "fb").ok());
  ASSERT_TRUE(RunUntil(io_, [&] { return delivered_.size() == 1; }));
  EXPECT_EQ(client->LastError("s1"), "");
  ASSERT_TRUE(client->Send("c1", "s1", "text").ok());
  ASSERT_TRUE(RunUntil(io_, [&] { return client->stats().responses_refused == 2; }));
  EXPECT_EQ(log_.size(), 2u);  // logged again after a success
}

TEST_F(HttpSyncNetworkTest, ConnectionRefusedIsCountedAndLoggedOnce) {
  auto client = Client(ClosedPort(io_));
  ASSERT_TRUE(client->Send("c1", "s1", "x").ok());
  ASSERT_TRUE(client->Send("c1", "s1", "y").ok());
  ASSERT_TRUE(RunUntil(io_, [&] { return client->stats().requests_failed == 2; }));
  EXPECT_EQ(client->stats().connects_failed, 2u);
  EXPECT_THAT(client->LastError("s1"), HasSubstr("cannot connect: Connection refused"));
  ASSERT_EQ(log_.size(), 1u);
  EXPECT_THAT(log_[0], HasSubstr("cannot connect"));
  EXPECT_TRUE(delivered_.empty());
  EXPECT_FALSE(client->Connected("s1"));
  EXPECT_EQ(client->Pending("s1"), 0u);
}

TEST_F(HttpSyncNetworkTest, SequentialRequestsShareOneKeepAliveConnectionOneAtATime) {
  auto client = Client(StartServer());
  ASSERT_TRUE(client->Send("c1", "s1", "later").ok());  // answered 100 ms after it is read
  ASSERT_TRUE(client->Send("c1", "s1", "second").ok());
  EXPECT_EQ(client->Pending("s1"), 2u);
  ASSERT_TRUE(RunUntil(io_, [&] { return requests_.size() == 1; }));
  io_.run_for(std::chrono::milliseconds(50));  // the server holds "later" for 100 ms
  EXPECT_TRUE(delivered_.empty());
  EXPECT_EQ(client->stats().requests_sent, 1u);  // "second" waits for the answer
  ASSERT_TRUE(RunUntil(io_, [&] { return delivered_.size() == 2; }));
  EXPECT_THAT(delivered_, ElementsAre(Delivered{"s1", "later"}, Delivered{"s1", "echo:second"}));
  ASSERT_TRUE(client->Send("c1", "s1", "third").ok());  // after a pause, on the same connection
  ASSERT_TRUE(RunUntil(io_, [&] { return delivered_.size() == 3; }));
  EXPECT_EQ(client->stats().connections_opened, 1u);
  EXPECT_EQ(client->stats().requests_sent, 3u);
}

TEST_F(HttpSyncNetworkTest, TheQueueIsBoundedOldestDropped) {
  HttpSyncNetworkOptions o;
  o.queued_requests_max = 2;
  auto client = Client(StartServer(), "t", o);
  for (std::string body : {"later", "a", "b", "c", "d"})
    ASSERT_TRUE(client->Send("c1", "s1", body).ok());
  EXPECT_EQ(client->stats().requests_dropped, 2u);  // "a" and "b"; "later" is in flight
  ASSERT_TRUE(RunUntil(io_, [&] { return delivered_.size() == 3; }));
  EXPECT_THAT(delivered_, ElementsAre(Delivered{"s1", "later"}, Delivered{"s1", "echo:c"},
                                      Delivered{"s1", "echo:d"}));
}

TEST_F(HttpSyncNetworkTest, NoAnswerInTimeFailsTheRequestAndTheNextGoesOnAFreshConnection) {
  HttpSyncNetworkOptions o;
  o.request_timeout_ms = 200;
  auto client = Client(StartServer(), "t", o);
  ASSERT_TRUE(client->Send("c1", "s1", "never").ok());
  ASSERT_TRUE(client->Send("c1", "s1", "next").ok());
  ASSERT_TRUE(RunUntil(io_, [&] { return delivered_.size() == 1; }));
  EXPECT_EQ(delivered_[0].second, "echo:next");
  EXPECT_EQ(client->stats().requests_failed, 1u);
  EXPECT_EQ(client->stats().connections_opened, 2u);
  ASSERT_EQ(log_.size(), 1u);
  EXPECT_THAT(log_[0], HasSubstr("no response within 200 ms"));
}

TEST_F(HttpSyncNetworkTest, AResponseOverTheBoundIsAnError) {
  answer_ = [](const HttpRequest&) {
    return HttpResponse{200, std::string(kFlatBuffers), std::string(5000, 'x')};
  };
  HttpSyncNetworkOptions o;
  o.response_bytes_max = 4096;
  auto client = Client(StartServer(), "t", o);
  ASSERT_TRUE(client->Send("c1", "s1", "x").ok());
  ASSERT_TRUE(RunUntil(io_, [&] { return client->stats().requests_failed == 1; }));
  EXPECT_TRUE(delivered_.empty());
  EXPECT_EQ(client->LastError("s1"), "the response body exceeds 4096 bytes");
}

TEST_F(HttpSyncNetworkTest, DestroyedWithARequestInFlightCallsNothingAfterwards) {
  auto client = Client(StartServer());
  ASSERT_TRUE(client->Send("c1", "s1", "never").ok());
  ASSERT_TRUE(client->Send("c1", "s1", "queued").ok());
  ASSERT_TRUE(RunUntil(io_, [&] { return kept_.size() == 1; }));
  client.reset();
  EXPECT_FALSE(RunUntil(
      io_, [&] { return !delivered_.empty(); }, std::chrono::milliseconds(100)));
  bool replied = false;
  asio::post(io_, [&] {
    kept_[0](HttpResponse{200, std::string(kFlatBuffers), "too late"});
    replied = true;
  });
  ASSERT_TRUE(RunUntil(io_, [&] { return replied; }));
  EXPECT_FALSE(RunUntil(
      io_, [&] { return !delivered_.empty(); }, std::chrono::milliseconds(100)));
  EXPECT_TRUE(log_.empty());
  EXPECT_EQ(requests_.size(), 1u);
}

TEST_F(HttpSyncNetworkTest, DestroyedWhileConnectingCallsNothingAfterwards) {
  auto client = Client(ClosedPort(io_));
  ASSERT_TRUE(client->Send("c1", "s1", "x").ok());
  client.reset();
  io_.run_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(log_.empty());
}

// Answers one request per connection, says keep-alive, then closes: a server that drops idle
// keep-alive connections, as seen by a client reusing one.
class OneAnswerServer {
 public:
  explicit OneAnswerServer(asio::io_context& io)
      : acceptor_(io, {asio::ip::make_address("127.0.0.1"), 0}) {
    Accept();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int answered = 0;

 private:
  struct Conn {
    explicit Conn(tcp::socket s) : stream(std::move(s)) {}
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::response<http::string_body> response;
  };
  void Accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket s) {
      if (ec) return;
      auto c = std::make_shared<Conn>(std::move(s));
      http::async_read(c->stream, c->buffer, c->request, [this, c](beast::error_code ec, size_t) {
        if (ec) return;
        c->response = {http::status::ok, 11};
        c->response.set(http::field::content_type, kFlatBuffers);
        c->response.keep_alive(true);
        c->response.body() = "#" + std::to_string(++answered);
        c->response.prepare_payload();
        http::async_write(c->stream, c->response, [c](beast::error_code, size_t) {
          c->stream.close();  // after a moment of idleness, say
        });
      });
      Accept();
    });
  }
  tcp::acceptor acceptor_;
};

TEST_F(HttpSyncNetworkTest, ARequestOnAConnectionTheServerClosedGoesOnceMoreOnAFreshOne) {
  OneAnswerServer server(io_);
  auto client = Client(server.port());
  ASSERT_TRUE(client->Send("c1", "s1", "one").ok());
  ASSERT_TRUE(RunUntil(io_, [&] { return delivered_.size() == 1; }));
  io_.run_for(std::chrono::milliseconds(50));  // the server's close arrives
  ASSERT_TRUE(client->Send("c1", "s1", "two").ok());
  ASSERT_TRUE(RunUntil(io_, [&] { return delivered_.size() == 2; }));
  EXPECT_EQ(delivered_[1].second, "#2");
  EXPECT_EQ(client->stats().requests_resent, 1u);
  EXPECT_EQ(client->stats().requests_failed, 0u);
  EXPECT_EQ(client->stats().connections_opened, 2u);
  EXPECT_TRUE(log_.empty());
}

}  // namespace
}  // namespace seedgrid
