#include "engine/wire/codec.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "engine/base/strings.h"
#include "engine/query/cursor.h"
#include "engine/query/query_testing.h"
#include "engine/wire/seedgrid_generated.h"

namespace seedgrid {
namespace {

// ---------------------------------------------------------------- generators

rc::Gen<std::string> GenName() {
  return rc::gen::map(rc::gen::inRange(0, 1000), [](int i) { return "n" + std::to_string(i); });
}

rc::Gen<Timestamp> GenTs() {
  return rc::gen::apply(
      [](uint64_t m, uint32_t c, std::string n) {
        return Timestamp{m, c, std::move(n)};
      },
      rc::gen::arbitrary<uint64_t>(), rc::gen::arbitrary<uint32_t>(), GenName());
}

rc::Gen<Value> GenValue() {
  return rc::gen::oneOf(
      rc::gen::just(Value(std::monostate{})), rc::gen::map<bool>([](bool b) { return Value(b); }),
      rc::gen::map<int64_t>([](int64_t i) { return Value(i); }),
      // Any bit pattern, NaNs included: equality and the wire are bit-exact. Plus the special
      // values a random bit pattern almost never hits.
      rc::gen::map<uint64_t>([](uint64_t bits) { return Value(std::bit_cast<double>(bits)); }),
      rc::gen::map(rc::gen::element(0.0, -0.0, 1.0 / 0.0, -1.0 / 0.0, 5e-324, -5e-324),
                   [](double d) { return Value(d); }),
      rc::gen::map<std::string>([](std::string s) { return Value(std::move(s)); }),
      rc::gen::map<StringList>([](StringList l) { return Value(std::move(l)); }));
}

// Sizes are bounded so that nested containers stay small (RapidCheck's default size is 100 at
// every level, which multiplies).
rc::Gen<Document> GenDoc() {
  return rc::gen::resize(
      6, rc::gen::map(rc::gen::container<std::vector<std::pair<std::string, Value>>>(
                          rc::gen::pair(rc::gen::arbitrary<std::string>(), GenValue())),
                      [](std::vector<std::pair<std::string, Value>> fields) {
                        Document d;
                        for (auto& [n, v] : fields) d.Set(std::move(n), std::move(v));
                        return d;
                      }));
}

template <typename T>
rc::Gen<std::optional<T>> GenOptional(rc::Gen<T> gen) {
  return rc::gen::oneOf(rc::gen::just(std::optional<T>()), rc::gen::map(std::move(gen), [](T v) {
                          return std::optional<T>(std::move(v));
                        }));
}

rc::Gen<std::optional<uint64_t>> GenTtl() { return GenOptional(rc::gen::arbitrary<uint64_t>()); }

rc::Gen<msg::LwwEntry> GenLww() {
  return rc::gen::apply(
      [](std::string key, Timestamp ts, std::optional<Document> value,
         std::optional<uint64_t> ttl) {
        return msg::LwwEntry{std::move(key), LwwRecord{std::move(value), std::move(ts), ttl}};
      },
      rc::gen::arbitrary<std::string>(), GenTs(), GenOptional(GenDoc()), GenTtl());
}

rc::Gen<msg::OrKeyState> GenOr() {
  return rc::gen::apply(
      [](std::string key, std::vector<OrRecord> items, std::vector<Timestamp> tombstones) {
        return msg::OrKeyState{std::move(key), std::move(items), std::move(tombstones)};
      },
      rc::gen::arbitrary<std::string>(),
      rc::gen::container<std::vector<OrRecord>>(rc::gen::apply(
          [](Timestamp t, Document d, std::optional<uint64_t> ttl) {
            return OrRecord{std::move(t), std::move(d), ttl};
          },
          GenTs(), GenDoc(), GenTtl())),
      rc::gen::container<std::vector<Timestamp>>(GenTs()));
}

rc::Gen<std::vector<uint8_t>> GenPath(int min, int max) {
  return rc::gen::mapcat(rc::gen::inRange(min, max + 1), [](int n) {
    return rc::gen::container<std::vector<uint8_t>>(n, rc::gen::inRange<uint8_t>(0, 16));
  });
}

rc::Gen<std::string> GenMapName() {
  return rc::gen::nonEmpty(rc::gen::container<std::string>(rc::gen::inRange('a', 'z')));
}

rc::Gen<msg::MapKind> GenKind() { return rc::gen::element(msg::MapKind::kLww, msg::MapKind::kOr); }

rc::Gen<msg::Body> GenBody() {
  return rc::gen::oneOf(
      rc::gen::apply(
          [](uint64_t id, std::string name, std::vector<msg::LwwEntry> lww,
             std::vector<msg::OrKeyState> ors) {
            return msg::Body(msg::OpBatch{id, std::move(name), std::move(lww), std::move(ors)});
          },
          rc::gen::arbitrary<uint64_t>(), GenMapName(),
          rc::gen::container<std::vector<msg::LwwEntry>>(GenLww()),
          rc::gen::container<std::vector<msg::OrKeyState>>(GenOr())),
      rc::gen::apply(
          [](uint64_t id, uint32_t n, std::string e) {
            return msg::Body(msg::Ack{id, n, std::move(e)});
          },
          rc::gen::arbitrary<uint64_t>(), rc::gen::arbitrary<uint32_t>(),
          rc::gen::arbitrary<std::string>()),
      rc::gen::apply(
          [](std::string n, msg::MapKind k, uint8_t d, uint64_t h) {
            return msg::Body(msg::SyncInit{std::move(n), k, d, h});
          },
          GenMapName(), GenKind(), rc::gen::inRange<uint8_t>(1, 6), rc::gen::arbitrary<uint64_t>()),
      rc::gen::apply(
          [](std::string n, msg::MapKind k, uint8_t d, uint64_t h) {
            return msg::Body(msg::SyncRoot{std::move(n), k, d, h});
          },
          GenMapName(), GenKind(), rc::gen::inRange<uint8_t>(1, 6), rc::gen::arbitrary<uint64_t>()),
      rc::gen::apply(
          [](std::string n, std::vector<uint8_t> p) {
            return msg::Body(msg::SyncBucketsRequest{std::move(n), std::move(p)});
          },
          GenMapName(), GenPath(0, 4)),
      rc::gen::apply(
          [](std::string n, std::vector<uint8_t> p, std::vector<uint64_t> h) {
            msg::SyncBuckets m{std::move(n), std::move(p), {}};
            std::copy(h.begin(), h.end(), m.hashes.begin());
            return msg::Body(std::move(m));
          },
          GenMapName(), GenPath(0, 4),
          rc::gen::container<std::vector<uint64_t>>(16, rc::gen::arbitrary<uint64_t>())),
      rc::gen::apply(
          [](std::string n, std::vector<uint8_t> p) {
            return msg::Body(msg::SyncLeafRequest{std::move(n), std::move(p)});
          },
          GenMapName(), GenPath(1, 5)),
      rc::gen::apply(
          [](std::string n, std::vector<uint8_t> p, std::vector<msg::LwwEntry> lww,
             std::vector<msg::OrKeyState> ors) {
            return msg::Body(
                msg::SyncLeaf{std::move(n), std::move(p), std::move(lww), std::move(ors)});
          },
          GenMapName(), GenPath(1, 5), rc::gen::container<std::vector<msg::LwwEntry>>(GenLww()),
          rc::gen::container<std::vector<msg::OrKeyState>>(GenOr())),
      rc::gen::apply(
          [](std::string n, std::vector<msg::OrKeyState> e) {
            return msg::Body(msg::OrMapDiff{std::move(n), std::move(e)});
          },
          GenMapName(), rc::gen::container<std::vector<msg::OrKeyState>>(GenOr())),
      rc::gen::apply(
          [](std::string n, std::vector<std::pair<std::string, std::pair<uint64_t, uint64_t>>> e) {
            msg::PnCounterState m{std::move(n), {}};
            for (auto& [node, pn] : e) m.entries[node] = PnTotals{pn.first, pn.second};
            return msg::Body(std::move(m));
          },
          GenMapName(),
          rc::gen::container<std::vector<std::pair<std::string, std::pair<uint64_t, uint64_t>>>>(
              rc::gen::pair(GenName(), rc::gen::arbitrary<std::pair<uint64_t, uint64_t>>()))),
      rc::gen::apply(
          [](uint64_t id, std::string n, Query q) {
            // NaN constants compare bit-exactly in Predicate ==; the generator's NaN is canonical.
            return msg::Body(msg::QuerySubscribe{id, std::move(n), std::move(q)});
          },
          rc::gen::arbitrary<uint64_t>(), GenMapName(),
          rc::gen::exec([] { return testing::GenQuery(); })));
}

rc::Gen<msg::Envelope> GenEnvelope() {
  return rc::gen::resize(12, rc::gen::apply(
                                 [](std::string sender, msg::Body body) {
                                   return msg::Envelope{std::move(sender), std::move(body)};
                                 },
                                 GenName(), GenBody()));
}

// ---------------------------------------------------------------- properties

RC_GTEST_PROP(Codec, RoundTripIsExactAndEncodingDeterministic, ()) {
  const msg::Envelope envelope = *GenEnvelope();
  const std::string bytes = EncodeMessage(envelope);
  RC_ASSERT(EncodeMessage(envelope) == bytes);
  auto decoded = DecodeMessage(bytes);
  RC_ASSERT(decoded.ok());
  RC_ASSERT(*decoded == envelope);
  RC_TAG(msg::BodyName(envelope.body));
}

RC_GTEST_PROP(Codec, MutatedBuffersDecodeToErrorOrValidMessage, ()) {
  const std::string original = EncodeMessage(*GenEnvelope());
  for (int trial = 0; trial < 50; ++trial) {  // Many mutants per generated message.
    std::string bytes = original;
    const int flips = *rc::gen::inRange(1, 8);
    for (int i = 0; i < flips; ++i) {
      const size_t at = *rc::gen::inRange<size_t>(0, bytes.size());
      bytes[at] = static_cast<char>(bytes[at] ^ (1 << *rc::gen::inRange(0, 8)));
    }
    auto decoded = DecodeMessage(bytes);
    if (decoded.ok()) {
      // Whatever survived verification is a valid message: it re-encodes and round-trips.
      auto again = DecodeMessage(EncodeMessage(*decoded));
      RC_ASSERT(again.ok());
      RC_ASSERT(*again == *decoded);
    } else {
      RC_ASSERT(!decoded.status().message().empty());
    }
  }
}

// Every truncation of a message is rejected, unless it drops only the builder's trailing
// alignment padding (zero bytes after the last string's terminator): then nothing the message
// uses is gone and it decodes to the same message.
RC_GTEST_PROP(Codec, TruncationIsRejectedUnlessOnlyPaddingIsDropped, ()) {
  const msg::Envelope envelope = *GenEnvelope();
  const std::string bytes = EncodeMessage(envelope);
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    const absl::StatusOr<msg::Envelope> decoded =
        DecodeMessage(std::string_view(bytes).substr(0, cut));
    if (!decoded.ok()) continue;
    RC_ASSERT(bytes.size() - cut < 8);  // Padding, never more than an alignment step.
    RC_ASSERT(std::all_of(bytes.begin() + static_cast<ptrdiff_t>(cut), bytes.end(),
                          [](char c) { return c == 0; }));
    RC_ASSERT(*decoded == envelope);
  }
}

RC_GTEST_PROP(Codec, RandomBytesAreRejected, (std::string bytes)) {
  RC_ASSERT(!DecodeMessage(bytes).ok());
  if (bytes.size() >= 8) {
    bytes.replace(4, 4, "SGW1");  // Even with the right identifier.
    auto decoded = DecodeMessage(bytes);
    if (decoded.ok()) RC_ASSERT(*DecodeMessage(EncodeMessage(*decoded)) == *decoded);
  }
}

// ---------------------------------------------------------------- examples

namespace fb = ::seedgrid::wire;

std::string Finish(flatbuffers::FlatBufferBuilder& b, fb::Body type, flatbuffers::Offset<void> body,
                   const char* sender = "n1", uint16_t version = 1) {
  b.Finish(fb::CreateEnvelope(b, version, b.CreateString(sender), type, body),
           fb::EnvelopeIdentifier());
  return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
}

std::string ErrorOf(const std::string& bytes) {
  auto decoded = DecodeMessage(bytes);
  EXPECT_FALSE(decoded.ok());
  return std::string(decoded.status().message());
}

// An OP_BATCH of one LWW record whose timestamp names `node_id`.
std::string OpBatchWithNodeId(const char* node_id) {
  flatbuffers::FlatBufferBuilder b;
  auto ts = fb::CreateTimestamp(b, 1, 2, b.CreateString(node_id));
  auto rec = fb::CreateLwwRecord(b, b.CreateString("k"), ts);
  auto lww = b.CreateVector(std::vector<flatbuffers::Offset<fb::LwwRecord>>{rec});
  auto batch = fb::CreateOpBatch(b, 7, b.CreateString("m"), lww);
  return Finish(b, fb::Body::OpBatch, batch.Union());
}

TEST(Codec, ErrorsNameTheField) {
  EXPECT_EQ(ErrorOf(OpBatchWithNodeId("")), "OpBatch.lww[0].ts.node_id: node id must not be empty");
  {
    // A refused node id never takes a slot of the node-id pool: a peer sending invalid ids cannot
    // fill it.
    const size_t pooled = InternedNodeId::PoolSize();
    EXPECT_EQ(ErrorOf(OpBatchWithNodeId("never-pooled:1")),
              "OpBatch.lww[0].ts.node_id: node id 'never-pooled:1' contains ':'");
    EXPECT_EQ(InternedNodeId::PoolSize(), pooled);
  }
  {
    flatbuffers::FlatBufferBuilder b;
    std::vector<uint64_t> hashes(3, 0);
    auto m = fb::CreateSyncBuckets(b, b.CreateString("m"), b.CreateVector(std::vector<uint8_t>{1}),
                                   b.CreateVector(hashes));
    EXPECT_EQ(ErrorOf(Finish(b, fb::Body::SyncBuckets, m.Union())),
              "SyncBuckets.hashes: expected 16 hashes, got 3");
  }
  {
    flatbuffers::FlatBufferBuilder b;
    auto m = fb::CreateSyncLeafRequest(b, b.CreateString("m"),
                                       b.CreateVector(std::vector<uint8_t>{1, 16}));
    EXPECT_EQ(ErrorOf(Finish(b, fb::Body::SyncLeafRequest, m.Union())),
              "SyncLeafRequest.path[1]: digit 16 out of range 0..15");
  }
  {
    flatbuffers::FlatBufferBuilder b;
    auto m = fb::CreateSyncInit(b, b.CreateString("m"), static_cast<fb::MapKind>(9), 3);
    EXPECT_EQ(ErrorOf(Finish(b, fb::Body::SyncInit, m.Union())),
              "SyncInit.kind: unknown map kind 9");
  }
  {
    flatbuffers::FlatBufferBuilder b;
    auto m = fb::CreateSyncInit(b, b.CreateString("m"), fb::MapKind::Lww, 0);
    EXPECT_EQ(ErrorOf(Finish(b, fb::Body::SyncInit, m.Union())),
              "SyncInit.depth: depth 0 out of range 1..5");
  }
  {
    flatbuffers::FlatBufferBuilder b;
    auto m = fb::CreateSyncInit(b, b.CreateString(""), fb::MapKind::Lww, 3);
    EXPECT_EQ(ErrorOf(Finish(b, fb::Body::SyncInit, m.Union())),
              "SyncInit.map_name: map name must not be empty");
  }
  {
    flatbuffers::FlatBufferBuilder b;
    auto f1 = fb::CreateField(b, b.CreateString("b"), fb::Value::NullValue,
                              fb::CreateNullValue(b).Union());
    auto f2 = fb::CreateField(b, b.CreateString("a"), fb::Value::NullValue,
                              fb::CreateNullValue(b).Union());
    auto doc = fb::CreateDocument(b, b.CreateVector(std::vector{f1, f2}));
    auto item = fb::CreateOrRecord(b, fb::CreateTimestamp(b, 1, 0, b.CreateString("n")), doc);
    auto key = fb::CreateOrKeyState(b, b.CreateString("k"), b.CreateVector(std::vector{item}));
    auto diff = fb::CreateOrMapDiff(b, b.CreateString("m"), b.CreateVector(std::vector{key}));
    EXPECT_EQ(ErrorOf(Finish(b, fb::Body::OrMapDiff, diff.Union())),
              "OrMapDiff.entries[0].items[0].value.fields[1].name: 'a' is not after 'b' (fields "
              "must be sorted and unique)");
  }
  {
    flatbuffers::FlatBufferBuilder b;
    auto ack = fb::CreateAck(b, 1, 1);
    EXPECT_EQ(ErrorOf(Finish(b, fb::Body::Ack, ack.Union(), "a:b")),
              "Envelope.sender: node id 'a:b' contains ':'");
  }
  {
    flatbuffers::FlatBufferBuilder b;
    auto ack = fb::CreateAck(b, 1, 1);
    auto decoded = DecodeMessage(Finish(b, fb::Body::Ack, ack.Union(), "n", 7));
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kUnimplemented);
    EXPECT_EQ(decoded.status().message(),
              "Envelope.protocol_version: version 7 is not supported (this build speaks 1 to 6)");
  }
  {
    flatbuffers::FlatBufferBuilder b;
    auto ack = fb::CreateAck(b, 1, 1);
    EXPECT_EQ(ErrorOf(Finish(b, static_cast<fb::Body>(200), ack.Union())),
              "Envelope.body: unknown body type 200");
  }
}

