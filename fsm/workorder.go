package fsm

import (
	"slices"
	"time"
)

// MaxRunTimeout is the longest run timeout a work order may carry
// (WorkOrderSpec.RunTimeout).
const MaxRunTimeout = 7 * 24 * time.Hour

// RunTimeoutOr returns the run timeout of wo's attempts: its own
// RunTimeout, or def (the executing node's default) when it has none.
func (wo *WorkOrder) RunTimeoutOr(def time.Duration) time.Duration {
	if wo.RunTimeout > 0 {
		return wo.RunTimeout
	}
	return def
}

// validateRunTimeout checks a WorkOrderSpec.RunTimeout: 0 (the executing
// node's default) up to MaxRunTimeout.
func validateRunTimeout(d time.Duration) *Error {
	if d < 0 || d > MaxRunTimeout {
		return Errorf(ErrInvalidArgument, "run_timeout: %v outside 0..%v (0: the node's default)", d, MaxRunTimeout)
	}
	return nil
}

// Receipt events.
const (
	EventCreated             = "created"
	EventStarted             = "started"
	EventAdvanced            = "advanced"
	EventProgressed          = "progressed"
	EventCompleted           = "completed"
	EventFailed              = "failed"
	EventCancelled           = "cancelled"
	EventRequeued            = "requeued"
	EventBlocked             = "blocked"
	EventUnblocked           = "unblocked"
	EventDependencyAdded     = "dependency_added"
	EventDependencyRemoved   = "dependency_removed"
	EventDependencyFailed    = "dependency_failed"
	EventDependencyCancelled = "dependency_cancelled"
	EventChildAdded          = "child_added"
)

// BlockedReason values. A work order blocked by a dependency that failed
// or was cancelled says which one: "dependency_failed:WO-3".
const (
	ReasonDependencies        = "dependencies"
	ReasonDependencyFailed    = "dependency_failed:"
	ReasonDependencyCancelled = "dependency_cancelled:"
	ReasonAndon               = "andon:" // quarantined by an open andon: "andon:AN-1"
)

// applyCreate creates a work order (see DerivePriority, DeriveBucket). Its
// ID is WO-<n> from the state's counter. It starts queued, or blocked when
// a dependency is not completed. A Parent must exist and not be terminal;
// the parent's Children gains the new ID (receipt child_added on the
// parent). Deadline is the explicit one, else CreatedAt + the bucket's SLA
// (0 for best effort).
func applyCreate(t *tx, c Command) *Error {
	s := &c.(*CreateWorkOrder).Spec
	seq := t.woSeq + 1
	id := FormatID(seq)

	var parent *WorkOrder
	if s.Parent != "" {
		p, err := t.lookup(s.Parent)
		if err != nil {
			return err
		}
		if p.State.Terminal() {
			return Errorf(ErrInvalidTransition, "cannot add a sub-work order to %s: state is %s", p.ID, p.State)
		}
		if isPipelineRun(p) {
			return Errorf(ErrInvalidTransition, "cannot add a sub-work order to %s: it is a pipeline run (its stages are fixed)", p.ID)
		}
		parent = p
	}
	deps := sortedIDs(s.DependsOn)
	for _, d := range deps {
		if d == id {
			return Errorf(ErrSelfDependency, "%s cannot depend on itself", id)
		}
		if _, err := t.lookup(d); err != nil {
			return err
		}
	}

	wo := &WorkOrder{
		ID:          id,
		Seq:         seq,
		Title:       s.Title,
		Description: s.Description,
		Kind:        s.Kind,
		Bucket:      DeriveBucket(s),
		Priority:    DerivePriority(s),
		Labels:      normLabels(s.Labels),
		Payload:     s.Payload,
		Effort:      s.Effort,
		Stage:       s.Stage,
		Signal:      s.Signal,
		DependsOn:   deps,
		Parent:      s.Parent,
		CreatedAt:   t.now,
		UpdatedAt:   t.now,
		Deadline:    s.Deadline,
		CreateIndex: t.index,
		ModifyIndex: t.index,
		Retry:       s.Retry.WithDefaults(),
		RunTimeout:  s.RunTimeout,
	}
	if wo.Deadline == 0 {
		wo.Deadline = t.slaDeadline(wo.Bucket)
	}
	wo.State, wo.BlockedReason = t.blockState(wo)
	t.woSeq = seq
	t.create(wo)
	for _, d := range deps {
		dseq, _ := ParseID(d)
		dw := t.mut(dseq)
		dw.Dependents = withID(dw.Dependents, id)
	}
	t.receipt(wo, EventCreated, "", "", nil)
	if parent != nil {
		p := t.mutOf(parent)
		p.Children = withID(p.Children, id)
		t.receipt(p, EventChildAdded, p.State, "", nil)
	}
	t.resWO = wo
	return nil
}

