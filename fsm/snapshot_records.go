package fsm

import (
	"errors"
	"fmt"
	"time"
)

// Snapshot record bodies, in field order. They use the command codec's
// primitives; see Encode.

func encWorkOrder(w *wbuf, wo *WorkOrder) {
	w.uvarint(wo.Seq)
	w.str(wo.Title)
	w.str(wo.Description)
	w.str(wo.Kind)
	w.str(wo.Bucket)
	w.byte1(byte(wo.Priority))
	w.strs(wo.Labels)
	w.bytes(wo.Payload)
	w.varint(wo.Effort)
	w.str(wo.Stage)
	w.str(wo.Signal)
	w.strs(wo.DependsOn)
	w.strs(wo.Dependents)
	w.str(wo.Parent)
	w.strs(wo.Children)
	w.str(string(wo.State))
	w.str(wo.BlockedReason)
	w.uvarint(wo.Attempt)
	w.str(wo.Assignee.Node)
	w.str(wo.Assignee.Agent)
	w.str(wo.Progress)
	encEvidence(w, wo.Result)
	w.varint(wo.CreatedAt)
	w.varint(wo.UpdatedAt)
	w.varint(wo.Deadline)
	w.varint(wo.StartedAt)
	w.varint(wo.CompletedAt)
	w.uvarint(wo.CreateIndex)
	w.uvarint(wo.ModifyIndex)
	w.str(wo.Pipeline)
	w.str(wo.PipelineStep)
	encRetry(w, &wo.Retry)
	w.uvarint(uint64(wo.Retries))
	w.varint(wo.NotBefore)
	w.str(wo.LastReason)
	w.str(wo.Andon)
	w.str(wo.FixFor)
	w.varint(wo.SLAWarned)
	w.varint(wo.SLABreached)
	w.varint(wo.PredictedFinish)
	w.varint(int64(wo.RunTimeout))
}

// decWorkOrder reads a work order record of the given snapshot version.
func decWorkOrder(r *rbuf, version byte) *WorkOrder {
	wo := &WorkOrder{Seq: r.uvarint()}
	wo.ID = FormatID(wo.Seq)
	wo.Title = r.str()
	wo.Description = r.str()
	wo.Kind = r.str()
	wo.Bucket = r.str()
	wo.Priority = Priority(r.byte1())
	wo.Labels = r.strs()
	wo.Payload = r.bytes()
	wo.Effort = r.varint()
	wo.Stage = r.str()
	wo.Signal = r.str()
	wo.DependsOn = r.strs()
	wo.Dependents = r.strs()
	wo.Parent = r.str()
	wo.Children = r.strs()
	wo.State = State(r.str())
	wo.BlockedReason = r.str()
	wo.Attempt = r.uvarint()
	wo.Assignee.Node = r.str()
	wo.Assignee.Agent = r.str()
	wo.Progress = r.str()
	wo.Result = decEvidence(r)
	wo.CreatedAt = r.varint()
	wo.UpdatedAt = r.varint()
	wo.Deadline = r.varint()
	wo.StartedAt = r.varint()
	wo.CompletedAt = r.varint()
	wo.CreateIndex = r.uvarint()
	wo.ModifyIndex = r.uvarint()
	if version >= snapVersionV2 {
		wo.Pipeline = r.str()
		wo.PipelineStep = r.str()
	}
	if version < snapVersionV3 {
		wo.Retry = DefaultRetryPolicy()
		return wo
	}
	wo.Retry = decRetry(r)
	wo.Retries = r.uint32()
	wo.NotBefore = r.varint()
	wo.LastReason = r.str()
	wo.Andon = r.str()
	wo.FixFor = r.str()
	wo.SLAWarned = r.varint()
	wo.SLABreached = r.varint()
	wo.PredictedFinish = r.varint()
	if version >= snapVersion {
		wo.RunTimeout = time.Duration(r.varint())
	}
	return wo
}

// encReceipt omits PrevHash: it is the previous record's Hash.
func encReceipt(w *wbuf, rc *Receipt) {
	w.uvarint(rc.Seq)
	w.uvarint(rc.Index)
	w.varint(rc.Time)
	w.fixed32(rc.Hash)
	w.str(rc.WorkOrder)
	w.str(rc.Event)
	w.str(string(rc.From))
	w.str(string(rc.To))
	w.uvarint(rc.Attempt)
	w.str(rc.Node)
	w.str(rc.Agent)
	w.fixed32(rc.EvidenceDigest)
}

