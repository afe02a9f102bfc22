// graph.js: the dependency graph of a work order as inline SVG. The
// graph holds the work order, what it depends on (upstream, to the left)
// and what depends on it (downstream, to the right), a few levels each
// way and a bounded number of nodes.
import { getJSON } from './api.js';

const svgNS = 'http://www.w3.org/2000/svg';
const maxDepth = 3;
const maxNodes = 40;
const colW = 170;
const rowH = 46;
const boxW = 140;
const boxH = 32;

/**
 * collectGraph walks dependencies from root (already fetched) breadth
 * first and returns {nodes: Map id -> {wo, level}, edges: [[dep, dependent]], truncated}.
 */
export async function collectGraph(root) {
  const nodes = new Map([[root.id, { wo: root, level: 0 }]]);
  const edges = new Set();
  let truncated = false;
  let frontier = [root];
  for (let depth = 1; depth <= maxDepth && frontier.length; depth++) {
    const want = [];
    for (const wo of frontier) {
      const lvl = nodes.get(wo.id).level;
      for (const d of wo.depends_on || []) {
        edges.add(`${d}\u0000${wo.id}`);
        if (lvl <= 0) want.push([d, lvl - 1]);
      }
      for (const d of wo.dependents || []) {
        edges.add(`${wo.id}\u0000${d}`);
        if (lvl >= 0) want.push([d, lvl + 1]);
      }
    }
    const fresh = [];
    for (const [id, level] of want) {
      if (nodes.has(id)) continue;
      if (nodes.size >= maxNodes) {
        truncated = true;
        break;
      }
      nodes.set(id, { wo: null, level });
      fresh.push(id);
    }
    const got = await Promise.all(fresh.map((id) => getJSON(`/v1/workorders/${encodeURIComponent(id)}`).catch(() => null)));
    frontier = [];
    got.forEach((wo, i) => {
      const n = nodes.get(fresh[i]);
      n.wo = wo || { id: fresh[i], title: '(unavailable)', state: 'unknown' };
      if (wo) frontier.push(wo);
    });
  }
  const list = [...edges].map((e) => e.split('\u0000')).filter(([a, b]) => nodes.has(a) && nodes.has(b));
  return { nodes, edges: list, truncated };
}

function svg(tag, attrs, text) {
  const e = document.createElementNS(svgNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** drawGraph lays the graph out in columns by level and returns an <svg>. */
export function drawGraph(g, rootId, onSelect) {
  const byLevel = new Map();
  for (const [id, n] of g.nodes) {
    if (!byLevel.has(n.level)) byLevel.set(n.level, []);
    byLevel.get(n.level).push(id);
  }
  const levels = [...byLevel.keys()].sort((a, b) => a - b);
  const minLevel = levels[0];
  const rows = Math.max(...[...byLevel.values()].map((l) => l.length));
  const pos = new Map();
  for (const lvl of levels) {
    const ids = byLevel.get(lvl).sort((a, b) => idNum(a) - idNum(b));
    const off = (rows - ids.length) * rowH / 2;
    ids.forEach((id, i) => pos.set(id, { x: 10 + (lvl - minLevel) * colW, y: 10 + off + i * rowH }));
  }
  const width = 20 + (levels.length - 1) * colW + boxW;
  const height = 20 + (rows - 1) * rowH + boxH;
  const root = svg('svg', { class: 'graph', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `dependency graph of ${rootId}` });
  const defs = svg('defs', {});
  const marker = svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
  marker.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow' }));
  defs.append(marker);
  root.append(defs);
  for (const [from, to] of g.edges) {
    const a = pos.get(from);
    const b = pos.get(to);
    const x1 = a.x + boxW;
    const y1 = a.y + boxH / 2;
    const x2 = b.x;
    const y2 = b.y + boxH / 2;
    const mx = (x1 + x2) / 2;
    root.append(svg('path', {
      class: 'edge', d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`, 'marker-end': 'url(#arrow)',
      'data-from': from, 'data-to': to,
    }));
  }
  for (const [id, n] of g.nodes) {
    const p = pos.get(id);
    const grp = svg('g', { class: `gnode s-${n.wo.state}${id === rootId ? ' root' : ''}`, transform: `translate(${p.x},${p.y})`, 'data-id': id });
    grp.append(svg('title', {}, `${id} ${n.wo.title} (${n.wo.state})`));
    grp.append(svg('rect', { width: boxW, height: boxH, rx: 5 }));
    grp.append(svg('text', { x: 6, y: 13, class: 'gid' }, `${id} · ${n.wo.state}`));
    grp.append(svg('text', { x: 6, y: 27, class: 'gtitle' }, clip(n.wo.title || '', 22)));
    if (id !== rootId) grp.addEventListener('click', () => onSelect(id));
    root.append(grp);
  }
  return root;
}

function idNum(id) {
  const n = Number(String(id).replace(/^WO-/, ''));
  return Number.isFinite(n) ? n : 0;
}

function clip(s, n) {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