// normLabels returns labels sorted and without duplicates. Labels already
// in that form (the usual case) are returned as they are: Apply owns the
// decoded command, so the work order may keep its slice.
func normLabels(labels []string) []string {
	if len(labels) == 0 {
		return nil
	}
	if strictlySorted(labels) {
		return labels
	}
	out := slices.Clone(labels)
	slices.Sort(out)
	return slices.Compact(out)
}

func strictlySorted(ss []string) bool {
	for i := 1; i < len(ss); i++ {
		if ss[i-1] >= ss[i] {
			return false
		}
	}
	return true
}

// blockState is the state a not-yet-started work order should be in given
// its dependencies: queued when all are completed, otherwise blocked with
// reason "dependency_failed:WO-n" or "dependency_cancelled:WO-n" for the
// lowest-numbered failed or cancelled dependency, else "dependencies".
// A quarantined work order is blocked with reason "andon:AN-n" whatever
// its dependencies.
func (t *tx) blockState(wo *WorkOrder) (State, string) {
	if wo.Andon != "" {
		return StateBlocked, ReasonAndon + wo.Andon
	}
	unfinished := false
	for _, d := range wo.DependsOn {
		seq, _ := ParseID(d)
		dw := t.get(seq)
		switch dw.State {
		case StateCompleted:
		case StateFailed:
			return StateBlocked, ReasonDependencyFailed + d
		case StateCancelled:
			return StateBlocked, ReasonDependencyCancelled + d
		default:
			unfinished = true
		}
	}
	if unfinished {
		return StateBlocked, ReasonDependencies
	}
	return StateQueued, ""
}

// slaDeadline is the deadline of work created now in bucket: now plus
// the bucket's SLA, or 0 when the bucket has none.
func (t *tx) slaDeadline(bucket string) int64 {
	if sla := t.cfg.SLA[bucket]; sla > 0 {
		return t.now + int64(sla)
	}
	return 0
}

// unblock moves m, a blocked work order nothing holds any more, on: a
// pipeline-run parent finishes its run, anything else is queued with an
// unblocked receipt.
func (t *tx) unblock(m *WorkOrder, reason string) {
	if isPipelineRun(m) {
		t.finishRun(m)
		return
	}
	m.State, m.BlockedReason = StateQueued, reason
	t.receipt(m, EventUnblocked, StateBlocked, "", nil)
}

// settle re-evaluates the blocked dependents of x after x completed, failed
// or was cancelled. After a completion, a dependent whose dependencies are
// now all completed becomes queued (receipt unblocked), or, for a
// pipeline run, completed (see pipeline.go). After a failure or
// cancellation every blocked dependent stays blocked, its BlockedReason
// names the lowest-numbered failed or cancelled dependency, and it gets a
// dependency_failed or dependency_cancelled receipt.
func (t *tx) settle(x *WorkOrder) {
	for _, id := range x.Dependents {
		seq, _ := ParseID(id)
		d := t.get(seq)
		if d == nil || d.State != StateBlocked {
			continue
		}
		st, reason := t.blockState(d)
		switch x.State {
		case StateCompleted:
			if st == StateQueued {
				t.unblock(t.mutOf(d), reason)
			}
		case StateFailed, StateCancelled:
			m := t.mutOf(d)
			m.BlockedReason = reason
			ev := EventDependencyFailed
			if x.State == StateCancelled {
				ev = EventDependencyCancelled
			}
			t.receipt(m, ev, StateBlocked, "", nil)
		}
	}
}
