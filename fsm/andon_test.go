package fsm

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// TestAndonEndToEnd pulls the cord on a running work order and follows
// the line stop, the fix work order and the resolution.
func TestAndonEndToEnd(t *testing.T) {
	h := newHarness(t)
	a := h.mustCreate(WorkOrderSpec{Title: "deploy", Bucket: BucketReliability, Kind: "shell"}).ID // WO-1
	b := h.mustCreate(WorkOrderSpec{Title: "next", Bucket: BucketReliability}).ID                  // WO-2
	c := h.mustCreate(WorkOrderSpec{Title: "elsewhere", Bucket: BucketCost}).ID                    // WO-3
	h.ok(&Assign{ID: a, Node: "n1"})

	res := h.ok(&AndonTrigger{Header: Header{Node: "leader"}, WorkOrder: a, Class: "agent_failure", Reason: "crash loop",
		Whys: []string{"the agent crashed", "the disk was full"}, FixKind: "coder"})
	an, wo := res.Andon, res.WorkOrder
	if an == nil || an.ID != "AN-1" || an.State != AndonOpen || an.Scope != ScopeBucket || an.Line != BucketReliability ||
		an.WorkOrder != a || !an.Quarantined || an.FixWorkOrder != "WO-4" || an.Node != "leader" || len(res.IDs) != 1 || res.IDs[0] != "WO-4" {
		t.Fatalf("andon %+v, ids %v", an, res.IDs)
	}
	if wo.State != StateBlocked || wo.Andon != "AN-1" || wo.BlockedReason != "andon:AN-1" || wo.Attempt != 2 ||
		wo.Assignee != (Assignee{}) || !reflect.DeepEqual(wo.DependsOn, []string{"WO-4"}) {
		t.Fatalf("quarantined work order %+v", wo)
	}
	fix := h.wo("WO-4")
	if fix.State != StateQueued || fix.FixFor != "AN-1" || fix.Bucket != BucketReliability || fix.Priority != PriorityHigh ||
		fix.Kind != "coder" || fix.Title != "Fix AN-1: deploy" || !strings.Contains(fix.Description, "Why 2: the disk was full") ||
		!reflect.DeepEqual(fix.Dependents, []string{a}) || !hasLabel(fix.Labels, AndonLabel) {
		t.Fatalf("fix work order %+v", fix)
	}
	if got := events(res.Receipts); !reflect.DeepEqual(got, []string{"WO-1:andon_triggered", "WO-4:created", "WO-1:dependency_added"}) {
		t.Fatalf("receipts %v", got)
	}
	if r := res.Receipts[0]; r.From != StateInProgress || r.To != StateBlocked || r.EvidenceDigest != AndonDigest(an) {
		t.Fatalf("andon_triggered receipt %+v", r)
	}
	checkCounters(t, h.f.View())

	// The line is stopped: nothing else of the bucket starts; the fix
	// and other buckets do. The stopped attempt's reports are stale.
	before := h.tables()
	for _, cmd := range []Command{&Assign{ID: b, Node: "n1"}, &Transition{ID: b, Action: ActionStart}} {
		r := h.apply(cmd)
		if !errors.Is(r.Err, ErrLineStopped) || !strings.Contains(r.Err.Error(), "AN-1") || !strings.Contains(r.Err.Error(), "bucket:reliability") {
			t.Fatalf("%T on a stopped line: %v", cmd, r.Err)
		}
	}
	if r := h.apply(&Transition{ID: a, Action: ActionComplete, Attempt: 1}); !errors.Is(r.Err, ErrStaleAttempt) {
		t.Fatalf("report of the quarantined attempt: %v", r.Err)
	}
	if !bytes.Equal(before, h.tables()) {
		t.Fatal("a refused start changed the state")
	}
	v := h.f.View()
	if lines := v.StoppedLines(); len(lines) != 1 || lines[0].Name() != "bucket:reliability" || !reflect.DeepEqual(lines[0].Andons, []string{"AN-1"}) {
		t.Fatalf("stopped lines %+v", lines)
	}
	if v.StoppedBy(h.wo(b)) == nil || v.StoppedBy(fix) != nil || v.StoppedBy(h.wo(c)) != nil {
		t.Fatal("StoppedBy")
	}
	h.ok(&Assign{ID: c, Node: "n2"})
	h.ok(&Assign{ID: "WO-4", Node: "n2"})

	// 5 whys are edited while the fix runs.
	up := h.ok(&AndonUpdate{ID: "AN-1", Whys: []string{"1", "2", "3", "4", "5"}, RootCause: "no disk alerts"})
	if up.Andon.RootCause != "no disk alerts" || len(up.Andon.Whys) != 5 || up.Receipts[0].Event != EventAndonUpdated ||
		up.Receipts[0].WorkOrder != a || up.Receipts[0].EvidenceDigest != AndonDigest(up.Andon) {
		t.Fatalf("update %+v", up.Andon)
	}
	if old, _ := v.Andon("AN-1"); old.RootCause != "" {
		t.Fatal("an older view saw the update")
	}

	// The fix completes: the work order stays quarantined until resolved.
	h.ok(&Transition{ID: "WO-4", Action: ActionComplete, Attempt: 1})
	if wo := h.wo(a); wo.State != StateBlocked || wo.BlockedReason != "andon:AN-1" {
		t.Fatalf("after the fix: %s %s", wo.State, wo.BlockedReason)
	}
	res = h.ok(&AndonResolve{ID: "AN-1", Resolution: "disk alerts added"})
	if got := events(res.Receipts); !reflect.DeepEqual(got, []string{"WO-1:andon_resolved", "WO-1:unblocked"}) {
		t.Fatalf("resolve receipts %v", got)
	}
	if wo := res.WorkOrder; wo.State != StateQueued || wo.Andon != "" || wo.BlockedReason != "" || res.Andon.State != AndonResolved ||
		res.Andon.Resolution != "disk alerts added" || res.Andon.ResolvedAt == 0 {
		t.Fatalf("after resolve: %+v %+v", wo, res.Andon)
	}
	v = h.f.View()
	if len(v.StoppedLines()) != 0 || len(v.Andons(true)) != 0 || len(v.Andons(false)) != 1 {
		t.Fatal("the line did not resume")
	}
	h.ok(&Assign{ID: b, Node: "n1"})
	if wo := h.ok(&Assign{ID: a, Node: "n1"}).WorkOrder; wo.Attempt != 3 {
		t.Fatalf("attempt after quarantine %d", wo.Attempt)
	}
	if r := h.apply(&AndonResolve{ID: "AN-1", Resolution: "again"}); !errors.Is(r.Err, ErrInvalidTransition) {
		t.Fatalf("second resolve: %v", r.Err)
	}
	checkCounters(t, h.f.View())
	if !h.f.View().Verify(0, 0).OK {
		t.Fatal("chain")
	}
}