func decReceipt(r *rbuf, prev [32]byte) *Receipt {
	rc := &Receipt{Seq: r.uvarint(), Index: r.uvarint(), Time: r.varint(), PrevHash: prev}
	rc.Hash = r.fixed32()
	rc.WorkOrder = r.str()
	rc.Event = r.str()
	rc.From = State(r.str())
	rc.To = State(r.str())
	rc.Attempt = r.uvarint()
	rc.Node = r.str()
	rc.Agent = r.str()
	rc.EvidenceDigest = r.fixed32()
	return rc
}

func encMemory(w *wbuf, e *MemoryEntry) {
	w.str(e.Namespace)
	w.str(e.Key)
	w.bytes(e.Value)
	w.varint(e.ExpiresAt)
	w.uvarint(e.CreateIndex)
	w.uvarint(e.ModifyIndex)
	w.varint(e.UpdatedAt)
}

func decMemory(r *rbuf) *MemoryEntry {
	return &MemoryEntry{Namespace: r.str(), Key: r.str(), Value: r.bytes(), ExpiresAt: r.varint(),
		CreateIndex: r.uvarint(), ModifyIndex: r.uvarint(), UpdatedAt: r.varint()}
}

func encIdem(w *wbuf, rec *idemRecord) {
	w.str(rec.RequestID)
	w.uvarint(rec.Order)
	w.varint(rec.At)
	w.uvarint(rec.Index)
	w.byte1(byte(rec.Type))
	w.uvarint(rec.WorkOrder)
	w.str(rec.MemNamespace)
	w.str(rec.MemKey)
	w.uvarint(rec.FirstReceipt)
	w.uvarint(rec.Receipts)
	w.varint(int64(rec.Count))
	w.boolean(rec.Err != nil)
	if rec.Err != nil {
		w.str(string(rec.Err.Code))
		w.str(rec.Err.Message)
		w.strs(rec.Err.Cycle)
	}
	w.uvarint(rec.Andon)
}

func decIdem(r *rbuf, version byte) *idemRecord {
	rec := &idemRecord{RequestID: r.str(), Order: r.uvarint(), At: r.varint(), Index: r.uvarint(),
		Type: MessageType(r.byte1()), WorkOrder: r.uvarint(), MemNamespace: r.str(), MemKey: r.str(),
		FirstReceipt: r.uvarint(), Receipts: r.uvarint(), Count: int(r.varint())}
	if r.boolean() {
		rec.Err = &Error{Code: Code(r.str()), Message: r.str(), Cycle: r.strs()}
	}
	if version >= snapVersionV3 {
		rec.Andon = r.uvarint()
	}
	return rec
}

// loader rebuilds a state from snapshot records, checking as it goes.
type loader struct {
	s         *state
	version   byte
	lastTyp   byte
	lastWO    uint64
	lastMem   *MemoryEntry
	sawConfig bool
}

