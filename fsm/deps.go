package fsm

import (
	"slices"
	"strings"
)

// Dependencies form a DAG over work orders: "A depends on B" is the edge
// A → B, stored as B in A.DependsOn and A in B.Dependents. Edges change
// only while A has not started (queued or blocked); depending on a
// completed work order is allowed and does not block.

// applyAddDependency adds edges from ID to each of DependsOn. An existing
// edge is left as it is. A self edge fails with ErrSelfDependency, an edge
// that would close a cycle with ErrCycle (Error.Cycle holds the path, first
// ID repeated last), an unknown ID with ErrNotFound. A queued work order
// that gains an unfinished dependency becomes blocked.
func applyAddDependency(t *tx, c Command) *Error {
	cmd := c.(*AddDependency)
	wo, err := t.lookup(cmd.ID)
	if err != nil {
		return err
	}
	if wo.State != StateQueued && wo.State != StateBlocked {
		return Errorf(ErrInvalidTransition, "cannot add dependencies to %s: state is %s (allowed from blocked, queued)", wo.ID, wo.State)
	}
	deps := sortedIDs(cmd.DependsOn)
	for _, d := range deps {
		if d == wo.ID {
			return Errorf(ErrSelfDependency, "%s cannot depend on itself", wo.ID)
		}
		if _, err := t.lookup(d); err != nil {
			return err
		}
	}
	if wo.Parent != "" && hasID(deps, wo.Parent) {
		return Errorf(ErrInvalidArgument, "%s cannot depend on its parent %s", wo.ID, wo.Parent)
	}
	for _, d := range deps {
		if hasID(t.get(wo.Seq).DependsOn, d) {
			continue
		}
		dseq, _ := ParseID(d)
		if path := t.pathTo(dseq, wo.Seq); path != nil {
			cycle := append([]string{wo.ID}, path...)
			return &Error{Code: ErrCycle.Code, Cycle: cycle,
				Message: "adding " + wo.ID + " → " + d + " would close the cycle " + strings.Join(cycle, " → ")}
		}
		m := t.mut(wo.Seq)
		m.DependsOn = withID(m.DependsOn, d)
		dm := t.mut(dseq)
		dm.Dependents = withID(dm.Dependents, wo.ID)
		t.receipt(m, EventDependencyAdded, m.State, "", nil)
	}
	cur := t.get(wo.Seq)
	if st, reason := t.blockState(cur); st != cur.State || reason != cur.BlockedReason {
		m := t.mut(wo.Seq)
		from := m.State
		m.State, m.BlockedReason = st, reason
		if from != st {
			t.receipt(m, EventBlocked, from, "", nil)
		}
	}
	t.resWO = t.get(wo.Seq)
	return nil
}

// applyRemoveDependency removes the edges from ID to each of DependsOn;
// each must exist (ErrNotFound). A blocked work order whose remaining
// dependencies are all completed becomes queued (receipt unblocked), or
// completes if it is a pipeline run; a run's edges to its own stages
// cannot be removed (ErrInvalidTransition).
func applyRemoveDependency(t *tx, c Command) *Error {
	cmd := c.(*RemoveDependency)
	wo, err := t.lookup(cmd.ID)
	if err != nil {
		return err
	}
	if wo.State != StateQueued && wo.State != StateBlocked {
		return Errorf(ErrInvalidTransition, "cannot remove dependencies of %s: state is %s (allowed from blocked, queued)", wo.ID, wo.State)
	}
	deps := sortedIDs(cmd.DependsOn)
	for _, d := range deps {
		if _, err := t.lookup(d); err != nil {
			return err
		}
		if !hasID(wo.DependsOn, d) {
			return Errorf(ErrNotFound, "%s does not depend on %s", wo.ID, d)
		}
		if isPipelineRun(wo) && hasID(wo.Children, d) {
			return Errorf(ErrInvalidTransition, "cannot remove %s → %s: %s is a pipeline run, which completes when its stages do", wo.ID, d, wo.ID)
		}
	}
	for _, d := range deps {
		dseq, _ := ParseID(d)
		m := t.mut(wo.Seq)
		m.DependsOn = withoutID(m.DependsOn, d)
		dm := t.mut(dseq)
		dm.Dependents = withoutID(dm.Dependents, wo.ID)
		t.receipt(m, EventDependencyRemoved, m.State, "", nil)
	}
	if m := t.get(wo.Seq); m.State == StateBlocked {
		st, reason := t.blockState(m)
		m = t.mut(wo.Seq)
		if st == StateQueued {
			t.unblock(m, reason)
		} else {
			m.BlockedReason = reason
		}
	}
	t.resWO = t.get(wo.Seq)
	return nil
}

// pathTo searches depth first, in ID order, along DependsOn from start for
// target, and returns the IDs on the path (start first, target last), or
// nil when target is unreachable.
func (t *tx) pathTo(start, target uint64) []string {
	if start == target {
		return []string{FormatID(start)}
	}
	prev := map[uint64]uint64{start: 0}
	stack := []uint64{start}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		w := t.get(n)
		if w == nil {
			continue
		}
		// Push in reverse so the lowest ID is explored first.
		for i := len(w.DependsOn) - 1; i >= 0; i-- {
			seq, _ := ParseID(w.DependsOn[i])
			if _, seen := prev[seq]; seen {
				continue
			}
			prev[seq] = n
			if seq == target {
				var path []string
				for x := target; x != 0; x = prev[x] {
					path = append(path, FormatID(x))
				}
				slices.Reverse(path)
				return path
			}
			stack = append(stack, seq)
		}
	}
	return nil
}
