#include "tools/seedgrid/timeline_html.h"

#include <nlohmann/json.hpp>

namespace seedgrid::tools {

namespace {

using nlohmann::json;

std::string EscapeText(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else if (c == '&') {
      out += "&amp;";
    } else {
      out += c;
    }
  }
  return out;
}

json PageData(const Timeline& t) {
  json lanes = json::array(), messages = json::array(), spans = json::array(),
       marks = json::array();
  for (const TimelineLane& l : t.lanes) lanes.push_back({{"node", l.node}, {"name", l.name}});
  for (const TimelineMessage& m : t.messages) {
    messages.push_back(json::array(
        {m.from, m.to, Ms(m.sent_ns), Ms(m.end_ns), m.name, m.summary, m.lost, m.lost_at_send}));
  }
  for (const TimelineSpan& s : t.spans) {
    spans.push_back(json::array({s.node, s.track, s.label, Ms(s.begin_ns), Ms(s.end_ns)}));
  }
  for (const TimelineMark& m : t.marks) {
    marks.push_back(json::array({m.node, m.track, m.label, m.detail, Ms(m.time_ns)}));
  }
  json violation = nullptr;
  if (t.violation) {
    violation = {{"invariant", t.violation->invariant},
                 {"detail", t.violation->detail},
                 {"t", Ms(t.violation->time_ns)}};
  }
  return json{{"title", t.title},    {"filter", t.filter}, {"begin", Ms(t.begin_ns)},
              {"end", Ms(t.end_ns)}, {"lanes", lanes},     {"messages", messages},
              {"spans", spans},      {"marks", marks},     {"violation", violation}};
}

constexpr char kHead[] = R"HTML(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'">
<style>
body { font: 13px sans-serif; margin: 0; }
header { padding: 6px 10px; background: #f3f3f3; border-bottom: 1px solid #ccc; }
header h1 { font-size: 15px; margin: 0 0 4px 0; }
#status { display: inline-block; margin-left: 8px; color: #070; }
#status.bad { color: #b00; font-weight: bold; }
#detail { position: sticky; top: 0; z-index: 1; background: #fffbe6; border-bottom: 1px solid #dda;
  padding: 4px 10px; min-height: 2.6em; white-space: pre-wrap; font-family: monospace; }
#diagram { overflow-x: auto; }
.lane-bg { fill: #fafafa; } .lane-bg.odd { fill: #f0f0f0; }
.lane-line { stroke: #999; stroke-width: 1; }
.lane-name { font: 12px sans-serif; fill: #222; }
.axis line { stroke: #ddd; } .axis text { font: 10px sans-serif; fill: #555; }
.msg { stroke: #2a6fdb; stroke-width: 1; opacity: 0.6; }
.msg.lost { stroke: #c33; stroke-dasharray: 3 2; opacity: 0.9; }
.msg:hover { stroke-width: 3; opacity: 1; }
.cross { stroke: #c00; stroke-width: 2; }
.span { opacity: 0.35; } .span:hover { opacity: 0.6; }
.span-down { fill: #d33; } .span-paused { fill: #e6b800; } .span-offline { fill: #777; }
.span-network, .span-partitions { fill: #36c; } .span-clog { fill: #f80; }
.span-phases { fill: #9c9; opacity: 0.2; }
.span-label { font: 10px sans-serif; fill: #333; pointer-events: none; }
.mark { fill: #555; } .mark-lifecycle { fill: #a0a; } .mark-storage { fill: #0a7; }
.mark-ops { fill: #333; } .mark-timers { fill: #999; opacity: 0.6; } .mark-phases, .mark-partitions, .mark-checks { fill: #060; }
.violation { stroke: #e00; stroke-width: 3; } .violation-label { fill: #e00; font-weight: bold; }
</style>
<script>
window.timelineErrors = 0;
window.timelineFail = function (message) {
  window.timelineErrors++;
  document.body.setAttribute('data-errors', String(window.timelineErrors));
  var s = document.getElementById('status');
  if (s) { s.textContent = 'error: ' + message; s.className = 'bad'; }
};
window.onerror = function (message) { window.timelineFail(String(message)); return false; };
</script>
)HTML";

constexpr char kBody[] = R"HTML(<body data-errors="0">
<header><h1 id="title"></h1>
<button id="zoom-in">zoom in</button> <button id="zoom-out">zoom out</button>
<button id="zoom-fit">fit</button> <span id="summary"></span> <span id="status">rendering…</span>
</header>
<div id="detail">Hover over an arrow, span or tick for its detail.</div>
<div id="diagram"></div>
)HTML";

constexpr char kScript[] = R"HTML(<script>
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('timeline-data').textContent);
  var NS = 'http://www.w3.org/2000/svg';
  var LANE_H = 44, TOP = 30, LEFT = 190, RIGHT = 30;
  var zoom = 1;

  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    if (parent) parent.appendChild(e);
    return e;
  }
  function ms(t) { return t.toFixed(3) + ' ms'; }
  function trackClass(track) {
    return track.indexOf('clog ') === 0 ? 'clog' : track.replace(/[^a-z]/g, '');
  }
  function niceStep(range) {
    var raw = range / 10, p = Math.pow(10, Math.floor(Math.log10(raw))), steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * p >= raw) return steps[i] * p;
    return 10 * p;
  }

  function render() {
    var host = document.getElementById('diagram');
    host.textContent = '';
    var lanes = [{node: -1, name: 'cluster'}].concat(data.lanes);
    var row = {};
    lanes.forEach(function (l, i) { row[l.node] = i; });
    var width = Math.max(900, (document.body.clientWidth || 1200) - 20) * zoom;
    var plotW = width - LEFT - RIGHT;
    var range = Math.max(data.end - data.begin, 0.001);
    function x(t) { return LEFT + (Math.max(t, data.begin) - data.begin) / range * plotW; }
    function y(node) { return TOP + row[node] * LANE_H + LANE_H / 2; }
    var height = TOP + lanes.length * LANE_H + 10;
    var svg = el('svg', {id: 'timeline-svg', width: width, height: height,
                         'data-lanes': data.lanes.length}, host);
    var defs = el('defs', {}, svg);
    var marker = el('marker', {id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5,
                               markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse'}, defs);
    el('path', {d: 'M 0 0 L 10 5 L 0 10 z', fill: '#2a6fdb'}, marker);

    lanes.forEach(function (l, i) {
      var g = el('g', {'class': 'lane', 'data-node': l.node}, svg);
      el('rect', {'class': 'lane-bg' + (i % 2 ? ' odd' : ''), x: 0, y: TOP + i * LANE_H,
                  width: width, height: LANE_H}, g);
      el('line', {'class': 'lane-line', x1: LEFT, x2: width - RIGHT, y1: y(l.node), y2: y(l.node)}, g);
      el('text', {'class': 'lane-name', x: 6, y: y(l.node) + 4}, g).textContent = l.name;
    });
    var axis = el('g', {'class': 'axis'}, svg);
    var step = niceStep(range);
    for (var t = Math.ceil(data.begin / step) * step; t <= data.end; t += step) {
      el('line', {x1: x(t), x2: x(t), y1: TOP - 4, y2: height}, axis);
      el('text', {x: x(t) + 2, y: TOP - 8}, axis).textContent = (t / 1000).toFixed(3) + ' s';
    }

    data.spans.forEach(function (s) {
      if (row[s[0]] === undefined) return;
      // Network trouble in the lower half of a lane, the node's own state in the upper half.
      var cls = trackClass(s[1]), lower = /^(network|partitions|clog)$/.test(cls);
      var x0 = x(s[3]), x1 = x(s[4]), top = y(s[0]) - LANE_H / 2 + 2 + (lower ? LANE_H / 2 : 0);
      el('rect', {'class': 'span span-' + cls, x: x0, y: top,
                  width: Math.max(x1 - x0, 1), height: LANE_H / 2 - 3,
                  'data-detail': s[1] + ': ' + s[2] + '\n' + ms(s[3]) + ' to ' + ms(s[4])}, svg);
      if (x1 - x0 > 60) {
        el('text', {'class': 'span-label', x: x0 + 3, y: top + 10}, svg).textContent = s[2];
      }
    });
    data.marks.forEach(function (m) {
      if (row[m[0]] === undefined) return;
      var timer = m[1] === 'timers';  // Timers: faint, below the line.
      el('rect', {'class': 'mark mark-' + trackClass(m[1]), x: x(m[4]) - 1,
                  y: y(m[0]) + (timer ? 3 : -12), width: timer ? 1 : 3, height: timer ? 6 : 9,
                  'data-detail': m[1] + ' at ' + ms(m[4]) + ': ' + m[2] + (m[3] ? '\n' + m[3] : '')},
         svg);
    });

    var drawn = 0, lost = 0;
    data.messages.forEach(function (m) {
      if (row[m[0]] === undefined || row[m[1]] === undefined) return;
      var x0 = x(m[2]), y0 = y(m[0]), x1 = x(m[3]), y1 = y(m[1]);
      var detail = m[4] + ' n' + m[0] + ' -> n' + m[1] + ', sent ' + ms(m[2]) +
          (m[6] ? ', lost at ' + ms(m[3]) + ': ' + m[6] : ', delivered ' + ms(m[3])) +
          '\n' + m[5];
      if (m[7]) {  // Lost at send: a stub towards the destination.
        x1 = x0 + 8;
        y1 = y0 + (y1 - y0) * 0.3;
      }
      var attrs = {'class': 'msg' + (m[6] ? ' lost' : ''), x1: x0, y1: y0, x2: x1, y2: y1,
                   'data-detail': detail};
      if (!m[6]) attrs['marker-end'] = 'url(#arrow)';
      el('line', attrs, svg);
      drawn++;
      if (m[6]) {
        lost++;
        el('path', {'class': 'cross', d: 'M' + (x1 - 4) + ' ' + (y1 - 4) + ' l8 8 m0 -8 l-8 8',
                    'data-detail': detail}, svg);
      }
    });
    svg.setAttribute('data-messages', drawn);
    svg.setAttribute('data-lost', lost);

    if (data.violation) {
      var v = data.violation, vx = x(v.t);
      var detail = 'VIOLATION ' + v.invariant + ' at ' + ms(v.t) + '\n' + v.detail;
      el('line', {'class': 'violation', x1: vx, x2: vx, y1: TOP - 20, y2: height,
                  'data-detail': detail}, svg);
      var label = el('text', {'class': 'violation-label', x: vx - 4, y: TOP - 18,
                              'text-anchor': 'end', 'data-detail': detail}, svg);
      label.textContent = 'violation: ' + v.invariant;
    }
    document.getElementById('summary').textContent = 'window ' + ms(data.begin) + ' to ' +
        ms(data.end) + ', ' + drawn + ' messages (' + lost + ' lost)' +
        (data.filter ? ', only ' + data.filter : '');
  }

  try {
    document.getElementById('title').textContent = data.title;
    render();
    var panel = document.getElementById('detail');
    document.getElementById('diagram').addEventListener('mouseover', function (ev) {
      var d = ev.target.getAttribute && ev.target.getAttribute('data-detail');
      if (d) panel.textContent = d;
    });
    document.getElementById('zoom-in').onclick = function () { zoom *= 2; render(); };
    document.getElementById('zoom-out').onclick = function () { zoom = Math.max(zoom / 2, 1); render(); };
    document.getElementById('zoom-fit').onclick = function () { zoom = 1; render(); };
    if (window.timelineErrors === 0) document.getElementById('status').textContent = 'ok';
  } catch (e) {
    window.timelineFail(e && e.message ? e.message : String(e));
  }
})();
</script>
</body></html>
)HTML";

}  // namespace

std::string EscapeForScript(const std::string& json) {
  std::string out;
  out.reserve(json.size());
  for (char c : json) {
    if (c == '<') {
      out += "\\u003c";
    } else {
      out += c;
    }
  }
  return out;
}

std::string RenderTimelineHtml(const Timeline& t) {
  std::string out = kHead;
  out += "<title>" + EscapeText("seedgrid timeline: " + t.title) + "</title>\n</head>\n";
  out += kBody;
  out += "<script type=\"application/json\" id=\"timeline-data\">";
  out += EscapeForScript(PageData(t).dump(-1, ' ', false, json::error_handler_t::replace));
  out += "</script>\n";
  out += kScript;
  return out;
}

}  // namespace seedgrid::tools
