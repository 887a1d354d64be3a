#include "engine/net/sync_json.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <bit>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/cluster/partition.h"
#include "engine/cluster/record_digest.h"
#include "engine/crdt/lww_map.h"

namespace seedgrid::net {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

// ---- Generators: only what JSON carries exactly (valid UTF-8, finite doubles).

rc::Gen<std::string> GenText() {
  return rc::gen::map(
      rc::gen::resize(8, rc::gen::container<std::vector<std::string>>(rc::gen::element<std::string>(
                             "a", "Z", "0", " ", "-", "é", "日本", "\"", "\\", "\n", "\x01",
                             "\xf0\x9f\x98\x80", ":"))),
      [](const std::vector<std::string>& parts) {
        std::string s;
        for (size_t i = 0; i < parts.size() && i < 8; ++i) s += parts[i];
        return s;
      });
}

rc::Gen<std::string> GenNode() {
  return rc::gen::element<std::string>("phone-7", "s1", "c", "node.b_2", "nœud", "x");
}

rc::Gen<std::string> GenMapName() {
  return rc::gen::element<std::string>("users", "m", "carts.eu", "名前");
}

rc::Gen<Timestamp> GenTs() {
  return rc::gen::apply(
      [](uint64_t millis, uint32_t counter, std::string node) {
        return Timestamp{millis, counter, std::move(node)};
      },
      rc::gen::arbitrary<uint64_t>(), rc::gen::arbitrary<uint32_t>(), GenNode());
}

rc::Gen<Value> GenValue() {
  return rc::gen::oneOf(
      rc::gen::just(Value(std::monostate{})),
      rc::gen::map(rc::gen::arbitrary<bool>(), [](bool b) { return Value(b); }),
      rc::gen::map(rc::gen::arbitrary<int64_t>(), [](int64_t i) { return Value(i); }),
      rc::gen::map(rc::gen::suchThat(
                       rc::gen::arbitrary<uint64_t>(),
                       [](uint64_t bits) { return std::isfinite(std::bit_cast<double>(bits)); }),
                   [](uint64_t bits) { return Value(std::bit_cast<double>(bits)); }),
      rc::gen::map(rc::gen::element(0.0, -0.0, 1.0, 2.5, 1e300, 5e-324),
                   [](double d) { return Value(d); }),
      rc::gen::map(GenText(), [](std::string s) { return Value(std::move(s)); }),
      rc::gen::map(rc::gen::resize(3, rc::gen::container<StringList>(GenText())),
                   [](StringList l) { return Value(std::move(l)); }));
}

rc::Gen<Document> GenDoc() {
  return rc::gen::map(
      rc::gen::resize(5, rc::gen::container<std::vector<std::pair<std::string, Value>>>(
                             rc::gen::pair(GenText(), GenValue()))),
      [](std::vector<std::pair<std::string, Value>> fields) {
        Document d;
        for (auto& [name, v] : fields) d.Set(std::move(name), std::move(v));
        return d;
      });
}

template <typename T>
rc::Gen<std::optional<T>> GenOptional(rc::Gen<T> gen) {
  return rc::gen::oneOf(rc::gen::just(std::optional<T>()),
                        rc::gen::map(std::move(gen), [](T v) { return std::optional<T>(v); }));
}

// Keys by partition, so that generated records sit in their entry's partition.
const std::vector<std::vector<std::string>>& KeysByPartition() {
  static const auto* keys = [] {
    auto* k = new std::vector<std::vector<std::string>>(kPartitionCount);
    for (int i = 0; i < 20'000; ++i) {
      for (std::string key : {"k" + std::to_string(i), "ключ-" + std::to_string(i)}) {
        (*k)[PartitionOf(key)].push_back(key);
      }
    }
    return k;
  }();
  return *keys;
}

rc::Gen<uint32_t> GenPartition() { return rc::gen::inRange<uint32_t>(0, kPartitionCount); }

rc::Gen<msg::LwwEntry> GenRecord(uint32_t partition) {
  return rc::gen::apply(
      [](std::string key, std::optional<Document> value, Timestamp ts,
         std::optional<uint64_t> ttl) {
        return msg::LwwEntry{std::move(key), LwwRecord{std::move(value), std::move(ts), ttl}};
      },
      rc::gen::elementOf(KeysByPartition()[partition]), GenOptional(GenDoc()), GenTs(),
      GenOptional(rc::gen::arbitrary<uint64_t>()));
}

rc::Gen<PnTotals> GenTotals() {
  return rc::gen::apply(
      [](uint64_t p, uint64_t n) {
        return PnTotals{p, n};
      },
      rc::gen::arbitrary<uint64_t>(), rc::gen::arbitrary<uint64_t>());
}

rc::Gen<msg::CounterEntry> GenCounter(uint32_t partition) {
  return rc::gen::apply(
      [](std::string key, std::vector<std::pair<std::string, PnTotals>> entries) {
        msg::CounterEntry c{std::move(key), {}};
        for (auto& [node, totals] : entries) c.state[node] = totals;
        return c;
      },
      rc::gen::elementOf(KeysByPartition()[partition]),
      rc::gen::resize(3, rc::gen::container<std::vector<std::pair<std::string, PnTotals>>>(
                             rc::gen::pair(GenNode(), GenTotals()))));
}

rc::Gen<OrRecord> GenOrItem() {
  return rc::gen::apply(
      [](Timestamp tag, Document value, std::optional<uint64_t> ttl,
         std::optional<Timestamp> origin) {
        if (origin) origin->millis = 0;  // An origin is OrOrigin(client, seq).
        return OrRecord{std::move(tag), std::move(value), ttl, std::move(origin)};
      },
      GenTs(), GenDoc(), GenOptional(rc::gen::arbitrary<uint64_t>()), GenOptional(GenTs()));
}

rc::Gen<msg::OrKeyState> GenOrKey(uint32_t partition) {
  return rc::gen::apply(
      [](std::string key, std::vector<OrRecord> items, std::vector<Timestamp> tombstones) {
        return msg::OrKeyState{std::move(key), std::move(items), std::move(tombstones)};
      },
      rc::gen::elementOf(KeysByPartition()[partition]),
      rc::gen::resize(2, rc::gen::container<std::vector<OrRecord>>(GenOrItem())),
      rc::gen::resize(2, rc::gen::container<std::vector<Timestamp>>(GenTs())));
}

rc::Gen<msg::PartitionState> GenState(msg::StatePurpose purpose, bool with_map) {
  return rc::gen::mapcat(GenPartition(), [purpose, with_map](uint32_t p) {
    return rc::gen::apply(
        [p, purpose, with_map](std::string map, std::vector<msg::LwwEntry> lww,
                               std::vector<msg::CounterEntry> counters, uint64_t pruned,
                               std::vector<msg::OrKeyState> or_keys) {
          msg::PartitionState s{0, p, purpose, {}, {}, 0};
          if (with_map) {
            s.maps.push_back(msg::MapRecords{std::move(map), std::move(lww), std::move(counters),
                                             std::move(or_keys)});
          }
          if (purpose == msg::StatePurpose::kClientLeaf) s.pruned_below_ms = pruned;
          return s;
        },
        GenMapName(),
        rc::gen::resize(4, rc::gen::container<std::vector<msg::LwwEntry>>(GenRecord(p))),
        rc::gen::resize(2, rc::gen::container<std::vector<msg::CounterEntry>>(GenCounter(p))),
        rc::gen::arbitrary<uint64_t>(),
        rc::gen::resize(2, rc::gen::container<std::vector<msg::OrKeyState>>(GenOrKey(p))));
  });
}

rc::Gen<msg::WriteConcern> GenConcern() {
  return rc::gen::element(msg::WriteConcern::kFireAndForget, msg::WriteConcern::kApplied,
                          msg::WriteConcern::kReplicated);
}

// An LWW write, a counter op, an OR add or an OR remove (`or_kind` 1 and 2 when no counter).
rc::Gen<msg::GridOp> GenOp() {
  return rc::gen::apply(
      [](uint64_t seq, msg::WriteConcern concern, std::string map, std::string key,
         std::optional<Document> value, Timestamp ts, std::optional<PnTotals> counter, int or_kind,
         std::vector<Timestamp> names) {
        if (counter) value.reset();  // A counter op carries no value.
        msg::GridOp op{seq,           concern, std::move(map), std::move(key), std::move(value),
                       std::move(ts), counter};
        if (counter || or_kind == 0) return op;
        if (or_kind == 1) {
          op.or_kind = msg::OrOpKind::kAdd;
          op.seq = 1 + seq % UINT32_MAX;  // An add's origin holds the seq in 32 bits.
          if (!op.value) op.value.emplace();
        } else {
          op.or_kind = msg::OrOpKind::kRemove;
          op.value.reset();
          op.or_tags = std::move(names);
        }
        return op;
      },
      rc::gen::inRange<uint64_t>(1, std::numeric_limits<uint64_t>::max()), GenConcern(),
      GenMapName(), GenText(), GenOptional(GenDoc()), GenTs(), GenOptional(GenTotals()),
      rc::gen::inRange(0, 3),
      rc::gen::resize(3, rc::gen::nonEmpty(rc::gen::container<std::vector<Timestamp>>(GenTs()))));
}

rc::Gen<msg::MapMarks> GenMarks() {
  return rc::gen::apply(
      [](std::string map, std::vector<bool> held, std::vector<uint64_t> digests) {
        msg::MapMarks m{std::move(map), {}, {}};
        for (uint32_t p = 0; p < kPartitionCount && p < held.size(); ++p) {
          if (!held[p]) continue;
          m.partitions.push_back(p);
          m.digests.push_back(digests.empty() ? 0 : digests[p % digests.size()]);
        }
        return m;
      },
      GenMapName(),
      rc::gen::container<std::vector<bool>>(
          kPartitionCount, rc::gen::weightedElement<bool>({{30, false}, {1, true}})),
      rc::gen::resize(4,
                      rc::gen::container<std::vector<uint64_t>>(rc::gen::arbitrary<uint64_t>())));
}

rc::Gen<msg::HttpSyncRequest> GenRequest() {
  return rc::gen::apply(
      [](std::string client, uint64_t id, std::vector<msg::GridOp> ops,
         std::vector<msg::MapMarks> marks, std::vector<msg::PartitionState> repairs,
         std::string cursor) {
        return msg::HttpSyncRequest{std::move(client),  id,
                                    std::move(ops),     std::move(marks),
                                    std::move(repairs), std::move(cursor)};
      },
      GenNode(), rc::gen::arbitrary<uint64_t>(),
      rc::gen::resize(6, rc::gen::container<std::vector<msg::GridOp>>(GenOp())),
      rc::gen::resize(3, rc::gen::container<std::vector<msg::MapMarks>>(GenMarks())),
      rc::gen::resize(3, rc::gen::container<std::vector<msg::PartitionState>>(
                             GenState(msg::StatePurpose::kClientRepair, /*with_map=*/true))),
      GenText());
}

rc::Gen<msg::GridOpAck> GenAck() {
  return rc::gen::apply(
      [](uint64_t seq, Timestamp ts, msg::WriteConcern level, bool duplicate) {
        return msg::GridOpAck{seq, std::move(ts), level, duplicate};
      },
      rc::gen::arbitrary<uint64_t>(), GenTs(), GenConcern(), rc::gen::arbitrary<bool>());
}

rc::Gen<msg::HttpSyncResponse> GenResponse() {
  return rc::gen::apply(
      [](uint64_t id, uint16_t status, std::string error, std::vector<msg::GridOpAck> acks,
         std::vector<msg::PartitionState> leaves, std::string cursor) {
        if (status == 200) error.clear();
        return msg::HttpSyncResponse{
            id, status, std::move(error), std::move(acks), std::move(leaves), std::move(cursor)};
      },
      rc::gen::arbitrary<uint64_t>(), rc::gen::element<uint16_t>(200, 200, 400, 503), GenText(),
      rc::gen::resize(6, rc::gen::container<std::vector<msg::GridOpAck>>(GenAck())),
      rc::gen::resize(3, rc::gen::container<std::vector<msg::PartitionState>>(rc::gen::oneOf(
                             GenState(msg::StatePurpose::kClientLeaf, /*with_map=*/true),
                             GenState(msg::StatePurpose::kClientLeaf, /*with_map=*/false)))),
      GenText());
}

// ---- Round trips.

RC_GTEST_PROP(SyncJson, RequestRoundTrips, ()) {
  const msg::HttpSyncRequest r = *GenRequest();
  RC_CLASSIFY(!r.ops.empty(), "ops");
  RC_CLASSIFY(!r.repairs.empty() && !r.repairs[0].maps[0].lww.empty(), "repair records");
  RC_CLASSIFY(!r.marks.empty() && !r.marks[0].partitions.empty(), "mark digests");
  const std::string text = SyncRequestToJson(r);
  absl::StatusOr<msg::HttpSyncRequest> back = SyncRequestFromJson(text);
  RC_ASSERT(back.ok());
  RC_ASSERT(*back == r);
  RC_ASSERT(SyncRequestToJson(*back) == text);
}

RC_GTEST_PROP(SyncJson, ResponseRoundTrips, ()) {
  const msg::HttpSyncResponse r = *GenResponse();
  RC_CLASSIFY(r.status != 200, "error");
  RC_CLASSIFY(!r.leaves.empty() && !r.leaves[0].maps.empty() && !r.leaves[0].maps[0].lww.empty(),
              "leaf records");
  const std::string text = SyncResponseToJson(r);
  absl::StatusOr<msg::HttpSyncResponse> back = SyncResponseFromJson(text);
  RC_ASSERT(back.ok());
  RC_ASSERT(*back == r);
  RC_ASSERT(SyncResponseToJson(*back) == text);
}

RC_GTEST_PROP(SyncJson, GarbageIsAnErrorNeverACrash, (std::string bytes)) {
  (void)SyncRequestFromJson(bytes);
  (void)SyncResponseFromJson(bytes);
}

// Replaces one node of `j` (the root or one below it) with a value of another shape.
void Mutate(json& j) {
  json* at = &j;
  while (!at->empty() && (at->is_object() || at->is_array()) && *rc::gen::inRange(0, 4) != 0) {
    const size_t i = *rc::gen::inRange<size_t>(0, at->size());
    auto it = at->begin();
    std::advance(it, static_cast<std::ptrdiff_t>(i));
    at = &*it;
  }
  *at = *rc::gen::element<json>(nullptr, true, -1, 0, 1.5, "x", "1:0:s", json::array(),
                                json::object(), json::array({1}), json::object({{"a", {}}}),
                                18446744073709551615u);
}

RC_GTEST_PROP(SyncJson, MutatedBodiesAreAcceptedOrNamedErrors, ()) {
  json request = json::parse(SyncRequestToJson(*GenRequest()));
  Mutate(request);
  absl::StatusOr<msg::HttpSyncRequest> r = SyncRequestFromJson(request.dump());
  RC_ASSERT(r.ok() || r.status().code() == absl::StatusCode::kInvalidArgument);
  json response = json::parse(SyncResponseToJson(*GenResponse()));
  Mutate(response);
  absl::StatusOr<msg::HttpSyncResponse> s = SyncResponseFromJson(response.dump());
  RC_ASSERT(s.ok() || s.status().code() == absl::StatusCode::kInvalidArgument);
}

// ---- The documented shape.

TEST(SyncJson, ReadsTheDocumentedRequest) {
  absl::StatusOr<msg::HttpSyncRequest> r = SyncRequestFromJson(R"({
    "client": "phone-7", "request_id": 12,
    "ops": [{"seq": 1, "map": "users", "key": "k1", "value": {"name": "Ada"},
             "concern": "replicated", "client_ts": "1700000000000:0:phone-7"},
            {"seq": 2, "map": "users", "key": "k2"},
            {"seq": 3, "map": "users", "key": "k3", "value": null, "concern": "fire_and_forget"}],
    "marks": [{"map": "users", "digests": {"17": "00000000DEADBEEF", "3": "0000000000000001"}},
              {"map": "carts"}],
    "repairs": [{"partition": )" + std::to_string(PartitionOf("k1")) +
                                                               R"(, "map": "users", "records": [
      {"key": "k1", "value": {"name": "Ada"}, "ts": "1700000000000:0:s1", "ttl_ms": 5000},
      {"key": "k1", "value": null, "ts": "1700000000001:0:s1"}]}],
    "cursor": "users:120"})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->client, "phone-7");
  EXPECT_EQ(r->request_id, 12u);
  ASSERT_EQ(r->ops.size(), 3u);
  EXPECT_EQ(r->ops[0], (msg::GridOp{1, msg::WriteConcern::kReplicated, "users", "k1",
                                    Document{{"name", std::string("Ada")}},
                                    Timestamp{1700000000000, 0, "phone-7"}}));
  // Defaults: no value = remove, concern applied, client_ts 0:0:<client>.
  EXPECT_EQ(r->ops[1], (msg::GridOp{2, msg::WriteConcern::kApplied, "users", "k2", std::nullopt,
                                    Timestamp{0, 0, "phone-7"}}));
  EXPECT_EQ(r->ops[2].concern, msg::WriteConcern::kFireAndForget);
  EXPECT_FALSE(r->ops[2].value.has_value());
  ASSERT_EQ(r->marks.size(), 2u);
  EXPECT_EQ(r->marks[0].partitions, (std::vector<uint32_t>{3, 17}));  // ascending
  EXPECT_EQ(r->marks[0].digests, (std::vector<uint64_t>{1, 0xdeadbeef}));
  EXPECT_TRUE(r->marks[1].partitions.empty());
  ASSERT_EQ(r->repairs.size(), 1u);
  const msg::PartitionState& repair = r->repairs[0];
  EXPECT_EQ(repair.purpose, msg::StatePurpose::kClientRepair);
  EXPECT_EQ(repair.id, 0u);
  ASSERT_EQ(repair.maps.size(), 1u);
  ASSERT_EQ(repair.maps[0].lww.size(), 2u);
  EXPECT_EQ(repair.maps[0].lww[0].record.ttl_ms, 5000u);
  EXPECT_TRUE(repair.maps[0].lww[1].record.tombstone());
  EXPECT_EQ(r->cursor, "users:120");
}

