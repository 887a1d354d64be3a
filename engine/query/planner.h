// Internal to engine/query: the plan tree the cost-based planner builds (see planner.cc) and
// positions in result order (cursors, top-N windows).
#ifndef SEEDGRID_ENGINE_QUERY_PLANNER_H_
#define SEEDGRID_ENGINE_QUERY_PLANNER_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/query/postings.h"
#include "engine/query/query_engine.h"

namespace seedgrid {

struct QueryEngine::Position {
  std::vector<Value> values;
  std::string key;
  std::optional<Timestamp> tag;
};

struct QueryEngine::Plan {
  enum class Kind { kAllRows, kLeaf, kIntersect, kUnion, kComplement };
  Kind kind = Kind::kLeaf;
  std::string label;    // What this node does, for Explain (empty unless planned with labels).
  size_t estimate = 0;  // Expected number of handles produced.
  bool exact = true;    // Produces exactly the matching rows (else a superset to filter).
  std::function<void(std::vector<RowHandle>*)> fetch;  // kLeaf: appends ascending, unique.
  std::vector<std::unique_ptr<Plan>> children;
  size_t filtered_operands = 0;  // kIntersect: operands left to the final filter.
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_QUERY_PLANNER_H_
