// app.js: wires the panels to the API, the polls and the live stream.
import { fetchJSON, getJSON } from './api.js';
import { $, el, fmtTime, refresher } from './dom.js';
import { refreshAndon } from './andon.js';
import { Detail } from './detail.js';
import { refreshKanban } from './kanban.js';
import { refreshMembers } from './members.js';
import { Receipts } from './receipts.js';
import { refreshSLA } from './sla.js';
import { openStream } from './stream.js';
import { WorkOrderList } from './workorders.js';

const maxLogLines = 100;

const problems = { health: '', stream: '' };
let streamUp = false;
let everUp = false; // the stream has been up before

function select(id) {
  detail.id = id;
  list.select(id);
  refreshDetail();
  $('detail').scrollIntoView({ block: 'nearest', behavior: 'smooth' });
}

const list = new WorkOrderList(select);
const detail = new Detail(select);
const receipts = new Receipts(select);

const refreshList = refresher(() => list.refresh(), 1000);
const refreshDetail = refresher(() => detail.refresh(), 500);
const refreshBoard = refresher(() => refreshKanban(select), 1000);
const refreshMemberTable = refresher(refreshMembers, 1000);
const refreshAndonPanel = refresher(refreshAndon, 2000);
const refreshSLAPanel = refresher(() => refreshSLA(select), 10000);
const refreshReceipts = refresher(() => receipts.params ? Promise.resolve() : receipts.refresh(), 2000);
const refreshTotals = refresher(totals, 1000);
const refreshHealth = refresher(health, 1000);

function banner() {
  const msgs = [problems.health, problems.stream].filter(Boolean);
  const b = $('banner');
  b.hidden = msgs.length === 0;
  b.textContent = msgs.join(' — ');
  document.body.classList.toggle('degraded', msgs.length > 0);
}

// health reads /api/health (503 with a body when not ready) and returns
// its body, or null when the node cannot be reached.
async function health() {
  let res;
  try {
    res = await fetchJSON('/api/health');
  } catch {
    problems.health = 'Cannot reach this node: the data shown may be out of date.';
    banner();
    return null;
  }
  const h = res.body;
  if (!h || !h.raft) {
    problems.health = `This node answers /api/health with HTTP ${res.status}.`;
  } else if (!h.ready) {
    problems.health = `This node has lost the cluster (${(h.reasons || ['not ready']).join('; ')}): showing its last known state.`;
  } else {
    problems.health = '';
  }
  if (h && h.raft) {
    const leader = h.raft.leader ? `leader ${h.raft.leader}` : 'no leader';
    $('node-info').textContent = `node ${h.node} · ${h.raft.state} · ${leader} · term ${h.raft.term} · applied ${h.raft.applied_index}`;
  }
  banner();
  return h;
}

async function totals() {
  const s = await getJSON('/api/metrics/summary', {}, { stale: false });
  list.total = s.workorders.total;
  const by = s.workorders.by_state || {};
  const parts = Object.keys(by).sort().map((k) => el('span', { class: `badge s-${k}` }, `${k} ${by[k]}`));
  $('totals').replaceChildren(el('span', {}, `${s.workorders.total} work orders `), ...parts);
}

function logEvent(ev) {
  const log = $('event-log');
  const what = ev.workorder ? `${ev.workorder} ${ev.from || ''}${ev.to ? ` → ${ev.to}` : ''}`
    : ev.member ? `${ev.member} ${ev.status || ''}` : ev.topic === 'leader' ? `leader ${ev.leader || 'none'}` : ev.code || ev.reason || '';
  log.prepend(el('li', { dataset: { type: ev.type } },
    el('span', { class: 'muted small' }, fmtTime(ev.time) || ''), ' ', el('strong', {}, ev.type), ' ', what));
  while (log.children.length > maxLogLines) log.lastChild.remove();
}

function onEvent(ev) {
  logEvent(ev);
  if (ev.receipt) { // one event per receipt, of a work order or not
    refreshList();
    refreshBoard();
    refreshTotals();
    refreshReceipts();
    if (ev.workorder && detail.concerns(ev.workorder)) refreshDetail();
  }
  switch (ev.topic) {
    case 'workorder':
    case 'receipt':
    case 'sla':
      refreshSLAPanel();
      break;
    case 'member':
    case 'leader':
      refreshMemberTable();
      refreshHealth();
      break;
    case 'andon':
      refreshAndonPanel();
      break;
    default: // gap: some events were missed; cutoff: the stream ends
      if (ev.type === 'gap') refreshAll();
  }
}

function onStreamState(up, why) {
  streamUp = up;
  const live = $('live');
  live.textContent = up ? 'live' : 'offline';
  live.className = up ? 'pill pill-ok' : 'pill pill-bad';
  problems.stream = up ? '' : `Live updates stopped: ${why}.`;
  banner();
  if (up && everUp) refreshAll(); // back after a break: catch up on what happened meanwhile
  everUp = everUp || up;
}

function refreshAll() {
  refreshHealth();
  refreshPanels();
}

// refreshPanels redraws every panel but the node's health.
function refreshPanels() {
  refreshTotals();
  refreshBoard();
  refreshList();
  refreshDetail();
  refreshMemberTable();
  refreshAndonPanel();
  refreshSLAPanel();
  refreshReceipts();
}

// start reads the node's health, then loads every panel once and
// follows the stream from the applied index the health reported: the
// panels show that index or a later one, and every event after it
// arrives, so nothing is missed and nothing is fetched twice. When the
// node is unreachable the stream starts at the present, and reports the
// outage.
async function start() {
  const h = await health();
  refreshPanels();
  openStream(onEvent, onStreamState, h && h.raft ? String(h.raft.applied_index) : '');
}

start();
setInterval(refreshHealth, 2000);
setInterval(refreshMemberTable, 3000);
setInterval(() => {
  refreshTotals();
  refreshAndonPanel();
  if (!streamUp) refreshAll(); // no events: poll instead
}, 10000);
setInterval(refreshSLAPanel, 30000);
setInterval(refreshBoard, 15000);
