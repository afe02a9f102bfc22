package fsm

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// inState creates a work order in state s (a blocked one depends on a
// fresh queued work order) and returns its ID.
func (h *harness) inState(s State) string {
	h.t.Helper()
	if s == StateBlocked {
		dep := h.create("dependency")
		return h.create("blocked", dep.ID).ID
	}
	id := h.create("subject").ID
	steps := map[State][]Action{
		StateQueued:     nil,
		StateInProgress: {ActionStart},
		StateReview:     {ActionStart, ActionAdvance},
		StateTesting:    {ActionStart, ActionAdvance, ActionAdvance},
		StateCompleted:  {ActionStart, ActionComplete},
		StateFailed:     {ActionStart, ActionFail},
		StateCancelled:  {ActionCancel},
	}[s]
	for _, a := range steps {
		h.must(id, a)
	}
	if got := h.state(id); got != s {
		h.t.Fatalf("setup: %s is %s, want %s", id, got, s)
	}
	return id
}

func TestTransitionTable(t *testing.T) {
	type want struct {
		to  State
		err *Error
	}
	expect := func(a Action, from State) want {
		isStarted := from == StateInProgress || from == StateReview || from == StateTesting
		switch a {
		case ActionStart:
			switch {
			case from == StateQueued:
				return want{to: StateInProgress}
			case from == StateBlocked:
				return want{err: ErrBlockedByDependencies}
			case isStarted:
				return want{err: ErrAlreadyStarted}
			}
		case ActionAdvance:
			next := map[State]State{StateInProgress: StateReview, StateReview: StateTesting, StateTesting: StateCompleted}
			if to, ok := next[from]; ok {
				return want{to: to}
			}
		case ActionProgress:
			if isStarted {
				return want{to: from}
			}
		case ActionComplete:
			if isStarted {
				return want{to: StateCompleted}
			}
		case ActionFail:
			if isStarted {
				return want{to: StateFailed}
			}
		case ActionRequeue:
			if isStarted {
				return want{to: StateQueued}
			}
		case ActionCancel:
			if !from.Terminal() {
				return want{to: StateCancelled}
			}
		}
		return want{err: ErrInvalidTransition}
	}
	actions := []Action{ActionStart, ActionAdvance, ActionProgress, ActionComplete, ActionFail, ActionRequeue, ActionCancel}
	for _, from := range states {
		for _, a := range actions {
			t.Run(fmt.Sprintf("%s/%s", a, from), func(t *testing.T) {
				h := newHarness(t)
				id := h.inState(from)
				before := h.tables()
				nr := h.f.View().ReceiptCount()
				w := expect(a, from)
				res := h.do(id, a)
				if w.err != nil {
					if !errors.Is(res.Err, w.err) {
						t.Fatalf("got %v, want %v", res.Err, w.err.Code)
					}
					if !bytes.Equal(before, h.tables()) {
						t.Fatal("a refused transition changed the state")
					}
					if a != ActionStart || from.Terminal() {
						if msg := res.Err.Error(); !strings.Contains(msg, "state is "+string(from)) || !strings.Contains(msg, id) {
							t.Fatalf("message %q should name %s and its state", msg, id)
						}
					}
					return
				}
				if res.Err != nil {
					t.Fatalf("unexpected error %v", res.Err)
				}
				if res.WorkOrder.State != w.to || h.state(id) != w.to {
					t.Fatalf("state %s, want %s", res.WorkOrder.State, w.to)
				}
				if len(res.Receipts) == 0 || h.f.View().ReceiptCount() != nr+uint64(len(res.Receipts)) {
					t.Fatal("transition appended no receipt")
				}
				r := res.Receipts[0]
				if r.From != from || r.To != w.to || r.WorkOrder != id {
					t.Fatalf("receipt %+v", r)
				}
			})
		}
	}
}

func TestInvalidTransitionMessage(t *testing.T) {
	h := newHarness(t)
	h.create("a")
	h.create("b")
	id := h.create("c").ID
	res := h.do(id, ActionComplete)
	want := "cannot complete WO-3: state is queued (allowed from in_progress, review, testing)"
	if res.Err == nil || !strings.Contains(res.Err.Error(), want) {
		t.Fatalf("got %v, want %q", res.Err, want)
	}
}

func TestStartAssignsAttempt(t *testing.T) {
	h := newHarness(t)
	id := h.create("a").ID
	res := h.apply(&Transition{Header: Header{Node: "n7"}, ID: id, Action: ActionStart, Agent: "shell"})
	wo := res.WorkOrder
	if wo.Attempt != 1 || wo.Assignee != (Assignee{Node: "n7", Agent: "shell"}) || wo.StartedAt == 0 {
		t.Fatalf("after start: %+v", wo)
	}
	if r := res.Receipts[0]; r.Event != EventStarted || r.Attempt != 1 || r.Node != "n7" || r.Agent != "shell" {
		t.Fatalf("receipt %+v", r)
	}
	h.must(id, ActionRequeue)
	if wo := h.must(id, ActionStart); wo.Attempt != 2 {
		t.Fatalf("attempt after requeue+start = %d", wo.Attempt)
	}
	if res := h.apply(&Transition{ID: id, Action: ActionStart, Attempt: 2}); !errors.Is(res.Err, ErrInvalidArgument) {
		t.Fatalf("start with attempt: %v", res.Err)
	}
}

func TestStaleAttempt(t *testing.T) {
	h := newHarness(t)
	id := h.create("a").ID
	h.must(id, ActionStart)
	h.must(id, ActionRequeue)
	h.must(id, ActionStart) // attempt 2
	for _, a := range []Action{ActionProgress, ActionAdvance, ActionComplete, ActionFail, ActionRequeue, ActionCancel} {
		res := h.apply(&Transition{ID: id, Action: a, Attempt: 1})
		if !errors.Is(res.Err, ErrStaleAttempt) {
			t.Fatalf("%s with attempt 1: %v", a, res.Err)
		}
	}
	res := h.apply(&Transition{ID: id, Action: ActionProgress, Attempt: 2, Stage: "design", Progress: "50%"})
	if res.Err != nil || res.WorkOrder.Stage != "design" || res.WorkOrder.Progress != "50%" {
		t.Fatalf("progress with current attempt: %v %+v", res.Err, res.WorkOrder)
	}
	ev := &Evidence{ExitCode: 0, Outputs: map[string]string{"b": "2", "a": "1"}, Artifact: "sku-1", Log: "ok"}
	res = h.apply(&Transition{ID: id, Action: ActionComplete, Attempt: 2, Evidence: ev})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	wo := res.WorkOrder
	if wo.Result == nil || wo.Result.Artifact != "sku-1" || wo.CompletedAt == 0 {
		t.Fatalf("completion not recorded: %+v", wo)
	}
	if res.Receipts[0].EvidenceDigest != EvidenceDigest(ev) || res.Receipts[0].EvidenceDigest == ([32]byte{}) {
		t.Fatal("evidence digest not sealed into the receipt")
	}
}

func TestNotFound(t *testing.T) {
	h := newHarness(t)
	res := h.do("WO-42", ActionStart)
	if !errors.Is(res.Err, ErrNotFound) || !strings.Contains(res.Err.Error(), "WO-42") {
		t.Fatalf("got %v", res.Err)
	}
}
