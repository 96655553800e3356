#!/usr/bin/env node
// Loads a faultline report.html or store/index.html in headless Chromium (Debian's /usr/bin/chromium through
// playwright-core, a fresh temp user data dir, file:// URL, no network) and checks that it works.
//
// Usage (stable; other tests call it):
//   node browser_test.mjs report <report.html> [--expect-verdict valid|invalid|unknown] [--expect-fault-warning <text>]
//                                              [--expect-fault-context <text>] [--screenshot <out.png>] [--time]
//   node browser_test.mjs index <index.html> [--expect-runs <N>] [--expect-fault-warnings <N>] [--screenshot <out.png>] [--time]
//   Several pages in one browser: <page arguments> --and <page arguments> ... (exit 1 when any page fails).
//
// report checks: no console errors, page errors or non-file requests; window.__faultlineRendered set; the banner
//   shows the expected verdict; the timeline canvas and every chart canvas drawn (non-blank pixels, op bars in the
//   ok colour); for an invalid run with anomalies, clicking the first anomaly's "Show in timeline" scrolls the
//   timeline into view, zooms it to the anomaly's focus and outlines its ops; hovering an op shows its tooltip;
//   the mouse wheel zooms the timeline (and the charts over time with it) and "Reset zoom" shows the whole run again; the screenshot (viewport at the top of the page) is not blank and the banner pixel has the verdict's colour.
// index checks: no errors; the runs table shows N runs; free-text, verdict and name filters narrow it (each
//   filter prints how long it took, as a figure, never a pass/fail); the verdict history strips show one square per run (the newest 60) and the
//   "regressed" markers match the data; report links are relative.
// --expect-fault-warning: the banner (#verdict #fault-warning) shows a sentence containing <text>, e.g. "no partition
//   was injected"; without it, a banner showing one fails. --expect-fault-context: some anomaly's fault context
//   ([data-fault-context]) contains <text>. --expect-fault-warnings: that many runs of the index carry the
//   "no fault injected" badge ([data-fault-warning]).
// --time prints "rendered in <ms> ms" (navigation start to window.__faultlineRendered, measured in the page).
// Exit status: 0 all checks passed; 1 a check failed (the message says which); 2 bad usage.
// The page contract it relies on (report.js / index.js): #verdict[data-verdict], #timeline[data-x-min-ms,
// data-x-max-ms, data-highlight], #timeline-tip, #timeline-reset, #chart-<name>, [data-anomaly] .show-in-timeline,
// window.__faultline.timeline (the uPlot), window.__faultlineIndex.state(), window.__faultlineRendered(Ms).
// Importable: launchBrowser() and checkPage(ctx, options) (run_fixture_tests.mjs shares one browser).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { pathToFileURL, fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const { chromium } = await import(pathToFileURL(path.join(here, '..', 'node_modules', 'playwright-core', 'index.mjs')).href);

const VERDICT_RGB = { valid: [30, 126, 62], invalid: [180, 35, 30], unknown: [191, 128, 16] };
const OK_RGB = [47, 158, 85];
const HIGHLIGHT_RGB = [29, 78, 216];

class CheckFailed extends Error {}
function check(cond, message) { if (!cond) throw new CheckFailed(message); }

function usage(msg) {
  if (msg) console.error('browser_test: ' + msg);
  console.error('usage: node browser_test.mjs report <report.html> [--expect-verdict valid|invalid|unknown] [--screenshot <png>] [--time]\n' +
    '       node browser_test.mjs index <index.html> [--expect-runs N] [--screenshot <png>] [--time]\n' +
    '       several pages in one browser: <page arguments> --and <page arguments> ...');
  process.exit(2);
}

