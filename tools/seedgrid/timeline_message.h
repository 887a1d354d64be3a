// What the timeline shows about one message: its body type, a one-line summary, the keys it
// carries (for --key), and the request/acknowledgement ids its counters follow.
//
// Contract: DescribeMessage never fails: bytes that do not decode give name "?" and the decoder's
// error as the summary. Tool-side only; the simulation never sees the result.
#ifndef SEEDGRID_TOOLS_SEEDGRID_TIMELINE_MESSAGE_H_
#define SEEDGRID_TOOLS_SEEDGRID_TIMELINE_MESSAGE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace seedgrid::tools {

struct MessageInfo {
  std::string name;                    // "GridOps", "Heartbeat", ... or "?"
  std::string summary;                 // e.g. "c3: k4 set, k9 remove"
  std::vector<std::string> keys;       // record keys carried (OpBatch, SyncLeaf, GridOps, ...)
  std::optional<uint64_t> request_id;  // answered by an Ack (OpBatch, replicate/handoff state)
  std::optional<uint64_t> ack_id;      // Ack.batch_id
  std::vector<uint64_t> acked_seqs;    // GridAck: the client op-log entries acknowledged
};

MessageInfo DescribeMessage(std::string_view bytes);

// True when `key` is one of `keys`, or a whole word of `text` (ops name keys in their text).
bool MentionsKey(const std::vector<std::string>& keys, std::string_view text, std::string_view key);

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_TIMELINE_MESSAGE_H_
