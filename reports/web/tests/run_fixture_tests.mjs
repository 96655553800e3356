#!/usr/bin/env node
// ctest entry (report_browser_fixtures): builds pages from the hand-written fixtures (tests/fixtures/*.json) and
// synthesized ones (a 3,000-op invalid run, 100,000 exact ops of 300,000 with density buckets, a 5,000-run index),
// checks each with browser_test.mjs in headless Chromium, and checks that browser_test.mjs fails on a wrong verdict
// and on a broken page. Variants of a fixture with each top-level field null check defensive reading. Pages and screenshots go to <out dir>.
// Usage: node run_fixture_tests.mjs <out dir>
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { makePage } from './make_page.mjs';
import { synthReport } from './synth_report.mjs';
import { synthIndex } from './synth_index.mjs';
import { launchBrowser, checkPage } from './browser_test.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) { console.error('usage: node run_fixture_tests.mjs <out dir>'); process.exit(2); }
fs.mkdirSync(out, { recursive: true });

const pages = [];
for (const f of fs.readdirSync(path.join(here, 'fixtures')).filter((f) => f.endsWith('.json')).sort()) {
  pages.push({ name: f.replace(/\.json$/, ''), data: JSON.parse(fs.readFileSync(path.join(here, 'fixtures', f), 'utf8')) });
}
// defensive reading: each top-level field of a small invalid report null in turn (no exception, no console error)
const base = pages.find((p) => p.name === 'invalid_register').data;
for (const key of ['run', 'stats', 'checkers', 'ops', 'nemesis', 'timeline', 'charts', 'warnings', 'generated']) {
  pages.push({ name: 'null_' + key, data: { ...base, [key]: null } });
}
// a checker that did not run (results.json "skipped"): its own grey card, the verdict untouched
const valid = pages.find((p) => p.name === 'valid_no_nemesis').data;
pages.push({ name: 'skipped_checker', data: { ...valid, checkers: [...valid.checkers,
  { name: 'convergence', valid: 'skipped', summary: 'no replica-read rounds in the history', details: {}, anomaly_count: 0, anomalies: [] }] } });
// a non-linearizable key (cas-register): the linearizable checker's anomaly and its diagram (DATA.md "linearizations")
pages.push({ name: 'linearization', data: linearizationPage(base) });
pages.push({ name: 'synth_invalid_3k', data: synthReport({ total: 3000, durationS: 30, workers: 10 }) });
pages.push({ name: 'synth_100k_of_300k', data: synthReport({ total: 300000, shown: 100000, durationS: 120, workers: 20 }), time: true });
pages.push({ name: 'synth_index_5000', data: synthIndex(5000), time: true });

function linearizationPage(base) {
  const op = (index, process, f, value, type, start, end, extra = {}) => ({ index, complete_index: end === null ? null : index + 1,
    process, f, value, type, start_ms: start, end_ms: end, order: null, point_ms: null, state: null, offending: false, ...extra });
  const id = 'linearizable-nonlinearizable-0';
  const diagram = { id, key: 'k1', model: 'cas-register', sentence: 'read of 1 by process 2 at 0.050 s returned 1, but every linearization of the 3 ops before it leaves the register at 2 or 3',
    window: { start_ms: 5, end_ms: 60 }, processes: [0, 1, 2, 3], states_before: [2, 3],
    faults: [{ fault: 'partition', label: 'partition halves', start_ms: 25, end_ms: null }],
    ops: [op(0, 3, 'write', 3, 'info', 5, null), op(1, 0, 'write', 1, 'ok', 10, 20, { order: 0, point_ms: 10, state: 1 }),
      op(4, 1, 'cas', [1, 2], 'ok', 30, 40, { order: 1, point_ms: 30, state: 2 }), op(6, 2, 'read', 1, 'ok', 50, 60, { offending: true })] };
  const card = { name: 'linearizable', valid: false, summary: '1 of 4 keys is not linearizable', anomaly_count: 1,
    details: { model: 'cas-register', keys: { checked: 4, linearizable: 3, non_linearizable: 1, unknown: 0, siblings: 0 } },
    anomalies: [{ id, kind: 'nonlinearizable', key: 'k1', text: diagram.sentence, fault: 'partition halves', ops: [], focus: { start_ms: 0, end_ms: 1000 } }] };
  return { ...base, checkers: [...base.checkers, card], linearizations: [diagram] };
}

