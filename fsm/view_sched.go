package fsm

import "maps"

// Views for the leader's control loop and the nodes' executors.

// SchedulerConfig returns a copy of the scheduler config in force.
func (v *View) SchedulerConfig() SchedulerConfig { return v.s.sched.cfg.Clone() }

// ActiveCounts counts the work orders in flight (in_progress, review,
// testing): the numbers the WIP limits are checked against. Only non-zero
// counts are present; work orders without a stage count in no stage.
type ActiveCounts struct {
	Stages  map[string]int
	Buckets map[string]int
}

// ActiveCounts returns the in-flight counts per stage and per bucket. It
// costs O(stages + buckets), not O(work orders): the state keeps them.
func (v *View) ActiveCounts() ActiveCounts {
	c := ActiveCounts{Stages: maps.Clone(v.s.wip.stages), Buckets: make(map[string]int)}
	if c.Stages == nil {
		c.Stages = make(map[string]int)
	}
	for bi, n := range v.s.wip.buckets {
		if n != 0 {
			c.Buckets[buckets[bi]] = n
		}
	}
	return c
}

// inFlightStates are the states WIP limits count, in index order.
var inFlightStates = [...]State{StateInProgress, StateReview, StateTesting}

// Assigned returns the in-flight work orders whose current attempt is held
// by node (Assignee.Node), ordered by state (in_progress, review,
// testing), then Seq: what an executor should be running. It walks the
// in-flight work orders, which the WIP limits keep few, rather than
// keeping an index that every start and finish would pay for.
func (v *View) Assigned(node string) []*WorkOrder {
	var out []*WorkOrder
	v.eachInStates(inFlightStates[:], func(wo *WorkOrder) {
		if wo.Assignee.Node == node {
			out = append(out, wo)
		}
	})
	return out
}

// Active returns every in-flight work order, ordered by state
// (in_progress, review, testing), then Seq: the running work the control
// loop counts against WIP limits and node capacity.
func (v *View) Active() []*WorkOrder {
	var out []*WorkOrder
	v.eachInStates(inFlightStates[:], func(wo *WorkOrder) { out = append(out, wo) })
	return out
}

// Unfinished returns every work order that is not terminal (blocked,
// queued or in flight), ordered by state, then Seq: the dependency graph
// that remains, from which the control loop computes critical paths
// (each work order carries both DependsOn and Dependents). Queued work in
// start order is Queue("", limit).
func (v *View) Unfinished() []*WorkOrder {
	var open []State
	n := 0
	for i, st := range states {
		if !st.Terminal() {
			open = append(open, st)
			n += v.s.counts[i]
		}
	}
	out := make([]*WorkOrder, 0, n)
	v.eachInStates(open, func(wo *WorkOrder) { out = append(out, wo) })
	return out
}

// eachInStates calls fn for every work order in each of ss, in that order,
// then by Seq.
func (v *View) eachInStates(ss []State, fn func(*WorkOrder)) {
	for _, st := range ss {
		si, _ := stateIndex(st)
		if v.s.counts[si] == 0 {
			continue
		}
		v.s.byState.AscendGreaterOrEqual(woStateKey{uint8(si), 0}, func(k woStateKey) bool {
			if k.state != uint8(si) {
				return false
			}
			fn(v.s.getWO(k.seq))
			return true
		})
	}
}
