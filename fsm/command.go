package fsm

import "time"

// MessageType is the first byte of every raft log entry Hive writes. Types
// are numbered explicitly and only ever appended; never renumber one.
type MessageType uint8

// IgnoreUnknownTypeFlag marks a type that a node which does not know it may
// skip instead of stopping (for rolling upgrades).
const IgnoreUnknownTypeFlag MessageType = 128

// The command types.
const (
	BatchType              MessageType = 1 // several commands coalesced into one entry
	CreateWorkOrderType    MessageType = 2
	TransitionType         MessageType = 3
	AddDependencyType      MessageType = 4
	RemoveDependencyType   MessageType = 5
	MemoryPutType          MessageType = 6
	MemoryDeleteType       MessageType = 7
	MemoryImportType       MessageType = 8
	TickType               MessageType = 9  // advances the state clock (TTL expiry)
	SetSchedulerConfigType MessageType = 10 // replaces the scheduler configuration
	AssignType             MessageType = 11 // the leader starts a queued work order on a node
	RunPipelineType        MessageType = 12 // instantiates a pipeline template
	AndonTriggerType       MessageType = 13 // pulls the Andon cord on a work order (andon.go)
	AndonUpdateType        MessageType = 14 // edits an andon's 5 whys and root cause
	AndonResolveType       MessageType = 15 // resolves an andon and resumes its line
	SLAEventType           MessageType = 16 // records an SLA warning or breach (sla.go)
	RecordStaleType        MessageType = 17 // records a refused stale report (stale.go)
)

// lastType is the highest command type this build knows.
const lastType = RecordStaleType

// Command is a decoded log entry.
type Command interface {
	// Type is the command's message type byte.
	Type() MessageType
}

// Header is carried by every command. The proposer stamps it; Apply reads
// times and identities only from here, never from the local clock.
type Header struct {
	RequestID string // client request ID; a repeat is answered with the first outcome
	Time      int64  // Unix nanoseconds, stamped by the proposing node
	Node      string // proposing node
}

// CommandHeader returns h. Every command but Batch embeds a Header, so
// every one of them has this method: callers reach a command's header
// without a type switch that a new command type could be missing from.
func (h *Header) CommandHeader() *Header { return h }

// WorkOrderSpec is what a client supplies to create a work order.
type WorkOrderSpec struct {
	Title         string
	Description   string
	Kind          string
	Bucket        string // empty: derived from labels (default "features")
	Priority      Priority
	PriorityScore int // 1-10; used when Priority is 0
	Labels        []string
	Payload       []byte
	Effort        int64
	Stage         string
	Signal        string
	DependsOn     []string
	Deadline      int64 // explicit deadline; 0 means created + the bucket's SLA
	Parent        string
	Retry         RetryPolicy // zero fields take DefaultRetryPolicy's values (retry.go)

	// RunTimeout bounds each attempt's run: its executor cancels a run
	// that takes longer, and the leader fails the attempt (a retryable,
	// fenced fail) when no outcome arrives within RunTimeout plus a slack
	// of its start, say because the node died. 0 means the executing
	// node's default (its --run-timeout); at most MaxRunTimeout.
	RunTimeout time.Duration
}

// CreateWorkOrder creates a work order; its ID is assigned at commit.
type CreateWorkOrder struct {
	Header
	Spec WorkOrderSpec
}

// Transition moves a work order along its lifecycle. Attempt fences stale
// work: when non-zero it must equal the work order's current attempt. A
// fenced fail is retried while the work order's RetryPolicy allows, unless
// NoRetry; an unfenced fail is final (see retry.go).
type Transition struct {
	Header
	ID       string
	Action   Action
	Attempt  uint64
	Agent    string // agent reporting (start: the assignee's agent)
	Stage    string // progress: the stage reached
	Progress string // progress: free-form note (percent, step)
	Evidence *Evidence
	Reason   string
	Cascade  bool // cancel: also cancel every unfinished transitive dependent
	NoRetry  bool // fail: fail the work order now, without a retry (retry.go)
}

