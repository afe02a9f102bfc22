package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hive-swarm/hive/fsm"
	"github.com/hive-swarm/hive/plugins"
)

// errMoved cancels a task whose work order is no longer this node's at
// the task's attempt (cancelled, failed, moved elsewhere).
var errMoved = errors.New("node: the work order is no longer assigned to this node at this attempt")

// errRunTimeout ends a run that took longer than the run timeout.
var errRunTimeout = errors.New("node: the run exceeded its timeout")

// executor runs the work orders the leader assigned to this node: it
// watches the FSM for in-progress work orders held by this node whose
// attempt an Assign started (a work order started by hand through the
// API is left to whoever started it), runs each attempt once on its
// agent's plugin, and reports progress and the outcome as fenced
// transitions. It keeps only what it runs; everything else it reads from
// the FSM.
type executor struct {
	n *Node

	wake chan struct{} // capacity 1: a task ended

	// fwd sends a follower's reports to the leader; set by run before
	// any task starts (nil when it could not be built).
	fwd *execForwarder

	mu    sync.Mutex
	tasks map[string]*execTask // by work order ID
	ended []string             // IDs of tasks that ended since the last reconcile

	// cur is how far reconcile has looked (see executor_reconcile.go);
	// used by the run goroutine only.
	cur reconcileCursor
	// launch runs a task that reconcile started; e.launchTask but in
	// tests.
	launch func(nodeCtx, ctx context.Context, t *execTask, wo *fsm.WorkOrder)

	// control is the leader's control state while this node leads (nil
	// otherwise); kept here because the executor is the node's holder of
	// work-order runtime state. See controlState.
	control atomic.Pointer[controlState]
}

// setControl publishes (or, with nil, withdraws) the control state of
// the running control loop.
func (e *executor) setControl(c *controlState) { e.control.Store(c) }

// execTask is one attempt being run (or reported) by this node.
type execTask struct {
	id      string
	attempt uint64
	cancel  context.CancelCauseFunc
	done    bool // its goroutine has ended; kept until the FSM moves on
}

func newExecutor(n *Node) *executor {
	e := &executor{n: n, tasks: make(map[string]*execTask), wake: make(chan struct{}, 1)}
	e.launch = e.launchTask
	return e
}

// run watches the FSM until shutdown: after every applied entry it
// reconciles the tasks with the work orders assigned to this node.
func (e *executor) run(ctx context.Context) {
	f := newExecForwarder(ctx, e.n)
	e.fwd = f
	defer func() {
		// Its goroutines end with ctx; wait for them.
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = f.stop(sctx)
	}()
	for {
		v := e.n.fsm.View()
		e.reconcile(ctx, v)
		e.wait(ctx, v.Index())
		if ctx.Err() != nil {
			e.cancelAll(ErrShutdown)
			return
		}
	}
}

// wait returns when an entry after index applies, a task ends, or ctx
// ends.
func (e *executor) wait(ctx context.Context, index uint64) {
	for {
		applied, ch := e.n.fsm.AppliedWatch()
		if applied > index {
			return
		}
		select {
		case <-ch:
		case <-e.wake:
			return
		case <-ctx.Done():
			return
		}
	}
}

// cancelAll cancels every running task with cause.
func (e *executor) cancelAll(cause error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, t := range e.tasks {
		t.cancel(cause)
	}
}

