package cluster

import (
	"fmt"
	"time"

	"github.com/hive-swarm/hive/fsm"
)

// PlanSLAEvents returns the SLA events to propose at now for the
// unfinished work orders given (every non-terminal one: the critical
// paths follow their dependencies):
//
//   - breach, when now is past the deadline and no breach is recorded for
//     that deadline;
//   - warning, when the predicted finish (now plus the remaining
//     critical-path effort from the work order, see CriticalPaths) is
//     past the deadline and neither a warning nor a breach is recorded
//     for it.
//
// Work orders without a deadline (best effort) are skipped. The FSM
// records each kind once per deadline, so proposing an event again (a new
// leader, a view that was behind) changes nothing; the request IDs are
// derived from the work order, kind and deadline for the same reason.
func PlanSLAEvents(now time.Time, unfinished []*fsm.WorkOrder) []*fsm.SLAEvent {
	var (
		out   []*fsm.SLAEvent
		paths map[string]Path
	)
	nowNs := now.UnixNano()
	for _, wo := range unfinished {
		if wo.Deadline == 0 || wo.State.Terminal() || wo.SLABreached == wo.Deadline {
			continue
		}
		if nowNs > wo.Deadline {
			out = append(out, slaEvent(wo, fsm.SLABreach, predictedFinish(nowNs, wo, &paths, unfinished)))
			continue
		}
		if wo.SLAWarned == wo.Deadline {
			continue
		}
		if pf := predictedFinish(nowNs, wo, &paths, unfinished); pf > wo.Deadline {
			out = append(out, slaEvent(wo, fsm.SLAWarning, pf))
		}
	}
	return out
}

// predictedFinish is now plus the remaining critical-path effort from wo
// (computed once, lazily, for all of unfinished).
func predictedFinish(now int64, wo *fsm.WorkOrder, paths *map[string]Path, unfinished []*fsm.WorkOrder) int64 {
	if *paths == nil {
		*paths = criticalPathsOf(unfinished)
	}
	secs := max(wo.Effort, 0)
	if p, ok := (*paths)[wo.ID]; ok && p.Seconds > secs {
		secs = p.Seconds
	}
	const maxSecs = int64(1<<62) / int64(time.Second)
	return now + min(secs, maxSecs)*int64(time.Second)
}

func slaEvent(wo *fsm.WorkOrder, kind fsm.SLAKind, predicted int64) *fsm.SLAEvent {
	return &fsm.SLAEvent{
		Header:          fsm.Header{RequestID: truncate(fmt.Sprintf("sla/%s/%s/%d", wo.ID, kind, wo.Deadline), fsm.MaxNameLen)},
		ID:              wo.ID,
		Kind:            kind,
		PredictedFinish: max(predicted, 0),
	}
}

// criticalPathsOf is CriticalPaths over the work orders wos.
func criticalPathsOf(wos []*fsm.WorkOrder) map[string]Path {
	cands := make([]Candidate, len(wos))
	for i, wo := range wos {
		cands[i] = CandidateFromWorkOrder(wo)
	}
	return CriticalPaths(cands)
}
