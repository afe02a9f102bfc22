// members.js: the swarm's nodes with gossip health, raft role, agent
// types and load.
import { getJSON } from './api.js';
import { $, badge, el, replace } from './dom.js';

/** refreshMembers reads /v1/members and redraws the table. */
export async function refreshMembers() {
  const list = await getJSON('/v1/members');
  const ms = (list.members || []).slice().sort((a, b) => a.name.localeCompare(b.name));
  replace($('member-rows'), ms.length ? ms.map(row)
    : el('tr', {}, el('td', { colspan: 6, class: 'muted' }, 'No members known.')));
}

function row(m) {
  const types = (m.agent_types || []).map((a) => `${a.type} ${a.running}/${a.capacity}`).join(', ');
  const status = m.status === 'dead' ? 'failed' : m.status;
  return el('tr', { dataset: { member: m.name, status: m.status, role: m.raft_role } },
    el('td', { class: 'mono' }, m.name, m.leader ? el('span', { class: 'leader', title: 'raft leader' }, ' ★') : null),
    el('td', {}, el('span', { class: `badge s-${m.status}` }, status)),
    el('td', {}, badge(m.raft_role)),
    el('td', {}, types || el('span', { class: 'muted' }, 'none')),
    el('td', {}, loadBar(m.load)),
    el('td', { class: 'mono small' }, m.http_addr || ''));
}

function loadBar(load) {
  const v = Number(load) || 0;
  const pct = Math.min(100, v * 100); // load is the share of slots in use, 0..1
  return el('span', { class: 'load', title: 'share of agent slots in use' },
    el('meter', { min: 0, max: 100, value: pct }), ` ${v.toFixed(2)}`);
}
