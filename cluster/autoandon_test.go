package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/hive-swarm/hive/fsm"
)

// autoAndonFixture is a loop on a real FSM with no nodes (the tests
// assign by hand) and a fixed clock.
func autoAndonFixture(t *testing.T) (anyProposer, *Loop) {
	t.Helper()
	clock := time.Unix(10_000, 0)
	p := anyProposer{&fsmProposer{f: fsm.New(fsm.DefaultConfig())}, func() time.Time { return clock }}
	l, err := NewLoop(LoopConfig{State: p.f, Proposer: p, Nodes: staticNodes(nil), Now: p.now})
	if err != nil {
		t.Fatal(err)
	}
	return p, l
}

func (p anyProposer) must(t *testing.T, c fsm.Command) *fsm.Result {
	t.Helper()
	rs, err := p.ProposeBatch(context.Background(), []fsm.Command{c})
	if err != nil || rs[0].Err != nil {
		t.Fatalf("%T: %v %v", c, err, rs[0].Err)
	}
	return rs[0]
}

func (p anyProposer) setAutoAndon(t *testing.T, classes ...string) {
	t.Helper()
	cfg := p.f.View().SchedulerConfig()
	cfg.AutoAndon = classes
	p.must(t, &fsm.SetSchedulerConfig{Config: cfg})
}

// failAttempt assigns id and reports its attempt failed with reason.
func (p anyProposer) failAttempt(t *testing.T, id, reason string) {
	t.Helper()
	wo, err := p.f.View().WorkOrder(id)
	if err != nil {
		t.Fatal(err)
	}
	p.must(t, &fsm.Assign{ID: id, Node: "a", AgentType: wo.Kind})
	wo, _ = p.f.View().WorkOrder(id)
	p.must(t, &fsm.Transition{ID: id, Action: fsm.ActionFail, Attempt: wo.Attempt, Reason: reason})
}

func andonsOf(v *fsm.View, id string) []*fsm.Andon {
	var out []*fsm.Andon
	for _, a := range v.Andons(false) {
		if a.WorkOrder == id {
			out = append(out, a)
		}
	}
	return out
}

const crash = `plugin "test" (/bin/hive-agent-test, pid 7) crashed: exit status 3`

// TestLoopAutoAndon: with test_failure and repeated_crash on, a test work
// order failing its last attempt and a work order crashing three times
// each get one andon of that class (line stopped, fix created); an
// ordinary failure and a crash short of the count get none; later passes
// and a new leader's loop pull nothing more.
func TestLoopAutoAndon(t *testing.T) {
	p, l := autoAndonFixture(t)
	ctx := context.Background()
	p.setAutoAndon(t, fsm.AutoAndonTestFailure, fsm.AutoAndonRepeatedCrash)
	once := fsm.RetryPolicy{MaxAttempts: 1}
	test := p.create(t, fsm.WorkOrderSpec{Title: "unit tests", Kind: "test", Bucket: fsm.BucketReliability, Retry: once})
	other := p.create(t, fsm.WorkOrderSpec{Title: "build", Kind: "shell", Bucket: fsm.BucketCost, Retry: once})
	crashy := p.create(t, fsm.WorkOrderSpec{Title: "crashy", Kind: "shell", Bucket: fsm.BucketSecurity, Retry: fsm.RetryPolicy{MaxAttempts: 5}})
	p.failAttempt(t, test, "exit status 1")
	p.failAttempt(t, other, "exit status 1")
	p.failAttempt(t, crashy, crash)
	p.failAttempt(t, crashy, crash)
	if res, err := l.Step(ctx); err != nil || res.Andons != 1 {
		t.Fatalf("first pass: %+v %v", res, err)
	}
	v := p.f.View()
	as := andonsOf(v, test)
	if len(as) != 1 || as[0].Class != fsm.AutoAndonTestFailure || as[0].State != fsm.AndonOpen || as[0].Quarantined {
		t.Fatalf("andons of the test work order: %+v", as)
	}
	if lines := v.StoppedLines(); len(lines) != 1 || lines[0].Line != fsm.BucketReliability {
		t.Fatalf("stopped lines %+v", lines)
	}
	if fix, err := v.WorkOrder(as[0].FixWorkOrder); err != nil || fix.FixFor != as[0].ID {
		t.Fatalf("fix %+v %v", fix, err)
	}
	if len(andonsOf(v, other)) != 0 || len(andonsOf(v, crashy)) != 0 {
		t.Fatal("andon on an ordinary failure or on two crashes")
	}
	p.failAttempt(t, crashy, crash) // the third crash in a row
	if res, err := l.Step(ctx); err != nil || res.Andons != 1 {
		t.Fatalf("after the third crash: %+v %v", res, err)
	}
	v = p.f.View()
	as = andonsOf(v, crashy)
	if len(as) != 1 || as[0].Class != fsm.AutoAndonRepeatedCrash || !as[0].Quarantined {
		t.Fatalf("andons of the crashing work order: %+v", as)
	}
	if wo, _ := v.WorkOrder(crashy); wo.State != fsm.StateBlocked || wo.Andon != as[0].ID {
		t.Fatalf("crashing work order not quarantined: %+v", wo)
	}
	total := len(v.Andons(false))
	if res, err := l.Step(ctx); err != nil || res.Andons != 0 {
		t.Fatalf("later pass: %+v %v", res, err)
	}
	// A new leader's loop reads the recent receipts again: nothing new.
	l2, err := NewLoop(LoopConfig{State: p.f, Proposer: p, Nodes: staticNodes(nil), Now: p.now})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := l2.Step(ctx); err != nil || res.Andons != 0 {
		t.Fatalf("new leader's pass: %+v %v", res, err)
	}
	if got := len(p.f.View().Andons(false)); got != total {
		t.Fatalf("andons %d → %d", total, got)
	}
}

