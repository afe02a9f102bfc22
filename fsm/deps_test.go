package fsm

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func events(rs []*Receipt) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.WorkOrder+":"+r.Event)
	}
	return out
}

func TestDependencyErrors(t *testing.T) {
	h := newHarness(t)
	w1 := h.create("one").ID
	w2 := h.create("two", w1).ID
	w3 := h.create("three", w2).ID

	tests := []struct {
		name string
		cmd  Command
		want *Error
		msg  string
	}{
		{"self", &AddDependency{ID: w1, DependsOn: []string{w1}}, ErrSelfDependency, "WO-1 cannot depend on itself"},
		{"two-cycle", &AddDependency{ID: w1, DependsOn: []string{w2}}, ErrCycle, "WO-1 → WO-2 → WO-1"},
		{"long-cycle", &AddDependency{ID: w1, DependsOn: []string{w3}}, ErrCycle, "WO-1 → WO-3 → WO-2 → WO-1"},
		{"unknown dep", &AddDependency{ID: w1, DependsOn: []string{"WO-99"}}, ErrNotFound, "WO-99"},
		{"unknown id", &AddDependency{ID: "WO-77", DependsOn: []string{w1}}, ErrNotFound, "WO-77"},
		{"create unknown", &CreateWorkOrder{Spec: WorkOrderSpec{Title: "x", DependsOn: []string{"WO-50"}}}, ErrNotFound, "WO-50"},
		{"create self", &CreateWorkOrder{Spec: WorkOrderSpec{Title: "x", DependsOn: []string{"WO-4"}}}, ErrSelfDependency, "WO-4"},
		{"remove missing edge", &RemoveDependency{ID: w1, DependsOn: []string{w3}}, ErrNotFound, "WO-1 does not depend on WO-3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := h.tables()
			res := h.apply(tc.cmd)
			if !errors.Is(res.Err, tc.want) || !strings.Contains(res.Err.Error(), tc.msg) {
				t.Fatalf("got %v, want %s containing %q", res.Err, tc.want.Code, tc.msg)
			}
			if !bytes.Equal(before, h.tables()) {
				t.Fatal("refused command changed the state")
			}
		})
	}
	res := h.apply(&AddDependency{ID: w1, DependsOn: []string{w3}})
	if got := res.Err.(*Error).Cycle; !reflect.DeepEqual(got, []string{"WO-1", "WO-3", "WO-2", "WO-1"}) {
		t.Fatalf("cycle %v", got)
	}
	// Adding a dependency to a started work order is refused.
	w4 := h.create("four").ID
	h.must(w4, ActionStart)
	if res := h.apply(&AddDependency{ID: w4, DependsOn: []string{w1}}); !errors.Is(res.Err, ErrInvalidTransition) {
		t.Fatalf("add to started: %v", res.Err)
	}
}

func TestDiamondUnblocksInOneApply(t *testing.T) {
	h := newHarness(t)
	a := h.create("a").ID
	b := h.create("b", a).ID
	c := h.create("c", a).ID
	d := h.create("d", b, c).ID
	if s := h.wo(d); s.State != StateBlocked || s.BlockedReason != ReasonDependencies {
		t.Fatalf("d: %s %q", s.State, s.BlockedReason)
	}
	if res := h.do(d, ActionStart); !errors.Is(res.Err, ErrBlockedByDependencies) {
		t.Fatalf("start blocked: %v", res.Err)
	}
	h.must(a, ActionStart)
	res := h.do(a, ActionComplete)
	if got := events(res.Receipts); !reflect.DeepEqual(got, []string{a + ":completed", b + ":unblocked", c + ":unblocked"}) {
		t.Fatalf("receipts %v", got)
	}
	h.must(b, ActionStart)
	h.must(b, ActionComplete)
	if h.state(d) != StateBlocked {
		t.Fatal("d unblocked with c unfinished")
	}
	h.must(c, ActionStart)
	res = h.do(c, ActionComplete)
	if got := events(res.Receipts); !reflect.DeepEqual(got, []string{c + ":completed", d + ":unblocked"}) {
		t.Fatalf("receipts %v", got)
	}
	if h.state(d) != StateQueued {
		t.Fatal("d not queued after its last dependency completed")
	}
	// Depending on a completed work order does not block.
	e := h.create("e", a).ID
	if h.state(e) != StateQueued {
		t.Fatal("a dependency on a completed work order blocked")
	}
	// Adding an unfinished dependency to a queued one blocks it.
	f := h.create("f").ID
	res = h.apply(&AddDependency{ID: e, DependsOn: []string{f}})
	if res.Err != nil || res.WorkOrder.State != StateBlocked {
		t.Fatalf("add: %v %v", res.Err, res.WorkOrder.State)
	}
	if got := events(res.Receipts); !reflect.DeepEqual(got, []string{e + ":dependency_added", e + ":blocked"}) {
		t.Fatalf("receipts %v", got)
	}
	if !reflect.DeepEqual(h.wo(f).Dependents, []string{e}) {
		t.Fatalf("dependents of f: %v", h.wo(f).Dependents)
	}
	// Removing the last unfinished dependency unblocks.
	res = h.apply(&RemoveDependency{ID: e, DependsOn: []string{f}})
	if got := events(res.Receipts); !reflect.DeepEqual(got, []string{e + ":dependency_removed", e + ":unblocked"}) {
		t.Fatalf("receipts %v", got)
	}
	if len(h.wo(f).Dependents) != 0 {
		t.Fatal("dependent not unlinked")
	}
}

