package cluster

import (
	"slices"
	"time"

	"github.com/hive-swarm/hive/fsm"
)

// Candidate is a queued work order as the scheduler sees it. It holds
// copies of the fields that ordering, delegation, WIP and leveling look at,
// so the fsm types can change without touching the scheduler. IDs must be
// unique within one call to Plan: a repeated ID is ambiguous and every copy
// is deferred as invalid_candidate.
type Candidate struct {
	ID          string
	Title       string // matched by delegation rules when AgentType is empty
	Description string // matched by delegation rules when AgentType is empty
	AgentType   string // "" lets the delegation rules choose
	Bucket      string // leveling bucket and bucket WIP limit
	Stage       string // pipeline stage the stage WIP limit is counted in; "" is unlimited
	// Priority is the level, higher first: 4 critical, 3 high, 2 medium,
	// 1 low, 0 unset (lowest).
	Priority int
	// Score is the optional 1-10 priority score; 0 when none. It orders
	// work within its level only.
	Score    int
	Seq      uint64    // commit sequence; FIFO order
	Created  time.Time // creation time (from the command, never a clock)
	Deadline time.Time // zero when best effort
	// EffortSeconds is the estimated effort; 0 or less means unknown.
	EffortSeconds int64
	// DependsOn and Dependents are the unfinished neighbours in the
	// dependency DAG; CriticalPaths follows them. Plan does not read them.
	DependsOn  []string
	Dependents []string
	// CriticalPath is the longest remaining chain starting here, usually
	// filled from CriticalPaths. When it is zero, the critical_path
	// strategy uses the candidate's own effort as a chain of length 1.
	CriticalPath Path
}

// CandidateFromWorkOrder copies what the scheduler needs from a work
// order. It does not check the state: the caller passes queued work orders
// to Plan and every unfinished one to CriticalPaths. Slices are copied, so
// the candidate does not alias the FSM's records.
func CandidateFromWorkOrder(wo *fsm.WorkOrder) Candidate {
	c := Candidate{
		ID:            wo.ID,
		Title:         wo.Title,
		Description:   wo.Description,
		AgentType:     wo.Kind,
		Bucket:        wo.Bucket,
		Stage:         wo.Stage,
		Priority:      int(wo.Priority),
		Seq:           wo.Seq,
		EffortSeconds: wo.Effort,
		DependsOn:     slices.Clone(wo.DependsOn),
		Dependents:    slices.Clone(wo.Dependents),
	}
	if wo.CreatedAt != 0 {
		c.Created = time.Unix(0, wo.CreatedAt).UTC()
	}
	if wo.Deadline != 0 {
		c.Deadline = time.Unix(0, wo.Deadline).UTC()
	}
	return c
}

// NodeInfo is one node as placement sees it, usually built from gossip
// metadata. Names must be unique; a name given more than once is ambiguous
// and none of its entries is used.
type NodeInfo struct {
	Name string
	// Healthy is false for a node that must not receive new work: suspect,
	// dead, leaving, or not yet ready.
	Healthy bool
	// Slots maps each agent type the node offers to its capacity and the
	// number of work orders it reports running. A type with capacity 0 is
	// not offered.
	Slots map[string]Slot
	// Load is the node's overall load, 0 (idle) to 1 (saturated). Only its
	// order relative to other nodes matters; NaN counts as fully loaded.
	Load float64
}

// Slot is a node's capacity for one agent type and what it runs of it.
type Slot struct {
	Capacity int
	Running  int
}

// Running is the work already in flight, counted the way the limits are:
// it is the state Plan adds its own assignments to. Build it with Add or
// RunningFromWorkOrders; the zero value means nothing is in flight.
type Running struct {
	// Stages counts in-flight work orders per pipeline stage (stage WIP).
	Stages map[string]int `json:"stages,omitempty"`
	// Buckets counts in-flight work orders per bucket (bucket WIP).
	Buckets map[string]int `json:"buckets,omitempty"`
	// Slots counts agent slots held, per node and agent type. Plan uses
	// the larger of this and the node's own NodeInfo report, so work the
	// leader started but gossip does not show yet is not placed twice.
	Slots map[string]map[string]int `json:"slots,omitempty"`
	// Pools counts agent slots held per agent type and bucket; leveling
	// shares free slots so that the in-flight mix moves toward the target.
	Pools map[string]map[string]int `json:"pools,omitempty"`
}

// InFlight is one work order already started, for Running.Add.
type InFlight struct {
	Stage     string
	Bucket    string
	Node      string // "" when it holds no agent slot
	AgentType string
	// HoldsSlot reports whether an agent is executing it right now, so it
	// occupies a slot of AgentType on Node.
	HoldsSlot bool
}

// Add counts one in-flight work order.
func (r *Running) Add(w InFlight) {
	if w.Stage != "" {
		r.Stages = inc(r.Stages, w.Stage)
	}
	if w.Bucket != "" {
		r.Buckets = inc(r.Buckets, w.Bucket)
	}
	if !w.HoldsSlot || w.AgentType == "" {
		return
	}
	if w.Node != "" {
		r.Slots = inc2(r.Slots, w.Node, w.AgentType)
	}
	r.Pools = inc2(r.Pools, w.AgentType, w.Bucket)
}

func inc(m map[string]int, k string) map[string]int {
	if m == nil {
		m = make(map[string]int)
	}
	m[k]++
	return m
}

func inc2(m map[string]map[string]int, k1, k2 string) map[string]map[string]int {
	if m == nil {
		m = make(map[string]map[string]int)
	}
	m[k1] = inc(m[k1], k2)
	return m
}

// RunningFromWorkOrders counts the work orders in in_progress, review and
// testing against the stage and bucket WIP limits. Those in in_progress
// with an assigned node also hold a slot of their agent type (the
// assignee's agent, else their kind) on that node: review and testing wait
// on something other than the agent that ran them. Other states are
// ignored, so the caller may pass every work order.
func RunningFromWorkOrders(wos []*fsm.WorkOrder) Running {
	var r Running
	for _, wo := range wos {
		switch wo.State {
		case fsm.StateInProgress, fsm.StateReview, fsm.StateTesting:
		default:
			continue
		}
		agent := wo.Assignee.Agent
		if agent == "" {
			agent = wo.Kind
		}
		r.Add(InFlight{
			Stage:     wo.Stage,
			Bucket:    wo.Bucket,
			Node:      wo.Assignee.Node,
			AgentType: agent,
			HoldsSlot: wo.State == fsm.StateInProgress && wo.Assignee.Node != "",
		})
	}
	return r
}