func TestAndonResolveBeforeFix(t *testing.T) {
	h := newHarness(t)
	a := h.create("queued one").ID
	h.ok(&AndonTrigger{WorkOrder: a, Class: "manual"})
	res := h.ok(&AndonResolve{ID: "AN-1", Resolution: "resume now"})
	if wo := res.WorkOrder; wo.State != StateBlocked || wo.BlockedReason != ReasonDependencies {
		t.Fatalf("resolved before the fix: %s %q", wo.State, wo.BlockedReason)
	}
	if r := res.Receipts[0]; r.From != StateBlocked || r.To != StateBlocked {
		t.Fatalf("receipt %+v", r)
	}
	h.ok(&Transition{ID: "WO-2", Action: ActionStart})
	h.ok(&Transition{ID: "WO-2", Action: ActionComplete})
	if st := h.state(a); st != StateQueued {
		t.Fatalf("after the fix completed: %s", st)
	}
}

func TestAndonPipelineScope(t *testing.T) {
	h := newHarness(t)
	run1 := h.runPipeline(&RunPipeline{Pipeline: DefaultPipelineName, Title: "one"}) // WO-1 run, WO-2..6 stages
	h.runPipeline(&RunPipeline{Pipeline: DefaultPipelineName, Title: "two"})         // WO-7 run, WO-8..12
	other := h.create("not a pipeline").ID                                           // WO-13
	stage := run1.IDs[0]
	h.ok(&Assign{ID: stage, Node: "n1"})
	res := h.ok(&AndonTrigger{WorkOrder: stage, Scope: ScopePipeline, Class: "agent_failure"})
	if res.Andon.Line != DefaultPipelineName || res.Andon.LineName() != "pipeline:default" {
		t.Fatalf("line %q", res.Andon.Line)
	}
	if r := h.apply(&Assign{ID: "WO-8", Node: "n1"}); !errors.Is(r.Err, ErrLineStopped) {
		t.Fatalf("another run of the stopped pipeline: %v", r.Err)
	}
	h.ok(&Assign{ID: other, Node: "n1"}) // same bucket, not the pipeline
	before := h.tables()
	if r := h.apply(&AndonTrigger{WorkOrder: other, Scope: ScopePipeline, Class: "x"}); !errors.Is(r.Err, ErrInvalidArgument) || !bytes.Equal(before, h.tables()) {
		t.Fatalf("pipeline scope without a pipeline: %v", r.Err)
	}
	if r := h.apply(&AndonTrigger{WorkOrder: stage, Class: "again"}); !errors.Is(r.Err, ErrInvalidTransition) || !bytes.Equal(before, h.tables()) {
		t.Fatalf("second andon on a quarantined work order: %v", r.Err)
	}
	x, _ := h.f.View().Explain("WO-8")
	if !hasCode(x, ExplainLineStopped) {
		t.Fatalf("explain %+v", x)
	}
}

