// A Timeline (timeline_model.h) as Chrome trace-event JSON, the format Perfetto UI
// (https://ui.perfetto.dev) and chrome://tracing open directly.
//
// Layout: one process per node ("server n0", "client c3 (n8)", "replica n2") plus "cluster"
// (phases, partitions, checks); one thread (track) per kind of activity (messages out, messages
// in, timers, storage, ops, lifecycle, down, paused, offline, network, one per clogged link).
// Messages: "X" slices at the send and at the delivery, joined by a flow ("s" bound to the send
// slice, "f" with "bp":"e" bound to the delivery slice, same id and cat); sends or deliveries of
// one node at one instant share a slice. Lost messages: instants ("i", thread scope) where and
// when they were lost, with why. Spans: "B"/"E" pairs, never overlapping on a track. Counters:
// "C" events per node. The violation: a global instant ("s":"g"). Timestamps are virtual
// microseconds; events are sorted by time.
#ifndef SEEDGRID_TOOLS_SEEDGRID_TIMELINE_JSON_H_
#define SEEDGRID_TOOLS_SEEDGRID_TIMELINE_JSON_H_

#include <string>

#include "tools/seedgrid/timeline_model.h"

namespace seedgrid::tools {

std::string RenderTraceEventJson(const Timeline& t);

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_TIMELINE_JSON_H_
