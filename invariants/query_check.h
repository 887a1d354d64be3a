// Query correctness checkers: pure functions over one replica's indexed map.
//
//   CheckQuery:         the indexed engine's result (all pages, following cursors) equals a brute
//                       force scan of the map's live records, in result order.
//   CheckSubscription:  a live subscription's maintained result, and the result rebuilt by
//                       replaying its deltas from the initial rows, both equal a fresh query.
#ifndef SEEDGRID_INVARIANTS_QUERY_CHECK_H_
#define SEEDGRID_INVARIANTS_QUERY_CHECK_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_set.h"
#include "engine/query/indexed_map.h"
#include "invariants/convergence.h"

namespace seedgrid::invariants {

// The keys a brute-force scan returns, in result order (sort fields, then key).
std::vector<std::string> ScanKeys(const LwwMap& map, const Query& q, uint64_t now_ms);

// `page_size` > 0 runs the query in pages of that size through cursors. Rows expire at the later
// of `now_ms` (the node's clock) and the engine's expiry clock: a row never un-expires when the
// clock steps back.
std::optional<Violation> CheckQuery(const std::string& node, IndexedLwwMap& indexed, const Query& q,
                                    uint64_t now_ms, size_t page_size = 0);

// A subscription's state as rebuilt from its initial rows and deltas (the checker's replay).
struct ReplayedSubscription {
  Query query;
  SubscriptionId id = 0;
  absl::btree_set<std::string> keys;  // after replaying ENTER/LEAVE
  uint64_t deltas = 0;
  std::string error;  // a delta that made no sense (ENTER of a present key, LEAVE of an absent one)
  // Replays one delta of the subscription's stream.
  void Apply(const LiveDelta& d);
};

std::optional<Violation> CheckSubscription(const std::string& node, IndexedLwwMap& indexed,
                                           const ReplayedSubscription& sub);

}  // namespace seedgrid::invariants

#endif  // SEEDGRID_INVARIANTS_QUERY_CHECK_H_
