package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hive-swarm/hive/fsm"
)

// anyProposer applies any control command straight to a real FSM, one
// log entry per call, stamping headers as ProposeControl does (keeping a
// request ID already set).
type anyProposer struct {
	*fsmProposer
	now func() time.Time
}

func (p anyProposer) ProposeBatch(_ context.Context, cmds []fsm.Command) ([]*fsm.Result, error) {
	return p.proposeBatchAt(cmds, p.now)
}

// fakeHealth is a HealthSource the test sets.
type fakeHealth struct {
	mu   sync.Mutex
	gone map[string]Gone
}

func (h *fakeHealth) Gone() map[string]Gone {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]Gone, len(h.gone))
	for k, v := range h.gone {
		out[k] = v
	}
	return out
}

// mutableNodes is a NodeSource the test changes.
type mutableNodes struct {
	mu    sync.Mutex
	nodes []NodeInfo
}

func (m *mutableNodes) Nodes() []NodeInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]NodeInfo(nil), m.nodes...)
}

func (m *mutableNodes) set(nodes ...NodeInfo) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nodes = nodes
}

// TestPlanRequeuesAfterGrace checks the pure planner: only work of gone
// nodes whose grace has passed, fenced by the current attempt, with a
// deterministic request ID and a reason naming the node; the earliest
// pending grace end is returned.
func TestPlanRequeuesAfterGrace(t *testing.T) {
	now := time.Unix(1000, 0)
	wos := []*fsm.WorkOrder{
		{ID: "WO-3", Attempt: 2, Assignee: fsm.Assignee{Node: "dead", Agent: "test"}},
		{ID: "WO-10", Attempt: 1, Assignee: fsm.Assignee{Node: "dead", Agent: "test"}},
		{ID: "WO-4", Attempt: 1, Assignee: fsm.Assignee{Node: "alive", Agent: "test"}},
		{ID: "WO-5", Attempt: 1, Assignee: fsm.Assignee{Node: "fresh", Agent: "test"}},
		{ID: "WO-6", Attempt: 0, Assignee: fsm.Assignee{Node: "dead"}}, // never assigned: skipped
	}
	gone := map[string]Gone{
		"dead":  {Since: now.Add(-20 * time.Second), Why: "dead"},
		"fresh": {Since: now.Add(-2 * time.Second), Why: "left"},
	}
	trs, next := PlanRequeues(now, 10*time.Second, wos, gone)
	if len(trs) != 2 || trs[0].ID != "WO-3" || trs[1].ID != "WO-10" {
		t.Fatalf("requeues %+v; want WO-3 then WO-10", trs)
	}
	tr := trs[0]
	if tr.Action != fsm.ActionRequeue || tr.Attempt != 2 || tr.Agent != "test" || tr.RequestID != "requeue/WO-3/2" ||
		!strings.Contains(tr.Reason, "node dead is dead") {
		t.Fatalf("requeue %+v", tr)
	}
	if want := now.Add(8 * time.Second); !next.Equal(want) {
		t.Fatalf("next %v, want %v", next, want)
	}
	if trs, next := PlanRequeues(now, time.Minute, wos, gone); len(trs) != 0 || !next.Equal(now.Add(40*time.Second)) {
		t.Fatalf("within the grace: %+v next %v", trs, next)
	}
}

// TestLoopRequeuesGoneNodeAndReplaces runs the loop on a real FSM: work
// placed on node a is requeued once a has been gone for the grace (not
// before), then placed on b with the next attempt; a second identical
// requeue (a new leader) changes nothing; and a report of the old
// attempt is refused as stale.
func TestLoopRequeuesGoneNodeAndReplaces(t *testing.T) {
	clock := time.Unix(10_000, 0)
	now := func() time.Time { return clock }
	fp := &fsmProposer{f: fsm.New(fsm.DefaultConfig())}
	nodes := &mutableNodes{}
	nodes.set(testNode("a", 4))
	health := &fakeHealth{}
	l, err := NewLoop(LoopConfig{State: fp.f, Proposer: anyProposer{fp, now}, Nodes: nodes, Health: health,
		RequeueGrace: 5 * time.Second, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var ids []string
	for i := range 3 {
		ids = append(ids, fp.create(t, fsm.WorkOrderSpec{Title: fmt.Sprint("wo", i), Kind: "test", Bucket: fsm.BucketReliability}))
	}
	if res, err := l.Step(ctx); err != nil || res.Accepted != 3 {
		t.Fatalf("first pass: %+v %v", res, err)
	}
	// a dies; b joins.
	nodes.set(NodeInfo{Name: "a", Slots: map[string]Slot{"test": {Capacity: 4}}}, testNode("b", 4))
	health.gone = map[string]Gone{"a": {Since: clock.Add(-2 * time.Second), Why: "dead"}}
	res, err := l.Step(ctx)
	if err != nil || res.Requeued != 0 || !res.NextRetry.Equal(clock.Add(3*time.Second)) {
		t.Fatalf("within the grace: %+v %v", res, err)
	}
	clock = clock.Add(3 * time.Second)
	res, err = l.Step(ctx)
	if err != nil || res.Requeued != 3 {
		t.Fatalf("after the grace: %+v %v", res, err)
	}
	res, err = l.Step(ctx)
	if err != nil || res.Accepted != 3 {
		t.Fatalf("replacing: %+v %v", res, err)
	}
	v := fp.f.View()
	for _, id := range ids {
		wo, _ := v.WorkOrder(id)
		if wo.Assignee.Node != "b" || wo.Attempt != 2 || wo.Retries != 0 || !strings.Contains(wo.LastReason, "node a is dead") {
			t.Fatalf("%s after requeue: node %s attempt %d retries %d reason %q", id, wo.Assignee.Node, wo.Attempt, wo.Retries, wo.LastReason)
		}
	}
	// The same requeue again (a new leader on an old view) is refused as
	// stale or answered from the idempotency table; nothing changes.
	before := v.ReceiptCount()
	again, _ := PlanRequeues(clock, 0, []*fsm.WorkOrder{{ID: ids[0], Attempt: 1, Assignee: fsm.Assignee{Node: "a", Agent: "test"}}}, health.gone)
	r, err := anyProposer{fp, now}.ProposeBatch(ctx, []fsm.Command{again[0]})
	if err != nil {
		t.Fatal(err)
	}
	if fp.f.View().ReceiptCount() != before {
		t.Fatalf("a repeated requeue appended receipts (result %v)", r[0].Err)
	}
	// A late report of the old attempt is stale.
	late := &fsm.Transition{ID: ids[1], Action: fsm.ActionComplete, Attempt: 1}
	r, _ = anyProposer{fp, now}.ProposeBatch(ctx, []fsm.Command{late})
	if !errors.Is(r[0].Err, fsm.ErrStaleAttempt) {
		t.Fatalf("late completion of attempt 1: %v; want stale_attempt", r[0].Err)
	}
}
