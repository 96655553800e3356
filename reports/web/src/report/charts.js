// report.html panel "Charts": latency of each op, throughput and latency quantiles over time (fault intervals
// shaded, zoom and pan shared with the timeline), siblings per read next to the Dynamo paper's, and convergence
// after the final heal. uPlot needs laid-out widths: each chart's build waits in page.pending until the DOM is in place.
(function () {
  'use strict';
  const R = (window.faultlineReport = window.faultlineReport || {});
  (R.panels = R.panels || {}).charts = function (page) {
    const { h, isNum, arr, obj } = window.faultlineCommon;
    const { fmtS, fmtMs, compact, fmtInt, colorFor, safe, mergeHooks, freeX, zoomPan, chartWidth } = R.core;
    const { exposed, resizers, nemesis, charts, xMaxS, pending, syncX, faultHooks } = page;

    function chartBlock(id, title, hint) {
      const host = h('div', { class: 'fl-chart', id });
      return { host, el: h('div', null, h('div', { class: 'fl-chart-title' }, title, hint ? h('span', { class: 'hint' }, hint) : null), host) };
    }
    function emptyChart(id, title, sentence) {
      return h('div', null, h('div', { class: 'fl-chart-title' }, title), h('div', { class: 'fl-empty', id }, sentence));
    }
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
    return { renderCharts };
  };
})();
