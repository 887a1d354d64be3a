// A Timeline (timeline_model.h) as one self-contained HTML page: a space-time diagram drawn by
// inline JavaScript into inline SVG, with no network access and no external scripts.
//
// The page: one horizontal lane per node (plus "cluster" on top), time running left to right;
// message arrows from send to delivery (lost ones end in a cross where they were lost); shaded
// spans for partitions, crashes, pauses, offline clients and clogged links; ticks for ops, faults
// and syncs above a lane's line, faint ticks for timers below it; a red line at the violation.
// Hovering an element shows its detail. Counters are left to the trace-event JSON.
//
// For tests and scripts: when rendering succeeds, #status reads "ok" and <body> carries
// data-errors="0"; a script error sets #status to "error: ..." and counts in data-errors. The
// SVG carries data-lanes, data-messages and data-lost; lanes have class "lane", arrows "msg"
// (lost ones also "lost"), the violation marker "violation".
//
// The timeline travels as JSON inside <script type="application/json">, with every '<' escaped
// (so "</script>" in a detail cannot end the script).
#ifndef SEEDGRID_TOOLS_SEEDGRID_TIMELINE_HTML_H_
#define SEEDGRID_TOOLS_SEEDGRID_TIMELINE_HTML_H_

#include <string>

#include "tools/seedgrid/timeline_model.h"

namespace seedgrid::tools {

std::string RenderTimelineHtml(const Timeline& t);

// `json` (a JSON text) made safe to embed in an HTML <script> element: '<' becomes \u003c.
std::string EscapeForScript(const std::string& json);

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_TIMELINE_HTML_H_
