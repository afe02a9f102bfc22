package node

import (
	"encoding/hex"
	"sort"

	"github.com/hashicorp/raft"
	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/gossip"
)

// Raft roles as Members reports them.
const (
	roleLeader   = "leader"
	roleVoter    = "voter"
	roleNonvoter = "nonvoter"
	roleNone     = "none"
)

// Members lists the swarm's nodes as gossip sees them (alive, dead or
// left) with their role in the raft configuration. A server that is in
// the raft configuration but unknown to gossip is listed with status
// "unknown". Sorted by name.
func (n *Node) Members() []*api.Member {
	if n.gossip == nil {
		return nil
	}
	roles := make(map[string]raft.Server)
	if conf, err := n.raftConfiguration(); err == nil {
		for _, s := range conf.Servers {
			roles[string(s.ID)] = s
		}
	}
	_, leaderID := n.raft.LeaderWithID()
	role := func(id string) string {
		s, ok := roles[id]
		switch {
		case !ok:
			return roleNone
		case id == string(leaderID):
			return roleLeader
		case s.Suffrage == raft.Voter:
			return roleVoter
		default:
			return roleNonvoter
		}
	}
	var out []*api.Member
	seen := make(map[string]bool)
	for _, m := range n.gossip.Members() {
		seen[m.Name] = true
		meta := n.memberMeta(&m)
		out = append(out, &api.Member{
			Name:       m.Name,
			Addr:       m.Addr,
			RaftAddr:   meta.RaftAddr,
			HTTPAddr:   meta.HTTPAddr,
			Status:     m.Status.String(),
			RaftRole:   role(m.Name),
			Leader:     m.Name == string(leaderID),
			AgentTypes: apiSlots(meta.Agents),
			Load:       float64(meta.Load) / 1000,
		})
	}
	for id, s := range roles {
		if seen[id] {
			continue
		}
		out = append(out, &api.Member{
			Name:     id,
			RaftAddr: string(s.Address),
			Status:   "unknown",
			RaftRole: role(id),
			Leader:   id == string(leaderID),
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Status describes this node's view of raft and of the state.
func (n *Node) Status() *api.Status {
	v := n.fsm.View()
	st := &api.Status{
		Node:         n.cfg.Name,
		AppliedIndex: n.fsm.AppliedIndex(),
		WorkOrders:   v.WorkOrderCount(),
		Receipts:     v.ReceiptCount(),
		RaftState:    raft.Shutdown.String(),
	}
	head := v.ChainHead()
	st.ChainHead = hex.EncodeToString(head[:])
	if n.raft == nil {
		return st
	}
	addr, id := n.raft.LeaderWithID()
	st.Leader, st.LeaderAddr = string(id), string(addr)
	st.RaftState = n.raft.State().String()
	st.Term = n.raft.CurrentTerm()
	st.CommitIndex = n.raft.CommitIndex()
	st.LastIndex = n.raft.LastIndex()
	if conf, err := n.raftConfiguration(); err == nil {
		for _, s := range conf.Servers {
			if s.Suffrage == raft.Voter {
				st.Voters++
			} else {
				st.NonVoters++
			}
		}
	}
	return st
}

// memberMeta is the metadata of m as gossip last spread it, or, for this
// node, its local metadata, which is ahead of that.
func (n *Node) memberMeta(m *gossip.Member) *gossip.Meta {
	if m.Name != n.cfg.Name {
		return m.Meta
	}
	local := n.gossip.LocalMeta()
	return &local
}

// apiSlots converts gossiped agent slots for the API.
func apiSlots(slots []gossip.AgentSlot) []api.AgentSlot {
	if len(slots) == 0 {
		return nil
	}
	out := make([]api.AgentSlot, len(slots))
	for i, a := range slots {
		out[i] = api.AgentSlot{Type: a.Type, Capacity: int(a.Capacity), Running: int(a.Running)}
	}
	return out
}
