package fsm

import "hash/maphash"

// idemRecord remembers the outcome of a command that carried a request ID.
// It stores references, not copies: a replay returns the work order and
// memory entry as they are now, the receipts the first attempt appended,
// and the same error.
type idemRecord struct {
	RequestID    string
	Order        uint64 // position in the order records were made
	At           int64  // state clock when it was made
	Index        uint64 // raft index of the first attempt
	Type         MessageType
	WorkOrder    uint64 // Seq of Result.WorkOrder, 0 for none
	MemNamespace string // Result.Memory's namespace and key, "" for none
	MemKey       string
	FirstReceipt uint64 // Seq of the first receipt appended, with Receipts
	Receipts     uint64
	Count        int
	Err          *Error
	Andon        uint64 // Seq of Result.Andon, 0 for none
}

// remember stores the outcome of the command that first used requestID,
// whose idemHash is h.
func remember(s *state, cfg *Config, requestID string, h uint64, typ MessageType, res *Result) {
	s.idemSeq++
	rec := &idemRecord{
		RequestID: requestID,
		Order:     s.idemSeq,
		At:        s.clock,
		Index:     res.Index,
		Type:      typ,
		Count:     res.Count,
	}
	if res.WorkOrder != nil {
		rec.WorkOrder = res.WorkOrder.Seq
	}
	if res.Memory != nil {
		rec.MemNamespace, rec.MemKey = res.Memory.Namespace, res.Memory.Key
	}
	if res.Andon != nil {
		rec.Andon = res.Andon.Seq
	}
	if len(res.Receipts) > 0 {
		rec.FirstReceipt = res.Receipts[0].Seq
		rec.Receipts = uint64(len(res.Receipts))
	}
	if e, ok := res.Err.(*Error); ok && e != nil {
		rec.Err = e
	}
	s.putIdem(rec, h)
	if s.idem.Len() > cfg.IdempotencyMax {
		pruneIdempotency(s, cfg)
	}
}

// idemIndex finds idempotency records by request ID for Apply. Only Apply
// looks a request ID up, and only in the live state, so it needs no
// copy-on-write: it is plain maps that the live state owns and clones
// leave out. byHash is keyed by idemHash, so forgetting a record (usually
// made long ago) never reads its request ID again; the rare record whose
// hash another live record already holds goes to collided instead.
type idemIndex struct {
	byHash   map[uint64]*idemRecord
	collided map[string]*idemRecord
}

func newIdemIndex() *idemIndex {
	return &idemIndex{byHash: make(map[uint64]*idemRecord), collided: make(map[string]*idemRecord)}
}

// idemSeed keys idemHash. The hash only places records in an in-memory
// index (like the seed of a Go map, it differs between processes); no
// outcome, order or snapshot byte depends on it.
var idemSeed = maphash.MakeSeed()

func idemHash(requestID string) uint64 { return maphash.String(idemSeed, requestID) }

// forget removes the record of it.
func (x *idemIndex) forget(it idemItem) {
	if len(x.collided) > 0 && x.byHash[it.h] != it.rec {
		delete(x.collided, it.rec.RequestID)
		return
	}
	delete(x.byHash, it.h) // without collisions, it.rec is the one there
}

// getIdem returns the record of requestID, whose idemHash is h, or nil.
// s must be the live state.
func (s *state) getIdem(requestID string, h uint64) *idemRecord {
	x := s.idemByID
	if rec := x.byHash[h]; rec != nil && rec.RequestID == requestID {
		return rec
	}
	if len(x.collided) == 0 {
		return nil
	}
	return x.collided[requestID]
}

// putIdem stores a new record, whose request ID has idemHash h.
func (s *state) putIdem(rec *idemRecord, h uint64) {
	s.idem.push(idemItem{order: rec.Order, at: rec.At, h: h, rec: rec})
	x := s.idemByID
	if x.byHash[h] == nil {
		x.byHash[h] = rec
	} else {
		x.collided[rec.RequestID] = rec
	}
}

// pruneIdempotency forgets, oldest first, records made at or before
// clock - IdempotencyWindow and records beyond IdempotencyMax. It depends
// only on the state, so every node forgets the same IDs at the same index.
func pruneIdempotency(s *state, cfg *Config) {
	cutoff := s.clock - int64(cfg.IdempotencyWindow)
	for {
		it, ok := s.idem.front()
		if !ok || (it.at > cutoff && s.idem.Len() <= cfg.IdempotencyMax) {
			return
		}
		s.idem.pop()
		s.idemByID.forget(it)
	}
}

// replay answers a retried request ID with the first outcome. A request ID
// reused by a different kind of command is refused and not remembered.
func replay(s *state, rec *idemRecord, typ MessageType) *Result {
	if rec.Type != typ {
		return &Result{Index: s.index, Err: Errorf(ErrInvalidArgument,
			"request_id %q was already used by a command of another type", rec.RequestID)}
	}
	res := &Result{Index: rec.Index, Count: rec.Count}
	if rec.Err != nil {
		e := *rec.Err
		res.Err = &e
	}
	if rec.WorkOrder != 0 {
		res.WorkOrder = s.getWO(rec.WorkOrder)
	}
	if rec.Type == RunPipelineType && rec.Err == nil {
		res.IDs = stageIDs(rec.WorkOrder, rec.Count)
	}
	if rec.Andon != 0 {
		res.Andon = s.andons.get(rec.Andon)
		if rec.Type == AndonTriggerType && res.Andon != nil {
			res.IDs = []string{res.Andon.FixWorkOrder}
		}
	}
	if rec.MemKey != "" {
		if e, ok := s.mem.Get(&MemoryEntry{Namespace: rec.MemNamespace, Key: rec.MemKey}); ok && visible(e, s.clock) {
			res.Memory = e
		}
	}
	for i := uint64(0); i < rec.Receipts; i++ {
		if r := s.getReceipt(rec.FirstReceipt + i); r != nil {
			res.Receipts = append(res.Receipts, r)
		}
	}
	return res
}
