// dom.js: small DOM and formatting helpers. Text always goes in as text
// nodes, never as HTML.

/** el creates an element with attributes (on* are listeners) and children. */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  append(e, children);
  return e;
}

function append(e, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(e, c);
    else e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** replace swaps the children of parent for the given ones. */
export function replace(parent, ...children) {
  const frag = document.createDocumentFragment();
  append(frag, children);
  parent.replaceChildren(frag);
}

/** $ finds an element by id. */
export const $ = (id) => document.getElementById(id);

/** fmtTime shows an ISO time as local date and time; '' for none. */
export function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime()) || d.getFullYear() < 1971) return '';
  return d.toLocaleString(undefined, { hour12: false });
}

/** fmtDuration shows milliseconds as e.g. "3d 4h", "12m", "40s". */
export function fmtDuration(ms) {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** shortHash abbreviates a hex hash. */
export const shortHash = (h) => (h ? `${h.slice(0, 12)}…` : '');

/** badge is a colored badge for a work-order or member state. */
export function badge(state) {
  return el('span', { class: `badge s-${state || 'unknown'}` }, state || 'unknown');
}

/**
 * refresher wraps an async function so that calls coalesce: at most one
 * run is in flight, runs start at least minMs apart, and a call made
 * during a run causes exactly one more run after it.
 */
export function refresher(fn, minMs) {
  let running = false;
  let pending = false;
  let last = 0;
  let timer = null;
  const run = async () => {
    timer = null;
    running = true;
    pending = false;
    last = Date.now();
    try {
      await fn();
    } catch (e) {
      console.warn('refresh failed', e);
    } finally {
      running = false;
      if (pending) schedule();
    }
  };
  const schedule = () => {
    if (running) {
      pending = true;
      return;
    }
    if (timer) return;
    timer = setTimeout(run, Math.max(0, last + minMs - Date.now()));
  };
  return schedule;
}
