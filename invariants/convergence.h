// Convergence checker: a pure function over replicas (read-only).
//
// Replicas have converged when they hold the same set of map names per kind, and for every map
// identical Merkle roots and identical records (LWW), entries (OR) or totals (PN). The Merkle root
// comparison is the fast path; the record comparison makes the check independent of the tree, so a
// hashing bug cannot hide a divergence.
#ifndef SEEDGRID_INVARIANTS_CONVERGENCE_H_
#define SEEDGRID_INVARIANTS_CONVERGENCE_H_

#include <optional>
#include <string>
#include <vector>

#include "engine/replica/replica.h"
#include "invariants/invariant.h"

namespace seedgrid::invariants {

struct Violation {
  Invariant invariant;
  std::string detail;  // what differs, with keys and values
};

// Compares every replica with the first. Reports at most `keys_reported_max` differing keys.
std::optional<Violation> CheckConvergence(const std::vector<const Replica*>& replicas,
                                          size_t keys_reported_max = 5);

}  // namespace seedgrid::invariants

#endif  // SEEDGRID_INVARIANTS_CONVERGENCE_H_
