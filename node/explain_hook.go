package node

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/hive-swarm/hive/cluster"
	"github.com/hive-swarm/hive/fsm"
)

// Node-side explain codes, appended to the state machine's reasons by
// GET /v1/workorders/{id}/explain for a queued work order.
const (
	// ExplainNoNodeForType: no healthy node offers the agent type (from
	// this node's gossip view).
	ExplainNoNodeForType fsm.ExplainCode = fsm.ExplainCode(cluster.ReasonNoNodeForType)
	// ExplainCircuitOpen: the leader's circuit breaker keeps the agent
	// type off a node that failed it repeatedly (open or half open).
	ExplainCircuitOpen fsm.ExplainCode = "circuit_open"
)

var _ reasonExplainer = (*Node)(nil)

// ExplainReasons implements the HTTP API's explain hook: for a queued
// work order, the reasons the control loop knows beyond the replicated
// state. On any node: no healthy node offers its agent type. On the
// leader (whose control loop runs): the circuits of its type that are
// not closed, and why the last plan deferred it (no free slot, its
// bucket's leveling quota, no agent type; the WIP limits the state
// machine already reports are not repeated).
func (n *Node) ExplainReasons(_ context.Context, v *fsm.View, e *fsm.Explanation) []fsm.Reason {
	if e.State != fsm.StateQueued {
		return nil
	}
	wo, err := v.WorkOrder(e.ID)
	if err != nil {
		return nil
	}
	var out []fsm.Reason
	agent := wo.Kind
	if agent != "" && !n.offered(agent) {
		out = append(out, fsm.Reason{Code: ExplainNoNodeForType,
			Message: fmt.Sprintf("no healthy node offers agent type %s", agent)})
	}
	ctl := n.exec.control.Load()
	if ctl == nil {
		return out
	}
	now := time.Now()
	if agent != "" {
		tripped := ctl.breaker.Tripped(now)
		sort.Slice(tripped, func(i, j int) bool { return tripped[i].Node < tripped[j].Node })
		for _, c := range tripped {
			if c.AgentType == agent {
				out = append(out, fsm.Reason{Code: ExplainCircuitOpen, Message: c.String()})
			}
		}
	}
	// Why the last pass left it out: only when the state itself holds
	// nothing back (a stopped line or a backoff is the reason then).
	if r, ok := ctl.loop.Deferred(wo.ID, agent); ok && len(e.Reasons) == 0 {
		if r.AgentType == "" {
			r.AgentType = agent
		}
		switch {
		case r.Code == cluster.ReasonWIPLimit:
			// The state machine's reasons say it already.
		case r.Code == cluster.ReasonNoNodeForType:
			if agent == "" || n.offered(agent) {
				out = append(out, fsm.Reason{Code: ExplainNoNodeForType,
					Message: fmt.Sprintf("the last plan found no healthy node offering agent type %s", r.AgentType)})
			}
		default:
			out = append(out, fsm.Reason{Code: fsm.ExplainCode(r.Code), Message: deferredMessage(r), Count: r.Count, Limit: r.Limit})
		}
	}
	return out
}

// offered reports whether a healthy node offers agent type t with a
// non-zero capacity, as this node's gossip sees it.
func (n *Node) offered(t string) bool {
	for _, ni := range (gossipNodes{n}).Nodes() {
		if s, ok := ni.Slots[t]; ok && ni.Healthy && s.Capacity > 0 {
			return true
		}
	}
	return false
}

// deferredMessage describes a plan's deferral for people.
func deferredMessage(r cluster.Reason) string {
	switch r.Code {
	case cluster.ReasonNoCapacity:
		return fmt.Sprintf("every slot of agent type %s on healthy nodes was taken at the last plan", r.AgentType)
	case cluster.ReasonLevelingQuota:
		return fmt.Sprintf("bucket %s had used its leveling share (%d of %d free %s slots) at the last plan",
			r.Bucket, r.Limit, r.Count, r.AgentType)
	case cluster.ReasonNoAgentType:
		return "it names no agent type and no delegation rule matches it"
	}
	msg := "deferred by the last plan: " + string(r.Code)
	if r.Detail != "" {
		msg += " (" + r.Detail + ")"
	}
	return msg
}
