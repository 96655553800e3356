#!/usr/bin/env node
// Synthesizes a report.html data object (DATA.md, "kind": "report") for a set workload with faults, to develop
// against and to measure speed. Deterministic.
// Usage: node synth_report.mjs --total <ops> [--shown <ops in timeline.ops>] [--duration <s>] [--workers <n>] <out.json>
//   shown < total makes timeline.exact false: every fail/info and anomaly op plus a sample of ok ops, and buckets.
// Also importable: synthReport({total, shown, durationS, workers}) -> object.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function synthReport({ total = 3000, shown = total, durationS = 30, workers = 10 } = {}) {
  let seed = 12345;
  const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  const D = durationS * 1000;
  const nemesis = [
    { fault: 'partition', start_ms: D * 0.15, end_ms: D * 0.32, value: { n1: ['n3', 'n4', 'n5'], n2: ['n3', 'n4', 'n5'] }, label: 'partition majorities-ring', error: null },
    { fault: 'kill', start_ms: D * 0.45, end_ms: D * 0.58, value: ['n2'], label: 'kill n2', error: null },
    { fault: 'pause', start_ms: D * 0.7, end_ms: D * 0.78, value: ['n4', 'n5'], label: 'pause n4, n5', error: null },
  ];
  const mainEnd = D * 0.9;
  const inFault = (t) => nemesis.find((n) => t >= n.start_ms && t <= n.end_ms);
  const keys = ['k1', 'k2', 'k3', 'k4', 'k5'];
  const perWorker = Math.ceil(total / workers);
  const gap = D / perWorker;
  const ops = []; // {index, invoke_index, lane, process, start, end, type, f, key, value, node}
  const laneProcs = Array.from({ length: workers }, (_, w) => [w]);
  let index = 0, nextValue = 0;
  for (let w = 0; w < workers; w++) {
    let t = rnd() * gap, proc = w;
    for (let k = 0; k < perWorker && ops.length < total; k++) {
      const fault = inFault(t);
      const final = t > mainEnd;
      let lat = Math.exp(Math.log(2) + rnd() * 1.5) * (fault ? 3 : 1);
      let type = 0;
      const r = rnd();
      if (fault && r < 0.12) { type = 1; lat = 0.5 + rnd(); } else if (fault && r < 0.14) { type = 2; lat = 1000; }
      const f = final ? 1 : (rnd() < 0.85 ? 0 : 1);
      ops.push({ lane: w, process: proc, start: t, end: t + lat, type, f, key: keys[Math.floor(rnd() * keys.length)], value: nextValue++, node: 'n' + (1 + Math.floor(rnd() * 5)) });
      if (type === 2) { proc += workers; laneProcs[w].push(proc); }
      t += Math.max(gap, lat) * (0.6 + rnd() * 0.8);
    }
  }
  ops.sort((a, b) => a.end - b.end);
  ops.forEach((o, i) => { o.invoke_index = 2 * i; o.index = 2 * i + 1; });
  const fNames = ['add', 'read'];
  const types = ['ok', 'fail', 'info'];
  // anomalies: ok adds during the partition that the final reads miss
  const lostOps = ops.filter((o) => o.type === 0 && o.f === 0 && inFault(o.start) && inFault(o.start).fault === 'partition').slice(0, 3);
  const opsById = {};
  const anomalies = lostOps.map((o, i) => {
    opsById[o.invoke_index] = { index: o.invoke_index, type: 'invoke', process: o.process, f: 'add', key: o.key, value: o.value, node: null, error: null, time_ms: o.start, invoke_index: null, invoke_ms: null, latency_ms: null };
    opsById[o.index] = { index: o.index, type: 'ok', process: o.process, f: 'add', key: o.key, value: o.value, node: o.node, error: null, time_ms: o.end, invoke_index: o.invoke_index, invoke_ms: o.start, latency_ms: o.end - o.start };
    return { id: 'set-lost-' + i, kind: 'lost', key: o.key, fault: 'partition majorities-ring {"n1":["n3","n4","n5"]}',
      text: `add of ${o.value} (op ${o.index}, process ${o.process} on ${o.node}, acknowledged at ${(o.end / 1000).toFixed(3)} s) is missing from the final reads of n1, n3`,
      ops: [o.invoke_index, o.index], focus: { start_ms: o.start - 200, end_ms: o.end + 200 } };
  });
  const lostSet = new Set(lostOps);
  // the timeline subset
  let shownOps = ops;
  if (shown < total) {
    const keep = ops.filter((o) => o.type !== 0 || lostSet.has(o));
    const okOps = ops.filter((o) => o.type === 0 && !lostSet.has(o));
    const want = Math.max(0, shown - keep.length);
    const stride = okOps.length / Math.max(1, want);
    for (let i = 0; i < want && Math.floor(i * stride) < okOps.length; i++) keep.push(okOps[Math.floor(i * stride)]);
    shownOps = keep.sort((a, b) => a.end - b.end);
  }
  const col = (fn) => shownOps.map(fn);
  const duration = ops.reduce((m, o) => Math.max(m, o.end), 0);
  let buckets = null;
  if (shown < total) {
    const count = 2000, width = duration / count;
    buckets = { start_ms: 0, width_ms: width, count, lanes: laneProcs.map(() => ({ ok: new Array(count).fill(0), fail: new Array(count).fill(0), info: new Array(count).fill(0) })) };
    for (const o of ops) buckets.lanes[o.lane][types[o.type]][Math.min(count - 1, Math.floor(o.start / width))]++;
  }
  // charts
  const series = [];
  for (let f = 0; f < 2; f++) for (let ty = 0; ty < 3; ty++) {
    let sel = ops.filter((o) => o.f === f && o.type === ty);
    if (!sel.length) continue;
    if (ty === 0 && sel.length > 20000) { const s = sel.length / 20000; sel = Array.from({ length: 20000 }, (_, i) => sel[Math.floor(i * s)]); }
    series.push({ f: fNames[f], type: types[ty], t_ms: sel.map((o) => o.start), latency_ms: sel.map((o) => o.end - o.start) });
  }
  const nb = Math.ceil(duration / 1000) || 1;
  const t_ms = Array.from({ length: nb }, (_, i) => i * 1000);
  const tput = [];
  for (let f = 0; f < 2; f++) for (let ty = 0; ty < 3; ty++) {
    const per = new Array(nb).fill(0);
    let any = false;
    for (const o of ops) if (o.f === f && o.type === ty) { per[Math.min(nb - 1, Math.floor(o.end / 1000))]++; any = true; }
    if (any) tput.push({ f: fNames[f], type: types[ty], per_s: per });
  }
  const lats = Array.from({ length: nb }, () => []);
  for (const o of ops) lats[Math.min(nb - 1, Math.floor(o.end / 1000))].push(o.end - o.start);
  const q = (a, p) => (a.length ? a[Math.min(a.length - 1, Math.floor(p * a.length))] : null);
  lats.forEach((a) => a.sort((x, y) => x - y));
  const counts = { ok: ops.filter((o) => o.type === 0).length, fail: ops.filter((o) => o.type === 1).length, info: ops.filter((o) => o.type === 2).length };
  return {
    kind: 'report', version: 1, generated: '2026-11-27T10:00:00Z',
    run: { dir: 'store/dynastore-set/20261127T093000.123Z', name: 'dynastore-set', started: '2026-11-27T09:30:00.123Z',
      command: 'faultline run --config store/dynastore-set/20261127T093000.123Z/test.json' },
    test: { name: 'dynastore-set', db: 'dynastore', dynastore: { n: 3, r: 2, w: 2, partitions: 64, sync: true }, local: 5, nodes: [],
      workload: 'set', nemesis: ['partition', 'kill', 'pause'], seed: 4184493769, 'time-limit': durationS * 0.9, concurrency: workers, rate: Math.round(total / durationS), keys: 5 },
    verdict: { valid: false, sentence: `${anomalies.length} acknowledged writes lost on keys ${[...new Set(anomalies.map((a) => a.key))].join(', ')} during a majorities-ring partition`, incomplete: false, error: '' },
    stats: { ops: counts, duration_ms: duration, main_phase_end_ms: mainEnd, processes: laneProcs.flat().length, nodes: ['n1', 'n2', 'n3', 'n4', 'n5'] },
    checkers: [
      { name: 'set', valid: false, summary: `${anomalies.length} of ${counts.ok} acknowledged adds are missing from the final reads`,
        details: { attempt_count: total, ok_count: counts.ok, fail_count: counts.fail, info_count: counts.info, lost_count: anomalies.length, lost: lostOps.map((o) => ({ key: o.key, value: o.value, index: o.index })),
          per_key: Object.fromEntries(keys.map((k) => [k, { attempts: Math.round(total / 5), ok: Math.round(counts.ok / 5), lost: anomalies.filter((a) => a.key === k).length }])) },
        anomaly_count: anomalies.length, anomalies },
      { name: 'convergence', valid: true, summary: 'all 5 keys agree on every replica, 0.8 s after the final heal (3 rounds)', details: { rounds: 3, key_count: 5, divergent: [] }, anomaly_count: 0, anomalies: [] },
      { name: 'stats', valid: true, summary: `${counts.ok} ok, ${counts.fail} fail, ${counts.info} info`, details: { ok: counts.ok }, anomaly_count: 0, anomalies: [] },
    ],
    ops: opsById,
    nemesis: nemesis.map((n, i) => ({ ...n, start_index: i * 100, stop_index: i * 100 + 50 })),
    timeline: {
      lanes: laneProcs.map((ps) => ({ label: ps.map((p) => 'p' + p).join(', '), processes: ps })),
      f_names: fNames, exact: shown >= total, total,
      ops: { index: col((o) => o.index), lane: col((o) => o.lane), start_ms: col((o) => +o.start.toFixed(3)), end_ms: col((o) => +o.end.toFixed(3)),
        type: col((o) => o.type), f: col((o) => o.f), process: col((o) => o.process) },
      buckets,
    },
    charts: {
      latency: { sampled: total > 20000, total, series },
      throughput: { bucket_ms: 1000, t_ms, series: tput },
      quantiles: { bucket_ms: 1000, t_ms, p50: lats.map((a) => q(a, 0.5)), p95: lats.map((a) => q(a, 0.95)), p99: lats.map((a) => q(a, 0.99)), max: lats.map((a) => (a.length ? a[a.length - 1] : null)) },
      siblings: { buckets: ['empty', '1', '2', '3', '4', '5+'], counts: [12, 4810, 31, 4, 1, 0], percent: [0.24, 98.8, 0.64, 0.08, 0.02, 0],
        dynamo_paper_percent: { 1: 99.94, 2: 0.00057, 3: 0.00047, 4: 0.00009 } },
      convergence: { final_heal_ms: mainEnd, converged_after_s: 0.8, rounds: 3, divergent: [] },
    },
    warnings: [],
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const a = process.argv.slice(2);
  const opt = (name, def) => { const i = a.indexOf(name); return i >= 0 ? Number(a[i + 1]) : def; };
  const out = a.filter((x, i) => !x.startsWith('--') && !(i > 0 && a[i - 1].startsWith('--'))).pop();
  if (!out) { console.error('usage: node synth_report.mjs --total N [--shown N] [--duration S] [--workers N] <out.json>'); process.exit(2); }
  const total = opt('--total', 3000);
  fs.writeFileSync(out, JSON.stringify(synthReport({ total, shown: opt('--shown', total), durationS: opt('--duration', 30), workers: opt('--workers', 10) })));
}
