package node

import (
	"context"
	"time"

	"github.com/hashicorp/raft"
)

// Leave departs the cluster gracefully, then shuts the node down:
//
//  1. a leader first hands leadership to another voter (if that fails it
//     removes itself from the configuration while still leader);
//  2. gossip announces the leave, and the leader, seeing a member that
//     left, removes it from the raft configuration at once (not after
//     DeadServerGrace, as for a failure);
//  3. Leave waits, up to LeaveDrainTimeout or ctx, until its own raft
//     configuration no longer lists it, then calls Shutdown(ctx).
//
// A node alone in its configuration just shuts down. Errors on the way are
// logged; the node shuts down regardless, and the error returned is
// Shutdown's. If a Shutdown begins meanwhile, Leave stops waiting and
// returns nil without waiting for it (that Shutdown may be waiting for the
// caller of Leave, e.g. an HTTP request).
func (n *Node) Leave(ctx context.Context) error {
	if !n.started.Load() || n.isShutdown() {
		return n.shutdownUnlessBegun(ctx)
	}
	n.logger.Info("leaving the cluster")
	drain, cancel := context.WithTimeout(ctx, n.cfg.RaftTimeouts.LeaveDrainTimeout)
	defer cancel()

	if n.othersInConfig() {
		if n.IsLeader() {
			n.handOverLeadership(drain)
		}
		if err := n.gossip.Leave(n.gossipLeaveTimeout(drain)); err != nil {
			n.logger.Warn("gossip leave", "error", err)
		}
		n.waitRemoved(drain)
	}
	return n.shutdownUnlessBegun(ctx)
}

// shutdownUnlessBegun shuts the node down unless someone else already is.
func (n *Node) shutdownUnlessBegun(ctx context.Context) error {
	if !n.beginShutdown() {
		return nil
	}
	return n.finishShutdown(ctx)
}

// othersInConfig reports whether the raft configuration lists anyone but
// this node.
func (n *Node) othersInConfig() bool {
	conf, err := n.raftConfiguration()
	if err != nil {
		return false
	}
	for _, s := range conf.Servers {
		if string(s.ID) != n.cfg.Name {
			return true
		}
	}
	return false
}

// handOverLeadership transfers leadership away, or failing that removes
// this node from the configuration while it is still the leader.
func (n *Node) handOverLeadership(ctx context.Context) {
	err := waitFuture(ctx.Done(), n.raft.LeadershipTransfer())
	if err == nil {
		n.logger.Info("leadership transferred")
		return
	}
	n.logger.Warn("leadership transfer failed; removing self as leader", "error", err)
	f := n.raft.RemoveServer(raft.ServerID(n.cfg.Name), 0, n.cfg.RaftTimeouts.ApplyTimeout)
	if err := waitFuture(ctx.Done(), f); err != nil {
		n.logger.Warn("removing self from the configuration", "error", err)
	}
}

func (n *Node) gossipLeaveTimeout(ctx context.Context) time.Duration {
	d := 5 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		d = min(d, time.Until(dl)/2)
	}
	return max(d, 100*time.Millisecond)
}

// waitRemoved waits until this node's raft configuration no longer lists
// it, or ctx is done.
func (n *Node) waitRemoved(ctx context.Context) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		conf, err := n.raftConfiguration()
		if err != nil {
			return
		}
		listed := false
		for _, s := range conf.Servers {
			listed = listed || string(s.ID) == n.cfg.Name
		}
		if !listed {
			n.logger.Info("removed from the raft configuration")
			return
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			n.logger.Warn("not removed from the raft configuration in time; shutting down anyway")
			return
		case <-n.shutdownCh:
			return
		}
	}
}
