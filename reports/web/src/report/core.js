// report.html front end, the shared core: colours, formatters, uPlot helpers (zoom, pan, fault bands, one time
// window for all time charts) and the page context every panel reads. Like every file in report/ it only registers
// on window.faultlineReport (here: .core), so the files' order does not matter; report.js, inlined last, wires them.
(function () {
  'use strict';
  const R = (window.faultlineReport = window.faultlineReport || {});
  const { h, isNum, arr, obj } = window.faultlineCommon;

  const COLORS = { ok: '#2f9e55', fail: '#d43c33', info: '#e0a21b' };
  const TYPE_NAMES = ['ok', 'fail', 'info'];
  const FAULT_FILLS = ['rgba(124, 58, 237, 0.10)', 'rgba(220, 38, 38, 0.09)', 'rgba(37, 99, 235, 0.10)',
    'rgba(13, 148, 136, 0.11)', 'rgba(234, 88, 12, 0.11)', 'rgba(100, 116, 139, 0.12)'];
  const FAULT_INKS = ['#6d28d9', '#b91c1c', '#1d4ed8', '#0f766e', '#c2410c', '#475569'];
  const F_PALETTE = ['#2563eb', '#059669', '#7c3aed', '#0891b2', '#4d7c0f', '#db2777', '#475569', '#9333ea'];
  const FAIL_PALETTE = ['#dc2626', '#b91c1c', '#f43f5e', '#991b1b'];
  const INFO_PALETTE = ['#d97706', '#ca8a04', '#ea580c', '#a16207'];

  function fmtS(ms, digits = 3) { return isNum(ms) ? (ms / 1000).toFixed(digits) + ' s' : '—'; }
  function fmtMs(ms) {
    if (!isNum(ms)) return '—';
    if (ms < 1) return ms.toFixed(3) + ' ms';
    if (ms < 100) return ms.toFixed(1) + ' ms';
    if (ms < 10000) return Math.round(ms) + ' ms';
    return (ms / 1000).toFixed(2) + ' s';
  }
  function fmtDuration(ms) {
    if (!isNum(ms)) return '—';
    const s = ms / 1000;
    if (s < 120) return s.toFixed(s < 10 ? 2 : 1) + ' s';
    const m = Math.floor(s / 60);
    return m + ' min ' + Math.round(s - m * 60) + ' s';
  }
  function compact(v, max = 120) {
    let s;
    try { s = typeof v === 'string' ? v : JSON.stringify(v); } catch (e) { s = String(v); }
    if (s === undefined) s = String(v);
    return s.length > max ? s.slice(0, max - 1) + '…' : s;
  }
  function isScalar(v) { return v === null || ['string', 'number', 'boolean'].includes(typeof v); }
  function fmtInt(n) { return isNum(n) ? n.toLocaleString('en-US') : '—'; }
  function colorFor(name, i, type) {
    if (type === 'fail') return FAIL_PALETTE[i % FAIL_PALETTE.length];
    if (type === 'info') return INFO_PALETTE[i % INFO_PALETTE.length];
    return F_PALETTE[i % F_PALETTE.length];
  }
  function faultStyle(nemesis) {
    const kinds = [];
    for (const n of nemesis) if (!kinds.includes(n.fault)) kinds.push(n.fault);
    return (fault) => {
      const i = Math.max(0, kinds.indexOf(fault)) % FAULT_FILLS.length;
      return { fill: FAULT_FILLS[i], ink: FAULT_INKS[i] };
    };
  }
  function safe(section, fn) {
    try { return fn(); } catch (e) {
      console.warn('faultline report: could not render ' + section + ':', e);
      return h('div', { class: 'fl-note error' }, 'Could not render ' + section + ': ' + (e && e.message));
    }
  }
  function mergeHooks(...list) {
    const out = {};
    for (const hooks of list) for (const [k, v] of Object.entries(hooks)) (out[k] = out[k] || []).push(...v);
    return out;
  }

  // Wheel zoom on x, shift+drag pan, double-click reset (uPlot's own). Works on any uPlot with an "x" scale.
  // An x scale that zoom, pan and the timeline may set (a fixed [min, max] range would ignore them);
  // each chart starts on the whole run with u.setScale after it is made.
  const freeX = (u, min, max) => [min, max];
  function zoomPan(u, fullMin, fullMax) {
    u.over.addEventListener('wheel', (e) => {
      e.preventDefault();
      const { min, max } = u.scales.x;
      const rect = u.over.getBoundingClientRect();
      const at = u.posToVal(e.clientX - rect.left, 'x');
      const k = e.deltaY < 0 ? 0.8 : 1.25;
      let nmin = at - (at - min) * k, nmax = at + (max - at) * k;
      if (nmax - nmin >= fullMax - fullMin) { nmin = fullMin; nmax = fullMax; }
      u.setScale('x', { min: nmin, max: nmax });
    }, { passive: false });
    u.root.addEventListener('mousedown', (e) => {
      if (!e.shiftKey || e.button !== 0) return;
      e.stopPropagation(); e.preventDefault();
      const startX = e.clientX, { min, max } = u.scales.x;
      const perPx = (max - min) / u.over.clientWidth;
      const move = (ev) => {
        const d = (ev.clientX - startX) * perPx;
        u.setScale('x', { min: min - d, max: max - d });
      };
      const up = () => { document.removeEventListener('mousemove', move); document.removeEventListener('mouseup', up); };
      document.addEventListener('mousemove', move);
      document.addEventListener('mouseup', up);
    }, true);
  }

  function chartWidth(el) { return Math.max(320, Math.floor((el.clientWidth || document.getElementById('app').clientWidth || 900))); }

  // The page context: the data's sections read defensively (any of them may be missing or null), the run's time
  // span, and what the panels share: `exposed` (window.__faultline: the uPlots, for tests), `resizers` (called on
  // window resize), `tl` (the timeline's uPlot and highlight), `pending` (chart builds that wait for the layout).
  function pageContext(data, exposed, resizers) {
    const run = obj(data.run) || {};
    const test = obj(data.test);
    const verdict = obj(data.verdict) || { valid: 'unknown', sentence: '' };
    const stats = obj(data.stats) || {};
    const checkers = arr(data.checkers);
    const opsById = obj(data.ops) || {};
    const nemesis = arr(data.nemesis).filter((n) => n && isNum(n.start_ms));
    const timeline = obj(data.timeline) || {};
    const charts = obj(data.charts) || {};
    const fStyle = faultStyle(nemesis);
    const durationMs = Math.max(isNum(stats.duration_ms) ? stats.duration_ms : 0,
      ...nemesis.map((n) => (isNum(n.end_ms) ? n.end_ms : n.start_ms)), 0);
    const xMaxS = Math.max(durationMs / 1000, 0.01);
    const tl = { u: null, highlight: new Set(), highlightId: null, markers: [] };
    const pending = [];

    // One time window for the timeline and the charts over time: zooming or panning one moves the others
    // (only once the page is drawn, so each chart's first layout stays its own).
    let syncingX = false;
    function syncX(src, key) {
      if (key !== 'x' || syncingX || !window.__faultlineRendered) return;
      syncingX = true;
      const { min, max } = src.scales.x;
      for (const u of [exposed.timeline, exposed.charts.latency, exposed.charts.throughput, exposed.charts.quantiles]) {
        if (u && u !== src && (u.scales.x.min !== min || u.scales.x.max !== max)) u.setScale('x', { min, max });
      }
      syncingX = false;
    }

    // Fault bands, shared by all time charts: hooks for a uPlot whose x scale is seconds, shading the fault
    // intervals under the series and (withLabels) labelling them on top.
    function faultHooks(withLabels) {
      const drawBands = (u) => {
        if (!nemesis.length) return;
        const { ctx } = u;
        const { top, height, left, width } = u.bbox;
        ctx.save();
        ctx.beginPath(); ctx.rect(left, top, width, height); ctx.clip();
        for (const n of nemesis) {
          const end = isNum(n.end_ms) ? n.end_ms : durationMs;
          const x0 = u.valToPos(n.start_ms / 1000, 'x', true);
          const x1 = u.valToPos(end / 1000, 'x', true);
          if (x1 < left || x0 > left + width) continue;
          ctx.fillStyle = fStyle(n.fault).fill;
          ctx.fillRect(x0, top, Math.max(x1 - x0, 2), height);
        }
        if (isNum(stats.main_phase_end_ms)) {
          const x = u.valToPos(stats.main_phase_end_ms / 1000, 'x', true);
          if (x >= left && x <= left + width) {
            ctx.strokeStyle = '#64748b'; ctx.setLineDash([4 * devicePixelRatio, 4 * devicePixelRatio]);
            ctx.lineWidth = devicePixelRatio;
            ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, top + height); ctx.stroke();
          }
        }
        ctx.restore();
      };
      const drawLabels = (u) => {
        if (!withLabels || !nemesis.length) return;
        const { ctx } = u;
        const { top, left, width } = u.bbox;
        const px = devicePixelRatio;
        ctx.save();
        ctx.beginPath(); ctx.rect(left, top, width, u.bbox.height); ctx.clip();
        ctx.font = `${11 * px}px system-ui, sans-serif`;
        ctx.textBaseline = 'top';
        let row = 0, lastEnd = -Infinity;
        for (const n of nemesis) {
          const end = isNum(n.end_ms) ? n.end_ms : durationMs;
          const x0 = Math.max(u.valToPos(n.start_ms / 1000, 'x', true), left);
          const x1 = u.valToPos(end / 1000, 'x', true);
          if (x1 < left || x0 > left + width) continue;
          const text = n.label || n.fault || 'fault';
          const w = ctx.measureText(text).width + 8 * px;
          row = x0 < lastEnd ? (row + 1) % 3 : 0;
          lastEnd = Math.max(lastEnd, x0 + w);
          const y = top + 2 * px + row * 14 * px;
          ctx.fillStyle = 'rgba(255,255,255,0.85)';
          ctx.fillRect(x0 + 2 * px, y, w - 4 * px, 13 * px);
          ctx.fillStyle = fStyle(n.fault).ink;
          ctx.fillText(text, x0 + 4 * px, y + px);
        }
        ctx.restore();
      };
      return { drawClear: [drawBands], draw: [drawLabels] };
    }
    function faultAt(ms) {
      return nemesis.filter((n) => n.start_ms <= ms && ms <= (isNum(n.end_ms) ? n.end_ms : durationMs));
    }

    return { data, exposed, resizers, run, test, verdict, stats, checkers, opsById, nemesis, timeline, charts,
      fStyle, durationMs, xMaxS, tl, pending, syncX, faultHooks, faultAt };
  }

  R.core = { COLORS, TYPE_NAMES, fmtS, fmtMs, fmtDuration, compact, isScalar, fmtInt, colorFor, safe, mergeHooks,
    freeX, zoomPan, chartWidth, pageContext };
})();