func (l *loader) load(typ byte, body []byte) error {
	if typ < l.lastTyp {
		return fmt.Errorf("record type %d after type %d", typ, l.lastTyp)
	}
	l.lastTyp = typ
	r := &rbuf{b: body}
	s := l.s
	switch typ {
	case recWorkOrder:
		wo := decWorkOrder(r, l.version)
		if err := r.done(); err != nil {
			return err
		}
		if wo.Seq <= l.lastWO || wo.Seq > s.woSeq {
			return fmt.Errorf("work order seq %d out of order or beyond %d", wo.Seq, s.woSeq)
		}
		if _, ok := stateIndex(wo.State); !ok || !wo.Priority.Valid() || !validBucket(wo.Bucket) {
			return fmt.Errorf("%s: bad state, priority or bucket", wo.ID)
		}
		if validateRetry(&wo.Retry) != nil || !optAndonID(wo.Andon) || !optAndonID(wo.FixFor) {
			return fmt.Errorf("%s: bad retry policy or andon reference", wo.ID)
		}
		if !idList(wo.DependsOn) || !idList(wo.Dependents) || !idList(wo.Children) || wo.Parent != "" && !validID(wo.Parent) {
			return fmt.Errorf("%s: malformed or unsorted ID list", wo.ID)
		}
		l.lastWO = wo.Seq
		s.putWO(nil, wo)
	case recReceipt:
		rc := decReceipt(r, s.head)
		if err := r.done(); err != nil {
			return err
		}
		if rc.Seq != s.rcptSeq+1 {
			return fmt.Errorf("receipt seq %d, want %d", rc.Seq, s.rcptSeq+1)
		}
		wo, ok := ParseID(rc.WorkOrder)
		if !ok && rc.WorkOrder != "" { // "": a receipt of no work order
			return fmt.Errorf("receipt %d: bad work order %q", rc.Seq, rc.WorkOrder)
		}
		if rc.ComputeHash() != rc.Hash {
			return fmt.Errorf("receipt %d: hash does not match its content", rc.Seq)
		}
		s.putReceipt(rc, wo)
	case recMemory:
		e := decMemory(r)
		if err := r.done(); err != nil {
			return err
		}
		if verr := validateEntry(e.Namespace, e.Key, e.Value, e.ExpiresAt); verr != nil {
			return verr
		}
		if p := l.lastMem; p != nil && !(p.Namespace < e.Namespace || p.Namespace == e.Namespace && p.Key < e.Key) {
			return fmt.Errorf("memory entry %s/%s out of order", e.Namespace, e.Key)
		}
		l.lastMem = e
		s.mem.ReplaceOrInsert(e)
		if e.ExpiresAt != 0 {
			s.memExpiry.ReplaceOrInsert(expiryKey{e.ExpiresAt, e.Namespace, e.Key})
		}
	case recIdem:
		rec := decIdem(r, l.version)
		if err := r.done(); err != nil {
			return err
		}
		last, ok := s.idem.back()
		h := idemHash(rec.RequestID)
		if rec.RequestID == "" || rec.Order > s.idemSeq || ok && rec.Order <= last.order || s.getIdem(rec.RequestID, h) != nil {
			return fmt.Errorf("idempotency record %q out of order or duplicated", rec.RequestID)
		}
		s.putIdem(rec, h)
	case recSchedConfig:
		if l.version < snapVersionV2 || l.sawConfig {
			return errors.New("unexpected or repeated scheduler config record")
		}
		cfg := decSchedulerConfig(r)
		if err := r.done(); err != nil {
			return err
		}
		if verr := validateSchedulerConfig(&cfg); verr != nil {
			return fmt.Errorf("scheduler config: %v", verr)
		}
		l.sawConfig = true
		s.sched = newSchedState(cfg)
	case recAndon:
		if l.version < snapVersionV3 {
			return errors.New("unexpected andon record")
		}
		a := decAndon(r)
		if err := r.done(); err != nil {
			return err
		}
		if err := l.loadAndon(a); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown record type %d", typ)
	}
	return nil
}

// finish checks that every link between work orders points at one that
// exists, and that dependency edges are recorded on both ends.
func (l *loader) finish() error {
	s := l.s
	if l.version >= snapVersionV2 && !l.sawConfig {
		return errors.New("scheduler config record missing")
	}
	var err error
	exists := func(id string) *WorkOrder {
		seq, ok := ParseID(id)
		if !ok {
			return nil
		}
		return s.getWO(seq)
	}
	s.wos.ascend(0, func(wo *WorkOrder) bool {
		for _, d := range wo.DependsOn {
			if dw := exists(d); dw == nil || !hasID(dw.Dependents, wo.ID) {
				err = fmt.Errorf("%s: dependency %s missing or not linked back", wo.ID, d)
				return false
			}
		}
		for _, d := range wo.Dependents {
			if dw := exists(d); dw == nil || !hasID(dw.DependsOn, wo.ID) {
				err = fmt.Errorf("%s: dependent %s missing or not linked back", wo.ID, d)
				return false
			}
		}
		for _, c := range wo.Children {
			if cw := exists(c); cw == nil || cw.Parent != wo.ID {
				err = fmt.Errorf("%s: child %s missing or not linked back", wo.ID, c)
				return false
			}
		}
		if wo.Parent != "" && exists(wo.Parent) == nil {
			err = fmt.Errorf("%s: parent %s missing", wo.ID, wo.Parent)
			return false
		}
		if err = l.checkAndonRefs(wo); err != nil {
			return false
		}
		return true
	})
	if x := s.idemByID; err == nil && len(x.byHash)+len(x.collided) != s.idem.Len() {
		err = errors.New("idempotency indexes disagree")
	}
	return err
}

// idList reports whether ids are valid work order IDs in strictly
// increasing order.
func idList(ids []string) bool {
	for i, id := range ids {
		if !validID(id) || i > 0 && cmpID(ids[i-1], id) >= 0 {
			return false
		}
	}
	return true
}
