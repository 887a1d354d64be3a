// Internal to grid_queries*.cc: the views a GridQueryHost keeps per watched map.
#ifndef SEEDGRID_ENGINE_CLUSTER_GRID_QUERY_VIEWS_H_
#define SEEDGRID_ENGINE_CLUSTER_GRID_QUERY_VIEWS_H_

#include <map>
#include <string>
#include <utility>

#include "engine/cluster/grid_queries.h"

namespace seedgrid {

// The records of one map over the covered partitions. Rows point at the documents inside the
// partitions' maps (pointer-stable std::map nodes) and at the keys here (std::map too).
struct GridQueryHost::View {
  explicit View(Clock& clock) : engine(clock, /*instance_id=*/0) {}
  QueryEngine engine;
  std::map<std::string, RowHandle, std::less<>> handles;
  size_t subs = 0;
};

// The live OR items of one map over the covered partitions, one row per (key, tag). The rows are
// copies: an OR entry's items change in place, and the engine must be told a row's old document.
struct GridQueryHost::OrView {
  explicit OrView(Clock& clock) : engine(clock, /*instance_id=*/0) {}
  struct Row {
    Document doc;
    RowHandle handle = 0;
  };
  QueryEngine engine;
  // Pointer-stable: the engine's rows point at the keys, tags and documents here.
  std::map<std::pair<std::string, Timestamp>, Row> rows;
  size_t subs = 0;
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_CLUSTER_GRID_QUERY_VIEWS_H_
