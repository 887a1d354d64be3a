#include "tools/seedgrid/emit_test.h"

#include <fmt/format.h>

#include <filesystem>
#include <system_error>

#include "tools/seedgrid/command.h"

namespace seedgrid::tools {

namespace fs = std::filesystem;

void CheckEmitPath(const std::string& path) {
  const fs::path p(path);
  if (p.extension() != ".json" || p.stem().empty()) {
    throw InputError{fmt::format(
        "--emit-test {}: must name a .json file (the suite runs every *.json in a directory)",
        path)};
  }
  const fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw InputError{
        fmt::format("--emit-test {}: directory '{}' does not exist (create it, or give a path "
                    "inside the regression directory, e.g. tests/regressions/NAME.json)",
                    path, dir.string())};
  }
  if (fs::exists(p, ec)) {
    throw InputError{fmt::format(
        "--emit-test {}: the file already exists; choose another name or remove it first", path)};
  }
}

Loaded RegressionTest(const scenarios::Scenario& shrunk, const std::string& path,
                      const RegressionOrigin& origin) {
  scenarios::Scenario test = shrunk;
  test.name = fs::path(path).stem().string();
  test.description = fmt::format(
      "Regression test: seed {} violated {} ({}; shrunk: {}). It must pass now that the bug is "
      "fixed.",
      origin.seed, origin.invariant, origin.found_by, origin.sizes);
  test.regression =
      scenarios::Regression{origin.seed, origin.invariant, origin.found_by, origin.commit};
  return Loaded{test, path, scenarios::ScenarioToJson(test)};
}

}  // namespace seedgrid::tools
