package cluster

import (
	"context"
	"time"

	"github.com/hive-swarm/hive/fsm"
)

// autoAndons proposes the automatic andons the receipts since the last
// pass call for (see PlanAutoAndons). It returns done when it changed the
// state, so that the pass plans again on a view that includes the
// stopped lines.
func (l *Loop) autoAndons(ctx context.Context, v *fsm.View, now time.Time, res *StepResult) (bool, error) {
	prev := l.andonScan
	trigs, more := PlanAutoAndons(v, v.SchedulerConfig().AutoAndon, &l.andonScan)
	if more {
		res.retryAt(now) // more receipts to read: come back at once
	}
	if len(trigs) == 0 {
		return false, nil
	}
	cmds := make([]fsm.Command, len(trigs))
	for i, t := range trigs {
		cmds[i] = t
	}
	accepted, err := l.proposeAll(ctx, "andon", cmds, res)
	res.Andons += accepted
	if err != nil {
		// Read these receipts again next time: the triggers are idempotent.
		l.andonScan = prev
		return true, err
	}
	if accepted > 0 {
		l.logger.Warn("pulled the andon cord automatically", "count", accepted)
		return true, nil
	}
	return false, nil
}
