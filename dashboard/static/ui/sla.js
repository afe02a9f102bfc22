// sla.js: work orders near or past their deadline. It reads the
// unfinished work orders page by page per state (at most maxPerState
// each) and ranks those at risk by time left. The status follows the
// SLA events the cluster recorded: "breached" is past the deadline or
// with a breach recorded (sla_breached), "warning" has a warning
// recorded for its current deadline (sla_warned equals deadline).
import { getJSON } from './api.js';
import { $, badge, el, fmtDuration, fmtTime, replace } from './dom.js';

const states = ['blocked', 'queued', 'in_progress', 'review', 'testing'];
const maxPerState = 1000;
const shown = 25;

/** slaStatus classifies a work order against its deadline at now (ms). */
export function slaStatus(wo, now) {
  if (!wo.deadline) return null;
  const deadline = new Date(wo.deadline).getTime();
  const left = deadline - now;
  if (left < 0 || wo.sla_breached) return { status: 'breached', left };
  if (wo.sla_warned && new Date(wo.sla_warned).getTime() === deadline) return { status: 'warning', left };
  return { status: 'on_time', left };
}

/** refreshSLA reads the unfinished work orders and redraws the panel. */
export async function refreshSLA(onSelect) {
  const pages = await Promise.all(states.map((state) => getJSON('/v1/workorders', { state, limit: maxPerState })));
  const now = Date.now();
  let scanned = 0;
  let truncated = false;
  const risky = [];
  for (const p of pages) {
    const wos = p.workorders || [];
    scanned += wos.length;
    if (p.next) truncated = true;
    for (const wo of wos) {
      const s = slaStatus(wo, now);
      if (s && s.status !== 'on_time') risky.push({ wo, ...s });
    }
  }
  risky.sort((a, b) => a.left - b.left);
  const breached = risky.filter((r) => r.status === 'breached').length;
  $('sla-note').textContent = `(${scanned} unfinished scanned${truncated ? `, first ${maxPerState} per state` : ''})`;
  $('sla').dataset.breached = breached;
  if (risky.length === 0) {
    replace($('sla-body'), el('span', { class: 'ok' }, 'All unfinished work is on time.'));
    return;
  }
  replace($('sla-body'),
    el('p', {}, el('span', { class: 'error' }, `${breached} breached`), `, ${risky.length - breached} at risk`),
    el('table', { class: 'list' },
      el('thead', {}, el('tr', {}, ['id', 'title', 'state', 'bucket', 'deadline', 'SLA'].map((h) => el('th', {}, h)))),
      el('tbody', {}, risky.slice(0, shown).map((r) => el('tr', {
        class: `clickable sla-${r.status}`, dataset: { id: r.wo.id, sla: r.status }, onclick: () => onSelect(r.wo.id),
      },
      el('td', { class: 'mono' }, r.wo.id), el('td', { class: 'title' }, r.wo.title), el('td', {}, badge(r.wo.state)),
      el('td', {}, r.wo.bucket), el('td', {}, fmtTime(r.wo.deadline)),
      el('td', {}, r.left < 0 ? `${fmtDuration(r.left)} overdue` : `${fmtDuration(r.left)} left`))))),
    risky.length > shown ? el('p', { class: 'muted small' }, `+${risky.length - shown} more`) : null);
}
