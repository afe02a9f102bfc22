package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/hive-swarm/hive/fsm"
)

// TestPlanSLAEvents checks breach past the deadline, warning when the
// remaining critical path overruns it, nothing when on time, recorded
// already or best effort.
func TestPlanSLAEvents(t *testing.T) {
	now := time.Unix(100_000, 0)
	ns := now.UnixNano()
	hour := int64(time.Hour)
	wos := []*fsm.WorkOrder{
		{ID: "WO-1", State: fsm.StateQueued, Deadline: ns - hour},                                            // breach
		{ID: "WO-2", State: fsm.StateQueued, Deadline: ns - hour, SLABreached: ns - hour},                    // recorded
		{ID: "WO-3", State: fsm.StateQueued, Deadline: ns + hour, Effort: 600, Dependents: []string{"WO-4"}}, // chain 600+7200 > 1h: warn
		{ID: "WO-4", State: fsm.StateBlocked, Deadline: ns + 10*hour, Effort: 7200, DependsOn: []string{"WO-3"}},
		{ID: "WO-5", State: fsm.StateQueued, Deadline: ns + hour, Effort: 60},                 // on time
		{ID: "WO-6", State: fsm.StateQueued, Effort: 1 << 40},                                 // best effort
		{ID: "WO-7", State: fsm.StateQueued, Deadline: ns + 1, Effort: 60, SLAWarned: ns + 1}, // warned
	}
	evs := PlanSLAEvents(now, wos)
	if len(evs) != 2 || evs[0].ID != "WO-1" || evs[0].Kind != fsm.SLABreach || evs[1].ID != "WO-3" || evs[1].Kind != fsm.SLAWarning {
		t.Fatalf("events %+v", evs)
	}
	if want := ns + 7800*int64(time.Second); evs[1].PredictedFinish != want {
		t.Fatalf("predicted %d, want %d", evs[1].PredictedFinish, want)
	}
	if evs[0].RequestID == "" || evs[0].RequestID == evs[1].RequestID {
		t.Fatalf("request IDs %q %q", evs[0].RequestID, evs[1].RequestID)
	}
}

// TestLoopRecordsSLABreachOnce runs the loop on a real FSM with a work
// order past its deadline: one pass records the breach (priority
// escalates), later passes record nothing more.
func TestLoopRecordsSLABreachOnce(t *testing.T) {
	clock := time.Unix(10_000, 0)
	now := func() time.Time { return clock }
	fp := &fsmProposer{f: fsm.New(fsm.DefaultConfig())}
	l, err := NewLoop(LoopConfig{State: fp.f, Proposer: anyProposer{fp, now}, Nodes: staticNodes(nil), SLAInterval: time.Second, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	id := fp.create(t, fsm.WorkOrderSpec{Title: "late", Kind: "test", Priority: fsm.PriorityLow, Deadline: clock.Add(-time.Minute).UnixNano()})
	ctx := context.Background()
	res, err := l.Step(ctx)
	if err != nil || res.SLAEvents != 1 {
		t.Fatalf("first pass: %+v %v", res, err)
	}
	wo, _ := fp.f.View().WorkOrder(id)
	if wo.SLABreached != wo.Deadline || wo.Priority != fsm.PriorityMedium {
		t.Fatalf("after the breach: %+v", wo)
	}
	receipts := fp.f.View().ReceiptCount()
	for range 3 {
		clock = clock.Add(2 * time.Second)
		if res, err := l.Step(ctx); err != nil || res.SLAEvents != 0 {
			t.Fatalf("later pass: %+v %v", res, err)
		}
	}
	if got := fp.f.View().ReceiptCount(); got != receipts {
		t.Fatalf("receipts %d → %d", receipts, got)
	}
}
