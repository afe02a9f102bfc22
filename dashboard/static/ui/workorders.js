// workorders.js: the work-order list, paged on the server (limit and the
// after cursor of GET /v1/workorders), so only one page is ever in the
// DOM whatever the number of work orders.
import { getJSON } from './api.js';
import { $, badge, el, fmtTime, replace } from './dom.js';

/** pageSize is how many rows one page shows. */
export const pageSize = 50;

/** WorkOrderList is the paged list with its filters. */
export class WorkOrderList {
  constructor(onSelect) {
    this.onSelect = onSelect;
    this.filters = {};
    this.cursors = ['']; // cursors[i] is the after of page i
    this.page = 0;
    this.next = '';
    this.selected = '';
    this.total = null;
    const form = $('wo-filter');
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const f = Object.fromEntries(new FormData(form));
      const id = (f.id || '').trim();
      delete f.id;
      if (id) this.onSelect(/^\d+$/.test(id) ? `WO-${id}` : id);
      this.filters = f;
      this.first();
    });
    $('wo-first').addEventListener('click', () => this.first());
    $('wo-prev').addEventListener('click', () => this.go(this.page - 1));
    $('wo-next').addEventListener('click', () => {
      if (!this.next) return;
      this.cursors[this.page + 1] = this.next;
      this.go(this.page + 1);
    });
  }

  first() {
    this.cursors = [''];
    this.go(0);
  }

  go(page) {
    if (page < 0 || page >= this.cursors.length) return;
    this.page = page;
    this.cursors.length = page + 1;
    this.refresh().catch((e) => console.warn(e));
  }

  /** select marks the row of id. */
  select(id) {
    this.selected = id;
    for (const tr of $('wo-rows').children) tr.classList.toggle('selected', tr.dataset.id === id);
  }

  /** refresh reloads the current page. */
  async refresh() {
    const page = this.page;
    const list = await getJSON('/v1/workorders', { ...this.filters, limit: pageSize, after: this.cursors[page] });
    if (page !== this.page) return; // a newer navigation won
    const wos = list.workorders || [];
    this.next = list.next || '';
    replace($('wo-rows'), wos.length ? wos.map((wo) => this.row(wo))
      : el('tr', {}, el('td', { colspan: 8, class: 'muted' }, 'No work orders.')));
    $('wo-prev').disabled = page === 0;
    $('wo-first').disabled = page === 0;
    $('wo-next').disabled = !this.next;
    const from = page * pageSize + 1;
    const of = this.total !== null && Object.values(this.filters).every((v) => !v) ? ` of ${this.total}` : '';
    $('wo-page').textContent = wos.length ? `page ${page + 1} · ${from}–${from + wos.length - 1}${of}` : `page ${page + 1}`;
  }

  row(wo) {
    return el('tr', {
      dataset: { id: wo.id, state: wo.state },
      class: wo.id === this.selected ? 'selected clickable' : 'clickable',
      onclick: () => this.onSelect(wo.id),
    },
    el('td', { class: 'mono' }, wo.id),
    el('td', { class: 'title' }, wo.title),
    el('td', {}, badge(wo.state)),
    el('td', {}, wo.stage || ''),
    el('td', {}, wo.bucket),
    el('td', { class: `p-${wo.priority}` }, wo.priority),
    el('td', {}, wo.node || ''),
    el('td', {}, fmtTime(wo.deadline)));
  }
}
