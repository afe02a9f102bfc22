package node

import (
	"strings"
	"testing"

	"github.com/hive-swarm/hive/fsm"
)

// TestApproxSizeBoundsCreates checks that the size the proposer counts
// for a create, without encoding it, is never below its encoded size.
func TestApproxSizeBoundsCreates(t *testing.T) {
	long := strings.Repeat("x", 300)
	for _, c := range []*fsm.CreateWorkOrder{
		{Spec: fsm.WorkOrderSpec{Title: "t"}},
		{Header: fsm.Header{RequestID: long, Node: "n1", Time: 1 << 62}, Spec: fsm.WorkOrderSpec{
			Title: long, Description: long, Kind: long, Bucket: long, Priority: fsm.PriorityHigh, PriorityScore: 9,
			Labels: []string{long, "a", ""}, Payload: []byte(long), Effort: -1 << 62, Stage: long, Signal: long,
			DependsOn: []string{long, "WO-1"}, Deadline: 1 << 62, Parent: long,
		}},
	} {
		b, err := fsm.Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		if got := approxSize(c); got < len(b) {
			t.Errorf("approxSize = %d, encoded size %d", got, len(b))
		}
	}
}
