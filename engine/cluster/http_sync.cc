#include "engine/cluster/http_sync.h"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>

#include "engine/base/assert.h"
#include "engine/base/probe.h"
#include "engine/cluster/record_digest.h"

namespace seedgrid {

namespace {

// The digest of a client leaf's records (record_digest.h): what the client holds when equal.
uint64_t LeafDigest(const msg::PartitionState& leaf) {
  uint64_t d = 0;
  for (const msg::MapRecords& m : leaf.maps) d ^= msg::RecordsDigest(m);
  return d;
}

}  // namespace

absl::Status ValidateHttpSyncRequest(const msg::HttpSyncRequest& request, size_t ops_max,
                                     const PartitionTable& table,
                                     const std::vector<NodeId>& seeds) {
  const auto bad = [](std::string what) { return absl::InvalidArgumentError(std::move(what)); };
  if (request.ops.size() > ops_max) {
    return bad(fmt::format("ops: {} ops, at most {} per request", request.ops.size(), ops_max));
  }
  for (size_t i = 1; i < request.ops.size(); ++i) {
    if (request.ops[i].seq <= request.ops[i - 1].seq) {
      return bad(fmt::format("ops[{}].seq: {} after {}; seqs must increase, oldest first", i,
                             request.ops[i].seq, request.ops[i - 1].seq));
    }
  }
  if (request.marks.size() > kHttpSyncMapsMax) {
    return bad(fmt::format("marks: {} maps, at most {} per request", request.marks.size(),
                           kHttpSyncMapsMax));
  }
  absl::btree_set<std::string_view> maps;
  for (size_t i = 0; i < request.marks.size(); ++i) {
    if (!maps.insert(request.marks[i].map_name).second) {
      return bad(fmt::format("marks[{}].map: '{}' is listed twice", i, request.marks[i].map_name));
    }
  }
  if (table.Contains(request.client) ||
      std::find(seeds.begin(), seeds.end(), request.client) != seeds.end()) {
    return bad(fmt::format("client: '{}' is a server of this cluster", request.client));
  }
  return absl::OkStatus();
}

HttpSyncHost::~HttpSyncHost() {
  for (auto& [id, s] : sessions_) {
    if (s.timer) timers_.Cancel(*s.timer);
  }
}

void HttpSyncHost::Refuse(const msg::HttpSyncRequest& request, uint16_t status, std::string error,
                          const HttpSyncDone& done) {
  SG_ASSERT(status != 200);
  ++stats_.requests;
  ++stats_.refused;
  msg::HttpSyncResponse r;
  r.request_id = request.request_id;
  r.status = status;
  r.error = std::move(error);
  done(std::move(r));
}

void HttpSyncHost::Open(const msg::HttpSyncRequest& request, const std::vector<uint64_t>& seqs,
                        HttpPull pull, HttpSyncDone done) {
  const uint64_t id = next_session_++;
  Session& s = sessions_[id];
  s.client = request.client;
  s.response.request_id = request.request_id;
  s.response.leaves = std::move(pull.leaves);
  s.response.cursor = std::move(pull.cursor);
  s.seqs.insert(seqs.begin(), seqs.end());
  for (const auto& [key, digest] : pull.awaited) {
    const uint64_t pull_id = key.first;
    s.pulls[key] = digest;
    s.pull_ids.insert(pull_id);
    pull_sessions_[pull_id] = id;
  }
  s.done = std::move(done);
  s.timer = timers_.Schedule(wait_ms_, [this, id] {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    it->second.timer.reset();
    Finish(id, /*timed_out=*/true);
  });
  FinishIfDone(id);
}

void HttpSyncHost::OnAck(const msg::GridAck& ack) {
  bool used = false;
  // Every open request of the client waiting for one of these seqs (a resent request, say).
  std::vector<uint64_t> touched;
  for (auto& [id, s] : sessions_) {
    if (s.client != ack.client) continue;
    for (const msg::GridOpAck& a : ack.acks) {
      if (s.seqs.erase(a.seq) == 0) continue;
      s.response.acks.push_back(a);
      used = true;
    }
    touched.push_back(id);
  }
  if (!used) ++stats_.late;
  for (uint64_t id : touched) FinishIfDone(id);
}

void HttpSyncHost::OnLeaf(msg::PartitionState leaf) {
  auto p = pull_sessions_.find(leaf.id);
  auto it = p == pull_sessions_.end() ? sessions_.end() : sessions_.find(p->second);
  auto awaited = it == sessions_.end() ? decltype(it->second.pulls)::iterator{}
                                       : it->second.pulls.find({leaf.id, leaf.partition});
  if (it == sessions_.end() || awaited == it->second.pulls.end()) {
    ++stats_.late;  // After the response, or a duplicate.
    return;
  }
  const uint64_t id = it->first;
  const uint64_t client_digest = awaited->second;
  it->second.pulls.erase(awaited);
  if (LeafDigest(leaf) == client_digest) {
    SG_PROBE("cluster.http_sync_leaf_already_held");  // The directory was stale.
  } else {
    it->second.response.leaves.push_back(std::move(leaf));
  }
  FinishIfDone(id);
}

void HttpSyncHost::FinishIfDone(uint64_t id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end() || !it->second.seqs.empty() || !it->second.pulls.empty()) return;
  Finish(id, /*timed_out=*/false);
}

void HttpSyncHost::Finish(uint64_t id, bool timed_out) {
  auto it = sessions_.find(id);
  SG_ASSERT(it != sessions_.end());
  Session s = std::move(it->second);
  sessions_.erase(it);
  if (s.timer) timers_.Cancel(*s.timer);
  ++stats_.requests;
  for (uint64_t pull_id : s.pull_ids) pull_sessions_.erase(pull_id);
  if (timed_out) {
    ++stats_.timeouts;
    SG_PROBE("cluster.http_sync_answered_partially");
  }
  s.done(std::move(s.response));
}

}  // namespace seedgrid