function parseArgs(argv) {
  const [mode, file, ...rest] = argv;
  if (mode !== 'report' && mode !== 'index') usage('first argument must be "report" or "index"');
  if (!file) usage('missing the html file');
  const o = { mode, file: path.resolve(file), time: false };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    const val = () => { if (i + 1 >= rest.length) usage(a + ' needs a value'); return rest[++i]; };
    if (a === '--expect-verdict') { o.verdict = val(); if (!VERDICT_RGB[o.verdict]) usage('--expect-verdict must be valid, invalid or unknown'); }
    else if (a === '--expect-runs') { o.runs = Number(val()); if (!Number.isInteger(o.runs) || o.runs < 0) usage('--expect-runs needs a count'); }
    else if (a === '--expect-fault-warning') o.faultWarning = val();
    else if (a === '--expect-fault-context') o.faultContext = val();
    else if (a === '--expect-fault-warnings') { o.faultWarnings = Number(val()); if (!Number.isInteger(o.faultWarnings) || o.faultWarnings < 0) usage('--expect-fault-warnings needs a count'); }
    else if (a === '--screenshot') o.screenshot = path.resolve(val());
    else if (a === '--time') o.time = true;
    else usage('unknown argument ' + a);
  }
  if (!fs.existsSync(o.file)) usage('no such file: ' + o.file);
  return o;
}

// ---- a tiny PNG decoder (8-bit RGB/RGBA, not interlaced: what Chromium writes)
export function decodePng(buf) {
  check(buf.length > 8 && buf.readUInt32BE(0) === 0x89504e47, 'screenshot is not a PNG');
  let pos = 8, width = 0, height = 0, colorType = 0, depth = 0, interlace = 0;
  const idat = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos), type = buf.toString('ascii', pos + 4, pos + 8);
    const body = buf.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') { width = body.readUInt32BE(0); height = body.readUInt32BE(4); depth = body[8]; colorType = body[9]; interlace = body[12]; }
    else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    pos += 12 + len;
  }
  check(depth === 8 && (colorType === 2 || colorType === 6) && interlace === 0, `unsupported PNG (depth ${depth}, colour type ${colorType})`);
  const bpp = colorType === 6 ? 4 : 3, stride = width * bpp;
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const px = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)], src = y * (stride + 1) + 1, dst = y * stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? px[dst + x - bpp] : 0, b = y ? px[dst - stride + x] : 0, c = x >= bpp && y ? px[dst - stride + x - bpp] : 0;
      let v = raw[src + x];
      if (f === 1) v += a; else if (f === 2) v += b; else if (f === 3) v += (a + b) >> 1;
      else if (f === 4) { const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c); v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c; }
      px[dst + x] = v & 255;
    }
  }
  return { width, height, at: (x, y) => { const i = y * stride + x * bpp; return [px[i], px[i + 1], px[i + 2]]; } };
}
const near = (c, want, tol) => Math.abs(c[0] - want[0]) <= tol && Math.abs(c[1] - want[1]) <= tol && Math.abs(c[2] - want[2]) <= tol;

// Counts, in the page, a canvas's painted pixels and those near given colours.
async function canvasStats(page, selector, colors = []) {
  return page.evaluate(({ selector, colors }) => {
    const cv = document.querySelector(selector);
    if (!cv) return null;
    const d = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
    let painted = 0;
    const hits = colors.map(() => 0);
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] < 16) continue;
      if (d[i] < 245 || d[i + 1] < 245 || d[i + 2] < 245) painted++;
      for (let k = 0; k < colors.length; k++) {
        const c = colors[k];
        if (d[i + 3] > 200 && Math.abs(d[i] - c[0]) < 12 && Math.abs(d[i + 1] - c[1]) < 12 && Math.abs(d[i + 2] - c[2]) < 12) hits[k]++;
      }
    }
    return { width: cv.width, height: cv.height, painted, hits };
  }, { selector, colors });
}

