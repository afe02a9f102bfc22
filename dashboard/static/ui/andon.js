// andon.js: the andon status: the open andon cords (GET /v1/andon
// lists only the open ones by default).
import { getJSON } from './api.js';
import { $, el, fmtTime, replace } from './dom.js';

/** refreshAndon reads /v1/andon and redraws the panel. */
export async function refreshAndon() {
  const body = await getJSON('/v1/andon');
  const cords = (body && body.andons) || [];
  if (cords.length === 0) {
    show('none', el('span', { class: 'ok' }, 'no andon'), el('span', { class: 'muted' }, ' (the line is running)'));
    return;
  }
  show('pulled', el('p', { class: 'error' }, `${cords.length} andon cord${cords.length > 1 ? 's' : ''} pulled`),
    el('ul', { class: 'andon-list' }, cords.map((c) => el('li', {}, describe(c)))));
}

function show(state, ...children) {
  $('andon').dataset.andon = state;
  replace($('andon-body'), ...children);
}

function describe(c) {
  if (!c || typeof c !== 'object') return String(c);
  const parts = [];
  const fields = [['id', 'id'], ['line_name', 'stops'], ['work_order', 'work order'],
    ['fix_work_order', 'fix'], ['class', 'class'], ['reason', 'reason'], ['root_cause', 'root cause']];
  for (const [k, label] of fields) {
    if (c[k]) parts.push(`${label}: ${c[k]}`);
  }
  const t = c.triggered_at;
  if (t) parts.push(`since ${fmtTime(t)}`);
  return parts.join(' · ') || JSON.stringify(c);
}