TEST(SyncJson, WritesTheDocumentedResponse) {
  const std::string key = KeysByPartition()[17][0];
  const LwwRecord record{Document{{"name", std::string("Ada")}}, Timestamp{1700000000000, 0, "s1"},
                         std::nullopt};
  msg::HttpSyncResponse r;
  r.request_id = 12;
  r.acks.push_back({1, Timestamp{1700000000123, 0, "s1"}, msg::WriteConcern::kApplied, false});
  r.leaves.push_back({7, 17, msg::StatePurpose::kClientLeaf, {{"users", {{key, record}}}}, {}, 0});
  r.cursor = "users:120";
  PartitionDigests digests;  // What the server compares marks against.
  digests.Apply(LwwChange{key, nullptr, &record, ChangeCause::kMerge}, 17);
  const json expected = {
      {"request_id", 12},
      {"acks",
       {{{"seq", 1}, {"ts", "1700000000123:0:s1"}, {"level", "applied"}, {"duplicate", false}}}},
      {"changes",
       {{{"map", "users"},
         {"partition", 17},
         {"digest", fmt::format("{:016x}", digests.of(17))},
         {"pruned_below_ms", 0},
         {"records",
          {{{"key", key}, {"value", {{"name", "Ada"}}}, {"ts", "1700000000000:0:s1"}}}}}}},
      {"cursor", "users:120"}};
  const std::string text = SyncResponseToJson(r);
  EXPECT_EQ(json::parse(text), expected) << text;
  // Fields in the documented order.
  EXPECT_THAT(text, ::testing::StartsWith(R"({"request_id":12,"acks":[{"seq":1,"ts":)"));
  // Read back: the same, but for the gateway-internal pull id.
  absl::StatusOr<msg::HttpSyncResponse> back = SyncResponseFromJson(text);
  ASSERT_TRUE(back.ok()) << back.status();
  r.leaves[0].id = 0;
  EXPECT_EQ(*back, r);
}

