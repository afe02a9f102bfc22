package fsm

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// TestSLAEscalation drives SLA events with command times as the clock: a
// warning, a breach that escalates one level, repeats that change
// nothing, and the refusals.
func TestSLAEscalation(t *testing.T) {
	h := newHarness(t)
	day := int64(24 * time.Hour)
	wo := h.mustCreate(WorkOrderSpec{Title: "patch", Bucket: BucketSecurity, Priority: PriorityLow})
	if wo.Deadline != wo.CreatedAt+day {
		t.Fatalf("deadline %d", wo.Deadline)
	}
	at := func(ns int64) Header { return Header{Time: ns} }

	res := h.ok(&SLAEvent{Header: at(wo.CreatedAt + 20*int64(time.Hour)), ID: wo.ID, Kind: SLAWarning, PredictedFinish: wo.Deadline + 1})
	if w := res.WorkOrder; w.Priority != PriorityLow || w.SLAWarned != wo.Deadline || w.PredictedFinish != wo.Deadline+1 ||
		len(res.Receipts) != 1 || res.Receipts[0].Event != EventSLAWarning ||
		res.Receipts[0].EvidenceDigest != SLADigest(SLAWarning, wo.Deadline, wo.Deadline+1, PriorityLow, PriorityLow) {
		t.Fatalf("warning: %+v", res)
	}
	// A breach before the deadline is refused, a repeated warning is a no-op.
	for _, c := range []Command{
		&SLAEvent{Header: at(wo.Deadline), ID: wo.ID, Kind: SLABreach},
		&SLAEvent{Header: at(wo.Deadline - 1), ID: wo.ID, Kind: SLAWarning},
	} {
		before := h.tables()
		r := h.apply(c)
		if c.(*SLAEvent).Kind == SLABreach && !errors.Is(r.Err, ErrInvalidTransition) || c.(*SLAEvent).Kind == SLAWarning && (r.Err != nil || len(r.Receipts) != 0) {
			t.Fatalf("%+v: %v", c, r.Err)
		}
		if !bytes.Equal(before, h.tables()) {
			t.Fatalf("%+v changed the state", c)
		}
	}
	// Breaches escalate one level each, for distinct work orders; a
	// repeat for the same deadline changes nothing.
	res = h.ok(&SLAEvent{Header: at(wo.Deadline + 3*int64(time.Hour)), ID: wo.ID, Kind: SLABreach, PredictedFinish: wo.Deadline + 4*int64(time.Hour)})
	if w := res.WorkOrder; w.Priority != PriorityMedium || w.SLABreached != wo.Deadline || res.Receipts[0].Event != EventSLABreach ||
		res.Receipts[0].EvidenceDigest != SLADigest(SLABreach, wo.Deadline, wo.Deadline+4*int64(time.Hour), PriorityLow, PriorityMedium) {
		t.Fatalf("breach: %+v %+v", res.WorkOrder, res.Receipts)
	}
	before := h.tables()
	if r := h.apply(&SLAEvent{Header: at(wo.Deadline + 5*int64(time.Hour)), ID: wo.ID, Kind: SLABreach}); r.Err != nil || len(r.Receipts) != 0 || r.WorkOrder.Priority != PriorityMedium {
		t.Fatalf("second breach: %+v", r)
	}
	if !bytes.Equal(before, h.tables()) {
		t.Fatal("a second breach changed the state")
	}
	if h.f.View().Queue(BucketSecurity, 1)[0].Priority != PriorityMedium {
		t.Fatal("the queue index kept the old priority")
	}
	crit := h.mustCreate(WorkOrderSpec{Title: "cve", Signal: SignalCVE})
	if w := h.ok(&SLAEvent{Header: at(crit.Deadline + 1), ID: crit.ID, Kind: SLABreach}).WorkOrder; w.Priority != PriorityCritical {
		t.Fatalf("critical escalated to %v", w.Priority)
	}

	// Refusals: best effort, terminal, unknown, malformed.
	debt := h.mustCreate(WorkOrderSpec{Title: "debt", Bucket: BucketTechnicalDebt}).ID
	done := h.inState(StateCompleted)
	for _, tc := range []struct {
		c    Command
		want *Error
	}{
		{&SLAEvent{ID: debt, Kind: SLAWarning}, ErrInvalidTransition},
		{&SLAEvent{ID: done, Kind: SLAWarning}, ErrInvalidTransition},
		{&SLAEvent{ID: "WO-404", Kind: SLAWarning}, ErrNotFound},
		{&SLAEvent{ID: wo.ID, Kind: "late"}, ErrInvalidArgument},
		{&SLAEvent{ID: wo.ID, Kind: SLAWarning, PredictedFinish: -1}, ErrInvalidArgument},
	} {
		before := h.tables()
		if r := h.apply(tc.c); !errors.Is(r.Err, tc.want) || !bytes.Equal(before, h.tables()) {
			t.Fatalf("%+v: %v, want %s", tc.c, r.Err, tc.want.Code)
		}
	}
}
