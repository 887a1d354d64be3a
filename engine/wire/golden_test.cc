// Every message kind of the list (msg::Body) round-trips, and its encoding is frozen: simulation
// trace hashes depend on the bytes, so a change to them must be deliberate. Adding a message means
// adding its Samples<> specialization here (the build fails without one) and its golden hashes.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <xxhash.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "engine/wire/codec.h"

namespace seedgrid {
namespace {

// A document with every value type, the sign of zero and a NaN payload included.
Document RichDoc() {
  return Document{{"a_null", std::monostate{}},
                  {"b_true", true},
                  {"c_false", false},
                  {"d_int", int64_t{-42}},
                  {"e_zero", 0.0},
                  {"f_negzero", -0.0},
                  {"g_nan", std::bit_cast<double>(uint64_t{0x7ff8dead0000beefULL})},
                  {"h_inf", -INFINITY},
                  {"i_text", std::string("héllo")},
                  {"j_empty", std::string()},
                  {"k_list", StringList{"x", "", "yz"}},
                  {"l_nolist", StringList{}}};
}

const Timestamp kTs{1'700'000'000'123, 4, "s1"};

std::vector<msg::LwwEntry> SampleLww() {
  return {msg::LwwEntry{"k1", LwwRecord{RichDoc(), kTs, std::nullopt}},
          msg::LwwEntry{"dead", LwwRecord{std::nullopt, Timestamp{5, 0, "n2"}, std::nullopt}},
          msg::LwwEntry{"", LwwRecord{Document{}, Timestamp{0, 0, "n"}, 0}},
          msg::LwwEntry{"ttl", LwwRecord{Document{{"x", int64_t{1}}}, kTs, 5000}}};
}

std::vector<msg::OrKeyState> SampleOr() {
  return {msg::OrKeyState{"tags",
                          {OrRecord{Timestamp{1, 0, "n1"}, Document{{"v", std::string("a")}}, {}},
                           OrRecord{Timestamp{2, 7, "n2"}, RichDoc(), 60'000}},
                          {Timestamp{3, 0, "n1"}, Timestamp{4, 1, "n3"}}},
          msg::OrKeyState{"empty", {}, {}}, msg::OrKeyState{"gone", {}, {Timestamp{9, 9, "n9"}}}};
}

Query RichQuery() {
  Query q;
  q.where = And({Eq("city", Value{std::string("Oslo")}), Not(Like("name", "a%")),
                 Or({Gt("age", int64_t{18}), Between("score", 1.5, 9.0), IsNull("x")}),
                 In("k", {int64_t{1}, std::string("two"), std::monostate{}}),
                 ContainsAny("tags", StringList{"p", "q"})});
  q.sort = {{"age", true}, {"name", false}};
  q.limit = 25;
  return q;
}

template <typename M>
std::vector<M> Samples();

template <>
std::vector<msg::OpBatch> Samples() {
  return {msg::OpBatch{7, "users", SampleLww(), SampleOr()}, msg::OpBatch{0, "m", {}, {}}};
}
template <>
std::vector<msg::Ack> Samples() {
  return {msg::Ack{7, 3, ""}, msg::Ack{8, 0, "map kind conflict"}};
}
template <>
std::vector<msg::SyncInit> Samples() {
  return {msg::SyncInit{"users", msg::MapKind::kOr, 5, 0xDEADBEEFCAFEF00DULL},
          msg::SyncInit{"m", msg::MapKind::kLww, 1, 0}};
}
template <>
std::vector<msg::SyncRoot> Samples() {
  return {msg::SyncRoot{"users", msg::MapKind::kLww, 3, 99}};
}
template <>
std::vector<msg::SyncBucketsRequest> Samples() {
  return {msg::SyncBucketsRequest{"users", {}}, msg::SyncBucketsRequest{"users", {0, 15, 3, 7}}};
}
template <>
std::vector<msg::SyncBuckets> Samples() {
  msg::SyncBuckets m{"users", {4, 2}, {}};
  for (size_t i = 0; i < m.hashes.size(); ++i) m.hashes[i] = i * 0x9E3779B97F4A7C15ULL;
  return {m, msg::SyncBuckets{"m", {}, {}}};
}
template <>
std::vector<msg::SyncLeafRequest> Samples() {
  return {msg::SyncLeafRequest{"users", {1, 2, 3, 4, 5}}};
}
template <>
std::vector<msg::SyncLeaf> Samples() {
  return {msg::SyncLeaf{"users", {1, 2, 3}, SampleLww(), SampleOr()},
          msg::SyncLeaf{"m", {0}, {}, {}}};
}
template <>
std::vector<msg::OrMapDiff> Samples() {
  return {msg::OrMapDiff{"tags", SampleOr()}};
}
template <>
std::vector<msg::PnCounterState> Samples() {
  return {msg::PnCounterState{"hits", PnState{{"n1", {5, 2}}, {"n2", {0, 0}}, {"n3", {~0ULL, 1}}}},
          msg::PnCounterState{"none", {}}};
}
template <>
std::vector<msg::QuerySubscribe> Samples() {
  return {msg::QuerySubscribe{
              7,
              "users",
              RichQuery(),
              "c7",
              {msg::QueryMark{"s0", 1'700'000'000'000'000, 3}, msg::QueryMark{"s1", 1, 0}},
              false},
          msg::QuerySubscribe{8, "users", Query{}, "", {}, true}};
}
template <>
std::vector<msg::GridOps> Samples() {
  return {msg::GridOps{"c7",
                       "s0",
                       2,
                       {msg::GridOp{1, msg::WriteConcern::kReplicated, "users", "k1", RichDoc(),
                                    Timestamp{5, 0, "c7"}},
                        msg::GridOp{2, msg::WriteConcern::kFireAndForget, "users", "k2",
                                    std::nullopt, Timestamp{6, 1, "c7"}}}},
          msg::GridOps{"c1", "", 0, {}}, msg::GridOps{"c1", "", 0, {}, "s2"},
          msg::GridOps{"c7",
                       "",
                       0,
                       {msg::GridOp{3, msg::WriteConcern::kApplied, "users", "visits", std::nullopt,
                                    Timestamp{7, 0, "c7"}, PnTotals{12, 5}},
                        msg::GridOp{4, msg::WriteConcern::kReplicated, "users", "", std::nullopt,
                                    Timestamp{8, 0, "c7"}, PnTotals{0, 0}}}},
          msg::GridOps{"c7",
                       "",
                       0,
                       {msg::GridOp{5, msg::WriteConcern::kApplied, "tags", "k", RichDoc(),
                                    Timestamp{9, 0, "c7"}, std::nullopt, msg::OrOpKind::kAdd},
                        msg::GridOp{6,
                                    msg::WriteConcern::kReplicated,
                                    "tags",
                                    "k",
                                    std::nullopt,
                                    Timestamp{10, 0, "c7"},
                                    std::nullopt,
                                    msg::OrOpKind::kRemove,
                                    {Timestamp{1'700'000'000'000, 2, "s1"}, OrOrigin("c7", 5)}}}}};
}
template <>
std::vector<msg::GridAck> Samples() {
  return {msg::GridAck{{msg::GridOpAck{1, kTs, msg::WriteConcern::kApplied, false},
                        msg::GridOpAck{2, kTs, msg::WriteConcern::kReplicated, true}}},
          msg::GridAck{},
          msg::GridAck{{msg::GridOpAck{3, kTs, msg::WriteConcern::kFireAndForget, false}}, "c1"}};
}
template <>
std::vector<msg::PartitionState> Samples() {
  return {
      msg::PartitionState{9,
                          270,
                          msg::StatePurpose::kClientRepair,
                          {msg::MapRecords{"users", SampleLww()}, msg::MapRecords{"e", {}}},
                          {msg::ClientMark{"c7", 12, 10}, msg::ClientMark{"c8", 1, 0}},
                          1'700'000'000'000},
      msg::PartitionState{0, 0, msg::StatePurpose::kReplicate, {}, {}, 0},
      msg::PartitionState{
          3,
          17,
          msg::StatePurpose::kHandoff,
          {msg::MapRecords{"users",
                           SampleLww(),
                           {msg::CounterEntry{"visits", {{"c7", {12, 5}}, {"c8", {0, 1}}}},
                            msg::CounterEntry{"x", {}}}}},
          {msg::ClientMark{"c7", 4, 0}},
          0},
      msg::PartitionState{
          4,
          5,
          msg::StatePurpose::kSyncReply,
          {msg::MapRecords{"tags",
                           {},
                           {},
                           {msg::OrKeyState{"k",
                                            {OrRecord{kTs, RichDoc(), 60'000, OrOrigin("c7", 5)},
                                             OrRecord{Timestamp{3, 0, "s1"}, {}, {}, {}}},
                                            {Timestamp{2, 1, "s0"}, OrOrigin("c8", 1)}},
                            msg::OrKeyState{"z", {}, {Timestamp{1, 0, "s2"}}}}}},
          {},
          1'700'000'000'000}};
}
template <>
std::vector<msg::PartitionDigest> Samples() {
  return {msg::PartitionDigest{3, "users", {0, 17, 270}, {1, 2, 3}, true, "c7"},
          msg::PartitionDigest{0, "", {}, {}, false, ""}};
}
template <>
std::vector<msg::Heartbeat> Samples() {
  return {msg::Heartbeat{4,
                         "s0",
                         {"s0", "s1"},
                         true,
                         {msg::PartitionDigest{0, "users", {5}, {99}, false, ""},
                          msg::PartitionDigest{1, "", {1, 2}, {3, 4}, true, "s1"}},
                         true,
                         1'700'000'000'123},
          msg::Heartbeat{0, "", {}, false, {}, false, 0}};
}
template <>
std::vector<msg::QueryUpdate> Samples() {
  return {
      msg::QueryUpdate{7, 99, 0, 4, {1, 2, 270}, {"users", SampleLww()}},
      msg::QueryUpdate{7, 99, 3, 4, {}, {"users", {msg::LwwEntry{"k", {std::nullopt, kTs, {}}}}}}};
}
template <>
std::vector<msg::HttpSyncRequest> Samples() {
  return {msg::HttpSyncRequest{"c7",
                               41,
                               {msg::GridOp{3, msg::WriteConcern::kReplicated, "users", "k1",
                                            RichDoc(), Timestamp{5, 0, "c7"}}},
                               {msg::MapMarks{"users", {0, 270}, {1, 0xffffffffffffffffULL}},
                                msg::MapMarks{"empty", {}, {}}},
                               {msg::PartitionState{0,
                                                    3,
                                                    msg::StatePurpose::kClientRepair,
                                                    {msg::MapRecords{"users", SampleLww()}},
                                                    {},
                                                    0}},
                               "users:17"},
          msg::HttpSyncRequest{"c1", 0, {}, {}, {}, ""}};
}
template <>
std::vector<msg::HttpSyncResponse> Samples() {
  return {msg::HttpSyncResponse{
              41,
              200,
              "",
              {msg::GridOpAck{3, kTs, msg::WriteConcern::kReplicated, true}},
              {msg::PartitionState{
                  41, 3, msg::StatePurpose::kClientLeaf, {{"users", SampleLww()}}, {}, 99}},
              "users:18"},
          msg::HttpSyncResponse{7, 503, "not ready", {}, {}, ""}};
}

template <>
std::vector<msg::PartitionStates> Samples() {
  return {
      msg::PartitionStates{
          {msg::PartitionState{
               41, 3, msg::StatePurpose::kClientLeaf, {{"users", SampleLww()}}, {}, 99},
           msg::PartitionState{41, 270, msg::StatePurpose::kClientLeaf, {{"users", {}}}, {}, 0}}},
      msg::PartitionStates{{msg::PartitionState{0, 0, msg::StatePurpose::kHandoff, {}, {}, 0}}}};
}

// The samples of every kind, in the list's order, each sent by "s1".
template <size_t... I>
std::vector<msg::Envelope> AllSamples(std::index_sequence<I...>) {
  std::vector<msg::Envelope> out;
  const auto append = [&out](const auto& samples) {
    EXPECT_FALSE(samples.empty());
    for (const auto& m : samples) out.push_back(msg::Envelope{"s1", m});
  };
  (append(Samples<std::variant_alternative_t<I, msg::Body>>()), ...);
  return out;
}

std::vector<msg::Envelope> AllSamples() {
  return AllSamples(std::make_index_sequence<std::variant_size_v<msg::Body>>());
}

TEST(Codec, EveryMessageKindRoundTrips) {
  std::vector<bool> seen(std::variant_size_v<msg::Body>, false);
  for (const msg::Envelope& e : AllSamples()) {
    seen[e.body.index()] = true;
    const std::string bytes = EncodeMessage(e);
    EXPECT_EQ(EncodeMessage(e), bytes) << msg::BodyName(e.body);
    absl::StatusOr<msg::Envelope> back = DecodeMessage(bytes);
    ASSERT_TRUE(back.ok()) << msg::BodyName(e.body) << ": " << back.status();
    EXPECT_EQ(*back, e) << msg::BodyName(e.body);
  }
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_TRUE(seen[i]) << "no sample of body " << i;
}

// Grid messages with the values the grid tests use.
TEST(Codec, GridMessagesRoundTrip) {
  const Timestamp ts{1'700'000'000'123, 4, "s1"};
  const std::vector<msg::Body> bodies = {
      msg::GridOps{"c7",
                   "s0",
                   2,
                   {msg::GridOp{1, msg::WriteConcern::kReplicated, "users", "k1",
                                Document{{"v", int64_t{3}}}, Timestamp{5, 0, "c7"}},
                    msg::GridOp{2, msg::WriteConcern::kFireAndForget, "users", "k2", std::nullopt,
                                Timestamp{6, 1, "c7"}}}},
      msg::GridAck{{msg::GridOpAck{1, ts, msg::WriteConcern::kApplied, false},
                    msg::GridOpAck{2, ts, msg::WriteConcern::kReplicated, true}}},
      msg::PartitionState{9,
                          270,
                          msg::StatePurpose::kClientRepair,
                          {msg::MapRecords{"users", {msg::LwwEntry{"k", LwwRecord{{}, ts, 5}}}}},
                          {msg::ClientMark{"c7", 12, 10}},
                          1'700'000'000'000},
      msg::PartitionDigest{3, "users", {0, 17, 270}, {1, 2, 3}, true, "c7"},
      msg::Heartbeat{4,
                     "s0",
                     {"s0", "s1"},
                     true,
                     {msg::PartitionDigest{0, "users", {5}, {99}, false, ""}},
                     true,
                     1'700'000'000'123},
      msg::QuerySubscribe{7,
                          "users",
                          Query{Eq("city", Value{std::string("Oslo")}), {{"age", true}}, 5},
                          "c7",
                          {msg::QueryMark{"s0", 1'700'000'000'000'000, 3}},
                          false},
      msg::QuerySubscribe{8, "users", Query{}, "", {}, true},
      msg::QueryUpdate{
          7, 99, 0, 4, {1, 2, 270}, {"users", {msg::LwwEntry{"k", {Document{}, ts, {}}}}}},
      msg::QueryUpdate{7, 99, 3, 4, {}, {"users", {msg::LwwEntry{"k", {std::nullopt, ts, {}}}}}}};
  for (const msg::Body& body : bodies) {
    const msg::Envelope e{"s1", body};
    absl::StatusOr<msg::Envelope> back = DecodeMessage(EncodeMessage(e));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, e) << msg::BodyName(body);
  }
}

// XXH3-64 of the encodings of AllSamples(), in order. Only a deliberate wire change (a new
// message, a new field) may update this table; new messages append.
constexpr uint64_t kGoldenHashes[] = {
    0xf5f52b16b1cf7260ULL,  // OpBatch
    0xe62f3162f36f417aULL,  // OpBatch
    0x1f31d3bd55fe668eULL,  // Ack
    0xe08e49a524c5c1e0ULL,  // Ack
    0x4deb1b8145f32671ULL,  // SyncInit
    0xef60068f4a2c96efULL,  // SyncInit
    0x10da4042b38a45bdULL,  // SyncRoot
    0x0db3a5cbe6df9040ULL,  // SyncBucketsRequest
    0x93f97c7ead44cceaULL,  // SyncBucketsRequest
    0xc4ac47a9b08a2e05ULL,  // SyncBuckets
    0xa028cc3f9c0df8f4ULL,  // SyncBuckets
    0xecc7afd2b5a271cdULL,  // SyncLeafRequest
    0x3decb9d5cbc5c73eULL,  // SyncLeaf
    0x9479d94439c5c182ULL,  // SyncLeaf
    0xdcef88ab9cbf6254ULL,  // OrMapDiff
    0x39dc717c655de0e7ULL,  // PnCounterState
    0x73ed7811b1b90d45ULL,  // PnCounterState
    0xc22f8044d712c8e8ULL,  // QuerySubscribe
    0xe9749b43ba46c4e9ULL,  // QuerySubscribe
    0x2d782f5e0304ea0cULL,  // GridOps
    0x2ac1a3ee4edf048dULL,  // GridOps
    0xeede9eea3cbf5aafULL,  // GridOps
    0x7461f8dc8208c098ULL,  // GridOps
    0x2d76cce7d10cf56fULL,  // GridOps
    0x0df77347d8e6c9d5ULL,  // GridAck
    0x84b010d5cc7ef235ULL,  // GridAck
    0xe97e303b2892edbaULL,  // GridAck
    0x2872b9e614308922ULL,  // PartitionState
    0x2a1000c238dcf276ULL,  // PartitionState
    0x4006dc2c58375094ULL,  // PartitionState
    0x6c73cc803075e9cfULL,  // PartitionState
    0x662ae136b56a2787ULL,  // PartitionDigest
    0x8ffaf0398866212cULL,  // PartitionDigest
    0x0dcde46b7e1bb7ceULL,  // Heartbeat
    0xc19c6d9f8c92176dULL,  // Heartbeat
    0x5fe6d8d2487e643aULL,  // QueryUpdate
    0x824b9868d7cafe42ULL,  // QueryUpdate
    0x3dce791e95a9a1ecULL,  // HttpSyncRequest
    0x90cda8017238fa3bULL,  // HttpSyncRequest
    0x725b4670a5621e2fULL,  // HttpSyncResponse
    0xb45ef50b1874a783ULL,  // HttpSyncResponse
    0xcb6fb85b7293c397ULL,  // PartitionStates
    0xe7a48927b54b2e1eULL,  // PartitionStates
};

TEST(Codec, EncodingsMatchTheGoldenHashes) {
  std::vector<uint64_t> got;
  std::string table;
  for (const msg::Envelope& e : AllSamples()) {
    const std::string bytes = EncodeMessage(e);
    got.push_back(XXH3_64bits(bytes.data(), bytes.size()));
    table += fmt::format("    0x{:016x}ULL,  // {}\n", got.back(), msg::BodyName(e.body));
  }
  EXPECT_EQ(got, std::vector<uint64_t>(std::begin(kGoldenHashes), std::end(kGoldenHashes)))
      << "encodings changed; if deliberate, the new table is:\n"
      << table;
}

}  // namespace
}  // namespace seedgrid
