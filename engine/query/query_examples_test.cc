// Example tests for the edges: value order, like / contains / between, tokens, text form,
// cursors, index management, live-query window events, explain.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <bit>
#include <cmath>
#include <limits>

#include "absl/container/flat_hash_map.h"
#include "engine/env/testing/manual_env.h"
#include "engine/query/cursor.h"
#include "engine/query/indexed_map.h"
#include "engine/query/query_testing.h"
#include "engine/query/text.h"

namespace seedgrid {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(ValueOrder, ClassesThenValues) {
  const std::vector<Value> ascending = {std::monostate{},
                                        false,
                                        true,
                                        -kInf,
                                        int64_t{-3},
                                        -2.5,
                                        0.0,
                                        int64_t{1},
                                        1.5,
                                        kInf,
                                        kNaN,
                                        std::string(""),
                                        std::string("B"),
                                        std::string("a"),
                                        std::string("é"),
                                        StringList{},
                                        StringList{"a"},
                                        StringList{"a", "b"},
                                        StringList{"b"}};
  for (size_t i = 0; i < ascending.size(); ++i) {
    for (size_t j = 0; j < ascending.size(); ++j) {
      EXPECT_EQ(CompareValues(ascending[i], ascending[j]), i < j ? -1 : (i > j ? 1 : 0))
          << ValueToString(ascending[i]) << " vs " << ValueToString(ascending[j]);
    }
  }
}

// CompareValues of two Values (the numbers below are not Values until converted).
int Cmp(const Value& a, const Value& b) { return CompareValues(a, b); }

TEST(ValueOrder, NumbersCompareExactlyAcrossIntAndDouble) {
  EXPECT_EQ(Cmp(int64_t{1}, 1.0), 0);
  EXPECT_EQ(Cmp(0.0, -0.0), 0);
  EXPECT_EQ(Cmp(kNaN, -kNaN), 0);
  // 2^53 + 1 is not representable as a double; it must still be greater than 2^53.
  EXPECT_EQ(Cmp(int64_t{9007199254740993}, 9007199254740992.0), 1);
  EXPECT_EQ(Cmp(std::numeric_limits<int64_t>::max(), 9223372036854775808.0), -1);
  EXPECT_EQ(Cmp(std::numeric_limits<int64_t>::min(), -9223372036854775808.0), 0);
  EXPECT_EQ(Cmp(int64_t{-1}, -0.5), -1);
  EXPECT_TRUE(ValueEquals(NormalizeForEq(Value(2.0)), Value(int64_t{2})));
  EXPECT_TRUE(ValueEquals(NormalizeForEq(Value(-0.0)), Value(int64_t{0})));
  EXPECT_EQ(HashNormalized(NormalizeForEq(Value(kNaN))),
            HashNormalized(NormalizeForEq(Value(-kNaN))));
}

// A NormalizedView is NormalizeForEq without the copy: the same hash and equality, so hash
// containers find a key by either.
RC_GTEST_PROP(ValueOrder, NormalizedViewIsTheNormalizedValue, ()) {
  const Value v = *rc::gen::oneOf(
      testing::GenValue(),
      rc::gen::map(rc::gen::arbitrary<double>(), [](double d) { return Value(d); }),
      rc::gen::map(
          rc::gen::element(9223372036854775808.0, -9223372036854775808.0, 9223372036854774784.0,
                           -0.0, -kNaN, std::bit_cast<double>(uint64_t{0x7ff0000000000123})),
          [](double d) { return Value(d); }));
  const Value normalized = NormalizeForEq(v);
  const NormalizedView view(v);
  RC_ASSERT(ValueEquals(view.view(), normalized));
  RC_ASSERT(NormalizedValueHash()(view) == NormalizedValueHash()(normalized));
  RC_ASSERT(NormalizedValueEq()(normalized, view));
  absl::flat_hash_map<Value, int, NormalizedValueHash, NormalizedValueEq> map;  // sg:lookup-only
  map[normalized] = 1;
  RC_ASSERT(map.contains(view));
}

TEST(ValueOrder, NormalizedViewsOfEqualNumbersFindOneKey) {
  absl::flat_hash_map<Value, int, NormalizedValueHash, NormalizedValueEq> map;  // sg:lookup-only
  map[NormalizeForEq(Value(int64_t{2}))] = 1;
  map[NormalizeForEq(Value(kNaN))] = 2;
  map[NormalizeForEq(Value(0.5))] = 3;
  map[NormalizeForEq(Value(int64_t{0}))] = 4;
  map[NormalizeForEq(Value(9223372036854775808.0))] = 5;  // 2^63: stays a double.
  map[NormalizeForEq(Value(std::numeric_limits<int64_t>::min()))] = 6;
  const auto found = [&](ValueView v) {
    auto it = map.find(NormalizedView(v));
    return it == map.end() ? 0 : it->second;
  };
  EXPECT_EQ(found(Value(2.0)), 1);
  EXPECT_EQ(found(Value(-kNaN)), 2);
  EXPECT_EQ(found(Value(0.5)), 3);
  EXPECT_EQ(found(Value(-0.0)), 4);
  EXPECT_EQ(found(Value(int64_t{0})), 4);
  EXPECT_EQ(found(Value(9223372036854775808.0)), 5);
  EXPECT_EQ(found(Value(-9223372036854775808.0)), 6);  // -2^63 is an int64.
  EXPECT_EQ(found(Value(std::string("2"))), 0);
  EXPECT_EQ(found(Value(9223372036854774784.0)), 0);  // 2^63 - 1024: an integral int64, absent.
}

bool M(const Predicate& p, const Document& d) { return MatchesPredicate(p, d); }

TEST(Matcher, LikeIsAnchoredCaseInsensitiveAndCountsCharacters) {
  const Document d{{"s", std::string("Café au LAIT")}};
  EXPECT_TRUE(M(Like("s", "café%"), d));
  EXPECT_TRUE(M(Like("s", "CAFÉ%lait"), d));
  EXPECT_FALSE(M(Like("s", "afé%"), d));     // Anchored at the start...
  EXPECT_FALSE(M(Like("s", "café"), d));     // ...and at the end.
  EXPECT_TRUE(M(Like("s", "caf_ au%"), d));  // '_' is one character, even a 2-byte one.
  EXPECT_FALSE(M(Like("s", "caf__ au%"), d));
  EXPECT_TRUE(M(Like("s", "%"), d));
  EXPECT_FALSE(M(Like("s", ""), d));
  EXPECT_TRUE(M(Like("s", ""), Document{{"s", std::string()}}));
  EXPECT_TRUE(M(Like("s", "100\\%"), Document{{"s", std::string("100%")}}));
  EXPECT_FALSE(M(Like("s", "100\\%"), Document{{"s", std::string("1000")}}));
  EXPECT_FALSE(M(Like("s", "%"), Document{{"s", int64_t{1}}}));  // Strings only.
  EXPECT_FALSE(M(Like("missing", "%"), d));
}

TEST(Matcher, ContainsIsCaseInsensitiveSubstring) {
  const Document d{{"s", std::string("Größe ΑΒΓ")}};
  EXPECT_TRUE(M(Contains("s", "RÖSS"), Document{{"s", std::string("GRÖSSE")}}));
  EXPECT_TRUE(M(Contains("s", "öße αβ"), d));
  EXPECT_TRUE(M(Contains("s", ""), d));
  EXPECT_FALSE(M(Contains("s", "x"), d));
  EXPECT_FALSE(M(Contains("s", "a"), Document{{"s", StringList{"a"}}}));
}

TEST(Matcher, BetweenAndRangesStayInTheBoundsClass) {
  const Predicate p = Between("n", int64_t{1}, 2.5);
  EXPECT_TRUE(M(p, Document{{"n", 1.0}}));
  EXPECT_TRUE(M(p, Document{{"n", 2.5}}));  // Both ends inclusive.
  EXPECT_FALSE(M(p, Document{{"n", 2.6}}));
  EXPECT_FALSE(M(p, Document{{"n", std::string("2")}}));
  EXPECT_FALSE(M(Gt("n", int64_t{0}), Document{{"n", std::string("z")}}));
  EXPECT_FALSE(M(Lt("n", int64_t{0}), Document{}));  // Missing is null, not a number.
  EXPECT_TRUE(M(Gte("n", std::monostate{}), Document{}));
  EXPECT_TRUE(
      M(Between("s", std::string("a"), std::string("b")), Document{{"s", std::string("az")}}));
  EXPECT_FALSE(M(Between("n", int64_t{3}, int64_t{1}), Document{{"n", int64_t{2}}}));
  EXPECT_FALSE(Validate(Between("n", int64_t{1}, std::string("x"))).ok());
}

TEST(Matcher, NullsListsAndMatch) {
  EXPECT_TRUE(M(IsNull("x"), Document{}));
  EXPECT_TRUE(M(IsNull("x"), Document{{"x", std::monostate{}}}));
  EXPECT_TRUE(M(Eq("x", std::monostate{}), Document{}));
  EXPECT_TRUE(M(Neq("x", int64_t{1}), Document{}));
  EXPECT_TRUE(M(Eq("n", 3.0), Document{{"n", int64_t{3}}}));
  EXPECT_TRUE(M(In("n", {std::string("a"), 3.0}), Document{{"n", int64_t{3}}}));
  const Document tags{{"tags", StringList{"red", "blue"}}};
  EXPECT_TRUE(M(ContainsAll("tags", {"blue", "red"}), tags));
  EXPECT_FALSE(M(ContainsAll("tags", {"blue", "Red"}), tags));
  EXPECT_TRUE(M(ContainsAll("tags", {}), tags));
  EXPECT_FALSE(M(ContainsAny("tags", {}), tags));
  EXPECT_TRUE(M(ContainsAny("tags", {"green", "red"}), tags));
  const Document text{{"t", std::string("The quick brown Fox")}};
  EXPECT_TRUE(M(Match("t", "fox QUICK"), text));
  EXPECT_FALSE(M(Match("t", "fox cat"), text));
  EXPECT_FALSE(M(Match("t", "  "), text));  // No tokens: nothing matches.
  EXPECT_TRUE(M(MatchPrefix("t", "quick fo"), text));
  EXPECT_FALSE(M(MatchPrefix("t", "qui fo"), text));  // Only the last token is a prefix.
  EXPECT_TRUE(M(Match("tags", "RED"), tags));
}

TEST(Text, TokensAndInnerTokens) {
  EXPECT_EQ(Tokenize("Hello, wörld! 42x ÀB"),
            (std::vector<std::string>{"hello", "wörld", "42x", "àb"}));
  EXPECT_EQ(InnerTokens("lo, big wor"), (std::vector<std::string>{"big"}));
  EXPECT_TRUE(InnerTokens("hello").empty());
  EXPECT_EQ(FoldCodePoint(0x0178), 0xFFu);    // Ÿ -> ÿ
  EXPECT_EQ(FoldCodePoint(0x0416), 0x0436u);  // Ж -> ж
}

// Unicode simple case folding (CaseFolding.txt, C and S) over the blocks docs/queries.md names:
// the final sigma, accented Greek capitals, Greek symbol variants, Cyrillic Supplement, µ and ſ.
TEST(Text, SimpleCaseFoldingCoversGreekCyrillicAndLatinVariants) {
  const Document greek{{"s", std::string("λόγος")}};
  EXPECT_TRUE(M(Like("s", "λόγοσ"), greek));  // ς folds to σ...
  EXPECT_TRUE(M(Like("s", "ΛΌΓΟΣ"), greek));  // ...and Ό (U+038C) to ό.
  EXPECT_TRUE(M(Like("s", "%ς"), Document{{"s", std::string("ΟΔΥΣΣΕΥΣ")}}));
  EXPECT_TRUE(M(Contains("s", "ΪΫ"), Document{{"s", std::string("ϊϋ")}}));
  EXPECT_TRUE(M(Like("s", "ϐϑϕϖϰϱϵ"), Document{{"s", std::string("βθφπκρε")}}));
  EXPECT_TRUE(M(Like("s", "Ѣ Ҕ Ӂ Ԧ"), Document{{"s", std::string("ѣ ҕ ӂ ԧ")}}));
  EXPECT_TRUE(M(Like("s", "5 µm"), Document{{"s", std::string("5 μM")}}));
  EXPECT_TRUE(M(Like("s", "ſ"), Document{{"s", std::string("S")}}));
  EXPECT_EQ(Tokenize("ΛΌΓΟΣ λόγος"), (std::vector<std::string>{"λόγοσ", "λόγοσ"}));
  EXPECT_EQ(Tokenize("5 µmol"), (std::vector<std::string>{"5", "μmol"}));  // µ is a letter.
  EXPECT_TRUE(M(Match("s", "µmol"), Document{{"s", std::string("x μmol y")}}));
  // Not folded: ß has only a full folding (to "ss"); İ and ı fold only in Turkic locales.
  EXPECT_FALSE(M(Like("s", "ss"), Document{{"s", std::string("ß")}}));
  EXPECT_EQ(FoldCodePoint(0x130), 0x130u);
}

// Folding is a projection: folded text folds to itself, so both sides of a match agree. And it
// never moves a code point across the word/separator line, or an inverted index (which splits
// before it folds) and a scan (which folds the whole text) would disagree.
// Exhaustive over the folded blocks (every one- and two-byte code point).
TEST(Text, FoldingIsIdempotentAndKeepsWordUnits) {
  const auto utf8 = [](uint32_t c) {
    std::string s;
    if (c < 0x80) {
      s += static_cast<char>(c);
    } else {
      s += static_cast<char>(0xC0 | (c >> 6));
      s += static_cast<char>(0x80 | (c & 0x3F));
    }
    return s;
  };
  for (uint32_t cp = 1; cp < 0x800; ++cp) {
    ASSERT_EQ(FoldCodePoint(FoldCodePoint(cp)), FoldCodePoint(cp)) << cp;
    ASSERT_EQ(Tokenize(utf8(cp)).empty(), Tokenize(utf8(FoldCodePoint(cp))).empty()) << cp;
  }
}

TEST(QueryText, PrintsAndParsesBack) {
  const Query q{And({Eq("status", std::string("open \"now\"")), Gt("age", 30.0),
                     In("n", {int64_t{-1}, kInf, std::monostate{}, true}),
                     Not(Like("we ird", "a%\n")), ContainsAny("tags", {"x", "y"})}),
                {{"age", true}, {"name", false}},
                10};
  const std::string text = ToString(q);
  EXPECT_EQ(text,
            "and(eq(status, \"open \\\"now\\\"\"), gt(age, 30.0), in(n, -1, inf, null, true), "
            "not(like(\"we ird\", \"a%\\n\")), containsAny(tags, [\"x\", \"y\"])) sort(age desc, "
            "name) limit(10)");
  absl::StatusOr<Query> parsed = ParseQuery(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, q);
  EXPECT_EQ(*ParseQuery("  eq( a ,1e+3 )limit( 2 )"), (Query{Eq("a", 1000.0), {}, 2}));
}

TEST(QueryText, ErrorsNameTheColumnAndProblem) {
  const auto error = [](std::string_view text) {
    absl::StatusOr<Query> q = ParseQuery(text);
    EXPECT_FALSE(q.ok()) << text;
    return std::string(q.status().message());
  };
  EXPECT_EQ(error("eq(a)"), "query text at column 1: eq takes 1 value, got 0");
  EXPECT_EQ(error("foo(a, 1)"), "query text at column 1: unknown operator 'foo'");
  EXPECT_EQ(error("eq(a, 1"),
            "query text at column 8: expected ',' or ')' in eq, found end of text");
  EXPECT_EQ(error("eq(a, \"x)"), "query text at column 7: unterminated string");
  EXPECT_EQ(error("eq(a, 99999999999999999999)"),
            "query text at column 7: integer 99999999999999999999 does not fit in 64 bits");
  EXPECT_EQ(error("and()"), "query text at column 1: and needs at least one operand");
  EXPECT_EQ(error("all() limit(0)"), "query text at column 13: limit must be at least 1");
  EXPECT_EQ(error("all() x"), "query text at column 7: unexpected 'x' after the end of the query");
  EXPECT_EQ(error("like(a, 1)"), "query text at column 1: like needs a string, got 1");
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "not(";
  EXPECT_NE(error(deep + "all()").find("nesting deeper than 32"), std::string::npos);
}

RC_GTEST_PROP(QueryText, RoundTripsEveryGeneratedQuery, ()) {
  const Query q = testing::GenQuery();
  absl::StatusOr<Query> parsed = ParseQuery(ToString(q));
  RC_ASSERT(parsed.ok());
  // NaN constants print as "nan" (payload and sign are not kept); compare printed forms.
  RC_ASSERT(ToString(*parsed) == ToString(q));
}

RC_GTEST_PROP(QueryText, ParserNeverCrashesOnGarbage, (const std::string& text)) {
  const absl::StatusOr<Query> q = ParseQuery(text);
  if (q.ok()) RC_ASSERT(Validate(*q).ok());
}

struct World {
  ManualClock clock{50'000};
  Hlc hlc{clock, {.node_id = "n1"}};
  LwwMap map{hlc};
  IndexedLwwMap indexed{map, {.instance_id = 7}};
};

// eq of a string constant has its own path (bytes compared, no other class equal): the whole
// string, case and all, and never a value of another class.
TEST(Matcher, EqOfAStringIsTheWholeStringAndOnlyAString) {
  const Document abc{{"s", std::string("abc")}};
  EXPECT_TRUE(M(Eq("s", std::string("abc")), abc));
  EXPECT_FALSE(M(Eq("s", std::string("ab")), abc));
  EXPECT_FALSE(M(Eq("s", std::string("abd")), abc));
  EXPECT_FALSE(M(Eq("s", std::string("abcd")), abc));
  EXPECT_FALSE(M(Eq("s", std::string("ABC")), abc));
  EXPECT_TRUE(M(Eq("s", std::string("")), Document{{"s", std::string("")}}));
  EXPECT_FALSE(M(Eq("s", std::string("")), Document{}));  // Missing is null.
  EXPECT_FALSE(M(Eq("s", std::string("1")), Document{{"s", int64_t{1}}}));
  EXPECT_FALSE(M(Eq("s", std::string("abc")), Document{{"s", StringList{"abc"}}}));
  EXPECT_FALSE(M(Eq("s", std::string("true")), Document{{"s", true}}));
  EXPECT_TRUE(M(Eq("s", std::string("é\0z", 4)), Document{{"s", std::string("é\0z", 4)}}));
  EXPECT_FALSE(M(Neq("s", std::string("abc")), abc));
  // The same through a full scan of a map without indexes.
  World w;
  w.map.Set("k1", abc);
  w.map.Set("k2", Document{{"s", std::string("abcd")}});
  w.map.Set("k3", Document{{"s", int64_t{7}}});
  w.map.Set("k4", abc);
  const absl::StatusOr<QueryPage> page = w.indexed.Run(Query{Eq("s", std::string("abc")), {}, {}});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->rows.size(), 2u);
  EXPECT_EQ(page->rows[0].key, "k1");
  EXPECT_EQ(page->rows[1].key, "k4");
}

TEST(Cursor, EncodesAndRejectsGarbage) {
  CursorState s{1, 2, 3, 4, {int64_t{5}, std::string("x"), 2.5}, "key", Timestamp{9, 1, "n"}};
  const std::string token = EncodeCursor(s);
  EXPECT_EQ(*DecodeCursor(token), s);
  EXPECT_EQ(DecodeCursor("").status().message(), "cursor is not valid: empty token");
  EXPECT_EQ(DecodeCursor("!!!").status().message(), "cursor is not valid: not base64url text");
  std::string flipped = token;
  flipped[10] = flipped[10] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(DecodeCursor(flipped).ok());
  EXPECT_FALSE(DecodeCursor(token.substr(0, token.size() - 4)).ok());
  // A well-formed token whose tag names an impossible node id (the checksum is not a secret, so a
  // client can forge one) is refused before the id reaches the node-id pool.
  CursorState forged = s;
  forged.last_tag->node_id = "a:b";
  EXPECT_EQ(DecodeCursor(EncodeCursor(forged)).status().message(),
            "cursor is not valid: bad tag node id");
}

RC_GTEST_PROP(Cursor, DecodeNeverCrashes, (const std::string& token)) { (void)DecodeCursor(token); }

TEST(Cursor, WrongQueryExpiredAndForeignCursorsAreRejected) {
  World w;
  for (int i = 0; i < 10; ++i) w.map.Set(fmt::format("k{}", i), Document{{"n", int64_t{i}}});
  const Query q{Gte("n", int64_t{0}), {{"n", false}}, 3};
  absl::StatusOr<QueryPage> page = w.indexed.Run(q);
  ASSERT_TRUE(page.ok());
  ASSERT_FALSE(page->next_cursor.empty());
  Query other = q;
  other.where = Gte("n", int64_t{1});
  EXPECT_EQ(w.indexed.Run(other, page->next_cursor).status().message(),
            "cursor belongs to a different query (predicate or sort differ)");
  Query bigger = q;
  bigger.limit = 5;  // The limit may change between pages.
  EXPECT_TRUE(w.indexed.Run(bigger, page->next_cursor).ok());
  EXPECT_EQ(w.indexed.Run(q, "garbage").status().code(), absl::StatusCode::kInvalidArgument);
  // Another instance over the same map.
  IndexedLwwMap second(w.map, {.instance_id = 8});
  EXPECT_EQ(second.Run(q, page->next_cursor).status().code(),
            absl::StatusCode::kFailedPrecondition);
  w.clock.AdvanceMs(10 * 60 * 1000 + 1);
  EXPECT_EQ(w.indexed.Run(q, page->next_cursor).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(Indexes, AddIndexValidatesAndReportsMemory) {
  World w;
  w.map.Set("k", Document{{"a", int64_t{1}}, {"t", std::string("hello world")}});
  EXPECT_TRUE(w.indexed.AddIndex(IndexKind::kHash, {"a"}).ok());
  EXPECT_EQ(w.indexed.AddIndex(IndexKind::kHash, {"a"}).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(w.indexed.AddIndex(IndexKind::kHash, {"a", "b"}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(w.indexed.AddIndex(IndexKind::kCompound, {"a"}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(w.indexed.AddIndex(IndexKind::kCompound, {"a", "a"}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(w.indexed.AddIndex(IndexKind::kInverted, {"t"}).ok());
  for (const IndexInfo& info : w.indexed.engine().Indexes()) EXPECT_GT(info.approx_bytes, 0u);
}

// Without a sort and a limit a query returns its match set in index order (the order rows entered
// the engine here); a sort, a limit or a cursor gives result order.
TEST(ResultOrder, IndexOrderWithoutSortOrLimitResultOrderOtherwise) {
  World w;
  ASSERT_TRUE(w.indexed.AddIndex(IndexKind::kHash, {"a"}).ok());
  for (const char* k : {"c", "a", "d", "b"}) w.map.Set(k, Document{{"a", int64_t{1}}});
  const auto keys = [](const QueryPage& page) {
    std::string out;
    for (const RowRef& r : page.rows) out += r.key;
    return out;
  };
  const Query unordered{Eq("a", int64_t{1}), {}, {}};
  EXPECT_EQ(keys(*w.indexed.Run(unordered)), "cadb");
  EXPECT_EQ(keys(*w.indexed.Run(Query{All(), {}, {}})), "cadb");  // A full scan too.
  EXPECT_NE(w.indexed.Explain(unordered)->find("order: index order"), std::string::npos);
  const Query top{Eq("a", int64_t{1}), {}, 2};
  absl::StatusOr<QueryPage> first = w.indexed.Run(top);
  EXPECT_EQ(keys(*first), "ab");
  // The rest of the pages without a limit: still in result order after the cursor.
  EXPECT_EQ(keys(*w.indexed.Run(unordered, first->next_cursor)), "cd");
  EXPECT_EQ(keys(*w.indexed.Run(Query{Eq("a", int64_t{1}), {{"a", false}}, {}})), "abcd");
  // Live results are always in result order.
  absl::StatusOr<QueryEngine::Subscription> sub =
      w.indexed.Subscribe(unordered, [](const LiveDelta&) {});
  ASSERT_TRUE(sub.ok());
  EXPECT_EQ(keys(QueryPage{sub->initial, ""}), "abcd");
}

TEST(Explain, ShowsTheChosenPlan) {
  World w;
  for (int i = 0; i < 100; ++i) {
    w.map.Set(fmt::format("k{:03}", i), Document{{"a", int64_t{i % 10}}, {"b", int64_t{i}}});
  }
  ASSERT_TRUE(w.indexed.AddIndex(IndexKind::kHash, {"a"}).ok());
  ASSERT_TRUE(w.indexed.AddIndex(IndexKind::kNavigable, {"b"}).ok());
  const std::string plan = *w.indexed.Explain(
      Query{And({Eq("a", int64_t{3}), Lt("b", int64_t{20}), Like("c", "%")}), {}, {}});
  EXPECT_NE(plan.find("intersect"), std::string::npos) << plan;
  EXPECT_NE(plan.find("hash(a) = 3 (est 10 rows)"), std::string::npos) << plan;
  EXPECT_NE(plan.find("navigable(b) < 20 (est 20 rows)"), std::string::npos) << plan;
  EXPECT_NE(plan.find("1 operand(s) checked by the filter"), std::string::npos) << plan;
  EXPECT_NE(w.indexed.Explain(Query{Like("c", "%"), {}, {}})->find("full scan of 100 rows"),
            std::string::npos);
  EXPECT_NE(w.indexed.Explain(Query{All(), {{"b", true}}, 5})->find("walk navigable(b) descending"),
            std::string::npos);
}

// Run plans without labels (formatting them cost more than the lookup); Explain must still
// label every kind of node.
TEST(Explain, LabelsEveryKindOfNode) {
  World w;
  std::vector<Document> docs;
  for (int i = 0; i < 40; ++i) {
    Document d{{"a", int64_t{i % 4}},
               {"b", int64_t{i}},
               {"c", fmt::format("c{}", i % 2)},
               {"t", fmt::format("red fox {}", i % 3 == 0 ? "jumps" : "sleeps")}};
    if (i % 10 == 0) d.Erase("b");  // b is null in 4 rows.
    w.map.Set(fmt::format("k{:03}", i), d);
    docs.push_back(std::move(d));
  }
  ASSERT_TRUE(w.indexed.AddIndex(IndexKind::kHash, {"a"}).ok());
  ASSERT_TRUE(w.indexed.AddIndex(IndexKind::kNavigable, {"b"}).ok());
  ASSERT_TRUE(w.indexed.AddIndex(IndexKind::kCompound, {"a", "c"}).ok());
  ASSERT_TRUE(w.indexed.AddIndex(IndexKind::kInverted, {"t"}).ok());
  const std::vector<std::pair<Predicate, std::vector<std::string>>> cases = {
      {And({Eq("a", int64_t{1}), Eq("c", std::string("c1"))}),
       {"compound(a, c) = (1, \"c1\") (est 10 rows)"}},
      {In("a", {int64_t{1}, int64_t{2}}), {"hash(a) in [1, 2] (est 20 rows)"}},
      {Eq("b", int64_t{7}), {"navigable(b) = 7 (est 1 rows)"}},
      {In("b", {int64_t{7}, int64_t{8}}), {"navigable(b) in [7, 8] (est 2 rows)"}},
      {IsNull("b"), {"navigable(b) = null (est 4 rows)"}},
      {Between("b", int64_t{5}, int64_t{9}), {"navigable(b) between 5, 9 (est 5 rows)"}},
      {Gte("b", int64_t{30}), {"navigable(b) >= 30 (est 9 rows)"}},
      {Gt("b", int64_t{30}), {"navigable(b) > 30 (est 9 rows)"}},  // 30 is null.
      {Lt("b", int64_t{3}), {"navigable(b) < 3 (est 2 rows)"}},
      {Lte("b", int64_t{3}), {"navigable(b) <= 3 (est 3 rows)"}},
      {Neq("a", int64_t{0}), {"complement (est 30 rows)", "hash(a) = 0 (est 10 rows)"}},
      {Or({Eq("a", int64_t{0}), Lt("b", int64_t{2})}),
       {"union", "hash(a) = 0 (est 10 rows)", "navigable(b) < 2 (est 1 rows)"}},
      {MatchPrefix("t", "red ju"), {"inverted(t) tokens [red] prefix \"ju\""}},
      {Match("t", "!!"), {"inverted(t) no tokens"}},
  };
  for (const auto& [predicate, labels] : cases) {
    const Query q{predicate, {}, {}};
    const std::string plan = *w.indexed.Explain(q);
    for (const std::string& label : labels) EXPECT_NE(plan.find(label), std::string::npos) << plan;
    // Run plans the same query without labels: still the brute-force answer.
    size_t expected = 0;
    for (const Document& d : docs) expected += MatchesPredicate(predicate, d) ? 1 : 0;
    EXPECT_EQ(w.indexed.Run(q)->rows.size(), expected) << plan;
  }
}

TEST(LazyMatcher, BorrowsOrCompilesOnce) {
  const Predicate p = And({Eq("a", int64_t{1}), Like("s", "x%")});
  const Matcher compiled(p);
  const LazyMatcher borrowed(compiled);
  EXPECT_EQ(&borrowed.get(), &compiled);
  EXPECT_EQ(borrowed.compiled(), 0);
  const LazyMatcher lazy(p);
  EXPECT_EQ(lazy.compiled(), 0);  // Not before it is needed.
  const Matcher* first = &lazy.get();
  EXPECT_EQ(&lazy.get(), first);
  EXPECT_EQ(lazy.compiled(), 1);  // Once.
  const Document yes{{"a", int64_t{1}}, {"s", std::string("xy")}};
  const Document no{{"a", int64_t{1}}, {"s", std::string("yx")}};
  EXPECT_TRUE(lazy.Matches(yes));
  EXPECT_FALSE(lazy.Matches(no));
  EXPECT_EQ(borrowed.Matches(yes), MatchesPredicate(p, yes));
}

// An OR key losing several items in one change: removing each row refills the top-N window, and
// the refill reads the key's other rows, which must not point into items the map has freed (ASan
// caught the refill reading them before the adapter re-pointed its rows at the old entry).
TEST(LiveQuery, AnOrKeyLosingSeveralItemsRefillsFromLiveRowsOnly) {
  ManualClock clock{50'000};
  Hlc hlc{clock, {.node_id = "n1"}};
  OrMap map{hlc};
  IndexedOrMap indexed{map, {.instance_id = 8}};
  const Document top{{"score", int64_t{100}}};
  map.Add("k", top);
  map.Add("k", top);
  map.Add("a", Document{{"score", int64_t{50}}});
  map.Add("b", Document{{"score", int64_t{40}}});
  std::vector<std::string> events;
  auto sub = indexed.Subscribe(Query{All(), {{"score", true}}, 2}, [&](const LiveDelta& d) {
    events.push_back(fmt::format("{} {}", DeltaKindName(d.kind), d.row.key));
  });
  ASSERT_TRUE(sub.ok());
  ASSERT_EQ(sub->initial.size(), 2u);
  EXPECT_EQ(sub->initial[0].key, "k");
  ASSERT_EQ(map.Remove("k", top).size(), 2u);  // Both items of k at once (tombstones remain).
  const absl::StatusOr<std::vector<RowRef>> now = indexed.engine().LiveResult(sub->id);
  ASSERT_TRUE(now.ok());
  ASSERT_EQ(now->size(), 2u);
  EXPECT_EQ((*now)[0].key, "a");
  EXPECT_EQ((*now)[1].key, "b");
  EXPECT_EQ(events.back(), "ENTER b") << fmt::format("{}", fmt::join(events, "; "));
}

TEST(LiveQuery, TopNEmitsDisplacementAndPromotion) {
  World w;
  for (int i = 0; i < 5; ++i)
    w.map.Set(fmt::format("k{}", i), Document{{"score", int64_t{i * 10}}});
  std::vector<std::string> events;
  const Query top2{All(), {{"score", true}}, 2};  // The two highest scores.
  auto sub = w.indexed.Subscribe(top2, [&](const LiveDelta& d) {
    events.push_back(
        fmt::format("{} {} {}", DeltaKindName(d.kind), d.row.key, DeltaReasonName(d.reason)));
  });
  ASSERT_TRUE(sub.ok());
  ASSERT_EQ(sub->initial.size(), 2u);
  EXPECT_EQ(sub->initial[0].key, "k4");
  w.map.Set("k9", Document{{"score", int64_t{100}}});  // Enters at the top, pushes k3 out.
  w.map.Remove("k9");                                  // Leaves; k3 is promoted back.
  w.map.Set("k1", Document{{"score", int64_t{25}}});   // Below the window: nothing.
  w.map.Set("k3", Document{{"score", int64_t{31}}});   // Stays in the window: an update.
  w.map.Set("k3", Document{{"score", int64_t{5}}});    // Falls out; k1 is promoted.
  EXPECT_EQ(events,
            (std::vector<std::string>{"ENTER k9 changed", "LEAVE k3 displaced", "LEAVE k9 changed",
                                      "ENTER k3 promoted", "UPDATE k3 changed", "LEAVE k3 changed",
                                      "ENTER k1 promoted"}));
}

// Forget removes a live record: its row leaves every index while the listener still sees the key
// (the row keys are views of the map's keys; ASan checks the order).
TEST(IndexedLwwMap, AForgottenLiveRecordLeavesItsIndexesAndResults) {
  ManualClock clock{1000};
  Hlc hlc{clock, {.node_id = "n1"}};
  LwwMap map{hlc};
  IndexedLwwMap indexed{map};
  ASSERT_TRUE(indexed.AddIndex(IndexKind::kHash, {"city"}).ok());
  ASSERT_TRUE(indexed.AddIndex(IndexKind::kNavigable, {"n"}).ok());
  for (int64_t i = 0; i < 40; ++i) {
    map.Set(fmt::format("key-with-a-long-name-{}", i),
            Document{{"city", std::string("Oslo")}, {"n", i}});
  }
  EXPECT_TRUE(map.Forget("key-with-a-long-name-7"));
  map.Set("key-with-a-long-name-40", Document{{"city", std::string("Oslo")}, {"n", int64_t{40}}});
  for (const Query& q : {Query{Eq("city", std::string("Oslo")), {}, {}},
                         Query{Gte("n", Value(int64_t{0})), {}, {}}}) {
    absl::StatusOr<QueryPage> page = indexed.Run(q);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_EQ(page->rows.size(), 40u);
    for (const RowRef& row : page->rows) EXPECT_NE(row.key, "key-with-a-long-name-7");
  }
}

TEST(LiveQuery, SharedStandingResultAndExpiryByTimer) {
  ManualClock clock{1000};
  ManualTimers timers{clock};
  Hlc hlc{clock, {.node_id = "n1"}};
  LwwMap map{hlc};
  IndexedLwwMap indexed{map, {.timers = &timers}};
  int calls_a = 0, calls_b = 0;
  const Query q{Eq("kind", std::string("session")), {}, {}};
  auto a = indexed.Subscribe(q, [&](const LiveDelta&) { ++calls_a; });
  auto b = indexed.Subscribe(q, [&](const LiveDelta& d) {
    ++calls_b;
    EXPECT_EQ(d.kind, calls_b == 1 ? DeltaKind::kEnter : DeltaKind::kLeave);
  });
  EXPECT_EQ(indexed.engine().standing_queries(), 1u);
  map.Set("s1", Document{{"kind", std::string("session")}}, /*ttl_ms=*/100);
  clock.AdvanceMs(100);  // Live at equality: expired only when ts + ttl < now.
  timers.RunDue();
  EXPECT_EQ(calls_b, 1);
  clock.AdvanceMs(1);
  timers.RunDue();
  EXPECT_EQ(calls_a, 2);
  EXPECT_EQ(calls_b, 2);
  EXPECT_TRUE(indexed.Unsubscribe(a->id));
  EXPECT_EQ(indexed.engine().standing_queries(), 1u);
  EXPECT_TRUE(indexed.Unsubscribe(b->id));
  EXPECT_EQ(indexed.engine().standing_queries(), 0u);
  EXPECT_FALSE(indexed.Unsubscribe(b->id));
}

// Found by the replica workload's TTL writes: a newer write to a key whose TTL ran out, arriving
// before anything expired its row, must not expire that row from the new document (the index
// holds the old one).
TEST(LiveQuery, ANewWriteToAKeyDueToExpireReplacesItsRow) {
  World w;
  ASSERT_TRUE(w.indexed.AddIndex(IndexKind::kHash, {"city"}).ok());
  w.map.Set("k", Document{{"city", std::string("Oslo")}}, /*ttl_ms=*/10);
  w.clock.AdvanceMs(11);  // Due, and nothing has expired it yet.
  w.map.Set("k", Document{{"city", std::string("Rome")}});
  const Query rome{Eq("city", std::string("Rome")), {}, {}};
  const Query oslo{Eq("city", std::string("Oslo")), {}, {}};
  ASSERT_EQ(w.indexed.Run(rome)->rows.size(), 1u);
  EXPECT_TRUE(w.indexed.Run(oslo)->rows.empty());
  w.map.Remove("k");
  EXPECT_TRUE(w.indexed.Run(rome)->rows.empty());
}

TEST(LiveQuery, ClockSteppingBackDoesNotResurrectExpiredRows) {
  World w;
  w.map.Set("k", Document{{"a", int64_t{1}}}, 10);
  w.clock.AdvanceMs(11);
  EXPECT_TRUE(w.indexed.Run(Query{})->rows.empty());
  w.clock.SetMs(40'000);
  EXPECT_TRUE(w.indexed.Run(Query{})->rows.empty());
}

}  // namespace
}  // namespace seedgrid
