package fsm

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// TestRecordStale follows the leader's path: a report from an attempt
// that was moved elsewhere is refused, then recorded with RecordStale,
// which appends a receipt and changes no work order field.
func TestRecordStale(t *testing.T) {
	h := newHarness(t)
	id := h.create("moved").ID
	h.ok(&Assign{ID: id, Node: "n1"})
	h.ok(&Transition{ID: id, Action: ActionRequeue, Attempt: 1, Reason: "n1 partitioned"})
	h.ok(&Assign{ID: id, Node: "n2"})
	ev := &Evidence{ExitCode: 0, Artifact: "sku-1"}
	before := h.tables()
	report := &Transition{Header: Header{Node: "n1"}, ID: id, Action: ActionComplete, Attempt: 1, Agent: "shell", Evidence: ev}
	if r := h.apply(report); !errors.Is(r.Err, ErrStaleAttempt) || !bytes.Equal(before, h.tables()) {
		t.Fatalf("stale report: %v", r.Err)
	}
	wo := h.wo(id)
	res := h.ok(&RecordStale{Header: Header{Node: "leader"}, ID: id, Attempt: 1, Node: "n1", Agent: "shell",
		Action: ActionComplete, EvidenceDigest: EvidenceDigest(ev)})
	r := res.Receipts[0]
	if r.Event != EventStaleRejected || r.WorkOrder != id || r.Attempt != 1 || r.Node != "n1" || r.Agent != "shell" ||
		r.From != StateInProgress || r.To != StateInProgress || r.EvidenceDigest != StaleDigest(ActionComplete, EvidenceDigest(ev)) {
		t.Fatalf("receipt %+v", r)
	}
	if after := h.wo(id); after != wo || !reflect.DeepEqual(after, wo) {
		t.Fatal("RecordStale changed the work order")
	}
	if got := h.f.View().Receipts(ReceiptQuery{WorkOrder: id}); got[len(got)-1] != r {
		t.Fatal("the stale record is not among the work order's receipts")
	}
	// The current attempt is not stale; bad input is refused.
	for _, c := range []*RecordStale{
		{ID: id, Attempt: 2, Action: ActionComplete},
		{ID: id, Attempt: 3, Action: ActionComplete},
		{ID: "WO-9", Attempt: 1, Action: ActionComplete},
		{ID: id, Attempt: 0, Action: ActionComplete},
		{ID: id, Attempt: 1, Action: ActionStart},
	} {
		before := h.tables()
		if r := h.apply(c); r.Err == nil || !bytes.Equal(before, h.tables()) {
			t.Fatalf("%+v accepted or changed the state: %v", c, r.Err)
		}
	}
}