TEST(Codec, RepeatedReferencesCannotAmplifyDecoding) {
  // 100,000 offsets to one record holding a 64 KiB string: a 500 KB buffer that would decode to
  // 6.4 GB. The decode budget rejects it.
  flatbuffers::FlatBufferBuilder b;
  auto ts = fb::CreateTimestamp(b, 1, 0, b.CreateString("n1"));
  auto rec = fb::CreateLwwRecord(b, b.CreateString(std::string(64 * 1024, 'x')), ts);
  std::vector<flatbuffers::Offset<fb::LwwRecord>> many(100'000, rec);
  auto lww = b.CreateVector(many);
  auto name = b.CreateString("m");
  auto batch = fb::CreateOpBatch(b, 1, name, lww);
  const std::string bytes = Finish(b, fb::Body::OpBatch, batch.Union());
  EXPECT_LT(bytes.size(), 1'000'000u);
  EXPECT_EQ(ErrorOf(bytes),
            "OpBatch.lww[57].ts.node_id: decoded size exceeds the budget for this message size "
            "(the buffer "
            "repeats references to the same data)");
}

TEST(Codec, QueriesRoundTripAndInvalidQueriesNameThePath) {
  msg::QuerySubscribe sub{
      9, "users", Query{And({Eq("a", int64_t{1}), Not(Like("b", "x%"))}), {{"a", true}}, 5}};
  auto decoded = DecodeMessage(EncodeMessage({"c1", sub}));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(std::get<msg::QuerySubscribe>(decoded->body), sub);
  // A query that breaks the query rules is refused with the path and the rule.
  sub.query.where.children[1].children[0].args.clear();
  auto bad = DecodeMessage(EncodeMessage({"c1", sub}));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "QuerySubscribe.query: where.and[1].not[0]: like takes 1 value, got 0");
}