func TestAndonOnTerminalAndCancelled(t *testing.T) {
	h := newHarness(t)
	failed := h.inState(StateFailed)                                          // WO-1
	res := h.ok(&AndonTrigger{WorkOrder: failed, Class: "retries_exhausted"}) // AN-1, fix WO-2
	if res.Andon.Quarantined || res.WorkOrder.State != StateFailed || res.WorkOrder.Andon != "" || len(res.WorkOrder.DependsOn) != 0 {
		t.Fatalf("andon on a failed work order: %+v %+v", res.Andon, res.WorkOrder)
	}
	if got := events(res.Receipts); !reflect.DeepEqual(got, []string{"WO-1:andon_triggered", "WO-2:created"}) {
		t.Fatalf("receipts %v", got)
	}
	if len(h.f.View().StoppedLines()) != 1 {
		t.Fatal("the line is not stopped")
	}
	// A quarantined work order that is cancelled leaves quarantine; the
	// andon stays open until resolved.
	q := h.create("to cancel").ID // WO-3
	h.ok(&AndonTrigger{WorkOrder: q, Class: "manual"})
	if wo := h.must(q, ActionCancel); wo.Andon != "" || wo.State != StateCancelled {
		t.Fatalf("cancelled: %+v", wo)
	}
	if a, _ := h.f.View().Andon("AN-2"); a.State != AndonOpen {
		t.Fatal("cancel resolved the andon")
	}
	res = h.ok(&AndonResolve{ID: "AN-2", Resolution: "dropped"})
	if res.Receipts[0].From != StateCancelled || len(res.Receipts) != 1 {
		t.Fatalf("resolve of a cancelled work order's andon: %+v", res.Receipts[0])
	}
	h.ok(&AndonResolve{ID: "AN-1", Resolution: "ok"})
	if len(h.f.View().StoppedLines()) != 0 {
		t.Fatal("lines still stopped")
	}
}

