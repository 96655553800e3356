// Helpers shared by report.html's scripts (report/*.js, report.js) and index.js (inlined before them; no modules, no network).
window.faultlineCommon = (function () {
  'use strict';
  // h('div', {class: 'x', onclick: fn}, child, ...): a DOM element; null/undefined/false attrs and children skipped.
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === null || v === undefined || v === false) continue;
        if (k === 'class') el.className = v;
        else if (k === 'text') el.textContent = v;
        else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : String(c));
    }
    return el;
  }
  return {
    h,
    isNum: (v) => typeof v === 'number' && Number.isFinite(v),
    arr: (v) => (Array.isArray(v) ? v : []),
    obj: (v) => (v && typeof v === 'object' && !Array.isArray(v) ? v : null),
    verdictClass: (v) => (v === true ? 'valid' : v === false ? 'invalid' : 'unknown'),
  };
})();