TEST(Codec, APagesCursorRoundTripsAndOnlyACursorOfItsQueryDecodes) {
  const Query q{All(), {{"a", true}}, 5};
  CursorState state{PredicateAndSortHash(q), 7, 0, 1000, {Value{int64_t{3}}}, "k1", std::nullopt};
  msg::QuerySubscribe sub{9, "users", q, "", {}, false, EncodeCursor(state), /*or_rows=*/true};
  auto decoded = DecodeMessage(EncodeMessage({"c1", sub}));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(std::get<msg::QuerySubscribe>(decoded->body), sub);
  // An older build would serve the first page, or the records: pages and OR rows are version 4.
  EXPECT_EQ(WireVersionFor(sub), kWireLiveQueryRowsVersion);
  EXPECT_EQ(WireVersionFor(msg::QuerySubscribe{9, "users", q}), kWireProtocolVersion);
  msg::QuerySubscribe or_rows_only = sub;
  or_rows_only.cursor.clear();
  EXPECT_EQ(WireVersionFor(or_rows_only), kWireLiveQueryRowsVersion);
  // A garbled cursor, and a cursor of another query, are refused by name.
  sub.cursor[3] ^= 0x5;
  auto garbled = DecodeMessage(EncodeMessage({"c1", sub}));
  ASSERT_FALSE(garbled.ok());
  EXPECT_TRUE(ToStd(garbled.status().message()).starts_with("QuerySubscribe.cursor: "))
      << garbled.status();
  sub.cursor = EncodeCursor(state);
  sub.query.sort[0].descending = false;
  auto other = DecodeMessage(EncodeMessage({"c1", sub}));
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().message(),
            "QuerySubscribe.cursor: cursor belongs to a different query (predicate or sort "
            "differ)");
}

