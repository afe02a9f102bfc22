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
	changed, err := proposeCommands(ctx, l, "andon", trigs, &res.Andons, res)
	if err != nil {
		// Read these receipts again next time: the triggers are idempotent.
		l.andonScan = prev
		return true, err
	}
	if changed {
		l.logger.Warn("pulled the andon cord automatically", "count", res.Andons)
	}
	return changed, nil
}
