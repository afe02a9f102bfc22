package api

import (
	"encoding/json"
	"time"
)

// WorkOrder is a work order as the HTTP API returns it.
type WorkOrder struct {
	ID            string          `json:"id"`
	Title         string          `json:"title"`
	Description   string          `json:"description,omitempty"`
	Type          string          `json:"type,omitempty"` // agent type
	Bucket        string          `json:"bucket"`
	Priority      string          `json:"priority"` // critical, high, medium, low
	Labels        []string        `json:"labels,omitempty"`
	Payload       json.RawMessage `json:"payload,omitempty"`
	Effort        int64           `json:"effort,omitempty"` // estimated effort, seconds
	Stage         string          `json:"stage,omitempty"`
	Signal        string          `json:"signal,omitempty"`
	DependsOn     []string        `json:"depends_on,omitempty"`
	Dependents    []string        `json:"dependents,omitempty"`
	Parent        string          `json:"parent,omitempty"`
	Children      []string        `json:"children,omitempty"`
	State         string          `json:"state"`
	BlockedReason string          `json:"blocked_reason,omitempty"`
	Attempt       uint64          `json:"attempt"`
	Node          string          `json:"node,omitempty"`
	Agent         string          `json:"agent,omitempty"`
	Progress      string          `json:"progress,omitempty"`
	Result        *Evidence       `json:"result,omitempty"`
	CreatedAt     time.Time       `json:"created_at"`
	UpdatedAt     time.Time       `json:"updated_at"`
	Deadline      *time.Time      `json:"deadline,omitempty"`
	StartedAt     *time.Time      `json:"started_at,omitempty"`
	CompletedAt   *time.Time      `json:"completed_at,omitempty"`
	CreateIndex   uint64          `json:"create_index"`
	ModifyIndex   uint64          `json:"modify_index"`

	// Pipeline runs (POST /v1/pipelines/{name}/runs).
	Pipeline     string `json:"pipeline,omitempty"`      // the template's name, on the run and on each of its stages
	PipelineStep string `json:"pipeline_step,omitempty"` // the template stage's name, on a stage work order

	// Failure handling: retries, the andon cord and SLA events.
	Retry           *RetryPolicy `json:"retry,omitempty"`            // the effective policy (defaults filled in)
	Retries         uint32       `json:"retries,omitempty"`          // failed attempts that were retried so far
	NotBefore       *time.Time   `json:"not_before,omitempty"`       // queued after a failure: backs off until then
	LastReason      string       `json:"last_reason,omitempty"`      // reason of the last fail, retry or requeue
	Andon           string       `json:"andon,omitempty"`            // "AN-n" while quarantined by that open andon
	FixFor          string       `json:"fix_for,omitempty"`          // "AN-n" when this is that andon's fix work order
	SLAWarned       *time.Time   `json:"sla_warned,omitempty"`       // the deadline an SLA warning was recorded for
	SLABreached     *time.Time   `json:"sla_breached,omitempty"`     // the deadline an SLA breach was recorded for
	PredictedFinish *time.Time   `json:"predicted_finish,omitempty"` // the last SLA event's predicted finish

	// RunTimeout bounds each attempt's run, as a Go duration ("1m30s");
	// absent: the executing node's default (its --run-timeout). See
	// CreateWorkOrderRequest.RunTimeout.
	RunTimeout string `json:"run_timeout,omitempty"`
}

// RetryPolicy says how often and how fast a failed attempt of a work
// order is retried: after a failure with attempts left, the work order is
// queued again and not started before a backoff of
// InitialDelay·Factor^(retry-1), at most MaxDelay, less up to 20 % of
// deterministic jitter. Durations are Go duration strings ("1s", "2m30s").
// In a create request every field is optional: an absent (zero) one takes
// its default (3 attempts, 1s, ×2, at most 1m); a work order always shows
// the effective policy.
type RetryPolicy struct {
	MaxAttempts  int     `json:"max_attempts,omitempty"`  // attempts that may fail before the work order fails; 1 = never retry (max 100)
	InitialDelay string  `json:"initial_delay,omitempty"` // backoff before the first retry (at most 168h)
	Factor       float64 `json:"factor,omitempty"`        // backoff growth per retry, 1 to 10 with at most 2 decimals (2 = doubles)
	MaxDelay     string  `json:"max_delay,omitempty"`     // backoff cap, at least the initial delay (at most 168h)
}

