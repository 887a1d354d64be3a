#include "counter_node.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include "absl/strings/str_join.h"

namespace counter {

namespace {

constexpr std::string_view kPage = "counter";

// Exactly `nodes` decimal numbers separated by commas, nothing else.
bool DecodeList(std::string_view text, size_t nodes, std::vector<uint64_t>& out) {
  out.assign(nodes, 0);
  const char* at = text.data();
  const char* const end = text.data() + text.size();
  for (size_t i = 0; i < nodes; ++i) {
    if (i > 0 && (at == end || *at++ != ',')) return false;
    const auto [next, error] = std::from_chars(at, end, out[i]);
    if (error != std::errc() || next == at) return false;
    at = next;
  }
  return at == end;
}

}  // namespace

int64_t CounterState::Value() const {
  uint64_t plus = 0, minus = 0;
  for (uint64_t v : p) plus += v;
  for (uint64_t v : n) minus += v;
  return static_cast<int64_t>(plus - minus);
}

void CounterState::MergeFrom(const CounterState& other) {
  for (size_t i = 0; i < p.size(); ++i) {
    p[i] = std::max(p[i], other.p[i]);
    n[i] = std::max(n[i], other.n[i]);
  }
}

std::string CounterState::Encode() const {
  return absl::StrJoin(p, ",") + ";" + absl::StrJoin(n, ",");
}

std::optional<CounterState> CounterState::Decode(std::string_view bytes, size_t nodes) {
  const size_t semi = bytes.find(';');
  if (semi == std::string_view::npos || nodes == 0) return std::nullopt;
  CounterState s;
  if (!DecodeList(bytes.substr(0, semi), nodes, s.p) ||
      !DecodeList(bytes.substr(semi + 1), nodes, s.n)) {
    return std::nullopt;
  }
  return s;
}

CounterNode::CounterNode(seedgrid::Env& env, int self, std::vector<seedgrid::NodeId> peers,
                         uint64_t gossip_interval_ms)
    : env_(env), self_(self), peers_(std::move(peers)), gossip_interval_ms_(gossip_interval_ms) {
  state_.p.assign(peers_.size(), 0);
  state_.n.assign(peers_.size(), 0);
  // A restart: what was synced before the crash is back; anything later is gone.
  if (absl::StatusOr<std::string> saved = env_.storage.Read(kPage); saved.ok()) {
    if (std::optional<CounterState> s = CounterState::Decode(*saved, peers_.size())) state_ = *s;
  }
  env_.network.SetHandler(
      peers_[self_],
      [this](const seedgrid::NodeId& from, std::string_view bytes) { OnMessage(from, bytes); });
  timer_ = env_.timers.Schedule(gossip_interval_ms_, [this] { Gossip(); });
}

CounterNode::~CounterNode() {
  env_.timers.Cancel(timer_);
  env_.network.SetHandler(peers_[self_], {});
}

absl::Status CounterNode::Add(int64_t delta) {
  CounterState next = state_;
  if (delta >= 0) {
    next.p[self_] += static_cast<uint64_t>(delta);
  } else {
    next.n[self_] += static_cast<uint64_t>(-delta);
  }
  // Durable first: a crash after the acknowledgement must not lose the change.
  if (absl::Status s = env_.storage.Write(kPage, next.Encode()); !s.ok()) return s;
  if (absl::Status s = env_.storage.Sync(); !s.ok()) return s;
  state_ = std::move(next);
  return absl::OkStatus();
}

void CounterNode::Gossip() {
  if (peers_.size() > 1) {
    size_t to = env_.random.Uniform(peers_.size() - 1);
    if (to >= static_cast<size_t>(self_)) ++to;                           // any peer but this node
    (void)env_.network.Send(peers_[self_], peers_[to], state_.Encode());  // lost: next round
  }
  timer_ = env_.timers.Schedule(gossip_interval_ms_, [this] { Gossip(); });
}

void CounterNode::OnMessage(const seedgrid::NodeId& /*from*/, std::string_view bytes) {
  const std::optional<CounterState> remote = CounterState::Decode(bytes, peers_.size());
  if (!remote) {
    ++rejected_;
    return;
  }
  const CounterState before = state_;
  state_.MergeFrom(*remote);
  // Not synced: a merge lost in a crash is learned again from the next gossip.
  if (!(state_ == before)) (void)env_.storage.Write(kPage, state_.Encode());
}

}  // namespace counter
