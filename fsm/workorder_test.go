package fsm

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestRunTimeoutAndAttemptStart checks that a work order keeps its run
// timeout, and that StartedAt marks the start of the current attempt:
// set by every start or Assign (the first one, one after a retry, one
// after a requeue), left alone by everything else.
func TestRunTimeoutAndAttemptStart(t *testing.T) {
	h := newHarness(t)
	wo := h.mustCreate(WorkOrderSpec{Title: "timed", RunTimeout: 90 * time.Second, Retry: RetryPolicy{MaxAttempts: 5}})
	if wo.RunTimeout != 90*time.Second || wo.StartedAt != 0 {
		t.Fatalf("created with run timeout %v, started at %d", wo.RunTimeout, wo.StartedAt)
	}
	plain := h.mustCreate(WorkOrderSpec{Title: "default"})
	if plain.RunTimeout != 0 || plain.RunTimeoutOr(time.Hour) != time.Hour || wo.RunTimeoutOr(time.Hour) != 90*time.Second {
		t.Fatalf("no run timeout given: %v; effective %v and %v", plain.RunTimeout, plain.RunTimeoutOr(time.Hour), wo.RunTimeoutOr(time.Hour))
	}
	starts := map[uint64]int64{}
	check := func(step string, attempt uint64) {
		t.Helper()
		w := h.wo("WO-1")
		if w.Attempt != attempt || w.RunTimeout != 90*time.Second {
			t.Fatalf("%s: attempt %d (want %d), run timeout %v", step, w.Attempt, attempt, w.RunTimeout)
		}
		if want, ok := starts[attempt]; ok && w.StartedAt != want {
			t.Fatalf("%s: started at %d, want %d (the start of attempt %d)", step, w.StartedAt, want, attempt)
		}
	}
	assign := func(attempt uint64) {
		t.Helper()
		res := h.ok(&Assign{ID: "WO-1", Node: "n1"})
		starts[attempt] = h.now
		if res.WorkOrder.StartedAt != h.now {
			t.Fatalf("assign: started at %d, want %d", res.WorkOrder.StartedAt, h.now)
		}
		check("assign", attempt)
	}
	assign(1)
	h.ok(&Transition{ID: "WO-1", Action: ActionProgress, Attempt: 1, Progress: "50%"})
	check("progress", 1)
	h.ok(&Transition{ID: "WO-1", Action: ActionFail, Attempt: 1, Reason: "run timeout"})
	if h.state("WO-1") != StateQueued {
		t.Fatalf("fenced fail with retries left: %s", h.state("WO-1"))
	}
	assign(2)
	h.ok(&Transition{ID: "WO-1", Action: ActionRequeue, Attempt: 2, Reason: "node gone"})
	assign(3)
	h.ok(&Transition{Header: Header{Node: "n2"}, ID: "WO-1", Action: ActionCancel})
	check("cancel", 3)

	// A manual start sets it too.
	h.must("WO-2", ActionStart)
	if w := h.wo("WO-2"); w.StartedAt != h.now || w.Attempt != 1 {
		t.Fatalf("manual start: started at %d, attempt %d", w.StartedAt, w.Attempt)
	}
}

// TestRunTimeoutRefused checks that a run timeout outside 0..MaxRunTimeout
// is refused as invalid_argument naming run_timeout, changing nothing.
func TestRunTimeoutRefused(t *testing.T) {
	h := newHarness(t)
	h.mustCreate(WorkOrderSpec{Title: "longest allowed", RunTimeout: MaxRunTimeout})
	before := h.tables()
	for _, d := range []time.Duration{-1, -time.Hour, MaxRunTimeout + 1, 30 * 24 * time.Hour} {
		res := h.apply(&CreateWorkOrder{Spec: WorkOrderSpec{Title: "x", RunTimeout: d}})
		if !errors.Is(res.Err, ErrInvalidArgument) || !strings.Contains(res.Err.Error(), "run_timeout") {
			t.Fatalf("%v: %v", d, res.Err)
		}
	}
	if !bytes.Equal(before, h.tables()) {
		t.Fatal("a refused create changed the state")
	}
}

// TestAttemptStart checks how an attempt started, read from the receipts:
// by the leader's Assign (with its node and agent type) or by hand.
func TestAttemptStart(t *testing.T) {
	h := newHarness(t)
	wo := h.mustCreate(WorkOrderSpec{Title: "placed", Kind: "test", Retry: RetryPolicy{MaxAttempts: 3, InitialDelay: time.Millisecond}})
	h.ok(&Assign{ID: wo.ID, Node: "n1", AgentType: "test"})
	h.ok(&Transition{ID: wo.ID, Action: ActionFail, Attempt: 1, Reason: "flaky"})
	h.now += int64(time.Second)
	h.ok(&Transition{ID: wo.ID, Action: ActionStart, Agent: "person"})
	v := h.f.View()
	if node, agent, assigned := v.AttemptStart(wo.ID, 1); !assigned || node != "n1" || agent != "test" {
		t.Fatalf("attempt 1: %q %q %v, want n1 test assigned", node, agent, assigned)
	}
	if _, _, assigned := v.AttemptStart(wo.ID, 2); assigned {
		t.Fatal("attempt 2, started by hand, reported as assigned")
	}
	cur, _ := v.WorkOrder(wo.ID)
	if v.AssignedByLeader(cur) {
		t.Fatal("the current attempt, started by hand, reported as assigned by the leader")
	}
	if _, _, assigned := v.AttemptStart("WO-99", 1); assigned {
		t.Fatal("an unknown work order reported as assigned")
	}
}

// TestAppliedWatch checks that the channel AppliedWatch returns closes at
// the next apply, and that WaitForIndex, built on it, returns then.
func TestAppliedWatch(t *testing.T) {
	h := newHarness(t)
	before, ch := h.f.AppliedWatch()
	select {
	case <-ch:
		t.Fatal("the channel closed before anything was applied")
	default:
	}
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		done <- h.f.WaitForIndex(ctx, before+1)
	}()
	h.mustCreate(WorkOrderSpec{Title: "wakes the watchers"})
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		t.Fatal("the channel did not close at the next apply")
	}
	if after, _ := h.f.AppliedWatch(); after != before+1 {
		t.Fatalf("applied %d after one entry from %d", after, before)
	}
	if err := <-done; err != nil {
		t.Fatalf("WaitForIndex: %v", err)
	}
}
