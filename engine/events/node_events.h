// NodeEvent: the one typed seam through which engine nodes tell observers (the simulator's
// checkers, metrics, logs) what happened inside them. Observers learn nothing else about a node
// except through its public read API.
//
// Contract.
// - A node emits an event synchronously, at the moment the fact becomes true, in the node's own
//   order. A null sink (the default) costs one branch.
// - The sink must not call back into the emitting node, and must not throw.
// - Events are facts about this node only; `node` in the sink is left to the observer (bind it
//   when installing the sink).
//
// Adding an event: append a struct below and to NodeEvent; emitters use EmitEvent().
#ifndef SEEDGRID_ENGINE_EVENTS_NODE_EVENTS_H_
#define SEEDGRID_ENGINE_EVENTS_NODE_EVENTS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <variant>

#include "engine/env/env.h"
#include "engine/hlc/timestamp.h"
#include "engine/wire/messages.h"

namespace seedgrid::events {

// A server applied a client's op-log entry for the first time (stamp = the server's re-stamp;
// client_ts = the client's own stamp of the write, which names the write).
struct OpApplied {
  uint32_t partition = 0;
  NodeId client;
  uint64_t seq = 0;
  Timestamp ts;
  Timestamp client_ts;
  bool counter = false;  // a PN-Counter op (ts is then the acknowledgement's stamp, on no record)
  // An OR-Map op: an add's ts is its item's tag (its origin is OrOrigin(client, seq)); a remove's
  // is the acknowledgement's stamp, on no item.
  bool or_op = false;
};

// A server sent a client an acknowledgement (for APPLIED and REPLICATED: after a successful
// sync of what it acknowledges; REPLICATED also after every backup acknowledged).
struct OpAcknowledged {
  NodeId client;
  uint64_t seq = 0;
  Timestamp ts;
  msg::WriteConcern concern = msg::WriteConcern::kApplied;
  bool duplicate = false;
};

// A server acknowledged a replicated or handed-off state to `to` (after a successful sync).
struct StateAcknowledged {
  NodeId to;
  uint32_t partition = 0;
  uint64_t batch_id = 0;
};

// A client's op-log entry became durable (its page synced): from now on it must be applied.
struct OpLogged {
  uint64_t seq = 0;
};

// A client received the first acknowledgement of one of its op-log entries. `value` points at
// the entry's value (nullopt: a remove) and is valid only during the call.
struct AckReceived {
  std::string map;
  std::string key;
  uint64_t seq = 0;
  Timestamp ts;
  msg::WriteConcern concern = msg::WriteConcern::kApplied;
  Timestamp client_ts;  // the client's stamp of the entry
  bool duplicate = false;
  const std::optional<Document>* value = nullptr;
  const PnTotals* counter = nullptr;  // a counter op: the client's totals it carried
  bool or_op = false;                 // an OR-Map op (add or remove)
};

// A node merged a remote record, and its HLC now covers this stamp.
struct TimestampMerged {
  Timestamp ts;
};

// A partition's tombstone GC watermark was raised.
struct WatermarkRaised {
  uint32_t partition = 0;
  uint64_t pruned_below_ms = 0;
};

// A server dropped a partition after every new replica acknowledged its handoff.
struct PartitionHandedOff {
  uint32_t partition = 0;
};

// A client stamped a local write (Set or Remove) with its own HLC; emitted before the write's page
// is synced. (A server's own stamps are the ones in OpApplied.)
struct TimestampIssued {
  Timestamp ts;
};

// A storage write or sync failed (the node keeps the effect in memory and retries; see
// engine/env/page_store.h).
struct StorageFailed {
  std::string error;
};

using NodeEvent = std::variant<OpApplied, OpAcknowledged, StateAcknowledged, OpLogged, AckReceived,
                               TimestampMerged, WatermarkRaised, PartitionHandedOff, StorageFailed,
                               TimestampIssued>;
using EventSink = std::function<void(const NodeEvent&)>;

inline void EmitEvent(const EventSink& sink, NodeEvent event) {
  if (sink) sink(event);
}

}  // namespace seedgrid::events

#endif  // SEEDGRID_ENGINE_EVENTS_NODE_EVENTS_H_
