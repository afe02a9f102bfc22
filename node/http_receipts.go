package node

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/fsm"
)

// exportPage is how many receipts the export reads from the view at a
// time, so an export of any size holds a bounded number in memory.
const exportPage = 512

// listReceipts handles GET /v1/receipts.
func (s *httpServer) listReceipts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	rq, err := parseReceiptQuery(q)
	if err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	v := s.view(w, r)
	if v == nil {
		return
	}
	rs := v.Receipts(rq)
	out := &api.ReceiptList{Receipts: make([]*api.Receipt, 0, len(rs)), Index: v.Index()}
	for _, rc := range rs {
		out.Receipts = append(out.Receipts, receiptToAPI(rc))
	}
	writeJSON(w, http.StatusOK, out)
}

// parseReceiptQuery reads the filters of GET /v1/receipts.
func parseReceiptQuery(q url.Values) (fsm.ReceiptQuery, error) {
	var rq fsm.ReceiptQuery
	if err := checkQuery(q, "workorder", "hash", "since", "until", "from", "to", "limit", "stale"); err != nil {
		return rq, err
	}
	rq.WorkOrder = q.Get("workorder")
	var err error
	if h := q.Get("hash"); h != "" {
		if rq.Hash, err = parseHashParam("hash", h); err != nil {
			return rq, err
		}
	}
	if s := q.Get("since"); s != "" {
		if rq.Since, err = parseTimeParam("since", s); err != nil {
			return rq, err
		}
	}
	if s := q.Get("until"); s != "" {
		if rq.Until, err = parseTimeParam("until", s); err != nil {
			return rq, err
		}
	}
	if rq.Since != 0 && rq.Until != 0 && rq.Until < rq.Since {
		return rq, invalidArg("until: before since")
	}
	if rq.FromSeq, rq.ToSeq, err = parseSeqRange(q); err != nil {
		return rq, err
	}
	rq.Limit, err = parseLimit(q, defaultReceiptLimit, maxReceiptLimit)
	return rq, err
}

// parseSeqRange reads ?from= and ?to= receipt sequence numbers (0: open).
func parseSeqRange(q url.Values) (from, to uint64, err error) {
	if from, err = parseUintParam(q, "from"); err != nil {
		return 0, 0, err
	}
	if to, err = parseUintParam(q, "to"); err != nil {
		return 0, 0, err
	}
	if to != 0 && to < from {
		return 0, 0, invalidArg("to: %d is before from %d", to, from)
	}
	return from, to, nil
}

// getReceipt handles GET /v1/receipts/{seq}.
func (s *httpServer) getReceipt(w http.ResponseWriter, r *http.Request) {
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil || seq == 0 {
		writeAPIError(w, invalidArg("seq: want a receipt sequence number (1, 2, ...), got %q", r.PathValue("seq")))
		return
	}
	v := s.view(w, r)
	if v == nil {
		return
	}
	rc, err := v.Receipt(seq)
	if err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	writeJSON(w, http.StatusOK, receiptToAPI(rc))
}

// verifyReceipts handles GET /v1/receipts/verify. A broken chain is still
// a 200 answer, with ok false and where it breaks.
func (s *httpServer) verifyReceipts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := checkQuery(q, "from", "to", "stale"); err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	from, to, err := parseSeqRange(q)
	if err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	v := s.view(w, r)
	if v == nil {
		return
	}
	res := v.Verify(from, to)
	writeJSON(w, http.StatusOK, &api.VerifyReport{
		OK: res.OK, From: res.From, To: res.To, Checked: res.Checked,
		Head: hashHex(res.Head), BrokenAt: res.BrokenAt, Problem: res.Problem,
		NodeIndex: v.Index(),
	})
}

// exportReceipts handles GET /v1/receipts/export: JSON Lines, one Receipt
// per line in sequence order, read from one consistent view a page at a
// time.
func (s *httpServer) exportReceipts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := checkQuery(q, "from", "to", "stale"); err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	from, to, err := parseSeqRange(q)
	if err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	v := s.view(w, r)
	if v == nil {
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	next := max(from, 1)
	n := 0
	for {
		if err := r.Context().Err(); err != nil {
			return
		}
		start := next
		page := v.Receipts(fsm.ReceiptQuery{FromSeq: next, ToSeq: to, Limit: exportPage})
		for _, rec := range page {
			if err := enc.Encode(receiptToAPI(rec)); err != nil {
				s.logger.Debug("receipt export aborted", "error", err, "written", n)
				return
			}
			n++
			next = rec.Seq + 1
		}
		if err := bw.Flush(); err != nil {
			s.logger.Debug("receipt export aborted", "error", err, "written", n)
			return
		}
		if len(page) < exportPage || next <= start || (to != 0 && next > to) {
			break
		}
		// A long export keeps extending its own write deadline.
		_ = rc.SetWriteDeadline(time.Now().Add(httpWriteTimeout))
		_ = rc.Flush()
	}
	_ = rc.Flush()
}
