package fsm

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

func (h *harness) runPipeline(rp *RunPipeline) *Result {
	h.t.Helper()
	res := h.apply(rp)
	if res.Err != nil {
		h.t.Fatalf("run pipeline %s: %v", rp.Pipeline, res.Err)
	}
	return res
}

func TestRunPipeline(t *testing.T) {
	h := newHarness(t)
	h.create("unrelated")
	res := h.runPipeline(&RunPipeline{Header: Header{Node: "api-1"}, Pipeline: "default", Title: "Add SSO",
		Description: "d", Labels: []string{"security", "critical"}, Payload: []byte(`{"repo":"x"}`)})
	run := res.WorkOrder
	wantIDs := []string{"WO-3", "WO-4", "WO-5", "WO-6", "WO-7"}
	if run.ID != "WO-2" || !slices.Equal(res.IDs, wantIDs) || res.Count != 5 {
		t.Fatalf("run %s, stages %v, count %d", run.ID, res.IDs, res.Count)
	}
	if run.State != StateBlocked || run.BlockedReason != ReasonDependencies || run.Kind != "" || run.Stage != "" ||
		run.Pipeline != "default" || run.PipelineStep != "" || run.Title != "Add SSO" ||
		!slices.Equal(run.Children, wantIDs) || !slices.Equal(run.DependsOn, wantIDs) ||
		run.Bucket != BucketSecurity || run.Priority != PriorityCritical || run.Deadline != run.CreatedAt+int64(DefaultConfig().SLA[BucketSecurity]) {
		t.Fatalf("run %+v", run)
	}
	tpl := DefaultPipeline()
	for i, id := range res.IDs {
		wo := h.wo(id)
		st := tpl.Stages[i]
		wantState, wantDeps, wantDependents := StateBlocked, []string{res.IDs[max(i-1, 0)]}, []string{run.ID}
		if i == 0 {
			wantState, wantDeps = StateQueued, nil
		}
		if i+1 < len(res.IDs) {
			wantDependents = append(wantDependents, res.IDs[i+1])
		}
		if wo.Title != "Add SSO ("+st.Name+")" || wo.Kind != st.AgentType || wo.Stage != st.WIPStage() || wo.Effort != st.Effort ||
			wo.Pipeline != "default" || wo.PipelineStep != st.Name || wo.Parent != run.ID || wo.State != wantState ||
			!slices.Equal(wo.DependsOn, wantDeps) || !slices.Equal(wo.Dependents, wantDependents) ||
			wo.Bucket != run.Bucket || wo.Priority != run.Priority || wo.Deadline != run.Deadline ||
			string(wo.Payload) != `{"repo":"x"}` || !slices.Equal(wo.Labels, []string{"critical", "security"}) || wo.Description != "d" {
			t.Errorf("stage %d: %+v", i, wo)
		}
	}
	if len(res.Receipts) != 6 {
		t.Fatalf("%d receipts", len(res.Receipts))
	}
	for i, r := range res.Receipts {
		if r.Event != EventCreated || r.WorkOrder != FormatID(uint64(i+2)) || r.Node != "api-1" {
			t.Errorf("receipt %d: %+v", i, r)
		}
	}
	// The run is never a candidate: only the first stage is queued.
	if q := h.f.View().Queue("", 0); len(q) != 2 || q[0].ID != "WO-3" || q[1].ID != "WO-1" {
		t.Fatalf("queue %d long", len(q))
	}
	if r := h.do(run.ID, ActionStart); !errors.Is(r.Err, ErrBlockedByDependencies) {
		t.Fatalf("start run: %v", r.Err)
	}
}

// TestPipelineRunCompletes walks a run through its stages: each completion
// unblocks the next stage, and the last completes the run in the same
// Apply, which in turn unblocks what depends on the run.
func TestPipelineRunCompletes(t *testing.T) {
	h := newHarness(t)
	res := h.runPipeline(&RunPipeline{Pipeline: "default", Title: "t"})
	run := res.WorkOrder.ID
	after := h.create("after the run", run).ID
	for i, id := range res.IDs {
		h.apply(&Assign{ID: id, Node: "n1"})
		r := h.apply(&Transition{ID: id, Action: ActionComplete, Attempt: 1})
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		if i+1 < len(res.IDs) {
			if h.state(res.IDs[i+1]) != StateQueued || h.state(run) != StateBlocked {
				t.Fatalf("after stage %d: next %s, run %s", i, h.state(res.IDs[i+1]), h.state(run))
			}
			continue
		}
		var events []string
		for _, rc := range r.Receipts {
			events = append(events, rc.WorkOrder+":"+rc.Event+":"+string(rc.From)+">"+string(rc.To))
		}
		want := []string{id + ":completed:in_progress>completed", run + ":completed:blocked>completed", after + ":unblocked:blocked>queued"}
		if !slices.Equal(events, want) {
			t.Fatalf("last stage receipts %v, want %v", events, want)
		}
	}
	if wo := h.wo(run); wo.State != StateCompleted || wo.CompletedAt == 0 || wo.BlockedReason != "" {
		t.Fatalf("run %+v", wo)
	}
	checkCounters(t, h.f.View())
}

