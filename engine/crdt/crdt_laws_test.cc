// CRDT laws and convergence, checked by RapidCheck.
//
// State-based laws: merge is commutative, associative and idempotent for LwwMap, OrMap and
// PnCounter. Operation-based convergence: N replicas (skewed clocks) apply random local
// operations, broadcast them, and receive every message in a random order with duplicates; all
// replicas end with identical contents and Merkle roots, equal to a simple model.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <memory>
#include <set>

#include "engine/crdt/lww_map.h"
#include "engine/crdt/or_map.h"
#include "engine/crdt/pn_counter.h"
#include "engine/env/testing/manual_env.h"

namespace seedgrid {

std::ostream& operator<<(std::ostream& os, const LwwRecord& r) { return os << r.ToString(); }

namespace {

// ---------- LWW state-based laws ----------

// Small key, timestamp and value domains so that collisions are common — including records with
// the same timestamp and different contents, which honest replicas never produce but which must
// still merge commutatively (resolved by record hash).
rc::Gen<std::pair<std::string, LwwRecord>> GenLwwRecord() {
  return rc::gen::apply(
      [](int key, uint64_t millis, uint32_t counter, int node, int v) {
        Timestamp ts{millis, counter, "n" + std::to_string(node)};
        std::optional<Document> value;
        if (v != 0) value = Document{{"v", int64_t{v}}};
        return std::make_pair("k" + std::to_string(key), LwwRecord{value, ts, std::nullopt});
      },
      rc::gen::inRange(0, 6), rc::gen::inRange<uint64_t>(1000, 1004),
      rc::gen::inRange<uint32_t>(0, 3), rc::gen::inRange(0, 3), rc::gen::inRange(0, 3));
}

using LwwState = std::vector<std::pair<std::string, LwwRecord>>;

struct LwwReplica {
  ManualClock clock{2000};
  Hlc hlc{clock, {.node_id = "r", .drift_mode = DriftMode::kLenient}};
  LwwMap map{hlc};
};

std::unique_ptr<LwwReplica> FromLww(const std::vector<const LwwState*>& states) {
  auto r = std::make_unique<LwwReplica>();
  for (const LwwState* s : states) {
    for (const auto& [k, rec] : *s) RC_ASSERT(r->map.Merge(k, rec).ok());
  }
  return r;
}

LwwState StateOf(const LwwMap& map) { return LwwState(map.records().begin(), map.records().end()); }

void AssertSameLww(const LwwMap& a, const LwwMap& b) {
  RC_ASSERT(StateOf(a) == StateOf(b));
  RC_ASSERT(a.merkle().root() == b.merkle().root());
}

RC_GTEST_PROP(LwwLaws, MergeIsCommutativeAssociativeIdempotent, ()) {
  const auto a = *rc::gen::container<LwwState>(GenLwwRecord());
  const auto b = *rc::gen::container<LwwState>(GenLwwRecord());
  const auto c = *rc::gen::container<LwwState>(GenLwwRecord());
  // The arguments' own internal order must not matter either: a state is a set of writes.
  const auto ab = FromLww({&a, &b});
  const auto ba = FromLww({&b, &a});
  AssertSameLww(ab->map, ba->map);
  const LwwState sab = StateOf(ab->map);
  const LwwState sbc = StateOf(FromLww({&b, &c})->map);
  AssertSameLww(FromLww({&sab, &c})->map, FromLww({&a, &sbc})->map);
  const auto aa = FromLww({&a, &a});
  AssertSameLww(aa->map, FromLww({&a})->map);
}

// ---------- OR state-based laws ----------

using OrState = std::map<std::string, OrEntry>;

rc::Gen<OrState> GenOrState() {
  return rc::gen::exec([] {
    OrState state;
    const int n = *rc::gen::inRange(0, 8);
    for (int i = 0; i < n; ++i) {
      const std::string key = "k" + std::to_string(*rc::gen::inRange(0, 4));
      const Timestamp tag{*rc::gen::inRange<uint64_t>(1000, 1003),
                          *rc::gen::inRange<uint32_t>(0, 2),
                          "n" + std::to_string(*rc::gen::inRange(0, 2))};
      // Grid items carry their add's origin (or_map.h), and a remove may name one, bare (a
      // client's) or as an owner's kill, which subsumes the bare one (or_map.h, "Kills").
      const Timestamp origin =
          OrOrigin("c" + std::to_string(*rc::gen::inRange(0, 2)), *rc::gen::inRange(0, 3));
      const bool with_origin = *rc::gen::inRange(0, 3) == 0;
      const Timestamp kill = OrKill(origin, *rc::gen::inRange<uint64_t>(1000, 1003));
      const auto killed = [&](const OrEntry& e) {
        return std::any_of(e.tombstones.begin(), e.tombstones.end(), [&](const Timestamp& t) {
          return IsOrKill(t) && t.counter == origin.counter && t.node_id == origin.node_id;
        });
      };
      OrEntry& entry = state[key];
      if (*rc::gen::arbitrary<bool>()) {
        const bool as_kill = with_origin && *rc::gen::arbitrary<bool>();
        const Timestamp dead = with_origin ? origin : tag;
        if (as_kill) {
          entry.tombstones.insert(kill);
          entry.tombstones.erase(origin);
        } else if (!(with_origin && killed(entry))) {
          entry.tombstones.insert(dead);
        }
        std::erase_if(entry.items, [&](const auto& item) {
          return item.first == dead || item.second.origin == dead ||
                 (with_origin && item.second.origin == origin);
        });
      } else {
        // An honest item: its payload is a function of its tag (tags are unique per add; a tag
        // with two payloads is bad input, which merge keeps commutative but not associative).
        const bool has_origin = tag.counter == 1;
        const Timestamp its_origin = OrOrigin("c" + std::string(tag.node_id.view().substr(1)),
                                              static_cast<uint32_t>(tag.millis - 1000));
        const auto its_killed = [&] {
          return std::any_of(entry.tombstones.begin(), entry.tombstones.end(), [&](const auto& t) {
            return IsOrKill(t) && t.counter == its_origin.counter &&
                   t.node_id == its_origin.node_id;
          });
        };
        if (!entry.tombstones.contains(tag) &&
            !(has_origin && (entry.tombstones.contains(its_origin) || its_killed()))) {
          entry.items[tag] = OrItem{Document{{"v", tag.ToString()}}, std::nullopt,
                                    has_origin ? std::optional(its_origin) : std::nullopt};
        }
      }
    }
    return state;
  });
}

struct OrReplica {
  ManualClock clock{2000};
  Hlc hlc{clock, {.node_id = "r", .drift_mode = DriftMode::kLenient}};
  OrMap map{hlc};
};

std::unique_ptr<OrReplica> FromOr(const std::vector<const OrState*>& states) {
  auto r = std::make_unique<OrReplica>();
  for (const OrState* s : states) {
    for (const auto& [k, entry] : *s) RC_ASSERT(r->map.MergeEntry(k, entry).ok());
  }
  return r;
}

OrState StateOf(const OrMap& map) { return OrState(map.entries().begin(), map.entries().end()); }

void AssertSameOr(const OrMap& a, const OrMap& b) {
  RC_ASSERT(StateOf(a) == StateOf(b));
  RC_ASSERT(a.merkle().root() == b.merkle().root());
}

RC_GTEST_PROP(OrLaws, MergeIsCommutativeAssociativeIdempotent, ()) {
  const OrState a = *GenOrState(), b = *GenOrState(), c = *GenOrState();
  AssertSameOr(FromOr({&a, &b})->map, FromOr({&b, &a})->map);
  const OrState sab = StateOf(FromOr({&a, &b})->map);
  const OrState sbc = StateOf(FromOr({&b, &c})->map);
  AssertSameOr(FromOr({&sab, &c})->map, FromOr({&a, &sbc})->map);
  AssertSameOr(FromOr({&a, &a})->map, FromOr({&a})->map);
}

// ForgetTags (a client's GC sweep; ForgetTag is its one-tag case) against a model: the entry
// loses exactly the items and tombstones tagged (the key goes when nothing is left), the count is
// of those that were there, and listeners see one change from the old entry to the new one.
RC_GTEST_PROP(OrMapForget, ForgetTagsDropsExactlyTheTagsInOneChange, ()) {
  const OrState state = *GenOrState();
  RC_PRE(!state.empty());
  const auto chosen = std::next(state.begin(), *rc::gen::inRange<size_t>(0, state.size()));
  const std::string key = chosen->first;
  const OrEntry entry = chosen->second;
  std::vector<Timestamp> tags{Timestamp{1, 0, "absent"}};  // one the entry never had
  OrState model = state;
  size_t there = 0;
  for (const auto& [tag, item] : entry.items) {
    if (*rc::gen::arbitrary<bool>()) tags.push_back(tag);
  }
  for (const Timestamp& t : entry.tombstones) {
    if (*rc::gen::arbitrary<bool>()) tags.push_back(t);
  }
  if (tags.size() > 1 && *rc::gen::arbitrary<bool>()) tags.push_back(tags[1]);  // a duplicate
  for (const Timestamp& t : tags) {
    there += model[key].items.erase(t) + model[key].tombstones.erase(t);
  }
  if (model[key].empty()) model.erase(key);
  const std::unique_ptr<OrReplica> r = FromOr({&state});
  std::vector<std::pair<std::optional<OrEntry>, std::optional<OrEntry>>> changes;
  r->map.AddListener([&](const OrChange& c) {
    RC_ASSERT(c.key == key);
    changes.emplace_back(c.old_entry ? std::optional(*c.old_entry) : std::nullopt,
                         c.new_entry ? std::optional(*c.new_entry) : std::nullopt);
  });
  RC_ASSERT(r->map.ForgetTags(key, tags) == there);
  RC_ASSERT(StateOf(r->map) == model);
  RC_ASSERT(r->map.merkle().root() == FromOr({&model})->map.merkle().root());
  RC_ASSERT(changes.size() == (there > 0 ? 1u : 0u));
  if (there > 0) {
    RC_ASSERT(changes[0].first == std::optional(entry));
    const auto now = model.find(key);
    RC_ASSERT(changes[0].second ==
              (now == model.end() ? std::nullopt : std::optional(now->second)));
  }
  RC_ASSERT(r->map.ForgetTags(key, tags) == 0u);  // nothing left to forget: no change, no call
  RC_ASSERT(changes.size() == (there > 0 ? 1u : 0u));
}

// ---------- PN state-based laws ----------

rc::Gen<PnState> GenPnState() {
  return rc::gen::exec([] {
    PnState state;
    const int n = *rc::gen::inRange(0, 5);
    for (int i = 0; i < n; ++i) {
      state["n" + std::to_string(*rc::gen::inRange(0, 4))] =
          PnTotals{*rc::gen::inRange<uint64_t>(0, 50), *rc::gen::inRange<uint64_t>(0, 50)};
    }
    return state;
  });
}

PnState MergePn(std::initializer_list<const PnState*> states) {
  PnCounter c("local");
  for (const PnState* s : states) RC_ASSERT(c.Merge(*s).ok());
  PnState out = c.state();
  return out;
}

RC_GTEST_PROP(PnLaws, MergeIsCommutativeAssociativeIdempotent, ()) {
  const PnState a = *GenPnState(), b = *GenPnState(), c = *GenPnState();
  RC_ASSERT(MergePn({&a, &b}) == MergePn({&b, &a}));
  const PnState ab = MergePn({&a, &b}), bc = MergePn({&b, &c});
  RC_ASSERT(MergePn({&ab, &c}) == MergePn({&a, &bc}));
  RC_ASSERT(MergePn({&a, &a}) == MergePn({&a}));
}

// ---------- Operation-based convergence with skewed clocks ----------

struct Node {
  Node(int index, uint64_t skew_ms)
      : clock(100'000 + skew_ms),
        hlc(clock, {.node_id = "node" + std::to_string(index), .max_drift_ms = 60'000}),
        lww(hlc),
        orm(hlc),
        pn(hlc.node_id()) {}
  ManualClock clock;
  Hlc hlc;
  LwwMap lww;
  OrMap orm;
  PnCounter pn;
};

struct Message {
  int to;
  std::string key;
  int kind;  // 0 lww record, 1 or add/remove, 2 pn state
  LwwRecord lww;
  std::vector<OrRecord> or_items;
  std::vector<Timestamp> or_tombstones;
  PnState pn;
};

void Deliver(std::vector<std::unique_ptr<Node>>& nodes, const Message& m) {
  Node& n = *nodes[m.to];
  if (m.kind == 0) RC_ASSERT(n.lww.Merge(m.key, m.lww).ok());
  if (m.kind == 1) RC_ASSERT(n.orm.Merge(m.key, m.or_items, m.or_tombstones).ok());
  if (m.kind == 2) RC_ASSERT(n.pn.Merge(m.pn).ok());
}

RC_GTEST_PROP(Convergence, ReplicasConvergeToModelUnderReorderAndDuplication, ()) {
  const int node_count = *rc::gen::inRange(2, 6);
  std::vector<std::unique_ptr<Node>> nodes;
  for (int i = 0; i < node_count; ++i) {
    nodes.push_back(std::make_unique<Node>(i, *rc::gen::inRange<uint64_t>(0, 5'000)));
  }
  // Models.
  std::map<std::string, LwwRecord> lww_model;
  std::map<std::string, std::map<Timestamp, Document>> or_added;
  std::set<Timestamp> or_removed;
  int64_t pn_model = 0;

  std::vector<Message> pending;
  const auto broadcast = [&](int from, Message m) {
    for (int to = 0; to < node_count; ++to) {
      if (to == from) continue;
      m.to = to;
      pending.push_back(m);
    }
  };
  const int steps = *rc::gen::inRange(1, 120);
  for (int step = 0; step < steps; ++step) {
    const int action = *rc::gen::inRange(0, 10);
    const int origin = *rc::gen::inRange(0, node_count);
    Node& n = *nodes[origin];
    const std::string key = "k" + std::to_string(*rc::gen::inRange(0, 5));
    const int64_t v = *rc::gen::inRange<int64_t>(0, 4);
    if (action <= 3 && !pending.empty()) {
      // Deliver a random pending message; sometimes keep it to deliver again (duplication).
      const size_t i = *rc::gen::inRange<size_t>(0, pending.size());
      Deliver(nodes, pending[i]);
      if (*rc::gen::inRange(0, 4) != 0) pending.erase(pending.begin() + i);  // 1 in 4 stays.
    } else if (action == 4) {
      n.clock.AdvanceMs(*rc::gen::inRange<uint64_t>(0, 50));
    } else if (action == 5) {
      const Timestamp ts =
          *rc::gen::arbitrary<bool>() ? n.lww.Set(key, Document{{"v", v}}) : n.lww.Remove(key);
      const LwwRecord rec = *n.lww.GetRecord(key);
      RC_ASSERT(rec.ts == ts);
      if (!lww_model.contains(key) || lww_model[key].ts < ts) lww_model[key] = rec;
      broadcast(origin, Message{0, key, 0, rec, {}, {}, {}});
    } else if (action == 6) {
      const Document doc{{"v", v}};
      const Timestamp tag = n.orm.Add(key, doc);
      or_added[key][tag] = doc;
      broadcast(origin, Message{0, key, 1, {}, {{tag, doc, std::nullopt}}, {}, {}});
    } else if (action == 7) {
      const std::vector<Timestamp> removed = n.orm.Remove(key, Document{{"v", v}});
      or_removed.insert(removed.begin(), removed.end());
      if (!removed.empty()) broadcast(origin, Message{0, key, 1, {}, {}, removed, {}});
    } else {
      const uint64_t by = *rc::gen::inRange<uint64_t>(1, 10);
      if (action == 8) {
        RC_ASSERT(n.pn.Increment(by).ok());
        pn_model += static_cast<int64_t>(by);
      } else {
        RC_ASSERT(n.pn.Decrement(by).ok());
        pn_model -= static_cast<int64_t>(by);
      }
      broadcast(origin, Message{0, "", 2, {}, {}, {}, n.pn.state()});
    }
  }
  for (const Message& m : pending) Deliver(nodes, m);

  // Every replica equals the model, hence each other; Merkle roots agree.
  for (const auto& node : nodes) {
    RC_ASSERT(LwwState(node->lww.records().begin(), node->lww.records().end()) ==
              LwwState(lww_model.begin(), lww_model.end()));
    std::map<std::string, std::map<Timestamp, Document>> live;
    for (const auto& [key, entry] : node->orm.entries()) {
      for (const auto& [tag, item] : entry.items) live[key][tag] = item.value;
      for (const auto& tag : entry.tombstones) RC_ASSERT(or_removed.contains(tag));
    }
    std::map<std::string, std::map<Timestamp, Document>> expected;
    for (const auto& [key, tags] : or_added) {
      for (const auto& [tag, doc] : tags) {
        if (!or_removed.contains(tag)) expected[key][tag] = doc;
      }
    }
    RC_ASSERT(live == expected);
    RC_ASSERT(node->pn.value() == pn_model);
    RC_ASSERT(node->lww.merkle().root() == nodes[0]->lww.merkle().root());
    RC_ASSERT(node->orm.merkle().root() == nodes[0]->orm.merkle().root());
    RC_ASSERT(node->pn.Digest() == nodes[0]->pn.Digest());
  }
}

}  // namespace
}  // namespace seedgrid
