package fsm

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRetryBackoffTable(t *testing.T) {
	def := RetryPolicy{}
	fast := RetryPolicy{InitialDelay: 100 * time.Millisecond, Factor: 150, MaxDelay: time.Second}
	flat := RetryPolicy{InitialDelay: 5 * time.Second, Factor: 100}
	tests := []struct {
		p     RetryPolicy
		retry uint32
		want  time.Duration
	}{
		{def, 1, time.Second},
		{def, 2, 2 * time.Second},
		{def, 3, 4 * time.Second},
		{def, 6, 32 * time.Second},
		{def, 7, time.Minute}, // 64s capped
		{def, 100, time.Minute},
		{fast, 1, 100 * time.Millisecond},
		{fast, 2, 150 * time.Millisecond},
		{fast, 3, 225 * time.Millisecond},
		{fast, 4, 337500 * time.Microsecond},
		{fast, 7, time.Second}, // 1.139s capped
		{flat, 1, 5 * time.Second},
		{flat, 50, 5 * time.Second},
		{RetryPolicy{InitialDelay: 2 * time.Minute}, 3, 2 * time.Minute}, // MaxDelay defaults to at least InitialDelay
		{RetryPolicy{InitialDelay: MaxRetryDelay, Factor: MaxRetryFactor, MaxDelay: MaxRetryDelay}, 100, MaxRetryDelay},
	}
	for _, tc := range tests {
		if got := tc.p.Backoff(tc.retry); got != tc.want {
			t.Errorf("%+v retry %d: backoff %v, want %v", tc.p, tc.retry, got, tc.want)
		}
	}
}

func TestRetryJitterIsDeterministic(t *testing.T) {
	p := DefaultRetryPolicy()
	distinct := map[time.Duration]bool{}
	for i := uint64(1); i <= 200; i++ {
		id := FormatID(i)
		for retry := uint32(1); retry <= 3; retry++ {
			b := p.Backoff(retry)
			d := p.Delay(id, uint64(retry), retry)
			if d != p.Delay(id, uint64(retry), retry) {
				t.Fatal("Delay is not a function of its arguments")
			}
			if d > b || d <= b-b*JitterPercent/100 {
				t.Fatalf("%s retry %d: delay %v outside (%v, %v]", id, retry, d, b-b*JitterPercent/100, b)
			}
			if retry == 1 {
				distinct[d] = true
			}
		}
	}
	if len(distinct) < 150 {
		t.Fatalf("jitter spreads 200 work orders over only %d delays", len(distinct))
	}
	// Pinned values: the jitter is part of the replicated state machine.
	if got := p.Delay("WO-1", 1, 1); got != 983203125 {
		t.Fatalf("Delay(WO-1, 1, 1) = %d", got)
	}
}

