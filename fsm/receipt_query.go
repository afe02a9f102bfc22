package fsm

import (
	"encoding/binary"
	"encoding/hex"
	"strings"
)

// ReceiptQuery selects receipts for View.Receipts. Zero fields match
// everything; the result is in Seq order.
type ReceiptQuery struct {
	WorkOrder string // receipts of this work order
	Hash      string // hex, the full hash or a prefix of at least 8 characters
	Since     int64  // Time ≥ Since (Unix ns)
	Until     int64  // Time < Until (Unix ns); 0 for no bound
	FromSeq   uint64 // Seq ≥ FromSeq
	ToSeq     uint64 // Seq ≤ ToSeq; 0 for no bound
	Limit     int    // default 1000, at most 100000
}

// Receipt query limits.
const (
	DefaultReceiptLimit = 1000
	MaxReceiptLimit     = 100_000
	MinHashPrefix       = 8
)

func (q *ReceiptQuery) match(r *Receipt) bool {
	return r.Time >= q.Since && (q.Until == 0 || r.Time < q.Until) &&
		r.Seq >= q.FromSeq && (q.ToSeq == 0 || r.Seq <= q.ToSeq) &&
		(q.WorkOrder == "" || r.WorkOrder == q.WorkOrder)
}

// Receipts returns the receipts matching q in Seq order, at most Limit. A
// malformed Hash (not hex, or shorter than 8 characters) matches nothing.
// Receipt times never decrease along the chain (they are state-clock
// times), so Since and Until are cheap.
func (v *View) Receipts(q ReceiptQuery) []*Receipt {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultReceiptLimit
	}
	if limit > MaxReceiptLimit {
		limit = MaxReceiptLimit
	}
	var out []*Receipt
	add := func(r *Receipt) bool {
		if q.ToSeq != 0 && r.Seq > q.ToSeq || q.Until != 0 && r.Time >= q.Until {
			return false
		}
		if q.match(r) {
			out = append(out, r)
		}
		return len(out) < limit
	}
	switch {
	case q.Hash != "":
		prefix := strings.ToLower(q.Hash)
		if len(prefix) < MinHashPrefix || len(prefix) > 64 {
			return nil
		}
		if strings.Trim(prefix, "0123456789abcdef") != "" {
			return nil
		}
		raw, _ := hex.DecodeString(prefix[:8])
		top := binary.BigEndian.Uint32(raw)
		var hits []*Receipt
		for _, k := range v.s.rcptByH.prefix32(top) {
			if r := v.s.getReceipt(k.seq); strings.HasPrefix(hex.EncodeToString(r.Hash[:]), prefix) {
				hits = append(hits, r)
			}
		}
		for _, r := range hits {
			if q.match(r) && len(out) < limit {
				out = append(out, r)
			}
		}
	case q.WorkOrder != "":
		wo, ok := ParseID(q.WorkOrder)
		if !ok {
			return nil
		}
		for _, seq := range v.s.woReceipts(wo, q.FromSeq) {
			if !add(v.s.getReceipt(seq)) {
				break
			}
		}
	default:
		from := q.FromSeq
		if q.Since != 0 {
			if s := v.firstAtOrAfter(q.Since); s > from {
				from = s
			}
		}
		v.s.receipts.ascend(from, add)
	}
	return out
}

// firstAtOrAfter returns the lowest seq whose Time ≥ t (count+1 if none),
// by binary search over the monotonic receipt times.
func (v *View) firstAtOrAfter(t int64) uint64 {
	lo, hi := uint64(1), v.s.rcptSeq+1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if v.s.getReceipt(mid).Time < t {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// Receipt returns the receipt with sequence number seq, or ErrNotFound.
func (v *View) Receipt(seq uint64) (*Receipt, error) {
	if r := v.s.getReceipt(seq); r != nil {
		return r, nil
	}
	return nil, Errorf(ErrNotFound, "receipt %d not found", seq)
}

// ReceiptCount returns the number of receipts (the last seq).
func (v *View) ReceiptCount() uint64 { return v.s.rcptSeq }

// ChainHead returns the hash of the last receipt (zero when there is none).
func (v *View) ChainHead() [32]byte { return v.s.head }

// VerifyResult reports a chain verification by View.Verify.
type VerifyResult struct {
	OK       bool
	From, To uint64   // the range checked
	Checked  uint64   // receipts that verified
	Head     [32]byte // hash of the last receipt that verified
	BrokenAt uint64   // seq of the first broken receipt, when !OK
	Problem  string
}

// Verify recomputes and checks receipts from..to (inclusive; from 0 means
// 1, to 0 means the last). The first receipt must link to the stored hash
// of receipt from-1 (zero for the first receipt of the chain).
func (v *View) Verify(from, to uint64) VerifyResult {
	n := v.s.rcptSeq
	if from == 0 {
		from = 1
	}
	if to == 0 || to > n {
		to = n
	}
	res := VerifyResult{From: from, To: to}
	if n == 0 {
		res.OK = true
		res.From, res.To = 0, 0
		return res
	}
	if from > to {
		res.BrokenAt = from
		res.Problem = "empty range: from is after to (or after the last receipt)"
		return res
	}
	cv := chainVerifier{nextSeq: from}
	if from > 1 {
		cv.prev = v.s.getReceipt(from - 1).Hash
	}
	res.Head = cv.prev
	v.s.receipts.ascend(from, func(r *Receipt) bool {
		if r.Seq > to {
			return false
		}
		if e := cv.check(r); e != nil {
			res.BrokenAt, res.Problem = e.Seq, e.Problem
			return false
		}
		return true
	})
	res.Checked, res.Head = cv.checked, cv.prev
	if res.Problem == "" && cv.checked != to-from+1 {
		res.BrokenAt, res.Problem = cv.nextSeq, "receipt missing"
	}
	res.OK = res.Problem == ""
	return res
}

// AttemptStart reports how attempt of work order id started, from its
// receipts, newest first and without copying them: assigned is true, with
// the node and agent type of the Assign, when the leader placed it, and
// false when it was started by hand (a start transition) or is unknown.
func (v *View) AttemptStart(id string, attempt uint64) (node, agent string, assigned bool) {
	wo, ok := ParseID(id)
	if !ok {
		return "", "", false
	}
	s := v.s
	for seq := s.lastRcpt.get(wo); seq != 0; seq = s.prevRcpt.get(seq) {
		// Receipts of other attempts (stale_rejected ones of older
		// attempts come after newer ones) are passed over.
		r := s.getReceipt(seq)
		if r.Attempt != attempt {
			continue
		}
		switch r.Event {
		case EventAssigned:
			return r.Node, r.Agent, true
		case EventStarted:
			return "", "", false
		}
	}
	return "", "", false
}

// AssignedByLeader reports whether wo's current attempt was started by an
// Assign (the leader's placement on an agent) rather than by hand (a start
// transition: whoever started it does the work), from its receipts.
func (v *View) AssignedByLeader(wo *WorkOrder) bool {
	_, _, assigned := v.AttemptStart(wo.ID, wo.Attempt)
	return assigned
}
