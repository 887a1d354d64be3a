// Turning a shrunk failure into a permanent regression test: `seedgrid shrink --emit-test PATH`.
//
// Contract:
// - CheckEmitPath throws InputError unless PATH names a new `.json` file in a directory that
//   exists (checked before anything runs, so a typo costs no shrinking time).
// - RegressionTest returns the file to write: the shrunk scenario (its `schedule` section
//   included) named after the file, with a `regression` section — the seed it runs, the invariant
//   it violates today, what found it and the commit — so `seedgrid suite DIR` runs exactly that
//   seed and expects it to pass once the bug is fixed (docs/user-guide.md, tests/regressions).
#ifndef SEEDGRID_TOOLS_SEEDGRID_EMIT_TEST_H_
#define SEEDGRID_TOOLS_SEEDGRID_EMIT_TEST_H_

#include <cstdint>
#include <string>

#include "scenarios/scenario.h"
#include "tools/seedgrid/input.h"

namespace seedgrid::tools {

void CheckEmitPath(const std::string& path);

struct RegressionOrigin {
  uint64_t seed = 0;
  std::string invariant;  // violated by the seed today
  std::string found_by;   // the repro file, or "SCENARIO seed N"
  std::string commit;     // the commit the failure was shrunk on
  std::string sizes;      // the shrink's before -> after sizes, for the description
};

Loaded RegressionTest(const scenarios::Scenario& shrunk, const std::string& path,
                      const RegressionOrigin& origin);

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_EMIT_TEST_H_