// AddDependency makes ID depend on each of DependsOn.
type AddDependency struct {
	Header
	ID        string
	DependsOn []string
}

// RemoveDependency removes the edges from ID to each of DependsOn.
type RemoveDependency struct {
	Header
	ID        string
	DependsOn []string
}

// MemoryPut stores a swarm-memory entry. ExpiresAt is absolute (the
// proposer adds the TTL to Header.Time); 0 means no expiry.
type MemoryPut struct {
	Header
	Namespace string
	Key       string
	Value     []byte
	ExpiresAt int64
}

// MemoryDelete removes a swarm-memory entry.
type MemoryDelete struct {
	Header
	Namespace string
	Key       string
}

// MemoryImport stores many entries at once (an import of an export).
type MemoryImport struct {
	Header
	Entries []MemoryEntry
}

// Tick advances the state clock to Header.Time so that TTLs expire on
// every node at the same log index.
type Tick struct {
	Header
}

// SetSchedulerConfig replaces the replicated scheduler configuration (see
// SchedulerConfig) and appends a scheduler_configured receipt. New limits
// apply to the next start or assignment; work already in flight is never
// stopped by a lower limit.
type SetSchedulerConfig struct {
	Header
	Config SchedulerConfig
}

// Assign is the leader's start: it moves a queued work order to
// in_progress with the next attempt, held by AgentType on Node, subject to
// the same WIP limits as a manual start. Node is the executor that runs
// the attempt; Header.Node is, as on every command, the proposer (the
// leader). AgentType "" means the work order's Kind.
type Assign struct {
	Header
	ID        string
	Node      string
	AgentType string
}

// RunPipeline instantiates the pipeline template named Pipeline from the
// current SchedulerConfig, in one Apply: a parent work order for the run
// and one child per template stage, chained by dependencies (see
// applyRunPipeline). The remaining fields are those of WorkOrderSpec and
// mean the same; every created work order gets them.
type RunPipeline struct {
	Header
	Pipeline    string
	Title       string // at most MaxPipelineTitleLen runes
	Description string
	Bucket      string // empty: derived from labels (default "features")
	Priority    Priority
	Labels      []string
	Payload     []byte
	Deadline    int64 // explicit deadline; 0 means created + the bucket's SLA
}

// Batch is several commands coalesced by the proposer into one log entry.
// Apply returns a []*Result in the same order.
type Batch struct {
	Commands []Command
}

// Type implements Command.
func (*Batch) Type() MessageType { return BatchType }

// Type implements Command.
func (*CreateWorkOrder) Type() MessageType { return CreateWorkOrderType }

// Type implements Command.
func (*Transition) Type() MessageType { return TransitionType }

// Type implements Command.
func (*AddDependency) Type() MessageType { return AddDependencyType }

// Type implements Command.
func (*RemoveDependency) Type() MessageType { return RemoveDependencyType }

// Type implements Command.
func (*MemoryPut) Type() MessageType { return MemoryPutType }

// Type implements Command.
func (*MemoryDelete) Type() MessageType { return MemoryDeleteType }

// Type implements Command.
func (*MemoryImport) Type() MessageType { return MemoryImportType }

// Type implements Command.
func (*Tick) Type() MessageType { return TickType }

// Type implements Command.
func (*SetSchedulerConfig) Type() MessageType { return SetSchedulerConfigType }

// Type implements Command.
func (*Assign) Type() MessageType { return AssignType }

// Type implements Command.
func (*RunPipeline) Type() MessageType { return RunPipelineType }

// Result is what Apply returns to the proposer for one command.
type Result struct {
	Index     uint64       // raft index of the entry
	WorkOrder *WorkOrder   // the work order after the command, for work-order commands
	Memory    *MemoryEntry // the entry after MemoryPut
	Receipts  []*Receipt   // receipts this command appended, in order
	Count     int          // entries imported by MemoryImport; stages created by RunPipeline
	IDs       []string     // RunPipeline: the stage work orders, in stage order (WorkOrder is the run); AndonTrigger: the fix work order
	Andon     *Andon       // the andon after an andon command
	Err       error        // a business error (*Error); state unchanged when set
}
