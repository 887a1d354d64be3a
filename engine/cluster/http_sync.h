// HttpSyncHost: the gateway side of HTTP sync (docs/architecture.md, "HTTP sync"): one request, one
// response, and nothing kept once the response is sent.
//
// Contract.
// - A request's ops go through the write path like a GridOps of its client, with acks routed to
//   this server (GridOps.reply_to); its repairs are merged as the client's ClientRepair states;
//   its marks select the partitions to pull (DigestSync::PullForHttp), the others' owners
//   answering this server.
// - The response is sent once every op has its ack (at the op's write concern) and every pulled
//   leaf is in, or after wait_ms with what arrived by then: an op without an ack stays in the
//   client's log and goes again with its next request (the applied marks make that idempotent).
// - A leaf whose records hash to the client's own digest is left out: the gossiped directory that
//   chose it was stale, and the client holds exactly that already.
// - A request ValidateHttpSyncRequest refuses, or with a cursor not of its marks, is answered 400.
//   Repairs give back records only: their applied marks and watermark are dropped.
// - Late acks and leaves (after the response) are dropped. At most sessions_max requests are open;
//   beyond that, and before this server has joined, the answer is 503 (retry later).
// - Nothing here is durable: a crash loses open requests; their clients time out and retry.
#ifndef SEEDGRID_ENGINE_CLUSTER_HTTP_SYNC_H_
#define SEEDGRID_ENGINE_CLUSTER_HTTP_SYNC_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/status/status.h"
#include "engine/cluster/digest_sync.h"
#include "engine/cluster/grid_options.h"
#include "engine/cluster/partition_table.h"
#include "engine/env/env.h"
#include "engine/wire/messages.h"

namespace seedgrid {

using HttpSyncDone = std::function<void(msg::HttpSyncResponse)>;

// At most this many maps in one request's marks (each costs a pass over the directory).
inline constexpr size_t kHttpSyncMapsMax = 256;

struct HttpSyncStats {
  uint64_t requests = 0;  // answered
  uint64_t refused = 0;   // 400 and 503 answers
  uint64_t timeouts = 0;  // answered at wait_ms with something missing
  uint64_t late = 0;      // acks and leaves that came after their response
};

// InvalidArgument naming what is wrong: more than ops_max ops, seqs not strictly increasing, more
// than kHttpSyncMapsMax maps or a map twice in the marks, or a client id that is a server of the
// cluster (a table member or a seed).
absl::Status ValidateHttpSyncRequest(const msg::HttpSyncRequest& request, size_t ops_max,
                                     const PartitionTable& table, const std::vector<NodeId>& seeds);

class HttpSyncHost {
 public:
  HttpSyncHost(Timers& timers, uint64_t wait_ms) : timers_(timers), wait_ms_(wait_ms) {}
  ~HttpSyncHost();  // Open requests are dropped unanswered (a crash: their clients retry).
  HttpSyncHost(const HttpSyncHost&) = delete;
  HttpSyncHost& operator=(const HttpSyncHost&) = delete;

  size_t open() const { return sessions_.size(); }
  // Opens a request whose ops (`seqs`) and pulls (`pull`) are under way; answers at once when
  // nothing is awaited.
  void Open(const msg::HttpSyncRequest& request, const std::vector<uint64_t>& seqs, HttpPull pull,
            HttpSyncDone done);
  // Answers a request at once with an error (400 or 503).
  void Refuse(const msg::HttpSyncRequest& request, uint16_t status, std::string error,
              const HttpSyncDone& done);
  // A GridAck sent here on behalf of `ack.client`, and a ClientLeaf state for a pull.
  void OnAck(const msg::GridAck& ack);
  void OnLeaf(msg::PartitionState leaf);
  // A fresh pull id (never 0).
  uint64_t NextPullId() { return next_pull_id_++; }
  const HttpSyncStats& stats() const { return stats_; }
  // Fills GridServerStats' http_syncs* fields.
  void AddTo(GridServerStats& s) const {
    s.http_syncs = stats_.requests;
    s.http_syncs_refused = stats_.refused;
    s.http_syncs_partial = stats_.timeouts;
  }

 private:
  struct Session {
    NodeId client;
    msg::HttpSyncResponse response;
    absl::btree_set<uint64_t> seqs;  // ops without their ack yet
    // (pull id, partition) awaited -> the client's digest of it
    absl::btree_map<std::pair<uint64_t, uint32_t>, uint64_t> pulls;
    absl::btree_set<uint64_t> pull_ids;
    HttpSyncDone done;
    std::optional<Timers::TimerId> timer;
  };
  void FinishIfDone(uint64_t id);
  void Finish(uint64_t id, bool timed_out);

  Timers& timers_;
  uint64_t wait_ms_;
  HttpSyncStats stats_;
  absl::btree_map<uint64_t, Session> sessions_;
  absl::btree_map<uint64_t, uint64_t> pull_sessions_;  // pull id -> session id
  uint64_t next_session_ = 1;
  uint64_t next_pull_id_ = 1;
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_CLUSTER_HTTP_SYNC_H_
