package api

import "time"

// Event topics a stream may be filtered by (repeat "topic" to name
// several). TopicStream carries the stream's own control events (gap,
// cutoff), which every stream receives.
const (
	TopicWorkOrder = "workorder"
	TopicReceipt   = "receipt"
	TopicMember    = "member"
	TopicLeader    = "leader"
	TopicAndon     = "andon"
	TopicSLA       = "sla"
	TopicStream    = "stream"
)

// Event types a client usually tests. Every receipt is one event: andon
// and SLA receipts are andon.* and sla.* events, other receipts of a work
// order are "workorder." followed by the receipt's event name, and the
// rest are receipt.appended. Topic "receipt" admits all of them, and
// topic "workorder" every one that names a work order; Topic is the
// event's own topic, the prefix of its type.
const (
	EventWorkOrderCreated   = "workorder.created"
	EventWorkOrderCompleted = "workorder.completed"
	EventWorkOrderFailed    = "workorder.failed"
	EventWorkOrderCancelled = "workorder.cancelled"
	EventReceiptAppended    = "receipt.appended"
	EventMemberJoined       = "member.joined"
	EventMemberFailed       = "member.failed"
	EventMemberLeft         = "member.left"
	EventLeaderChanged      = "leader.changed"
	EventAndonTriggered     = "andon.triggered"
	EventAndonUpdated       = "andon.updated"
	EventAndonResolved      = "andon.resolved"
	EventSLAWarning         = "sla.warning"
	EventSLABreached        = "sla.breached"
	// EventGap says the stream could not replay everything asked for:
	// Index is the first raft index from which it is complete.
	EventGap = "gap"
	// EventCutoff ends a stream: Code says why (slow_consumer, shutdown)
	// and Resume is the cursor to resume after.
	EventCutoff = "cutoff"
	// EventHeartbeat is sent on an idle NDJSON stream (SSE streams send
	// comments instead); Index is the node's applied index.
	EventHeartbeat = "heartbeat"
)

// Event is one entry of GET /v1/events (also /api/stream), as SSE data
// or one NDJSON line. Fields that do not apply to its type are omitted.
type Event struct {
	// ID is the cursor to resume after this event ("N" or "N.L"); empty
	// in the middle of a raft index. It is also the SSE id field.
	ID    string    `json:"id,omitempty"`
	Index uint64    `json:"index"`
	Topic string    `json:"topic"`
	Type  string    `json:"type"`
	Time  time.Time `json:"time,omitzero"`

	WorkOrder string `json:"workorder,omitempty"`
	Event     string `json:"event,omitempty"` // the receipt's event name
	From      string `json:"from,omitempty"`
	To        string `json:"to,omitempty"`
	Attempt   uint64 `json:"attempt,omitempty"`
	Node      string `json:"node,omitempty"`
	Agent     string `json:"agent,omitempty"`
	Receipt   uint64 `json:"receipt,omitempty"`
	Hash      string `json:"hash,omitempty"`

	LocalSeq uint64 `json:"local_seq,omitempty"`
	Member   string `json:"member,omitempty"`
	Status   string `json:"status,omitempty"`
	Addr     string `json:"addr,omitempty"`
	Leader   string `json:"leader,omitempty"`
	Observer string `json:"observer,omitempty"`

	Code   string   `json:"code,omitempty"`
	Reason string   `json:"reason,omitempty"`
	Resume string   `json:"resume,omitempty"`
	Topics []string `json:"topics,omitempty"`
}

// Health is the body of GET /api/health: 200 when the node is ready
// (it knows a leader and has heard from it recently, or is the leader),
// 503 otherwise, with the same body.
type Health struct {
	Node    string       `json:"node"`
	Status  string       `json:"status"` // ok, degraded (no leader)
	Live    bool         `json:"live"`
	Ready   bool         `json:"ready"`
	Reasons []string     `json:"reasons,omitempty"` // why not ready
	Uptime  float64      `json:"uptime_seconds"`
	Raft    RaftHealth   `json:"raft"`
	Gossip  GossipHealth `json:"gossip"`
	// Plugins is the state of each agent type's plugin; absent when the
	// node runs none.
	Plugins []PluginHealth `json:"plugins,omitempty"`
}

// RaftHealth is the raft part of Health.
type RaftHealth struct {
	State        string  `json:"state"`
	Leader       string  `json:"leader,omitempty"`
	LeaderAddr   string  `json:"leader_addr,omitempty"`
	Term         uint64  `json:"term"`
	CommitIndex  uint64  `json:"commit_index"`
	AppliedIndex uint64  `json:"applied_index"`
	LastContact  float64 `json:"last_contact_seconds"` // since the leader was last heard from; 0 on the leader, -1 never
}

// GossipHealth is the gossip part of Health.
type GossipHealth struct {
	Members       int    `json:"members"`
	Alive         int    `json:"alive"`
	Failed        int    `json:"failed"`
	Left          int    `json:"left"`
	DroppedEvents uint64 `json:"dropped_events"`
}

// PluginHealth is one agent type's plugin in Health.
type PluginHealth struct {
	AgentType string `json:"agent_type"`
	State     string `json:"state"`
	Restarts  int    `json:"restarts"`
	Capacity  int    `json:"capacity"`
	Running   int    `json:"running"`
	LastError string `json:"last_error,omitempty"`
}

// MetricsSummary is the body of GET /api/metrics/summary: the numbers a
// dashboard shows, from this node's state (a stale read).
type MetricsSummary struct {
	Node       string            `json:"node"`
	Index      uint64            `json:"index"`
	WorkOrders WorkOrderSummary  `json:"workorders"`
	WIP        []WIPUse          `json:"wip"`
	Members    []MemberLoad      `json:"members"`
	Receipts   uint64            `json:"receipts"`
	Events     EventStreamsStats `json:"events"`
}

// WorkOrderSummary counts work orders. ByBucket and ByStage count the
// unfinished ones (blocked, queued, in flight), by state.
type WorkOrderSummary struct {
	Total    int                       `json:"total"`
	ByState  map[string]int            `json:"by_state"`
	ByBucket map[string]map[string]int `json:"by_bucket"`
	ByStage  map[string]map[string]int `json:"by_stage"`
	Queued   int                       `json:"queued"`
}

// WIPUse is the in-flight count of a stage or bucket against its limit
// (0: none).
type WIPUse struct {
	Kind   string `json:"kind"` // stage or bucket
	Name   string `json:"name"`
	Active int    `json:"active"`
	Limit  int    `json:"limit"`
}

// MemberLoad is one member with its load and assigned work.
type MemberLoad struct {
	Name     string  `json:"name"`
	Status   string  `json:"status"`
	RaftRole string  `json:"raft_role"`
	Load     float64 `json:"load"`
	Assigned int     `json:"assigned"` // in-flight work orders held
	Capacity int     `json:"capacity"` // agent slots gossiped
	Running  int     `json:"running"`
}

// EventStreamsStats describes this node's event streams.
type EventStreamsStats struct {
	Subscribers int    `json:"subscribers"`
	Delivered   uint64 `json:"delivered"`
	Cutoffs     uint64 `json:"cutoffs"`
}
