package api

import (
	"encoding/json"
	"time"
)

// CodeConfigChanged is the 409 answer to PUT /v1/scheduler when
// check_digest no longer names the configuration in force: someone else
// changed it since it was read. Read it again and retry.
const CodeConfigChanged = "config_changed"

// NoStage is how tables show the kanban column of work orders without a
// stage (KanbanColumn.Stage "").
const NoStage = "(none)"

// SchedulerConfig is the scheduling policy of the cluster, replicated with
// the rest of the state.
//
// In a PUT, a field that is absent or null takes its default (the
// defaults are what a new cluster starts with: strategy priority, stage
// WIP design 3, code 5, test 7, bucket WIP 5 and features 10, the mix
// reliability 40, security 30, cost 20, features 10, no rules, the
// "default" pipeline); a field that is present replaces that part whole,
// so "stage_wip": {} means no stage limits. GET always returns every
// field, so a config read, changed and written back stays exact.
type SchedulerConfig struct {
	// Strategy orders the queue: priority, fifo, deadline, sjf,
	// critical_path, resource_aware or adaptive (case-insensitive in a
	// PUT; "" is priority).
	Strategy string `json:"strategy"`
	// StageWIP limits the work orders in flight (in_progress, review,
	// testing) per pipeline stage, cluster-wide. 0 or absent = unlimited.
	StageWIP map[string]int `json:"stage_wip"`
	// BucketWIP limits the work orders in flight per bucket.
	BucketWIP map[string]int `json:"bucket_wip"`
	// Mix is the leveling mix: a percentage per bucket summing to 100, or
	// all 0 (or empty) to turn leveling off.
	Mix map[string]int `json:"mix"`
	// Rules route work orders without an agent type: the first whose
	// pattern (Go RE2) matches the title or description names the type.
	Rules []DelegationRule `json:"rules"`
	// Pipelines are the templates POST /v1/pipelines/{name}/runs
	// instantiates; names are unique.
	Pipelines []*Pipeline `json:"pipelines"`
	// AutoAndon lists the failure classes on which the leader pulls the
	// andon cord by itself: test_failure (a test work order failed its
	// last attempt), repeated_crash (its agent crashed on 3 attempts),
	// sla_breach (an SLA breach was recorded). Empty (the default) turns
	// automatic andon off.
	AutoAndon []string `json:"auto_andon"`
}

// DelegationRule maps a title/description pattern to an agent type.
type DelegationRule struct {
	Pattern   string `json:"pattern"`
	AgentType string `json:"agent_type"`
}

// Pipeline is a named sequence of stages; a run creates one work order
// per stage, each depending on the one before.
type Pipeline struct {
	Name   string           `json:"name"`
	Stages []*PipelineStage `json:"stages"`
}

// PipelineStage is one step of a Pipeline. Its work order gets the agent
// type AgentType ("" leaves it to the delegation rules), the WIP stage
// Stage ("" means Name), the estimated effort, and the title
// "<run title> (<Name>)".
type PipelineStage struct {
	Name      string `json:"name"`
	AgentType string `json:"agent_type,omitempty"`
	Stage     string `json:"stage,omitempty"`
	Effort    int64  `json:"effort,omitempty"` // estimated effort, seconds
}

// SetSchedulerConfigRequest is the body of PUT /v1/scheduler: the new
// configuration (see SchedulerConfig for absent fields), and optionally
// the digest of the configuration the change was based on.
type SetSchedulerConfigRequest struct {
	SchedulerConfig
	// CheckDigest, when set, makes the write conditional: it is refused
	// with 409 config_changed unless the configuration in force still
	// has this digest (SchedulerStatus.Digest), so a read-modify-write
	// never silently undoes a concurrent change.
	CheckDigest string `json:"check_digest,omitempty"`
	RequestID   string `json:"request_id,omitempty"`
}

// SchedulerStatus is the body of GET and PUT /v1/scheduler: the
// configuration in force and the work in flight against its limits.
type SchedulerStatus struct {
	Config *SchedulerConfig `json:"config"`
	// Digest identifies Config (hex SHA-256 of its canonical encoding,
	// the evidence digest of its scheduler_configured receipt); pass it
	// as check_digest to make a write conditional.
	Digest string `json:"digest"`
	// StageWIP lists every stage that has a limit, a pipeline step or
	// work in flight: pipeline stages in template order, then the others
	// by name.
	StageWIP []*WIPUsage `json:"stage_wip"`
	// BucketWIP lists every bucket.
	BucketWIP []*WIPUsage `json:"bucket_wip"`
	// Strategies are the valid strategy names, the default first.
	Strategies []string `json:"strategies"`
	Index      uint64   `json:"index"`
}

// WIPUsage is the work in flight against one WIP limit.
type WIPUsage struct {
	Name     string `json:"name"`
	InFlight int    `json:"in_flight"`
	Limit    int    `json:"limit"` // 0 = unlimited
}

// PipelineList is the body of GET /v1/pipelines.
type PipelineList struct {
	Pipelines []*Pipeline `json:"pipelines"`
	Index     uint64      `json:"index"`
}

// RunPipelineRequest is the body of POST /v1/pipelines/{name}/runs. The
// fields mean what they mean in CreateWorkOrderRequest, and every work
// order of the run gets them.
type RunPipelineRequest struct {
	Title       string          `json:"title"` // shorter than a work order's: the stages append " (<stage>)"
	Description string          `json:"description,omitempty"`
	Bucket      string          `json:"bucket,omitempty"`
	Priority    string          `json:"priority,omitempty"`
	Labels      []string        `json:"labels,omitempty"`
	Payload     json.RawMessage `json:"payload,omitempty"`
	Deadline    *time.Time      `json:"deadline,omitempty"`
	RequestID   string          `json:"request_id,omitempty"`
}

// PipelineRun is the answer to POST /v1/pipelines/{name}/runs: the run (a
// parent work order, blocked until its stages complete, then completed
// by itself) and its stage work orders in order; only the first stage is
// queued, each later one waits for the one before.
type PipelineRun struct {
	Pipeline string       `json:"pipeline"`
	Run      *WorkOrder   `json:"run"`
	Stages   []*WorkOrder `json:"stages"`
}

// KanbanBoard is the body of GET /v1/kanban: the unfinished work orders
// (blocked, queued, in flight) as a board with a column per stage.
type KanbanBoard struct {
	// States are the lanes of every column, in flow order: blocked,
	// queued, in_progress, review, testing.
	States []string `json:"states"`
	// Columns: pipeline stages in template order, then the other stages
	// that have a limit or work by name, then the work orders without a
	// stage (Stage "", shown as NoStage) when there are any.
	Columns []*KanbanColumn `json:"columns"`
	Index   uint64          `json:"index"`
}

// KanbanColumn is one stage of the board.
type KanbanColumn struct {
	Stage    string `json:"stage"`     // "" for work orders without a stage
	InFlight int    `json:"in_flight"` // in_progress + review + testing, what the limit counts
	Limit    int    `json:"limit"`     // the stage's WIP limit; 0 = unlimited
	// Counts are the column's work orders per state (all of them, even
	// when WorkOrders holds only the first ?limit of a state).
	Counts map[string]int `json:"counts"`
	// WorkOrders are the column's work orders per state, oldest first,
	// at most ?limit per state.
	WorkOrders map[string][]*WorkOrder `json:"workorders"`
}