// TestRetryLifecycle walks a work order through every retry of the
// default policy: each fenced failure requeues it with the next backoff,
// the last one fails it.
func TestRetryLifecycle(t *testing.T) {
	h := newHarness(t)
	id := h.create("flaky").ID
	pol := h.wo(id).Retry
	if pol != DefaultRetryPolicy() {
		t.Fatalf("policy %+v", pol)
	}
	ev := &Evidence{ExitCode: 3, Log: "boom"}
	steps := []struct {
		attempt uint64
		state   State
		event   string
		retries uint32
		backoff time.Duration
	}{
		{1, StateQueued, EventRetryScheduled, 1, time.Second},
		{2, StateQueued, EventRetryScheduled, 2, 2 * time.Second},
		{3, StateFailed, EventFailed, 2, 0},
	}
	for _, st := range steps {
		if wo := h.ok(&Assign{ID: id, Node: "n1", AgentType: "shell"}).WorkOrder; wo.Attempt != st.attempt || wo.NotBefore != 0 {
			t.Fatalf("assign: attempt %d, not before %d", wo.Attempt, wo.NotBefore)
		}
		h.now += 1e9
		now := h.now
		res := h.ok(&Transition{Header: Header{Time: now}, ID: id, Action: ActionFail, Attempt: st.attempt, Agent: "shell",
			Reason: "exit status 3", Evidence: ev})
		wo, r := res.WorkOrder, res.Receipts[0]
		if wo.State != st.state || wo.Retries != st.retries || wo.LastReason != "exit status 3" || EvidenceDigest(wo.Result) != EvidenceDigest(ev) ||
			(wo.Assignee == Assignee{}) != (st.state == StateQueued) || r.Event != st.event || r.Attempt != st.attempt || r.From != StateInProgress || r.To != st.state {
			t.Fatalf("attempt %d: %+v, receipt %+v", st.attempt, wo, r)
		}
		if st.state == StateFailed {
			if wo.NotBefore != 0 || r.EvidenceDigest != EvidenceDigest(ev) || wo.CompletedAt != now {
				t.Fatalf("final failure: %+v %+v", wo, r)
			}
			continue
		}
		delay := pol.Delay(id, st.attempt, st.retries)
		if pol.Backoff(st.retries) != st.backoff || wo.NotBefore != now+int64(delay) {
			t.Fatalf("attempt %d: not before %d, want now + %v", st.attempt, wo.NotBefore, delay)
		}
		if r.EvidenceDigest != RetryDigest(EvidenceDigest(ev), st.retries, delay, wo.NotBefore, "exit status 3") {
			t.Fatal("retry digest")
		}
		// During the backoff, Explain says so.
		x, err := h.f.View().ExplainAt(id, now)
		if err != nil || len(x.Reasons) != 1 || x.Reasons[0].Code != ExplainBackoff || x.Reasons[0].Until != wo.NotBefore {
			t.Fatalf("explain during backoff: %+v %v", x, err)
		}
	}
	// A failed attempt's late report is stale once the work order was reassigned.
	if r := h.apply(&Transition{ID: id, Action: ActionComplete, Attempt: 2}); !errors.Is(r.Err, ErrStaleAttempt) {
		t.Fatalf("complete of attempt 2: %v", r.Err)
	}
}

func TestFailWithoutRetry(t *testing.T) {
	tests := []struct {
		name  string
		spec  WorkOrderSpec
		tr    Transition
		state State
	}{
		{"no_retry", WorkOrderSpec{Title: "x"}, Transition{Attempt: 1, NoRetry: true}, StateFailed},
		{"unfenced operator fail", WorkOrderSpec{Title: "x"}, Transition{}, StateFailed},
		{"one attempt", WorkOrderSpec{Title: "x", Retry: RetryPolicy{MaxAttempts: 1}}, Transition{Attempt: 1}, StateFailed},
		{"fenced", WorkOrderSpec{Title: "x"}, Transition{Attempt: 1}, StateQueued},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			id := h.mustCreate(tc.spec).ID
			h.ok(&Assign{ID: id, Node: "n1"})
			tr := tc.tr
			tr.ID, tr.Action, tr.Reason = id, ActionFail, "bad input"
			if wo := h.ok(&tr).WorkOrder; wo.State != tc.state || wo.LastReason != "bad input" {
				t.Fatalf("%s after fail (%s)", wo.State, wo.LastReason)
			}
		})
	}
}

// TestRequeueConsumesNoRetry checks that moving a dead node's work
// elsewhere records the reason, fences the old attempt at the next
// assignment, and leaves every retry.
func TestRequeueConsumesNoRetry(t *testing.T) {
	h := newHarness(t)
	id := h.mustCreate(WorkOrderSpec{Title: "x", Retry: RetryPolicy{MaxAttempts: 2}}).ID
	for attempt := uint64(1); attempt <= 3; attempt++ {
		if wo := h.ok(&Assign{ID: id, Node: "n1"}).WorkOrder; wo.Attempt != attempt {
			t.Fatalf("attempt %d, want %d", wo.Attempt, attempt)
		}
		res := h.ok(&Transition{ID: id, Action: ActionRequeue, Attempt: attempt, Reason: "node n1 died"})
		if wo := res.WorkOrder; wo.State != StateQueued || wo.Retries != 0 || wo.LastReason != "node n1 died" || res.Receipts[0].Event != EventRequeued {
			t.Fatalf("after requeue: %+v", wo)
		}
	}
	h.ok(&Assign{ID: id, Node: "n2"}) // attempt 4
	if r := h.apply(&Transition{ID: id, Action: ActionComplete, Attempt: 3}); !errors.Is(r.Err, ErrStaleAttempt) {
		t.Fatalf("old holder's report: %v", r.Err)
	}
	if wo := h.ok(&Transition{ID: id, Action: ActionFail, Attempt: 4}).WorkOrder; wo.State != StateQueued || wo.Retries != 1 {
		t.Fatalf("the first failure after requeues is not retried: %+v", wo)
	}
}

