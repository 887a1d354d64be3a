// The packed document form (packed_doc.h): round trips, canonical bytes, and errors that name the
// byte for every kind of bad input; through the codec, the wire version and the both-forms error.
#include "engine/wire/packed_doc.h"

#include <flatbuffers/flatbuffers.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <bit>
#include <string>
#include <vector>

#include "engine/wire/codec.h"
#include "engine/wire/seedgrid_generated.h"

namespace seedgrid::wire_codec {
namespace {

using ::testing::HasSubstr;

rc::Gen<Value> GenAnyValue() {
  return rc::gen::oneOf(
      rc::gen::just(Value(std::monostate{})),
      rc::gen::map(rc::gen::arbitrary<bool>(), [](bool b) { return Value(b); }),
      rc::gen::map(rc::gen::arbitrary<int64_t>(), [](int64_t i) { return Value(i); }),
      // Any bit pattern: NaN payloads and the sign of zero must survive.
      rc::gen::map(rc::gen::arbitrary<uint64_t>(),
                   [](uint64_t bits) { return Value(std::bit_cast<double>(bits)); }),
      rc::gen::map(rc::gen::arbitrary<std::string>(), [](std::string s) { return Value(s); }),
      rc::gen::map(rc::gen::container<StringList>(rc::gen::arbitrary<std::string>()),
                   [](StringList l) { return Value(std::move(l)); }));
}

rc::Gen<Document> GenAnyDocument() {
  return rc::gen::exec([] {
    std::vector<Document::Field> fields;
    const auto names = *rc::gen::container<std::vector<std::string>>(
        rc::gen::oneOf(rc::gen::arbitrary<std::string>(),
                       rc::gen::element<std::string>("", "a", "ab", "b", std::string(200, 'n'))));
    for (const std::string& name : names) fields.emplace_back(FieldName(name), *GenAnyValue());
    return Document(std::move(fields));  // later duplicates replace earlier ones
  });
}

const auto kNoBudget = [](size_t) { return true; };

std::string Packed(const Document& doc) {
  std::string out;
  PackDocument(doc, out);
  return out;
}

absl::Status Unpack(std::string_view bytes, Document& out) {
  return UnpackDocument(bytes, kNoBudget, out);
}

RC_GTEST_PROP(PackedDoc, RoundTripsAnyDocument, ()) {
  const Document doc = *GenAnyDocument();
  RC_PRE(!doc.empty());
  Document back;
  RC_ASSERT(Unpack(Packed(doc), back).ok());
  RC_ASSERT(back == doc);
}

// Accepts exactly what PackDocument writes: any bytes that decode re-pack to themselves, so a
// document has one packed form (trace hashes and digests depend on message bytes).
RC_GTEST_PROP(PackedDoc, DecodedBytesAreCanonical, ()) {
  const Document original = *GenAnyDocument();
  RC_PRE(!original.empty());
  std::string bytes = Packed(original);
  const auto flips = *rc::gen::inRange<int>(0, 4);
  for (int i = 0; i < flips && !bytes.empty(); ++i) {
    const size_t at = *rc::gen::inRange<size_t>(0, bytes.size());
    bytes[at] = static_cast<char>(*rc::gen::arbitrary<uint8_t>());
  }
  Document doc;
  const absl::Status s = Unpack(bytes, doc);
  if (s.ok()) {
    RC_ASSERT(Packed(doc) == bytes);
  } else {
    RC_ASSERT(absl::IsInvalidArgument(s));
    RC_ASSERT(std::string(s.message()).starts_with("byte "));
  }
}

RC_GTEST_PROP(PackedDoc, EveryTruncationIsAnError, ()) {
  const Document doc = *GenAnyDocument();
  RC_PRE(!doc.empty());
  const std::string bytes = Packed(doc);
  for (size_t n = 0; n < bytes.size(); ++n) {
    Document out;
    RC_ASSERT(absl::IsInvalidArgument(Unpack(std::string_view(bytes).substr(0, n), out)));
  }
}

// The bytes of a literal, embedded zeros included.
template <size_t N>
std::string B(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

TEST(PackedDoc, BadBytesNameTheByteAndTheFault) {
  Document out;
  const auto error = [&](const std::string& bytes) {
    return std::string(Unpack(bytes, out).message());
  };
  EXPECT_EQ(error(""), "byte 0: truncated varint");
  EXPECT_EQ(error(B("\x00")), "byte 0: a packed document has no fields");
  EXPECT_EQ(error(B("\x05\x01"
                    "a\x00")),
            "byte 0: 5 fields announced, but 3 bytes can hold at most 1");
  EXPECT_EQ(error(B("\x02\x01"
                    "b\x00\x01"
                    "a\x00")),
            "byte 4: field name 'a' is not after 'b' (fields must be sorted and unique)");
  EXPECT_EQ(error(B("\x02\x01"
                    "a\x00\x01"
                    "a\x00")),
            "byte 4: field name 'a' is not after 'a' (fields must be sorted and unique)");
  EXPECT_EQ(error(B("\x01\x01"
                    "a\x09")),
            "byte 3: unknown value type 9 of field 'a'");
  EXPECT_EQ(error(B("\x01\x01"
                    "a\x03\x01\x02")),
            "byte 4: truncated 8-byte number");
  EXPECT_EQ(error(B("\x01\x01"
                    "a\x05\x07"
                    "xy")),
            "byte 5: 7 bytes announced, 2 left");
  EXPECT_EQ(error(B("\x01\x01"
                    "a\x00\x00")),
            "byte 4: 1 trailing bytes after the document's 1 fields");
  EXPECT_EQ(error(B("\x80\x00")), "byte 2: non-minimal varint");
  EXPECT_EQ(error(B("\xff\xff\xff\xff\x7f")), "byte 5: varint exceeds 32 bits");
  EXPECT_EQ(error(B("\x01\x01"
                    "a\x06\xff\x01")),
            "byte 6: 255 list items announced, 0 bytes left");
}

TEST(PackedDoc, TheBudgetStopsDecoding) {
  const std::string bytes = Packed(Document{{"a", std::string(100, 'x')}});
  size_t charged = 0;
  Document out;
  const absl::Status s = UnpackDocument(
      bytes, [&](size_t n) { return (charged += n) <= 50; }, out);
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  EXPECT_TRUE(out.empty());
}

// Through the codec: documents travel packed, in version-5 envelopes; an empty document keeps the
// bytes of version 1; a document with both forms is refused with the field's path.
TEST(PackedDoc, TheCodecWritesPackedDocumentsAsVersion5) {
  const auto version_of = [](const msg::Body& body) {
    const std::string bytes = EncodeMessage(msg::Envelope{"s1", body});
    return wire::GetEnvelope(bytes.data())->protocol_version();
  };
  const msg::GridOp set{1, msg::WriteConcern::kApplied, "m", "k", Document{{"v", 1}}, {1, 0, "c1"}};
  const msg::GridOp empty{2, msg::WriteConcern::kApplied, "m", "k", Document{}, {2, 0, "c1"}};
  EXPECT_EQ(version_of(msg::GridOps{"c1", "", 0, {set}}), kWirePackedDocsVersion);
  EXPECT_EQ(version_of(msg::GridOps{"c1", "", 0, {empty}}), kWireProtocolVersion);
  const auto back =
      DecodeMessage(EncodeMessage(msg::Envelope{"s1", msg::GridOps{"c1", "", 0, {set, empty}}}));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(std::get<msg::GridOps>(back->body).ops, (std::vector<msg::GridOp>{set, empty}));
}

TEST(PackedDoc, ADocumentWithBothFormsIsRefused) {
  flatbuffers::FlatBufferBuilder b;
  auto field = wire::CreateField(b, b.CreateString("a"), wire::Value::NullValue,
                                 wire::CreateNullValue(b).Union());
  const std::string packed = Packed(Document{{"a", 1}});
  auto doc = wire::CreateDocument(
      b, b.CreateVector(std::vector{field}),
      b.CreateVector(reinterpret_cast<const uint8_t*>(packed.data()), packed.size()));
  auto record = wire::CreateLwwRecord(b, b.CreateString("k"),
                                      wire::CreateTimestamp(b, 1, 0, b.CreateString("n")), doc);
  auto map = wire::CreateMapRecords(b, b.CreateString("m"), b.CreateVector(std::vector{record}));
  auto state = wire::CreatePartitionState(b, 0, 3, wire::StatePurpose::ClientLeaf,
                                          b.CreateVector(std::vector{map}));
  auto envelope = wire::CreateEnvelope(b, kWirePackedDocsVersion, b.CreateString("s1"),
                                       wire::Body::PartitionState, state.Union());
  b.Finish(envelope, wire::EnvelopeIdentifier());
  const auto decoded = DecodeMessage(
      std::string_view(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize()));
  ASSERT_FALSE(decoded.ok());
  EXPECT_THAT(decoded.status().message(),
              HasSubstr("maps[0].lww[0].value: both fields and packed are set"));
}

}  // namespace
}  // namespace seedgrid::wire_codec
