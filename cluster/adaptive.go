package cluster

import (
	"fmt"
	"math"
	"time"
)

// maxEffort bounds effort estimates (about 100 years) so that converting
// them to a Duration cannot overflow.
const maxEffort = 100 * 365 * 24 * 3600

func effortDuration(seconds int64) time.Duration {
	return time.Duration(min(max(seconds, 0), maxEffort)) * time.Second
}

// resolve returns the strategy to order this plan by and why. Only
// StrategyAdaptive looks at the state; see AdaptiveConfig for its rule.
func (s *Scheduler) resolve(now time.Time, entries []entry, free int) (Strategy, string) {
	if st := s.cfg.Strategy.orElseDefault(); st != StrategyAdaptive {
		return st, "configured"
	}
	a := s.cfg.Adaptive
	var risk *entry
	var riskSlack, riskWindow time.Duration
	for i := range entries {
		e := &entries[i]
		if e.c.Deadline.IsZero() {
			continue
		}
		slack, window, ok := atRisk(now, e.c, a.DeadlineRiskPercent)
		if !ok {
			continue
		}
		if risk == nil || compareDeadline(e, risk) < 0 {
			risk, riskSlack, riskWindow = e, slack, window
		}
	}
	if risk != nil {
		return StrategyDeadline, fmt.Sprintf("adaptive: deadline of %s at risk (slack %v after its effort, under %d%% of its %v window)",
			risk.id, riskSlack, a.DeadlineRiskPercent, riskWindow)
	}
	n := len(entries)
	if f := int64(a.LongQueueFactor); f > 0 && free > 0 && int64(n) > f*int64(free) {
		return StrategySJF, fmt.Sprintf("adaptive: queue long (%d candidates > %d per free slot × %d free slots)", n, f, free)
	}
	return StrategyPriority, fmt.Sprintf("adaptive: no deadline at risk and queue not long (%d candidates, %d free slots)", n, free)
}

// atRisk reports whether c's deadline is at risk at now: the time left,
// less the estimated effort, is below percent of the window from creation
// to deadline (a zero creation time gives an empty window, so only
// negative slack counts). It returns the slack and the window.
func atRisk(now time.Time, c *Candidate, percent int) (slack, window time.Duration, ok bool) {
	slack = subSat(c.Deadline.Sub(now), effortDuration(c.EffortSeconds))
	if !c.Created.IsZero() {
		window = max(c.Deadline.Sub(c.Created), 0)
	}
	return slack, window, slack < window/100*time.Duration(percent)
}

// subSat returns a-b for b >= 0, saturating at the smallest Duration.
func subSat(a, b time.Duration) time.Duration {
	if a < math.MinInt64+b {
		return math.MinInt64
	}
	return a - b
}