// execute runs one attempt (under ctx, which ends when the attempt is
// taken away) and reports its outcome (under nodeCtx, which ends only at
// shutdown). A run abandoned because the attempt was taken away
// (cancelled, moved) reports nothing: the FSM already holds the work
// order's fate. A run that finished first reports its outcome all the
// same, even when the node learns meanwhile that the attempt moved (a
// healed partition): the FSM refuses it as stale and the refusal is
// receipted, so the chain shows the late result without counting it.
func (e *executor) execute(nodeCtx, ctx context.Context, wo *fsm.WorkOrder) {
	n := e.n
	agent := wo.Assignee.Agent
	if agent == "" {
		agent = wo.Kind
	}
	log := n.logger.With("id", wo.ID, "attempt", wo.Attempt, "agent", agent)
	task := &plugins.Task{
		WorkOrderID: wo.ID,
		Attempt:     wo.Attempt,
		Title:       wo.Title,
		Description: wo.Description,
		AgentType:   agent,
		Payload:     wo.Payload,
		Labels:      wo.Labels,
	}
	log.Debug("running work order")
	n.notifyMeta()
	prog := newProgressReporter(ctx, e, wo.ID, wo.Attempt, agent)
	timeout := wo.RunTimeoutOr(n.cfg.Execution.RunTimeout)
	rctx, rcancel := context.WithTimeoutCause(ctx, timeout, errRunTimeout)
	defer rcancel()
	res, err := n.plugins.Execute(rctx, task, prog.onEvent)
	for errors.Is(err, plugins.ErrPluginUnavailable) && !errors.Is(err, plugins.ErrPluginCrashed) {
		// The plugin waits out a restart and never saw the task: run it
		// once the plugin is back (or the attempt is taken away).
		log.Debug("agent unavailable; waiting for it", "error", err)
		if werr := n.plugins.WaitReady(rctx, agent); werr != nil {
			break
		}
		res, err = n.plugins.Execute(rctx, task, prog.onEvent)
	}
	prog.stop()
	if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
		log.Debug("run abandoned", "cause", cause)
		return
	}
	if errors.Is(context.Cause(rctx), errRunTimeout) {
		// Whatever Execute returned, the run was cut short: a failure the
		// retry policy may retry.
		res, err = nil, fmt.Errorf("run timeout: the run took longer than %s and was cancelled", timeout)
	}
	tr := outcome(wo, agent, res, err)
	if tr.Action == fsm.ActionFail {
		log.Warn("work order failed", "reason", tr.Reason)
	} else {
		log.Debug("work order completed")
	}
	err = e.report(nodeCtx, tr)
	switch {
	case err == nil || nodeCtx.Err() != nil:
	case isStaleAttempt(err):
		// The attempt was moved elsewhere while this node ran it (a
		// partition, say): have the refusal receipted.
		log.Info("outcome refused as stale; recording it", "action", tr.Action)
		if err := e.recordStale(nodeCtx, tr); err != nil && nodeCtx.Err() == nil {
			log.Warn("recording the stale outcome", "error", err)
		}
	case ctx.Err() != nil:
		// Taken away by hand (cancelled) while the outcome was on its way.
		log.Debug("outcome of an attempt taken away refused", "action", tr.Action, "error", err)
	default:
		log.Warn("reporting the outcome", "action", tr.Action, "error", err)
	}
}

// outcome turns the result of Execute into the transition to report:
// complete with evidence for a run that exited 0, else a fenced fail
// with the evidence (when there is a result) and the reason, which the
// FSM retries under the work order's retry policy unless NoRetry.
func outcome(wo *fsm.WorkOrder, agent string, res *plugins.Result, err error) *fsm.Transition {
	tr := &fsm.Transition{ID: wo.ID, Attempt: wo.Attempt, Agent: agent}
	switch {
	case err != nil:
		tr.Action = fsm.ActionFail
		tr.Reason = truncate(err.Error(), fsm.MaxNoteLen)
		// A task the agent rejected as invalid fails the same way on
		// every attempt: no retry. Anything else (a crash, an agent's
		// failure) is left to the work order's retry policy.
		var ae *plugins.AgentError
		tr.NoRetry = errors.Is(err, plugins.ErrInvalidTask) || (errors.As(err, &ae) && ae.Invalid)
	case res.ExitStatus != 0:
		tr.Action = fsm.ActionFail
		tr.Reason = fmt.Sprintf("exit status %d", res.ExitStatus)
		tr.Evidence = evidenceOf(res)
	default:
		tr.Action = fsm.ActionComplete
		tr.Evidence = evidenceOf(res)
	}
	tr.RequestID = reportRequestID(wo.ID, wo.Attempt, string(tr.Action), 0)
	return tr
}

// reportRequestID is the request ID of a report: derived from the
// attempt, so a retried report is answered with the first outcome.
func reportRequestID(id string, attempt uint64, action string, seq uint64) string {
	return truncate(fmt.Sprintf("exec/%s/%d/%s/%d", id, attempt, action, seq), fsm.MaxNameLen)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