let failed = 0;
// the CLI, for the exit-status checks
function runCli(args) {
  const r = spawnSync(process.execPath, [path.join(here, 'browser_test.mjs'), ...args], { encoding: 'utf8', timeout: 90000 });
  return { status: r.status, out: (r.stdout || '') + (r.stderr || '') };
}
const browser = await launchBrowser();
try {
  const jobs = pages.map((p) => {
    const file = path.join(out, p.name + '.html');
    fs.writeFileSync(file, makePage(p.data));
    const o = { mode: p.data.kind === 'index' ? 'index' : 'report', file, screenshot: path.join(out, p.name + '.png'), time: !!p.time };
    if (o.mode === 'index') o.runs = p.data.runs.length;
    else o.verdict = p.data.verdict.valid === true ? 'valid' : p.data.verdict.valid === false ? 'invalid' : 'unknown';
    return { p, o };
  });
  pages.length = 0; // the big data objects are no longer needed
  // two tabs at a time, each loading page after page
  let next = 0;
  const worker = async () => {
    const tab = await browser.ctx.newPage();
    while (next < jobs.length) {
      const { p, o } = jobs[next++];
      const r = await checkPage(browser.ctx, o, tab);
      console.log(r.output);
      let ok = r.ok;
      // Render times are printed as figures (browser_test's --time); a loaded CI machine must not fail on them.
      if (!ok) { failed++; console.error(`FAIL ${p.name}`); } else console.log(`PASS ${p.name}`);
    }
    return tab;
  };
  const [tab] = await Promise.all([worker(), worker()]);

  // browser_test must catch a broken page, and its CLI must exit 1 on a wrong verdict
  const broken = path.join(out, 'broken.html');
  fs.writeFileSync(broken, fs.readFileSync(path.join(out, 'valid_no_nemesis.html'), 'utf8').replace('<div id="app"></div>', '<div id="app"></div><script>null.boom();</script>'));
  const b = await checkPage(browser.ctx, { mode: 'report', file: broken }, tab); // in a tab that showed other pages before
  if (!b.ok && /page error/.test(b.output)) console.log('PASS browser_test catches: page error');
  else { failed++; console.error(`FAIL browser_test did not catch a page error:\n${b.output}`); }
} finally {
  await browser.close();
}
// two small pages in one browser (--and), the second with a wrong verdict: the first passes, the exit status is 1
const r = runCli(['report', path.join(out, 'valid_no_nemesis.html'), '--expect-verdict', 'valid',
  '--and', 'report', path.join(out, 'invalid_register.html'), '--expect-verdict', 'valid']);
if (r.status === 1 && /verdict banner shows "invalid", expected "valid"/.test(r.out) && (r.out.match(/all checks passed/g) || []).length === 1) {
  console.log('PASS browser_test CLI exits 1 on a wrong verdict among several pages');
} else { failed++; console.error(`FAIL browser_test CLI did not fail on a wrong verdict (status ${r.status}):\n${r.out}`); }
const u = runCli(['report']);
if (u.status === 2) console.log('PASS browser_test CLI exits 2 on bad usage');
else { failed++; console.error(`FAIL browser_test CLI: bad usage exit ${u.status}`); }
console.log(failed ? `${failed} browser check(s) FAILED` : `all browser checks passed (pages and screenshots in ${out})`);
process.exit(failed ? 1 : 0);
