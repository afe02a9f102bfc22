// detail.js: one work order: its fields, its dependency graph and its
// receipts.
import { getJSON, HTTPError } from './api.js';
import { $, badge, el, fmtDuration, fmtTime, replace, shortHash } from './dom.js';
import { collectGraph, drawGraph } from './graph.js';

const maxReceipts = 200;

/** Detail shows the selected work order. */
export class Detail {
  constructor(onSelect) {
    this.onSelect = onSelect;
    this.id = '';
    this.related = new Set(); // the ids drawn in the graph
  }

  /** concerns reports whether a change to work order id changes the view. */
  concerns(id) {
    return this.id !== '' && (id === this.id || this.related.has(id));
  }

  async refresh() {
    const id = this.id;
    if (!id) return;
    let wo;
    try {
      wo = await getJSON(`/v1/workorders/${encodeURIComponent(id)}`);
    } catch (e) {
      if (id !== this.id) return;
      const msg = e instanceof HTTPError && e.status === 404 ? `${id}: no such work order.` : `${id}: ${e.message}`;
      replace($('detail-body'), el('p', { class: 'error' }, msg));
      return;
    }
    const [graph, receipts] = await Promise.all([
      collectGraph(wo),
      getJSON('/v1/receipts', { workorder: id, limit: maxReceipts }).catch(() => ({ receipts: [] })),
    ]);
    if (id !== this.id) return; // another work order was selected meanwhile
    this.related = new Set(graph.nodes.keys());
    replace($('detail-body'),
      el('div', { class: 'detail-head', dataset: { id: wo.id, state: wo.state } },
        el('span', { class: 'mono big' }, wo.id), ' ', badge(wo.state), ' ', el('strong', {}, wo.title)),
      fields(wo),
      el('h3', {}, 'Dependencies'),
      graph.nodes.size > 1
        ? el('div', { class: 'graph-wrap' }, drawGraph(graph, wo.id, this.onSelect),
          graph.truncated ? el('p', { class: 'muted small' }, 'graph truncated') : null)
        : el('p', { class: 'muted' }, 'No dependencies.'),
      el('h3', {}, `Receipts (${receipts.receipts.length})`),
      receiptTable(receipts.receipts || []));
  }
}

function fields(wo) {
  const now = Date.now();
  const rows = [
    ['description', wo.description],
    ['type', wo.type],
    ['bucket', wo.bucket],
    ['priority', wo.priority],
    ['stage', wo.stage],
    ['labels', (wo.labels || []).join(', ')],
    ['signal', wo.signal],
    ['attempt', String(wo.attempt)],
    ['assignee', [wo.node, wo.agent].filter(Boolean).join(' / ')],
    ['progress', wo.progress],
    ['blocked', wo.blocked_reason],
    ['parent', wo.parent],
    ['children', (wo.children || []).join(', ')],
    ['depends on', (wo.depends_on || []).join(', ')],
    ['dependents', (wo.dependents || []).join(', ')],
    ['created', fmtTime(wo.created_at)],
    ['updated', fmtTime(wo.updated_at)],
    ['started', fmtTime(wo.started_at)],
    ['completed', fmtTime(wo.completed_at)],
    ['deadline', wo.deadline ? `${fmtTime(wo.deadline)} (${deadlineText(new Date(wo.deadline).getTime() - now)})` : ''],
    ['effort', wo.effort ? fmtDuration(wo.effort * 1000) : ''],
    ['result', wo.result ? resultText(wo.result) : ''],
    ['index', `created ${wo.create_index}, modified ${wo.modify_index}`],
  ];
  return el('dl', { class: 'fields' }, rows.filter(([, v]) => v).map(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}

function deadlineText(ms) {
  return ms < 0 ? `${fmtDuration(ms)} overdue` : `in ${fmtDuration(ms)}`;
}

function resultText(r) {
  const parts = [`exit ${r.exit_code}`];
  if (r.artifact) parts.push(`artifact ${r.artifact}`);
  if (r.outputs) parts.push(Object.entries(r.outputs).map(([k, v]) => `${k}=${v}`).join(' '));
  return parts.join(', ');
}

/** receiptTable lists the work order's receipts. */
function receiptTable(rs) {
  if (rs.length === 0) return el('p', { class: 'muted' }, 'No receipts.');
  return el('table', { class: 'list' },
    el('thead', {}, el('tr', {}, ['seq', 'time', 'event', 'from → to', 'node', 'hash'].map((h) => el('th', {}, h)))),
    el('tbody', {}, rs.map((r) => receiptRow(r))));
}

/**
 * receiptRow is the table row of a receipt: seq, time, event, from → to,
 * node and hash, with the cell workorderCell (if any) after the time;
 * shared with the receipt search.
 */
export function receiptRow(r, workorderCell = null) {
  return el('tr', { dataset: { seq: r.seq } },
    el('td', {}, r.seq), el('td', {}, fmtTime(r.time)), workorderCell, el('td', {}, r.event),
    el('td', {}, transition(r)), el('td', {}, r.node), el('td', { class: 'mono', title: r.hash }, shortHash(r.hash)));
}

/** transition shows "from → to" of a receipt. */
function transition(r) {
  return r.from || r.to ? `${r.from || '∅'} → ${r.to || '∅'}` : '';
}