// Evidence is an agent's (or a person's) report attached to a result.
type Evidence struct {
	ExitCode int               `json:"exit_code"`
	Outputs  map[string]string `json:"outputs,omitempty"`
	Artifact string            `json:"artifact,omitempty"`
	Log      string            `json:"log,omitempty"`
}

// CreateWorkOrderRequest is the body of POST /v1/workorders.
type CreateWorkOrderRequest struct {
	Title         string          `json:"title"`
	Description   string          `json:"description,omitempty"`
	Type          string          `json:"type,omitempty"`
	Bucket        string          `json:"bucket,omitempty"`
	Priority      string          `json:"priority,omitempty"`       // critical|high|medium|low
	PriorityScore int             `json:"priority_score,omitempty"` // 1-10, alternative to priority
	Labels        []string        `json:"labels,omitempty"`
	Payload       json.RawMessage `json:"payload,omitempty"`
	Effort        int64           `json:"effort,omitempty"`
	Stage         string          `json:"stage,omitempty"`
	Signal        string          `json:"signal,omitempty"`
	DependsOn     []string        `json:"depends_on,omitempty"`
	Deadline      *time.Time      `json:"deadline,omitempty"`
	Parent        string          `json:"parent,omitempty"`
	Retry         *RetryPolicy    `json:"retry,omitempty"`      // absent: the default policy
	RequestID     string          `json:"request_id,omitempty"` // idempotency key; also accepted as the Idempotency-Key header

	// RunTimeout bounds each attempt's run, as a Go duration ("90s",
	// "2h"), at most 168h; absent or "0s": the executing node's default
	// (its --run-timeout). The executor cancels a longer run and fails
	// the attempt; if its node dies, the leader fails the attempt once
	// the timeout and a slack have passed since the attempt started.
	// Either failure is retried under the work order's retry policy.
	RunTimeout string `json:"run_timeout,omitempty"`
}

