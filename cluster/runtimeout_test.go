package cluster

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hive-swarm/hive/fsm"
)

// TestPlanRunTimeouts checks the pure planner with fake times: which
// attempts are failed (their timeout, or the default, plus the slack has
// passed since their start), which are skipped, and when the next check
// is due.
func TestPlanRunTimeouts(t *testing.T) {
	now := time.Unix(100_000, 0)
	ago := func(d time.Duration) int64 { return now.Add(-d).UnixNano() }
	running := func(id string, attempt uint64, startedAgo, own time.Duration) *fsm.WorkOrder {
		return &fsm.WorkOrder{ID: id, State: fsm.StateInProgress, Attempt: attempt, StartedAt: ago(startedAgo),
			RunTimeout: own, Assignee: fsm.Assignee{Node: "n1", Agent: "shell"}}
	}
	const slack = 30 * time.Second
	tests := []struct {
		name     string
		wos      []*fsm.WorkOrder
		def      time.Duration
		slack    time.Duration
		wantIDs  []string
		wantNext time.Time // zero: none pending
	}{
		{name: "none", def: time.Hour},
		{name: "own timeout overdue", def: time.Hour, slack: slack,
			wos: []*fsm.WorkOrder{running("WO-1", 1, 6*time.Minute, 5*time.Minute)}, wantIDs: []string{"WO-1"}},
		{name: "own timeout passed, slack not", def: time.Hour, slack: slack,
			wos:      []*fsm.WorkOrder{running("WO-1", 1, 5*time.Minute+10*time.Second, 5*time.Minute)},
			wantNext: now.Add(20 * time.Second)},
		{name: "due exactly now", def: time.Hour, slack: slack,
			wos: []*fsm.WorkOrder{running("WO-1", 1, 5*time.Minute+slack, 5*time.Minute)}, wantIDs: []string{"WO-1"}},
		{name: "own timeout beats a shorter default", def: time.Minute, slack: slack,
			wos:      []*fsm.WorkOrder{running("WO-1", 1, 10*time.Minute, time.Hour)},
			wantNext: now.Add(50*time.Minute + slack)},
		{name: "default timeout overdue", def: time.Minute, slack: slack,
			wos: []*fsm.WorkOrder{running("WO-1", 2, 2*time.Minute, 0)}, wantIDs: []string{"WO-1"}},
		{name: "no default: only own timeouts", def: 0, slack: slack,
			wos:     []*fsm.WorkOrder{running("WO-1", 1, 48*time.Hour, 0), running("WO-2", 1, 2*time.Minute, time.Minute)},
			wantIDs: []string{"WO-2"}},
		{name: "negative slack counts as none", def: time.Hour, slack: -time.Hour,
			wos: []*fsm.WorkOrder{running("WO-1", 1, 5*time.Minute, 5*time.Minute)}, wantIDs: []string{"WO-1"}},
		{name: "not runs: review, testing, queued, no attempt, no start", def: time.Minute, slack: slack,
			wos: []*fsm.WorkOrder{
				{ID: "WO-1", State: fsm.StateReview, Attempt: 1, StartedAt: ago(time.Hour)},
				{ID: "WO-2", State: fsm.StateTesting, Attempt: 1, StartedAt: ago(time.Hour)},
				{ID: "WO-3", State: fsm.StateQueued, Attempt: 1, StartedAt: ago(time.Hour)},
				{ID: "WO-4", State: fsm.StateInProgress, Attempt: 0, StartedAt: ago(time.Hour)},
				{ID: "WO-5", State: fsm.StateInProgress, Attempt: 1},
			}},
		{name: "in ID order, earliest pending next", def: time.Hour, slack: slack,
			wos: []*fsm.WorkOrder{
				running("WO-10", 1, 2*time.Hour, 0),
				running("WO-3", 4, 10*time.Minute, time.Minute),
				running("WO-7", 1, 30*time.Second, time.Minute),   // due in 60s
				running("WO-8", 1, 50*time.Minute, time.Hour),     // due in 10m30s
				running("WO-9", 1, 40*time.Second, 2*time.Minute), // due in 1m50s
			},
			wantIDs: []string{"WO-3", "WO-10"}, wantNext: now.Add(time.Minute)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			trs, next := PlanRunTimeouts(now, tc.wos, tc.def, tc.slack, nil)
			var ids []string
			for _, tr := range trs {
				ids = append(ids, tr.ID)
			}
			if strings.Join(ids, ",") != strings.Join(tc.wantIDs, ",") {
				t.Fatalf("failed %v, want %v", ids, tc.wantIDs)
			}
			if !next.Equal(tc.wantNext) {
				t.Fatalf("next %v, want %v", next, tc.wantNext)
			}
			for _, tr := range trs {
				if err := fsm.Validate(tr); err != nil {
					t.Fatalf("%s: invalid transition: %v", tr.ID, err)
				}
			}
		})
	}
}