func TestPipelineStageFailureAndCancel(t *testing.T) {
	h := newHarness(t)
	res := h.runPipeline(&RunPipeline{Pipeline: "default", Title: "t"})
	run, ids := res.WorkOrder.ID, res.IDs
	h.must(ids[0], ActionStart)
	h.must(ids[0], ActionComplete)
	h.must(ids[1], ActionStart)
	h.must(ids[1], ActionFail)
	if wo := h.wo(run); wo.State != StateBlocked || wo.BlockedReason != ReasonDependencyFailed+ids[1] {
		t.Fatalf("run after a failed stage: %s %q", wo.State, wo.BlockedReason)
	}
	if wo := h.wo(ids[2]); wo.BlockedReason != ReasonDependencyFailed+ids[1] {
		t.Fatalf("next stage: %q", wo.BlockedReason)
	}
	// Cancelling the run cancels its unfinished stages.
	h.must(run, ActionCancel)
	for i, id := range ids {
		want := map[int]State{0: StateCompleted, 1: StateFailed}[i]
		if want == "" {
			want = StateCancelled
		}
		if got := h.state(id); got != want {
			t.Errorf("stage %d: %s, want %s", i, got, want)
		}
	}
	// A cascading cancel of a stage reaches the run through its edges.
	res = h.runPipeline(&RunPipeline{Pipeline: "default", Title: "u"})
	h.apply(&Transition{ID: res.IDs[0], Action: ActionCancel, Cascade: true})
	if got := h.state(res.WorkOrder.ID); got != StateCancelled {
		t.Fatalf("run after cascade: %s", got)
	}
	checkCounters(t, h.f.View())
}

// TestPipelineRunInvariants: a run takes no sub-work orders and keeps its
// edges to its stages; other edges may change, and removing the last
// unfinished one completes a run whose stages are done.
func TestPipelineRunInvariants(t *testing.T) {
	h := newHarness(t)
	res := h.runPipeline(&RunPipeline{Pipeline: "default", Title: "t"})
	run, ids := res.WorkOrder.ID, res.IDs
	before := h.tables()
	r := h.apply(&CreateWorkOrder{Spec: WorkOrderSpec{Title: "extra", Parent: run}})
	if !errors.Is(r.Err, ErrInvalidTransition) || !strings.Contains(r.Err.Error(), "it is a pipeline run") {
		t.Fatalf("sub-work order of a run: %v", r.Err)
	}
	r = h.apply(&RemoveDependency{ID: run, DependsOn: []string{ids[2]}})
	want := "invalid_transition: cannot remove " + run + " → " + ids[2] + ": " + run + " is a pipeline run, which completes when its stages do"
	if r.Err == nil || r.Err.Error() != want {
		t.Fatalf("got %v\nwant %s", r.Err, want)
	}
	if !bytes.Equal(before, h.tables()) {
		t.Fatal("a refused command changed the state")
	}
	// Stages may be decoupled: the third no longer waits for the second.
	if r := h.apply(&RemoveDependency{ID: ids[2], DependsOn: []string{ids[1]}}); r.Err != nil || r.WorkOrder.State != StateQueued {
		t.Fatalf("decouple stages: %v", r.Err)
	}
	gate := h.create("gate").ID
	if r := h.apply(&AddDependency{ID: run, DependsOn: []string{gate}}); r.Err != nil {
		t.Fatal(r.Err)
	}
	for range ids { // each pass finishes what is queued, which unblocks the next

		for _, id := range ids {
			if h.state(id) == StateQueued {
				h.must(id, ActionStart)
				h.must(id, ActionComplete)
			}
		}
	}
	if got := h.state(run); got != StateBlocked {
		t.Fatalf("run completed while its gate is open: %s", got)
	}
	r = h.apply(&RemoveDependency{ID: run, DependsOn: []string{gate}})
	if r.Err != nil || r.WorkOrder.State != StateCompleted {
		t.Fatalf("removing the gate: %v %+v", r.Err, r.WorkOrder)
	}
	if last := r.Receipts[len(r.Receipts)-1]; last.Event != EventCompleted || last.From != StateBlocked {
		t.Fatalf("receipt %+v", last)
	}
}