// TransitionRequest is the body of POST /v1/workorders/{id}/{action}
// where action is start, advance, progress, complete, fail or cancel.
// An empty body is allowed.
type TransitionRequest struct {
	Attempt   uint64    `json:"attempt,omitempty"` // fences stale work when non-zero
	Agent     string    `json:"agent,omitempty"`
	Stage     string    `json:"stage,omitempty"`
	Progress  string    `json:"progress,omitempty"`
	Evidence  *Evidence `json:"evidence,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	Cascade   bool      `json:"cascade,omitempty"`  // cancel: also cancel unfinished dependents
	NoRetry   bool      `json:"no_retry,omitempty"` // fail: fail for good even when the retry policy has attempts left
	RequestID string    `json:"request_id,omitempty"`
}

// DependencyRequest is the body of POST /v1/workorders/{id}/dependencies
// (add) and DELETE /v1/workorders/{id}/dependencies (remove).
type DependencyRequest struct {
	DependsOn []string `json:"depends_on"`
	RequestID string   `json:"request_id,omitempty"`
}

// WorkOrderList is the body of GET /v1/workorders and GET /v1/queue.
type WorkOrderList struct {
	WorkOrders []*WorkOrder `json:"workorders"`
	Next       string       `json:"next,omitempty"` // pass as ?after= for the next page
	Index      uint64       `json:"index"`
}

// Receipt is one link of the receipt chain. Hashes are lower-case hex.
type Receipt struct {
	Seq            uint64    `json:"seq"`
	Index          uint64    `json:"index"`
	Time           time.Time `json:"time"`
	TimeUnixNano   int64     `json:"time_unix_nano"`
	PrevHash       string    `json:"prev_hash"`
	Hash           string    `json:"hash"`
	WorkOrder      string    `json:"workorder"`
	Event          string    `json:"event"`
	From           string    `json:"from"`
	To             string    `json:"to"`
	Attempt        uint64    `json:"attempt"`
	Node           string    `json:"node"`
	Agent          string    `json:"agent"`
	EvidenceDigest string    `json:"evidence_digest"`
}

// ReceiptList is the body of GET /v1/receipts.
type ReceiptList struct {
	Receipts []*Receipt `json:"receipts"`
	Index    uint64     `json:"index"`
}

// VerifyReport is the body of GET /v1/receipts/verify.
type VerifyReport struct {
	OK        bool   `json:"ok"`
	From      uint64 `json:"from"`
	To        uint64 `json:"to"`
	Checked   uint64 `json:"checked"`
	Head      string `json:"head"` // hash of the last receipt checked
	BrokenAt  uint64 `json:"broken_at,omitempty"`
	Problem   string `json:"problem,omitempty"`
	NodeIndex uint64 `json:"index"`
}

// MemoryEntry is one swarm-memory entry.
type MemoryEntry struct {
	Namespace   string          `json:"namespace"`
	Key         string          `json:"key"`
	Value       json.RawMessage `json:"value"`
	ExpiresAt   *time.Time      `json:"expires_at,omitempty"`
	UpdatedAt   time.Time       `json:"updated_at"`
	CreateIndex uint64          `json:"create_index"`
	ModifyIndex uint64          `json:"modify_index"`
}

// MemoryPutRequest is the body of PUT /v1/memory/{namespace}/{key}.
type MemoryPutRequest struct {
	Value     json.RawMessage `json:"value"`
	TTL       string          `json:"ttl,omitempty"` // Go duration, e.g. "10m"
	RequestID string          `json:"request_id,omitempty"`
}

// MemoryList is the body of GET /v1/memory/{namespace}.
type MemoryList struct {
	Entries []*MemoryEntry `json:"entries"`
	Index   uint64         `json:"index"`
}

// MemoryImportRequest is the body of POST /v1/memory/import.
type MemoryImportRequest struct {
	Entries   []*MemoryEntry `json:"entries"`
	RequestID string         `json:"request_id,omitempty"`
}

// MemoryImportResult is the answer to POST /v1/memory/import.
type MemoryImportResult struct {
	Imported int `json:"imported"`
}

// Member is one node as gossip and raft see it.
type Member struct {
	Name     string `json:"name"`
	Addr     string `json:"addr"` // gossip address
	RaftAddr string `json:"raft_addr"`
	HTTPAddr string `json:"http_addr"`
	Status   string `json:"status"`    // alive, suspect, dead, left
	RaftRole string `json:"raft_role"` // leader, voter, nonvoter, none
	Leader   bool   `json:"leader"`
	// AgentTypes are the agent types the node offers, with how many of
	// each it can run and is running, as it last gossiped them. Empty
	// when the node offers none or its metadata is not known.
	AgentTypes []AgentSlot `json:"agent_types,omitempty"`
	// Load is the share of the node's agent slots in use, from 0 (idle)
	// to 1 (every slot busy), as it last gossiped it; 0 when unknown.
	Load float64 `json:"load"`
}

// AgentSlot is one agent type a node offers.
type AgentSlot struct {
	Type     string `json:"type"`
	Capacity int    `json:"capacity"` // work orders of this type the node runs at once
	Running  int    `json:"running"`  // work orders of this type it is running
}

// MemberList is the body of GET /v1/members.
type MemberList struct {
	Members []*Member `json:"members"`
}

// Status is the body of GET /v1/status.
type Status struct {
	Node         string `json:"node"`
	Leader       string `json:"leader"`      // leader's node name
	LeaderAddr   string `json:"leader_addr"` // leader's raft address
	RaftState    string `json:"raft_state"`  // Leader, Follower, Candidate, Shutdown
	Term         uint64 `json:"term"`
	CommitIndex  uint64 `json:"commit_index"`
	AppliedIndex uint64 `json:"applied_index"`
	LastIndex    uint64 `json:"last_index"`
	Voters       int    `json:"voters"`
	NonVoters    int    `json:"nonvoters"`
	WorkOrders   int    `json:"workorders"`
	Receipts     uint64 `json:"receipts"`
	ChainHead    string `json:"chain_head"`
}

// ErrorBody is the JSON body of every error answer: {"error":{...}}.
type ErrorBody struct {
	Error *ErrorDetail `json:"error"`
}

// ErrorDetail names what went wrong with a stable code and a human message.
type ErrorDetail struct {
	Code    string   `json:"code"`
	Message string   `json:"message"`
	Cycle   []string `json:"cycle,omitempty"`
}
