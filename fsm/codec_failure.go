package fsm

import "time"

// Bodies of the failure-handling commands (andon, SLA, stale reports) and
// of the retry policy, in field order, with the command codec's
// primitives (see Encode).

func encRetry(w *wbuf, p *RetryPolicy) {
	w.uvarint(uint64(p.MaxAttempts))
	w.varint(int64(p.InitialDelay))
	w.uvarint(uint64(p.Factor))
	w.varint(int64(p.MaxDelay))
}

func decRetry(r *rbuf) RetryPolicy {
	var p RetryPolicy
	p.MaxAttempts = r.uint32()
	p.InitialDelay = time.Duration(r.varint())
	p.Factor = r.uint32()
	p.MaxDelay = time.Duration(r.varint())
	return p
}

// uint32 reads a uvarint that must fit 32 bits.
func (r *rbuf) uint32() uint32 {
	v := r.uvarint()
	if v > 1<<32-1 {
		r.fail("value %d out of range", v)
		return 0
	}
	return uint32(v)
}

// encFailureCommand writes the header and body of c, one of the failure
// handling commands.
func encFailureCommand(w *wbuf, c Command) {
	switch c := c.(type) {
	case *AndonTrigger:
		encHeader(w, &c.Header)
		w.str(c.WorkOrder)
		w.str(string(c.Scope))
		w.str(c.Class)
		w.str(c.Reason)
		w.strs(c.Whys)
		w.str(c.FixKind)
	case *AndonUpdate:
		encHeader(w, &c.Header)
		w.str(c.ID)
		w.strs(c.Whys)
		w.str(c.RootCause)
	case *AndonResolve:
		encHeader(w, &c.Header)
		w.str(c.ID)
		w.str(c.Resolution)
	case *SLAEvent:
		encHeader(w, &c.Header)
		w.str(c.ID)
		w.str(string(c.Kind))
		w.varint(c.PredictedFinish)
	case *RecordStale:
		encHeader(w, &c.Header)
		w.str(c.ID)
		w.uvarint(c.Attempt)
		w.str(c.Node)
		w.str(c.Agent)
		w.str(string(c.Action))
		w.fixed32(c.EvidenceDigest)
	}
}

// decFailureCommand reads what encFailureCommand wrote for type t.
func decFailureCommand(r *rbuf, t MessageType) Command {
	switch t {
	case AndonTriggerType:
		x := &AndonTrigger{}
		decHeader(r, &x.Header)
		x.WorkOrder = r.str()
		x.Scope = AndonScope(r.name())
		x.Class = r.name()
		x.Reason = r.str()
		x.Whys = r.strs()
		x.FixKind = r.name()
		return x
	case AndonUpdateType:
		x := &AndonUpdate{}
		decHeader(r, &x.Header)
		x.ID = r.str()
		x.Whys = r.strs()
		x.RootCause = r.str()
		return x
	case AndonResolveType:
		x := &AndonResolve{}
		decHeader(r, &x.Header)
		x.ID = r.str()
		x.Resolution = r.str()
		return x
	case SLAEventType:
		x := &SLAEvent{}
		decHeader(r, &x.Header)
		x.ID = r.str()
		x.Kind = SLAKind(r.name())
		x.PredictedFinish = r.varint()
		return x
	default: // RecordStaleType
		x := &RecordStale{}
		decHeader(r, &x.Header)
		x.ID = r.str()
		x.Attempt = r.uvarint()
		x.Node = r.name()
		x.Agent = r.name()
		x.Action = Action(r.name())
		x.EvidenceDigest = r.fixed32()
		return x
	}
}
