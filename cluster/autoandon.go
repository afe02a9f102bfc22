package cluster

import (
	"slices"
	"strings"

	"github.com/hive-swarm/hive/fsm"
)

// Automatic andon. When the replicated scheduler config lists failure
// classes in AutoAndon, the leader's loop pulls the andon cord itself
// (an fsm.AndonTrigger with that class, scope bucket) on:
//
//   - test_failure: a test work order (agent type "test" or "tester", or
//     stage "test") failed for good (receipt failed);
//   - repeated_crash: a work order's attempts failed RepeatedCrashes times
//     (retry_scheduled or failed receipts) and the last failure was a
//     crash of its agent's plugin process (its reason is a plugin crash,
//     see CrashReason);
//   - sla_breach: an SLA breach was recorded on a work order that is not
//     completed or cancelled (receipt sla_breach).
//
// It finds them by following the receipt chain: a Loop remembers the next
// receipt to look at, and a new leader's loop starts AutoAndonLookback
// receipts back from the head, so a failure recorded while leadership
// changed hands is not missed. One andon per work order and class: a work
// order that already has an andon of that class (open or resolved) or is
// quarantined by another, and fix work orders (whose failures the andon
// they fix already covers) are skipped, and the request ID is derived
// from the class and the work order, so a repeated proposal is answered
// by the first.

// Automatic andon tunables.
const (
	// RepeatedCrashes is how many failed attempts of one work order,
	// the last one a crash, make a repeated_crash.
	RepeatedCrashes = 3
	// AutoAndonLookback is how many receipts back from the head a new
	// leader's loop starts looking.
	AutoAndonLookback = 10_000
	// autoAndonPage bounds the receipts one pass reads.
	autoAndonPage = 10_000
)

// crashMarker is in the reason of a failure the executor reports for a
// plugin process that died while running the attempt (plugins.CrashError:
// `plugin "test" (/path, pid 12) crashed: exit status 3`).
const crashMarker = ") crashed"

// CrashReason reports whether reason, the recorded reason of a failed
// attempt (WorkOrder.LastReason), is a crash of the agent's plugin.
func CrashReason(reason string) bool {
	return strings.HasPrefix(reason, "plugin ") && strings.Contains(reason, crashMarker)
}

// IsTestWorkOrder reports whether wo is test work: agent type "test" or
// "tester", or WIP stage "test".
func IsTestWorkOrder(wo *fsm.WorkOrder) bool {
	return wo.Kind == "test" || wo.Kind == "tester" || wo.Stage == "test"
}

// AutoAndonScan is the state of the automatic andon's walk along the
// receipt chain: the next receipt sequence number to look at (0: not
// started; a new leader's first pass starts AutoAndonLookback back).
type AutoAndonScan struct {
	Next uint64
}

// PlanAutoAndons returns the andon triggers the receipts from s.Next on
// call for under the classes cfg.AutoAndon lists, and advances s past the
// receipts it read. With no class listed it only moves s to the head, so
// that turning the setting on later does not pull the cord on old
// failures. more is true when receipts remain to be read.
func PlanAutoAndons(v *fsm.View, classes []string, s *AutoAndonScan) (out []*fsm.AndonTrigger, more bool) {
	head := v.ReceiptCount()
	if len(classes) == 0 {
		s.Next = head + 1
		return nil, false
	}
	if s.Next == 0 {
		s.Next = 1
		if head > AutoAndonLookback {
			s.Next = head - AutoAndonLookback + 1
		}
	}
	if s.Next > head {
		return nil, false
	}
	on := func(c string) bool { return slices.Contains(classes, c) }
	rs := v.Receipts(fsm.ReceiptQuery{FromSeq: s.Next, Limit: autoAndonPage})
	if len(rs) == 0 {
		s.Next = head + 1
		return nil, false
	}
	s.Next = rs[len(rs)-1].Seq + 1
	more = s.Next <= head

	var (
		existing map[string]bool // work order + "/" + class of every andon
		planned  = map[string]bool{}
	)
	add := func(wo *fsm.WorkOrder, class, reason string) {
		key := wo.ID + "/" + class
		if planned[key] {
			return
		}
		if existing == nil {
			existing = map[string]bool{}
			for _, a := range v.Andons(false) {
				existing[a.WorkOrder+"/"+a.Class] = true
			}
		}
		if existing[key] {
			return
		}
		planned[key] = true
		out = append(out, autoAndon(wo, class, reason))
	}
	for _, r := range rs {
		if r.WorkOrder == "" {
			continue
		}
		switch r.Event {
		case fsm.EventFailed, fsm.EventRetryScheduled, fsm.EventSLABreach:
		default:
			continue
		}
		wo, err := v.WorkOrder(r.WorkOrder)
		if err != nil || wo.Andon != "" || wo.FixFor != "" {
			continue
		}
		switch r.Event {
		case fsm.EventFailed:
			if on(fsm.AutoAndonTestFailure) && wo.State == fsm.StateFailed && IsTestWorkOrder(wo) {
				add(wo, fsm.AutoAndonTestFailure, "test work order "+wo.ID+" failed its last attempt")
			}
			fallthrough
		case fsm.EventRetryScheduled:
			if on(fsm.AutoAndonRepeatedCrash) && failedAttempts(wo) >= RepeatedCrashes && CrashReason(wo.LastReason) {
				add(wo, fsm.AutoAndonRepeatedCrash, "the agent of "+wo.ID+" crashed on repeated attempts")
			}
		case fsm.EventSLABreach:
			if on(fsm.AutoAndonSLABreach) && wo.State != fsm.StateCompleted && wo.State != fsm.StateCancelled {
				add(wo, fsm.AutoAndonSLABreach, "work order "+wo.ID+" breached its SLA")
			}
		}
	}
	return out, more
}

// failedAttempts is how many attempts of wo failed: the retries it was
// given, and its last attempt when it failed for good.
func failedAttempts(wo *fsm.WorkOrder) uint32 {
	n := wo.Retries
	if wo.State == fsm.StateFailed {
		n++
	}
	return n
}

// autoAndon is the trigger of class on wo; its request ID is derived from
// both, so that proposing it again changes nothing.
func autoAndon(wo *fsm.WorkOrder, class, reason string) *fsm.AndonTrigger {
	if wo.LastReason != "" {
		reason += ": " + wo.LastReason
	}
	return &fsm.AndonTrigger{
		Header:    fsm.Header{RequestID: truncate("andon/auto/"+class+"/"+wo.ID, fsm.MaxNameLen)},
		WorkOrder: wo.ID,
		Scope:     fsm.ScopeBucket,
		Class:     class,
		Reason:    truncate(reason, fsm.MaxNoteLen),
		Whys:      []string{"automatic andon: the scheduler config lists " + class},
	}
}
