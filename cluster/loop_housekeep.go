package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hive-swarm/hive/fsm"
)

// housekeep runs the parts of a pass that come before planning: it
// requeues the in-flight work of gone nodes (Health), fails attempts
// past their run timeout (PlanRunTimeouts), records SLA events
// (SLAInterval) and pulls the automatic andons (autoandon.go). It returns done when it changed the state, so
// that the caller plans again on a view that includes the change.
func (l *Loop) housekeep(ctx context.Context, v *fsm.View, now time.Time, res *StepResult) (bool, error) {
	if l.cfg.Health != nil {
		if gone := l.cfg.Health.Gone(); len(gone) > 0 {
			reqs, next := PlanRequeues(now, l.cfg.RequeueGrace, v.Active(), gone)
			res.retryAt(next)
			if len(reqs) > 0 {
				cmds := make([]fsm.Command, len(reqs))
				for i, r := range reqs {
					cmds[i] = r
				}
				accepted, err := l.proposeAll(ctx, "requeue", cmds, res)
				res.Requeued += accepted
				if err != nil {
					return true, err
				}
				if accepted > 0 {
					l.logger.Info("requeued the work of gone nodes", "count", accepted)
					return true, nil
				}
			}
		}
	}
	if !now.Before(l.timeoutNext) {
		fails, next := PlanRunTimeouts(now, v.Active(), l.cfg.RunTimeout, l.cfg.RunTimeoutSlack, v.AssignedByLeader)
		l.timeoutNext = now.Add(time.Second)
		if !next.IsZero() && next.Before(l.timeoutNext) {
			l.timeoutNext = next
		}
		res.retryAt(next)
		if len(fails) > 0 {
			cmds := make([]fsm.Command, len(fails))
			for i, f := range fails {
				cmds[i] = f
			}
			accepted, err := l.proposeAll(ctx, "run timeout", cmds, res)
			res.TimedOut += accepted
			if err != nil {
				return true, err
			}
			if accepted > 0 {
				l.logger.Warn("failed attempts that ran past their run timeout without an outcome", "count", accepted)
				return true, nil
			}
		}
	}
	if l.cfg.SLAInterval > 0 && !now.Before(l.slaNext) {
		l.slaNext = now.Add(l.cfg.SLAInterval)
		if evs := PlanSLAEvents(now, v.Unfinished()); len(evs) > 0 {
			cmds := make([]fsm.Command, len(evs))
			for i, e := range evs {
				cmds[i] = e
			}
			accepted, err := l.proposeAll(ctx, "sla", cmds, res)
			res.SLAEvents += accepted
			if err != nil {
				return true, err
			}
			if accepted > 0 {
				return true, nil
			}
		}
	}
	return l.autoAndons(ctx, v, now, res)
}

// proposeAll commits cmds in entries of at most MaxBatch commands and
// returns how many the FSM applied; refusals are tallied in res.Refused.
func (l *Loop) proposeAll(ctx context.Context, what string, cmds []fsm.Command, res *StepResult) (int, error) {
	accepted := 0
	for len(cmds) > 0 {
		k := min(len(cmds), l.cfg.MaxBatch)
		results, err := l.cfg.Proposer.ProposeBatch(ctx, cmds[:k])
		if err != nil {
			return accepted, fmt.Errorf("cluster: proposing %d %s commands: %w", k, what, err)
		}
		for i, r := range results {
			if r == nil || r.Err == nil {
				accepted++
				continue
			}
			code := "error"
			var fe *fsm.Error
			if errors.As(r.Err, &fe) {
				code = string(fe.Code)
			}
			if res.Refused == nil {
				res.Refused = make(map[string]int)
			}
			res.Refused[code]++
			l.logger.Debug(what+" refused", "command", fmt.Sprintf("%T", cmds[i]), "error", r.Err)
		}
		cmds = cmds[k:]
	}
	return accepted, nil
}

// Deferred returns why the last pass left queued work order id, of
// agent type kind, out of its plan, if it did: a work order naming no
// type while no delegation rule exists is never planned (no_agent_type);
// after a pass that found every slot taken, and so did not plan, a typed
// work order waits for capacity (no_capacity); otherwise the last plan's
// reason.
func (l *Loop) Deferred(id, kind string) (Reason, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case kind == "" && !l.delegates:
		return Reason{Code: ReasonNoAgentType}, true
	case l.saturated && kind != "":
		return Reason{Code: ReasonNoCapacity, AgentType: kind}, true
	case l.saturated:
		return Reason{}, false
	}
	r, ok := l.deferred[id]
	return r, ok
}