// The parts of the page's data the checks need (the whole blob can be megabytes: keep it in the page).
function reportSummary() {
  const d = JSON.parse(document.getElementById('faultline-data').textContent);
  const tl = d.timeline || {}, ch = d.charts || {};
  return {
    kind: d.kind, verdict: d.verdict, stats: { ops: d.stats && d.stats.ops },
    timeline: { lanes: (tl.lanes || []).length, n: ((tl.ops || {}).index || []).length, exact: tl.exact, buckets: !!tl.buckets },
    charts: {
      'chart-latency': ((ch.latency || {}).series || []).some((s) => (s.t_ms || []).length),
      'chart-throughput': ((ch.throughput || {}).t_ms || []).length > 0 && ((ch.throughput || {}).series || []).length > 0,
      'chart-quantiles': ((ch.quantiles || {}).t_ms || []).length > 0,
      'chart-siblings': ((ch.siblings || {}).buckets || []).length > 0,
    },
    siblings: !!ch.siblings, convergence: !!ch.convergence,
    // report.js lists the first 10 anomalies of each checker, the rest behind "Show N more".
    anomalies: (d.checkers || []).flatMap((c) => (c.anomalies || []).slice(0, 10)).slice(0, 20).map((a) => ({ id: a.id, focus: a.focus })),
  };
}

// Each linearization diagram (data.linearizations): its SVG draws a bar per op in a lane of its process, a point per
// op of the prefix, one outlined offending op; its anomaly and the timeline link to it.
async function checkLinearizations(page, log) {
  const found = await page.evaluate(() => {
    const data = JSON.parse(document.getElementById('faultline-data').textContent);
    return (Array.isArray(data.linearizations) ? data.linearizations : []).map((d) => {
      const el = document.getElementById('lin-' + d.id);
      return {
        id: d.id, ops: d.ops.length, ordered: d.ops.filter((op) => typeof op.order === 'number').length,
        present: !!el, bars: el ? el.querySelectorAll('svg .lin-op rect').length : 0,
        points: el ? el.querySelectorAll('svg .lin-point').length : 0,
        offending: el ? el.querySelectorAll('svg .lin-op.offending').length : 0,
        fromAnomaly: !!document.querySelector(`#anomaly-${CSS.escape(d.id)} a[href="#lin-${d.id}"]`),
        fromTimeline: !!document.querySelector(`#timeline-linearizations a[href="#lin-${d.id}"]`),
        hover: el ? (el.querySelector('svg .lin-op title')?.textContent || '') : '',
      };
    });
  });
  for (const d of found) {
    check(d.present, `linearization ${d.id}: no #lin-${d.id}`);
    check(d.bars === d.ops, `linearization ${d.id}: ${d.bars} op bars drawn, ${d.ops} ops in the data`);
    check(d.points === d.ordered, `linearization ${d.id}: ${d.points} linearization points, ${d.ordered} ops in the prefix`);
    check(d.offending === 1, `linearization ${d.id}: ${d.offending} ops outlined as offending, expected 1`);
    check(d.fromAnomaly && d.fromTimeline, `linearization ${d.id}: not linked from its anomaly and the timeline`);
    check(/process/.test(d.hover), `linearization ${d.id}: no hover text on its ops`);
  }
  if (found.length) log(`linearizations: ${found.length} diagram(s), ${found.map((d) => `${d.bars} bars/${d.points} points`).join(', ')}`);
}