// TestPlanRunTimeoutsTransition checks one planned fail field by field.
func TestPlanRunTimeoutsTransition(t *testing.T) {
	start := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	wo := &fsm.WorkOrder{ID: "WO-12", State: fsm.StateInProgress, Attempt: 3, StartedAt: start.UnixNano(),
		RunTimeout: 5 * time.Minute, Assignee: fsm.Assignee{Node: "worker-2", Agent: "shell"}}
	trs, next := PlanRunTimeouts(start.Add(time.Hour), []*fsm.WorkOrder{wo}, time.Hour, 30*time.Second, nil)
	if len(trs) != 1 || !next.IsZero() {
		t.Fatalf("planned %+v, next %v", trs, next)
	}
	tr := trs[0]
	if tr.Action != fsm.ActionFail || tr.Attempt != 3 || tr.NoRetry || tr.Agent != "shell" || tr.ID != "WO-12" ||
		tr.RequestID != "runtimeout/WO-12/3" || tr.RequestID != RunTimeoutRequestID("WO-12", 3) {
		t.Fatalf("transition %+v", tr)
	}
	want := "run timeout: no outcome from worker-2 within 5m0s of the start (enforced by the leader; " +
		"attempt 3 started 2025-06-01T12:00:00Z, the work order's run timeout, slack 30s)"
	if tr.Reason != want {
		t.Fatalf("reason\n got %q\nwant %q", tr.Reason, want)
	}
	wo.RunTimeout = 0
	trs, _ = PlanRunTimeouts(start.Add(2*time.Hour), []*fsm.WorkOrder{wo}, time.Hour, 0, nil)
	if len(trs) != 1 || !strings.Contains(trs[0].Reason, "within 1h0m0s of the start") || !strings.Contains(trs[0].Reason, "the node default") {
		t.Fatalf("default timeout: %+v", trs)
	}
}

// TestRunTimeoutFailsOnFSM applies planned fails to a real FSM: the
// first is retried under the work order's policy, proposing it again is
// answered with the first outcome, the next attempt is timed from its own
// start, a fail planned for an attempt that has moved on is refused as
// stale, and the last attempt's timeout fails the work order.
func TestRunTimeoutFailsOnFSM(t *testing.T) {
	fp := &fsmProposer{f: fsm.New(fsm.DefaultConfig())}
	id := fp.create(t, fsm.WorkOrderSpec{Title: "timed", Kind: "shell", RunTimeout: time.Minute,
		Retry: fsm.RetryPolicy{MaxAttempts: 2, InitialDelay: time.Second}})
	const slack = 10 * time.Second
	clock := time.Unix(50_000, 0)
	apply := func(c fsm.Command) *fsm.Result {
		t.Helper()
		rs, err := fp.proposeBatchAt([]fsm.Command{c}, func() time.Time { return clock })
		if err != nil {
			t.Fatal(err)
		}
		return rs[0]
	}
	plan := func() ([]*fsm.Transition, time.Time) {
		return PlanRunTimeouts(clock, fp.f.View().Active(), time.Hour, slack, nil)
	}
	if r := apply(&fsm.Assign{ID: id, Node: "n1"}); r.Err != nil {
		t.Fatal(r.Err)
	}
	first := clock
	clock = clock.Add(time.Minute + slack - time.Nanosecond)
	if trs, next := plan(); len(trs) != 0 || !next.Equal(first.Add(time.Minute+slack)) {
		t.Fatalf("before the deadline: %+v next %v", trs, next)
	}
	clock = clock.Add(time.Nanosecond)
	trs, _ := plan()
	if len(trs) != 1 {
		t.Fatalf("at the deadline: %+v", trs)
	}
	stale := *trs[0]
	r := apply(trs[0])
	if r.Err != nil || r.WorkOrder.State != fsm.StateQueued || r.WorkOrder.Retries != 1 ||
		!strings.Contains(r.WorkOrder.LastReason, "run timeout: no outcome from n1") {
		t.Fatalf("first timeout: %v %+v", r.Err, r.WorkOrder)
	}
	again := stale
	if r2 := apply(&again); r2.Err != nil || len(r2.Receipts) != len(r.Receipts) || r2.Receipts[0].Hash != r.Receipts[0].Hash {
		t.Fatalf("re-proposed: %v %+v", r2.Err, r2.Receipts)
	}
	if trs, next := plan(); len(trs) != 0 || !next.IsZero() {
		t.Fatalf("queued again: %+v next %v", trs, next)
	}

	clock = clock.Add(5 * time.Second)
	if r := apply(&fsm.Assign{ID: id, Node: "n2"}); r.Err != nil || r.WorkOrder.Attempt != 2 || r.WorkOrder.StartedAt != clock.UnixNano() {
		t.Fatalf("second attempt: %v %+v", r.Err, r.WorkOrder)
	}
	second := clock
	if trs, next := plan(); len(trs) != 0 || !next.Equal(second.Add(time.Minute+slack)) {
		t.Fatalf("second attempt just started: %+v next %v", trs, next)
	}
	// The first attempt's fail under a new request ID (a leader that
	// forgot it) is refused as stale.
	stale.RequestID = "other"
	if r := apply(&stale); !errors.Is(r.Err, fsm.ErrStaleAttempt) {
		t.Fatalf("stale attempt: %v", r.Err)
	}
	clock = second.Add(time.Minute + slack)
	trs, _ = plan()
	if len(trs) != 1 || trs[0].Attempt != 2 || !strings.Contains(trs[0].Reason, "from n2") {
		t.Fatalf("second timeout: %+v", trs)
	}
	if r := apply(trs[0]); r.Err != nil || r.WorkOrder.State != fsm.StateFailed {
		t.Fatalf("last attempt: %v %+v", r.Err, r.WorkOrder)
	}
}
