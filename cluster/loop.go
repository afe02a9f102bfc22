package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hive-swarm/hive/fsm"
)

// StateReader is the leader's read access to the replicated state. The
// FSM (*fsm.FSM) implements it.
type StateReader interface {
	// View returns a point-in-time view of the applied state.
	View() *fsm.View
	// AppliedIndex returns the raft index of the last applied entry.
	AppliedIndex() uint64
	// WaitForIndex blocks until AppliedIndex() ≥ index or ctx ends.
	WaitForIndex(ctx context.Context, index uint64) error
}

// Proposer commits commands through raft as one log entry (an fsm.Batch
// when there is more than one) and returns their results in order. It
// stamps each command's Header. A business error of one command (say
// ErrWIPLimit) is in its Result's Err; the error return is for the entry
// as a whole (not the leader any more, timeout, shutdown).
type Proposer interface {
	ProposeBatch(ctx context.Context, cmds []fsm.Command) ([]*fsm.Result, error)
}

// NodeSource lists the nodes placement may use, usually from gossip.
type NodeSource interface {
	Nodes() []NodeInfo
}

// LoopConfig configures a Loop. State, Proposer and Nodes are required.
type LoopConfig struct {
	State    StateReader
	Proposer Proposer
	Nodes    NodeSource
	// Wake, when not nil, starts a pass at once (for instance when gossip
	// reports a node joining or its capacity changing). Every applied raft
	// entry starts one anyway.
	Wake <-chan struct{}
	// Interval is the longest wait between passes when nothing is
	// committed and nothing wakes the loop; default 1s.
	Interval time.Duration
	// MinInterval is the shortest time between the starts of two passes;
	// default 10ms. Commits arriving meanwhile are coalesced into the next
	// pass, so a busy write path pays for at most 1/MinInterval passes a
	// second, at the price of at most MinInterval of dispatch latency.
	MinInterval time.Duration
	// MaxCandidates bounds the queued work orders one pass considers (the
	// head of the queue in priority order); default 10000.
	MaxCandidates int
	// MaxBatch bounds the assignments proposed in one log entry; default
	// 1024, at most fsm.MaxBatch.
	MaxBatch int
	// Now is the clock passed to Plan (the adaptive strategy reads it);
	// default time.Now.
	Now    func() time.Time
	Logger hclog.Logger

	// Health, when not nil, reports the nodes gossip declared dead or
	// departed (or does not know): every pass first requeues the in-flight
	// work orders such a node has held for RequeueGrace (see
	// PlanRequeues), and plans them elsewhere on the next pass.
	Health HealthSource
	// RequeueGrace is how long a node must stay gone before its work is
	// requeued; default DefaultRequeueGrace.
	RequeueGrace time.Duration
	// Breaker, when not nil, is fed the receipts of every pass and keeps
	// work away from (node, agent type) pairs whose circuit is open.
	Breaker *Breaker
	// SLAInterval, when positive, makes a pass at most this often look
	// for SLA warnings and breaches (PlanSLAEvents) and propose them.
	SLAInterval time.Duration
	// RunTimeout is the run timeout of work orders that set none (the
	// nodes' --run-timeout); 0 enforces only the work orders' own. A
	// pass fails, fenced by attempt, every in-progress attempt that has
	// run longer than its timeout plus RunTimeoutSlack without an
	// outcome (PlanRunTimeouts): the executor enforces the timeout on a
	// live node, the leader when the node is dead, cut off or stuck.
	RunTimeout time.Duration
	// RunTimeoutSlack is how long past the timeout the leader waits for
	// the executor's own report; default DefaultRunTimeoutSlack.
	RunTimeoutSlack time.Duration
}

// Loop is the leader's scheduling control loop: on every committed change
// (and every Interval) it reads the FSM, plans with the replicated
// scheduler config and the nodes gossip reports, and proposes an Assign
// per planned start, coalesced into one log entry. Queued work orders
// backing off after a failed attempt (WorkOrder.NotBefore still ahead)
// or on a line an open andon stopped are left out of the plan; the loop
// wakes again when the earliest backoff ends. It keeps nothing that
// is not rebuilt from the FSM and the node list on every pass, so a new
// leader's Loop continues where the old one stopped. The FSM enforces
// WIP limits and states on Apply; a plan made on a view that is already
// behind only wastes an entry, it never over-commits.
//
// Before planning, a pass requeues the in-flight work of nodes gone for
// RequeueGrace (Health, PlanRequeues; "gone since" comes from gossip's
// state, so a node already dead when this leader started is handled
// too) and, every SLAInterval, records SLA warnings and breaches
// (PlanSLAEvents). A Breaker, when set, is the one piece of state that
// is not rebuilt: it starts closed on every new leader (see Breaker).
type Loop struct {
	cfg    LoopConfig
	logger hclog.Logger

	// The scheduler of the last config seen, rebuilt when it changes.
	schedDigest [32]byte
	sched       *Scheduler
	schedErr    error

	slaNext time.Time // when the next SLA check is due
	// timeoutNext is when the next run-timeout check is due: at most a
	// second away, sooner when an attempt's deadline is.
	timeoutNext time.Time
	// andonScan is where the automatic andon's walk along the receipt
	// chain is (autoandon.go).
	andonScan AutoAndonScan

	mu       sync.Mutex
	deferred map[string]Reason // the last plan's Deferred
	// saturated is set by a pass that found no free slot anywhere and
	// so did not plan: every queued work order waits for capacity.
	saturated bool
	// delegates records whether the last config seen had delegation
	// rules; without them, work orders naming no agent type are not
	// planned at all.
	delegates bool
}