TEST(SyncJson, ErrorResponseCarriesStatusAndError) {
  msg::HttpSyncResponse r;
  r.request_id = 3;
  r.status = 400;
  r.error = "ops[0].seq: seq must be at least 1";
  const std::string text = SyncResponseToJson(r);
  EXPECT_EQ(text, R"({"request_id":3,"status":400,"error":"ops[0].seq: seq must be at least 1"})");
  absl::StatusOr<msg::HttpSyncResponse> back = SyncResponseFromJson(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, r);
}

TEST(SyncJson, LeafWithoutMapsIsOneChangeWithoutMap) {
  msg::HttpSyncResponse r;
  r.leaves.push_back({0, 5, msg::StatePurpose::kClientLeaf, {}, {}, 99});
  const std::string text = SyncResponseToJson(r);
  EXPECT_EQ(json::parse(text)["changes"],
            json::parse(R"([{"partition":5,"digest":"0000000000000000","pruned_below_ms":99,
                              "records":[]}])"));
  absl::StatusOr<msg::HttpSyncResponse> back = SyncResponseFromJson(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, r);
}

TEST(SyncJson, LeafWithTwoMapsIsTwoChanges) {
  msg::HttpSyncResponse r;
  r.leaves.push_back({0, 5, msg::StatePurpose::kClientLeaf, {{"a", {}}, {"b", {}}}, {}, 1});
  absl::StatusOr<msg::HttpSyncResponse> back = SyncResponseFromJson(SyncResponseToJson(r));
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->leaves.size(), 2u);
  EXPECT_EQ(back->leaves[0].maps[0].map_name, "a");
  EXPECT_EQ(back->leaves[1].maps[0].map_name, "b");
  EXPECT_EQ(back->leaves[1].pruned_below_ms, 1u);
}

