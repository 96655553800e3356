// report.html panel "Linearizations": for each non-linearizable key the linearizable checker explained
// (data.linearizations, DATA.md), an SVG diagram of its failing window: a lane per process, each op a bar from invoke
// to completion (an info op open to the right: it may take effect any time later), the longest linearizable prefix
// as numbered points joined in order, the op that cannot be linearized outlined, the faults shaded. Hovering a bar
// shows the op and the model state after it (or, for the offending op, the states it could have started from).
// Linked both ways with its anomaly (#anomaly-<id> / #lin-<id>) and reachable from the timeline.
(function () {
  'use strict';
  const R = (window.faultlineReport = window.faultlineReport || {});
  (R.panels = R.panels || {}).linearization = function (page, showInTimeline) {
    const { h, isNum, arr, obj } = window.faultlineCommon;
    const { COLORS, fmtS, compact } = R.core;
    const diagrams = arr(page.data.linearizations).filter((d) => obj(d) && arr(d.ops).length);
    const NS = 'http://www.w3.org/2000/svg';
    const LANE = 28, LEFT = 64, TOP = 24, RIGHT = 24;

    function svg(tag, attrs, ...children) {
      const el = document.createElementNS(NS, tag);
      for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
      for (const c of children) if (c) el.append(c);
      return el;
    }
    const title = (text) => { const t = document.createElementNS(NS, 'title'); t.textContent = text; return t; };
    const show = (v) => (v === null || v === undefined ? 'nil' : compact(v, 40));
    function label(op) {
      if (op.f === 'cas' && Array.isArray(op.value) && op.value.length === 2) return `cas ${show(op.value[0])}→${show(op.value[1])}`;
      if (op.f === 'read') return 'r ' + (op.type === 'ok' ? show(op.value) : '?');
      if (op.f === 'write') return 'w ' + show(op.value);
      return String(op.f ?? '?') + ' ' + show(op.value);
    }
    function describe(op, d) {
      const when = `${fmtS(op.start_ms)} – ${isNum(op.end_ms) ? fmtS(op.end_ms) : 'never completed (info)'}`;
      let text = `${op.f} ${show(op.value)} by process ${op.process}, ${op.type}, ${when} (op ${op.index})`;
      if (isNum(op.order)) text += `\nlinearized #${op.order + 1} at ${fmtS(op.point_ms)}; state after: ${show(op.state)}`;
      if (op.offending) text += `\ncannot be linearized; possible states before it: ${arr(d.states_before).map(show).join(', ') || 'none'}`;
      return text;
    }

    function diagram(d, width) {
      const procs = arr(d.processes);
      const lane = new Map(procs.map((p, i) => [p, i]));
      const win = obj(d.window) || {};
      let lo = isNum(win.start_ms) ? win.start_ms : 0, hi = isNum(win.end_ms) ? win.end_ms : lo + 1;
      if (hi <= lo) hi = lo + 1;
      const pad = (hi - lo) * 0.03;
      lo -= pad; hi += pad;
      const plotW = width - LEFT - RIGHT;
      const x = (ms) => LEFT + Math.max(0, Math.min(1, (ms - lo) / (hi - lo))) * plotW;
      const height = TOP + procs.length * LANE + 24;
      const root = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, class: 'fl-lin-svg', role: 'img' });
      for (const f of arr(d.faults)) {
        const x0 = x(f.start_ms), x1 = x(isNum(f.end_ms) ? f.end_ms : hi);
        root.append(svg('rect', { x: x0, y: TOP - 6, width: Math.max(2, x1 - x0), height: procs.length * LANE + 6,
          fill: page.fStyle(f.fault).fill, class: 'lin-fault' }, title(f.label || f.fault)));
        root.append(svg('text', { x: x0 + 3, y: TOP - 9, class: 'lin-fault-label', fill: page.fStyle(f.fault).ink }, document.createTextNode(f.label || f.fault)));
      }
      procs.forEach((p, i) => {
        const y = TOP + i * LANE;
        root.append(svg('line', { x1: LEFT, x2: width - RIGHT, y1: y + LANE / 2, y2: y + LANE / 2, class: 'lin-lane' }));
        root.append(svg('text', { x: 6, y: y + LANE / 2 + 4, class: 'lin-proc' }, document.createTextNode('p' + p)));
      });
      const points = [];
      for (const op of arr(d.ops)) {
        if (!lane.has(op.process) || !isNum(op.start_ms)) continue;
        const y = TOP + lane.get(op.process) * LANE + 4;
        const x0 = x(op.start_ms), open = !isNum(op.end_ms), x1 = open ? width - RIGHT : x(op.end_ms);
        const color = COLORS[op.type] || '#64748b';
        const g = svg('g', { class: 'lin-op' + (op.offending ? ' offending' : '') + (open ? ' open' : ''), 'data-op': op.index,
          'data-order': isNum(op.order) ? op.order : null }, title(describe(op, d)));
        g.append(svg('rect', { x: x0, y, width: Math.max(3, x1 - x0), height: LANE - 8, rx: 3, fill: color,
          'fill-opacity': open ? 0.25 : 0.55, stroke: op.offending ? '#111827' : color, 'stroke-width': op.offending ? 2.5 : 1,
          'stroke-dasharray': open ? '4 3' : null }));
        g.append(svg('text', { x: x0 + (isNum(op.order) ? 9 : 3), y: y + LANE - 12, class: 'lin-op-label' }, document.createTextNode(label(op))));
        root.append(g);
        if (isNum(op.order) && isNum(op.point_ms)) points.push({ order: op.order, x: x(op.point_ms), y: y + (LANE - 8) / 2, op });
      }
      points.sort((a, b) => a.order - b.order);
      if (points.length > 1) {
        root.append(svg('polyline', { points: points.map((p) => `${p.x},${p.y}`).join(' '), class: 'lin-order' }));
      }
      for (const p of points) {
        root.append(svg('circle', { cx: p.x, cy: p.y, r: 5, class: 'lin-point', 'data-order': p.order },
          title(`linearized #${p.order + 1}: ${label(p.op)}; state after: ${show(p.op.state)}`)));
        root.append(svg('text', { x: p.x, y: p.y - 7, class: 'lin-point-n', 'text-anchor': 'middle' }, document.createTextNode(String(p.order + 1))));
      }
      // the time axis: the window's ends
      root.append(svg('text', { x: LEFT, y: height - 6, class: 'lin-axis' }, document.createTextNode(fmtS(lo + pad))));
      root.append(svg('text', { x: width - RIGHT, y: height - 6, class: 'lin-axis', 'text-anchor': 'end' }, document.createTextNode(fmtS(hi - pad))));
      return root;
    }

    function anomalyOf(id) {
      for (const c of page.checkers) for (const a of arr(c.anomalies)) if (String(a.id) === id) return a;
      return null;
    }

    function renderLinearizations() {
      if (!diagrams.length) return document.createTextNode('');
      const sec = h('section', { class: 'fl-sec', id: 'linearizations' }, h('h2', null, 'Linearizations',
        h('span', { class: 'hint' }, 'the failing window of each non-linearizable key: bars from invoke to completion, '
          + 'numbered points = the longest linearizable prefix, outlined = the op that cannot follow it; hover for states')));
      const width = Math.max(520, Math.min(1300, (document.getElementById('app').clientWidth || 1000) - 80));
      for (const d of diagrams) {
        const id = String(d.id);
        const a = anomalyOf(id);
        const btn = a ? h('button', { class: 'show-in-timeline' }, 'Show in timeline') : null;
        if (btn) btn.addEventListener('click', () => showInTimeline(a));
        sec.append(h('div', { class: 'fl-lin', id: 'lin-' + id, 'data-lin': id, 'data-key': d.key ?? '' },
          h('div', { class: 'head' }, h('span', { class: 'mono' }, 'key ' + (d.key ?? '?')),
            h('span', { class: 'muted' }, `${d.model || 'register'} · ${arr(d.ops).length} ops in the window · ${arr(d.processes).length} processes`),
            a ? h('a', { href: '#anomaly-' + id }, 'the anomaly') : null, btn),
          h('div', { class: 'text' }, d.sentence ?? ''),
          h('div', { class: 'fl-lin-plot' }, diagram(d, width))));
      }
      return sec;
    }

    // "Linearization diagram" links for the anomalies and the timeline.
    const ids = new Set(diagrams.map((d) => String(d.id)));
    function linkFor(anomalyId) {
      return ids.has(String(anomalyId)) ? h('a', { class: 'lin-link', href: '#lin-' + anomalyId }, 'Linearization diagram') : null;
    }
    function timelineLinks() {
      if (!diagrams.length) return null;
      return h('div', { class: 'fl-lin-links', id: 'timeline-linearizations' }, 'Linearization diagrams: ',
        diagrams.flatMap((d, i) => [i ? ' · ' : null, h('a', { href: '#lin-' + d.id },
          `key ${d.key ?? '?'} at ${fmtS(obj(d.window) ? d.window.start_ms : null)}`)]));
    }
    return { renderLinearizations, linkFor, timelineLinks };
  };
})();
