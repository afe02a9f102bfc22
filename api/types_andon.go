package api

import "time"

// CodeLineStopped is the 409 answer to starting a work order whose bucket
// or pipeline an open andon stops. Fix work (an andon's fix work order and
// its sub-work orders) still starts; everything else waits until the
// andon is resolved.
const CodeLineStopped = "line_stopped"

// Andon scopes: what an andon stops.
const (
	AndonScopeBucket   = "bucket"   // the work order's bucket (the default)
	AndonScopePipeline = "pipeline" // the work order's pipeline template; it must belong to a pipeline run
)

// Andon states, and the ?state= filters of GET /v1/andon.
const (
	AndonOpen     = "open"
	AndonResolved = "resolved"
	AndonAll      = "all" // a filter only: open and resolved
)

// Andon is one pull of the Andon cord: a root-cause record (the 5 whys)
// that quarantines a work order and stops its line (a bucket or a
// pipeline) until it is resolved. Pulling it also creates a fix work
// order, which the quarantined work order depends on.
type Andon struct {
	ID           string     `json:"id"`         // "AN-<n>"
	WorkOrder    string     `json:"work_order"` // the work order it was pulled on
	Scope        string     `json:"scope"`      // bucket or pipeline
	Line         string     `json:"line"`       // the bucket or pipeline template it stops
	LineName     string     `json:"line_name"`  // "<scope>:<line>", e.g. "bucket:security"
	Class        string     `json:"class"`      // failure class: agent_failure, sla_breach, cve, manual, ...
	Reason       string     `json:"reason,omitempty"`
	Whys         []string   `json:"whys,omitempty"`
	RootCause    string     `json:"root_cause,omitempty"`
	Resolution   string     `json:"resolution,omitempty"`
	FixWorkOrder string     `json:"fix_work_order"` // the fix work order created with it
	Quarantined  bool       `json:"quarantined"`    // false when the work order was already finished
	State        string     `json:"state"`          // open or resolved
	Node         string     `json:"node,omitempty"` // the node that proposed the trigger
	TriggeredAt  time.Time  `json:"triggered_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	ResolvedAt   *time.Time `json:"resolved_at,omitempty"`
	CreateIndex  uint64     `json:"create_index"`
	ModifyIndex  uint64     `json:"modify_index"`
}

// StoppedLine is a line that open andons stop.
type StoppedLine struct {
	Scope  string   `json:"scope"`  // bucket or pipeline
	Line   string   `json:"line"`   // the bucket or pipeline template name
	Name   string   `json:"name"`   // "<scope>:<line>"
	Andons []string `json:"andons"` // the open andons stopping it, in ID order
}

// AndonList is the body of GET /v1/andon. Both lists are always present
// (possibly empty), andons first.
type AndonList struct {
	Andons       []*Andon       `json:"andons"`
	StoppedLines []*StoppedLine `json:"stopped_lines"` // every stopped line, whatever the ?state= filter
	Index        uint64         `json:"index"`
}

// TriggerAndonRequest is the body of POST /v1/andon.
type TriggerAndonRequest struct {
	WorkOrder string   `json:"work_order"`         // required
	Scope     string   `json:"scope,omitempty"`    // bucket (default) or pipeline
	Class     string   `json:"class"`              // required: a name without spaces, e.g. agent_failure
	Reason    string   `json:"reason,omitempty"`   // for people
	Whys      []string `json:"whys,omitempty"`     // the 5 whys so far (at most 10)
	FixType   string   `json:"fix_type,omitempty"` // agent type of the fix work order; "" leaves it to the delegation rules
	RequestID string   `json:"request_id,omitempty"`
}

// UpdateAndonRequest is the body of PATCH /v1/andon/{id}: non-empty whys
// replace the whys, a non-empty root_cause the root cause; at least one is
// required.
type UpdateAndonRequest struct {
	Whys      []string `json:"whys,omitempty"`
	RootCause string   `json:"root_cause,omitempty"`
	RequestID string   `json:"request_id,omitempty"`
}

// ResolveAndonRequest is the body of POST /v1/andon/{id}/resolve.
type ResolveAndonRequest struct {
	Resolution string `json:"resolution"` // required
	RequestID  string `json:"request_id,omitempty"`
}

// Explanation is the body of GET /v1/workorders/{id}/explain: why a work
// order is not running. Reasons is empty (never null) for a queued work
// order that nothing holds back.
type Explanation struct {
	ID      string    `json:"id"`
	State   string    `json:"state"`
	Attempt uint64    `json:"attempt"`
	Reasons []*Reason `json:"reasons"`
	Index   uint64    `json:"index"`
}

// Explain reason codes of the state machine. Nodes may add reasons with
// codes of their own (no healthy node offers the agent type, ...).
const (
	ReasonTerminal            = "terminal"             // completed, failed or cancelled
	ReasonRunning             = "running"              // in flight
	ReasonDependencies        = "dependencies"         // unfinished dependencies (refs)
	ReasonDependencyFailed    = "dependency_failed"    // a dependency failed (refs)
	ReasonDependencyCancelled = "dependency_cancelled" // a dependency was cancelled (refs)
	ReasonPipelineRun         = "pipeline_run"         // a pipeline run completes with its stages
	ReasonQuarantined         = "quarantined"          // quarantined by an open andon (refs)
	ReasonLineStopped         = "line_stopped"         // its bucket or pipeline is stopped (refs: the andons)
	ReasonBackoff             = "backoff"              // waiting for a retry's backoff (until)
	ReasonWIPLimit            = "wip_limit"            // its stage or bucket is at its WIP limit (count, limit)
)

// Reason is one reason a work order is not running.
type Reason struct {
	Code    string     `json:"code"`
	Message string     `json:"message"`
	Refs    []string   `json:"refs,omitempty"`  // work order or andon IDs involved
	Until   *time.Time `json:"until,omitempty"` // backoff: when it ends
	Count   int        `json:"count,omitempty"` // wip_limit: work orders in flight
	Limit   int        `json:"limit,omitempty"` // wip_limit: the limit
}
