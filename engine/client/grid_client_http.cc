// GridClient over HTTP sync (the "Transport" part of grid_client.h): one request in flight, its
// response carrying acks and leaves.
#include "engine/base/probe.h"
#include "engine/client/grid_client.h"
#include "engine/cluster/partition.h"

namespace seedgrid {

std::string_view ClientTransportName(ClientTransport t) {
  return t == ClientTransport::kHttp ? "http" : "websocket";
}

void GridClient::SetTransport(ClientTransport transport) {
  if (transport == options_.transport) return;
  if (transport == ClientTransport::kHttp) {
    std::vector<uint64_t> ids;
    for (const auto& [id, sub] : subscriptions_) ids.push_back(id);
    for (uint64_t id : ids) (void)Unsubscribe(id);  // Cancelled while still on WebSocket.
    SG_PROBE("client.switched_to_http");
  } else {
    SG_PROBE("client.switched_to_websocket");
  }
  if (!op_log_.empty()) SG_PROBE("client.transport_switch_with_pending_writes");
  options_.transport = transport;
  http_in_flight_ = 0;  // A late answer to it is still merged.
  http_cursor_.clear();
  if (online_) Reconnect();
  WakePush();  // HTTP polls at the push cadence.
}

msg::HttpSyncRequest GridClient::HttpRequest(bool pull) {
  msg::HttpSyncRequest r;
  r.client = options_.node_id;
  r.request_id = next_request_id_++;
  r.ops = TakeBatch();
  r.repairs = std::move(http_repairs_);
  http_repairs_.clear();
  if (!pull) return r;
  r.cursor = http_cursor_;
  // At most kHttpMarksMapsMax maps per round: a window that moves on when a round completes (the
  // cursor of a round refers to its window's maps).
  if (http_cursor_.empty()) http_round_maps_.clear();
  size_t index = 0;
  for (const auto& [name, map] : maps_) {
    const size_t at = index++;
    if (http_cursor_.empty()) {
      const size_t from = maps_.size() <= kHttpMarksMapsMax ? 0 : http_map_window_ % maps_.size();
      if ((at + maps_.size() - from) % maps_.size() >= kHttpMarksMapsMax) continue;
      http_round_maps_.insert(name);
    } else if (!http_round_maps_.contains(name)) {
      continue;
    }
    msg::MapMarks& marks = r.marks.emplace_back();
    marks.map_name = name;
    for (uint32_t p = 0; p < kPartitionCount; ++p) {
      const uint64_t d = MapDigest(name, p);
      if (d == 0) continue;
      marks.partitions.push_back(p);
      marks.digests.push_back(d);
    }
  }
  return r;
}

void GridClient::Poll() {
  if (!online_ || http_in_flight_ != 0 || options_.transport != ClientTransport::kHttp) return;
  const bool pull = http_pull_due_ || !http_cursor_.empty();
  msg::HttpSyncRequest r = HttpRequest(pull);
  if (r.ops.empty() && r.repairs.empty() && !pull) return;
  if (pull && http_cursor_.empty()) http_round_leaves_.clear();  // A new sync round.
  http_pull_due_ = false;
  http_in_flight_ = r.request_id;
  http_pulling_ = pull;
  http_in_flight_ops_ = !r.ops.empty();
  ++stats_.http_syncs;
  if (!r.ops.empty()) ++stats_.batches_sent;
  Send(std::move(r));
}

void GridClient::OnHttpResponse(const NodeId& from, const msg::HttpSyncResponse& r) {
  const bool current = r.request_id == http_in_flight_ && http_in_flight_ != 0;
  if (current) {
    http_in_flight_ = 0;
    // The server is making progress when it acknowledged something (or was asked nothing to
    // acknowledge); a gateway that answers but cannot reach the owners is left after
    // server_timeout_ms like a silent one.
    if (r.status == 200 && (!r.acks.empty() || !http_in_flight_ops_)) waiting_since_ms_.reset();
  }
  if (r.status != 200) {
    ++stats_.http_syncs_refused;
    stats_.last_error = r.error;
    if (r.status != 503) ++stats_.protocol_errors;
    if (current && http_pulling_) http_pull_due_ = true;   // Retried at the next poll.
    if (current && r.status == 400) http_cursor_.clear();  // A cursor the server refused.
    return;
  }
  // Leaves first: the gateway built them before it applied this request's ops, so merged after
  // the acks they would lack every acknowledged write and each would go back as a repair.
  for (const msg::PartitionState& leaf : r.leaves) {
    for (const msg::MapRecords& m : leaf.maps) http_round_leaves_.insert(m.map_name);
    OnLeaf(from, leaf);
  }
  OnAck(msg::GridAck{r.acks, ""});
  if (!current || !http_pulling_) return;
  http_cursor_ = r.cursor;
  if (!http_cursor_.empty()) {
    Poll();  // The rest of the differing partitions, at once.
    return;
  }
  // The round is complete: a map none of whose partitions differed matched the servers'.
  for (const std::string& name : http_round_maps_) {
    if (!http_round_leaves_.contains(name)) ++roots_matched_[name];
  }
  http_map_window_ += kHttpMarksMapsMax;
  http_round_leaves_.clear();
}

}  // namespace seedgrid
