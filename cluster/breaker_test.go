package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hive-swarm/hive/fsm"
)

// TestBreakerOpensProbesAndCloses walks one circuit through its states:
// closed until Threshold consecutive failures (a success in between
// resets the count), open (no slots) for CoolDown, half open with one
// probe slot, reopened by a failed probe, closed by a successful one.
func TestBreakerOpensProbesAndCloses(t *testing.T) {
	t0 := time.Unix(1000, 0)
	b := NewBreaker(BreakerConfig{Threshold: 3, CoolDown: 10 * time.Second})
	nodes := []NodeInfo{testNode("a", 4), testNode("b", 4)}
	slots := func(at time.Time) int { return b.Filter(nodes, at)[0].Slots["test"].Capacity }

	b.Record("a", "test", false, t0)
	b.Record("a", "test", false, t0)
	b.Record("a", "test", true, t0) // resets
	b.Record("a", "test", false, t0)
	b.Record("a", "test", false, t0)
	if st := b.State("a", "test", t0).State; st != CircuitClosed || slots(t0) != 4 {
		t.Fatalf("after 2 consecutive failures: %s, %d slots", st, slots(t0))
	}
	b.Record("a", "test", false, t0)
	if st := b.State("a", "test", t0).State; st != CircuitOpen || slots(t0) != 0 {
		t.Fatalf("after 3: %s, %d slots", st, slots(t0))
	}
	if got := b.Filter(nodes, t0)[1].Slots["test"].Capacity; got != 4 || nodes[0].Slots["test"].Capacity != 4 {
		t.Fatalf("other node or input changed: %d, %d", got, nodes[0].Slots["test"].Capacity)
	}
	t1 := t0.Add(10 * time.Second)
	if st := b.State("a", "test", t1).State; st != CircuitHalfOpen || slots(t1) != 1 {
		t.Fatalf("after the cool-down: %s, %d slots", st, slots(t1))
	}
	b.Placed([]Assignment{{ID: "WO-1", Node: "a", AgentType: "test"}}, t1)
	if slots(t1) != 0 {
		t.Fatalf("probe out: %d slots, want 0", slots(t1))
	}
	b.Record("a", "test", false, t1) // the probe failed
	if st := b.State("a", "test", t1.Add(time.Second)).State; st != CircuitOpen {
		t.Fatalf("after a failed probe: %s", st)
	}
	t2 := t1.Add(10 * time.Second)
	b.Placed([]Assignment{{ID: "WO-2", Node: "a", AgentType: "test"}}, t2)
	b.Record("a", "test", true, t2)
	if st := b.State("a", "test", t2).State; st != CircuitClosed || slots(t2) != 4 || len(b.Tripped(t2)) != 0 {
		t.Fatalf("after a good probe: %s, %d slots", st, slots(t2))
	}
}

// TestLoopBreakerFromReceipts runs the loop on a real FSM: failures of
// assigned attempts on node a (read from the receipts) open a's circuit,
// after which the loop places work on b only.
func TestLoopBreakerFromReceipts(t *testing.T) {
	clock := time.Unix(10_000, 0)
	now := func() time.Time { return clock }
	fp := &fsmProposer{f: fsm.New(fsm.DefaultConfig())}
	nodes := &mutableNodes{}
	nodes.set(testNode("a", 2))
	b := NewBreaker(BreakerConfig{Threshold: 2, CoolDown: time.Minute})
	p := anyProposer{fp, now}
	l, err := NewLoop(LoopConfig{State: fp.f, Proposer: p, Nodes: nodes, Breaker: b, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := l.Step(ctx); err != nil { // starts the breaker at the head
		t.Fatal(err)
	}
	for i := range 4 {
		fp.create(t, fsm.WorkOrderSpec{Title: fmt.Sprint("wo", i), Kind: "test", Bucket: fsm.BucketReliability,
			Retry: fsm.RetryPolicy{MaxAttempts: 1}})
	}
	if res, err := l.Step(ctx); err != nil || res.Accepted != 2 {
		t.Fatalf("first pass: %+v %v", res, err)
	}
	for _, wo := range fp.f.View().Assigned("a") {
		r, _ := p.ProposeBatch(ctx, []fsm.Command{&fsm.Transition{ID: wo.ID, Action: fsm.ActionFail, Attempt: wo.Attempt, Reason: "boom"}})
		if r[0].Err != nil {
			t.Fatal(r[0].Err)
		}
	}
	nodes.set(testNode("a", 2), testNode("b", 2))
	res, err := l.Step(ctx)
	if err != nil || res.Accepted != 2 {
		t.Fatalf("second pass: %+v %v", res, err)
	}
	if st := b.State("a", "test", clock).State; st != CircuitOpen {
		t.Fatalf("circuit of a: %s", st)
	}
	if got := len(fp.f.View().Assigned("b")); got != 2 {
		t.Fatalf("%d assigned to b, want 2 (a's circuit is open)", got)
	}
}
