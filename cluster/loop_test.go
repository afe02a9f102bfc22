package cluster

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/hive-swarm/hive/fsm"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fsmProposer applies commands straight to a real FSM, one log entry per
// call, as raft would on the leader.
type fsmProposer struct {
	mu      sync.Mutex
	f       *fsm.FSM
	index   uint64
	entries int
	cmds    int
}

func (p *fsmProposer) apply(c fsm.Command) any {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, err := fsm.Encode(c)
	if err != nil {
		panic(err)
	}
	p.index++
	return p.f.Apply(&raft.Log{Index: p.index, Term: 1, Type: raft.LogCommand, Data: b})
}

func (p *fsmProposer) ProposeBatch(_ context.Context, cmds []fsm.Command) ([]*fsm.Result, error) {
	return p.proposeBatchAt(cmds, time.Now)
}

// proposeBatchAt applies cmds as one log entry, stamping their headers as
// ProposeControl does (this node, now, a request ID unless one is set).
func (p *fsmProposer) proposeBatchAt(cmds []fsm.Command, now func() time.Time) ([]*fsm.Result, error) {
	p.mu.Lock()
	p.entries++
	for i, c := range cmds {
		h := c.(interface{ CommandHeader() *fsm.Header }).CommandHeader()
		if h.RequestID == "" {
			h.RequestID = fmt.Sprintf("cmd-%d-%d", p.entries, i)
		}
		h.Node, h.Time = "leader", now().UnixNano()
	}
	p.cmds += len(cmds)
	p.mu.Unlock()
	var c fsm.Command = &fsm.Batch{Commands: cmds}
	if len(cmds) == 1 {
		c = cmds[0]
	}
	switch r := p.apply(c).(type) {
	case *fsm.Result:
		return []*fsm.Result{r}, nil
	case []*fsm.Result:
		return r, nil
	default:
		return nil, fmt.Errorf("response %T", r)
	}
}

type staticNodes []NodeInfo

func (s staticNodes) Nodes() []NodeInfo { return s }