func TestPipelineErrors(t *testing.T) {
	h := newHarness(t)
	before := h.tables()
	r := h.apply(&RunPipeline{Pipeline: "nightly", Title: "t"})
	if !errors.Is(r.Err, ErrNotFound) || r.Err.Error() != `not_found: pipeline "nightly" not found (have: default)` {
		t.Fatalf("unknown pipeline: %v", r.Err)
	}
	if !bytes.Equal(before, h.tables()) {
		t.Fatal("a refused run changed the state")
	}
	long := strings.Repeat("é", MaxPipelineTitleLen+1)
	for _, c := range []struct {
		rp  *RunPipeline
		msg string
	}{
		{&RunPipeline{Title: "t"}, "pipeline: empty"},
		{&RunPipeline{Pipeline: "a b", Title: "t"}, "pipeline: contains a space or control character"},
		{&RunPipeline{Pipeline: "default"}, "title: empty"},
		{&RunPipeline{Pipeline: "default", Title: long}, "title: 370 characters (max 369 for a pipeline run)"},
		{&RunPipeline{Pipeline: "default", Title: "t", Bucket: "x"}, `bucket: unknown bucket "x"`},
		{&RunPipeline{Pipeline: "default", Title: "t", Priority: 7}, "priority: unknown priority 7"},
		{&RunPipeline{Pipeline: "default", Title: "t", Labels: []string{""}}, "labels[0]: want 1..64 printable bytes"},
		{&RunPipeline{Pipeline: "default", Title: "t", Deadline: -1}, "deadline: negative"},
	} {
		var fe *Error
		if err := Validate(c.rp); !errors.As(err, &fe) || fe.Code != ErrInvalidArgument.Code || fe.Message != c.msg {
			t.Errorf("validate %+v: %v, want %s", c.rp, err, c.msg)
		}
	}
	// The longest title still gives stage titles within MaxTitleLen.
	cfg := DefaultSchedulerConfig()
	cfg.Pipelines = []PipelineTemplate{{Name: "p", Stages: []PipelineStage{{Name: strings.Repeat("n", MaxNameLen)}}}}
	h.apply(&SetSchedulerConfig{Config: cfg})
	res := h.runPipeline(&RunPipeline{Pipeline: "p", Title: long[:len(long)-2]})
	if err := validateSpec(&WorkOrderSpec{Title: h.wo(res.IDs[0]).Title}); err != nil {
		t.Fatalf("stage title: %v", err)
	}
}

func TestPipelineIdempotentAndWIP(t *testing.T) {
	h := newHarness(t)
	h.setLimits(map[string]int{"design": 1}, nil)
	hdr := Header{RequestID: "run-1"}
	first := h.runPipeline(&RunPipeline{Header: hdr, Pipeline: "default", Title: "t"})
	before := h.tables()
	again := h.runPipeline(&RunPipeline{Header: hdr, Pipeline: "default", Title: "t"})
	if again.WorkOrder != first.WorkOrder || !slices.Equal(again.IDs, first.IDs) || len(again.Receipts) != 6 || !bytes.Equal(before, h.tables()) {
		t.Fatalf("retry: %+v", again)
	}
	// Research and plan count against the "design" WIP stage.
	second := h.runPipeline(&RunPipeline{Pipeline: "default", Title: "u"})
	if r := h.apply(&Assign{ID: first.IDs[0], Node: "n"}); r.Err != nil {
		t.Fatal(r.Err)
	}
	r := h.apply(&Assign{ID: second.IDs[0], Node: "n"})
	if !errors.Is(r.Err, ErrWIPLimit) || !strings.Contains(r.Err.Error(), "stage design") {
		t.Fatalf("second research stage: %v", r.Err)
	}
	// In a Batch, a run is atomic and later commands see it.
	out := h.applyRaw(&Batch{Commands: []Command{
		&RunPipeline{Pipeline: "default", Title: "v"},
		&Assign{ID: "WO-14", Node: "n"}, // v's research stage: design is full
		&Transition{ID: "WO-14", Action: ActionCancel},
	}}).([]*Result)
	if out[0].Err != nil || out[0].WorkOrder.ID != "WO-13" || !errors.Is(out[1].Err, ErrWIPLimit) || out[2].Err != nil {
		t.Fatalf("batch: %v %v %v", out[0].Err, out[1].Err, out[2].Err)
	}
	checkCounters(t, h.f.View())
}
