package fsm

import "time"

// State is the lifecycle state of a work order.
type State string

// The work order states. Only the transitions listed in transitions.go are
// legal; any other is refused with ErrInvalidTransition and changes nothing.
const (
	StateBlocked    State = "blocked"
	StateQueued     State = "queued"
	StateInProgress State = "in_progress"
	StateReview     State = "review"
	StateTesting    State = "testing"
	StateCompleted  State = "completed"
	StateFailed     State = "failed"
	StateCancelled  State = "cancelled"
)

// Terminal reports whether no further transition may leave s.
func (s State) Terminal() bool {
	return s == StateCompleted || s == StateFailed || s == StateCancelled
}

// Priority is a work order's priority level; a higher value runs first.
type Priority uint8

// The priority levels, lowest first.
const (
	PriorityLow      Priority = 1
	PriorityMedium   Priority = 2
	PriorityHigh     Priority = 3
	PriorityCritical Priority = 4
)

// Action names a transition requested by a Transition command.
type Action string

// The transition actions.
const (
	ActionStart    Action = "start"    // queued -> in_progress
	ActionAdvance  Action = "advance"  // in_progress -> review -> testing -> completed
	ActionProgress Action = "progress" // records a stage/progress note, state unchanged
	ActionComplete Action = "complete" // in_progress|review|testing -> completed
	ActionFail     Action = "fail"     // in_progress|review|testing -> failed
	ActionCancel   Action = "cancel"   // any non-terminal -> cancelled
)

// Evidence is what an agent (or a person) reports with a result. Its digest
// is sealed into the receipt of the transition that carries it.
type Evidence struct {
	ExitCode int               // process exit status, 0 for success
	Outputs  map[string]string // named outputs; encoded in sorted key order
	Artifact string            // artifact id (the SKU) of a completion
	Log      string            // bounded log excerpt
}

// Assignee is the node and agent holding a work order's current attempt.
type Assignee struct {
	Node  string
	Agent string
}

// WorkOrder is one unit of work. All times are Unix nanoseconds taken from
// the commands that changed it, never from a local clock.
type WorkOrder struct {
	ID            string // "WO-<Seq>", assigned at commit
	Seq           uint64
	Title         string
	Description   string
	Kind          string // agent type that should run it
	Bucket        string
	Priority      Priority
	Labels        []string // sorted, unique
	Payload       []byte   // opaque JSON supplied by the client
	Effort        int64    // estimated effort in seconds
	Stage         string   // pipeline stage
	Signal        string   // pull signal that created it (github_issue, cve, ...)
	DependsOn     []string // sorted
	Dependents    []string // sorted; derived, kept for cheap unblocking
	Parent        string
	Children      []string // sorted
	Pipeline      string   // RunPipeline: the template's name, on the run and on each of its stages
	PipelineStep  string   // RunPipeline: the template stage's name, on a stage work order ("" on the run)
	State         State
	BlockedReason string // why it is blocked, e.g. "dependencies" or "dependency_failed:WO-3"
	Attempt       uint64
	Assignee      Assignee
	Progress      string
	Result        *Evidence
	CreatedAt     int64
	UpdatedAt     int64
	Deadline      int64 // 0 when the bucket is best effort
	StartedAt     int64
	CompletedAt   int64
	CreateIndex   uint64 // raft index that created it
	ModifyIndex   uint64 // raft index of its last change

	// Failure handling (retry.go, andon.go, sla.go).
	Retry           RetryPolicy // the effective policy (defaults filled in at creation)
	Retries         uint32      // retries scheduled so far (failed attempts that were retried)
	NotBefore       int64       // queued after a failure: not to be assigned before this time (0: no backoff)
	LastReason      string      // Reason of the last fail, retry or requeue
	Andon           string      // "AN-<n>" while quarantined by that andon, else ""
	FixFor          string      // "AN-<n>" when this is the fix work order of that andon
	SLAWarned       int64       // the Deadline an sla_warning was recorded for (0: none)
	SLABreached     int64       // the Deadline an sla_breach was recorded for (0: none)
	PredictedFinish int64       // the last SLA event's predicted finish time (0: unknown)

	// RunTimeout bounds each attempt's run, from StartedAt (0: the
	// executing node's default); see WorkOrderSpec.RunTimeout.
	RunTimeout time.Duration
}

// Receipt is one link of the tamper-evident chain. Hash is SHA-256 over the
// fixed binary layout documented in receipt.go; PrevHash is the Hash of the
// receipt before it (32 zero bytes for the first).
type Receipt struct {
	Seq            uint64
	Index          uint64 // raft index of the entry that produced it
	Time           int64
	PrevHash       [32]byte
	Hash           [32]byte
	WorkOrder      string
	Event          string // created, started, advanced, progressed, completed, failed, cancelled, blocked, unblocked, dependency_added, dependency_removed, ...
	From           State
	To             State
	Attempt        uint64
	Node           string
	Agent          string
	EvidenceDigest [32]byte // SHA-256 of the evidence's canonical encoding; zero when none
}

// MemoryEntry is one swarm-memory key/value. ExpiresAt is 0 for no TTL;
// otherwise the entry is invisible once the state clock reaches it.
type MemoryEntry struct {
	Namespace   string
	Key         string
	Value       []byte
	ExpiresAt   int64
	CreateIndex uint64
	ModifyIndex uint64
	UpdatedAt   int64
}
