#include "invariants/convergence.h"

#include <fmt/format.h>

#include "engine/base/assert.h"

namespace seedgrid::invariants {

namespace {

template <typename Maps>
std::string Names(const Maps& maps) {
  std::string out;
  for (const auto& [name, map] : maps) out += (out.empty() ? "" : ",") + name;
  return "[" + out + "]";
}

std::string Describe(const OrEntry* e) {
  if (e == nullptr) return "<absent>";
  std::string out = "{items:";
  for (const auto& [tag, item] : e->items)
    out += " " + tag.ToString() + "=" + item.value.ToString();
  out += "; tombstones:";
  for (const auto& tag : e->tombstones) out += " " + tag.ToString();
  return out + "}";
}

}  // namespace

std::optional<Violation> CheckConvergence(const std::vector<const Replica*>& replicas,
                                          size_t keys_reported_max) {
  if (replicas.size() < 2) return std::nullopt;
  const Replica& a = *replicas[0];
  for (size_t i = 1; i < replicas.size(); ++i) {
    const Replica& b = *replicas[i];
    const auto fail = [&](std::string detail) {
      return Violation{Invariant::kConvergence,
                       fmt::format("{} vs {}: {}", a.node_id(), b.node_id(), std::move(detail))};
    };
    if (Names(a.lww_maps()) != Names(b.lww_maps())) {
      return fail(fmt::format("LWW maps {} vs {}", Names(a.lww_maps()), Names(b.lww_maps())));
    }
    if (Names(a.or_maps()) != Names(b.or_maps())) {
      return fail(fmt::format("OR maps {} vs {}", Names(a.or_maps()), Names(b.or_maps())));
    }
    for (const auto& [name, map_a] : a.lww_maps()) {
      const LwwMap& map_b = *b.lww_maps().at(name);
      const bool roots_equal = map_a->merkle().root() == map_b.merkle().root();
      if (roots_equal && map_a->records() == map_b.records()) continue;
      std::string detail =
          fmt::format("LWW map '{}' roots {:016x} vs {:016x}; differing keys:", name,
                      map_a->merkle().root(), map_b.merkle().root());
      size_t reported = 0;
      for (const std::string& key : map_a->merkle().DiffKeys(map_b.merkle())) {
        if (reported++ == keys_reported_max) break;
        const LwwRecord* ra = map_a->GetRecord(key);
        const LwwRecord* rb = map_b.GetRecord(key);
        detail += fmt::format(" '{}': {} vs {};", key, ra ? ra->ToString() : "<absent>",
                              rb ? rb->ToString() : "<absent>");
      }
      if (reported == 0) detail += " none by Merkle diff (records differ: hashing bug?)";
      return fail(std::move(detail));
    }
    for (const auto& [name, map_a] : a.or_maps()) {
      const OrMap& map_b = *b.or_maps().at(name);
      const bool roots_equal = map_a->merkle().root() == map_b.merkle().root();
      if (roots_equal && map_a->entries() == map_b.entries()) continue;
      std::string detail =
          fmt::format("OR map '{}' roots {:016x} vs {:016x}; differing keys:", name,
                      map_a->merkle().root(), map_b.merkle().root());
      size_t reported = 0;
      for (const std::string& key : map_a->merkle().DiffKeys(map_b.merkle())) {
        if (reported++ == keys_reported_max) break;
        detail += fmt::format(" '{}': {} vs {};", key, Describe(map_a->GetEntry(key)),
                              Describe(map_b.GetEntry(key)));
      }
      if (reported == 0) detail += " none by Merkle diff (entries differ: hashing bug?)";
      return fail(std::move(detail));
    }
    for (const auto& [name, counter_a] : a.counters()) {
      auto it = b.counters().find(name);
      const int64_t value_b = it == b.counters().end() ? 0 : it->second->value();
      const bool same_state = it != b.counters().end() && it->second->state() == counter_a->state();
      if (!same_state) {
        return fail(fmt::format("counter '{}' = {} vs {}", name, counter_a->value(), value_b));
      }
    }
    if (Names(a.counters()) != Names(b.counters())) {
      return fail(fmt::format("counters {} vs {}", Names(a.counters()), Names(b.counters())));
    }
  }
  return std::nullopt;
}

}  // namespace seedgrid::invariants
