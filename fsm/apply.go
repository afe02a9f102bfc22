package fsm

import (
	"errors"
	"slices"
)

// applyFunc applies one command of a known type inside the overlay t. It
// returns a business error, in which case t is discarded and nothing
// changes; it must not touch the state directly before its last check.
type applyFunc func(t *tx, c Command) *Error

// applyFuncs is the dispatch table: one applyX per command type.
var applyFuncs = [...]applyFunc{
	CreateWorkOrderType:    applyCreate,
	TransitionType:         applyTransition,
	AddDependencyType:      applyAddDependency,
	RemoveDependencyType:   applyRemoveDependency,
	MemoryPutType:          applyMemoryPut,
	MemoryDeleteType:       applyMemoryDelete,
	MemoryImportType:       applyMemoryImport,
	TickType:               applyTick,
	SetSchedulerConfigType: applySetSchedulerConfig,
	AssignType:             applyAssign,
	RunPipelineType:        applyRunPipeline,
	AndonTriggerType:       applyAndonTrigger,
	AndonUpdateType:        applyAndonUpdate,
	AndonResolveType:       applyAndonResolve,
	SLAEventType:           applySLAEvent,
	RecordStaleType:        applyRecordStale,
}

func isIgnorable(err error) bool { return errors.Is(err, ErrUnknownIgnorable) }

// dirtyWO is a work order changed by the current command: old is the
// stored object (nil when created by this command), cur the private copy.
type dirtyWO struct{ old, cur *WorkOrder }

// pendingReceipt is a receipt this command will append, for work order wo.
type pendingReceipt struct {
	r  Receipt
	wo uint64
}

// receiptSlab is how many receipts commit allocates at once. Receipts are
// never deleted, so a slab never keeps garbage alive; it saves an
// allocation (and a GC object) per receipt.
const receiptSlab = 64

// tx is the overlay for one command, which makes every command atomic: work
// order changes and receipts are collected here and written to the state
// by commit only when the command succeeded. Memory commands write the
// state directly, after all their checks.
type tx struct {
	s     *state
	cfg   *Config
	index uint64
	now   int64
	hdr   *Header

	dirty    []dirtyWO
	dirtyIdx map[uint64]int // seq → position in dirty, once dirty is large
	woSeq    uint64
	receipts []pendingReceipt // unsealed: Seq, PrevHash and Hash are set by commit
	slab     []Receipt        // preallocated receipts, handed out by commit

	resWO   *WorkOrder
	resMem  *MemoryEntry
	resIDs  []string
	count   int
	sched   *schedState // a new scheduler config, set by commit
	andon   *Andon      // a new or changed andon (at most one per command), set by commit
	open    []uint64    // the new open-andon list when openSet, set by commit
	openSet bool
}

func (t *tx) reset(s *state, cfg *Config, index uint64, hdr *Header) {
	clear(t.dirty)
	t.dirty = t.dirty[:0]
	t.dirtyIdx = nil
	clear(t.receipts)
	t.receipts = t.receipts[:0]
	t.s, t.cfg, t.index, t.hdr, t.now = s, cfg, index, hdr, s.clock
	t.woSeq = s.woSeq
	t.resWO, t.resMem, t.resIDs, t.count, t.sched = nil, nil, nil, 0, nil
	t.andon, t.open, t.openSet = nil, nil, false
}

func (t *tx) find(seq uint64) int {
	if t.dirtyIdx != nil {
		if i, ok := t.dirtyIdx[seq]; ok {
			return i
		}
		return -1
	}
	for i := range t.dirty {
		if t.dirty[i].cur.Seq == seq {
			return i
		}
	}
	return -1
}

func (t *tx) track(d dirtyWO) *WorkOrder {
	t.dirty = append(t.dirty, d)
	if t.dirtyIdx == nil && len(t.dirty) > 16 {
		t.dirtyIdx = make(map[uint64]int, 64)
		for i := range t.dirty {
			t.dirtyIdx[t.dirty[i].cur.Seq] = i
		}
	} else if t.dirtyIdx != nil {
		t.dirtyIdx[d.cur.Seq] = len(t.dirty) - 1
	}
	return d.cur
}

// get returns the work order as this command sees it, or nil.
func (t *tx) get(seq uint64) *WorkOrder {
	if i := t.find(seq); i >= 0 {
		return t.dirty[i].cur
	}
	return t.s.getWO(seq)
}

// lookup resolves an ID, failing with ErrNotFound naming it.
func (t *tx) lookup(id string) (*WorkOrder, *Error) {
	if seq, ok := ParseID(id); ok {
		if wo := t.get(seq); wo != nil {
			return wo, nil
		}
	}
	return nil, Errorf(ErrNotFound, "work order %s not found", id)
}

// mut returns a private, writable copy of an existing work order, stamped
// with this command's index and time.
func (t *tx) mut(seq uint64) *WorkOrder {
	if i := t.find(seq); i >= 0 {
		return t.dirty[i].cur
	}
	return t.copyWO(t.s.getWO(seq))
}

// mutOf is mut for a work order wo just returned by get or lookup, which
// saves looking it up again.
func (t *tx) mutOf(wo *WorkOrder) *WorkOrder {
	if i := t.find(wo.Seq); i >= 0 {
		return t.dirty[i].cur
	}
	return t.copyWO(wo)
}

