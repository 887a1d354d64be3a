// Model-equivalence properties: for random data, random predicate trees (depth <= 4) and every mix
// of indexes, the planned result equals brute force; paging concatenates to the full result and
// keeps its guarantees while the map changes; live subscriptions (and live pages after a cursor)
// always equal a fresh query and their deltas replay to it.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <set>

#include "engine/env/testing/manual_env.h"
#include "engine/query/indexed_map.h"
#include "engine/query/query_testing.h"

namespace seedgrid {
namespace {

using testing::GenDocument;
using testing::GenIndexes;
using testing::GenQuery;
using testing::IndexSpec;
using testing::LiveRows;
using testing::Reference;
using testing::RefRow;
using testing::SameRows;
using testing::ToRef;

std::string Key(int i) { return fmt::format("k{:02d}", i); }

struct LwwWorld {
  ManualClock clock{10'000};
  Hlc hlc{clock, {.node_id = "n1"}};
  LwwMap map{hlc};
  std::optional<IndexedLwwMap> indexed;
};

void AddIndexes(IndexedMapBase& m, const std::vector<IndexSpec>& specs) {
  for (const IndexSpec& s : specs) RC_ASSERT(m.AddIndex(s.kind, s.fields).ok());
}

std::vector<RefRow> RunAll(IndexedMapBase& m, const Query& q) {
  absl::StatusOr<QueryPage> page = m.Run(q);
  RC_ASSERT(page.ok());
  std::vector<RefRow> rows = ToRef(page->rows);
  if (!HasResultOrder(q)) testing::SortByKeyAndTag(&rows);  // Index order: compared as a set.
  return rows;
}

RC_GTEST_PROP(QueryProperty, PlannedResultEqualsBruteForce, ()) {
  LwwWorld w;
  const auto docs = *rc::gen::container<std::vector<Document>>(GenDocument());
  const auto before = GenIndexes();
  const auto after = GenIndexes();
  w.indexed.emplace(w.map);
  AddIndexes(*w.indexed, before);  // Indexes built incrementally...
  for (size_t i = 0; i < docs.size() && i < 60; ++i) {
    const bool ttl = *rc::gen::inRange(0, 6) == 0;
    w.map.Set(Key(static_cast<int>(i)), docs[i], ttl ? std::optional<uint64_t>(5) : std::nullopt);
    if (*rc::gen::inRange(0, 8) == 0) w.map.Remove(Key(static_cast<int>(i)));
  }
  w.clock.AdvanceMs(*rc::gen::inRange<uint64_t>(0, 10));  // Maybe expire the TTL rows.
  for (const IndexSpec& s : after) {
    (void)w.indexed->AddIndex(s.kind, s.fields);  // ...and from existing rows (dups refused).
  }
  const Query q = GenQuery();
  RC_TAG(q.where.op == Op::kAll ? "all" : "predicate");
  const std::vector<RefRow> got = RunAll(*w.indexed, q);
  const std::vector<RefRow> want =
      Reference(q, LiveRows(w.map, w.indexed->engine().expiry_now_ms()));
  RC_ASSERT(w.indexed->Explain(q).ok());
  if (!SameRows(got, want)) {
    RC_FAIL(fmt::format("query {}\nplan:\n{}\ngot:\n{}want:\n{}", ToString(q),
                        *w.indexed->Explain(q), testing::Describe(got), testing::Describe(want)));
  }
}

RC_GTEST_PROP(QueryProperty, PagesConcatenateToTheFullResult, ()) {
  LwwWorld w;
  w.indexed.emplace(w.map);
  AddIndexes(*w.indexed, GenIndexes());
  const auto docs = *rc::gen::container<std::vector<Document>>(GenDocument());
  for (size_t i = 0; i < docs.size() && i < 60; ++i) w.map.Set(Key(static_cast<int>(i)), docs[i]);
  Query q = GenQuery();
  q.limit = *rc::gen::inRange<uint64_t>(1, 6);
  Query full = q;
  full.limit.reset();
  const std::vector<RefRow> want = RunAll(*w.indexed, full);
  std::vector<RefRow> got;
  std::string cursor;
  for (int pages = 0; pages <= 100; ++pages) {
    absl::StatusOr<QueryPage> page = w.indexed->Run(q, cursor);
    RC_ASSERT(page.ok());
    RC_ASSERT(page->rows.size() <= *q.limit);
    for (const RefRow& r : ToRef(page->rows)) got.push_back(r);
    cursor = page->next_cursor;
    if (cursor.empty()) break;
  }
  RC_ASSERT(cursor.empty());
  RC_ASSERT(SameRows(got, want));
}

RC_GTEST_PROP(QueryProperty, PagingUnderChangesNeverRepeatsNorSkipsStableRows, ()) {
  LwwWorld w;
  w.indexed.emplace(w.map);
  AddIndexes(*w.indexed, GenIndexes());
  const int keys = 30;
  for (int i = 0; i < keys; ++i) w.map.Set(Key(i), *GenDocument());
  Query q = GenQuery();
  q.limit = *rc::gen::inRange<uint64_t>(1, 5);
  const Matcher matcher(q.where);
  const auto matching_keys = [&] {
    std::set<std::string> out;
    for (const RefRow& r : LiveRows(w.map, UINT64_MAX - 1)) {
      if (matcher.Matches(r.doc)) out.insert(r.key);
    }
    return out;
  };
  std::set<std::string> stable = matching_keys();  // Present (and matching) throughout.
  std::set<std::string> untouched = stable;        // ...and never written.
  std::set<std::string> seen;
  std::string cursor;
  for (int pages = 0; pages <= 200; ++pages) {
    absl::StatusOr<QueryPage> page = w.indexed->Run(q, cursor);
    RC_ASSERT(page.ok());
    for (const RowRef& r : page->rows) {
      RC_ASSERT(seen.insert(std::string(r.key)).second);  // Never twice.
    }
    cursor = page->next_cursor;
    if (cursor.empty()) break;
    // Concurrent changes between pages.
    const int changes = *rc::gen::inRange(0, 4);
    for (int c = 0; c < changes; ++c) {
      const std::string k = Key(*rc::gen::inRange(0, keys + 5));
      untouched.erase(k);
      if (*rc::gen::inRange(0, 4) == 0) {
        w.map.Remove(k);
      } else {
        w.map.Set(k, *GenDocument());
      }
      std::set<std::string> now = matching_keys();
      std::erase_if(stable, [&](const std::string& s) { return !now.contains(s); });
    }
  }
  RC_ASSERT(cursor.empty());
  for (const std::string& k : untouched) RC_ASSERT(seen.contains(k));
  if (q.sort.empty()) {
    for (const std::string& k : stable) RC_ASSERT(seen.contains(k));
  }
}

// The rows of q after `start` by Run with that position as a cursor of this engine (its
// start sequence now: no row is left out as changed since paging began).
std::vector<RefRow> RunAfter(IndexedMapBase& m, const Query& q, CursorState start) {
  start.instance_id = m.engine().instance_id();
  start.start_seq = m.engine().change_seq();
  start.expires_at_ms = UINT64_MAX;
  absl::StatusOr<QueryPage> page = m.Run(q, EncodeCursor(start));
  RC_ASSERT(page.ok());
  return ToRef(page->rows);
}

// A start position for a live page of q: after a random row of its result, or at a random key.
std::optional<CursorState> GenStart(IndexedMapBase& m, const Query& q) {
  if (*rc::gen::inRange(0, 3) != 0) return std::nullopt;
  Query all = q;
  all.limit.reset();
  absl::StatusOr<QueryPage> page = m.Run(all);
  RC_ASSERT(page.ok());
  if (!page->rows.empty() && *rc::gen::arbitrary<bool>()) {
    return QueryEngine::CursorAfter(q, page->rows[*rc::gen::inRange<size_t>(0, page->rows.size())]);
  }
  Document doc = *GenDocument();
  const std::string key = Key(*rc::gen::inRange(0, 12));
  return QueryEngine::CursorAfter(q, RowRef{key, nullptr, &doc});
}

// Replays deltas onto the initial result: key/tag -> document.
using Replay = std::map<std::pair<std::string, std::optional<Timestamp>>, Document>;

Replay ReplayOf(const std::vector<RowRef>& rows) {
  Replay out;
  for (const RowRef& r : rows) {
    out[{std::string(r.key), r.tag ? std::optional<Timestamp>(*r.tag) : std::nullopt}] = *r.value;
  }
  return out;
}

struct LiveSub {
  Query query;
  std::optional<CursorState> start;  // A live page: rows after this position.
  SubscriptionId id = 0;
  Replay replay;
  std::string error;
};

void Subscribe(IndexedMapBase& m, std::vector<std::unique_ptr<LiveSub>>* subs, Query q,
               std::optional<CursorState> start = std::nullopt) {
  auto sub = std::make_unique<LiveSub>();
  LiveSub* s = sub.get();
  s->query = q;
  s->start = start;
  auto callback = [s](const LiveDelta& d) {
    auto k = std::make_pair(std::string(d.row.key),
                            d.row.tag ? std::optional<Timestamp>(*d.row.tag) : std::nullopt);
    const bool present = s->replay.contains(k);
    if (d.kind == DeltaKind::kEnter) {
      if (present) s->error = "ENTER of a present row " + k.first;
      s->replay[k] = *d.row.value;
    } else if (d.kind == DeltaKind::kUpdate) {
      if (!present) s->error = "UPDATE of an absent row " + k.first;
      s->replay[k] = *d.row.value;
    } else {
      if (!present) s->error = "LEAVE of an absent row " + k.first;
      s->replay.erase(k);
    }
  };
  auto result = start ? m.SubscribeAfter(q, *start, callback) : m.Subscribe(q, callback);
  RC_ASSERT(result.ok());
  s->id = result->id;
  s->replay = ReplayOf(result->initial);
  subs->push_back(std::move(sub));
}

void CheckSubscriptions(IndexedMapBase& m, const std::vector<std::unique_ptr<LiveSub>>& subs) {
  for (const auto& s : subs) {
    RC_ASSERT(s->error.empty());
    const std::vector<RefRow> fresh =
        s->start ? RunAfter(m, s->query, *s->start) : RunAll(m, s->query);
    absl::StatusOr<std::vector<RowRef>> live = m.engine().LiveResult(s->id);
    RC_ASSERT(live.ok());
    if (!SameRows(ToRef(*live), fresh)) {
      RC_FAIL(fmt::format("subscription {}\nlive:\n{}fresh:\n{}", ToString(s->query),
                          testing::Describe(ToRef(*live)), testing::Describe(fresh)));
    }
    RC_ASSERT(ReplayOf(*live) == s->replay);
  }
}

Query GenLiveQuery() {
  Query q = GenQuery();
  if (*rc::gen::arbitrary<bool>()) {  // Top-N windows get their own share of the runs.
    q.limit = *rc::gen::inRange<uint64_t>(1, 4);
    if (q.sort.empty()) q.sort.push_back({"a", *rc::gen::arbitrary<bool>()});
  }
  return q;
}

RC_GTEST_PROP(QueryProperty, LiveLwwSubscriptionsEqualFreshQueries, ()) {
  LwwWorld w;
  const int keys = 12;
  for (int i = 0; i < keys / 2; ++i) w.map.Set(Key(i), *GenDocument());
  w.indexed.emplace(w.map);
  AddIndexes(*w.indexed, GenIndexes());
  std::vector<std::unique_ptr<LiveSub>> subs;
  const int n_subs = *rc::gen::inRange(1, 4);
  for (int i = 0; i < n_subs; ++i) {
    const Query q = GenLiveQuery();
    Subscribe(*w.indexed, &subs, q, GenStart(*w.indexed, q));
  }
  if (*rc::gen::arbitrary<bool>()) {  // Shared.
    Subscribe(*w.indexed, &subs, subs[0]->query, subs[0]->start);
  }
  CheckSubscriptions(*w.indexed, subs);
  const int steps = *rc::gen::inRange(1, 40);
  for (int step = 0; step < steps; ++step) {
    const std::string k = Key(*rc::gen::inRange(0, keys));
    switch (*rc::gen::inRange(0, 6)) {
      case 0:
      case 1: {
        const bool ttl = *rc::gen::inRange(0, 3) == 0;
        w.map.Set(k, *GenDocument(),
                  ttl ? std::optional<uint64_t>(*rc::gen::inRange<uint64_t>(1, 30)) : std::nullopt);
        break;
      }
      case 2:
        w.map.Remove(k);
        break;
      case 3: {  // Remote merge: older or newer than local, value or tombstone.
        const uint64_t millis = w.clock.NowMs() - 50 + *rc::gen::inRange<uint64_t>(0, 100);
        LwwRecord r{*rc::gen::inRange(0, 4) == 0 ? std::nullopt : std::optional(*GenDocument()),
                    Timestamp{millis, *rc::gen::inRange<uint32_t>(0, 3), "r"}, std::nullopt};
        RC_ASSERT(w.map.Merge(k, std::move(r)).ok());
        break;
      }
      case 4:
        w.clock.AdvanceMs(*rc::gen::inRange<uint64_t>(0, 40));
        w.indexed->ExpireDue();
        break;
      default:
        w.map.Prune(w.hlc.Now());
        break;
    }
    CheckSubscriptions(*w.indexed, subs);
  }
  for (const auto& s : subs) RC_ASSERT(w.indexed->Unsubscribe(s->id));
  RC_ASSERT(w.indexed->engine().standing_queries() == 0u);
}

RC_GTEST_PROP(QueryProperty, LiveOrSubscriptionsEqualFreshQueries, ()) {
  ManualClock clock{10'000};
  Hlc hlc{clock, {.node_id = "n1"}};
  OrMap map{hlc};
  IndexedOrMap indexed(map);
  AddIndexes(indexed, GenIndexes());
  std::vector<std::unique_ptr<LiveSub>> subs;
  const int n_subs = *rc::gen::inRange(1, 4);
  for (int i = 0; i < n_subs; ++i) {
    const Query q = GenLiveQuery();
    Subscribe(indexed, &subs, q, GenStart(indexed, q));
  }
  const int steps = *rc::gen::inRange(1, 40);
  for (int step = 0; step < steps; ++step) {
    const std::string k = Key(*rc::gen::inRange(0, 6));
    switch (*rc::gen::inRange(0, 5)) {
      case 0:
      case 1: {
        const bool ttl = *rc::gen::inRange(0, 3) == 0;
        map.Add(k, *GenDocument(),
                ttl ? std::optional<uint64_t>(*rc::gen::inRange<uint64_t>(1, 30)) : std::nullopt);
        break;
      }
      case 2: {
        const std::vector<const Document*> values = map.GetAt(k, UINT64_MAX - 1);
        if (!values.empty()) {
          map.Remove(k, *values[*rc::gen::inRange<size_t>(0, values.size())]);
        }
        break;
      }
      case 3: {
        const uint64_t millis = clock.NowMs() - 50 + *rc::gen::inRange<uint64_t>(0, 100);
        const Timestamp tag{millis, *rc::gen::inRange<uint32_t>(0, 3), "r"};
        std::vector<Timestamp> tombstones;
        if (const OrEntry* e = map.GetEntry(k);
            e && !e->items.empty() && *rc::gen::arbitrary<bool>()) {
          tombstones.push_back(e->items.begin()->first);
        }
        RC_ASSERT(map.Merge(k, {{tag, *GenDocument(), std::nullopt}}, tombstones).ok());
        break;
      }
      default:
        clock.AdvanceMs(*rc::gen::inRange<uint64_t>(0, 40));
        indexed.ExpireDue();
        break;
    }
    CheckSubscriptions(indexed, subs);
    const Query q = GenQuery();
    RC_ASSERT(SameRows(RunAll(indexed, q),
                       Reference(q, LiveRows(map, indexed.engine().expiry_now_ms()))));
  }
}

}  // namespace
}  // namespace seedgrid