// TestLoopAutoAndonOff: with the setting off (the default) failures pull
// nothing, and turning it on later does not pull the cord on them.
func TestLoopAutoAndonOff(t *testing.T) {
	p, l := autoAndonFixture(t)
	ctx := context.Background()
	test := p.create(t, fsm.WorkOrderSpec{Title: "unit tests", Kind: "test", Retry: fsm.RetryPolicy{MaxAttempts: 1}})
	p.failAttempt(t, test, "exit status 1")
	if res, err := l.Step(ctx); err != nil || res.Andons != 0 {
		t.Fatalf("off: %+v %v", res, err)
	}
	p.setAutoAndon(t, fsm.AutoAndonTestFailure)
	if res, err := l.Step(ctx); err != nil || res.Andons != 0 {
		t.Fatalf("turned on: %+v %v", res, err)
	}
	next := p.create(t, fsm.WorkOrderSpec{Title: "more tests", Kind: "tester", Retry: fsm.RetryPolicy{MaxAttempts: 1}})
	p.failAttempt(t, next, "exit status 1")
	if res, err := l.Step(ctx); err != nil || res.Andons != 1 {
		t.Fatalf("new failure: %+v %v", res, err)
	}
	if len(andonsOf(p.f.View(), test)) != 0 || len(andonsOf(p.f.View(), next)) != 1 {
		t.Fatal("andon on the old failure, or none on the new one")
	}
}

// TestLoopAutoAndonSLABreach: a recorded breach pulls the cord on the
// late work order (quarantined) once.
func TestLoopAutoAndonSLABreach(t *testing.T) {
	clock := time.Unix(10_000, 0)
	now := func() time.Time { return clock }
	p := anyProposer{&fsmProposer{f: fsm.New(fsm.DefaultConfig())}, now}
	l, err := NewLoop(LoopConfig{State: p.f, Proposer: p, Nodes: staticNodes(nil), SLAInterval: time.Second, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	p.setAutoAndon(t, fsm.AutoAndonSLABreach)
	id := p.create(t, fsm.WorkOrderSpec{Title: "late", Kind: "test", Deadline: clock.Add(-time.Minute).UnixNano()})
	ctx := context.Background()
	for range 3 {
		if _, err := l.Step(ctx); err != nil {
			t.Fatal(err)
		}
		clock = clock.Add(2 * time.Second)
	}
	as := andonsOf(p.f.View(), id)
	if len(as) != 1 || as[0].Class != fsm.AutoAndonSLABreach || !as[0].Quarantined {
		t.Fatalf("andons %+v", as)
	}
}

func TestPlanAutoAndonsRequestIDs(t *testing.T) {
	p, _ := autoAndonFixture(t)
	p.setAutoAndon(t, fsm.AutoAndonTestFailure)
	id := p.create(t, fsm.WorkOrderSpec{Title: "t", Stage: "test", Kind: "shell", Retry: fsm.RetryPolicy{MaxAttempts: 1}})
	p.failAttempt(t, id, "exit status 2")
	var s1, s2 AutoAndonScan
	a, _ := PlanAutoAndons(p.f.View(), []string{fsm.AutoAndonTestFailure}, &s1)
	b, _ := PlanAutoAndons(p.f.View(), []string{fsm.AutoAndonTestFailure}, &s2)
	if len(a) != 1 || len(b) != 1 || a[0].RequestID != b[0].RequestID || a[0].RequestID == "" {
		t.Fatalf("plans %+v %+v", a, b)
	}
	if err := fsm.Validate(a[0]); err != nil {
		t.Fatal(err)
	}
	if !CrashReason(crash) || CrashReason("exit status 3") {
		t.Fatal("CrashReason")
	}
}
