#!/usr/bin/env node
// Synthesizes a store index data object (DATA.md, "kind": "index") with <runs> runs over 12 test names, newest
// first, to check that the index stays fast with thousands of runs. Deterministic; "nightly-set-partition" regresses.
// Usage: node synth_index.mjs <runs> <out.json>      Importable: synthIndex(runs) -> object.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function synthIndex(count = 5000) {
  let seed = 99;
  const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  const dbs = ['dynastore', 'redis-cluster', 'lww-dynastore'], workloads = ['set', 'register', 'counter', 'list-append'];
  const nems = [['partition'], ['kill'], ['partition', 'kill'], ['pause', 'clock']];
  const names = [];
  for (let i = 0; i < 12; i++) names.push(`nightly-${workloads[i % 4]}-${nems[Math.floor(i / 4) % 4].join('-')}`);
  names[0] = 'nightly-set-partition';
  const runs = [];
  const t0 = Date.parse('2026-11-27T02:00:00Z');
  for (let k = 0; k < count; k++) {
    const ni = k % names.length, name = names[ni];
    const started = new Date(t0 - Math.floor(k / names.length) * 86400000 - ni * 60000).toISOString();
    const nth = Math.floor(k / names.length);
    let valid = rnd() < 0.85 ? true : rnd() < 0.6 ? false : 'unknown';
    if (name === 'nightly-set-partition') valid = nth === 0 ? false : true;
    const dir = `${name}/${started.replace(/[-:]/g, '')}`;
    runs.push({ name, dir, report: dir + '/report.html', started, db: dbs[ni % 3], workload: workloads[ni % 4], nemesis: nems[Math.floor(ni / 4) % 4], nodes: 5,
      time_limit: 60, seed: k, ops: { ok: 1000 + Math.floor(rnd() * 500), fail: Math.floor(rnd() * 10), info: Math.floor(rnd() * 20) },
      valid, summary: valid === true ? 'no anomalies' : valid === false ? '2 acknowledged writes lost on key k3' : 'the harness failed',
      incomplete: valid === 'unknown', error: valid === 'unknown' ? 'n2: dynastore did not start' : '', anomalies: valid === false ? { 'set.lost': 2 } : {} });
  }
  return { kind: 'index', version: 1, generated: '2026-11-27T10:00:00Z', store_dir: '/srv/faultline/store', runs };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [n, out] = process.argv.slice(2);
  if (!out) { console.error('usage: node synth_index.mjs <runs> <out.json>'); process.exit(2); }
  fs.writeFileSync(out, JSON.stringify(synthIndex(Number(n))));
}