func TestDependencyFailAndCancel(t *testing.T) {
	h := newHarness(t)
	a := h.create("a").ID
	b := h.create("b").ID
	x := h.create("x", a, b).ID
	y := h.create("y", x).ID
	h.must(a, ActionStart)
	res := h.do(a, ActionFail)
	if got := events(res.Receipts); !reflect.DeepEqual(got, []string{a + ":failed", x + ":dependency_failed"}) {
		t.Fatalf("receipts %v", got)
	}
	if w := h.wo(x); w.State != StateBlocked || w.BlockedReason != "dependency_failed:"+a {
		t.Fatalf("x: %s %q", w.State, w.BlockedReason)
	}
	if h.wo(y).BlockedReason != ReasonDependencies {
		t.Fatalf("y: %q", h.wo(y).BlockedReason)
	}
	// Removing the failed edge leaves x waiting for b only.
	h.apply(&RemoveDependency{ID: x, DependsOn: []string{a}})
	if w := h.wo(x); w.State != StateBlocked || w.BlockedReason != ReasonDependencies {
		t.Fatalf("x after dep rm: %s %q", w.State, w.BlockedReason)
	}
	h.must(b, ActionCancel)
	if w := h.wo(x); w.BlockedReason != "dependency_cancelled:"+b {
		t.Fatalf("x after cancel of b: %q", w.BlockedReason)
	}
	res = h.apply(&RemoveDependency{ID: x, DependsOn: []string{b}})
	if res.Err != nil || res.WorkOrder.State != StateQueued {
		t.Fatalf("x after removing the cancelled edge: %v %s", res.Err, res.WorkOrder.State)
	}
}

func TestCancelCascade(t *testing.T) {
	h := newHarness(t)
	a := h.create("a").ID
	b := h.create("b", a).ID
	c := h.create("c", b).ID
	d := h.create("d", a).ID
	other := h.create("other").ID
	e := h.create("e", c, other).ID
	res := h.apply(&Transition{ID: a, Action: ActionCancel, Cascade: true})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	want := []string{a + ":cancelled", b + ":cancelled", d + ":cancelled", c + ":cancelled", e + ":cancelled"}
	if got := events(res.Receipts); !reflect.DeepEqual(got, want) {
		t.Fatalf("receipts %v, want %v", got, want)
	}
	if h.state(other) != StateQueued {
		t.Fatal("cascade touched an unrelated work order")
	}
	// Without cascade dependents stay blocked.
	p := h.create("p").ID
	q := h.create("q", p).ID
	h.must(p, ActionCancel)
	if w := h.wo(q); w.State != StateBlocked || w.BlockedReason != "dependency_cancelled:"+p {
		t.Fatalf("q: %s %q", w.State, w.BlockedReason)
	}
}

func TestSubWorkOrders(t *testing.T) {
	h := newHarness(t)
	p := h.create("parent").ID
	c1 := h.mustCreate(WorkOrderSpec{Title: "child 1", Parent: p}).ID
	c2 := h.mustCreate(WorkOrderSpec{Title: "child 2", Parent: p}).ID
	g := h.mustCreate(WorkOrderSpec{Title: "grandchild", Parent: c2}).ID
	if got := h.wo(p).Children; !reflect.DeepEqual(got, []string{c1, c2}) {
		t.Fatalf("children %v", got)
	}
	h.must(p, ActionStart)
	if res := h.do(p, ActionComplete); !errors.Is(res.Err, ErrChildrenUnfinished) || !strings.Contains(res.Err.Error(), c1) {
		t.Fatalf("complete with open children: %v", res.Err)
	}
	h.must(c1, ActionStart)
	h.must(c1, ActionComplete)
	h.must(c2, ActionStart)
	res := h.do(p, ActionCancel)
	if got := events(res.Receipts); !reflect.DeepEqual(got, []string{p + ":cancelled", c2 + ":cancelled", g + ":cancelled"}) {
		t.Fatalf("receipts %v", got)
	}
	if h.state(c1) != StateCompleted {
		t.Fatal("completed child changed")
	}
	if res := h.apply(&CreateWorkOrder{Spec: WorkOrderSpec{Title: "late", Parent: p}}); !errors.Is(res.Err, ErrInvalidTransition) {
		t.Fatalf("child of terminal parent: %v", res.Err)
	}
	if res := h.apply(&CreateWorkOrder{Spec: WorkOrderSpec{Title: "orphan", Parent: "WO-99"}}); !errors.Is(res.Err, ErrNotFound) {
		t.Fatalf("child of unknown parent: %v", res.Err)
	}
	// A parent completes once its children are terminal.
	p2 := h.create("parent 2").ID
	k := h.mustCreate(WorkOrderSpec{Title: "kid", Parent: p2}).ID
	h.must(k, ActionCancel)
	h.must(p2, ActionStart)
	h.must(p2, ActionComplete)
}

