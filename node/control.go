package node

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"github.com/hive-swarm/hive/cluster"
	"github.com/hive-swarm/hive/fsm"
	"github.com/hive-swarm/hive/gossip"
)

// runScheduler runs the scheduling control loop until stop is closed
// (leadership lost or shutdown). It is started by leaderLoop once the
// leader's barrier has committed, so it plans on a complete state.
func (n *Node) runScheduler(stop <-chan struct{}) {
	et := n.cfg.Execution
	breaker := cluster.NewBreaker(cluster.BreakerConfig{Threshold: et.BreakerThreshold, CoolDown: et.BreakerCoolDown})
	loop, err := cluster.NewLoop(cluster.LoopConfig{
		State:        passCounter{n.fsm, &n.schedPasses},
		Proposer:     leaderProposer{n},
		Nodes:        gossipNodes{n},
		Wake:         n.schedCh,
		Interval:     et.ScheduleInterval,
		Logger:       n.logger.Named("scheduler"),
		Health:       newGossipHealth(n),
		RequeueGrace: n.cfg.RequeueGrace,
		Breaker:      breaker,
		SLAInterval:  et.SLAInterval,
		RunTimeout:   et.RunTimeout,
	})
	if err != nil {
		n.logger.Error("scheduler", "error", err)
		return
	}
	n.exec.setControl(&controlState{loop: loop, breaker: breaker})
	defer n.exec.setControl(nil)
	ctx, cancel := stopContext(stop)
	defer cancel()
	_ = loop.Run(ctx)
}

// controlState is what the running control loop shares with the HTTP
// API's explain (ExplainReasons): the loop (its last plan's deferrals)
// and its circuit breaker. It lives while this node leads.
type controlState struct {
	loop    *cluster.Loop
	breaker *cluster.Breaker
}

// passCounter is the control loop's read access to the FSM. It counts
// the loop's passes, each of which starts by taking one view, so that a
// test proving that nothing more happens can wait for passes rather than
// for a guessed time.
type passCounter struct {
	*fsm.FSM
	passes *atomic.Uint64
}

// View implements cluster.StateReader; the count goes up before the view
// is taken, so a pass counted after a write has been applied sees it.
func (p passCounter) View() *fsm.View {
	p.passes.Add(1)
	return p.FSM.View()
}

// leaderProposer adapts Node.ProposeControl to cluster.Proposer.
type leaderProposer struct{ n *Node }

// ProposeBatch implements cluster.Proposer.
func (p leaderProposer) ProposeBatch(ctx context.Context, cmds []fsm.Command) ([]*fsm.Result, error) {
	return p.n.ProposeControl(ctx, cmds)
}

// ProposeControl commits cmds as one log entry (an fsm.Batch when there are
// several) on the leader and returns their results in order; a business
// error of one command is in its Result's Err. It serves the control
// plane, which coalesces its own commands: Assign, Transition, Tick,
// SetSchedulerConfig, SLAEvent, AndonTrigger, RecordStale and MemoryDelete (of the
// stale-report mailbox) are accepted. It stamps every Header (this node, now,
// a random RequestID when empty), validates every command first, and
// fails with ErrNotLeader on a follower. Errors are those of Propose.
// Unlike Propose and ProposeBatch it does not queue behind client writes:
// the entry goes to raft at once.
func (n *Node) ProposeControl(ctx context.Context, cmds []fsm.Command) ([]*fsm.Result, error) {
	if len(cmds) == 0 {
		return nil, nil
	}
	if !n.started.Load() || n.isShutdown() {
		return nil, ErrShutdown
	}
	now := time.Now().UnixNano()
	for _, c := range cmds {
		h := headerOf(c)
		if h == nil || !controlCommand(c) {
			return nil, fsm.Errorf(fsm.ErrInvalidArgument, "command: %T cannot be proposed in a control-plane batch", c)
		}
		if h.RequestID == "" {
			h.RequestID = newRequestID()
		}
		h.Node, h.Time = n.cfg.Name, now
		if err := fsm.Validate(c); err != nil {
			return nil, err
		}
	}
	var cmd fsm.Command = &fsm.Batch{Commands: cmds}
	if len(cmds) == 1 {
		cmd = cmds[0]
	}
	data, err := fsm.Encode(cmd)
	if err != nil {
		return nil, fmt.Errorf("node: encode: %w", err)
	}
	if !n.IsLeader() {
		return nil, n.notLeaderErr()
	}
	future := n.raft.Apply(data, n.cfg.RaftTimeouts.ApplyTimeout)
	if err := waitApply(ctx, n.shutdownCh, future); err != nil {
		return nil, err
	}
	switch r := future.Response().(type) {
	case *fsm.Result:
		return []*fsm.Result{r}, nil
	case []*fsm.Result:
		if len(r) == len(cmds) {
			return r, nil
		}
	}
	return nil, fmt.Errorf("node: unexpected apply response %T for %d commands", future.Response(), len(cmds))
}

// waitApply waits for an apply future, or for ctx or shutdown (after
// which the entry may or may not commit).
func waitApply(ctx context.Context, shutdown <-chan struct{}, f raft.ApplyFuture) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		if err != nil {
			return mapRaftErr(err)
		}
		return nil
	case <-ctx.Done():
		return ctxErr(ctx)
	case <-shutdown:
		return ErrShutdown
	}
}

// controlCommand reports whether c is one of the commands the control
// plane proposes through ProposeControl.
func controlCommand(c fsm.Command) bool {
	switch c.(type) {
	case *fsm.Assign, *fsm.Transition, *fsm.Tick, *fsm.SetSchedulerConfig, *fsm.SLAEvent,
		*fsm.AndonTrigger, // automatic andon (cluster/autoandon.go)
		*fsm.RecordStale, *fsm.MemoryDelete:
		return true
	}
	return false
}

// gossipNodes lists the nodes for placement from gossip metadata.
type gossipNodes struct{ n *Node }

// Nodes implements cluster.NodeSource: every member gossip knows, healthy
// when alive and not leaving, with the agent slots and load it gossips
// (this node's own from its live metadata).
func (g gossipNodes) Nodes() []cluster.NodeInfo {
	n := g.n
	if n.gossip == nil {
		return nil
	}
	members := n.gossip.Members()
	out := make([]cluster.NodeInfo, 0, len(members))
	for _, m := range members {
		meta := n.memberMeta(&m)
		out = append(out, nodeInfo(m.Name, m.Status == gossip.StatusAlive && !meta.Has(gossip.FlagLeaving), meta))
	}
	return out
}

// nodeInfo converts one member's metadata for placement.
func nodeInfo(name string, healthy bool, meta *gossip.Meta) cluster.NodeInfo {
	ni := cluster.NodeInfo{Name: name, Healthy: healthy, Load: float64(meta.Load) / 1000}
	if len(meta.Agents) > 0 {
		ni.Slots = make(map[string]cluster.Slot, len(meta.Agents))
		for _, a := range meta.Agents {
			ni.Slots[a.Type] = cluster.Slot{Capacity: int(a.Capacity), Running: int(a.Running)}
		}
	}
	return ni
}
