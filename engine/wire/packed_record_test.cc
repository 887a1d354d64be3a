// Record pages (packed_record.h): round trips, canonical bytes, every torn prefix refused, errors
// that name the byte, and pages of older builds (whole messages) told apart by their first byte.
#include "engine/wire/packed_record.h"

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

namespace seedgrid {
namespace {

using ::testing::HasSubstr;

rc::Gen<Document> GenPageDocument() {
  return rc::gen::exec([] {
    std::vector<Document::Field> fields;
    const auto n = *rc::gen::inRange(0, 4);
    for (int i = 0; i < n; ++i) {
      const auto name = *rc::gen::element<std::string>("", "a", "city", "n", std::string(130, 'x'));
      const auto value = *rc::gen::oneOf(
          rc::gen::just(Value(std::monostate{})),
          rc::gen::map(rc::gen::arbitrary<int64_t>(), [](int64_t v) { return Value(v); }),
          rc::gen::map(rc::gen::arbitrary<uint64_t>(),
                       [](uint64_t bits) { return Value(std::bit_cast<double>(bits)); }),
          rc::gen::map(rc::gen::arbitrary<std::string>(), [](std::string s) { return Value(s); }),
          rc::gen::map(rc::gen::container<StringList>(rc::gen::arbitrary<std::string>()),
                       [](StringList l) { return Value(std::move(l)); }));
      fields.emplace_back(FieldName(name), value);
    }
    return Document(std::move(fields));
  });
}

rc::Gen<StoredRecord> GenStoredRecord() {
  return rc::gen::exec([] {
    StoredRecord r;
    r.map = *rc::gen::element<std::string>("m", "users", std::string(1024, 'q'));
    r.key = *rc::gen::arbitrary<std::string>();
    r.record.ts.millis = *rc::gen::arbitrary<uint64_t>();
    r.record.ts.counter = *rc::gen::arbitrary<uint32_t>();
    r.record.ts.node_id = *rc::gen::element<std::string>("n0", "c417", std::string(64, 'z'));
    if (*rc::gen::arbitrary<bool>()) r.record.value = *GenPageDocument();
    if (*rc::gen::arbitrary<bool>()) r.record.ttl_ms = *rc::gen::arbitrary<uint64_t>();
    return r;
  });
}

std::string PageOf(const StoredRecord& r) { return EncodeRecordPage(r.map, r.key, r.record); }

RC_GTEST_PROP(RecordPage, RoundTripsAnyRecord, ()) {
  const StoredRecord r = *GenStoredRecord();
  const absl::StatusOr<StoredRecord> back = DecodeRecordPage(PageOf(r));
  RC_ASSERT(back.ok());
  RC_ASSERT(back->map == r.map);
  RC_ASSERT(back->key == r.key);
  RC_ASSERT(back->record == r.record);
}

// A torn write leaves a prefix of the page (sim/sim_storage.h): none may pass for a record.
RC_GTEST_PROP(RecordPage, EveryStrictPrefixIsRefused, ()) {
  const std::string page = PageOf(*GenStoredRecord());
  for (size_t n = 0; n < page.size(); ++n) {
    RC_ASSERT(!DecodeRecordPage(std::string_view(page).substr(0, n)).ok());
  }
}

// One to three bytes of `bytes` set to arbitrary values (REQUIRES: not empty).
void FlipSomeBytes(std::string& bytes) {
  const auto flips = *rc::gen::inRange<int>(1, 4);
  for (int i = 0; i < flips; ++i) {
    bytes[*rc::gen::inRange<size_t>(0, bytes.size())] =
        static_cast<char>(*rc::gen::arbitrary<uint8_t>());
  }
}

// Any bytes that decode re-encode to themselves: a record has one page.
RC_GTEST_PROP(RecordPage, DecodedBytesAreCanonical, ()) {
  std::string page = PageOf(*GenStoredRecord());
  FlipSomeBytes(page);
  const absl::StatusOr<StoredRecord> back = DecodeRecordPage(page);
  if (back.ok()) {
    RC_ASSERT(PageOf(*back) == page);
  } else {
    RC_ASSERT(absl::IsInvalidArgument(back.status()));
    RC_ASSERT(std::string(back.status().message()).starts_with("record page: "));
  }
}

// The pages of older builds are whole messages; their first byte (the root table's offset, 4-byte
// aligned) is never the packed page's 'r'.
RC_GTEST_PROP(RecordPage, OlderPagesAreNeverTakenForPackedOnes, ()) {
  const StoredRecord r = *GenStoredRecord();
  const msg::PartitionState one{0,
                                7,
                                msg::StatePurpose::kHandoff,
                                {msg::MapRecords{r.map, {msg::LwwEntry{r.key, r.record}}}},
                                {}};
  const std::string old = EncodeMessage(msg::Envelope{"n1", one});
  RC_ASSERT(!IsPackedRecordPage(old));
  RC_ASSERT(static_cast<uint8_t>(old[0]) % 4 == 0);
}

template <size_t N>
std::string Bytes(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

TEST(RecordPage, BadBytesNameTheByteAndTheFault) {
  const auto error = [](const std::string& bytes) {
    return std::string(DecodeRecordPage(bytes).status().message());
  };
  // 'r', map "m", key "k", flags, millis 8, counter 4, node "n", then what the flags announce.
  const std::string head = Bytes("r\x01m\x01k");
  const std::string ts = Bytes("\x01\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x01n");
  ASSERT_TRUE(DecodeRecordPage(head + Bytes("\x01") + ts).ok());  // an empty document
  EXPECT_EQ(error(""), "record page: byte 0: not a packed record page");
  EXPECT_EQ(error(Bytes("r\x00")), "record page: byte 1: the map name is 0 bytes; 1..1024 allowed");
  EXPECT_EQ(error(Bytes("r\x01m\x05k")), "record page: byte 4: 5 bytes announced, 1 left");
  EXPECT_EQ(error(head), "record page: byte 5: truncated: the flags byte is missing");
  EXPECT_EQ(error(head + Bytes("\x08") + ts), "record page: byte 5: bad flags 0x08");
  EXPECT_EQ(error(head + Bytes("\x04") + ts), "record page: byte 5: bad flags 0x04");
  EXPECT_EQ(error(head + Bytes("\x01\x01\x00")), "record page: byte 6: truncated 8-byte number");
  EXPECT_EQ(error(head + Bytes("\x01") + ts.substr(0, 12) + Bytes("\x01:")),
            "record page: byte 19: node id: node id ':' contains ':'");
  EXPECT_EQ(error(head + Bytes("\x03") + ts), "record page: byte 20: truncated 8-byte number");
  EXPECT_EQ(error(head + Bytes("\x05") + ts + Bytes("\x02\x00\x00")),
            "record page: the document at byte 21: byte 0: a packed document has no fields");
  EXPECT_EQ(error(head + Bytes("\x01") + ts + Bytes("\x00")),
            "record page: byte 20: 1 trailing bytes");
  EXPECT_THAT(error(head + Bytes("\x01") + Bytes("\x01\x00")),
              HasSubstr("truncated 8-byte number"));
}

TEST(RecordPage, TombstonesEmptyDocumentsAndTtlsAreDistinct) {
  LwwRecord tombstone{std::nullopt, {5, 1, "n1"}, std::nullopt};
  LwwRecord empty{Document{}, {5, 1, "n1"}, std::nullopt};
  LwwRecord ttl{Document{{"a", 1}}, {5, 1, "n1"}, 30};
  std::vector<std::string> pages;
  for (const LwwRecord* r : {&tombstone, &empty, &ttl}) {
    pages.push_back(EncodeRecordPage("m", "k", *r));
    const absl::StatusOr<StoredRecord> back = DecodeRecordPage(pages.back());
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->record, *r);
  }
  EXPECT_NE(pages[0], pages[1]);
}

// ---- MapRecords.lww_packed: lists of records in messages (wire version 6).

rc::Gen<std::vector<msg::LwwEntry>> GenEntries() {
  return rc::gen::exec([] {
    std::vector<msg::LwwEntry> entries;
    const auto n = *rc::gen::inRange(1, 5);
    for (int i = 0; i < n; ++i) {
      const StoredRecord r = *GenStoredRecord();
      entries.push_back({r.key, r.record});
    }
    return entries;
  });
}

std::string PackedList(const std::vector<msg::LwwEntry>& entries) {
  std::string out;
  wire_codec::PackLwwEntries(entries, out);
  return out;
}

absl::Status UnpackList(std::string_view bytes, std::vector<msg::LwwEntry>& out) {
  return wire_codec::UnpackLwwEntries(
      bytes, [](size_t) { return true; }, out);
}

RC_GTEST_PROP(PackedRecords, ListsRoundTripAndEveryTruncationIsAnError, ()) {
  const std::vector<msg::LwwEntry> entries = *GenEntries();
  const std::string bytes = PackedList(entries);
  std::vector<msg::LwwEntry> back;
  RC_ASSERT(UnpackList(bytes, back).ok());
  RC_ASSERT(back == entries);
  for (size_t n = 0; n < bytes.size(); ++n) {
    RC_ASSERT(absl::IsInvalidArgument(UnpackList(std::string_view(bytes).substr(0, n), back)));
  }
}

RC_GTEST_PROP(PackedRecords, DecodedListsAreCanonical, ()) {
  std::string bytes = PackedList(*GenEntries());
  FlipSomeBytes(bytes);
  std::vector<msg::LwwEntry> back;
  const absl::Status s = UnpackList(bytes, back);
  if (s.ok()) {
    RC_ASSERT(PackedList(back) == bytes);
  } else {
    RC_ASSERT(absl::IsInvalidArgument(s));
    RC_ASSERT(std::string(s.message()).starts_with("byte ") ||
              std::string(s.message()).starts_with("the document at byte "));
  }
}

TEST(PackedRecords, BadListsNameTheByteAndTheFault) {
  std::vector<msg::LwwEntry> out;
  const auto error = [&](const std::string& bytes) {
    return std::string(UnpackList(bytes, out).message());
  };
  const std::string one = PackedList({{"k", LwwRecord{std::nullopt, {1, 2, "n"}, std::nullopt}}});
  ASSERT_TRUE(UnpackList(one, out).ok());
  EXPECT_EQ(error(""), "byte 0: truncated varint");
  EXPECT_EQ(error(Bytes("\x00")), "byte 0: a packed record list is not empty");
  EXPECT_EQ(error(Bytes("\x02") + one.substr(1)),
            "byte 0: 2 records announced, but 17 bytes can hold at most 1");
  EXPECT_EQ(error(one + Bytes("\x00")), "byte 18: 1 trailing bytes after 1 records");
  std::string two = Bytes("\x02") + one.substr(1) + one.substr(1);
  ASSERT_TRUE(UnpackList(two, out).ok());
  two[20] = 0x10;  // the second record's flags
  EXPECT_EQ(error(two), "byte 20: bad flags 0x10");
}

TEST(PackedRecords, TheBudgetStopsDecodingBeforeItAllocates) {
  const std::string bytes =
      PackedList({{"k", LwwRecord{Document{{"a", std::string(100, 'x')}}, {1, 2, "n"}, 7}}});
  std::vector<msg::LwwEntry> out;
  size_t charged = 0;
  const absl::Status s = wire_codec::UnpackLwwEntries(
      bytes, [&](size_t n) { return (charged += n) <= bytes.size(); }, out);
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  EXPECT_TRUE(out.empty());
}

// Through the codec: records travel packed in version-6 envelopes; a map without records keeps
// its bytes; a map with both forms is refused with its path.
TEST(PackedRecords, TheCodecWritesPackedRecordsAsVersion6) {
  const auto version_of = [](const msg::Body& body) {
    const std::string bytes = EncodeMessage(msg::Envelope{"s1", body});
    return wire::GetEnvelope(bytes.data())->protocol_version();
  };
  const LwwRecord tombstone{std::nullopt, {1, 2, "n"}, std::nullopt};
  const msg::PartitionState with{
      0, 3, msg::StatePurpose::kHandoff, {msg::MapRecords{"m", {{"k", tombstone}}}}, {}};
  const msg::PartitionState without{0, 3, msg::StatePurpose::kHandoff, {msg::MapRecords{"m"}}, {}};
  EXPECT_EQ(version_of(with), kWirePackedRecordsVersion);
  EXPECT_EQ(version_of(without), kWireProtocolVersion);
  const auto back = DecodeMessage(EncodeMessage(msg::Envelope{"s1", with}));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(std::get<msg::PartitionState>(back->body), with);
}

TEST(PackedRecords, AMapWithBothFormsOrBadPackedBytesIsRefusedByPath) {
  const auto state_with = [](bool table_form, std::string_view packed) {
    flatbuffers::FlatBufferBuilder b;
    auto name = b.CreateString("m");
    auto lww = table_form ? b.CreateVector(std::vector<flatbuffers::Offset<wire::LwwRecord>>{}) : 0;
    auto bytes = b.CreateVector(reinterpret_cast<const uint8_t*>(packed.data()), packed.size());
    auto map = wire::CreateMapRecords(b, name, lww, 0, 0, bytes);
    auto maps = b.CreateVector(std::vector{map});
    auto state = wire::CreatePartitionState(b, 0, 3, wire::StatePurpose::Handoff, maps);
    auto sender = b.CreateString("s1");
    auto envelope = wire::CreateEnvelope(b, kWirePackedRecordsVersion, sender,
                                         wire::Body::PartitionState, state.Union());
    b.Finish(envelope, wire::EnvelopeIdentifier());
    return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
  };
  const std::string one = PackedList({{"k", LwwRecord{std::nullopt, {1, 2, "n"}, std::nullopt}}});
  ASSERT_TRUE(DecodeMessage(state_with(false, one)).ok());
  EXPECT_THAT(std::string(DecodeMessage(state_with(true, one)).status().message()),
              HasSubstr("PartitionState.maps[0]: both lww and lww_packed are set"));
  EXPECT_THAT(
      std::string(DecodeMessage(state_with(false, one.substr(0, 5))).status().message()),
      HasSubstr("PartitionState.maps[0].lww_packed: byte 0: 1 records announced, but 4 bytes "
                "can hold at most 0"));
}

}  // namespace
}  // namespace seedgrid
