// report.html panel "Checkers": a card per checker with its verdict, details and anomalies; each anomaly with its
// sentence, the fault it happened under, its ops, and a "Show in timeline" button.
(function () {
  'use strict';
  const R = (window.faultlineReport = window.faultlineReport || {});
  // showInTimeline(anomaly): the timeline panel's, for the anomalies' buttons.
  (R.panels = R.panels || {}).checkers = function (page, showInTimeline) {
    const { h, isNum, arr, obj, verdictClass } = window.faultlineCommon;
    const { fmtS, fmtMs, compact, isScalar, safe } = R.core;
    const { checkers, opsById } = page;

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
          h('span', { class: 'text' }, a.text ?? ''), page.linearization ? page.linearization.linkFor(id) : null,
          ops.length || a.focus ? btn : null),
        // The faults around the op (results.json "faults": during it, and after its acknowledgement on its node and
        // the key's replicas); older results.json only knew the fault active while the op ran.
        a.fault_context ? h('div', { class: 'fault', 'data-fault-context': '' }, a.fault_context + '.')
          : a.fault ? h('div', { class: 'fault' }, 'Fault active: ' + a.fault) : h('div', { class: 'fault' }, 'No fault active.'),
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
    return { renderCheckers };
  };
})();