async function checkReport(page, o, log) {
  const data = await page.evaluate(reportSummary);
  check(data.kind === 'report', `page data kind is "${data.kind}", expected "report"`);
  const verdict = await page.evaluate(() => { const b = document.getElementById('verdict'); return b && { v: b.dataset.verdict, text: b.innerText, bg: getComputedStyle(b).backgroundColor }; });
  check(verdict, 'no verdict banner (#verdict)');
  if (o.verdict) {
    check(verdict.v === o.verdict, `verdict banner shows "${verdict.v}", expected "${o.verdict}"`);
    check(verdict.text.toLowerCase().includes(o.verdict), `verdict banner text does not say "${o.verdict}": ${verdict.text}`);
  }
  log(`verdict banner: ${verdict.v} — ${verdict.text.replace(/\s+/g, ' ').slice(0, 100)}`);
  // The nemesis did not inject what it was asked for: the banner says so in words (issue 20).
  const warning = await page.evaluate(() => { const w = document.querySelector('#verdict #fault-warning'); return w && w.innerText; });
  if (o.faultWarning !== undefined) {
    check(warning && warning.includes(o.faultWarning), `the banner does not show "${o.faultWarning}" (#fault-warning: ${warning})`);
    const visible = await page.isVisible('#verdict #fault-warning');
    check(visible, 'the banner\'s fault warning is not visible');
    log(`fault warning: ${warning}`);
  } else if (o.faultWarning === undefined && warning && o.verdict) {
    check(false, `the banner shows a fault warning nobody expected: ${warning}`);
  }
  if (o.faultContext !== undefined) {
    const contexts = await page.$$eval('[data-fault-context]', (els) => els.map((e) => e.innerText));
    check(contexts.some((t) => t.includes(o.faultContext)), `no anomaly's fault context contains "${o.faultContext}": ${contexts.slice(0, 3).join(' | ')}`);
    log(`fault context: ${contexts.find((t) => t.includes(o.faultContext))}`);
  }
  await checkLinearizations(page, log);

  // timeline
  const tl = data.timeline;
  const nOps = tl.n;
  const hasTimeline = tl.lanes > 0 && (nOps > 0 || (tl.exact === false && tl.buckets));
  if (hasTimeline) {
    const s = await canvasStats(page, '#timeline canvas', [OK_RGB]);
    check(s, 'the timeline has no canvas');
    check(s.painted > 500, `the timeline canvas is blank (${s.painted} painted pixels)`);
    if (nOps > 0 && (data.stats?.ops?.ok ?? 1) > 0) check(s.hits[0] > Math.min(20, nOps * 8), `the timeline shows no ok-coloured op bars (${s.hits[0]} pixels)`);
    log(`timeline: ${s.painted} painted pixels, ${s.hits[0]} in the ok colour`);
  } else {
    check(await page.$('#timeline-empty'), 'no timeline data, and no sentence saying so (#timeline-empty)');
    log('timeline: empty, sentence shown');
  }
  if (tl.exact === false) {
    const note = await page.textContent('#timeline-note');
    check(/showing [\d,]+ of [\d,]+ ops \(density shaded\)/.test(note), `timeline note does not say "showing N of M ops (density shaded)": ${note}`);
  }

  // charts: every chart canvas drawn; a chart with data must be a canvas, one without a sentence
  for (const [id, want] of Object.entries(data.charts)) {
    const el = await page.$('#' + id);
    check(el, `no #${id} element (chart or sentence)`);
    if (want) {
      const s = await canvasStats(page, `#${id} canvas`);
      check(s, `#${id} has data but no canvas`);
      check(s.painted > 300, `#${id} canvas is blank (${s.painted} painted pixels)`);
      log(`${id}: ${s.painted} painted pixels`);
    } else {
      const text = (await el.innerText()).trim();
      check(text.length > 5 && !(await page.$(`#${id} canvas`)), `#${id}: no data, but no sentence in place of the chart`);
      log(`${id}: "${text}"`);
    }
  }
  if (!data.siblings) check(/no sibling data for this workload/i.test(await page.innerText('#chart-siblings')), 'siblings: missing "no sibling data for this workload"');
  if (data.convergence) check(await page.$('#convergence'), 'convergence data but no #convergence panel');

  // anomalies in the DOM
  const anomalies = data.anomalies;
  for (const a of anomalies) check(await page.$(`[id="anomaly-${a.id}"][data-anomaly]`), `anomaly ${a.id} has no element #anomaly-${a.id}`);

  // screenshot of the top of the page, before anything scrolls
  if (o.screenshot) {
    await page.evaluate(() => window.scrollTo(0, 0));
    const box = await page.evaluate(() => { const r = document.getElementById('verdict').getBoundingClientRect(); return { x: r.left + 8, y: r.top + r.height / 2 }; });
    fs.mkdirSync(path.dirname(o.screenshot), { recursive: true });
    await page.screenshot({ path: o.screenshot });
    const png = decodePng(fs.readFileSync(o.screenshot));
    const colors = new Set();
    let nonWhite = 0;
    for (let y = 0; y < png.height; y += 4) for (let x = 0; x < png.width; x += 4) {
      const c = png.at(x, y); colors.add(c.join(',')); if (c[0] < 235 || c[1] < 235 || c[2] < 235) nonWhite++;
    }
    check(colors.size > 20 && nonWhite > 200, `screenshot ${o.screenshot} looks blank (${colors.size} colours, ${nonWhite} non-white samples)`);
    const scale = png.width / (await page.evaluate(() => window.innerWidth));
    const c = png.at(Math.round(box.x * scale), Math.round(box.y * scale));
    check(near(c, VERDICT_RGB[verdict.v], 10), `screenshot: banner pixel is rgb(${c}), expected the ${verdict.v} colour rgb(${VERDICT_RGB[verdict.v]})`);
    log(`screenshot: ${o.screenshot} (${png.width}x${png.height}, banner pixel rgb(${c}))`);
  }

  const range = () => page.evaluate(() => { const t = document.getElementById('timeline'); return [Number(t.dataset.xMinMs), Number(t.dataset.xMaxMs)]; });
  const full = hasTimeline ? await range() : null;

  // "show in timeline" of the first anomaly
  if (data.verdict?.valid === false && anomalies.length && hasTimeline) {
    const a = anomalies[0];
    await page.evaluate(() => window.scrollTo(0, 0));
    const before = await page.evaluate(() => document.getElementById('timeline').getBoundingClientRect().top);
    await page.click(`[id="anomaly-${a.id}"] .show-in-timeline`);
    await page.waitForTimeout(100);
    const st = await page.evaluate(() => {
      const t = document.getElementById('timeline'), r = t.getBoundingClientRect();
      return { top: r.top, bottom: r.bottom, vh: window.innerHeight, highlight: t.dataset.highlight, min: Number(t.dataset.xMinMs), max: Number(t.dataset.xMaxMs) };
    });
    check(st.top < st.vh && st.bottom > 0 && st.top !== before, `after "Show in timeline" the timeline is not scrolled into view (top ${st.top}, viewport ${st.vh})`);
    check(st.highlight === String(a.id), `timeline highlight is "${st.highlight}", expected "${a.id}"`);
    if (a.focus) check(Math.abs(st.min - a.focus.start_ms) < 300 && Math.abs(st.max - a.focus.end_ms) < 300, `timeline zoomed to ${st.min}..${st.max} ms, expected about ${a.focus.start_ms}..${a.focus.end_ms}`);
    const s = await canvasStats(page, '#timeline canvas', [HIGHLIGHT_RGB]);
    check(s.hits[0] > 10, `the anomaly's ops are not outlined in the timeline (${s.hits[0]} highlight pixels)`);
    log(`show in timeline: ${a.id} → ${st.min.toFixed(1)}..${st.max.toFixed(1)} ms, ${s.hits[0]} outline pixels`);
  }

  // hover tooltip over one op bar
  if (hasTimeline && nOps > 0) {
    const pt = await page.evaluate(() => {
      const u = window.__faultline.timeline, d = JSON.parse(document.getElementById('faultline-data').textContent).timeline;
      const { min, max } = u.scales.x, nl = d.lanes.length;
      let best = -1;
      for (let i = 0; i < d.ops.index.length; i++) {
        const s = d.ops.start_ms[i] / 1000, e = d.ops.end_ms[i] / 1000;
        if (s >= min && e <= max && (best < 0 || e - s > (d.ops.end_ms[best] - d.ops.start_ms[best]) / 1000)) best = i;
        if (best >= 0 && i > 5000) break;
      }
      if (best < 0) return null;
      const mid = (d.ops.start_ms[best] + d.ops.end_ms[best]) / 2000;
      u.over.scrollIntoView({ block: 'center' });
      const r = u.over.getBoundingClientRect();
      return { x: r.left + u.valToPos(mid, 'x'), y: r.top + u.valToPos(nl - 1 - d.ops.lane[best], 'y'), index: d.ops.index[best] };
    });
    check(pt, 'no op in the timeline view to hover');
    await page.mouse.move(pt.x, pt.y);
    await page.waitForTimeout(50);
    const tip = await page.evaluate(() => { const t = document.getElementById('timeline-tip'); return t && { shown: getComputedStyle(t).display !== 'none', text: t.innerText }; });
    check(tip && tip.shown, 'hovering an op bar shows no tooltip');
    // Where bars of one lane share a pixel (a zoomed-out big history), any op of that lane under the cursor is right.
    const named = /op (\d+)/.exec(tip.text);
    const sameLane = named && await page.evaluate(([a, b]) => {
      const d = JSON.parse(document.getElementById('faultline-data').textContent).timeline.ops;
      const ia = d.index.indexOf(a), ib = d.index.indexOf(b);
      return ia >= 0 && ib >= 0 && d.lane[ia] === d.lane[ib];
    }, [pt.index, Number(named[1])]);
    check(tip.text.includes('op ' + pt.index) || sameLane, `tooltip does not name op ${pt.index} or an op of its lane: ${tip.text}`);
    log(`hover: tooltip "${tip.text.replace(/\s+/g, ' ').slice(0, 80)}"`);

    // wheel zooms in around the cursor; Reset zoom shows the whole run again
    const before = await range();
    await page.mouse.wheel(0, -400);
    await page.waitForTimeout(50);
    const after = await range();
    check(after[1] - after[0] < (before[1] - before[0]) * 0.95, `wheel did not zoom the timeline in (${before} → ${after})`);
    // the charts over time follow the timeline's window
    const charts = await page.evaluate(() => Object.fromEntries(['latency', 'throughput', 'quantiles']
      .filter((k) => window.__faultline.charts[k]).map((k) => [k, [window.__faultline.charts[k].scales.x.min * 1000, window.__faultline.charts[k].scales.x.max * 1000]])));
    for (const [name, r] of Object.entries(charts)) {
      check(Math.abs(r[0] - after[0]) < 1e-3 && Math.abs(r[1] - after[1]) < 1e-3, `chart ${name} shows ${r}, not the timeline's window ${after}`);
    }
    await page.click('#timeline-reset');
    const reset = await range();
    check(Math.abs(reset[0] - full[0]) < 1e-6 && Math.abs(reset[1] - full[1]) < 1e-6, `Reset zoom shows ${reset}, expected the whole run ${full}`);
    log(`zoom: wheel ${before.map((v) => v.toFixed(1))} → ${after.map((v) => v.toFixed(1))} ms, reset → ${reset.map((v) => v.toFixed(1))}`);
  }
}

