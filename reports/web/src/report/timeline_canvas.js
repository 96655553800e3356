// report.html timeline, what is drawn on and over its canvas: the ops in view (density buckets, op bars merged
// into runs when many, the selected anomaly's ops) and the hover tooltip. Only what is in view is drawn, so
// 100,000 ops stay fast. g: the timeline's columns and lanes as timeline.js builds them
// ({ nl, n, idx, lane, st, en, ty, fs, procs, fNames, perLane, labels, buckets }).
(function () {
  'use strict';
  const R = (window.faultlineReport = window.faultlineReport || {});

  // A uPlot draw hook that paints the ops; it times itself into exposed.timelineDrawMs.
  function opsPainter(page, g) {
    const { isNum, arr } = window.faultlineCommon;
    const { COLORS, TYPE_NAMES } = R.core;
    const { exposed, tl } = page;
    const { nl, n, idx, lane, st, en, ty, buckets } = g;
    let posByIndex = null;
    let coverBuf = null;
    let bucketMax = null;

    // The plot box, the x range in ms and the lane geometry, in canvas pixels.
    function view(u) {
    const { ctx } = u;
    const { left, top, width, height: bh } = u.bbox;
    const px = devicePixelRatio;
    const xmin = u.scales.x.min * 1000, xmax = u.scales.x.max * 1000;
    const laneHpx = Math.abs(u.valToPos(0, 'y', true) - u.valToPos(1, 'y', true));
    const laneTop = u.valToPos(nl - 0.5, 'y', true);
    const barH = Math.max(1, Math.min(laneHpx * 0.7, 16 * px));
    const scale = width / (xmax - xmin);
      return { ctx, left, top, width, bh, px, xmin, xmax, laneHpx, laneTop, barH, scale };
    }
    function drawDensity(v) {
      const { ctx, left, xmin, xmax, laneHpx, laneTop, barH, scale } = v;
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
    }
    function drawExact(v) {
      const { ctx, left, width, px, xmin, xmax, laneHpx, laneTop, barH, scale } = v;
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
    }
    function drawHighlight(v) {
      const { ctx, left, top, bh, px, xmin, laneHpx, laneTop, barH, scale } = v;
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
    }
    function drawOpsIn(u) {
      const v = view(u);
      v.ctx.save();
      v.ctx.beginPath(); v.ctx.rect(v.left, v.top, v.width, v.bh); v.ctx.clip();
      drawDensity(v);
      drawExact(v);
      drawHighlight(v);
      v.ctx.restore();
    }
    return function drawOps(u) {
      const t0 = performance.now();
      try { drawOpsIn(u); } finally { exposed.timelineDrawMs = performance.now() - t0; }
    };
  }

  // The tooltip of the op (or the density bucket and faults) under the cursor: { tip: its element, showTip: a
  // setCursor hook }.
  function tooltip(page, g) {
    const { h, isNum, arr, obj } = window.faultlineCommon;
    const { TYPE_NAMES, fmtS, fmtMs, compact } = R.core;
    const { opsById, faultAt } = page;
    const { nl, idx, st, en, ty, fs, procs, fNames, perLane, labels, buckets } = g;
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
    return { tip, showTip };
  }

  R.timelineCanvas = { opsPainter, tooltip };
})();