func newLoopFixture(t *testing.T, nodes ...NodeInfo) (*fsmProposer, *Loop) {
	t.Helper()
	p := &fsmProposer{f: fsm.New(fsm.DefaultConfig())}
	l, err := NewLoop(LoopConfig{State: p.f, Proposer: p, Nodes: staticNodes(nodes), Interval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return p, l
}

func (p *fsmProposer) create(t *testing.T, spec fsm.WorkOrderSpec) string {
	t.Helper()
	r := p.apply(&fsm.CreateWorkOrder{Header: fsm.Header{RequestID: "c-" + spec.Title, Time: 1}, Spec: spec}).(*fsm.Result)
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	return r.WorkOrder.ID
}

func testNode(name string, capacity int) NodeInfo {
	return NodeInfo{Name: name, Healthy: true, Slots: map[string]Slot{"test": {Capacity: capacity}}}
}

// TestLoopStepAssignsInOneEntry checks one pass: queued work is assigned
// up to the capacity of the healthy nodes, in one log entry, and a
// second pass with the capacity taken assigns nothing more.
func TestLoopStepAssignsInOneEntry(t *testing.T) {
	p, l := newLoopFixture(t, testNode("a", 2), testNode("b", 3), NodeInfo{Name: "sick", Slots: map[string]Slot{"test": {Capacity: 9}}})
	for i := range 8 {
		p.create(t, fsm.WorkOrderSpec{Title: fmt.Sprint("wo", i), Kind: "test", Bucket: fsm.BucketReliability})
	}
	res, err := l.Step(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Proposed != 5 || res.Accepted != 5 || p.entries != 1 {
		t.Fatalf("proposed %d, accepted %d in %d entries; want 5, 5, 1", res.Proposed, res.Accepted, p.entries)
	}
	v := p.f.View()
	if a, b, s := len(v.Assigned("a")), len(v.Assigned("b")), len(v.Assigned("sick")); a != 2 || b != 3 || s != 0 {
		t.Fatalf("assigned a=%d b=%d sick=%d", a, b, s)
	}
	res, err = l.Step(context.Background())
	if err != nil || res.Proposed != 0 {
		t.Fatalf("second pass: %+v, %v", res, err)
	}
	// Every slot is taken: the pass does not even read the queue, and
	// the queued work orders wait for capacity.
	queued := p.f.View().Queue("", 0)
	if len(queued) != 3 {
		t.Fatalf("%d queued, want 3", len(queued))
	}
	for _, wo := range queued {
		if r, ok := l.Deferred(wo.ID, wo.Kind); !ok || r.Code != ReasonNoCapacity {
			t.Fatalf("%s deferred %v, %v; want no_capacity", wo.ID, r, ok)
		}
	}
}

// TestLoopRespectsWIPAndDelegates checks that a stage WIP limit of the
// replicated config holds, that a zero limit means unlimited (the FSM's
// convention), and that a work order without a kind gets the agent type
// of the first matching delegation rule.
func TestLoopRespectsWIPAndDelegates(t *testing.T) {
	p, l := newLoopFixture(t, testNode("a", 10), NodeInfo{Name: "b", Healthy: true, Slots: map[string]Slot{"shell": {Capacity: 10}}})
	cfg := fsm.DefaultSchedulerConfig()
	cfg.StageWIP = map[string]int{"code": 2, "docs": 0}
	cfg.BucketWIP = nil
	cfg.Rules = []fsm.DelegationRule{{Pattern: `(?i)^run `, AgentType: "shell"}}
	if r := p.apply(&fsm.SetSchedulerConfig{Header: fsm.Header{RequestID: "cfg", Time: 1}, Config: cfg}).(*fsm.Result); r.Err != nil {
		t.Fatal(r.Err)
	}
	for i := range 4 {
		p.create(t, fsm.WorkOrderSpec{Title: fmt.Sprint("code", i), Kind: "test", Stage: "code"})
		p.create(t, fsm.WorkOrderSpec{Title: fmt.Sprint("docs", i), Kind: "test", Stage: "docs"})
	}
	delegated := p.create(t, fsm.WorkOrderSpec{Title: "run make"})
	if _, err := l.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	v := p.f.View()
	ac := v.ActiveCounts()
	if ac.Stages["code"] != 2 || ac.Stages["docs"] != 4 {
		t.Fatalf("in flight per stage %v; want code 2 (its limit), docs 4 (unlimited)", ac.Stages)
	}
	wo, _ := v.WorkOrder(delegated)
	if wo.State != fsm.StateInProgress || wo.Assignee.Node != "b" || wo.Assignee.Agent != "shell" {
		t.Fatalf("delegated work order: %s on %+v", wo.State, wo.Assignee)
	}
}

// TestLoopRunFollowsCommits runs the loop while work completes: every
// completion frees a slot, the commit wakes the loop, and the next queued
// work order is assigned, until all are done; capacity is never exceeded.
func TestLoopRunFollowsCommits(t *testing.T) {
	p, l := newLoopFixture(t, testNode("a", 2))
	const total = 20
	for i := range total {
		p.create(t, fsm.WorkOrderSpec{Title: fmt.Sprint("wo", i), Kind: "test", Bucket: fsm.BucketReliability})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = l.Run(ctx)
	}()
	defer func() { cancel(); <-done }()
	completed := 0
	deadline := time.Now().Add(30 * time.Second)
	for completed < total {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d completed", completed, total)
		}
		v := p.f.View()
		running := v.Assigned("a")
		if len(running) > 2 {
			t.Fatalf("%d running on a node of capacity 2", len(running))
		}
		for _, wo := range running {
			r := p.apply(&fsm.Transition{Header: fsm.Header{RequestID: "done-" + wo.ID, Time: 2}, ID: wo.ID,
				Action: fsm.ActionComplete, Attempt: wo.Attempt}).(*fsm.Result)
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			completed++
		}
		if completed < total {
			// Wait for an entry after the view and this pass's completions:
			// the loop's next assignment (or the deadline).
			wctx, wcancel := context.WithDeadline(ctx, deadline)
			_ = p.f.WaitForIndex(wctx, v.Index()+uint64(len(running))+1)
			wcancel()
		}
	}
}

// TestConfigFromFSM checks the conversion of the replicated config.
func TestConfigFromFSM(t *testing.T) {
	c, err := ConfigFromFSM(fsm.DefaultSchedulerConfig())
	if err != nil {
		t.Fatal(err)
	}
	d := DefaultConfig()
	if c.Strategy != d.Strategy || c.StageWIP["code"] != 5 || c.BucketWIP[fsm.BucketFeatures] != 10 || c.Mix[fsm.BucketReliability] != 40 {
		t.Fatalf("converted default: %+v", c)
	}
	if len(c.Pipelines) != 1 || c.Pipelines[0].Stages[2].EffortSeconds != 4*3600 {
		t.Fatalf("pipelines: %+v", c.Pipelines)
	}
	off := fsm.DefaultSchedulerConfig()
	off.Mix = map[string]int{fsm.BucketSecurity: 0}
	off.StageWIP = map[string]int{"code": 0}
	if c, err = ConfigFromFSM(off); err != nil || c.Mix != nil || c.StageWIP != nil {
		t.Fatalf("zero limits and mix: %+v, %v", c, err)
	}
	bad := fsm.DefaultSchedulerConfig()
	bad.Strategy = "coin-toss"
	if _, err := ConfigFromFSM(bad); err == nil {
		t.Fatal("unknown strategy accepted")
	}
}

// TestLoopHoldsBackoff checks that a work order queued again after a
// failed attempt is not assigned before its backoff ends, and is once it
// has.
func TestLoopHoldsBackoff(t *testing.T) {
	p, l := newLoopFixture(t, testNode("a", 2))
	id := p.create(t, fsm.WorkOrderSpec{Title: "flaky", Kind: "test"})
	if res, err := l.Step(context.Background()); err != nil || res.Accepted != 1 {
		t.Fatalf("first assignment: %+v, %v", res, err)
	}
	now := time.Now()
	r := p.apply(&fsm.Transition{Header: fsm.Header{RequestID: "fail-1", Time: now.UnixNano()}, ID: id,
		Action: fsm.ActionFail, Attempt: 1, Reason: "flaky"}).(*fsm.Result)
	if r.Err != nil || r.WorkOrder.State != fsm.StateQueued || r.WorkOrder.NotBefore <= now.UnixNano() {
		t.Fatalf("fenced fail: %+v, %v", r.WorkOrder, r.Err)
	}
	l.cfg.Now = func() time.Time { return now }
	res, err := l.Step(context.Background())
	if err != nil || res.Proposed != 0 || res.Held["backoff"] != 1 || !res.NextRetry.Equal(time.Unix(0, r.WorkOrder.NotBefore)) {
		t.Fatalf("during the backoff: %+v, %v", res, err)
	}
	l.cfg.Now = func() time.Time { return time.Unix(0, r.WorkOrder.NotBefore) }
	if res, err = l.Step(context.Background()); err != nil || res.Accepted != 1 {
		t.Fatalf("after the backoff: %+v, %v", res, err)
	}
	if wo, _ := p.f.View().WorkOrder(id); wo.Attempt != 2 || wo.State != fsm.StateInProgress {
		t.Fatalf("retried work order: attempt %d, %s", wo.Attempt, wo.State)
	}
}

// TestLoopFailsRunTimeouts checks that a pass fails, fenced by attempt,
// an attempt that ran past its own run timeout plus the slack, wakes up
// for the deadline before it, and leaves work orders without a timeout
// alone when the loop has no default.
func TestLoopFailsRunTimeouts(t *testing.T) {
	p, l := newLoopFixture(t, testNode("a", 2))
	l.cfg.RunTimeoutSlack = 500 * time.Millisecond
	id := p.create(t, fsm.WorkOrderSpec{Title: "slow", Kind: "test", RunTimeout: 2 * time.Second})
	other := p.create(t, fsm.WorkOrderSpec{Title: "no timeout", Kind: "test"})
	if res, err := l.Step(context.Background()); err != nil || res.Accepted != 2 {
		t.Fatalf("assignment: %+v, %v", res, err)
	}
	wo, _ := p.f.View().WorkOrder(id)
	started := time.Unix(0, wo.StartedAt)
	due := started.Add(2*time.Second + 500*time.Millisecond)

	l.cfg.Now = func() time.Time { return started.Add(time.Second) }
	res, err := l.Step(context.Background())
	if err != nil || res.TimedOut != 0 || !res.NextRetry.Equal(due) {
		t.Fatalf("before the deadline: timed out %d, next retry %v (want %v), %v", res.TimedOut, res.NextRetry, due, err)
	}
	l.cfg.Now = func() time.Time { return due }
	if res, err = l.Step(context.Background()); err != nil || res.TimedOut != 1 {
		t.Fatalf("at the deadline: %+v, %v", res, err)
	}
	wo, _ = p.f.View().WorkOrder(id)
	if wo.State != fsm.StateQueued || wo.Attempt != 1 || wo.Retries != 1 || !strings.Contains(wo.LastReason, "run timeout") {
		t.Fatalf("timed-out work order: %s attempt %d retries %d reason %q", wo.State, wo.Attempt, wo.Retries, wo.LastReason)
	}
	if o, _ := p.f.View().WorkOrder(other); o.State != fsm.StateInProgress {
		t.Fatalf("the work order without a timeout is %s", o.State)
	}
}

// TestLoopRunTimeoutDefaultOnlyForAgentRuns checks that the loop's
// default run timeout fails an attempt the leader assigned, but not one a
// person started by hand.
func TestLoopRunTimeoutDefaultOnlyForAgentRuns(t *testing.T) {
	p, l := newLoopFixture(t, testNode("a", 2))
	l.cfg.RunTimeout, l.cfg.RunTimeoutSlack = time.Second, time.Millisecond
	manual := p.create(t, fsm.WorkOrderSpec{Title: "by hand"})
	if r := p.apply(&fsm.Transition{Header: fsm.Header{RequestID: "start-manual", Time: time.Now().UnixNano(), Node: "a"},
		ID: manual, Action: fsm.ActionStart}).(*fsm.Result); r.Err != nil {
		t.Fatal(r.Err)
	}
	agent := p.create(t, fsm.WorkOrderSpec{Title: "agent", Kind: "test"})
	if res, err := l.Step(context.Background()); err != nil || res.Accepted != 1 {
		t.Fatalf("assignment: %+v, %v", res, err)
	}
	l.cfg.Now = func() time.Time { return time.Now().Add(time.Minute) }
	res, err := l.Step(context.Background())
	if err != nil || res.TimedOut != 1 {
		t.Fatalf("a minute later: %+v, %v", res, err)
	}
	v := p.f.View()
	if wo, _ := v.WorkOrder(agent); wo.State != fsm.StateQueued || !strings.Contains(wo.LastReason, "run timeout") {
		t.Fatalf("the agent's work order: %s, %q", wo.State, wo.LastReason)
	}
	if wo, _ := v.WorkOrder(manual); wo.State != fsm.StateInProgress {
		t.Fatalf("the work order started by hand is %s", wo.State)
	}
}
