// kanban.js: the board of unfinished work, a column per stage with its
// WIP (in flight against the limit) and a lane per state. The API lists
// at most `perLane` cards per lane and counts all of them, so the board
// stays small however many work orders there are.
import { getJSON } from './api.js';
import { $, el, replace } from './dom.js';

const perLane = 12;

/** refreshKanban reads /v1/kanban and redraws the board. */
export async function refreshKanban(onSelect) {
  const board = await getJSON('/v1/kanban', { limit: perLane });
  const cols = board.columns || [];
  if (cols.length === 0) {
    replace($('kanban-body'), el('p', { class: 'muted' }, 'No unfinished work.'));
    $('kanban-note').textContent = '';
    return;
  }
  replace($('kanban-body'), cols.map((c) => column(c, board.states || [], onSelect)));
  $('kanban-note').textContent = `(raft index ${board.index}, up to ${perLane} cards per lane)`;
}

function column(c, states, onSelect) {
  const stage = c.stage || '(none)';
  const full = c.limit > 0 && c.in_flight >= c.limit;
  const wip = c.limit > 0 ? `${c.in_flight} / ${c.limit}` : `${c.in_flight} / ∞`;
  return el('div', { class: `column${full ? ' wip-full' : ''}`, dataset: { stage } },
    el('div', { class: 'column-head' },
      el('span', { class: 'stage-name' }, stage),
      el('span', { class: 'wip', title: 'in flight / WIP limit', dataset: { inFlight: c.in_flight, limit: c.limit } }, `WIP ${wip}`)),
    states.map((st) => lane(st, c, onSelect)));
}

function lane(st, c, onSelect) {
  const cards = (c.workorders && c.workorders[st]) || [];
  const count = (c.counts && c.counts[st]) || 0;
  if (count === 0) return null;
  return el('div', { class: 'lane', dataset: { state: st } },
    el('div', { class: 'lane-head' }, `${st.replace('_', ' ')} `, el('span', { class: 'count' }, count)),
    cards.map((wo) => el('button', {
      type: 'button', class: `card p-${wo.priority}`, dataset: { id: wo.id, state: wo.state },
      title: wo.title, onclick: () => onSelect(wo.id),
    }, el('span', { class: 'card-id' }, wo.id), ' ', wo.title)),
    count > cards.length ? el('div', { class: 'more muted' }, `+${count - cards.length} more`) : null);
}