TEST(SyncJson, OptionalFieldsMayBeNull) {
  absl::StatusOr<msg::HttpSyncRequest> r = SyncRequestFromJson(
      R"({"client": "c", "request_id": null, "ops": null, "marks": null, "cursor": null})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, msg::HttpSyncRequest{.client = "c"});
}

// ---- Bad input: one named error for each kind.

std::string RequestError(const std::string& body) {
  absl::StatusOr<msg::HttpSyncRequest> r = SyncRequestFromJson(body);
  if (r.ok()) return "accepted";
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(r.status().message());
}

std::string ResponseError(const std::string& body) {
  absl::StatusOr<msg::HttpSyncResponse> r = SyncResponseFromJson(body);
  if (r.ok()) return "accepted";
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(r.status().message());
}

std::string WithOp(const std::string& op) {
  return R"({"client": "c", "ops": [{"seq": 1, "map": "m", "key": "k"}, )" + op + "]}";
}

TEST(SyncJsonErrors, NotJson) {
  EXPECT_THAT(RequestError(R"({"client": )"), HasSubstr("body: not JSON: "));
  EXPECT_THAT(RequestError(""), HasSubstr("body: not JSON: "));
  EXPECT_THAT(ResponseError("{]"), HasSubstr("body: not JSON: "));
  EXPECT_THAT(RequestError("\"\xff\""), HasSubstr("body: not JSON: "));
}

TEST(SyncJsonErrors, NotAnObject) {
  EXPECT_EQ(RequestError("[1]"), "body: expected an object, got array");
  EXPECT_EQ(ResponseError("7"), "body: expected an object, got 7");
  EXPECT_EQ(RequestError(R"({"client": "c", "ops": {}})"),
            "ops: expected an array of ops, got object");
  EXPECT_EQ(RequestError(WithOp("3")), "ops[1]: expected an object, got 3");
}

TEST(SyncJsonErrors, UnknownFieldsAreNamed) {
  EXPECT_EQ(RequestError(R"({"client": "c", "op": []})"),
            "body: unknown field 'op' (expected client, request_id, ops, marks, repairs or "
            "cursor)");
  EXPECT_THAT(RequestError(R"({"client": "c", "x": 1, "y": 2})"),
              HasSubstr("body: unknown fields 'x', 'y' (expected"));
  EXPECT_THAT(RequestError(WithOp(R"({"seq": 2, "map": "m", "key": "k", "concen": "applied"})")),
              HasSubstr("ops[1]: unknown field 'concen'"));
  EXPECT_THAT(RequestError(R"({"client": "c", "marks": [{"map": "m", "digest": {}}]})"),
              HasSubstr("marks[0]: unknown field 'digest'"));
  EXPECT_THAT(ResponseError(R"({"acks": [], "leaves": []})"),
              HasSubstr("body: unknown field 'leaves'"));
}

TEST(SyncJsonErrors, MissingClient) {
  EXPECT_EQ(RequestError(R"({"ops": []})"), "body: missing required field 'client'");
  EXPECT_EQ(RequestError(R"({"client": null})"), "client: expected a string, got null");
}

TEST(SyncJsonErrors, BadNodeId) {
  EXPECT_EQ(RequestError(R"({"client": ""})"), "client: node id must not be empty");
  EXPECT_EQ(RequestError(R"({"client": "a:b"})"), "client: node id 'a:b' contains ':'");
  EXPECT_EQ(RequestError(R"({"client": 7})"), "client: expected a string, got 7");
}

TEST(SyncJsonErrors, BadConcern) {
  EXPECT_EQ(RequestError(WithOp(R"({"seq": 2, "map": "m", "key": "k", "concern": "x"})")),
            "ops[1].concern: unknown write concern 'x' (expected fire_and_forget, applied or "
            "replicated)");
  EXPECT_THAT(RequestError(WithOp(R"({"seq": 2, "map": "m", "key": "k", "concern": "APPLIED"})")),
              HasSubstr("ops[1].concern: unknown write concern 'APPLIED'"));
  EXPECT_THAT(ResponseError(R"({"acks": [{"seq": 1, "ts": "1:0:s", "level": 1}]})"),
              HasSubstr("acks[0].level: expected a write concern string, got 1"));
}

TEST(SyncJsonErrors, SeqZeroAndBadNumbers) {
  EXPECT_EQ(RequestError(WithOp(R"({"seq": 0, "map": "m", "key": "k"})")),
            "ops[1].seq: seq must be at least 1");
  EXPECT_EQ(RequestError(WithOp(R"({"seq": -1, "map": "m", "key": "k"})")),
            "ops[1].seq: expected a non-negative integer, got -1");
  EXPECT_EQ(RequestError(WithOp(R"({"seq": 1.5, "map": "m", "key": "k"})")),
            "ops[1].seq: expected a non-negative integer, got 1.5");
  EXPECT_EQ(RequestError(WithOp(R"({"seq": "1", "map": "m", "key": "k"})")),
            "ops[1].seq: expected a non-negative integer, got string '1'");
  EXPECT_THAT(RequestError(R"({"client": "c", "request_id": 18446744073709551616})"),
              HasSubstr("request_id: expected a non-negative integer, got "));
  EXPECT_EQ(RequestError(R"({"client": "c", "request_id": 18446744073709551615})"), "accepted");
  EXPECT_EQ(ResponseError(R"({"status": 1000})"),
            "status: status 1000 is not an HTTP status 100..599");
}

TEST(SyncJsonErrors, MissingOpFields) {
  EXPECT_EQ(RequestError(WithOp(R"({"seq": 2, "key": "k"})")),
            "ops[1]: missing required field 'map'");
  EXPECT_EQ(RequestError(WithOp(R"({"seq": 2, "map": "", "key": "k"})")),
            "ops[1].map: map name must not be empty");
  EXPECT_EQ(RequestError(WithOp(R"({"map": "m", "key": "k"})")),
            "ops[1]: missing required field 'seq'");
}

TEST(SyncJsonErrors, BadTimestampText) {
  EXPECT_EQ(RequestError(WithOp(R"({"seq": 2, "map": "m", "key": "k", "client_ts": "12:x:n1"})")),
            "ops[1].client_ts: timestamp '12:x:n1': counter 'x' is not a decimal uint32");
  EXPECT_THAT(RequestError(WithOp(R"({"seq": 2, "map": "m", "key": "k", "client_ts": "12"})")),
              HasSubstr("ops[1].client_ts: timestamp '12': expected millis:counter:node_id"));
  EXPECT_THAT(ResponseError(R"({"acks": [{"seq": 1, "ts": 5}]})"),
              HasSubstr("acks[0].ts: expected a timestamp string"));
}

TEST(SyncJsonErrors, DigestNotSixteenHexDigits) {
  EXPECT_EQ(RequestError(R"({"client": "c", "marks": [{"map": "m", "digests": {"17": "beef"}}]})"),
            "marks[0].digests.17: digest 'beef' is not 16 hex digits");
  EXPECT_EQ(
      RequestError(
          R"({"client": "c", "marks": [{"map": "m", "digests": {"1": "000000000000000g"}}]})"),
      "marks[0].digests.1: digest '000000000000000g' is not 16 hex digits");
  EXPECT_EQ(RequestError(R"({"client": "c", "marks": [{"map": "m", "digests": {"1": 5}}]})"),
            "marks[0].digests.1: expected a digest of 16 hex digits, got 5");
  EXPECT_THAT(ResponseError(R"({"changes": [{"partition": 1, "digest": "x"}]})"),
              HasSubstr("changes[0].digest: digest 'x' is not 16 hex digits"));
}

TEST(SyncJsonErrors, PartitionOutOfRange) {
  EXPECT_EQ(RequestError(R"({"client": "c", "marks": [{"map": "m", "digests":
                               {"300": "0000000000000001"}}]})"),
            "marks[0].digests: key '300' is not a partition 0..270");
  EXPECT_EQ(RequestError(R"({"client": "c", "marks": [{"map": "m", "digests":
                               {"017": "0000000000000001"}}]})"),
            "marks[0].digests: key '017' is not a partition 0..270");
  EXPECT_EQ(RequestError(R"({"client": "c", "marks": [{"map": "m", "digests": []}]})"),
            "marks[0].digests: expected an object of partition (decimal string) to digest, got "
            "array");
  EXPECT_EQ(RequestError(R"({"client": "c", "repairs": [{"partition": 271, "map": "m"}]})"),
            "repairs[0].partition: partition 271 is not 0..270");
  EXPECT_EQ(ResponseError(R"({"changes": [{"partition": 271}]})"),
            "changes[0].partition: partition 271 is not 0..270");
}