async function checkIndex(page, o, log) {
  const data = await page.evaluate(() => {
    const d = JSON.parse(document.getElementById('faultline-data').textContent);
    return { kind: d.kind, runs: (d.runs || []).map((r) => ({ name: r.name, dir: r.dir, db: r.db, workload: r.workload, nemesis: r.nemesis, valid: r.valid })) };
  });
  check(data.kind === 'index', `page data kind is "${data.kind}", expected "index"`);
  const runs = data.runs || [];
  const st = () => page.evaluate(() => ({ ...window.__faultlineIndex.state() }));
  let s = await st();
  if (o.runs !== undefined) check(s.total === o.runs && runs.length === o.runs, `index lists ${s.total} runs (data: ${runs.length}), expected ${o.runs}`);
  check(s.shown === runs.length, `with no filter ${s.shown} runs match, expected all ${runs.length}`);
  const rows = await page.$$eval('#runs tbody tr[data-run]', (trs) => trs.length);
  check(rows === Math.min(runs.length, s.pageSize), `runs table shows ${rows} rows, expected ${Math.min(runs.length, s.pageSize)}`);
  if (!runs.length) check(await page.$('#runs-empty'), 'no runs, and no sentence saying so (#runs-empty)');
  const firstDir = await page.$eval('#runs tbody tr[data-run]', (tr) => tr.dataset.run).catch(() => null);
  if (runs.length) check(firstDir === runs[0].dir, `first row is ${firstDir}, expected the newest run ${runs[0].dir}`);
  const links = await page.$$eval('#runs a.report', (as) => as.map((a) => a.getAttribute('href')));
  check(links.every((h) => !/^[a-z]+:/i.test(h) && !h.startsWith('/')), 'a report link is not relative to the index');
  log(`runs: ${s.total}, table rows on the first page: ${rows}`);
  if (o.faultWarnings !== undefined) {
    const badges = await page.$$eval('#runs [data-fault-warning]', (els) => els.length);
    check(badges === o.faultWarnings, `${badges} runs carry the "no fault injected" badge, expected ${o.faultWarnings}`);
    log(`runs marked "no fault injected": ${badges}`);
  }

  // verdict history strips and regressions
  const names = [...new Set(runs.map((r) => r.name))];
  const rank = (v) => (v === true ? 0 : v === false ? 2 : 1);
  const regressed = names.filter((n) => { const rs = runs.filter((r) => r.name === n); return rs.length > 1 && rank(rs[0].valid) > rank(rs[1].valid); }).sort();
  const strips = await page.$$eval('[data-history]', (els) => els.map((e) => ({ name: e.dataset.history, squares: e.querySelectorAll('.sq').length, regressed: e.closest('[data-regressed]') !== null })));
  check(strips.length === names.length, `${strips.length} verdict history strips, expected one per test name (${names.length})`);
  for (const n of names) {
    const sq = strips.find((x) => x.name === n);
    const want = Math.min(60, runs.filter((r) => r.name === n).length);
    check(sq && sq.squares === want, `history of ${n}: ${sq && sq.squares} squares, expected ${want}`);
  }
  const shownRegressed = strips.filter((x) => x.regressed).map((x) => x.name).sort();
  check(JSON.stringify(shownRegressed) === JSON.stringify(regressed), `regressed markers on [${shownRegressed}], expected [${regressed}]`);
  log(`history strips: ${strips.length}, regressed: [${regressed.join(', ')}]`);

  // filters
  if (runs.length) {
    const pick = runs[Math.floor(runs.length / 2)];
    const word = pick.workload || pick.name;
    await page.fill('#filter-text', word);
    s = await st();
    const want = runs.filter((r) => [r.name, r.db, r.workload, ...(r.nemesis || [])].join(' ').toLowerCase().includes(word.toLowerCase())).length;
    check(s.shown === want, `text filter "${word}": ${s.shown} runs, expected ${want}`);
    log(`text filter took ${s.lastFilterMs.toFixed(1)} ms`);  // a figure, not a pass/fail: CI machines are loaded
    await page.fill('#filter-text', '');
    await page.selectOption('#filter-verdict', 'invalid');
    s = await st();
    check(s.shown === runs.filter((r) => r.valid === false).length, `verdict filter "invalid": ${s.shown} runs`);
    log(`verdict filter took ${s.lastFilterMs.toFixed(1)} ms`);
    await page.selectOption('#filter-verdict', '');
    await page.selectOption('#filter-name', pick.name);
    s = await st();
    check(s.shown === runs.filter((r) => r.name === pick.name).length, `name filter "${pick.name}": ${s.shown} runs`);
    await page.selectOption('#filter-name', '');
    log(`filters: ok (last ${s.lastFilterMs.toFixed(1)} ms)`);
  }
  if (o.screenshot) {
    await page.evaluate(() => window.scrollTo(0, 0));
    fs.mkdirSync(path.dirname(o.screenshot), { recursive: true });
    await page.screenshot({ path: o.screenshot });
    const png = decodePng(fs.readFileSync(o.screenshot));
    let nonWhite = 0;
    for (let y = 0; y < png.height; y += 4) for (let x = 0; x < png.width; x += 4) { const c = png.at(x, y); if (c[0] < 235 || c[1] < 235 || c[2] < 235) nonWhite++; }
    check(nonWhite > 200, `screenshot ${o.screenshot} looks blank`);
    log(`screenshot: ${o.screenshot}`);
  }
}

