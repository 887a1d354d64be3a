// Invariant: the name of every check a run can make, in one table. The scenario parser, both
// cluster drivers, the reports and docs/scenarios.md all use this table; a name not in it is an
// input error, never a silently disabled check.
//
// Adding an invariant: a value in the enum, a row in kInvariants (invariant.cc), the checker
// (a pure function in invariants/), its unit test with a history that must fail, and a line in
// docs/scenarios.md.
#ifndef SEEDGRID_INVARIANTS_INVARIANT_H_
#define SEEDGRID_INVARIANTS_INVARIANT_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace seedgrid::invariants {

enum class Invariant : uint8_t {
  // Replica-node runs.
  kConvergence,
  kLwwModel,
  kOrModel,
  kPnModel,
  kHlc,
  kQueries,
  // Grid runs.
  kGridTable,
  kGridConvergence,
  kGridDurability,
  kGridExactlyOnce,
  kGridLiveQueries,
  kGridStorageAcks,
  kGridLostUpdate,
  kGridLwwModel,
  kGridPnModel,
  kGridOrModel,
  // Both.
  kLiveness,
  // The harness itself (always on, not listed in scenario files).
  kHang,
  kCrash,
};

// Which runs may list an invariant.
enum class InvariantScope : uint8_t { kReplica, kGrid, kBoth, kHarness };

struct InvariantInfo {
  Invariant id;
  std::string_view name;  // as written in scenario files and reports
  InvariantScope scope;
  std::string_view summary;  // one line, for --help and docs
};

std::span<const InvariantInfo> AllInvariants();
std::string_view InvariantName(Invariant invariant);
std::optional<Invariant> ParseInvariant(std::string_view name);
// The invariants a scenario of this kind may list (and runs by default), in table order.
std::span<const Invariant> InvariantsFor(bool grid);
// "a, b, c": the names InvariantsFor(grid) accepts (for error messages).
std::string InvariantList(bool grid);

}  // namespace seedgrid::invariants

#endif  // SEEDGRID_INVARIANTS_INVARIANT_H_