TEST(SyncJsonErrors, RecordInTheWrongPartition) {
  const uint32_t p = PartitionOf("k1");
  const uint32_t other = (p + 1) % kPartitionCount;
  EXPECT_EQ(
      RequestError(R"({"client": "c", "repairs": [{"partition": )" + std::to_string(other) +
                   R"(, "map": "m", "records": [{"key": "k1", "value": null, "ts": "1:0:s"}]}]})"),
      fmt::format("repairs[0].records[0].key: key 'k1' is in partition {}, not {}", p, other));
  EXPECT_EQ(RequestError(R"({"client": "c", "repairs": [{"partition": )" + std::to_string(p) +
                         R"(, "map": "m", "records": [{"key": "k1", "ts": "1:0:s"}]}]})"),
            "repairs[0].records[0]: missing required field 'value'");
  EXPECT_EQ(ResponseError(R"({"changes": [{"partition": 1, "records": [{"key": "k"}]}]})"),
            "changes[0].records: records without a map");
}

TEST(SyncJson, ReadsTheDocumentedCounters) {
  const uint32_t p = PartitionOf("visits");
  auto r = SyncRequestFromJson(
      R"({"client": "phone-7", "ops": [{"seq": 3, "map": "m", "key": "visits",
                                        "counter": {"positive": 12, "negative": 5}}],
          "repairs": [{"partition": )" +
      std::to_string(p) + R"(, "map": "m", "records": [],
                       "counters": [{"key": "visits", "entries": {"tab-2": [4, 0]}}]}]})");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->ops.size(), 1u);
  EXPECT_EQ(r->ops[0].counter, (PnTotals{12, 5}));
  EXPECT_FALSE(r->ops[0].value.has_value());
  ASSERT_EQ(r->repairs[0].maps[0].counters.size(), 1u);
  EXPECT_EQ(r->repairs[0].maps[0].counters[0].state, (PnState{{"tab-2", {4, 0}}}));
  // A change's digest covers its counters: the server's digest of the same contents.
  msg::HttpSyncResponse response{1, 200, "", {}, {}, ""};
  response.leaves.push_back(
      msg::PartitionState{0, p, msg::StatePurpose::kClientLeaf, {r->repairs[0].maps[0]}, {}, 0});
  const std::string text = SyncResponseToJson(response);
  EXPECT_NE(text.find(fmt::format(R"("digest":"{:016x}")",
                                  CounterHash("visits", PnState{{"tab-2", {4, 0}}}))),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"("counters":[{"key":"visits","entries":{"tab-2":[4,0]}}])"),
            std::string::npos)
      << text;
}

