// report.html panel "Timeline": one lane per run of processes, each op a bar from invoke to completion, fault
// intervals shaded, zoom and pan shared with the charts over time; and the anomaly explorer's side of it:
// showInTimeline(anomaly) zooms to an anomaly and outlines its ops. The canvas drawing is timeline_canvas.js.
(function () {
  'use strict';
  const R = (window.faultlineReport = window.faultlineReport || {});
  (R.panels = R.panels || {}).timeline = function (page) {
    const { h, isNum, arr, obj } = window.faultlineCommon;
    const { COLORS, fmtInt, mergeHooks, zoomPan, chartWidth } = R.core;
    const { exposed, resizers, nemesis, timeline, opsById, xMaxS, tl, syncX, faultHooks } = page;

    function renderTimeline() {
      const sec = h('section', { class: 'fl-sec', id: 'timeline-section' });
      const lanes = arr(timeline.lanes);
      const cols = obj(timeline.ops) || {};
      const n = arr(cols.index).length;
      const buckets = timeline.exact === false ? obj(timeline.buckets) : null;
      const total = isNum(timeline.total) ? timeline.total : n;
      const note = timeline.exact === false
        ? `showing ${fmtInt(n)} of ${fmtInt(total)} ops (density shaded)` : `${fmtInt(n)} ops`;
      sec.append(h('h2', null, 'Timeline', h('span', { class: 'hint', id: 'timeline-note' }, note)));
      if (page.linearization) sec.append(page.linearization.timelineLinks() || '');
      const host = h('div', { id: 'timeline', class: 'fl-chart' });
      if (!lanes.length || (!n && !buckets)) {
        sec.append(h('div', { class: 'fl-empty', id: 'timeline-empty' }, 'No client operations in this history.'));
        return sec;
      }
      const resetBtn = h('button', { id: 'timeline-reset' }, 'Reset zoom');
      const legend = h('div', { class: 'fl-legend' },
        ['ok', 'fail', 'info'].map((t) => h('span', null, h('span', { class: 'sw', style: 'background:' + COLORS[t] }), t)),
        nemesis.length ? h('span', null, h('span', { class: 'sw', style: 'background:rgba(124,58,237,.25)' }), 'fault interval') : null,
        h('span', null, h('span', { class: 'sw', style: 'background:#fff;outline:2px solid #1d4ed8' }), 'anomaly op'),
        buckets ? h('span', null, h('span', { class: 'sw', style: 'background:rgba(47,158,85,.35)' }), 'density of the ops not drawn one by one') : null);
      sec.append(h('div', { class: 'fl-toolbar' }, legend, h('span', { class: 'sp' }),
        'drag: zoom to a range · wheel: zoom · shift+drag: pan · double-click: whole run', resetBtn));
      sec.append(host);
      const build = () => buildTimeline(host, lanes, cols, n, buckets);
      tl.pendingBuild = build;
      resetBtn.addEventListener('click', () => { tl.u && tl.u.setScale('x', { min: 0, max: xMaxS }); setHighlight(null); });
      return sec;
    }

    function buildTimeline(host, lanes, cols, n, buckets) {
      const nl = lanes.length;
      const idx = cols.index, lane = cols.lane, st = cols.start_ms, en = cols.end_ms, ty = arr(cols.type), fs = arr(cols.f);
      const procs = arr(cols.process);
      const fNames = arr(timeline.f_names);
      // per-lane positions, for hover lookups
      const perLane = Array.from({ length: nl }, () => []);
      for (let i = 0; i < n; i++) { const l = lane[i]; if (l >= 0 && l < nl) perLane[l].push(i); }
      const laneH = nl > 60 ? 8 : nl > 30 ? 12 : 20;
      const labelPx = nemesis.length ? 30 : 0;
      const height = Math.min(900, Math.max(160, nl * laneH + 60 + labelPx));
      const topRoom = labelPx / laneH;
      const laneY = (l) => nl - 1 - l; // lane 0 on top
      const labels = lanes.map((l, i) => (l && l.label) || 'lane ' + i);
      const step = Math.max(1, Math.ceil(nl / Math.floor((height - 60) / 13)));
      const axisSize = Math.min(170, 16 + 7 * Math.max(4, ...labels.map((s) => Math.min(s.length, 24))));
      const g = { nl, n, idx, lane, st, en, ty, fs, procs, fNames, perLane, labels, buckets };
      const drawOps = R.timelineCanvas.opsPainter(page, g);
      const { tip, showTip } = R.timelineCanvas.tooltip(page, g);

      const opts = {
        width: chartWidth(host), height,
        scales: {
          x: { time: false, range: (u, min, max) => [min, max] },
          y: { auto: false, range: [-0.5, nl - 0.5 + topRoom] },
        },
        legend: { show: false },
        cursor: { drag: { x: true, y: false, setScale: true }, points: { show: false }, y: true },
        series: [{}, { label: 'ops', stroke: 'transparent', points: { show: false }, paths: () => null }],
        axes: [
          { label: 'seconds since the test started', labelSize: 20, grid: { stroke: '#eef1f5' }, ticks: { stroke: '#cbd2dc' } },
          {
            size: axisSize, gap: 4, grid: { show: false }, ticks: { show: false },
            splits: () => { const s = []; for (let l = 0; l < nl; l += step) s.push(laneY(l)); return s; },
            values: (u, splits) => splits.map((v) => { const l = nl - 1 - Math.round(v); const s = labels[l] ?? ''; return s.length > 24 ? s.slice(0, 23) + '…' : s; }),
          },
        ],
        hooks: mergeHooks(faultHooks(false), {
          draw: [drawOps, faultHooks(true).draw[0]],
          setCursor: [showTip],
          setScale: [(u, key) => {
            if (key !== 'x') return;
            host.dataset.xMinMs = String(u.scales.x.min * 1000);
            host.dataset.xMaxMs = String(u.scales.x.max * 1000);
            syncX(u, key);
          }],
        }),
      };
      // lane separators, drawn under the bars
      opts.hooks.drawClear.push((u) => {
        const { ctx } = u; const { left, top, width, height: bh } = u.bbox;
        if (nl > 80) return;
        ctx.save(); ctx.strokeStyle = '#f1f3f7'; ctx.lineWidth = 1;
        for (let l = 1; l < nl; l++) { const y = Math.round(u.valToPos(l - 0.5, 'y', true)) + 0.5; ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(left + width, y); ctx.stroke(); }
        ctx.restore();
      });
      const u = new uPlot(opts, [[0, xMaxS], [null, null]], host);
      u.over.append(tip);
      u.over.addEventListener('mouseleave', () => { tip.style.display = 'none'; });
      zoomPan(u, 0, xMaxS);
      tl.u = u;
      exposed.timeline = u;
      resizers.push(() => u.setSize({ width: chartWidth(host), height }));
    }

    function setHighlight(a) {
      tl.highlight = new Set();
      tl.markers = [];
      tl.highlightId = a ? String(a.id) : null;
      const host = document.getElementById('timeline');
      document.querySelectorAll('.fl-anomaly.selected').forEach((el) => el.classList.remove('selected'));
      if (a) {
        for (const i of arr(a.ops)) {
          tl.highlight.add(i);
          const op = obj(opsById[String(i)]);
          if (op && isNum(op.invoke_index)) tl.highlight.add(op.invoke_index);
        }
        // an invoke listed alone: highlight its completion
        for (const op of Object.values(opsById)) if (op && tl.highlight.has(op.invoke_index)) tl.highlight.add(op.index);
        // ops with no bar of their own (not in timeline.ops, and not an invoke whose completion is shown): a time marker
        const shown = new Set(arr(obj(timeline.ops) && timeline.ops.index));
        const completedShown = new Set();
        for (const op of Object.values(opsById)) if (op && isNum(op.invoke_index) && shown.has(op.index)) completedShown.add(op.invoke_index);
        for (const i of arr(a.ops)) {
          const op = obj(opsById[String(i)]);
          if (!op || !isNum(op.time_ms) || shown.has(op.index) || completedShown.has(op.index)) continue;
          if (isNum(op.invoke_index) && shown.has(op.invoke_index)) continue;
          tl.markers.push(op.time_ms);
        }
        const el = document.getElementById('anomaly-' + a.id);
        if (el) el.classList.add('selected');
      }
      if (host) {
        if (a) host.dataset.highlight = String(a.id); else delete host.dataset.highlight;
      }
      if (tl.u) tl.u.redraw(false);
    }

    function showInTimeline(a) {
      const sec = document.getElementById('timeline-section');
      let s = null, e = null;
      const f = obj(a.focus);
      if (f && isNum(f.start_ms) && isNum(f.end_ms)) { s = f.start_ms; e = f.end_ms; } else {
        for (const i of arr(a.ops)) {
          const op = obj(opsById[String(i)]);
          if (!op) continue;
          for (const t of [op.invoke_ms, op.time_ms]) if (isNum(t)) { s = s === null ? t : Math.min(s, t); e = e === null ? t : Math.max(e, t); }
        }
        if (s !== null) { const m = Math.max(50, (e - s) * 0.2); s -= m; e += m; }
      }
      setHighlight(a);
      if (tl.u && s !== null) {
        if (e - s < 0.5) { s -= 0.25; e += 0.25; }
        tl.u.setScale('x', { min: s / 1000, max: e / 1000 });
      }
      if (sec) {
        sec.scrollIntoView({ block: 'start' });
        const host = document.getElementById('timeline');
        if (host) { host.classList.add('flash'); setTimeout(() => host.classList.remove('flash'), 900); }
      }
    }
    return { renderTimeline, showInTimeline };
  };
})();
