package fsm

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"testing"
)

// recount counts the in-flight work orders of v from scratch.
func recount(v *View) ActiveCounts {
	c := ActiveCounts{Stages: map[string]int{}, Buckets: map[string]int{}}
	v.s.wos.ascend(0, func(wo *WorkOrder) bool {
		if wo.State == StateInProgress || wo.State == StateReview || wo.State == StateTesting {
			c.Buckets[wo.Bucket]++
			if wo.Stage != "" {
				c.Stages[wo.Stage]++
			}
		}
		return true
	})
	return c
}

func checkCounters(t testing.TB, v *View) {
	t.Helper()
	if got, want := v.ActiveCounts(), recount(v); !reflect.DeepEqual(got, want) {
		t.Fatalf("WIP counters at index %d\n got %v\nwant %v", v.Index(), got, want)
	}
}

// setLimits applies a config with the given stage and bucket limits (and
// no others).
func (h *harness) setLimits(stages, bkts map[string]int) {
	h.t.Helper()
	cfg := DefaultSchedulerConfig()
	cfg.StageWIP, cfg.BucketWIP = stages, bkts
	if res := h.apply(&SetSchedulerConfig{Config: cfg}); res.Err != nil {
		h.t.Fatal(res.Err)
	}
}

func (h *harness) staged(stage, bucket string) string {
	h.t.Helper()
	return h.mustCreate(WorkOrderSpec{Title: stage + " work", Stage: stage, Bucket: bucket, Kind: "shell"}).ID
}

func TestAssign(t *testing.T) {
	h := newHarness(t)
	id := h.staged("code", "cost")
	res := h.apply(&Assign{Header: Header{Node: "leader"}, ID: id, Node: "worker-2"})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	wo := res.WorkOrder
	if wo.State != StateInProgress || wo.Attempt != 1 || wo.Assignee != (Assignee{Node: "worker-2", Agent: "shell"}) || wo.StartedAt == 0 {
		t.Fatalf("after assign: %+v", wo)
	}
	if r := res.Receipts[0]; r.Event != EventAssigned || r.From != StateQueued || r.To != StateInProgress ||
		r.Attempt != 1 || r.Node != "worker-2" || r.Agent != "shell" {
		t.Fatalf("receipt %+v", r)
	}
	// Requeue and assign again: the next attempt fences the first.
	h.must(id, ActionRequeue)
	res = h.apply(&Assign{ID: id, Node: "worker-3", AgentType: "python"})
	if res.Err != nil || res.WorkOrder.Attempt != 2 || res.WorkOrder.Assignee != (Assignee{Node: "worker-3", Agent: "python"}) {
		t.Fatalf("second assign: %v %+v", res.Err, res.WorkOrder)
	}
	if r := h.apply(&Transition{ID: id, Action: ActionComplete, Attempt: 1}); !errors.Is(r.Err, ErrStaleAttempt) {
		t.Fatalf("stale holder: %v", r.Err)
	}

	blocked := h.create("blocked", h.create("dep").ID).ID
	done := h.inState(StateCompleted)
	tests := []struct {
		id   string
		want *Error
		msg  string
	}{
		{blocked, ErrBlockedByDependencies, "blocked_by_dependencies: cannot assign " + blocked + ": blocked (dependencies)"},
		{id, ErrAlreadyStarted, "already_started: cannot assign " + id + ": already started (state in_progress, attempt 2)"},
		{done, ErrInvalidTransition, "invalid_transition: cannot assign " + done + ": state is completed (allowed from queued)"},
		{"WO-999", ErrNotFound, "not_found: work order WO-999 not found"},
	}
	for _, tc := range tests {
		before := h.tables()
		r := h.apply(&Assign{ID: tc.id, Node: "n"})
		if !errors.Is(r.Err, tc.want) || r.Err.Error() != tc.msg {
			t.Errorf("assign %s: got %v, want %s", tc.id, r.Err, tc.msg)
		}
		if !bytes.Equal(before, h.tables()) {
			t.Errorf("refused assign of %s changed the state", tc.id)
		}
	}
	for _, c := range []struct {
		a   *Assign
		msg string
	}{
		{&Assign{ID: "x", Node: "n"}, `id: malformed work order ID "x"`},
		{&Assign{ID: "WO-1"}, "node: empty (the node that runs the work order)"},
		{&Assign{ID: "WO-1", Node: string(make([]byte, 129))}, "node: longer than 128 bytes"},
		{&Assign{ID: "WO-1", Node: "n", AgentType: string(make([]byte, 129))}, "agent_type: longer than 128 bytes"},
	} {
		var fe *Error
		if err := Validate(c.a); !errors.As(err, &fe) || fe.Code != ErrInvalidArgument.Code || fe.Message != c.msg {
			t.Errorf("validate %+v: %v, want %s", c.a, err, c.msg)
		}
	}
	checkCounters(t, h.f.View())
}

