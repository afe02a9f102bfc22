package fsm

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
}

// remember stores the outcome of the command that first used requestID.
func remember(s *state, cfg *Config, requestID string, typ MessageType, res *Result) {
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
	if len(res.Receipts) > 0 {
		rec.FirstReceipt = res.Receipts[0].Seq
		rec.Receipts = uint64(len(res.Receipts))
	}
	if e, ok := res.Err.(*Error); ok && e != nil {
		rec.Err = e
	}
	s.idem.ReplaceOrInsert(rec)
	s.idemOrder.ReplaceOrInsert(rec)
	if s.idem.Len() > cfg.IdempotencyMax {
		pruneIdempotency(s, cfg)
	}
}

// pruneIdempotency forgets, oldest first, records made at or before
// clock - IdempotencyWindow and records beyond IdempotencyMax. It depends
// only on the state, so every node forgets the same IDs at the same index.
func pruneIdempotency(s *state, cfg *Config) {
	cutoff := s.clock - int64(cfg.IdempotencyWindow)
	for {
		rec, ok := s.idemOrder.Min()
		if !ok || (rec.At > cutoff && s.idemOrder.Len() <= cfg.IdempotencyMax) {
			return
		}
		s.idemOrder.DeleteMin()
		s.idem.Delete(rec)
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
