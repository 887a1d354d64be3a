#include "engine/cluster/grid_options.h"

#include <fmt/format.h>

#include <algorithm>

#include "engine/base/strings.h"

namespace seedgrid {

absl::Status ValidateOptions(const GridServerOptions& o) {
  if (absl::Status s = ValidateNodeId(o.node_id); !s.ok()) {
    return absl::InvalidArgumentError(fmt::format("grid server: node id: {}", s.message()));
  }
  if (o.heartbeat_interval_ms == 0 || o.anti_entropy_interval_ms == 0 || o.retry_interval_ms == 0 ||
      o.query_lease_ms == 0 || o.tombstone_grace_ms == 0) {
    return absl::InvalidArgumentError(
        "grid server: timer intervals, query_lease_ms and tombstone_grace_ms must be positive");
  }
  if (o.http_sync_wait_ms == 0 || o.http_sync_partitions_max == 0 || o.http_sync_open_max == 0 ||
      o.http_sync_ops_max == 0) {
    return absl::InvalidArgumentError("grid server: the http_sync_* options must be positive");
  }
  if (o.suspect_after_ms <= o.heartbeat_interval_ms) {
    return absl::InvalidArgumentError(
        "grid server: suspect_after_ms must exceed heartbeat_interval_ms");
  }
  if (!o.join && std::find(o.seeds.begin(), o.seeds.end(), o.node_id) == o.seeds.end()) {
    return absl::InvalidArgumentError(fmt::format(
        "grid server: '{}' is not among the seeds; set join to add it at run time", o.node_id));
  }
  std::vector<NodeId> seeds = o.seeds;
  std::sort(seeds.begin(), seeds.end());
  if (std::adjacent_find(seeds.begin(), seeds.end()) != seeds.end()) {
    return absl::InvalidArgumentError("grid server: duplicate seed");
  }
  for (const NodeId& s : seeds) {
    if (absl::Status st = ValidateNodeId(s); !st.ok()) {
      return absl::InvalidArgumentError(fmt::format("grid server: seed '{}': {}", s, st.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace seedgrid
