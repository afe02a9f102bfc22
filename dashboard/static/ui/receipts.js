// receipts.js: receipt search (by work order, hash, time) and chain
// verification.
import { getJSON } from './api.js';
import { receiptRow } from './detail.js';
import { $, el, replace, shortHash } from './dom.js';

const limit = 100;

/** Receipts is the search form, its results and the verify button. */
export class Receipts {
  constructor(onSelect) {
    this.onSelect = onSelect;
    this.params = null; // null: the latest receipts
    const form = $('receipt-search');
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const f = Object.fromEntries(new FormData(form));
      for (const k of Object.keys(f)) f[k] = f[k].trim();
      this.params = Object.values(f).some(Boolean) ? f : null;
      this.refresh().catch((e) => this.error(e));
    });
    $('receipt-verify').addEventListener('click', () => this.verify());
  }

  error(e) {
    replace($('receipt-rows'), el('tr', {}, el('td', { colspan: 7, class: 'error' }, e.message)));
  }

  /** refresh runs the search, or lists the latest receipts. */
  async refresh() {
    let params = this.params;
    if (!params) {
      const st = await getJSON('/v1/status');
      params = { from: Math.max(1, (st.receipts || 0) - limit + 1) };
    }
    const list = await getJSON('/v1/receipts', { ...params, limit });
    const rs = (list.receipts || []).slice().reverse(); // newest first
    replace($('receipt-rows'), rs.length ? rs.map((r) => receiptRow(r,
      el('td', {}, r.workorder ? el('a', { href: '#', onclick: (ev) => { ev.preventDefault(); this.onSelect(r.workorder); } }, r.workorder) : '')))
      : el('tr', {}, el('td', { colspan: 7, class: 'muted' }, 'No receipts match.')));
  }

  /** verify checks the whole chain on this node. */
  async verify() {
    const out = $('verify-result');
    out.className = 'muted';
    out.textContent = 'verifying…';
    delete out.dataset.ok;
    try {
      const rep = await getJSON('/v1/receipts/verify');
      out.dataset.ok = String(rep.ok);
      if (rep.ok) {
        out.className = 'ok';
        out.textContent = `Chain OK: ${rep.checked} receipts checked (${rep.from}–${rep.to}), head ${shortHash(rep.head)}.`;
      } else {
        out.className = 'error';
        out.textContent = `Chain BROKEN at receipt ${rep.broken_at}: ${rep.problem}`;
      }
    } catch (e) {
      out.className = 'error';
      out.textContent = `Verification failed: ${e.message}`;
    }
  }
}