TEST(SyncJsonErrors, BadCounters) {
  const std::string p = std::to_string(PartitionOf("visits"));
  EXPECT_EQ(RequestError(R"({"client": "c", "ops": [{"seq": 1, "map": "m", "key": "k",
                                                    "value": {}, "counter": {"positive": 1}}]})"),
            "ops[0].value: a counter op carries no value");
  EXPECT_EQ(RequestError(R"({"client": "c", "ops": [{"seq": 1, "map": "m", "key": "k",
                                                    "counter": {"positive": -1}}]})"),
            "ops[0].counter.positive: expected a non-negative integer, got -1");
  EXPECT_EQ(RequestError(R"({"client": "c", "ops": [{"seq": 1, "map": "m", "key": "k",
                                                    "counter": {"pos": 1}}]})"),
            "ops[0].counter: unknown field 'pos' (expected positive or negative)");
  EXPECT_EQ(RequestError(R"({"client": "c", "repairs": [{"partition": )" + p +
                         R"(, "map": "m", "counters": [{"key": "visits",
                             "entries": {"a:b": [1, 0]}}]}]})"),
            "repairs[0].counters[0].entries.a:b: node id 'a:b' contains ':'");
  EXPECT_EQ(RequestError(R"({"client": "c", "repairs": [{"partition": )" + p +
                         R"(, "map": "m", "counters": [{"key": "visits",
                             "entries": {"c": [1]}}]}]})"),
            "repairs[0].counters[0].entries.c: expected [positive, negative] (two non-negative "
            "integers), got array");
  EXPECT_EQ(ResponseError(R"({"changes": [{"partition": 1, "counters": [{"key": "k"}]}]})"),
            "changes[0].counters: counters without a map");
}

