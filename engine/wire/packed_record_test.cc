// Record pages (packed_record.h): round trips, canonical bytes, every torn prefix refused, errors
// that name the byte, and pages of older builds (whole messages) told apart by their first byte.
#include "engine/wire/packed_record.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <bit>
#include <string>
#include <vector>

#include "engine/wire/codec.h"

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

// Any bytes that decode re-encode to themselves: a record has one page.
RC_GTEST_PROP(RecordPage, DecodedBytesAreCanonical, ()) {
  std::string page = PageOf(*GenStoredRecord());
  const auto flips = *rc::gen::inRange<int>(1, 4);
  for (int i = 0; i < flips; ++i) {
    page[*rc::gen::inRange<size_t>(0, page.size())] =
        static_cast<char>(*rc::gen::arbitrary<uint8_t>());
  }
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
  EXPECT_EQ(error(Bytes("r\x00")), "record page: the map name is 0 bytes; 1..1024 allowed");
  EXPECT_EQ(error(Bytes("r\x01m\x05k")), "record page: byte 4: 5 bytes announced, 1 left");
  EXPECT_EQ(error(head), "record page: byte 5: truncated: the flags byte is missing");
  EXPECT_EQ(error(head + Bytes("\x08") + ts), "record page: byte 6: bad flags 0x08");
  EXPECT_EQ(error(head + Bytes("\x04") + ts), "record page: byte 6: bad flags 0x04");
  EXPECT_EQ(error(head + Bytes("\x01\x01\x00")), "record page: byte 6: truncated 8-byte number");
  EXPECT_EQ(error(head + Bytes("\x01") + ts.substr(0, 12) + Bytes("\x01:")),
            "record page: node id: node id ':' contains ':'");
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

}  // namespace
}  // namespace seedgrid