TEST(Codec, RejectsForeignAndOversizedBuffers) {
  EXPECT_EQ(ErrorOf(""),
            "Envelope: not a seedgrid wire message (0 bytes, missing 'SGW1' identifier)");
  EXPECT_EQ(ErrorOf("hello, world"),
            "Envelope: not a seedgrid wire message (12 bytes, missing 'SGW1' identifier)");
  EXPECT_EQ(ErrorOf(std::string(kWireMessageBytesMax + 1, 'x')),
            "Envelope: message is 67108865 bytes; at most 67108864");
}

TEST(Codec, DecodesFromUnalignedBuffers) {
  const msg::Envelope e{"n1", msg::SyncRoot{"users", msg::MapKind::kOr, 3, 0xDEADBEEF}};
  const std::string bytes = EncodeMessage(e);
  std::string shifted = "x" + bytes;
  auto decoded = DecodeMessage(std::string_view(shifted).substr(1));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, e);
}

TEST(Codec, NegativeZeroAndNanKeepTheirBits) {
  const double nan = std::bit_cast<double>(uint64_t{0x7ff8dead0000beefULL});
  msg::OpBatch batch{1, "m", {}, {}};
  batch.lww.push_back({"k", LwwRecord{Document{{"z", -0.0}, {"n", nan}}, {5, 1, "n1"}, {}}});
  const msg::Envelope e{"n1", batch};
  auto decoded = DecodeMessage(EncodeMessage(e));
  ASSERT_TRUE(decoded.ok());
  const Document& doc = *std::get<msg::OpBatch>(decoded->body).lww[0].record.value;
  EXPECT_EQ(std::bit_cast<uint64_t>(doc.Get("z")->double_value()), 0x8000000000000000ULL);
  EXPECT_EQ(std::bit_cast<uint64_t>(doc.Get("n")->double_value()), 0x7ff8dead0000beefULL);
  EXPECT_EQ(*decoded, e);
}