TEST(SyncJson, ReadsTheDocumentedOrOpsAndEntries) {
  const uint32_t p = PartitionOf("tags");
  auto r = SyncRequestFromJson(
      R"({"client": "phone-7", "ops": [
            {"seq": 3, "map": "m", "key": "tags", "value": {"t": "red"}, "or": {"kind": "add"}},
            {"seq": 4, "map": "m", "key": "tags", "or": {"kind": "remove",
                                                         "names": ["0:3:phone-7"]}}],
          "repairs": [{"partition": )" +
      std::to_string(p) + R"(, "map": "m",
             "or_keys": [{"key": "tags", "items": [{"tag": "1700000000000:0:s1",
                                                   "value": {"t": "blue"}, "origin": "0:2:tab-2"}],
                          "tombstones": ["1700000000001:0:s1"]}]}]})");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->ops.size(), 2u);
  EXPECT_EQ(r->ops[0].or_kind, msg::OrOpKind::kAdd);
  EXPECT_EQ(r->ops[0].value, (Document{{"t", "red"}}));
  EXPECT_EQ(r->ops[1].or_kind, msg::OrOpKind::kRemove);
  EXPECT_EQ(r->ops[1].or_tags, std::vector<Timestamp>{OrOrigin("phone-7", 3)});
  const msg::MapRecords& m = r->repairs[0].maps[0];
  ASSERT_EQ(m.or_keys.size(), 1u);
  const OrEntry entry = msg::ToOrEntry(m.or_keys[0]);
  EXPECT_EQ(entry.items.at(Timestamp{1'700'000'000'000, 0, "s1"}).origin, OrOrigin("tab-2", 2));
  const Timestamp removed{1'700'000'000'001, 0, "s1"};
  EXPECT_EQ(entry.tombstones, absl::btree_set<Timestamp>{removed});
  // A change's digest covers its OR entries, kills included: the server's digest of the same.
  msg::MapRecords with_kill = m;
  with_kill.or_keys[0].tombstones.push_back(OrKill(OrOrigin("tab-2", 1), 1'700'000'000'002));
  msg::HttpSyncResponse response{1, 200, "", {}, {}, ""};
  response.leaves.push_back(
      msg::PartitionState{0, p, msg::StatePurpose::kClientLeaf, {with_kill}, {}, 0});
  const std::string text = SyncResponseToJson(response);
  EXPECT_NE(text.find(fmt::format(R"("digest":"{:016x}")",
                                  OrEntryHash("tags", msg::ToOrEntry(with_kill.or_keys[0])))),
            std::string::npos)
      << text;
  auto back = SyncResponseFromJson(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->leaves[0].maps[0].or_keys, with_kill.or_keys);
}