// NewLoop checks cfg and returns a Loop; Run or Step drive it.
func NewLoop(cfg LoopConfig) (*Loop, error) {
	switch {
	case cfg.State == nil:
		return nil, errors.New("cluster: loop needs a StateReader")
	case cfg.Proposer == nil:
		return nil, errors.New("cluster: loop needs a Proposer")
	case cfg.Nodes == nil:
		return nil, errors.New("cluster: loop needs a NodeSource")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.MinInterval <= 0 {
		cfg.MinInterval = 10 * time.Millisecond
	}
	if cfg.MaxCandidates <= 0 {
		cfg.MaxCandidates = 10_000
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 1024
	}
	cfg.MaxBatch = min(cfg.MaxBatch, fsm.MaxBatch)
	if cfg.RequeueGrace <= 0 {
		cfg.RequeueGrace = DefaultRequeueGrace
	}
	if cfg.RunTimeoutSlack <= 0 {
		cfg.RunTimeoutSlack = DefaultRunTimeoutSlack
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	logger := cfg.Logger
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return &Loop{cfg: cfg, logger: logger}, nil
}

// Run makes passes until ctx ends, then returns nil. A pass that fails to
// propose (leadership lost, timeout) is logged and retried after a short
// pause; the caller stops Run when this node stops leading.
func (l *Loop) Run(ctx context.Context) error {
	var last time.Time
	for {
		if d := l.cfg.MinInterval - time.Since(last); d > 0 && !sleepCtx(ctx, d) {
			return nil
		}
		last = time.Now()
		seen := l.cfg.State.AppliedIndex()
		res, err := l.Step(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, ErrInvalidConfig) {
			// Logged once by scheduler; wait for the config to change.
			l.wait(ctx, seen, time.Time{})
			continue
		}
		if err != nil {
			l.logger.Warn("scheduling pass failed", "error", err)
			if !sleepCtx(ctx, min(l.cfg.Interval, 200*time.Millisecond)) {
				return nil
			}
			continue
		}
		if res.Accepted > 0 || res.Requeued > 0 || res.SLAEvents > 0 || res.Andons > 0 {
			// Our own entry changed the state: plan again at once, on a
			// view that includes it.
			continue
		}
		if res.Proposed > 0 {
			// Everything was refused: plan again only once something else
			// changes, not because of our own (no-op) entry.
			seen = l.cfg.State.AppliedIndex()
		}
		l.wait(ctx, seen, res.NextRetry)
		if ctx.Err() != nil {
			return nil
		}
	}
}

// wait returns when an entry after index applies, Wake fires, Interval
// passes, until (when not zero) comes, or ctx ends.
func (l *Loop) wait(ctx context.Context, index uint64, until time.Time) {
	d := l.cfg.Interval
	if !until.IsZero() {
		d = min(d, max(time.Until(until), time.Millisecond))
	}
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if l.cfg.Wake != nil {
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			select {
			case <-l.cfg.Wake:
				cancel()
			case <-stop:
			}
		}()
	}
	_ = l.cfg.State.WaitForIndex(wctx, index+1)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// StepResult is what one pass did.
type StepResult struct {
	Index    uint64 // the applied index of the view planned on
	Plan     Plan   // the plan (empty when nothing was queued)
	Proposed int    // Assign commands proposed
	Accepted int    // of those, the ones the FSM applied
	// Refused counts the Assign commands the FSM refused, by error code
	// (wip_limit when the view was behind, invalid_transition when the
	// work order changed meanwhile, ...).
	Refused map[string]int
	// Held counts the queued work orders left out of the plan: backing
	// off after a failure (backoff) or on a line an andon stopped
	// (line_stopped).
	Held map[string]int
	// NextRetry is the earliest time a pass has something new to do: the
	// end of a backoff among the held work orders, or of a gone node's
	// requeue grace; zero when nothing is pending.
	NextRetry time.Time
	// Requeued counts the in-flight work orders of gone nodes the pass
	// requeued; SLAEvents the SLA warnings and breaches it recorded;
	// TimedOut the attempts it failed for running past their timeout.
	Requeued  int
	SLAEvents int
	TimedOut  int
	// Andons counts the automatic andons it pulled (autoandon.go).
	Andons int
}

// retryAt lowers NextRetry to t when t is earlier (and not zero).
func (r *StepResult) retryAt(t time.Time) { r.NextRetry = earlier(r.NextRetry, t) }

// earlier returns the earlier of a and b, where a zero time is none: the
// other one is returned.
func earlier(a, b time.Time) time.Time {
	if a.IsZero() || !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}

// Step makes one pass: read, plan, propose. It returns an error only when
// the scheduler config cannot be used (wrapping ErrInvalidConfig) or the
// proposal as a whole failed.
func (l *Loop) Step(ctx context.Context) (StepResult, error) {
	v := l.cfg.State.View()
	res := StepResult{Index: v.Index()}
	now := l.cfg.Now()
	if l.cfg.Breaker != nil {
		l.cfg.Breaker.Observe(v, now)
	}
	if done, err := l.housekeep(ctx, v, now, &res); done || err != nil {
		return res, err
	}
	nodes := l.cfg.Nodes.Nodes()
	if l.cfg.Breaker != nil {
		nodes = l.cfg.Breaker.Filter(nodes, now)
	}
	running := RunningFromWorkOrders(v.Active())
	if !anyFreeSlot(nodes, running) {
		// Nothing could start: skip reading the queue. A slot freeing up
		// is a commit (or a gossip change) that starts the next pass.
		l.mu.Lock()
		l.deferred, l.saturated = nil, true
		l.mu.Unlock()
		return res, nil
	}
	queued := v.Queue("", l.cfg.MaxCandidates)
	if len(queued) == 0 {
		return res, nil
	}
	sched, err := l.scheduler(v.SchedulerConfig())
	if err != nil {
		return res, err
	}
	delegates := len(sched.Config().Delegation) > 0
	l.mu.Lock()
	l.delegates = delegates
	l.mu.Unlock()
	cands := make([]Candidate, 0, len(queued))
	for _, wo := range queued {
		if wo.Kind == "" && !delegates {
			// No agent type and no rule to give it one: it waits for a
			// person (hive wo start), not for the scheduler.
			res.hold("no_agent_type")
			continue
		}
		if wo.NotBefore > now.UnixNano() {
			res.hold("backoff")
			res.retryAt(time.Unix(0, wo.NotBefore))
			continue
		}
		if v.StoppedBy(wo) != nil {
			res.hold("line_stopped")
			continue
		}
		cands = append(cands, CandidateFromWorkOrder(wo))
	}
	if len(cands) == 0 {
		return res, nil
	}
	if sched.Config().Strategy == StrategyCriticalPath {
		fillCriticalPaths(v, cands)
	}
	res.Plan = sched.Plan(now, cands, nodes, running)
	l.mu.Lock()
	l.deferred, l.saturated = res.Plan.Deferred, false
	l.mu.Unlock()
	if len(res.Plan.Assignments) == 0 {
		return res, nil
	}
	if l.cfg.Breaker != nil {
		l.cfg.Breaker.Placed(res.Plan.Assignments, now)
	}
	assigns := make([]*fsm.Assign, len(res.Plan.Assignments))
	for i, a := range res.Plan.Assignments {
		assigns[i] = &fsm.Assign{ID: a.ID, Node: a.Node, AgentType: a.AgentType}
	}
	res.Proposed += len(assigns)
	_, err = proposeCommands(ctx, l, "assign", assigns, &res.Accepted, &res)
	l.logger.Debug("assigned", "proposed", res.Proposed, "accepted", res.Accepted)
	return res, err
}

func (r *StepResult) hold(why string) {
	if r.Held == nil {
		r.Held = make(map[string]int)
	}
	r.Held[why]++
}

// scheduler returns the Scheduler for cfg, reusing the last one while the
// config is unchanged.
func (l *Loop) scheduler(cfg fsm.SchedulerConfig) (*Scheduler, error) {
	d := fsm.SchedulerConfigDigest(&cfg)
	if l.sched != nil || l.schedErr != nil {
		if d == l.schedDigest {
			return l.sched, l.schedErr
		}
	}
	l.schedDigest = d
	l.sched, l.schedErr = nil, nil
	c, err := ConfigFromFSM(cfg)
	if err == nil {
		l.sched, err = NewScheduler(c)
	}
	if err != nil {
		l.schedErr = fmt.Errorf("cluster: the replicated scheduler config is unusable; nothing is scheduled until it is replaced: %w", err)
		l.logger.Error("scheduler config", "error", l.schedErr)
	}
	return l.sched, l.schedErr
}

// fillCriticalPaths sets each candidate's CriticalPath from the DAG of
// unfinished work.
func fillCriticalPaths(v *fsm.View, cands []Candidate) {
	paths := criticalPathsOf(v.Unfinished())
	for i := range cands {
		if p, ok := paths[cands[i].ID]; ok {
			cands[i].CriticalPath = p
		}
	}
}

// anyFreeSlot reports whether some healthy node has an agent slot that
// neither its own report nor the work in flight fills.
func anyFreeSlot(nodes []NodeInfo, running Running) bool {
	for _, n := range nodes {
		if !n.Healthy {
			continue
		}
		for typ, sl := range n.Slots {
			if sl.Capacity > max(sl.Running, running.Slots[n.Name][typ]) {
				return true
			}
		}
	}
	return false
}
