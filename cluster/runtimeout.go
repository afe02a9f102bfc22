package cluster

import (
	"fmt"
	"sort"
	"time"

	"github.com/hive-swarm/hive/fsm"
)

// Run timeouts. Each attempt of a work order may run for its run timeout
// (fsm.WorkOrder.RunTimeout, or the node's default when it has none),
// counted from the attempt's start (fsm.WorkOrder.StartedAt, which every
// start and Assign stamps, retries and requeues included). The executor
// holding the attempt cancels a longer run and reports a fenced fail
// itself; the leader is the backstop for an attempt whose node cannot
// report (it died, is cut off, or its executor is stuck): once an attempt
// has been in progress for its timeout plus a slack, the leader fails it
// (PlanRunTimeouts). The fail is fenced by the attempt, so it is refused
// as stale when the executor's own report, a requeue or a cancel got
// there first, and it is retryable, so the work order's retry policy
// decides what comes next, exactly as for an executor's timeout.

// DefaultRunTimeoutSlack is a suggested slack for PlanRunTimeouts. It
// gives the executor, which counts from when it learns of the attempt
// (a little after the leader stamped StartedAt), time to cancel the run
// and get its own report committed, retries through an election
// included, and absorbs clock skew between the leader that stamped the
// start and the leader that checks it.
const DefaultRunTimeoutSlack = 30 * time.Second

// PlanRunTimeouts returns the fail transitions for every work order in
// inflight whose current attempt has been in progress for at least its
// run timeout plus slack at now, in work order order, and the earliest
// future time at which another attempt becomes due (zero when none is
// pending). An attempt's run timeout is wo.RunTimeoutOr(defaultTimeout):
// with defaultTimeout ≤ 0, work orders without a timeout of their own
// are not checked, and when agentRun is not nil the default applies only
// to attempts it reports as agent runs (a person's work order, started
// by hand, may take days; its own timeout, when set, applies all the
// same). Only in_progress work orders with an attempt and a
// recorded start are considered (review and testing are not runs; other
// states are ignored), so the caller may pass View.Active() as it is.
//
// Each transition is ActionFail, fenced by the current attempt, retryable
// (no NoRetry), carries the assignee's agent, a reason naming the node,
// the timeout and the attempt, and the request ID
// RunTimeoutRequestID(id, attempt), so that the same fail proposed twice
// (say by a new leader) is applied once.
func PlanRunTimeouts(now time.Time, inflight []*fsm.WorkOrder, defaultTimeout, slack time.Duration, agentRun func(*fsm.WorkOrder) bool) ([]*fsm.Transition, time.Time) {
	var (
		out  []*fsm.Transition
		next time.Time
	)
	slack = max(slack, 0)
	for _, wo := range inflight {
		if wo.State != fsm.StateInProgress || wo.Attempt == 0 || wo.StartedAt == 0 {
			continue
		}
		timeout := wo.RunTimeoutOr(defaultTimeout)
		if timeout <= 0 {
			continue
		}
		started := time.Unix(0, wo.StartedAt)
		due := started.Add(timeout + slack)
		if now.Before(due) {
			next = earlier(next, due)
			continue
		}
		if wo.RunTimeout <= 0 && agentRun != nil && !agentRun(wo) {
			continue
		}
		out = append(out, attemptTransition(wo, fsm.ActionFail, RunTimeoutRequestID(wo.ID, wo.Attempt),
			runTimeoutReason(wo, timeout, slack, started)))
	}
	sort.Slice(out, func(i, j int) bool { return idLess(out[i].ID, out[j].ID) })
	return out, next
}

// runTimeoutReason is the Reason of a leader's run timeout fail, e.g.
// "run timeout: no outcome from n1 within 5m0s of the start (enforced by
// the leader; attempt 2 started 2023-11-14T22:13:20Z, the work order's
// run timeout, slack 30s)".
func runTimeoutReason(wo *fsm.WorkOrder, timeout, slack time.Duration, started time.Time) string {
	node := wo.Assignee.Node
	if node == "" {
		node = "its node"
	}
	source := "the node default"
	if wo.RunTimeout > 0 {
		source = "the work order's run timeout"
	}
	return fmt.Sprintf("run timeout: no outcome from %s within %s of the start (enforced by the leader; attempt %d started %s, %s, slack %s)",
		node, timeout, wo.Attempt, started.UTC().Format(time.RFC3339), source, slack)
}

// RunTimeoutRequestID is the request ID of the leader's run timeout fail
// of attempt of work order id.
func RunTimeoutRequestID(id string, attempt uint64) string {
	return truncate(fmt.Sprintf("runtimeout/%s/%d", id, attempt), fsm.MaxNameLen)
}