func TestAndonErrorsChangeNothing(t *testing.T) {
	h := failureHarness(t)
	bad := []struct {
		cmd  Command
		want *Error
	}{
		{&AndonTrigger{WorkOrder: "WO-99", Class: "x"}, ErrNotFound},
		{&AndonTrigger{WorkOrder: "WO-1", Class: ""}, ErrInvalidArgument},
		{&AndonTrigger{WorkOrder: "WO-1", Class: "has space"}, ErrInvalidArgument},
		{&AndonTrigger{WorkOrder: "WO-1", Class: "x", Scope: "plant"}, ErrInvalidArgument},
		{&AndonTrigger{WorkOrder: "WO-1", Class: "x", Whys: make([]string, MaxWhys+1)}, ErrInvalidArgument},
		{&AndonTrigger{WorkOrder: "WO-1", Class: "x", Whys: []string{""}}, ErrInvalidArgument},
		{&AndonUpdate{ID: "AN-1"}, ErrInvalidArgument},
		{&AndonUpdate{ID: "AN-9", RootCause: "x"}, ErrNotFound},
		{&AndonUpdate{ID: "WO-1", RootCause: "x"}, ErrInvalidArgument},
		{&AndonResolve{ID: "AN-1"}, ErrInvalidArgument},
		{&AndonResolve{ID: "AN-2", Resolution: "x"}, ErrInvalidTransition},
		{&AndonResolve{ID: "AN-0", Resolution: "x"}, ErrInvalidArgument},
	}
	for i, tc := range bad {
		before := h.tables()
		if r := h.apply(tc.cmd); !errors.Is(r.Err, tc.want) {
			t.Fatalf("%d %T: %v, want %s", i, tc.cmd, r.Err, tc.want.Code)
		}
		if !bytes.Equal(before, h.tables()) {
			t.Fatalf("%d: a refused command changed the state", i)
		}
	}
}

// TestFailureStateSnapshotRoundTrip restores a state that uses every
// failure-handling feature and checks the views and that applying more
// commands keeps the restored FSM identical.
func TestFailureStateSnapshotRoundTrip(t *testing.T) {
	h := failureHarness(t)
	snap := h.snapshot()
	f := restoreFrom(t, snap)
	if !bytes.Equal(viewSnapshot(t, f.View()), snap) {
		t.Fatal("restore + snapshot is not byte-identical")
	}
	v, w := h.f.View(), f.View()
	if !reflect.DeepEqual(v.Andons(false), w.Andons(false)) || !reflect.DeepEqual(v.StoppedLines(), w.StoppedLines()) ||
		len(w.Andons(true)) != 1 {
		t.Fatal("andons differ after restore")
	}
	for _, id := range []string{"WO-1", "WO-2", "WO-3", "WO-4", "WO-5"} {
		a, _ := v.WorkOrder(id)
		b, _ := w.WorkOrder(id)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%s differs:\n%+v\n%+v", id, a, b)
		}
	}
	g := &harness{t: t, f: f, index: h.index, now: h.now}
	for _, c := range []Command{
		&AndonResolve{ID: "AN-1", Resolution: "done"},
		&AndonTrigger{WorkOrder: "WO-1", Class: "again"},
		&Transition{ID: "WO-1", Action: ActionFail, Attempt: 2},
	} {
		h.applyRaw(c)
		g.applyRaw(c)
	}
	if !bytes.Equal(h.snapshot(), g.snapshot()) {
		t.Fatal("the restored FSM diverged")
	}
	// Replays of andon commands return the andon.
	hdr := Header{RequestID: "andon-1"}
	first := h.ok(&AndonTrigger{Header: hdr, WorkOrder: "WO-5", Class: "manual"})
	again := h.apply(&AndonTrigger{Header: hdr, WorkOrder: "WO-5", Class: "manual"})
	if again.Err != nil || again.Andon != first.Andon || !reflect.DeepEqual(again.IDs, first.IDs) {
		t.Fatalf("replay: %+v", again)
	}
	// Restore refuses dangling andon references.
	bad := bytes.Clone(h.snapshot())
	i := bytes.LastIndex(bad, []byte("\x04AN-")) // a work order's Andon or FixFor field
	bad[i+4] = '9'
	if err := New(DefaultConfig()).Restore(io.NopCloser(bytes.NewReader(bad))); !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("dangling andon reference: %v", err)
	}
}

func hasCode(x *Explanation, c ExplainCode) bool {
	for _, r := range x.Reasons {
		if r.Code == c {
			return true
		}
	}
	return false
}
