package node

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hive-swarm/hive/fsm"
)

// monitorLeadership starts the leader loop when raft makes this node the
// leader and stops it (waiting for it to finish) when leadership is lost.
func (n *Node) monitorLeadership() {
	var (
		stop chan struct{}
		wg   sync.WaitGroup
	)
	stopLoop := func() {
		if stop != nil {
			close(stop)
			wg.Wait()
			stop = nil
		}
	}
	for {
		select {
		case isLeader := <-n.leaderCh:
			switch {
			case isLeader && stop == nil:
				stop = make(chan struct{})
				wg.Add(1)
				go func(stop chan struct{}) {
					defer wg.Done()
					n.leaderLoop(stop)
				}(stop)
			case !isLeader:
				if stop != nil {
					n.logger.Info("leadership lost")
				}
				stopLoop()
			}
		case <-n.shutdownCh:
			stopLoop()
			return
		}
	}
}

// leaderLoop runs while this node is the leader. It keeps no state that
// is not rebuilt from raft, gossip and the FSM on each new leadership.
func (n *Node) leaderLoop(stop chan struct{}) {
	n.logger.Info("leadership acquired", "term", n.raft.CurrentTerm())
	// A new leader knows its log is complete but not how much of it is
	// committed until an entry of its own term commits; until then its
	// commit index may hide writes acknowledged by the previous leader.
	// The barrier commits such an entry and waits for the FSM to apply
	// everything before it; only then are linearizable reads served.
	for {
		err := waitFuture(stop, n.raft.Barrier(n.cfg.RaftTimeouts.ApplyTimeout))
		if err == nil {
			break
		}
		if errors.Is(err, ErrShutdown) || errors.Is(err, ErrLeadershipLost) || errors.Is(err, ErrNotLeader) {
			return
		}
		n.logger.Warn("leader barrier failed; retrying", "error", err)
		select {
		case <-time.After(100 * time.Millisecond):
		case <-stop:
			return
		}
	}
	// Raft hands the FSM command entries only: after the barrier (and the
	// leader's no-op) the FSM's applied index, which linearizable reads
	// wait for, still lags the commit index until the next write. An
	// empty Tick of this term brings it up to date.
	if !n.tickAfterBarrier(stop) {
		return
	}
	n.setReady(true)
	defer n.setReady(false)

	var sched sync.WaitGroup
	sched.Add(1)
	go func() {
		defer sched.Done()
		n.runScheduler(stop)
	}()
	defer sched.Wait()

	missingSince := make(map[string]time.Time)
	n.reconcile(stop, missingSince)
	reconcile := time.NewTicker(n.cfg.RaftTimeouts.ReconcileInterval)
	defer reconcile.Stop()
	expiry := time.NewTicker(n.cfg.RaftTimeouts.ExpiryCheckInterval)
	defer expiry.Stop()
	// Stale reports left by followers wait in the FSM (executor_stale.go).
	staleTick := time.NewTicker(n.cfg.Execution.ScheduleInterval)
	defer staleTick.Stop()
	staleCtx, staleCancel := stopContext(stop)
	defer staleCancel()
	for {
		select {
		case <-stop:
			return
		case <-reconcile.C:
			n.reconcile(stop, missingSince)
		case <-n.reconcileCh:
			n.reconcile(stop, missingSince)
		case <-expiry.C:
			n.maybeTick(stop)
		case <-staleTick.C:
			n.drainStaleReports(staleCtx)
		}
	}
}

// tickAfterBarrier commits an empty Tick, retrying until it commits; it
// returns false when leadership ends or the node shuts down first.
func (n *Node) tickAfterBarrier(stop <-chan struct{}) bool {
	ctx, cancel := stopContext(stop)
	defer cancel()
	for {
		_, err := n.Propose(ctx, &fsm.Tick{})
		if err == nil {
			return true
		}
		if ctx.Err() != nil || errors.Is(err, ErrShutdown) || errors.Is(err, ErrNotLeader) ||
			errors.Is(err, ErrNoLeader) || errors.Is(err, ErrLeadershipLost) {
			return false
		}
		n.logger.Warn("leader tick failed; retrying", "error", err)
		select {
		case <-time.After(100 * time.Millisecond):
		case <-stop:
			return false
		}
	}
}

// maybeTick proposes a Tick when a memory TTL is due, so that entries
// expire at the same log index on every node even when nothing else is
// written.
func (n *Node) maybeTick(stop <-chan struct{}) {
	next := n.fsm.View().NextExpiry()
	if next == 0 || time.Now().UnixNano() < next {
		return
	}
	ctx, cancel := stopContext(stop)
	defer cancel()
	if _, err := n.Propose(ctx, &fsm.Tick{}); err != nil {
		n.logger.Warn("proposing tick", "error", err)
	}
}

// stopContext returns a context cancelled when stop is closed.
func stopContext(stop <-chan struct{}) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// setReady records whether this leader may serve linearizable reads.
func (n *Node) setReady(ok bool) {
	n.readyMu.Lock()
	defer n.readyMu.Unlock()
	select {
	case <-n.ready: // currently ready
		if !ok {
			n.ready = make(chan struct{})
		}
	default:
		if ok {
			close(n.ready)
		}
	}
}

// waitReady waits until this node is a leader ready for linearizable reads.
func (n *Node) waitReady(ctx context.Context) error {
	for {
		if !n.IsLeader() {
			return n.notLeaderErr()
		}
		n.readyMu.Lock()
		ch := n.ready
		n.readyMu.Unlock()
		select {
		case <-ch:
			return nil
		case <-ctx.Done():
			return ctxErr(ctx)
		case <-n.shutdownCh:
			return ErrShutdown
		case <-time.After(50 * time.Millisecond): // re-check leadership
		}
	}
}
