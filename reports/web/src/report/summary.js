// report.html panels at the top of the page: the navigation bar, the verdict banner with the run's notes
// (incomplete, harness error, read warnings) and "The test" (what ran, how to repeat it).
(function () {
  'use strict';
  const R = (window.faultlineReport = window.faultlineReport || {});
  (R.panels = R.panels || {}).summary = function (page) {
    const { h, isNum, arr, obj, verdictClass } = window.faultlineCommon;
    const { fmtDuration, fmtInt } = R.core;
    const { data, run, test, verdict, stats, checkers, nemesis } = page;

    function renderTop() {
      const anomalyTotal = checkers.reduce((a, c) => a + (isNum(c.anomaly_count) ? c.anomaly_count : arr(c.anomalies).length), 0);
      return h('div', { class: 'fl-top' }, h('span', { class: 'brand' }, 'faultline'), h('span', null, run.name || run.dir || 'report'),
        h('nav', null, h('a', { href: '#test' }, 'Test'), h('a', { href: '#checkers' }, 'Checkers' + (anomalyTotal ? ` (${anomalyTotal} anomal${anomalyTotal === 1 ? 'y' : 'ies'})` : '')),
          h('a', { href: '#timeline-section' }, 'Timeline'), h('a', { href: '#charts' }, 'Charts')));
    }

    // The verdict banner and the notes under it.
    function renderBanner() {
      const cls = verdictClass(verdict.valid);
      const word = { valid: 'Valid', invalid: 'Invalid', unknown: 'Unknown' }[cls];
      const sentence = verdict.sentence || { valid: 'No anomalies found.', invalid: 'Anomalies found.',
        unknown: 'The checkers could not decide.' }[cls];
      const sub = [];
      if (run.name) sub.push(run.name);
      if (run.started) sub.push('started ' + run.started);
      if (isNum(stats.duration_ms)) sub.push('ran ' + fmtDuration(stats.duration_ms));
      // A nemesis that did not inject what it was asked for: said in the banner itself, in words, so a "valid" run
      // of a fault column that never faulted cannot pass for one that did.
      const faultWarning = verdict.fault_warning
        ? h('div', { class: 'fault-warning', id: 'fault-warning' }, (cls === 'valid' ? 'Valid — but ' : 'And ') + verdict.fault_warning + '.')
        : null;
      const banner = h('div', { class: 'fl-banner ' + cls + (verdict.fault_warning ? ' no-fault' : ''), id: 'verdict', 'data-verdict': cls },
        h('div', { class: 'word' }, word),
        h('div', null, faultWarning, h('div', { class: 'sentence' }, sentence), h('div', { class: 'sub' }, sub.join(' · '))));
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

    // "The test": what ran, and the command that repeats it.
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
      const f = obj(verdict.faults);
      const perKind = f && obj(f.injected) ? Object.entries(f.injected).map(([k, n]) => `${k} ${n}`).join(', ') : '';
      const injected = (nemesis.length ? String(nemesis.length) : (t.nemesis ? '0' : '')) + (perKind ? ` (${perKind})` : '');
      if (injected) add('Faults injected', h('span', { id: 'faults-injected', class: verdict.fault_warning ? 't-fail' : null }, injected));
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

    return { renderTop, renderBanner, renderTest };
  };
})();
