package fsm

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestExplain(t *testing.T) {
	h := newHarness(t)
	h.setLimits(map[string]int{"code": 1}, map[string]int{BucketCost: 1})
	dep1, dep2 := h.create("dep 1").ID, h.create("dep 2").ID                                             // WO-1, WO-2
	blocked := h.create("blocked", dep1, dep2).ID                                                        // WO-3
	failedDep := h.inState(StateFailed)                                                                  // WO-4
	onFailed := h.create("on failed", failedDep).ID                                                      // WO-5
	running := h.staged("code", BucketFeatures)                                                          // WO-6
	h.ok(&Assign{ID: running, Node: "n1", AgentType: "coder"})                                           //
	stageFull := h.staged("code", BucketFeatures)                                                        // WO-7
	costRunning := h.staged("", BucketCost)                                                              // WO-8
	h.ok(&Assign{ID: costRunning, Node: "n2"})                                                           //
	bucketFull := h.staged("", BucketCost)                                                               // WO-9
	ready := h.create("ready").ID                                                                        // WO-10
	flaky := h.mustCreate(WorkOrderSpec{Title: "flaky", Retry: RetryPolicy{InitialDelay: time.Hour}}).ID // WO-11
	h.ok(&Assign{ID: flaky, Node: "n1"})                                                                 //
	h.ok(&Transition{ID: flaky, Action: ActionFail, Attempt: 1, Reason: "timeout"})
	quarantined := h.mustCreate(WorkOrderSpec{Title: "q", Bucket: BucketSecurity}).ID // WO-12
	h.ok(&AndonTrigger{WorkOrder: quarantined, Class: "manual"})                      // AN-1, fix WO-13
	stopped := h.mustCreate(WorkOrderSpec{Title: "s", Bucket: BucketSecurity}).ID     // WO-14

	v := h.f.View()
	now := v.Now()
	tests := []struct {
		id    string
		codes []ExplainCode
		want  string // in the first message
		refs  []string
	}{
		{failedDep, []ExplainCode{ExplainTerminal}, "is failed", nil},
		{running, []ExplainCode{ExplainRunning}, "attempt 1 on node n1, agent coder", nil},
		{blocked, []ExplainCode{ExplainDependencies}, "2 unfinished dependencies: WO-1, WO-2", []string{dep1, dep2}},
		{onFailed, []ExplainCode{ExplainDependencyFailed}, "WO-4", []string{failedDep}},
		{stageFull, []ExplainCode{ExplainWIPLimit}, "stage code is at its WIP limit (1 of 1 in flight)", nil},
		{bucketFull, []ExplainCode{ExplainWIPLimit}, "bucket cost is at its WIP limit (1 of 1 in flight)", nil},
		{ready, nil, "", nil},
		{flaky, []ExplainCode{ExplainBackoff}, "after: timeout", nil},
		{quarantined, []ExplainCode{ExplainQuarantined, ExplainDependencies}, "quarantined by andon AN-1", []string{"AN-1"}},
		{stopped, []ExplainCode{ExplainLineStopped}, "line bucket:security is stopped by andon AN-1", []string{"AN-1"}},
		{"WO-13", nil, "", nil}, // the fix runs on the stopped line
	}
	for _, tc := range tests {
		x, err := v.ExplainAt(tc.id, now)
		if err != nil {
			t.Fatal(err)
		}
		var codes []ExplainCode
		for _, r := range x.Reasons {
			codes = append(codes, r.Code)
		}
		if !reflect.DeepEqual(codes, tc.codes) {
			t.Errorf("%s: codes %v, want %v (%+v)", tc.id, codes, tc.codes, x.Reasons)
			continue
		}
		if len(x.Reasons) > 0 && (!strings.Contains(x.Reasons[0].Message, tc.want) || !reflect.DeepEqual(x.Reasons[0].Refs, tc.refs)) {
			t.Errorf("%s: %+v, want %q and refs %v", tc.id, x.Reasons[0], tc.want, tc.refs)
		}
	}
	// A backoff is judged at the caller's time.
	wo := h.wo(flaky)
	if x, _ := v.ExplainAt(flaky, wo.NotBefore); len(x.Reasons) != 0 {
		t.Fatalf("backoff over: %+v", x.Reasons)
	}
	if x, _ := v.Explain(bucketFull); x.Reasons[0].Count != 1 || x.Reasons[0].Limit != 1 {
		t.Fatalf("wip counts: %+v", x.Reasons[0])
	}
	if _, err := v.Explain("WO-404"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	run := h.runPipeline(&RunPipeline{Pipeline: DefaultPipelineName, Title: "p"})
	if x, _ := h.f.View().Explain(run.WorkOrder.ID); x.Reasons[0].Code != ExplainPipelineRun {
		t.Fatalf("pipeline run: %+v", x.Reasons)
	}
}
