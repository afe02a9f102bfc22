package node

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/hive-swarm/hive/gossip"
	"github.com/hive-swarm/hive/plugins"
)

// newPlugins creates the node's plugin manager from its configuration;
// it finds the binaries but starts nothing.
func newPlugins(cfg *Config) (*plugins.Manager, error) {
	pc := cfg.pluginConfig()
	pc.Logger = cfg.Logger
	if pc.Logger != nil {
		pc.Logger = pc.Logger.Named("plugins")
	}
	m, err := plugins.NewManager(pc)
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	return m, nil
}

// startPlugins starts every agent plugin. A plugin that fails its first
// start is logged, not fatal: the manager keeps restarting it, and its
// type is offered once it runs.
func (n *Node) startPlugins(ctx context.Context) error {
	if len(n.plugins.Types()) == 0 {
		n.logger.Info("no agent plugins configured; this node offers no agent types")
		return nil
	}
	if err := n.plugins.Start(ctx); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("node: start plugins: %w", err)
		}
		n.logger.Error("agent plugins failed to start; retrying in the background", "error", err)
	}
	n.logger.Info("agent plugins", "types", n.plugins.Types())
	return nil
}

// Plugins returns the node's agent plugin manager (never nil after New).
func (n *Node) Plugins() *plugins.Manager { return n.plugins }

// agentSlots returns the agent types this node offers, with capacity and
// running counts, and its load in thousandths of its capacity in use.
// A type whose plugin is not ready is offered with capacity 0 (so no new
// work goes there) but keeps its running count.
func (n *Node) agentSlots() ([]gossip.AgentSlot, uint32) {
	var (
		slots        []gossip.AgentSlot
		used, capSum int
	)
	for _, st := range n.plugins.Status() {
		c := st.Capacity
		if st.State != plugins.StateReady {
			c = 0
		}
		slots = append(slots, gossip.AgentSlot{Type: st.AgentType, Capacity: uint32(max(c, 0)), Running: uint32(max(st.Running, 0))})
		used += st.Running
		capSum += c
	}
	var load uint32
	if capSum > 0 {
		load = uint32(min(used*1000/capSum, 1000))
	} else if used > 0 {
		load = 1000
	}
	return slots, load
}

// notifyMeta asks metaLoop to gossip fresh agent slots soon.
func (n *Node) notifyMeta() { notify(n.metaCh) }

// metaLoop keeps the gossiped agent slots and load current without a
// raft write: on a change notice, at most once per MetaInterval, and
// every few intervals regardless (a plugin restarted, a capacity
// changed). memberlist spreads each update with UpdateNode.
func (n *Node) metaLoop() {
	interval := n.cfg.Execution.MetaInterval
	refresh := time.NewTicker(10 * interval)
	defer refresh.Stop()
	var last time.Time
	for {
		select {
		case <-n.metaCh:
		case <-refresh.C:
		case <-n.shutdownCh:
			return
		}
		if wait := interval - time.Since(last); wait > 0 {
			select {
			case <-time.After(wait):
			case <-n.shutdownCh:
				return
			}
		}
		last = time.Now()
		n.updateAgentMeta()
	}
}

// updateAgentMeta gossips the current agent slots and load if they
// changed.
func (n *Node) updateAgentMeta() {
	slots, load := n.agentSlots()
	meta := n.gossip.LocalMeta()
	if slices.Equal(meta.Agents, slots) && meta.Load == load {
		return
	}
	err := n.gossip.PublishMetaFunc(func(m *gossip.Meta) { m.Agents, m.Load = slots, load })
	if err != nil {
		n.logger.Debug("gossiping agent slots", "error", err)
	}
	notify(n.schedCh)
}
