package node

import (
	"context"
	"fmt"

	"github.com/hive-swarm/hive/fsm"
)

// View returns a read-only view of the state.
//
// With stale set it is this node's local state, possibly behind the
// leader's. Otherwise the read is linearizable: it reflects every write
// acknowledged before View was called. Only the leader can promise that,
// so a follower answers ErrNotLeader (ErrNoLeader when none is known) and
// the HTTP layer forwards. The leader records its commit index, confirms
// with a quorum that it is still the leader, and waits until its FSM has
// applied that index. The wait is bounded by ctx and ConsistentReadWait.
func (n *Node) View(ctx context.Context, stale bool) (*fsm.View, error) {
	if stale {
		return n.fsm.View(), nil
	}
	if !n.started.Load() || n.isShutdown() {
		return nil, ErrShutdown
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.RaftTimeouts.ConsistentReadWait)
	defer cancel()
	// A new leader serves reads only after its barrier (see leaderLoop):
	// before that its commit index may lag the previous leader's.
	if err := n.waitReady(ctx); err != nil {
		return nil, err
	}
	idx := n.raft.CommitIndex()
	if err := waitFuture(ctx.Done(), n.raft.VerifyLeader()); err != nil {
		if ctx.Err() != nil {
			return nil, ctxErr(ctx)
		}
		return nil, fmt.Errorf("node: verify leadership: %w", err)
	}
	if err := n.WaitForIndex(ctx, idx); err != nil {
		return nil, err
	}
	return n.fsm.View(), nil
}

// WaitForIndex blocks until this node's FSM has applied idx, ctx is done
// (ErrTimeout on a deadline) or the node shuts down.
func (n *Node) WaitForIndex(ctx context.Context, idx uint64) error {
	if n.fsm.AppliedIndex() >= idx {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-n.shutdownCh:
			cancel()
		case <-ctx.Done():
		}
	}()
	if err := n.fsm.WaitForIndex(ctx, idx); err != nil {
		if n.isShutdown() {
			return ErrShutdown
		}
		return ctxErr(ctx)
	}
	return nil
}
