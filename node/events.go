package node

import (
	"context"
	"time"

	"github.com/hashicorp/raft"
	"github.com/hive-swarm/hive/events"
	"github.com/hive-swarm/hive/gossip"
)

// memberPollInterval is how often the member watcher compares gossip's
// member table with the last one it saw. The gossip event channel has a
// single consumer (the leader and bootstrap loops); polling the table
// keeps the event stream out of their way and never misses a change that
// lasts longer than the interval.
const memberPollInterval = 250 * time.Millisecond

// observability holds the node's event broker and metrics. It is built
// by startObservability before the HTTP server starts and never changes
// after.
type observability struct {
	broker  *events.Broker
	metrics *metrics
	started time.Time
}

// startObservability creates the event broker and the metrics registry
// and starts the goroutines feeding the broker; they stop at shutdown.
func (n *Node) startObservability() {
	b, err := events.New(events.Config{
		Source:     n.fsm,
		Logger:     n.logger.Named("events"),
		StartIndex: n.raft.LastIndex(),
		Observer:   n.cfg.Name,
	})
	if err != nil {
		n.logger.Error("event stream disabled", "error", err) // cannot happen: the source is set
		return
	}
	n.obs = &observability{broker: b, started: time.Now()}
	n.obs.metrics = newMetrics(n)
	ctx, cancel := context.WithCancel(context.Background())
	n.goFunc(func() {
		<-n.shutdownCh
		cancel()
	})
	n.goFunc(func() { b.Run(ctx) })
	n.goFunc(func() { n.watchLeader(ctx, b) })
	n.goFunc(func() { n.watchMembers(ctx, b) })
}

// Events is the node's event broker; nil before Start.
func (n *Node) Events() *events.Broker {
	if n.obs == nil {
		return nil
	}
	return n.obs.broker
}

// watchLeader publishes a leader.changed event whenever raft reports a
// new leader (or none).
func (n *Node) watchLeader(ctx context.Context, b *events.Broker) {
	ch := make(chan raft.Observation, 16)
	obs := raft.NewObserver(ch, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	})
	n.raft.RegisterObserver(obs)
	defer n.raft.DeregisterObserver(obs)
	last := "\x00" // no leader seen yet
	publish := func(id, addr string) {
		if id == last {
			return
		}
		last = id
		b.Publish(events.Event{Topic: events.TopicLeader, Type: events.TypeLeaderChanged, Leader: id, Addr: addr})
	}
	if addr, id := n.raft.LeaderWithID(); id != "" {
		publish(string(id), string(addr))
	}
	for {
		select {
		case o := <-ch:
			lo := o.Data.(raft.LeaderObservation)
			publish(string(lo.LeaderID), string(lo.LeaderAddr))
		case <-ctx.Done():
			return
		}
	}
}

// watchMembers publishes member.joined, member.failed and member.left as
// gossip's member table changes.
func (n *Node) watchMembers(ctx context.Context, b *events.Broker) {
	seen := make(map[string]gossip.Status)
	for _, m := range n.gossip.Members() {
		seen[m.Name] = m.Status
	}
	t := time.NewTicker(memberPollInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		for _, m := range n.gossip.Members() {
			old, known := seen[m.Name]
			seen[m.Name] = m.Status
			if known && old == m.Status {
				continue
			}
			var typ string
			switch m.Status {
			case gossip.StatusAlive:
				typ = events.TypeMemberJoined
			case gossip.StatusFailed:
				typ = events.TypeMemberFailed
			case gossip.StatusLeft:
				typ = events.TypeMemberLeft
			default:
				continue
			}
			b.Publish(events.Event{Topic: events.TopicMember, Type: typ, Member: m.Name,
				Status: m.Status.String(), Addr: m.Addr, Time: m.Since.UTC()})
		}
	}
}
