package node

import (
	"sync"
	"time"

	"github.com/hive-swarm/hive/cluster"
	"github.com/hive-swarm/hive/gossip"
)

// gossipHealth is the leader's cluster.HealthSource: the members gossip
// declared dead or that left, with gossip's own time of the change (so a
// node that was already dead when this node became leader is requeued
// as soon as its grace has passed, not a grace after the leader change),
// and the nodes that hold in-flight work placed by a leader's Assign but
// that gossip does not know at all (a member reaped, or one that died
// before this node started), gone since this leadership first saw them
// missing. (Work started by hand for a worker outside the swarm is not a
// sign of a missing node.) It is made anew on
// every leadership and keeps nothing else.
type gossipHealth struct {
	n *Node

	mu       sync.Mutex
	missing  map[string]time.Time // holders of work unknown to gossip, since when
	lastScan time.Time            // when the in-flight work was last scanned for them
}

// unknownScanEvery bounds how often Gone scans the in-flight work for
// holders gossip does not know (the control loop calls it on every
// pass, which under load is every commit).
const unknownScanEvery = 500 * time.Millisecond

func newGossipHealth(n *Node) *gossipHealth {
	return &gossipHealth{n: n, missing: make(map[string]time.Time)}
}

// Gone implements cluster.HealthSource.
func (h *gossipHealth) Gone() map[string]cluster.Gone {
	n := h.n
	if n.gossip == nil {
		return nil
	}
	known := make(map[string]bool)
	var out map[string]cluster.Gone
	add := func(name string, g cluster.Gone) {
		if out == nil {
			out = make(map[string]cluster.Gone)
		}
		out[name] = g
	}
	for _, m := range n.gossip.Members() {
		known[m.Name] = true
		if m.Name == n.cfg.Name {
			continue
		}
		switch m.Status {
		case gossip.StatusFailed:
			add(m.Name, cluster.Gone{Since: m.Since, Why: "dead"})
		case gossip.StatusLeft:
			add(m.Name, cluster.Gone{Since: m.Since, Why: "left"})
		}
	}
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if now.Sub(h.lastScan) < unknownScanEvery {
		for name, since := range h.missing {
			if !known[name] {
				add(name, cluster.Gone{Since: since, Why: "unknown"})
			}
		}
		return out
	}
	h.lastScan = now
	holders := make(map[string]bool)
	v := n.fsm.View()
	for _, wo := range v.Active() {
		name := wo.Assignee.Node
		if name == "" || name == n.cfg.Name || known[name] || holders[name] {
			continue
		}
		if !v.AssignedByLeader(wo) {
			// Started by hand for a worker outside the swarm: gossip was
			// never going to know it.
			continue
		}
		holders[name] = true
		since, ok := h.missing[name]
		if !ok {
			since = now
			h.missing[name] = now
		}
		add(name, cluster.Gone{Since: since, Why: "unknown"})
	}
	for name := range h.missing {
		if !holders[name] {
			delete(h.missing, name)
		}
	}
	return out
}
