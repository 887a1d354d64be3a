#include "engine/net/handshake.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "engine/env/xoshiro.h"
#include "engine/net/backoff.h"
#include "engine/net/handshake_generated.h"

namespace seedgrid::net {
namespace {

using ::testing::HasSubstr;

std::string ReasonOf(const HandshakeFrame& f) {
  const auto* r = std::get_if<Refusal>(&f);
  return r == nullptr ? "" : r->reason;
}

RC_GTEST_PROP(Handshake, EveryFrameRoundTrips, (std::string id, std::string token, bool server)) {
  const std::vector<HandshakeFrame> frames = {
      Hello{kProtocolVersion, id, server ? Role::kServer : Role::kClient, token, "h:1"},
      Welcome{7, id, {}}, Welcome{1, id, {token, id}}, Refusal{token}};
  for (const HandshakeFrame& f : frames) {
    absl::StatusOr<HandshakeFrame> back = DecodeHandshake(EncodeHandshake(f));
    RC_ASSERT(back.ok());
    RC_ASSERT(*back == f);
  }
}

RC_GTEST_PROP(Handshake, GarbageIsAnErrorNeverACrash, (std::string bytes)) {
  (void)DecodeHandshake(bytes);  // ASan/UBSan builds check the reads.
}

TEST(Handshake, TruncatedAndForeignFramesAreNamedErrors) {
  std::string hello = EncodeHandshake(Hello{kProtocolVersion, "c1", Role::kClient, "t", ""});
  // The last few bytes may be alignment padding the verifier rightly does not need.
  for (size_t n = 0; n + 8 < hello.size(); ++n) {
    EXPECT_FALSE(DecodeHandshake(hello.substr(0, n)).ok()) << n;
  }
  EXPECT_THAT(DecodeHandshake("not a handshake at all").status().message(),
              HasSubstr("not a handshake frame"));
}

TEST(Handshake, AUnionTypeWithoutItsTableIsAnErrorNotACrash) {
  for (fb::Frame type : {fb::Frame::Hello, fb::Frame::Welcome, fb::Frame::Refusal}) {
    flatbuffers::FlatBufferBuilder b;
    fb::HandshakeBuilder hb(b);
    hb.add_frame_type(type);  // the type, but no table
    fb::FinishHandshakeBuffer(b, hb.Finish());
    const std::string bytes(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
    absl::StatusOr<HandshakeFrame> f = DecodeHandshake(bytes);
    ASSERT_FALSE(f.ok());
    EXPECT_THAT(f.status().message(), HasSubstr("without its table"));
  }
}

TEST(Handshake, AnswerChecksVersionIdTokenAndRole) {
  const AcceptPolicy policy{"s1", "secret", true, {"s1@h:1", "s2@h:2"}};
  Hello ok{kProtocolVersion, "c1", Role::kClient, "secret", ""};
  EXPECT_EQ(Answer(ok, policy),
            HandshakeFrame(Welcome{kProtocolVersion, "s1", {"s1@h:1", "s2@h:2"}}));

  Hello v = ok;
  v.protocol_version = 99;
  EXPECT_THAT(ReasonOf(Answer(v, policy)), HasSubstr("protocol version 99"));
  Hello t = ok;
  t.token = "guess";
  EXPECT_EQ(ReasonOf(Answer(t, policy)), "wrong token");
  t.token = "";
  EXPECT_EQ(ReasonOf(Answer(t, policy)), "a token is required");
  Hello id = ok;
  id.node_id = "a:b";
  EXPECT_THAT(ReasonOf(Answer(id, policy)), HasSubstr("Hello.node_id"));
  id.node_id = "bad id";
  EXPECT_THAT(ReasonOf(Answer(id, policy)), HasSubstr("Hello.node_id"));
  id.node_id = "s1";
  EXPECT_THAT(ReasonOf(Answer(id, policy)), HasSubstr("this server's own"));
  Hello s = ok;
  s.role = Role::kServer;
  EXPECT_THAT(ReasonOf(Answer(s, AcceptPolicy{"s1", "secret", false})),
              HasSubstr("no server connections"));
  EXPECT_EQ(Answer(Hello{kProtocolVersion, "c1", Role::kClient, "", ""}, AcceptPolicy{"s1", ""}),
            HandshakeFrame(Welcome{kProtocolVersion, "s1", {}}));
}

TEST(Handshake, CheckAnswerNamesTheServerToUse) {
  EXPECT_TRUE(CheckAnswer(Welcome{kProtocolVersion, "a-1", {}}, "a-1", "a:1").ok());
  EXPECT_THAT(CheckAnswer(Welcome{kProtocolVersion, "n1", {}}, "a-1", "a:1").message(),
              HasSubstr("is node 'n1', not 'a-1'; name it as n1@a:1"));
  EXPECT_THAT(CheckAnswer(Refusal{"wrong token"}, "a:1", "a:1").message(),
              HasSubstr("refused the connection: wrong token"));
  EXPECT_FALSE(CheckAnswer(Welcome{2, "a-1", {}}, "a:1", "a:1").ok());
}

TEST(Handshake, TokensCompareByContent) {
  EXPECT_TRUE(TokensEqual("abc", "abc"));
  EXPECT_FALSE(TokensEqual("abc", "abd"));
  EXPECT_FALSE(TokensEqual("abc", "ab"));
  EXPECT_FALSE(TokensEqual("", "a"));
  EXPECT_TRUE(TokensEqual("", ""));
}

TEST(Addresses, ParseHostPortAndServerNames) {
  EXPECT_EQ(*ParseHostPort("127.0.0.1:7001"), (HostPort{"127.0.0.1", 7001}));
  EXPECT_EQ(*ParseHostPort("[::1]:80"), (HostPort{"::1", 80}));
  EXPECT_EQ(ParseHostPort("[::1]:80")->ToString(), "[::1]:80");
  EXPECT_EQ(*ParseHostPort("localhost:0", true), (HostPort{"localhost", 0}));
  for (const char* bad :
       {"", "7001", ":7001", "h:", "h:x", "h:70000", "h:0", "::1:80", "[::1:80"}) {
    EXPECT_FALSE(ParseHostPort(bad).ok()) << bad;
  }
  EXPECT_THAT(ParseHostPort("h:x").status().message(), HasSubstr("'h:x'"));
  absl::StatusOr<ServerAddress> plain = ParseServerAddress("10.0.0.5:7001");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->id, "10.0.0.5-7001");
  EXPECT_EQ(ParseServerAddress("[::1]:80")->id, "--1-80");
  absl::StatusOr<ServerAddress> named = ParseServerAddress("n1@10.0.0.5:7001");
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->id, "n1");
  EXPECT_EQ(named->address, (HostPort{"10.0.0.5", 7001}));
  EXPECT_THAT(ParseServerAddress("a b@h:1").status().message(), HasSubstr("server 'a b@h:1'"));
}

TEST(Backoff, GrowsToTheCapWithJitterAndResets) {
  Xoshiro256 random(1);
  Backoff b(100, 1600, 5000);
  const uint64_t expected_max[] = {100, 200, 400, 800, 1600, 1600, 1600, 1600, 1600};
  uint64_t now = 0;
  for (uint64_t cap : expected_max) {
    const uint64_t d = b.Failed(now, random);
    EXPECT_GE(d, cap / 2);
    EXPECT_LE(d, cap);
    now += d;
  }
  EXPECT_TRUE(b.GaveUp(now));
  b.Succeeded();
  EXPECT_FALSE(b.GaveUp(now));
  EXPECT_LE(b.Failed(now, random), 100u);
}

}  // namespace
}  // namespace seedgrid::net