TEST(Codec, TombstonesAndTtlsSurvive) {
  msg::OpBatch batch{42, "m", {}, {}};
  batch.lww.push_back({"dead", LwwRecord{std::nullopt, {5, 1, "n1"}, std::nullopt}});
  batch.lww.push_back({"ttl", LwwRecord{Document{{"x", int64_t{1}}}, {5, 2, "n1"}, 0}});
  const msg::Envelope e{"n1", batch};
  auto decoded = DecodeMessage(EncodeMessage(e));
  ASSERT_TRUE(decoded.ok());
  const auto& got = std::get<msg::OpBatch>(decoded->body);
  EXPECT_TRUE(got.lww[0].record.tombstone());
  EXPECT_EQ(got.lww[1].record.ttl_ms, std::optional<uint64_t>(0));
  EXPECT_EQ(msg::BodyName(decoded->body), "OpBatch");
}

}  // namespace
}  // namespace seedgrid

namespace seedgrid {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The fuzz seeds were produced by `flatc -b seedgrid.fbs x.json` (FlatBuffers' own tooling), so
// decoding them checks interoperability with other FlatBuffers implementations.
TEST(Codec, DecodesBuffersMadeByFlatc) {
  const std::string dir = SEEDGRID_WIRE_CORPUS_DIR;
  auto a = DecodeMessage(ReadFile(dir + "/seed_a.sgw"));
  ASSERT_TRUE(a.ok()) << a.status();
  const auto& batch = std::get<msg::OpBatch>(a->body);
  EXPECT_EQ(batch.batch_id, 7u);
  ASSERT_EQ(batch.lww.size(), 2u);
  EXPECT_EQ(batch.lww[0].record.value->ToString(), R"({"age": 30, "tags": ["a", "b"]})");
  EXPECT_EQ(batch.lww[0].record.ttl_ms, std::optional<uint64_t>(5000));
  EXPECT_TRUE(batch.lww[1].record.tombstone());
  EXPECT_EQ(batch.or_entries[0].tombstones[0].ToString(), "4:0:n1");
  for (const char* name : {"seed_b.sgw", "seed_c.sgw", "seed_d.sgw"}) {
    auto decoded = DecodeMessage(ReadFile(dir + "/" + name));
    EXPECT_TRUE(decoded.ok()) << name << ": " << decoded.status();
  }
  EXPECT_EQ(std::get<msg::SyncInit>(DecodeMessage(ReadFile(dir + "/seed_d.sgw"))->body).root_hash,
            99u);
  // seed_e: version 5, a document in the packed form written by hand as a [ubyte] in flatc's JSON.
  auto e = DecodeMessage(ReadFile(dir + "/seed_e.sgw"));
  ASSERT_TRUE(e.ok()) << e.status();
  const auto& packed = std::get<msg::OpBatch>(e->body);
  ASSERT_EQ(packed.lww.size(), 2u);
  EXPECT_EQ(packed.lww[0].record.value->ToString(), R"({"age": 30, "tags": ["a", "b"]})");
  EXPECT_TRUE(packed.lww[1].record.tombstone());
  // seed_f: version 6, a map's LWW records packed (MapRecords.lww_packed) by hand in flatc's JSON.
  auto f = DecodeMessage(ReadFile(dir + "/seed_f.sgw"));
  ASSERT_TRUE(f.ok()) << f.status();
  const auto& state = std::get<msg::PartitionState>(f->body);
  ASSERT_EQ(state.maps.size(), 1u);
  ASSERT_EQ(state.maps[0].lww.size(), 2u);
  EXPECT_EQ(state.maps[0].lww[0].key, "k");
  EXPECT_EQ(state.maps[0].lww[0].record.value->ToString(), R"({"age": 30})");
  EXPECT_EQ(state.maps[0].lww[0].record.ts.ToString(), "1000:0:n1");
  EXPECT_TRUE(state.maps[0].lww[1].record.tombstone());
  EXPECT_EQ(state.maps[0].lww[1].record.ts.ToString(), "1001:2:n1");
}

// Only messages that carry counters are version 2: a build from before counters refuses them (it
// would read a counter op as a remove) and reads every other message as before.
TEST(Codec, OnlyMessagesCarryingCountersAreVersion2) {
  const auto version_of = [](msg::Body body) {
    const std::string bytes = EncodeMessage(msg::Envelope{"s1", std::move(body)});
    return fb::GetEnvelope(bytes.data())->protocol_version();
  };
  const msg::GridOp set{1, msg::WriteConcern::kApplied, "m", "k", Document{}, {1, 0, "c1"}};
  msg::GridOp incr{2, msg::WriteConcern::kApplied, "m", "n", std::nullopt, {2, 0, "c1"}, {}};
  incr.counter = PnTotals{3, 0};
  EXPECT_EQ(version_of(msg::GridOps{"c1", "", 0, {set}}), 1);
  EXPECT_EQ(version_of(msg::GridOps{"c1", "", 0, {set, incr}}), 2);
  const msg::MapRecords plain{"m", {}, {}};
  const msg::MapRecords counted{"m", {}, {msg::CounterEntry{"n", {{"c1", {3, 0}}}}}};
  const auto state = [](msg::MapRecords m) {
    return msg::PartitionState{0, 3, msg::StatePurpose::kClientLeaf, {std::move(m)}, {}};
  };
  EXPECT_EQ(version_of(state(plain)), 1);
  EXPECT_EQ(version_of(state(counted)), 2);
  EXPECT_EQ(version_of(msg::PartitionStates{{state(plain), state(counted)}}), 2);
  EXPECT_EQ(version_of(msg::HttpSyncRequest{"c1", 1, {incr}, {}, {}, ""}), 2);
  EXPECT_EQ(version_of(msg::HttpSyncRequest{"c1", 1, {set}, {}, {state(counted)}, ""}), 2);
  EXPECT_EQ(version_of(msg::HttpSyncRequest{"c1", 1, {set}, {}, {state(plain)}, ""}), 1);
  EXPECT_EQ(version_of(msg::QueryUpdate{1, 1, 0, 1, {3}, counted}), 2);
  EXPECT_EQ(version_of(msg::QueryUpdate{1, 1, 0, 1, {3}, plain}), 1);
  EXPECT_EQ(version_of(msg::HttpSyncResponse{1, 200, "", {}, {state(counted)}, ""}), 2);
  EXPECT_EQ(version_of(msg::HttpSyncResponse{1, 200, "", {}, {state(plain)}, ""}), 1);
  // Both decode here.
  const std::string v2 = EncodeMessage(msg::Envelope{"s1", msg::GridOps{"c1", "", 0, {incr}}});
  ASSERT_TRUE(DecodeMessage(v2).ok());
  EXPECT_EQ(std::get<msg::GridOps>(DecodeMessage(v2)->body).ops[0].counter, (PnTotals{3, 0}));
}

// Grid OR-Map fields make a message version 3 (a build with counters but without grid OR-Maps
// would read an OR add as a plain write); every other message keeps its version and its bytes.
TEST(Codec, GridOrMapMessagesAreVersion3AndBadOrOpsNameTheField) {
  const auto version_of = [](msg::Body body) {
    const std::string bytes = EncodeMessage(msg::Envelope{"s1", std::move(body)});
    return fb::GetEnvelope(bytes.data())->protocol_version();
  };
  msg::GridOp add{1, msg::WriteConcern::kApplied, "m", "k", Document{{"v", 1}}, {1, 0, "c1"}};
  add.or_kind = msg::OrOpKind::kAdd;
  msg::GridOp remove{2, msg::WriteConcern::kApplied, "m", "k", std::nullopt, {2, 0, "c1"}};
  remove.or_kind = msg::OrOpKind::kRemove;
  remove.or_tags = {OrOrigin("c1", 1), Timestamp{5, 0, "s1"}};
  msg::GridOp incr{3, msg::WriteConcern::kApplied, "m", "n", std::nullopt, {3, 0, "c1"}};
  incr.counter = PnTotals{1, 0};
  // The add's document is packed: version 5 (kWirePackedDocsVersion) outranks OR-Maps' 3.
  EXPECT_EQ(version_of(msg::GridOps{"c1", "", 0, {incr, add}}), 5);
  EXPECT_EQ(version_of(msg::GridOps{"c1", "", 0, {remove}}), 3);
  msg::MapRecords with_or{"m", {}, {}};
  with_or.or_keys.push_back(
      msg::OrKeyState{"k", {OrRecord{{4, 0, "s1"}, Document{}, {}, OrOrigin("c1", 1)}}, {}});
  const msg::PartitionState state{0, 5, msg::StatePurpose::kClientLeaf, {with_or}};
  EXPECT_EQ(version_of(state), 3);
  EXPECT_EQ(version_of(msg::PartitionStates{{state}}), 3);
  EXPECT_EQ(version_of(msg::HttpSyncRequest{"c1", 1, {add}, {}, {}, ""}), 5);
  EXPECT_EQ(version_of(msg::HttpSyncResponse{1, 200, "", {}, {state}, ""}), 3);
  // They decode here, origins and tags included, and hash into the partition digest.
  const auto decoded =
      DecodeMessage(EncodeMessage(msg::Envelope{"s1", msg::GridOps{"c1", "", 0, {add, remove}}}));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(std::get<msg::GridOps>(decoded->body).ops, (std::vector{add, remove}));
  const auto leaf = DecodeMessage(EncodeMessage(msg::Envelope{"s1", state}));
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  EXPECT_EQ(std::get<msg::PartitionState>(leaf->body), state);
  EXPECT_NE(msg::RecordsDigest(with_or), 0u);
  EXPECT_EQ(msg::RecordsDigest(with_or), OrEntryHash("k", msg::ToOrEntry(with_or.or_keys[0])));

  const auto error_of = [](const msg::GridOp& op) {
    return std::string(
        DecodeMessage(EncodeMessage(msg::Envelope{"s1", msg::GridOps{"c1", "", 0, {op}}}))
            .status()
            .message());
  };
  msg::GridOp bad = add;
  bad.value.reset();
  EXPECT_EQ(error_of(bad), "GridOps.ops[0].value: an OR add carries a value");
  bad = add;
  bad.or_tags = {Timestamp{5, 0, "s1"}};
  EXPECT_EQ(error_of(bad), "GridOps.ops[0].or_tags: only an OR remove carries tags");
  bad = add;
  bad.seq = uint64_t{1} << 33;
  EXPECT_EQ(error_of(bad), "GridOps.ops[0].seq: an OR add's seq must fit 32 bits");
  bad = remove;
  bad.or_tags.clear();
  EXPECT_EQ(error_of(bad), "GridOps.ops[0].or_tags: an OR remove names at least one tag");
  bad = remove;
  bad.value = Document{};
  EXPECT_EQ(error_of(bad), "GridOps.ops[0].value: an OR remove carries no value");
  bad = msg::GridOp{4, msg::WriteConcern::kApplied, "m", "k", Document{}, {4, 0, "c1"}};
  bad.or_tags = {Timestamp{5, 0, "s1"}};
  EXPECT_EQ(error_of(bad), "GridOps.ops[0].or_tags: only an OR remove carries tags");
  {
    flatbuffers::FlatBufferBuilder b;
    auto op = fb::CreateGridOp(b, 1, static_cast<fb::WriteConcern>(1), b.CreateString("m"),
                               b.CreateString("k"), 0,
                               fb::CreateTimestamp(b, 1, 0, b.CreateString("c1")), nullptr, 9);
    auto ops = b.CreateVector(std::vector<flatbuffers::Offset<fb::GridOp>>{op});
    auto m = fb::CreateGridOps(b, b.CreateString("c1"), 0, 0, ops);
    EXPECT_EQ(ErrorOf(Finish(b, fb::Body::GridOps, m.Union())),
              "GridOps.ops[0].or_kind: unknown OR op kind 9");
  }
}

TEST(Codec, BadGridMessagesNameTheField) {
  const auto error_of = [](msg::Body body) {
    return std::string(
        DecodeMessage(EncodeMessage(msg::Envelope{"s1", std::move(body)})).status().message());
  };
  EXPECT_EQ(error_of(msg::PartitionDigest{1, "m", {271}, {0}, false, ""}),
            "PartitionDigest.partitions[0]: partition 271 out of range 0..270");
  EXPECT_EQ(error_of(msg::PartitionDigest{1, "m", {0, 270, 271, 5}, {1, 2, 3, 4}, false, ""}),
            "PartitionDigest.partitions[2]: partition 271 out of range 0..270");
  EXPECT_EQ(error_of(msg::PartitionDigest{1, "m", {1, 2}, {0}, false, ""}),
            "PartitionDigest: 2 partitions but 1 hashes");
  EXPECT_EQ(
      error_of(msg::GridOps{
          "c1",
          "",
          0,
          {msg::GridOp{0, msg::WriteConcern::kApplied, "m", "k", std::nullopt, {1, 0, "c1"}}}}),
      "GridOps.ops[0].seq: seq must be at least 1");
  EXPECT_EQ(error_of(msg::PartitionState{1, 400, msg::StatePurpose::kReplicate, {}, {}}),
            "PartitionState.partition: partition 400 out of range 0..270");
  EXPECT_EQ(error_of(msg::PartitionStates{}),
            "PartitionStates.states: no states (a batch carries "
            "at least one)");
  EXPECT_EQ(error_of(msg::PartitionStates{
                {msg::PartitionState{1, 4, msg::StatePurpose::kClientLeaf, {}, {}},
                 msg::PartitionState{1, 271, msg::StatePurpose::kClientLeaf, {}, {}}}}),
            "PartitionStates.states[1].partition: partition 271 out of range 0..270");
  EXPECT_EQ(error_of(msg::QueryUpdate{1, 1, 2, 1, {3}, {"m", {}}}),
            "QueryUpdate.partitions: only a snapshot (seq 0) lists partitions");
  EXPECT_EQ(error_of(msg::QueryUpdate{1, 1, 0, 1, {300}, {"m", {}}}),
            "QueryUpdate.partitions[0]: partition 300 out of range 0..270");
  {
    flatbuffers::FlatBufferBuilder b;
    auto op = fb::CreateGridOp(b, 1, static_cast<fb::WriteConcern>(7), b.CreateString("m"),
                               b.CreateString("k"), 0,
                               fb::CreateTimestamp(b, 1, 0, b.CreateString("c1")));
    auto ops = b.CreateVector(std::vector<flatbuffers::Offset<fb::GridOp>>{op});
    auto m = fb::CreateGridOps(b, b.CreateString("c1"), 0, 0, ops);
    EXPECT_EQ(ErrorOf(Finish(b, fb::Body::GridOps, m.Union())),
              "GridOps.ops[0].concern: unknown write concern 7");
  }
  EXPECT_EQ(error_of(msg::GridOps{"c1",
                                  "",
                                  0,
                                  {msg::GridOp{1,
                                               msg::WriteConcern::kApplied,
                                               "m",
                                               "k",
                                               Document{},
                                               {1, 0, "c1"},
                                               PnTotals{1, 0}}}}),
            "GridOps.ops[0].value: a counter op carries no value");
  for (const char* second : {"c1", "a:b"}) {
    flatbuffers::FlatBufferBuilder b;
    std::vector<flatbuffers::Offset<fb::PnEntry>> entries = {
        fb::CreatePnEntry(b, b.CreateString("c1"), 1, 0),
        fb::CreatePnEntry(b, b.CreateString(second), 2, 0)};
    auto entries_offset = b.CreateVector(entries);
    auto counter = fb::CreateCounterState(b, b.CreateString("k"), entries_offset);
    auto counters = b.CreateVector(std::vector<flatbuffers::Offset<fb::CounterState>>{counter});
    auto map = fb::CreateMapRecords(b, b.CreateString("m"), 0, counters);
    auto maps = b.CreateVector(std::vector<flatbuffers::Offset<fb::MapRecords>>{map});
    auto m = fb::CreatePartitionState(b, 1, 4, fb::StatePurpose::Replicate, maps);
    EXPECT_EQ(ErrorOf(Finish(b, fb::Body::PartitionState, m.Union())),
              std::string("PartitionState.maps[0].counters[0].entries[1].node_id: ") +
                  (second == std::string("c1") ? "node 'c1' appears twice"
                                               : "node id 'a:b' contains ':'"));
  }
  {
    flatbuffers::FlatBufferBuilder b;
    auto members = b.CreateVector(std::vector<flatbuffers::Offset<flatbuffers::String>>{
        b.CreateString("s0"), b.CreateString("a:b")});
    auto m = fb::CreateHeartbeat(b, 1, 0, members);
    EXPECT_EQ(ErrorOf(Finish(b, fb::Body::Heartbeat, m.Union())),
              "Heartbeat.members[1]: node id 'a:b' contains ':'");
  }
}

TEST(Codec, BadHttpSyncMessagesNameTheField) {
  const auto error_of = [](msg::Body body) {
    return std::string(
        DecodeMessage(EncodeMessage(msg::Envelope{"s1", std::move(body)})).status().message());
  };
  msg::HttpSyncRequest marks{"c1", 1, {}, {msg::MapMarks{"m", {1, 2}, {5}}}, {}, ""};
  EXPECT_EQ(error_of(marks), "HttpSyncRequest.marks[0]: 2 partitions but 1 digests");
  marks.marks[0] = msg::MapMarks{"m", {271}, {5}};
  EXPECT_EQ(error_of(marks),
            "HttpSyncRequest.marks[0].partitions[0]: partition 271 out of range 0..270");
  const msg::HttpSyncRequest repair{
      "c1", 1, {}, {}, {msg::PartitionState{0, 1, msg::StatePurpose::kReplicate, {}, {}}}, ""};
  EXPECT_EQ(error_of(repair), "HttpSyncRequest.repairs[0].purpose: purpose 0 where only 5 belongs");
  const msg::HttpSyncRequest op{
      "c1", 1,  {msg::GridOp{0, msg::WriteConcern::kApplied, "m", "k", std::nullopt, {1, 0, "c1"}}},
      {},   {}, ""};
  EXPECT_EQ(error_of(op), "HttpSyncRequest.ops[0].seq: seq must be at least 1");
  const msg::HttpSyncResponse leaf{
      1, 200, "", {}, {msg::PartitionState{0, 1, msg::StatePurpose::kClientRepair, {}, {}}}, ""};
  EXPECT_EQ(error_of(leaf), "HttpSyncResponse.leaves[0].purpose: purpose 5 where only 4 belongs");
}

}  // namespace
}  // namespace seedgrid
