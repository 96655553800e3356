// faultline report.html front end. Reads the JSON in #faultline-data (reports/web/DATA.md, "kind": "report")
// and renders into #app: verdict banner, the test, checkers with their anomalies, the timeline, charts.
// uPlot (inlined before this script) draws axes, scales, zoom and cursor; op bars and fault bands are drawn
// in uPlot draw hooks on its canvas, only what is in view, so 100,000 ops stay fast.
// For tests: window.__faultline exposes the charts; window.__faultlineRendered = true once rendered;
// #timeline carries data-x-min-ms / data-x-max-ms / data-highlight.
(function () {
  'use strict';

  const COLORS = { ok: '#2f9e55', fail: '#d43c33', info: '#e0a21b' };
  const TYPE_NAMES = ['ok', 'fail', 'info'];
  const FAULT_FILLS = ['rgba(124, 58, 237, 0.10)', 'rgba(220, 38, 38, 0.09)', 'rgba(37, 99, 235, 0.10)',
    'rgba(13, 148, 136, 0.11)', 'rgba(234, 88, 12, 0.11)', 'rgba(100, 116, 139, 0.12)'];
  const FAULT_INKS = ['#6d28d9', '#b91c1c', '#1d4ed8', '#0f766e', '#c2410c', '#475569'];
  const F_PALETTE = ['#2563eb', '#059669', '#7c3aed', '#0891b2', '#4d7c0f', '#db2777', '#475569', '#9333ea'];
  const FAIL_PALETTE = ['#dc2626', '#b91c1c', '#f43f5e', '#991b1b'];
  const INFO_PALETTE = ['#d97706', '#ca8a04', '#ea580c', '#a16207'];

  const exposed = { charts: {}, timeline: null };
  window.__faultline = exposed;

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

  // ---------------------------------------------------------------- helpers
  const { h, isNum, arr, obj, verdictClass } = window.faultlineCommon;
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

  // ---------------------------------------------------------------- data
  let data;
  try {
    data = JSON.parse(document.getElementById('faultline-data').textContent);
  } catch (e) {
    document.getElementById('app').append(h('div', { class: 'fl-note error' }, 'The report data is unreadable: ' + e.message));
    window.__faultlineRendered = true;
    return;
  }
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

  // ---------------------------------------------------------------- fault bands (shared by all time charts)
  // hooks for a uPlot whose x scale is seconds: shaded intervals under the series, labels on top.
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
  function mergeHooks(...list) {
    const out = {};
    for (const hooks of list) for (const [k, v] of Object.entries(hooks)) (out[k] = out[k] || []).push(...v);
    return out;
  }
  function faultAt(ms) {
    return nemesis.filter((n) => n.start_ms <= ms && ms <= (isNum(n.end_ms) ? n.end_ms : durationMs));
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
  const resizers = [];
  window.addEventListener('resize', () => {
    clearTimeout(resizers.t);
    resizers.t = setTimeout(() => resizers.forEach((f) => f()), 120);
  });

  // ---------------------------------------------------------------- banner
  function renderBanner() {
    const cls = verdictClass(verdict.valid);
    const word = { valid: 'Valid', invalid: 'Invalid', unknown: 'Unknown' }[cls];
    const sentence = verdict.sentence || { valid: 'No anomalies found.', invalid: 'Anomalies found.',
      unknown: 'The checkers could not decide.' }[cls];
    const sub = [];
    if (run.name) sub.push(run.name);
    if (run.started) sub.push('started ' + run.started);
    if (isNum(stats.duration_ms)) sub.push('ran ' + fmtDuration(stats.duration_ms));
    const banner = h('div', { class: 'fl-banner ' + cls, id: 'verdict', 'data-verdict': cls },
      h('div', { class: 'word' }, word),
      h('div', null, h('div', { class: 'sentence' }, sentence), h('div', { class: 'sub' }, sub.join(' · '))));
    const notes = h('div', { class: 'fl-notes' });
    if (verdict.incomplete) notes.append(h('div', { class: 'fl-note' }, 'Incomplete: the run did not finish all its phases; the verdict covers the history recorded so far.'));
    if (verdict.error) notes.append(h('div', { class: 'fl-note error', id: 'run-error' }, h('b', null, 'The test harness failed: '), h('pre', null, String(verdict.error))));
    const warnings = arr(data.warnings);
    if (warnings.length) {
      const list = h('ul', { style: 'margin:4px 0 0 18px;padding:0' }, warnings.slice(0, 50).map((w) => h('li', null, String(w))));
      if (warnings.length > 50) list.append(h('li', null, `… and ${warnings.length - 50} more`));
      notes.append(h('div', { class: 'fl-note', id: 'warnings' }, h('b', null, warnings.length + ' warning' + (warnings.length === 1 ? '' : 's') + ' while reading the run'), list));
    }
    return [banner, notes];
  }

  // ---------------------------------------------------------------- the test
  function renderTest() {
    const t = test || {};
    const facts = [];
    const add = (k, v) => { if (v !== undefined && v !== null && v !== '') facts.push(h('div', null, h('dt', null, k), h('dd', null, v))); };
    let store = t.db;
    const dbOpts = t.db && obj(t[t.db]);
    if (dbOpts && ['n', 'r', 'w'].every((k) => isNum(dbOpts[k]))) store += ` (N=${dbOpts.n} R=${dbOpts.r} W=${dbOpts.w})`;
    add('Store', store);
    let nodes = arr(t.nodes).length ? arr(t.nodes).join(', ') : null;
    if (!nodes && isNum(t.local)) nodes = `${t.local} local namespaces`;
    const statNodes = arr(stats.nodes);
    if (statNodes.length) nodes = (nodes && !arr(t.nodes).length ? nodes + ': ' : '') + statNodes.join(', ');
    add('Nodes', nodes);
    add('Workload', t.workload);
    add('Nemesis', Array.isArray(t.nemesis) ? t.nemesis.join(', ') : t.nemesis);
    add('Seed', t.seed !== undefined ? String(t.seed) : null);
    add('Time limit', isNum(t['time-limit']) ? t['time-limit'] + ' s' : null);
    add('Actual duration', isNum(stats.duration_ms) ? fmtDuration(stats.duration_ms) : null);
    add('Started', run.started);
    add('Concurrency', t.concurrency !== undefined ? String(t.concurrency) : null);
    add('Rate', isNum(t.rate) ? t.rate + ' ops/s' : null);
    const o = obj(stats.ops);
    if (o) add('Ops', h('span', null, h('span', { class: 't-ok' }, fmtInt(o.ok) + ' ok'), ' · ',
      h('span', { class: 't-fail' }, fmtInt(o.fail) + ' fail'), ' · ', h('span', { class: 't-info' }, fmtInt(o.info) + ' info')));
    add('Processes', isNum(stats.processes) ? String(stats.processes) : null);
    add('Faults injected', nemesis.length ? String(nemesis.length) : (t.nemesis ? '0' : null));
    add('Run directory', run.dir ? h('code', null, run.dir) : null);
    add('Report generated', data.generated);
    const sec = h('section', { class: 'fl-sec', id: 'test' }, h('h2', null, 'The test'), h('dl', { class: 'fl-facts' }, facts));
    if (!facts.length) sec.append(h('div', { class: 'fl-empty' }, 'No test configuration (a bare history).'));
    if (run.command) {
      const code = h('code', { id: 'command' }, run.command);
      const btn = h('button', { id: 'copy-command', title: 'Copy the command that repeats this run' }, 'Copy');
      btn.addEventListener('click', () => copyText(run.command, btn));
      sec.append(h('div', { class: 'fl-cmd' }, code, btn));
    }
    if (test) sec.append(h('details', null, h('summary', null, 'test.json'), h('pre', { class: 'fl-json' }, JSON.stringify(test, null, 2))));
    return sec;
  }
  function copyText(text, btn) {
    const done = (ok) => { btn.textContent = ok ? 'Copied' : 'Select and copy'; setTimeout(() => { btn.textContent = 'Copy'; }, 1500); };
    const fallback = () => {
      const ta = h('textarea', { style: 'position:fixed;left:-9999px' }); ta.value = text;
      document.body.append(ta); ta.select();
      let ok = false;
      try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
      ta.remove(); done(ok);
    };
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(() => done(true), fallback);
    else fallback();
  }

  // ---------------------------------------------------------------- checkers and anomalies
  function detailsTable(details) {
    const rows = [];
    for (const [k, v] of Object.entries(details || {})) {
      if (k === 'summary' || k === 'valid') continue;
      let cell;
      if (isScalar(v)) cell = h('td', { class: isNum(v) ? 'num' : null }, v === null ? '—' : String(v));
      else if (Array.isArray(v)) {
        cell = h('td', null, v.length === 0 ? h('span', { class: 'muted' }, 'none')
          : h('span', null, h('b', null, v.length + (v.length >= 200 ? '+' : '') + ' '), h('span', { class: 'trunc' }, compact(v.slice(0, 5), 160))));
      } else {
        const entries = Object.entries(v);
        const nested = entries.length > 0 && entries.length <= 200 && entries.every(([, x]) => obj(x) && Object.values(x).every(isScalar));
        if (nested) {
          const cols = [];
          for (const [, x] of entries) for (const c of Object.keys(x)) if (!cols.includes(c)) cols.push(c);
          const tab = h('table', { class: 'fl-tab' }, h('tr', null, h('th', null, ''), cols.map((c) => h('th', null, c))),
            entries.map(([rk, x]) => h('tr', null, h('td', null, rk), cols.map((c) => h('td', { class: isNum(x[c]) ? 'num' : null }, x[c] === undefined ? '' : String(x[c]))))));
          cell = h('td', null, h('div', { class: 'fl-details-tab' }, tab));
        } else cell = h('td', null, h('span', { class: 'trunc' }, compact(v, 200)));
      }
      rows.push(h('tr', null, h('th', null, k), cell));
    }
    return rows.length ? h('table', { class: 'fl-tab' }, rows) : null;
  }

  function opRows(indices) {
    const rows = [];
    for (const idx of indices.slice(0, 60)) {
      const op = obj(opsById[String(idx)]);
      if (!op) { rows.push(h('tr', null, h('td', { class: 'num' }, String(idx)), h('td', { colspan: 10, class: 'muted' }, 'not in this page'))); continue; }
      const isInvoke = op.type === 'invoke';
      rows.push(h('tr', { 'data-op': idx },
        h('td', { class: 'num' }, String(op.index ?? idx)),
        h('td', { class: 't-' + op.type }, String(op.type ?? '')),
        h('td', { class: 'num' }, String(op.process ?? '')),
        h('td', null, op.node ?? ''),
        h('td', null, op.f ?? ''),
        h('td', null, op.key ?? ''),
        h('td', null, op.value === undefined || op.value === null ? '' : h('span', { class: 'trunc' }, compact(op.value, 80))),
        h('td', { class: 'num' }, isInvoke ? fmtS(op.time_ms) : fmtS(op.invoke_ms)),
        h('td', { class: 'num' }, isInvoke ? '' : fmtS(op.time_ms)),
        h('td', { class: 'num' }, isNum(op.latency_ms) ? fmtMs(op.latency_ms) : ''),
        h('td', null, op.error ? h('span', { class: 'trunc' }, compact(op.error, 80)) : '')));
    }
    if (indices.length > 60) rows.push(h('tr', null, h('td', { colspan: 11, class: 'muted' }, `… and ${indices.length - 60} more ops`)));
    return h('table', { class: 'fl-tab' },
      h('tr', null, ['index', 'type', 'process', 'node', 'f', 'key', 'value', 'invoked', 'completed', 'latency', 'error'].map((c) => h('th', null, c))),
      rows);
  }

  function renderAnomaly(checker, a) {
    const id = String(a.id ?? '');
    const ops = arr(a.ops);
    const btn = h('button', { class: 'show-in-timeline', 'data-anomaly-link': id }, 'Show in timeline');
    btn.addEventListener('click', () => showInTimeline(a));
    return h('div', { class: 'fl-anomaly', id: 'anomaly-' + id, 'data-anomaly': id, 'data-checker': checker.name ?? '' },
      h('div', { class: 'head' }, h('span', { class: 'kind' }, (checker.name ? checker.name + '.' : '') + (a.kind ?? 'anomaly')),
        a.key !== null && a.key !== undefined ? h('span', { class: 'mono' }, 'key ' + a.key) : null,
        h('span', { class: 'text' }, a.text ?? ''), ops.length || a.focus ? btn : null),
      a.fault ? h('div', { class: 'fault' }, 'Fault active: ' + a.fault) : h('div', { class: 'fault' }, 'No fault active.'),
      ops.length ? h('div', { class: 'ops-wrap' }, opRows(ops)) : null);
  }

  function renderCheckers() {
    const sec = h('section', { class: 'fl-sec', id: 'checkers' }, h('h2', null, 'Checkers',
      h('span', { class: 'hint' }, checkers.length + ' checker' + (checkers.length === 1 ? '' : 's'))));
    if (!checkers.length) sec.append(h('div', { class: 'fl-empty' }, 'No checker results: the checkers did not run.'));
    for (const c of checkers) {
      sec.append(safe('checker ' + c.name, () => {
        const cls = c.valid === 'skipped' ? 'skipped' : verdictClass(c.valid);  // skipped: did not run, no verdict
        const anomalies = arr(c.anomalies);
        const total = isNum(c.anomaly_count) ? c.anomaly_count : anomalies.length;
        const card = h('div', { class: 'fl-card ' + cls, id: 'checker-' + (c.name ?? ''), 'data-checker': c.name ?? '' },
          h('h3', null, c.name ?? '(unnamed)', h('span', { class: 'pill ' + cls }, cls),
            total ? h('span', { class: 'muted', style: 'font-weight:400;font-size:13px' }, total + ' anomal' + (total === 1 ? 'y' : 'ies')) : null),
          h('div', { class: 'summary' }, c.summary ?? ''));
        const tab = detailsTable(obj(c.details));
        if (tab) card.append(h('details', { open: anomalies.length === 0 && cls !== 'valid' ? true : null }, h('summary', null, 'details'), tab));
        if (anomalies.length) {
          const list = h('div', { class: 'fl-anomalies' });
          const first = 10;
          anomalies.slice(0, first).forEach((a) => list.append(renderAnomaly(c, a)));
          if (anomalies.length > first) {
            const more = h('button', null, `Show ${anomalies.length - first} more anomalies`);
            more.addEventListener('click', () => { more.remove(); anomalies.slice(first).forEach((a) => list.append(renderAnomaly(c, a))); });
            list.append(more);
          }
          if (total > anomalies.length) list.append(h('div', { class: 'muted' }, `Listed ${anomalies.length} of ${total} anomalies; results.json has them all.`));
          card.append(list);
        }
        if (c.details && cls !== 'skipped') card.append(h('details', null, h('summary', null, 'raw details (JSON)'), h('pre', { class: 'fl-json' }, compact(c.details, 200000))));
        return card;
      }));
    }
    return sec;
  }

  // ---------------------------------------------------------------- timeline
  const tl = { u: null, highlight: new Set(), highlightId: null, markers: [] };
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
    let posByIndex = null;
    let coverBuf = null;
    let bucketMax = null;
    const laneH = nl > 60 ? 8 : nl > 30 ? 12 : 20;
    const labelPx = nemesis.length ? 30 : 0;
    const height = Math.min(900, Math.max(160, nl * laneH + 60 + labelPx));
    const topRoom = labelPx / laneH;
    const laneY = (l) => nl - 1 - l; // lane 0 on top
    const labels = lanes.map((l, i) => (l && l.label) || 'lane ' + i);
    const step = Math.max(1, Math.ceil(nl / Math.floor((height - 60) / 13)));
    const axisSize = Math.min(170, 16 + 7 * Math.max(4, ...labels.map((s) => Math.min(s.length, 24))));

    function drawOps(u) {
      const t0 = performance.now();
      try { drawOpsIn(u); } finally { exposed.timelineDrawMs = performance.now() - t0; }
    }
    function drawOpsIn(u) {
      const { ctx } = u;
      const { left, top, width, height: bh } = u.bbox;
      const px = devicePixelRatio;
      const xmin = u.scales.x.min * 1000, xmax = u.scales.x.max * 1000;
      const laneHpx = Math.abs(u.valToPos(0, 'y', true) - u.valToPos(1, 'y', true));
      const laneTop = u.valToPos(nl - 0.5, 'y', true);
      const barH = Math.max(1, Math.min(laneHpx * 0.7, 16 * px));
      const scale = width / (xmax - xmin);
      ctx.save();
      ctx.beginPath(); ctx.rect(left, top, width, bh); ctx.clip();
      // density of the ops not shown exactly
      if (buckets && Array.isArray(buckets.lanes)) {
        const bw = buckets.width_ms, b0 = buckets.start_ms || 0, bc = buckets.count || 0;
        if (isNum(bw) && bw > 0) {
          if (bucketMax === null) {
            bucketMax = 1;
            for (const bl of buckets.lanes) {
              if (!bl) continue;
              const ok = arr(bl.ok), fl = arr(bl.fail), inf = arr(bl.info);
              for (let b = 0; b < bc; b++) bucketMax = Math.max(bucketMax, (ok[b] || 0) + (fl[b] || 0) + (inf[b] || 0));
            }
          }
          const maxTot = bucketMax;
          const bFirst = Math.max(0, Math.floor((xmin - b0) / bw)), bLast = Math.min(bc - 1, Math.ceil((xmax - b0) / bw));
          for (let l = 0; l < Math.min(nl, buckets.lanes.length); l++) {
            const bl = buckets.lanes[l];
            if (!bl) continue;
            const ok = arr(bl.ok), fl = arr(bl.fail), inf = arr(bl.info);
            const yc = laneTop + (l + 0.5) * laneHpx;
            for (let b = bFirst; b <= bLast; b++) {
              const o = ok[b] || 0, f = fl[b] || 0, i = inf[b] || 0, tot = o + f + i;
              if (!tot) continue;
              const x0 = left + (b0 + b * bw - xmin) * scale, w = Math.max(bw * scale, 1);
              ctx.globalAlpha = 0.15 + 0.55 * Math.sqrt(tot / maxTot);
              ctx.fillStyle = f ? COLORS.fail : i ? COLORS.info : COLORS.ok;
              if (f || i) {
                const hOk = barH * (o / tot);
                ctx.fillStyle = COLORS.ok; ctx.fillRect(x0, yc - barH / 2, w, hOk);
                ctx.fillStyle = COLORS.fail; ctx.fillRect(x0, yc - barH / 2 + hOk, w, barH * (f / tot));
                ctx.fillStyle = COLORS.info; ctx.fillRect(x0, yc - barH / 2 + hOk + barH * (f / tot), w, barH * (i / tot));
              } else ctx.fillRect(x0, yc - barH / 2, w, barH);
            }
          }
          ctx.globalAlpha = 1;
        }
      }
      // exact ops, only those in view. Many ops in view: per lane and outcome, the pixel columns covered, filled as
      // merged runs (rasterizing 100,000 tiny rects costs ~150 ms a frame; a few thousand runs look the same).
      const paths = [new Path2D(), new Path2D(), new Path2D()];
      const minW = 2 * px;
      let inView = 0;
      for (let i = 0; i < n; i++) if (en[i] >= xmin && st[i] <= xmax) inView++;
      if (inView > 2000) {
        const W = Math.ceil(width) + 1, stride = W + 1;
        const need = 3 * nl * stride;
        if (!coverBuf || coverBuf.length < need) coverBuf = new Int32Array(need);
        const cover = coverBuf;
        cover.fill(0, 0, need);
        for (let i = 0; i < n; i++) {
          const s = st[i], e = en[i];
          if (e < xmin || s > xmax) continue;
          const l = lane[i];
          if (!(l >= 0 && l < nl)) continue;
          const t = ty[i] === 1 || ty[i] === 2 ? ty[i] : 0;
          const c0 = Math.min(W, Math.max(0, Math.round((s - xmin) * scale)));
          const c1 = Math.min(W, Math.max(c0 + minW, Math.round((e - xmin) * scale)));
          const base = (t * nl + l) * stride;
          cover[base + c0]++; cover[base + Math.min(c1, W)]--;
        }
        for (let t = 0; t < 3; t++) {
          for (let l = 0; l < nl; l++) {
            const base = (t * nl + l) * stride, y = laneTop + (l + 0.5) * laneHpx - barH / 2;
            let acc = 0, runStart = -1;
            for (let c = 0; c <= W; c++) {
              acc += cover[base + c];
              if (acc > 0 && runStart < 0) runStart = c;
              else if (acc <= 0 && runStart >= 0) { paths[t].rect(left + runStart, y, c - runStart, barH); runStart = -1; }
            }
            if (runStart >= 0) paths[t].rect(left + runStart, y, W - runStart, barH);
          }
        }
      } else {
        for (let i = 0; i < n; i++) {
          const s = st[i], e = en[i];
          if (e < xmin || s > xmax) continue;
          const x0 = left + (s - xmin) * scale;
          const w = Math.max((e - s) * scale, minW);
          const yc = laneTop + (lane[i] + 0.5) * laneHpx;
          const t = ty[i] === 1 || ty[i] === 2 ? ty[i] : 0;
          paths[t].rect(x0, yc - barH / 2, w, barH);
        }
      }
      for (let t = 0; t < 3; t++) { ctx.fillStyle = COLORS[TYPE_NAMES[t]]; ctx.fill(paths[t]); }
      // the selected anomaly's ops
      if (tl.highlight.size) {
        if (!posByIndex) { posByIndex = new Map(); for (let i = 0; i < n; i++) posByIndex.set(idx[i], i); }
        ctx.strokeStyle = '#1d4ed8'; ctx.lineWidth = 2.5 * px;
        for (const hi of tl.highlight) {
          const i = posByIndex.get(hi);
          if (i === undefined) continue;
          const x0 = left + (st[i] - xmin) * scale, w = Math.max((en[i] - st[i]) * scale, 3 * px);
          const yc = laneTop + (lane[i] + 0.5) * laneHpx;
          ctx.strokeRect(x0 - 2 * px, yc - barH / 2 - 2 * px, w + 4 * px, barH + 4 * px);
          ctx.fillStyle = '#1d4ed8';
          ctx.beginPath(); ctx.moveTo(x0 + w / 2, yc - barH / 2 - 3 * px); ctx.lineTo(x0 + w / 2 - 5 * px, yc - barH / 2 - 10 * px);
          ctx.lineTo(x0 + w / 2 + 5 * px, yc - barH / 2 - 10 * px); ctx.closePath(); ctx.fill();
        }
        // anomaly ops that have no bar (e.g. reads of the final phase shown as a time only): a vertical marker
        ctx.setLineDash([3 * px, 3 * px]); ctx.lineWidth = px;
        for (const ms of tl.markers) {
          const x = left + (ms - xmin) * scale;
          ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, top + bh); ctx.stroke();
        }
      }
      ctx.restore();
    }

    const tip = h('div', { class: 'fl-tip', id: 'timeline-tip' });
    function findOp(u) {
      const { left, top } = u.cursor;
      if (left < 0 || top < 0) return null;
      const ms = u.posToVal(left, 'x') * 1000;
      const l = nl - 1 - Math.round(u.posToVal(top, 'y'));
      if (l < 0 || l >= nl) return null;
      const tol = 3 / (u.over.clientWidth / ((u.scales.x.max - u.scales.x.min) * 1000));
      let best = -1, bestD = Infinity;
      for (const i of perLane[l]) {
        const d = ms < st[i] ? st[i] - ms : ms > en[i] ? ms - en[i] : 0;
        if (d <= tol && (d < bestD || (d === bestD && en[i] - st[i] < en[best] - st[best]))) { best = i; bestD = d; }
      }
      return { ms, lane: l, i: best };
    }
    function showTip(u) {
      const hit = findOp(u);
      if (!hit) { tip.style.display = 'none'; return; }
      tip.replaceChildren();
      const line = (k, v) => tip.append(h('div', null, h('span', { class: 'k' }, k + ' '), v));
      if (hit.i >= 0) {
        const i = hit.i, full = obj(opsById[String(idx[i])]);
        const t = TYPE_NAMES[ty[i]] || 'ok';
        tip.append(h('div', null, h('b', null, `op ${idx[i]} `), h('span', { class: 't-' + t }, t), ' ', fNames[fs[i]] ?? (full && full.f) ?? ''));
        line('process', String(procs[i] ?? '') + ' · lane ' + compact(labels[hit.lane], 40));
        if (full) {
          if (full.key !== undefined && full.key !== null) line('key', String(full.key));
          if (full.value !== undefined && full.value !== null) line('value', compact(full.value, 60));
          if (full.node) line('node', full.node);
          if (full.error) line('error', compact(full.error, 60));
        }
        line('time', `${fmtS(st[i])} → ${fmtS(en[i])}`);
        line('latency', fmtMs(en[i] - st[i]));
      } else {
        tip.append(h('div', null, h('b', null, compact(labels[hit.lane], 40))));
        line('time', fmtS(hit.ms));
        if (buckets && isNum(buckets.width_ms) && buckets.width_ms > 0 && Array.isArray(buckets.lanes) && buckets.lanes[hit.lane]) {
          const b = Math.floor((hit.ms - (buckets.start_ms || 0)) / buckets.width_ms), bl = buckets.lanes[hit.lane];
          const c = (k) => arr(bl[k])[b] || 0;
          if (c('ok') + c('fail') + c('info')) line('in this bucket', `${c('ok')} ok · ${c('fail')} fail · ${c('info')} info`);
          else if (!faultAt(hit.ms).length) { tip.style.display = 'none'; return; }
        } else if (!faultAt(hit.ms).length) { tip.style.display = 'none'; return; }
      }
      for (const f of faultAt(hit.ms)) line('fault', f.label || f.fault);
      tip.style.display = 'block';
      const w = u.over.clientWidth;
      const x = u.cursor.left + 14, y = u.cursor.top + 14;
      tip.style.left = (x + tip.offsetWidth > w ? Math.max(0, u.cursor.left - tip.offsetWidth - 10) : x) + 'px';
      tip.style.top = y + 'px';
    }

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

  // ---------------------------------------------------------------- charts
  function chartBlock(id, title, hint) {
    const host = h('div', { class: 'fl-chart', id });
    return { host, el: h('div', null, h('div', { class: 'fl-chart-title' }, title, hint ? h('span', { class: 'hint' }, hint) : null), host) };
  }
  function emptyChart(id, title, sentence) {
    return h('div', null, h('div', { class: 'fl-chart-title' }, title), h('div', { class: 'fl-empty', id }, sentence));
  }
  const pending = [];
  const logValues = (u, splits) => splits.map((v) => (v === null || v === undefined ? '' : v >= 1 ? v.toLocaleString('en-US') : String(+v.toPrecision(2))));
  // decades only: log axes with every 2..9 multiple draw a grid too dense to read over the fault bands
  const logSplits = (u, ai, min, max) => {
    const out = [];
    for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) { const v = Math.pow(10, e); if (v >= min * 0.999 && v <= max * 1.001) out.push(v); }
    return out;
  };
  const secValue = (u, v) => (v === null || v === undefined ? '—' : v.toFixed(2) + ' s');
  function timeAxis() { return { label: 'seconds since the test started', labelSize: 20, grid: { stroke: '#eef1f5' } }; }
  function logRange(values) {
    let lo = Infinity, hi = -Infinity;
    for (const v of values) if (isNum(v) && v > 0) { if (v < lo) lo = v; if (v > hi) hi = v; }
    if (lo === Infinity) return [0.1, 1000];
    return [Math.pow(10, Math.floor(Math.log10(lo))), Math.pow(10, Math.ceil(Math.log10(hi) + 1e-9))];
  }
  function latencyChart() {
    const c = obj(charts.latency);
    const series = arr(c && c.series).filter((s) => s && arr(s.t_ms).length);
    if (!series.length) return emptyChart('chart-latency', 'Latency', 'No completed client ops: no latency to plot.');
    const b = chartBlock('chart-latency', 'Latency of each op', (c.sampled ? `ok ops thinned to ${fmtInt(series.reduce((a, s) => a + s.t_ms.length, 0))} of ${fmtInt(c.total)} points; fail, info and anomaly ops all kept · ` : '') + 'log scale · by f and outcome');
    // uPlot needs one shared x: all points sorted by time, one non-null series per row
    const pts = [];
    series.forEach((s, k) => { const t = s.t_ms, l = arr(s.latency_ms); for (let i = 0; i < t.length; i++) if (isNum(t[i]) && isNum(l[i])) pts.push([t[i] / 1000, k, Math.max(l[i], 0.001)]); });
    pts.sort((p, q) => p[0] - q[0]);
    const xs = new Float64Array(pts.length);
    const ys = series.map(() => new Array(pts.length).fill(null));
    pts.forEach((p, i) => { xs[i] = p[0]; ys[p[1]][i] = p[2]; });
    const fIdx = {}; const items = series.map((s) => {
      const key = s.type; fIdx[key] = fIdx[key] ?? 0; const color = colorFor(s.f, fIdx[key]++, s.type);
      return { label: `${s.f} ${s.type}`, color };
    });
    const [ylo, yhi] = logRange(pts.map((p) => p[2]));
    pending.push(() => {
      const u = new uPlot({
        width: chartWidth(b.host), height: 300,
        scales: { x: { time: false, range: freeX }, y: { distr: 3, auto: false, range: [ylo, yhi] } },
        legend: { live: false },
        cursor: { drag: { x: true, y: false, setScale: true }, points: { show: false }, sync: { key: 'faultline-time' } },
        series: [{}, ...items.map((it) => ({ label: it.label, stroke: it.color, fill: it.color, width: 0, paths: () => null,
          points: { show: true, size: pts.length > 20000 ? 3 : 4, stroke: it.color, fill: it.color, width: 0 } }))],
        axes: [timeAxis(), { label: 'latency (ms)', labelSize: 20, values: logValues, splits: logSplits, grid: { stroke: '#eef1f5' } }],
        hooks: mergeHooks(faultHooks(false), { setScale: [syncX] }),
      }, [xs, ...ys], b.host);
      exposed.charts.latency = u;
      u.setScale('x', { min: 0, max: xMaxS });
      zoomPan(u, 0, xMaxS);
      resizers.push(() => u.setSize({ width: chartWidth(b.host), height: 300 }));
    });
    return b.el;
  }

  function throughputChart() {
    const c = obj(charts.throughput);
    const t = arr(c && c.t_ms);
    const series = arr(c && c.series).filter((s) => s && Array.isArray(s.per_s));
    if (!t.length || !series.length) return emptyChart('chart-throughput', 'Throughput', 'No completed client ops: no throughput to plot.');
    const b = chartBlock('chart-throughput', 'Throughput', `completions per second, ${isNum(c.bucket_ms) ? (c.bucket_ms / 1000) + ' s' : ''} buckets, by f and outcome`);
    const fIdx = {};
    const items = series.map((s) => { fIdx[s.type] = fIdx[s.type] ?? 0; return { label: `${s.f} ${s.type}`, color: colorFor(s.f, fIdx[s.type]++, s.type) }; });
    pending.push(() => {
      const u = new uPlot({
        width: chartWidth(b.host), height: 240,
        scales: { x: { time: false, range: freeX }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
        cursor: { drag: { x: true, y: false, setScale: true }, sync: { key: 'faultline-time' } },
        series: [{ label: 'time', value: secValue }, ...items.map((it) => ({ label: it.label, stroke: it.color, width: 1.5, points: { show: false },
          value: (uu, v) => (v === null || v === undefined ? '—' : (+v.toFixed(1)) + '/s') }))],
        axes: [timeAxis(), { label: 'ops / s', labelSize: 20, grid: { stroke: '#eef1f5' } }],
        hooks: mergeHooks(faultHooks(false), { setScale: [syncX] }),
      }, [t.map((v) => v / 1000), ...series.map((s) => t.map((_, i) => (isNum(s.per_s[i]) ? s.per_s[i] : null)))], b.host);
      exposed.charts.throughput = u;
      u.setScale('x', { min: 0, max: xMaxS });
      zoomPan(u, 0, xMaxS);
      resizers.push(() => u.setSize({ width: chartWidth(b.host), height: 240 }));
    });
    return b.el;
  }

  function quantilesChart() {
    const c = obj(charts.quantiles);
    const t = arr(c && c.t_ms);
    if (!t.length) return emptyChart('chart-quantiles', 'Latency quantiles', 'No completed client ops: no latency quantiles.');
    const b = chartBlock('chart-quantiles', 'Latency quantiles', `of ops completing in each ${isNum(c.bucket_ms) ? (c.bucket_ms / 1000) + ' s ' : ''}bucket · log scale`);
    const names = ['p50', 'p95', 'p99', 'max'], colors = ['#2563eb', '#7c3aed', '#db2777', '#64748b'];
    const cols = names.map((k) => t.map((_, i) => { const v = arr(c[k])[i]; return isNum(v) ? Math.max(v, 0.001) : null; }));
    const [ylo, yhi] = logRange(cols.flat());
    const items = names.map((k, i) => ({ label: k, color: colors[i] }));
    pending.push(() => {
      const u = new uPlot({
        width: chartWidth(b.host), height: 240,
        scales: { x: { time: false, range: freeX }, y: { distr: 3, auto: false, range: [ylo, yhi] } },
        cursor: { drag: { x: true, y: false, setScale: true }, sync: { key: 'faultline-time' } },
        series: [{ label: 'time', value: secValue }, ...items.map((it, i) => ({ label: it.label, stroke: it.color, width: i === 3 ? 1 : 1.5, dash: i === 3 ? [4, 3] : undefined,
          points: { show: t.length < 3 }, value: (uu, v) => fmtMs(v) }))],
        axes: [timeAxis(), { label: 'latency (ms)', labelSize: 20, values: logValues, splits: logSplits, grid: { stroke: '#eef1f5' } }],
        hooks: mergeHooks(faultHooks(false), { setScale: [syncX] }),
      }, [t.map((v) => v / 1000), ...cols], b.host);
      exposed.charts.quantiles = u;
      u.setScale('x', { min: 0, max: xMaxS });
      zoomPan(u, 0, xMaxS);
      resizers.push(() => u.setSize({ width: chartWidth(b.host), height: 240 }));
    });
    return b.el;
  }

  function siblingsChart() {
    const c = obj(charts.siblings);
    const cats = arr(c && c.buckets);
    if (!cats.length) return emptyChart('chart-siblings', 'Siblings per read', 'No sibling data for this workload.');
    const b = chartBlock('chart-siblings', 'Siblings per read', 'share of reads returning N versions, next to the Dynamo paper (SOSP 2007, §6.3) · log scale');
    const paper = obj(c.dynamo_paper_percent) || {};
    const mine = cats.map((k, i) => { const v = arr(c.percent)[i]; return isNum(v) && v > 0 ? v : null; });
    const theirs = cats.map((k) => (isNum(paper[k]) && paper[k] > 0 ? paper[k] : null));
    const [ylo, yhi] = logRange([...mine, ...theirs]);
    const items = [{ label: 'this run (% of reads)', color: '#2563eb' }, { label: 'Dynamo paper (% of reads)', color: '#94a3b8' }];
    const xs = cats.map((_, i) => i);
    pending.push(() => {
      const bars = (align) => uPlot.paths.bars({ size: [0.38, 60], align });
      const u = new uPlot({
        width: Math.min(chartWidth(b.host), 760), height: 240,
        scales: { x: { time: false, range: [-0.6, cats.length - 0.4] }, y: { distr: 3, auto: false, range: [ylo, yhi] } },
        legend: { live: false },
        cursor: { drag: { x: false, y: false }, points: { show: false } },
        series: [{}, ...items.map((it, k) => ({ label: it.label, stroke: it.color, fill: it.color, width: 0, paths: bars(k === 0 ? -1 : 1),
          points: { show: false }, fillTo: (uu) => uu.scales.y.min }))],
        axes: [{ label: 'versions returned by a read', labelSize: 20, splits: () => xs, values: (uu, s) => s.map((v) => cats[v] ?? ''), grid: { show: false } },
          { label: '% of reads', labelSize: 20, values: logValues, splits: logSplits, size: 60, grid: { stroke: '#eef1f5' } }],
      }, [xs, mine, theirs], b.host);
      exposed.charts.siblings = u;
    });
    const tab = h('table', { class: 'fl-tab', id: 'siblings-table' },
      h('tr', null, h('th', null, 'versions'), cats.map((k) => h('th', null, k))),
      h('tr', null, h('th', null, 'reads'), cats.map((k, i) => h('td', { class: 'num' }, fmtInt(arr(c.counts)[i])))),
      h('tr', null, h('th', null, '% of reads'), cats.map((k, i) => h('td', { class: 'num' }, isNum(arr(c.percent)[i]) ? arr(c.percent)[i].toPrecision(3) : '—'))),
      h('tr', null, h('th', null, 'Dynamo paper %'), cats.map((k) => h('td', { class: 'num' }, isNum(paper[k]) ? String(paper[k]) : '—'))));
    b.el.append(tab);
    return b.el;
  }

  function convergencePanel() {
    const c = obj(charts.convergence);
    if (!c) return emptyChart('convergence', 'Convergence after the final heal', 'No convergence data for this run (no convergence checker).');
    const div = arr(c.divergent);
    const facts = h('dl', { class: 'fl-facts', id: 'convergence' },
      h('div', null, h('dt', null, 'Final heal'), h('dd', null, fmtS(c.final_heal_ms))),
      // Rounds bracket the moment: between the last round that differed and the first that agreed.
      h('div', null, h('dt', null, 'Converged after'), h('dd', null, !isNum(c.converged_after_s)
        ? h('span', { class: 't-fail' }, 'never (within the timeout)')
        : isNum(c.differed_until_s) ? `${c.differed_until_s.toFixed(3)}–${c.converged_after_s.toFixed(3)} s`
          : `within ${c.converged_after_s.toFixed(3)} s`)),
      h('div', null, h('dt', null, 'Read rounds'), h('dd', null, isNum(c.rounds) ? String(c.rounds) : '—')),
      h('div', null, h('dt', null, 'Divergent keys'), h('dd', null, String(div.length))));
    const out = h('div', null, h('div', { class: 'fl-chart-title' }, 'Convergence after the final heal'), facts);
    if (div.length) {
      out.append(h('div', { class: 'fl-details-tab' }, h('table', { class: 'fl-tab', id: 'divergent-keys' },
        h('tr', null, h('th', null, 'key'), h('th', null, 'what each replica holds')),
        div.slice(0, 200).map((d) => h('tr', null, h('td', { class: 'mono' }, String(d && d.key)),
          h('td', null, Object.entries(obj(d && d.replicas) || {}).map(([node, v]) => h('div', null, h('b', null, node + ': '), h('span', { class: 'trunc' }, compact(v, 160))))))))));
      if (div.length > 200) out.append(h('div', { class: 'muted' }, `… and ${div.length - 200} more`));
    }
    return out;
  }

  function renderCharts() {
    const sec = h('section', { class: 'fl-sec', id: 'charts' }, h('h2', null, 'Charts', h('span', { class: 'hint' },
      nemesis.length ? 'fault intervals shaded; dashed line: start of the final phase' : 'no faults were injected')));
    const grid = h('div', { class: 'fl-grid2' });
    grid.append(safe('the latency chart', latencyChart), safe('the throughput chart', throughputChart),
      safe('the quantiles chart', quantilesChart), safe('the siblings chart', siblingsChart), safe('convergence', convergencePanel));
    sec.append(grid);
    return sec;
  }

  // ---------------------------------------------------------------- page
  const app = document.getElementById('app');
  const anomalyTotal = checkers.reduce((a, c) => a + (isNum(c.anomaly_count) ? c.anomaly_count : arr(c.anomalies).length), 0);
  app.append(h('div', { class: 'fl-top' }, h('span', { class: 'brand' }, 'faultline'), h('span', null, run.name || run.dir || 'report'),
    h('nav', null, h('a', { href: '#test' }, 'Test'), h('a', { href: '#checkers' }, 'Checkers' + (anomalyTotal ? ` (${anomalyTotal} anomal${anomalyTotal === 1 ? 'y' : 'ies'})` : '')),
      h('a', { href: '#timeline-section' }, 'Timeline'), h('a', { href: '#charts' }, 'Charts'))));
  app.append(...safe('the verdict', renderBanner));
  app.append(safe('the test', renderTest));
  app.append(safe('the checkers', renderCheckers));
  app.append(safe('the timeline', renderTimeline));
  app.append(safe('the charts', renderCharts));
  document.title = `${{ valid: '✔', invalid: '✘', unknown: '?' }[verdictClass(verdict.valid)]} ${run.name || 'faultline'} — faultline report`;

  // charts need laid-out widths: build them after the DOM is in place
  try { if (tl.pendingBuild) tl.pendingBuild(); } catch (e) { console.warn('faultline report: timeline failed:', e); }
  for (const build of pending) { try { build(); } catch (e) { console.warn('faultline report: chart failed:', e); } }
  if (tl.u) { const host = document.getElementById('timeline'); host.dataset.xMinMs = String(tl.u.scales.x.min * 1000); host.dataset.xMaxMs = String(tl.u.scales.x.max * 1000); }
  // a link to #anomaly-<id> opens that anomaly in the timeline too
  const hashAnomaly = () => {
    const m = /^#anomaly-(.+)$/.exec(decodeURIComponent(location.hash));
    if (!m) return;
    for (const c of checkers) for (const a of arr(c.anomalies)) if (String(a.id) === m[1]) { showInTimeline(a); document.getElementById('anomaly-' + a.id)?.scrollIntoView(); }
  };
  window.addEventListener('hashchange', hashAnomaly);
  if (location.hash) hashAnomaly();
  window.__faultlineRenderedMs = performance.now();
  window.__faultlineRendered = true;
})();
