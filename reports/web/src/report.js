// faultline report.html front end, the entry. Reads the JSON in #faultline-data (reports/web/DATA.md, "kind":
// "report") and renders into #app: verdict banner, the test, checkers with their anomalies, linearization diagrams,
// the timeline, charts;
// one panel module each in report/, which only register on window.faultlineReport. This file is inlined last
// (after uPlot, common.js and report/*.js, as one script: reports/CMakeLists.txt, tests/make_page.mjs) and wires them.
// uPlot draws axes, scales, zoom and cursor; op bars and fault bands are drawn in uPlot draw hooks on its canvas.
// For tests: window.__faultline exposes the charts; window.__faultlineRendered = true once rendered;
// #timeline carries data-x-min-ms / data-x-max-ms / data-highlight.
(function () {
  'use strict';
  const R = window.faultlineReport;
  const { h, arr, verdictClass } = window.faultlineCommon;
  const { safe } = R.core;

  const exposed = { charts: {}, timeline: null };
  window.__faultline = exposed;
  const resizers = [];
  window.addEventListener('resize', () => {
    clearTimeout(resizers.t);
    resizers.t = setTimeout(() => resizers.forEach((f) => f()), 120);
  });

  let data;
  try {
    data = JSON.parse(document.getElementById('faultline-data').textContent);
  } catch (e) {
    document.getElementById('app').append(h('div', { class: 'fl-note error' }, 'The report data is unreadable: ' + e.message));
    window.__faultlineRendered = true;
    return;
  }
  const page = R.core.pageContext(data, exposed, resizers);
  const { run, verdict, checkers, tl, pending } = page;
  const summary = R.panels.summary(page);
  const timeline = R.panels.timeline(page);
  const { showInTimeline } = timeline;
  // before the checkers and the timeline render: both link to its diagrams
  const linearization = (page.linearization = R.panels.linearization(page, showInTimeline));
  const checkerCards = R.panels.checkers(page, showInTimeline);
  const charts = R.panels.charts(page);

  const app = document.getElementById('app');
  app.append(summary.renderTop());
  app.append(...safe('the verdict', summary.renderBanner));
  app.append(safe('the test', summary.renderTest));
  app.append(safe('the checkers', checkerCards.renderCheckers));
  app.append(safe('the linearization diagrams', linearization.renderLinearizations));
  app.append(safe('the timeline', timeline.renderTimeline));
  app.append(safe('the charts', charts.renderCharts));
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