func (t *tx) copyWO(old *WorkOrder) *WorkOrder {
	cp := *old
	cp.ModifyIndex = t.index
	cp.UpdatedAt = t.now
	return t.track(dirtyWO{old: old, cur: &cp})
}

func (t *tx) create(wo *WorkOrder) { t.track(dirtyWO{cur: wo}) }

// receipt records an event for wo, which must already reflect it, and
// returns the new receipt, for the caller to amend before the next one.
func (t *tx) receipt(wo *WorkOrder, event string, from State, agent string, ev *Evidence) *Receipt {
	t.receipts = append(t.receipts, pendingReceipt{wo: wo.Seq, r: Receipt{
		Index:     t.index,
		Time:      t.now,
		WorkOrder: wo.ID,
		Event:     event,
		From:      from,
		To:        wo.State,
		Attempt:   wo.Attempt,
		Node:      t.hdr.Node,
		Agent:     agent,
	}})
	r := &t.receipts[len(t.receipts)-1].r
	if ev != nil {
		r.EvidenceDigest = EvidenceDigest(ev)
	}
	return r
}

// commit writes the overlay to the state and seals the receipts. one backs
// res.Receipts when the command appended a single receipt (the usual case).
func (t *tx) commit(res *Result, one *[1]*Receipt) {
	s := t.s
	for _, d := range t.dirty {
		s.putWO(d.old, d.cur)
	}
	s.woSeq = t.woSeq
	if t.sched != nil {
		s.sched = t.sched
	}
	if t.andon != nil {
		s.andons.set(t.andon.Seq, t.andon)
		res.Andon = t.andon
	}
	if t.openSet {
		s.andonOpen = t.open
	}
	if len(t.receipts) > 0 {
		if len(t.receipts) == 1 {
			res.Receipts = one[:]
		} else {
			res.Receipts = make([]*Receipt, len(t.receipts))
		}
		for i := range t.receipts {
			p := &t.receipts[i]
			if len(t.slab) == 0 {
				t.slab = make([]Receipt, receiptSlab)
			}
			r := &t.slab[0]
			t.slab = t.slab[1:]
			*r = p.r
			r.Seq = s.rcptSeq + 1
			r.PrevHash = s.head
			r.Hash = r.ComputeHash()
			s.putReceipt(r, p.wo)
			res.Receipts[i] = r
		}
	}
	res.WorkOrder = t.resWO
	res.Memory = t.resMem
	res.IDs = t.resIDs
	res.Count = t.count
}

// resultBox allocates a Result together with the backing array of a
// one-receipt Result.Receipts.
type resultBox struct {
	res Result
	one [1]*Receipt
}

// applyCommand applies one non-batch command and returns its result.
func (f *FSM) applyCommand(index uint64, c Command) *Result {
	s := f.st
	hdr := headerOf(c)
	if hdr == nil {
		return &Result{Index: index, Err: Errorf(ErrInvalidArgument, "command: unsupported type %T", c)}
	}
	if hdr.Time > s.clock {
		s.clock = hdr.Time
	}
	expired := pruneExpired(s)
	pruneIdempotency(s, &f.cfg)
	var h uint64
	if hdr.RequestID != "" {
		h = idemHash(hdr.RequestID)
		if rec := s.getIdem(hdr.RequestID, h); rec != nil {
			return replay(s, rec, c.Type())
		}
	}
	t := &f.tx
	t.reset(s, &f.cfg, index, hdr)
	box := &resultBox{res: Result{Index: index}}
	res := &box.res
	err := validate(c)
	if err == nil {
		err = applyFuncs[c.Type()](t, c)
	}
	if err != nil {
		res.Err = err
	} else {
		t.commit(res, &box.one)
		if c.Type() == TickType {
			res.Count = expired
		}
	}
	if hdr.RequestID != "" {
		remember(s, &f.cfg, hdr.RequestID, h, c.Type(), res)
	}
	return res
}

// headerOf returns the Header of c, which a proposer stamps (request ID,
// time, node) before proposing; nil for a Batch, which has none of its
// own.
func headerOf(c Command) *Header {
	if h, ok := c.(interface{ CommandHeader() *Header }); ok {
		return h.CommandHeader()
	}
	return nil
}

// Sorted ID lists. IDs are "WO-<n>" without leading zeros, so ordering by
// length and then bytes is ordering by sequence number.

func cmpID(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// sortedIDs returns a sorted copy of ids without duplicates.
func sortedIDs(ids []string) []string {
	if len(ids) == 0 {
		return nil
	}
	out := slices.Clone(ids)
	slices.SortFunc(out, cmpID)
	return slices.Compact(out)
}

// withID returns a new sorted slice holding ids and id (never aliasing ids).
func withID(ids []string, id string) []string {
	i, found := slices.BinarySearchFunc(ids, id, cmpID)
	if found {
		return ids
	}
	out := make([]string, 0, len(ids)+1)
	out = append(out, ids[:i]...)
	out = append(out, id)
	return append(out, ids[i:]...)
}

// withoutID returns a new slice holding ids except id (never aliasing ids).
func withoutID(ids []string, id string) []string {
	i, found := slices.BinarySearchFunc(ids, id, cmpID)
	if !found {
		return ids
	}
	if len(ids) == 1 {
		return nil
	}
	out := make([]string, 0, len(ids)-1)
	out = append(out, ids[:i]...)
	return append(out, ids[i+1:]...)
}

func hasID(ids []string, id string) bool {
	_, found := slices.BinarySearchFunc(ids, id, cmpID)
	return found
}