// TestWIPLimits: neither start nor assign takes a stage or bucket past
// its limit; the refusal is precise and changes nothing; finishing work
// frees a slot.
func TestWIPLimits(t *testing.T) {
	for _, verb := range []string{"start", "assign"} {
		t.Run(verb, func(t *testing.T) {
			h := newHarness(t)
			h.setLimits(map[string]int{"design": 2}, map[string]int{"security": 3})
			begin := func(id string) *Result {
				if verb == "start" {
					return h.apply(&Transition{ID: id, Action: ActionStart, Agent: "a"})
				}
				return h.apply(&Assign{ID: id, Node: "n1", AgentType: "a"})
			}
			d1, d2, d3 := h.staged("design", "cost"), h.staged("design", "cost"), h.staged("design", "security")
			for _, id := range []string{d1, d2} {
				if r := begin(id); r.Err != nil {
					t.Fatal(r.Err)
				}
			}
			before := h.tables()
			r := begin(d3)
			want := "wip_limit: cannot " + verb + " " + d3 + ": stage design is at its WIP limit (2 of 2 in flight)"
			if !errors.Is(r.Err, ErrWIPLimit) || r.Err.Error() != want {
				t.Fatalf("got %v\nwant %s", r.Err, want)
			}
			if !bytes.Equal(before, h.tables()) {
				t.Fatal("a refused start changed the state")
			}
			// Other stages and stage-less work still start, up to the bucket limit.
			s1, s2, s3 := h.staged("code", "security"), h.staged("", "security"), h.staged("", "security")
			for _, id := range []string{s1, s2} {
				if r := begin(id); r.Err != nil {
					t.Fatal(r.Err)
				}
			}
			if r = begin(s3); r.Err != nil {
				t.Fatalf("third security start: %v", r.Err)
			}
			s4 := h.staged("", "security")
			want = "wip_limit: cannot " + verb + " " + s4 + ": bucket security is at its WIP limit (3 of 3 in flight)"
			if r = begin(s4); !errors.Is(r.Err, ErrWIPLimit) || r.Err.Error() != want {
				t.Fatalf("got %v\nwant %s", r.Err, want)
			}
			// Review and testing still count; completion frees the slot.
			h.must(d1, ActionAdvance)
			h.must(d1, ActionAdvance)
			if r := begin(d3); !errors.Is(r.Err, ErrWIPLimit) {
				t.Fatalf("testing does not count: %v", r.Err)
			}
			h.must(d1, ActionAdvance) // testing → completed
			h.must(s1, ActionFail)
			if r := begin(d3); r.Err != nil {
				t.Fatalf("after completing one: %v", r.Err)
			}
			v := h.f.View()
			checkCounters(t, v)
			if c := v.ActiveCounts(); c.Stages["design"] != 2 || c.Buckets["security"] != 3 || c.Buckets["cost"] != 1 {
				t.Fatalf("counts %+v", c)
			}
		})
	}
}

// TestWIPLimitChangeAtRunTime: lowering a limit stops new starts but not
// running work; 0 means unlimited; raising it lets work start again.
func TestWIPLimitChangeAtRunTime(t *testing.T) {
	h := newHarness(t)
	h.setLimits(map[string]int{"code": 5}, nil)
	var ids []string
	for range 4 {
		id := h.staged("code", "features")
		h.must(id, ActionStart)
		ids = append(ids, id)
	}
	next := h.staged("code", "features")
	h.setLimits(map[string]int{"code": 2}, nil)
	if v := h.f.View(); v.ActiveCounts().Stages["code"] != 4 || v.SchedulerConfig().StageWIP["code"] != 2 {
		t.Fatal("lowering the limit stopped running work")
	}
	if r := h.do(next, ActionStart); !errors.Is(r.Err, ErrWIPLimit) {
		t.Fatalf("over a lowered limit: %v", r.Err)
	}
	h.must(ids[0], ActionComplete)
	h.must(ids[1], ActionComplete)
	if r := h.do(next, ActionStart); !errors.Is(r.Err, ErrWIPLimit) {
		t.Fatalf("at a lowered limit: %v", r.Err)
	}
	h.setLimits(map[string]int{"code": 0}, map[string]int{"features": 0})
	h.must(next, ActionStart)
	more := h.staged("code", "features")
	h.must(more, ActionStart)
	h.setLimits(map[string]int{"code": 3}, nil)
	if r := h.do(h.staged("code", "features"), ActionStart); !errors.Is(r.Err, ErrWIPLimit) {
		t.Fatalf("raised limit: %v", r.Err)
	}
	checkCounters(t, h.f.View())
}

