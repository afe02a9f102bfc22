package node

import (
	"errors"
	"sort"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/hive-swarm/hive/gossip"
)

// bootstrapLoop runs while this node has no raft state. With
// BootstrapExpect > 0 it bootstraps the cluster once enough servers see
// each other (like Consul's bootstrap-expect); in every case it gossips
// FlagRaftState as soon as raft holds state (bootstrapped, or added by a
// leader), then returns.
func (n *Node) bootstrapLoop() {
	ticker := time.NewTicker(min(time.Second, n.cfg.RaftTimeouts.ReconcileInterval))
	defer ticker.Stop()
	bootstrapped := false
	for {
		if n.raft.LastIndex() > 0 {
			n.markRaftState()
			return
		}
		if !bootstrapped && n.cfg.BootstrapExpect > 0 {
			bootstrapped = n.maybeBootstrap()
		}
		select {
		case <-ticker.C:
		case <-n.bootstrapCh:
		case <-n.shutdownCh:
			return
		}
	}
}

// maybeBootstrap bootstraps raft if gossip shows at least BootstrapExpect
// alive servers that advertise the same bootstrap-expect and none of which
// holds raft state yet. Every such node computes the same configuration
// (all of them as voters, sorted by name) and bootstraps with it; raft
// accepts identical bootstraps. It reports whether it bootstrapped.
func (n *Node) maybeBootstrap() bool {
	servers, ok := bootstrapServers(n.gossip.Members(), n.cfg.BootstrapExpect, n.logger)
	if !ok {
		return false
	}
	cfg := raft.Configuration{Servers: servers}
	err := n.raft.BootstrapCluster(cfg).Error()
	switch {
	case errors.Is(err, raft.ErrCantBootstrap):
		n.logger.Info("raft already has state; not bootstrapping")
		return true
	case err != nil:
		n.logger.Error("bootstrap failed", "error", err)
		return false
	}
	names := make([]string, len(servers))
	for i, s := range servers {
		names[i] = string(s.ID)
	}
	n.logger.Info("bootstrapped cluster", "voters", names)
	return true
}

// bootstrapServers decides the bootstrap configuration from the gossip
// members, or reports false when it is not time to bootstrap: fewer than
// expect eligible servers, a member that already holds raft state (a
// cluster exists; wait to be added), or a member that expects a different
// number (a misconfiguration; refuse rather than guess).
func bootstrapServers(members []gossip.Member, expect int, logger hclog.Logger) ([]raft.Server, bool) {
	var servers []raft.Server
	for _, m := range members {
		meta := m.Meta
		if m.Status != gossip.StatusAlive || meta.Role != gossip.RoleServer || meta.RaftAddr == "" {
			continue
		}
		if meta.Has(gossip.FlagRaftState) {
			logger.Debug("not bootstrapping: a member already holds raft state; waiting to be added", "member", m.Name)
			return nil, false
		}
		if meta.BootstrapExpect == 0 || meta.Has(gossip.FlagNonVoter) {
			continue // joins, never bootstraps
		}
		if meta.BootstrapExpect != expect {
			logger.Error("not bootstrapping: member expects a different cluster size",
				"member", m.Name, "theirs", meta.BootstrapExpect, "ours", expect)
			return nil, false
		}
		servers = append(servers, raft.Server{
			Suffrage: raft.Voter,
			ID:       raft.ServerID(m.Name),
			Address:  raft.ServerAddress(meta.RaftAddr),
		})
	}
	if len(servers) < expect {
		return nil, false
	}
	sort.Slice(servers, func(i, j int) bool { return servers[i].ID < servers[j].ID })
	return servers, true
}