// A fresh headless Chromium with a temp user data dir; close() removes both.
export async function launchBrowser() {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'faultline-chromium-'));
  const removeDir = () => fs.rmSync(userDir, { recursive: true, force: true });
  process.once('exit', removeDir); // also on an uncaught error or process.exit
  for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => process.exit(1));
  try {
    const ctx = await chromium.launchPersistentContext(userDir, {
      executablePath: '/usr/bin/chromium', headless: true, viewport: { width: 1400, height: 1000 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
    return { ctx, close: async () => { await ctx.close().catch(() => {}); fs.rmSync(userDir, { recursive: true, force: true }); } };
  } catch (e) {
    fs.rmSync(userDir, { recursive: true, force: true });
    throw e;
  }
}

// Checks one page in a new tab of ctx, closed after, or in `tab`, an open one (a new tab costs ~0.5 CPU-s more: a
// renderer process). o: {mode, file, verdict?, runs?, screenshot?, time?}. Returns {ok, output, renderedMs}; output
// holds the lines the CLI prints.
export async function checkPage(ctx, o, tab = null) {
  const lines = [];
  const problems = [];
  const t0 = Date.now();
  const log = (m) => lines.push(`  ${m}` + (process.env.FL_TIMING ? ` [${Date.now() - t0} ms]` : ''));
  let page = tab, renderedMs = null;
  lines.push(`browser_test ${o.mode} ${o.file}`);
  const onConsole = (m) => { if (m.type() === 'error') problems.push('console error: ' + m.text()); };
  const onError = (e) => problems.push('page error: ' + (e.stack || e.message));
  const onRequest = (r) => { if (!/^(file|data|blob|about):/.test(r.url())) problems.push('network request: ' + r.url()); };
  try {
    if (!page) page = await ctx.newPage();
    page.on('console', onConsole);
    page.on('pageerror', onError);
    page.on('request', onRequest);
    const navStart = Date.now();
    await page.goto(pathToFileURL(o.file).href, { waitUntil: 'load', timeout: 60000 });
    await page.waitForFunction(() => window.__faultlineRendered === true, null, { timeout: 60000 }).catch(() => {
      throw new CheckFailed('the page never set window.__faultlineRendered' + (problems.length ? ': ' + problems.join('; ') : ''));
    });
    renderedMs = await page.evaluate(() => window.__faultlineRenderedMs);
    if (o.time) {
      const size = fs.statSync(o.file).size;
      if (typeof renderedMs !== 'number') lines.push('the page did not report its render time (window.__faultlineRenderedMs)');
      else lines.push(`rendered in ${Math.round(renderedMs)} ms (navigation start to rendered, measured in the page; ${(size / 1e6).toFixed(1)} MB file; ` +
        `${Date.now() - navStart} ms wall time for the browser to load it, as seen by the test)`);
    }
    check(!problems.length, problems.join('\n'));
    if (o.mode === 'report') await checkReport(page, o, log); else await checkIndex(page, o, log);
    await page.waitForTimeout(50);
    check(!problems.length, problems.join('\n'));
    lines.push('browser_test: all checks passed');
    return { ok: true, output: lines.join('\n'), renderedMs };
  } catch (e) {
    lines.push(`browser_test FAILED (${o.mode} ${o.file}): ${e instanceof CheckFailed ? e.message : e.stack || e}`);
    return { ok: false, output: lines.join('\n'), renderedMs };
  } finally {
    if (page && !tab) await page.close().catch(() => {});
    if (tab) for (const [event, f] of [['console', onConsole], ['pageerror', onError], ['request', onRequest]]) tab.off(event, f);
  }
}

// Pages separated by --and share one browser (its start costs ~3.5 CPU-s on 2 cores).
function splitPages(argv) {
  const groups = [[]];
  for (const a of argv) if (a === '--and') groups.push([]); else groups[groups.length - 1].push(a);
  return groups.map(parseArgs);
}

async function main() {
  const pages = splitPages(process.argv.slice(2));
  let browser, failed = 0;
  try {
    browser = await launchBrowser();
    const tab = await browser.ctx.newPage();
    for (const o of pages) {
      const r = await checkPage(browser.ctx, o, tab);
      (r.ok ? console.log : console.error)(r.output);
      if (!r.ok) failed++;
    }
    return failed ? 1 : 0;
  } catch (e) {
    console.error(`browser_test FAILED (${pages.map((o) => `${o.mode} ${o.file}`).join(', ')}): cannot run the browser: ${e.stack || e}`);
    return 1;
  } finally {
    if (browser) await browser.close();
  }
}
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = await main();
