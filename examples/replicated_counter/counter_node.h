// CounterNode: a replicated PN-counter, the example service of docs/embedding.md.
//
// Every node keeps, per node j, the total it has seen j add (p[j]) and subtract (n[j]); the
// counter's value is sum(p) - sum(n). A node changes only its own entries, makes the change
// durable (write + sync) before acknowledging it, and every gossip interval sends its whole state
// to one random peer, which merges entry by entry with max. Merging is commutative, associative
// and idempotent, so lost, duplicated and reordered messages do no harm and every node ends with
// the same state once gossip gets through.
//
// Contract: the node talks to the world only through the Env it is given (so it runs the same in
// seedgrid's simulator and on real sockets); a restart reads the state back from Env storage. A
// malformed message is dropped and counted, never trusted.
#ifndef REPLICATED_COUNTER_COUNTER_NODE_H_
#define REPLICATED_COUNTER_COUNTER_NODE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "engine/env/env.h"

namespace counter {

struct CounterState {
  std::vector<uint64_t> p, n;  // per node: added, subtracted
  int64_t Value() const;
  void MergeFrom(const CounterState& other);  // entry-wise max
  std::string Encode() const;
  // nullopt unless `bytes` is exactly what Encode writes for `nodes` nodes.
  static std::optional<CounterState> Decode(std::string_view bytes, size_t nodes);
  friend bool operator==(const CounterState&, const CounterState&) = default;
};

class CounterNode {
 public:
  // `self` is this node's index into `peers` (every node's id, this one included).
  CounterNode(seedgrid::Env& env, int self, std::vector<seedgrid::NodeId> peers,
              uint64_t gossip_interval_ms);
  ~CounterNode();
  CounterNode(const CounterNode&) = delete;
  CounterNode& operator=(const CounterNode&) = delete;

  // Adds `delta` (negative: subtracts). OK once durable; on error nothing changed.
  absl::Status Add(int64_t delta);
  const CounterState& state() const { return state_; }
  uint64_t rejected_messages() const { return rejected_; }

 private:
  void Gossip();
  void OnMessage(const seedgrid::NodeId& from, std::string_view bytes);

  seedgrid::Env& env_;
  const int self_;
  const std::vector<seedgrid::NodeId> peers_;
  const uint64_t gossip_interval_ms_;
  CounterState state_;
  seedgrid::Timers::TimerId timer_ = 0;
  uint64_t rejected_ = 0;
};

}  // namespace counter

#endif  // REPLICATED_COUNTER_COUNTER_NODE_H_
