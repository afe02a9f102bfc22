package fsm

import (
	"fmt"
	"strings"
)

// ExplainCode names why a work order is not running. The fsm-side codes
// are below; the control loop appends its own (no healthy node with the
// agent type, an open circuit breaker, a leveling quota) to the same
// list, with codes of its own choosing.
type ExplainCode string

// The fsm-side reasons a work order is not running.
const (
	ExplainTerminal            ExplainCode = "terminal"             // completed, failed or cancelled
	ExplainRunning             ExplainCode = "running"              // in flight (where and which attempt)
	ExplainDependencies        ExplainCode = "dependencies"         // unfinished dependencies (Refs)
	ExplainDependencyFailed    ExplainCode = "dependency_failed"    // a dependency failed (Refs)
	ExplainDependencyCancelled ExplainCode = "dependency_cancelled" // a dependency was cancelled (Refs)
	ExplainPipelineRun         ExplainCode = "pipeline_run"         // a pipeline run never runs; it completes with its stages
	ExplainQuarantined         ExplainCode = "quarantined"          // quarantined by an open andon (Refs: the andon)
	ExplainLineStopped         ExplainCode = "line_stopped"         // its bucket or pipeline is stopped (Refs: the andons)
	ExplainBackoff             ExplainCode = "backoff"              // waiting for a retry's backoff (Until)
	ExplainWIPLimit            ExplainCode = "wip_limit"            // its stage or bucket is at its WIP limit (Count, Limit)
)

// Reason is one reason a work order is not running.
type Reason struct {
	Code    ExplainCode
	Message string   // for people: names the work orders, andons, counts and times involved
	Refs    []string // work order or andon IDs involved, when any
	Until   int64    // backoff: NotBefore (Unix ns)
	Count   int      // wip_limit: work orders in flight
	Limit   int      // wip_limit: the limit
}

// Explanation is why a work order is not running, as far as the
// replicated state can tell: Reasons is empty for a queued work order
// that Assign would start now (the control loop may then add reasons of
// its own).
type Explanation struct {
	ID      string
	State   State
	Attempt uint64
	Reasons []Reason
}

// Explain returns the fsm-side reasons work order id is not running, at
// the state clock; see ExplainAt.
func (v *View) Explain(id string) (*Explanation, error) { return v.ExplainAt(id, v.s.clock) }

// ExplainAt returns the fsm-side reasons work order id is not running,
// judging backoffs at now (Unix ns; the caller's clock, as the control
// loop's candidate filter does). A queued work order lists every reason
// that holds (line stopped, backoff, stage and bucket WIP limits); a
// blocked one its quarantine and dependencies; a running or finished one
// a single reason. ErrNotFound for an unknown ID.
func (v *View) ExplainAt(id string, now int64) (*Explanation, error) {
	wo, err := v.WorkOrder(id)
	if err != nil {
		return nil, err
	}
	e := &Explanation{ID: wo.ID, State: wo.State, Attempt: wo.Attempt}
	add := func(r Reason) { e.Reasons = append(e.Reasons, r) }
	switch wo.State {
	case StateCompleted, StateFailed, StateCancelled:
		msg := fmt.Sprintf("%s is %s", wo.ID, wo.State)
		if wo.State == StateFailed && wo.LastReason != "" {
			msg += ": " + wo.LastReason
		}
		add(Reason{Code: ExplainTerminal, Message: msg})
	case StateInProgress, StateReview, StateTesting:
		add(Reason{Code: ExplainRunning, Message: fmt.Sprintf("%s is running (%s): attempt %d on node %s, agent %s",
			wo.ID, wo.State, wo.Attempt, wo.Assignee.Node, wo.Assignee.Agent)})
	case StateBlocked:
		v.explainBlocked(wo, add)
	case StateQueued:
		v.explainQueued(wo, now, add)
	}
	return e, nil
}

func (v *View) explainBlocked(wo *WorkOrder, add func(Reason)) {
	if wo.Andon != "" {
		add(Reason{Code: ExplainQuarantined, Refs: []string{wo.Andon},
			Message: fmt.Sprintf("%s is quarantined by andon %s until it is resolved", wo.ID, wo.Andon)})
	}
	if isPipelineRun(wo) {
		add(Reason{Code: ExplainPipelineRun, Message: fmt.Sprintf("%s is a pipeline run: it completes when its stages do", wo.ID)})
	}
	var open, failed, cancelled []string
	for _, d := range wo.DependsOn {
		seq, _ := ParseID(d)
		switch dw := v.s.getWO(seq); dw.State {
		case StateCompleted:
		case StateFailed:
			failed = append(failed, d)
		case StateCancelled:
			cancelled = append(cancelled, d)
		default:
			open = append(open, d)
		}
	}
	if len(failed) > 0 {
		add(Reason{Code: ExplainDependencyFailed, Refs: failed,
			Message: fmt.Sprintf("dependencies failed: %s (remove the edge or cancel %s)", strings.Join(head(failed, 10), ", "), wo.ID)})
	}
	if len(cancelled) > 0 {
		add(Reason{Code: ExplainDependencyCancelled, Refs: cancelled,
			Message: fmt.Sprintf("dependencies cancelled: %s (remove the edge or cancel %s)", strings.Join(head(cancelled, 10), ", "), wo.ID)})
	}
	if len(open) > 0 {
		add(Reason{Code: ExplainDependencies, Refs: open,
			Message: fmt.Sprintf("%d unfinished dependencies: %s", len(open), strings.Join(head(open, 10), ", "))})
	}
}

func (v *View) explainQueued(wo *WorkOrder, now int64, add func(Reason)) {
	if a := v.StoppedBy(wo); a != nil {
		var ids []string
		for _, seq := range v.s.andonOpen {
			if b := v.s.andons.get(seq); b.Scope == a.Scope && b.Line == a.Line {
				ids = append(ids, b.ID)
			}
		}
		add(Reason{Code: ExplainLineStopped, Refs: ids,
			Message: fmt.Sprintf("line %s is stopped by andon %s (%s on %s)", a.LineName(), strings.Join(ids, ", "), a.Class, a.WorkOrder)})
	}
	if wo.NotBefore > now {
		add(Reason{Code: ExplainBackoff, Until: wo.NotBefore,
			Message: fmt.Sprintf("retry %d of %s backs off for %.3fs more (after: %s)", wo.Retries, wo.ID, float64(wo.NotBefore-now)/1e9, wo.LastReason)})
	}
	stage, bucket := v.s.wipFull(wo)
	if stage.full {
		add(Reason{Code: ExplainWIPLimit, Count: stage.n, Limit: stage.limit,
			Message: fmt.Sprintf("stage %s is at its WIP limit (%d of %d in flight)", wo.Stage, stage.n, stage.limit)})
	}
	if bucket.full {
		add(Reason{Code: ExplainWIPLimit, Count: bucket.n, Limit: bucket.limit,
			Message: fmt.Sprintf("bucket %s is at its WIP limit (%d of %d in flight)", wo.Bucket, bucket.n, bucket.limit)})
	}
}
