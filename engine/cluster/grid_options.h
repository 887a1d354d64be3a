// GridServerOptions and GridServerStats, and the options' validation.
#ifndef SEEDGRID_ENGINE_CLUSTER_GRID_OPTIONS_H_
#define SEEDGRID_ENGINE_CLUSTER_GRID_OPTIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "engine/env/env.h"
#include "engine/env/page_store.h"
#include "engine/events/node_events.h"

namespace seedgrid {

struct GridServerOptions {
  NodeId node_id;
  std::vector<NodeId> seeds;  // The initial members (the node itself included when it is one).
  bool join = false;          // Not a seed: added to the table at run time.
  uint32_t backup_count = 1;
  uint64_t heartbeat_interval_ms = 100;
  uint64_t suspect_after_ms = 1000;
  uint64_t anti_entropy_interval_ms = 500;
  uint64_t retry_interval_ms = 200;  // replication, pull and handoff resends
  uint64_t max_drift_ms = 60'000;
  // Tombstone GC: how long a tombstone outlives its write at least, and how long membership and
  // table must be stable before GC runs (longer than any merge after a heal takes).
  uint64_t tombstone_grace_ms = 10 * 60 * 1000;
  // Live queries: a subscription not refreshed by its client for this long is dropped.
  uint64_t query_lease_ms = 10'000;
  // HTTP sync (http_sync.h): how long a request waits for its acks and leaves, at most how many
  // partitions one response carries (the rest follow the cursor), how many requests may be open,
  // and how many ops one request may carry.
  uint64_t http_sync_wait_ms = 1000;
  size_t http_sync_partitions_max = 32;
  size_t http_sync_open_max = 256;
  size_t http_sync_ops_max = 4096;
  bool persist = true;
  // Observers (checkers): OpApplied, OpAcknowledged, StateAcknowledged, WatermarkRaised,
  // PartitionHandedOff, StorageFailed (engine/events/node_events.h).
  events::EventSink events;
};

struct GridServerStats {
  uint64_t ops_applied = 0;
  uint64_t ops_duplicate = 0;
  uint64_t ops_forwarded = 0;
  uint64_t ops_dropped_not_ready = 0;
  uint64_t ops_dropped_hops = 0;
  uint64_t tables_published = 0;
  uint64_t tables_adopted = 0;
  uint64_t partitions_handed_off = 0;
  uint64_t torn_pages_discarded = 0;
  uint64_t tombstones_pruned = 0;
  uint64_t records_refused = 0;    // older than the watermark, for a key the partition lacks
  uint64_t records_forgotten = 0;  // older than a full state's watermark and absent from it
  uint64_t acks_withheld = 0;      // messages not acknowledged because a sync failed
  uint64_t anti_entropy_rounds = 0;
  uint64_t http_syncs = 0;          // HTTP sync requests answered (refusals included)
  uint64_t http_syncs_refused = 0;  // answered 400 or 503
  uint64_t http_syncs_partial = 0;  // answered at http_sync_wait_ms with something missing
  uint64_t decode_errors = 0;
  uint64_t protocol_errors = 0;
  std::string last_error;
  StorageStats storage;
};

// InvalidArgument naming the bad option.
absl::Status ValidateOptions(const GridServerOptions& options);

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_CLUSTER_GRID_OPTIONS_H_
