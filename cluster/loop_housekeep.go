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
			if changed, err := proposeCommands(ctx, l, "requeue", reqs, &res.Requeued, res); changed || err != nil {
				if err == nil {
					l.logger.Info("requeued the work of gone nodes", "count", res.Requeued)
				}
				return true, err
			}
		}
	}
	if !now.Before(l.timeoutNext) {
		fails, next := PlanRunTimeouts(now, v.Active(), l.cfg.RunTimeout, l.cfg.RunTimeoutSlack, v.AssignedByLeader)
		l.timeoutNext = earlier(now.Add(time.Second), next)
		res.retryAt(next)
		if changed, err := proposeCommands(ctx, l, "run timeout", fails, &res.TimedOut, res); changed || err != nil {
			if err == nil {
				l.logger.Warn("failed attempts that ran past their run timeout without an outcome", "count", res.TimedOut)
			}
			return true, err
		}
	}
	if l.cfg.SLAInterval > 0 && !now.Before(l.slaNext) {
		l.slaNext = now.Add(l.cfg.SLAInterval)
		evs := PlanSLAEvents(now, v.Unfinished())
		if changed, err := proposeCommands(ctx, l, "sla", evs, &res.SLAEvents, res); changed || err != nil {
			return true, err
		}
	}
	return l.autoAndons(ctx, v, now, res)
}

// proposeCommands proposes cmds (proposeAll), adds the number applied to
// *count, and reports whether any was applied: the state changed.
func proposeCommands[C fsm.Command](ctx context.Context, l *Loop, what string, cmds []C, count *int, res *StepResult) (bool, error) {
	if len(cmds) == 0 {
		return false, nil
	}
	all := make([]fsm.Command, len(cmds))
	for i, c := range cmds {
		all[i] = c
	}
	accepted, err := l.proposeAll(ctx, what, all, res)
	*count += accepted
	return accepted > 0, err
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