TEST(SyncJsonErrors, BadOrOps) {
  const auto op = [](const std::string& fields) {
    return RequestError(R"({"client": "c", "ops": [{"seq": 1, "map": "m", "key": "k", )" + fields +
                        "}]}");
  };
  EXPECT_EQ(op(R"("or": {"kind": "add"})"), "ops[0].or.kind: an OR add carries a value");
  EXPECT_EQ(op(R"("value": {}, "or": {"kind": "remove", "names": ["0:1:c"]})"),
            "ops[0].or.kind: an OR remove carries no value");
  EXPECT_EQ(op(R"("or": {"kind": "remove", "names": []})"),
            "ops[0].or.names: an OR remove names at least one item");
  EXPECT_EQ(op(R"("or": {"kind": "remove"})"), "ops[0].or: missing required field 'names'");
  EXPECT_EQ(op(R"("or": {"kind": "move"})"),
            "ops[0].or.kind: unknown OR op kind 'move' (expected add or remove)");
  EXPECT_EQ(op(R"("value": {}, "or": {"kind": "add", "names": ["0:1:c"]})"),
            "ops[0].or.names: only an OR remove names items");
  EXPECT_EQ(op(R"("counter": {"positive": 1}, "or": {"kind": "remove", "names": ["0:1:c"]})"),
            "ops[0].or: a counter op is no OR op");
  EXPECT_EQ(RequestError(R"({"client": "c", "ops": [{"seq": 4294967296, "map": "m", "key": "k",
                              "value": {}, "or": {"kind": "add"}}]})"),
            "ops[0].or.kind: an OR add's seq must fit 32 bits");
  const std::string p = std::to_string(PartitionOf("k"));
  EXPECT_EQ(ResponseError(R"({"changes": [{"map": "m", "partition": )" + p +
                          R"(, "or_keys": [{"key": "k", "items": [{"tag": "1:0:s"}]}]}]})"),
            "changes[0].or_keys[0].items[0]: missing required field 'value'");
  EXPECT_EQ(ResponseError(R"({"changes": [{"map": "m", "partition": )" + p +
                          R"(, "or_keys": [{"key": "k", "tombstones": ["x"]}]}]})"),
            "changes[0].or_keys[0].tombstones[0]: timestamp 'x': expected millis:counter:node_id");
  EXPECT_EQ(ResponseError(R"({"changes": [{"map": "m", "partition": )" + p +
                          R"(, "or_keys": [{"key": "k", "items": [{"tag": "1:0:s", "value": {},
                                                                "origin": "5:3:c"}]}]}]})"),
            "changes[0].or_keys[0].items[0].origin: an origin is \"0:<seq>:<client>\"");
  EXPECT_EQ(ResponseError(R"({"changes": [{"partition": 1, "or_keys": [{"key": "k"}]}]})"),
            "changes[0].or_keys: or_keys without a map");
}

TEST(SyncJsonErrors, TooManyOpsOrRecords) {
  std::string ops;
  for (size_t i = 0; i <= kSyncJsonOpsMax; ++i) {
    ops += fmt::format(R"({}{{"seq":{},"map":"m","key":"k"}})", i == 0 ? "" : ",", i + 1);
  }
  EXPECT_EQ(RequestError(R"({"client": "c", "ops": [)" + ops + "]}"),
            "ops: 100001 ops; at most 100000 in one request");
  const std::string key = KeysByPartition()[0][0];
  const std::string record = R"({"key":")" + key + R"(","value":null,"ts":"1:0:s"})";
  std::string records;
  for (size_t i = 0; i < kSyncJsonRecordsMax / 2 + 1; ++i) records += (i == 0 ? "" : ",") + record;
  const std::string repair = R"({"partition":0,"map":"m","records":[)" + records + "]}";
  EXPECT_EQ(RequestError(R"({"client": "c", "repairs": [)" + repair + "," + repair + "]}"),
            "repairs[1].records: more than 100000 records in one request");
  // An OR remove's names share the budget: with them a repair of half of it is too many.
  std::string names;
  for (size_t i = 0; i < kSyncJsonRecordsMax / 2 + 1; ++i) {
    names += fmt::format(R"({}"0:{}:c")", i == 0 ? "" : ",", i + 1);
  }
  const std::string remove =
      R"({"seq":1,"map":"m","key":"k","or":{"kind":"remove","names":[)" + names + "]}}";
  EXPECT_EQ(
      RequestError(R"({"client": "c", "ops": [)" + remove + R"(], "repairs": [)" + repair + "]}"),
      "repairs[0].records: more than 100000 records in one request");
}

TEST(SyncJsonErrors, ValueNotAnObject) {
  EXPECT_EQ(RequestError(WithOp(R"({"seq": 2, "map": "m", "key": "k", "value": "Ada"})")),
            "ops[1].value: a document must be a JSON object, got string");
  EXPECT_EQ(RequestError(WithOp(R"({"seq": 2, "map": "m", "key": "k", "value": {"a": {}}})")),
            "ops[1].value: field 'a' is a object (fields are null, bool, number, string or string "
            "array)");
  EXPECT_EQ(ResponseError(R"({"changes": [{"partition": 1, "map": "m", "records":
                                [{"key": ")" +
                          KeysByPartition()[1][0] + R"(", "value": [1], "ts": "1:0:s"}]}]})"),
            "changes[0].records[0].value: a document must be a JSON object, got array");
}

}  // namespace
}  // namespace seedgrid::net
