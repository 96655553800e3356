// faultline store/index.html front end. Reads #faultline-data (reports/web/DATA.md, "kind": "index") and renders
// into #app: per test name a verdict history strip (oldest → newest, "regressed" when the newest run is worse than
// the one before), filters, and the runs table newest first, paged (100 rows) so thousands of runs stay fast.
// For tests: window.__faultlineIndex.state() → {total, shown, page, pageSize, lastFilterMs};
// window.__faultlineRendered = true once rendered.
(function () {
  'use strict';
  const PAGE = 100;
  const STRIP_MAX = 60; // squares per test name: the newest runs (browser_test.mjs checks this count)

  const { h, isNum, arr, verdictClass } = window.faultlineCommon;
  const rank = (v) => (v === true ? 0 : v === false ? 2 : 1); // higher is worse
  function fmtTime(iso) {
    if (!iso) return '—';
    const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)(:\d\d)?/.exec(String(iso));
    return m ? `${m[1]} ${m[2]}` : String(iso);
  }
  const fmtInt = (n) => (isNum(n) ? n.toLocaleString('en-US') : '—');

  let data;
  const app = document.getElementById('app');
  try {
    data = JSON.parse(document.getElementById('faultline-data').textContent);
  } catch (e) {
    app.append(h('div', { class: 'fl-empty' }, 'The index data is unreadable: ' + e.message));
    window.__faultlineRendered = true;
    return;
  }
  const runs = arr(data && data.runs).filter((r) => r && typeof r === 'object');
  const nem = (r) => (Array.isArray(r.nemesis) ? r.nemesis.join(', ') : r.nemesis ? String(r.nemesis) : '');
  const hay = runs.map((r) => [r.name, r.db, r.workload, nem(r)].join(' ').toLowerCase());
  const nameOf = (r) => String(r.name ?? '');

  // ---- per test name: runs oldest → newest (the data is newest first)
  const byName = new Map();
  runs.forEach((r, i) => { const n = nameOf(r); if (!byName.has(n)) byName.set(n, []); byName.get(n).push(i); });
  const groups = [...byName.entries()].map(([name, idx]) => {
    const newest = runs[idx[0]], prev = idx.length > 1 ? runs[idx[1]] : null;
    return { name, idx, newest, regressed: !!prev && rank(newest.valid) > rank(prev.valid) };
  });
  groups.sort((a, b) => (b.regressed - a.regressed) || (rank(b.newest.valid) - rank(a.newest.valid)) || a.name.localeCompare(b.name));

  // ---- header
  const latest = { valid: 0, invalid: 0, unknown: 0 };
  for (const g of groups) latest[verdictClass(g.newest.valid)]++;
  app.append(h('div', { class: 'fl-top' }, h('span', { class: 'brand' }, 'faultline'), h('h1', null, 'Runs'),
    h('span', { class: 'mono' }, data.store_dir || ''), h('span', null, data.generated ? 'generated ' + fmtTime(data.generated) + ' UTC' : '')));
  app.append(h('div', { class: 'fl-summary' },
    h('span', null, h('b', null, fmtInt(runs.length)), ' runs of ', h('b', null, String(groups.length)), ' tests'),
    h('span', null, 'newest run of each test: ', h('span', { class: 'pill valid' }, latest.valid + ' valid'), ' ',
      h('span', { class: 'pill invalid' }, latest.invalid + ' invalid'), ' ', h('span', { class: 'pill unknown' }, latest.unknown + ' unknown')),
    groups.some((g) => g.regressed) ? h('span', null, h('span', { class: 'badge-regressed' }, 'regressed'), ' ',
      groups.filter((g) => g.regressed).length + ' test(s) got worse in their newest run') : null));

  // ---- filters (declared early: the history table's names set the name filter)
  const text = h('input', { id: 'filter-text', type: 'search', placeholder: 'filter: test name, store, workload, nemesis' });
  const vsel = h('select', { id: 'filter-verdict' }, h('option', { value: '' }, 'any verdict'),
    ['valid', 'invalid', 'unknown'].map((v) => h('option', { value: v }, v)));
  const nsel = h('select', { id: 'filter-name' }, h('option', { value: '' }, 'all tests'),
    [...byName.keys()].sort().map((n) => h('option', { value: n }, n)));
  const count = h('span', { id: 'filter-count', class: 'muted' });

  // ---- verdict history
  const hist = h('section', { class: 'fl-sec', id: 'history' }, h('h2', null, 'Verdict history',
    h('span', { class: 'hint' }, 'one square per run, oldest → newest; hover for the run, click to open its report')));
  if (!groups.length) hist.append(h('div', { class: 'fl-empty' }, 'No runs yet.'));
  else {
    const rows = groups.map((g) => {
      const strip = h('div', { class: 'strip', 'data-history': g.name });
      const shown = g.idx.slice(0, STRIP_MAX).reverse(); // oldest first
      shown.forEach((i, k) => {
        const r = runs[i];
        const cls = 'sq ' + verdictClass(r.valid) + (r.incomplete ? ' incomplete' : '') + (r.fault_warning ? ' nofault' : '') + (k === shown.length - 1 ? ' newest' : '');
        const title = `${fmtTime(r.started)} — ${verdictClass(r.valid)}${r.fault_warning ? ' — but ' + r.fault_warning : ''}${r.summary ? ': ' + r.summary : ''}${r.error ? ' (error: ' + r.error + ')' : ''}`;
        strip.append(r.report ? h('a', { class: cls, href: r.report, title, 'data-run': r.dir ?? '' }) : h('span', { class: cls, title, 'data-run': r.dir ?? '' }));
      });
      const nameBtn = h('button', { class: 'name-link', title: 'show only this test\'s runs' }, g.name || '(unnamed)');
      nameBtn.addEventListener('click', () => { nsel.value = g.name; apply(); document.getElementById('runs-section').scrollIntoView(); });
      return h('tr', { class: g.regressed ? 'regressed' : null, 'data-regressed': g.regressed ? '' : null },
        h('td', { class: 'nowrap' }, nameBtn),
        h('td', { class: 'older' }, g.idx.length > STRIP_MAX ? `+${g.idx.length - STRIP_MAX} older` : ''),
        h('td', { class: 'strip-cell' }, strip),
        h('td', { class: 'nowrap' }, h('span', { class: 'pill ' + verdictClass(g.newest.valid) }, verdictClass(g.newest.valid)), ' ',
          g.regressed ? h('span', { class: 'badge-regressed', title: 'the newest run is worse than the one before' }, 'regressed') : null),
        h('td', { class: 'num' }, String(g.idx.length)), h('td', { class: 'nowrap muted' }, fmtTime(g.newest.started)));
    });
    hist.append(h('div', { style: 'overflow-x:auto' }, h('table', { class: 'fl-tab' },
      h('thead', null, h('tr', null, ['test', '', 'verdicts over time (oldest → newest)', 'newest', 'runs', 'last run'].map((c) => h('th', null, c)))), h('tbody', null, rows))));
  }
  app.append(hist);

  // ---- runs table
  const tbody = h('tbody');
  const pager = h('div', { class: 'fl-pager' });
  const sec = h('section', { class: 'fl-sec', id: 'runs-section' }, h('h2', null, 'All runs', h('span', { class: 'hint' }, 'newest first')),
    h('div', { class: 'fl-filters' }, text, vsel, nsel, count));
  const cols = ['time (UTC)', 'test', 'store', 'workload', 'nemesis', 'ops ok / fail / info', 'verdict', 'summary', 'anomalies', 'report'];
  sec.append(h('div', { style: 'overflow-x:auto' }, h('table', { class: 'fl-tab', id: 'runs' }, h('thead', null, h('tr', null, cols.map((c) => h('th', null, c)))), tbody)), pager);
  app.append(sec);

  let matches = runs.map((_, i) => i);
  let page = 0;
  let lastFilterMs = 0;

  function row(r) {
    const o = r.ops && typeof r.ops === 'object' ? r.ops : null;
    const cls = verdictClass(r.valid);
    const anomalies = Object.entries(r.anomalies && typeof r.anomalies === 'object' ? r.anomalies : {});
    return h('tr', { 'data-run': r.dir ?? '' },
      h('td', { class: 'nowrap mono' }, fmtTime(r.started)),
      h('td', { class: 'nowrap' }, nameOf(r)),
      h('td', { class: 'nowrap' }, r.db ?? ''),
      h('td', { class: 'nowrap' }, r.workload ?? ''),
      h('td', null, nem(r) || h('span', { class: 'muted' }, 'none')),
      h('td', { class: 'num' }, o ? h('span', null, fmtInt(o.ok), ' / ', h('span', { class: o.fail ? 't-fail' : null }, fmtInt(o.fail)), ' / ',
        h('span', { class: o.info ? 't-info' : null }, fmtInt(o.info))) : h('span', { class: 'muted' }, '—')),
      h('td', { class: 'nowrap' }, h('span', { class: 'pill ' + cls }, cls), r.incomplete ? h('span', { class: 'muted' }, ' incomplete') : null,
        // A nemesis that did not inject what it was asked for: the verdict proves less than the nemesis column says.
        r.fault_warning ? h('span', { class: 'badge-nofault', 'data-fault-warning': '', title: r.fault_warning }, ' no fault injected') : null),
      h('td', { class: 'summary-cell', title: (r.summary || '') + (r.error ? '\nerror: ' + r.error : '') }, r.error ? h('span', { class: 't-fail' }, 'error: ' + r.error) : (r.summary || '')),
      h('td', null, anomalies.length ? anomalies.map(([k, n], i) => h('span', { class: 'anom' }, (i ? ', ' : '') + `${k} ${n}`)) : h('span', { class: 'muted' }, '—')),
      h('td', null, r.report ? h('a', { class: 'report', href: r.report }, 'report') : h('span', { class: 'muted' }, 'none')));
  }

  function renderPage() {
    const pages = Math.max(1, Math.ceil(matches.length / PAGE));
    page = Math.min(Math.max(0, page), pages - 1);
    const frag = document.createDocumentFragment();
    for (const i of matches.slice(page * PAGE, page * PAGE + PAGE)) frag.append(row(runs[i]));
    tbody.replaceChildren(frag);
    if (!matches.length) tbody.append(h('tr', null, h('td', { colspan: cols.length, class: 'fl-empty', id: 'runs-empty' },
      runs.length ? 'No run matches the filters.' : 'No runs in this store yet.')));
    count.textContent = `${fmtInt(matches.length)} of ${fmtInt(runs.length)} runs`;
    const prev = h('button', { id: 'page-prev', disabled: page === 0 }, '← newer');
    const next = h('button', { id: 'page-next', disabled: page >= pages - 1 }, 'older →');
    prev.addEventListener('click', () => { page--; renderPage(); });
    next.addEventListener('click', () => { page++; renderPage(); });
    pager.replaceChildren(prev, next, matches.length ? `runs ${fmtInt(page * PAGE + 1)}–${fmtInt(Math.min(matches.length, (page + 1) * PAGE))} of ${fmtInt(matches.length)}` : '');
  }

  function apply() {
    const t0 = performance.now();
    const q = text.value.trim().toLowerCase();
    const words = q ? q.split(/\s+/) : [];
    const v = vsel.value, n = nsel.value;
    matches = [];
    for (let i = 0; i < runs.length; i++) {
      const r = runs[i];
      if (v && verdictClass(r.valid) !== v) continue;
      if (n && nameOf(r) !== n) continue;
      if (words.length && !words.every((w) => hay[i].includes(w))) continue;
      matches.push(i);
    }
    page = 0;
    renderPage();
    lastFilterMs = performance.now() - t0;
  }
  text.addEventListener('input', apply);
  vsel.addEventListener('change', apply);
  nsel.addEventListener('change', apply);
  apply();

  window.__faultlineIndex = { state: () => ({ total: runs.length, shown: matches.length, page, pageSize: PAGE, lastFilterMs }) };
  window.__faultlineRenderedMs = performance.now();
  window.__faultlineRendered = true;
})();
