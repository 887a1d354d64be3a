#include "engine/cluster/http_sync.h"

#include "engine/base/assert.h"
#include "engine/base/probe.h"

namespace seedgrid {

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
  ++stats_.requests;
  const uint64_t id = next_session_++;
  Session& s = sessions_[id];
  s.client = request.client;
  s.response.request_id = request.request_id;
  s.response.leaves = std::move(pull.leaves);
  s.response.cursor = std::move(pull.cursor);
  s.seqs.insert(seqs.begin(), seqs.end());
  for (const auto& [pull_id, partition] : pull.awaited) {
    s.pulls.insert({pull_id, partition});
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
  if (it == sessions_.end() || it->second.pulls.erase({leaf.id, leaf.partition}) == 0) {
    ++stats_.late;  // After the response, or a duplicate.
    return;
  }
  const uint64_t id = it->first;
  it->second.response.leaves.push_back(std::move(leaf));
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
  for (uint64_t pull_id : s.pull_ids) pull_sessions_.erase(pull_id);
  if (timed_out) {
    ++stats_.timeouts;
    SG_PROBE("cluster.http_sync_answered_partially");
  }
  s.done(std::move(s.response));
}

}  // namespace seedgrid
