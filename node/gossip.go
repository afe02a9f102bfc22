package node

import (
	"context"
	"fmt"
	"time"

	"github.com/hive-swarm/hive/gossip"
)

// setupGossip starts memberlist with this node's metadata. Joining happens
// in retryJoin.
func (n *Node) setupGossip() error {
	g := n.cfg.Gossip
	gs, err := gossip.New(gossip.Config{
		Name:                n.cfg.Name,
		BindAddr:            n.cfg.BindAddr,
		BindPort:            n.cfg.GossipPort,
		AdvertiseAddr:       n.advertise,
		Meta:                n.localMeta(n.hadState),
		Logger:              n.logger.Named("gossip"),
		Events:              n.gossipEvents,
		SecretKey:           n.cfg.GossipKey,
		ProbeInterval:       g.ProbeInterval,
		ProbeTimeout:        g.ProbeTimeout,
		GossipInterval:      g.GossipInterval,
		PushPullInterval:    g.PushPullInterval,
		SuspicionMult:       g.SuspicionMult,
		TCPTimeout:          g.TCPTimeout,
		DeadNodeReclaimTime: g.DeadNodeReclaimTime,
		BroadcastTimeout:    max(g.TCPTimeout, time.Second),
	})
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	n.gossip = gs
	return nil
}

// localMeta is the metadata this node gossips.
func (n *Node) localMeta(hasState bool) gossip.Meta {
	m := gossip.Meta{
		Name:            n.cfg.Name,
		RaftAddr:        n.raftAddr,
		HTTPAddr:        n.httpAddr,
		Role:            gossip.RoleServer,
		BootstrapExpect: n.cfg.BootstrapExpect,
	}
	if hasState {
		m.Flags |= gossip.FlagRaftState
	}
	if n.cfg.NonVoter {
		m.Flags |= gossip.FlagNonVoter
	}
	m.Agents, m.Load = n.agentSlots()
	return m
}

// markRaftState gossips that this node now holds raft state, so that fresh
// nodes never bootstrap a second cluster next to this one.
func (n *Node) markRaftState() {
	if n.raftHasCfg.Swap(true) {
		return
	}
	if err := n.gossip.UpdateMetaFunc(func(m *gossip.Meta) { m.Flags |= gossip.FlagRaftState }); err != nil {
		n.logger.Warn("gossiping raft state flag", "error", err)
	}
}

// handleGossipEvents turns membership changes into wake-ups of the leader
// loop and the bootstrap loop. Both also poll, so a dropped event only
// delays them.
func (n *Node) handleGossipEvents() {
	for {
		select {
		case ev := <-n.gossipEvents:
			if ev.Member.Name == n.cfg.Name {
				continue
			}
			n.logger.Debug("gossip event", "event", ev.Type, "member", ev.Member.Name, "status", ev.Member.Status)
			notify(n.reconcileCh)
			notify(n.bootstrapCh)
			notify(n.schedCh)
		case <-n.shutdownCh:
			return
		}
	}
}

// notify wakes whoever waits on ch without ever blocking.
func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// retryJoin joins Config.Join, retrying every RetryJoinInterval until one
// address answers or the node shuts down.
func (n *Node) retryJoin() {
	for attempt := 1; ; attempt++ {
		k, err := n.gossip.Join(n.cfg.Join)
		if k > 0 {
			n.logger.Info("joined cluster", "contacted", k)
			return
		}
		n.logger.Warn("join failed; retrying", "addrs", n.cfg.Join, "attempt", attempt,
			"retry_in", n.cfg.Gossip.RetryJoinInterval, "error", err)
		select {
		case <-time.After(n.cfg.Gossip.RetryJoinInterval):
		case <-n.shutdownCh:
			return
		}
	}
}

// Join asks gossip to contact the given addresses (host:port of their
// gossip ports) and returns how many answered. The leader then adds the
// new members to raft.
func (n *Node) Join(ctx context.Context, addrs []string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if n.gossip == nil || n.isShutdown() {
		return 0, ErrShutdown
	}
	k, err := n.gossip.Join(addrs)
	if err != nil {
		return k, fmt.Errorf("node: %w", err)
	}
	return k, nil
}