func TestRetryPolicyValidation(t *testing.T) {
	bad := map[string]RetryPolicy{
		"retry.max_attempts":  {MaxAttempts: MaxRetryAttempts + 1},
		"retry.initial_delay": {InitialDelay: -1},
		"retry.factor":        {Factor: 99},
		"retry.max_delay":     {MaxDelay: MaxRetryDelay + 1},
	}
	for field, p := range bad {
		err := Validate(&CreateWorkOrder{Spec: WorkOrderSpec{Title: "x", Retry: p}})
		if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), field) {
			t.Errorf("%+v: %v, want invalid_argument naming %s", p, err, field)
		}
		if p.Validate() == nil {
			t.Errorf("%+v: RetryPolicy.Validate accepted it", p)
		}
	}
	if err := Validate(&CreateWorkOrder{Spec: WorkOrderSpec{Title: "x", Retry: RetryPolicy{InitialDelay: time.Hour, MaxDelay: time.Minute}}}); err == nil || !strings.Contains(err.Error(), "below the initial delay") {
		t.Errorf("max delay below initial delay: %v", err)
	}
	if err := Validate(&Transition{ID: "WO-1", Action: ActionComplete, NoRetry: true}); !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "no_retry") {
		t.Errorf("no_retry on complete: %v", err)
	}
	// A refused create changes nothing.
	h := chainHarness(t)
	before := h.tables()
	if r := h.apply(&CreateWorkOrder{Spec: WorkOrderSpec{Title: "x", Retry: RetryPolicy{Factor: 5000}}}); !errors.Is(r.Err, ErrInvalidArgument) || !bytes.Equal(before, h.tables()) {
		t.Fatalf("bad policy: %v", r.Err)
	}
}

// TestCodecExtensionVersion checks that only commands using a field added
// after version 1 are written as CodecVersionExt, and that version 1
// bodies of those types still decode.
func TestCodecExtensionVersion(t *testing.T) {
	plain := mustEncode(t, &CreateWorkOrder{Spec: WorkOrderSpec{Title: "x"}})
	withRetry := mustEncode(t, &CreateWorkOrder{Spec: WorkOrderSpec{Title: "x", Retry: RetryPolicy{MaxAttempts: 1}}})
	tr := mustEncode(t, &Transition{ID: "WO-1", Action: ActionFail})
	trNoRetry := mustEncode(t, &Transition{ID: "WO-1", Action: ActionFail, NoRetry: true})
	if plain[1] != CodecVersion || tr[1] != CodecVersion || withRetry[1] != CodecVersionExt || trNoRetry[1] != CodecVersionExt {
		t.Fatalf("versions %d %d %d %d", plain[1], tr[1], withRetry[1], trNoRetry[1])
	}
	// Past the version byte, version 2 is the version 1 body and then the
	// extension.
	if plain[0] != withRetry[0] || !bytes.Equal(plain[2:], withRetry[2:len(plain)]) ||
		tr[0] != trNoRetry[0] || !bytes.Equal(tr[2:], trNoRetry[2:len(tr)]) {
		t.Fatal("the extension is not appended to the version 1 body")
	}
	// Version 2 of another type, or a version 2 body without its
	// extension, is refused.
	refusedAsCodecVersion(t, mustEncode(t, &Tick{}), CodecVersionExt, ErrUnsupportedVersion)
	refusedAsCodecVersion(t, plain, CodecVersionExt, ErrMalformed)
}