// TestWIPCountersFollowEveryExit: the counters drop on complete, fail,
// cancel and requeue, follow a stage change by progress, and are the same
// after a snapshot and restore.
func TestWIPCountersFollowEveryExit(t *testing.T) {
	h := newHarness(t)
	h.setLimits(nil, nil)
	var ids []string
	for i := range 8 {
		id := h.staged([]string{"design", "code"}[i%2], []string{"cost", "security", "features"}[i%3])
		h.must(id, ActionStart)
		ids = append(ids, id)
	}
	h.must(ids[1], ActionAdvance)
	steps := []func(){
		func() { h.must(ids[0], ActionComplete) },
		func() { h.must(ids[1], ActionFail) },
		func() { h.must(ids[2], ActionCancel) },
		func() { h.must(ids[3], ActionRequeue) },
		func() { h.apply(&Transition{ID: ids[4], Action: ActionProgress, Stage: "test"}) },
		func() { h.apply(&Transition{ID: ids[5], Action: ActionProgress, Stage: "code"}) },
		func() { h.apply(&Transition{ID: ids[6], Action: ActionCancel, Cascade: true}) },
		func() { h.must(ids[3], ActionStart) },
	}
	for i, step := range steps {
		step()
		v := h.f.View()
		checkCounters(t, v)
		if got := restoreFrom(t, h.snapshot()).View().ActiveCounts(); !reflect.DeepEqual(got, v.ActiveCounts()) {
			t.Fatalf("step %d: restored counters %v, live %v", i, got, v.ActiveCounts())
		}
	}
	if c := h.f.View().ActiveCounts(); c.Stages["test"] != 1 || c.Stages["design"] != 0 || len(c.Buckets) == 0 {
		t.Fatalf("counts %+v", c)
	}
}

// TestWIPNeverExceeded replays random logs with scheduling commands and
// small, changing limits. After every command the counters equal a
// recount, and every successful start or assignment left its stage and
// bucket within the limits in force.
func TestWIPNeverExceeded(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		h := newHarness(t)
		starts, refusals := 0, 0
		check := func(c Command, res *Result) {
			if errors.Is(res.Err, ErrWIPLimit) {
				refusals++
			}
			if res.Err != nil {
				return
			}
			switch c := c.(type) {
			case *Assign:
			case *Transition:
				if c.Action != ActionStart {
					return
				}
			default:
				return
			}
			starts++
			v := h.f.View()
			cfg, counts := v.SchedulerConfig(), v.ActiveCounts()
			wo := res.WorkOrder
			if l := cfg.StageWIP[wo.Stage]; wo.Stage != "" && l > 0 && counts.Stages[wo.Stage] > l {
				t.Fatalf("seed %d: %s started past stage %s's limit: %d > %d", seed, wo.ID, wo.Stage, counts.Stages[wo.Stage], l)
			}
			if l := cfg.BucketWIP[wo.Bucket]; l > 0 && counts.Buckets[wo.Bucket] > l {
				t.Fatalf("seed %d: %s started past bucket %s's limit: %d > %d", seed, wo.ID, wo.Bucket, counts.Buckets[wo.Bucket], l)
			}
		}
		// Batches are applied command by command, so that each start is
		// checked against the state right after it (a later command of a
		// batch may lower a limit or move a stage by progress).
		var cmds []Command
		for _, c := range schedLog(seed, 8000) {
			if b, ok := c.(*Batch); ok {
				cmds = append(cmds, b.Commands...)
			} else {
				cmds = append(cmds, c)
			}
		}
		for _, c := range cmds {
			check(c, h.apply(c))
			checkCounters(t, h.f.View())
		}
		t.Logf("seed %d: %d starts, %d refused by WIP limits", seed, starts, refusals)
		if starts < 100 || refusals < 20 {
			t.Fatalf("seed %d: the log exercised too little (%d starts, %d refusals)", seed, starts, refusals)
		}
	}
}

func TestSchedulingViews(t *testing.T) {
	h := newHarness(t)
	a, b, c := h.staged("code", "cost"), h.staged("test", "cost"), h.staged("", "features")
	blocked := h.create("waits", c).ID
	h.apply(&Assign{ID: a, Node: "n1"})
	h.apply(&Assign{ID: b, Node: "n2"})
	h.apply(&Assign{ID: c, Node: "n1"})
	h.must(a, ActionAdvance) // review
	queued := h.create("queued").ID
	v := h.f.View()
	ids := func(ws []*WorkOrder) []string {
		var out []string
		for _, w := range ws {
			out = append(out, w.ID)
		}
		return out
	}
	if got := ids(v.Assigned("n1")); !slices.Equal(got, []string{c, a}) {
		t.Errorf("Assigned(n1) = %v", got)
	}
	if got := ids(v.Assigned("n3")); got != nil {
		t.Errorf("Assigned(n3) = %v", got)
	}
	if got := ids(v.Active()); !slices.Equal(got, []string{b, c, a}) {
		t.Errorf("Active = %v", got)
	}
	if got := ids(v.Unfinished()); !slices.Equal(got, []string{blocked, queued, b, c, a}) {
		t.Errorf("Unfinished = %v", got)
	}
	want := ActiveCounts{Stages: map[string]int{"code": 1, "test": 1}, Buckets: map[string]int{"cost": 2, "features": 1}}
	if got := v.ActiveCounts(); !reflect.DeepEqual(got, want) {
		t.Errorf("ActiveCounts = %+v", got)
	}
}
