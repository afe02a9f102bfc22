package fsm

import (
	"fmt"
	"math/rand"
	"testing"
	"time"
)

// randomFailureCommand returns one failure-handling command for genLog:
// fenced fails of plausible attempts, work orders with retry policies and
// deadlines, andon triggers, updates and resolutions, SLA events and
// stale records.
func randomFailureCommand(rng *rand.Rand, hdr Header, id func() string, created *int, assigned *[]string) Command {
	andon := func() string { return FormatAndonID(uint64(rng.Intn(30) + 1)) }
	// recent is a recently assigned work order, likely in flight.
	recent := func() string {
		if len(*assigned) == 0 {
			return id()
		}
		return (*assigned)[rng.Intn(len(*assigned))]
	}
	switch rng.Intn(16) {
	case 9, 10, 11, 12, 13:
		a := &Assign{Header: hdr, ID: id(), Node: fmt.Sprintf("n%d", rng.Intn(3))}
		if rng.Intn(2) == 0 {
			a.ID = recent()
		}
		*assigned = append(*assigned, a.ID)
		if len(*assigned) > 8 {
			*assigned = (*assigned)[1:]
		}
		return a
	case 0, 1:
		tr := &Transition{Header: hdr, ID: recent(), Action: ActionFail, Attempt: uint64(rng.Intn(3) + 1),
			Reason: "agent crashed", NoRetry: rng.Intn(6) == 0, Evidence: &Evidence{ExitCode: 2}}
		*assigned = append(*assigned, tr.ID) // to be assigned again after a retry
		return tr
	case 2:
		*created++
		return &CreateWorkOrder{Header: hdr, Spec: WorkOrderSpec{Title: "retried", Bucket: buckets[rng.Intn(numBuckets)],
			Deadline: hdr.Time + int64(rng.Intn(20))*1e9,
			Retry:    RetryPolicy{MaxAttempts: uint32(rng.Intn(4)), InitialDelay: time.Duration(rng.Intn(3)) * time.Second}}}
	case 3:
		if rng.Intn(3) != 0 {
			return &AndonResolve{Header: hdr, ID: andon(), Resolution: "fixed"}
		}
		*created++
		scope := []AndonScope{"", ScopeBucket, ScopePipeline}[rng.Intn(3)]
		return &AndonTrigger{Header: hdr, WorkOrder: id(), Scope: scope, Class: "agent_failure", Reason: "keeps failing",
			Whys: []string{"the agent crashed", "it ran out of memory"}, FixKind: []string{"", "coder"}[rng.Intn(2)]}
	case 4:
		return &AndonUpdate{Header: hdr, ID: andon(), RootCause: "leak", Whys: []string{fmt.Sprint("why ", rng.Intn(9))}}
	case 5, 6:
		return &AndonResolve{Header: hdr, ID: andon(), Resolution: "fixed"}
	case 7:
		e := &SLAEvent{Header: hdr, ID: id(), Kind: []SLAKind{SLAWarning, SLABreach}[rng.Intn(2)], PredictedFinish: hdr.Time + 5e9}
		if e.Kind == SLABreach && rng.Intn(2) == 0 {
			e.Time += int64(rng.Intn(40)) * int64(24*time.Hour) // a leader whose clock says the deadline passed
		}
		return e
	default: // 8, 14, 15
		return &RecordStale{Header: hdr, ID: recent(), Attempt: uint64(rng.Intn(3)/2 + 1), Node: "n9", Agent: "shell",
			Action: ActionComplete, EvidenceDigest: EvidenceDigest(&Evidence{ExitCode: 0})}
	}
}

// failureHarness returns a harness whose state uses every failure-handling
// feature: a retried work order, an open andon (with its fix and a
// quarantined work order), a resolved one, SLA events and a stale record.
func failureHarness(t testing.TB) *harness {
	h := newHarness(t)
	h.mustCreate(WorkOrderSpec{Title: "retried", Bucket: BucketReliability, Retry: RetryPolicy{MaxAttempts: 5}}) // WO-1
	h.mustCreate(WorkOrderSpec{Title: "quarantined", Bucket: BucketSecurity})                                    // WO-2
	h.mustCreate(WorkOrderSpec{Title: "andon on a failed one", Bucket: BucketCost})                              // WO-3
	h.ok(&Assign{ID: "WO-1", Node: "n1"})
	h.ok(&Transition{ID: "WO-1", Action: ActionFail, Attempt: 1, Reason: "exit status 1"})
	h.ok(&Assign{ID: "WO-1", Node: "n2"})
	h.ok(&RecordStale{ID: "WO-1", Attempt: 1, Node: "n1", Action: ActionComplete})
	h.ok(&Assign{ID: "WO-2", Node: "n1"})
	h.ok(&AndonTrigger{WorkOrder: "WO-2", Class: "agent_failure", Reason: "crash loop", Whys: []string{"why 1"}}) // AN-1, fix WO-4
	h.ok(&AndonUpdate{ID: "AN-1", RootCause: "oom"})
	h.ok(&Assign{ID: "WO-3", Node: "n1"})
	h.ok(&Transition{ID: "WO-3", Action: ActionFail, Attempt: 0})
	h.ok(&AndonTrigger{WorkOrder: "WO-3", Class: "manual"}) // AN-2, fix WO-5
	h.ok(&AndonResolve{ID: "AN-2", Resolution: "accepted"})
	h.ok(&SLAEvent{ID: "WO-1", Kind: SLAWarning, PredictedFinish: t0 + 1e12})
	h.ok(&SLAEvent{Header: Header{Time: t0 + int64(8*24*time.Hour)}, ID: "WO-1", Kind: SLABreach})
	return h
}

// ok applies c and fails the test on a business error.
func (h *harness) ok(c Command) *Result {
	h.t.Helper()
	res := h.apply(c)
	if res.Err != nil {
		h.t.Fatalf("%T: %v", c, res.Err)
	}
	return res
}

// failureSamples are valid failure-handling commands for the codec tests.
func failureSamples(hdr Header) []Command {
	return []Command{
		&CreateWorkOrder{Header: hdr, Spec: WorkOrderSpec{Title: "r", Retry: RetryPolicy{MaxAttempts: 5, InitialDelay: 2 * time.Second, Factor: 150, MaxDelay: time.Hour}}},
		&Transition{Header: hdr, ID: "WO-1", Action: ActionFail, Attempt: 2, Reason: "bad input", NoRetry: true},
		&AndonTrigger{Header: hdr, WorkOrder: "WO-1", Scope: ScopePipeline, Class: "cve", Reason: "r", Whys: []string{"a", "b"}, FixKind: "coder"},
		&AndonTrigger{Header: hdr, WorkOrder: "WO-2", Class: "manual"},
		&AndonUpdate{Header: hdr, ID: "AN-1", Whys: []string{"w"}, RootCause: "rc"},
		&AndonResolve{Header: hdr, ID: "AN-1", Resolution: "fixed"},
		&SLAEvent{Header: hdr, ID: "WO-1", Kind: SLABreach, PredictedFinish: t0 + 5},
		&RecordStale{Header: hdr, ID: "WO-1", Attempt: 1, Node: "n2", Agent: "shell", Action: ActionFail, EvidenceDigest: [32]byte{1, 2, 3}},
	}
}