func TestQueueOrder(t *testing.T) {
	h := newHarness(t)
	mk := func(title string, p Priority, effort int64, bucket string) string {
		return h.mustCreate(WorkOrderSpec{Title: title, Priority: p, Effort: effort, Bucket: bucket}).ID
	}
	same := t0 + 100e9
	mkAt := func(title string, effort int64) string {
		return h.apply(&CreateWorkOrder{Header: Header{Time: same}, Spec: WorkOrderSpec{Title: title, Effort: effort}}).WorkOrder.ID
	}
	low := mk("low", PriorityLow, 0, "features")
	crit := mk("crit", PriorityCritical, 0, "security")
	med1 := mk("med1", PriorityMedium, 0, "features")
	high := mk("high", PriorityHigh, 0, "cost")
	h.now = same - 1e9
	unknown := mkAt("unknown effort", 0)
	long := mkAt("long", 50)
	short := mkAt("short", 5)
	started := mk("started", PriorityCritical, 0, "features")
	h.must(started, ActionStart)
	var got []string
	for _, wo := range h.f.View().Queue("", 0) {
		got = append(got, wo.ID)
	}
	want := []string{crit, high, med1, short, long, unknown, low}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("queue %v, want %v", got, want)
	}
	got = got[:0]
	for _, wo := range h.f.View().Queue("features", 2) {
		got = append(got, wo.ID)
	}
	if !reflect.DeepEqual(got, []string{med1, short}) {
		t.Fatalf("features queue %v", got)
	}
}

func TestDerivation(t *testing.T) {
	tests := []struct {
		spec   WorkOrderSpec
		prio   Priority
		bucket string
	}{
		{WorkOrderSpec{Labels: []string{"critical", "security"}}, PriorityCritical, BucketSecurity},
		{WorkOrderSpec{Labels: []string{"critical"}}, PriorityHigh, BucketFeatures},
		{WorkOrderSpec{Labels: []string{"bug"}}, PriorityMedium, BucketReliability},
		{WorkOrderSpec{Labels: []string{"enhancement"}}, PriorityLow, BucketFeatures},
		{WorkOrderSpec{Labels: []string{"compliance"}}, PriorityMedium, BucketCompliance},
		{WorkOrderSpec{Labels: []string{"performance"}}, PriorityMedium, BucketCost},
		{WorkOrderSpec{Labels: []string{"refactor"}}, PriorityMedium, BucketTechnicalDebt},
		{WorkOrderSpec{Labels: []string{"tech-debt"}}, PriorityMedium, BucketTechnicalDebt},
		{WorkOrderSpec{}, PriorityMedium, BucketFeatures},
		{WorkOrderSpec{PriorityScore: 10}, PriorityCritical, BucketFeatures},
		{WorkOrderSpec{PriorityScore: 7}, PriorityHigh, BucketFeatures},
		{WorkOrderSpec{PriorityScore: 5}, PriorityMedium, BucketFeatures},
		{WorkOrderSpec{PriorityScore: 4, Labels: []string{"critical"}}, PriorityLow, BucketFeatures},
		{WorkOrderSpec{Priority: PriorityHigh, Bucket: BucketCost, Labels: []string{"bug"}}, PriorityHigh, BucketCost},
		{WorkOrderSpec{Signal: "cve", Priority: PriorityLow, Bucket: BucketCost}, PriorityCritical, BucketSecurity},
	}
	h := newHarness(t)
	for _, tc := range tests {
		tc.spec.Title = "t"
		wo := h.mustCreate(tc.spec)
		if wo.Priority != tc.prio || wo.Bucket != tc.bucket {
			t.Errorf("%+v: got %s/%s, want %s/%s", tc.spec, wo.Priority, wo.Bucket, tc.prio, tc.bucket)
		}
		sla := DefaultConfig().SLA[wo.Bucket]
		if want := wo.CreatedAt + int64(sla); sla > 0 && wo.Deadline != want || sla == 0 && wo.Deadline != 0 {
			t.Errorf("%s: deadline %d, want created+%v", wo.ID, wo.Deadline, sla)
		}
	}
	wo := h.mustCreate(WorkOrderSpec{Title: "t", Deadline: 42})
	if wo.Deadline != 42 {
		t.Fatal("explicit deadline ignored")
	}
	for _, s := range []string{"low", "Medium", "HIGH", "critical"} {
		p, err := ParsePriority(s)
		if err != nil || !strings.EqualFold(p.String(), s) {
			t.Errorf("ParsePriority(%q) = %v, %v", s, p, err)
		}
	}
	if _, err := ParsePriority("urgent"); !errors.Is(err, ErrInvalidArgument) {
		t.Error("ParsePriority accepted junk")
	}
	if !ValidState("blocked") || ValidState("done") {
		t.Error("ValidState")
	}
	if b := Buckets(); len(b) != 6 || b[0] != "compliance" || b[5] != "technical_debt" {
		t.Errorf("Buckets() = %v", b)
	}
}
