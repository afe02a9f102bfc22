package plugins

import (
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Task is one attempt at one work order, as an agent receives it.
type Task struct {
	WorkOrderID string
	// Attempt fences stale work: a retry of the same work order has a
	// higher attempt.
	Attempt     uint64
	Title       string
	Description string
	AgentType   string
	// Payload is the work order's payload, JSON by convention.
	Payload []byte
	Labels  []string
	// Config is the node's configuration for the agent type, JSON by
	// convention. Manager.Execute sets it from AgentConfig.Config.
	Config []byte
	// Deadline is when the task must be done; zero means none. The host
	// ends the call at the deadline and the plugin's context carries it.
	Deadline time.Time
}

// MaxPayloadSize bounds Task.Payload and Task.Config together.
const MaxPayloadSize = 16 << 20

// Validate reports what makes t unfit to send.
func (t *Task) Validate() error {
	switch {
	case t == nil:
		return errors.New("no task")
	case t.WorkOrderID == "":
		return errors.New("task has no work order id")
	case len(t.Payload)+len(t.Config) > MaxPayloadSize:
		return fmt.Errorf("task %s: payload and config are %d bytes, more than %d", t.WorkOrderID, len(t.Payload)+len(t.Config), MaxPayloadSize)
	}
	if t.AgentType == ProbeAgentType {
		return nil
	}
	return ValidTypeName(t.AgentType)
}

// Stream names where a log line came from.
type Stream int

// The streams of log lines; the numbers are the protocol's.
const (
	StreamUnspecified Stream = 0
	StreamAgent       Stream = 1 // the agent's own narration
	StreamStdout      Stream = 2 // a child process's stdout
	StreamStderr      Stream = 3 // a child process's stderr
)

// String returns "agent", "stdout", "stderr" or "unspecified".
func (s Stream) String() string {
	switch s {
	case StreamAgent:
		return "agent"
	case StreamStdout:
		return "stdout"
	case StreamStderr:
		return "stderr"
	}
	return "unspecified"
}

// Progress is an agent's report of how far it got.
type Progress struct {
	Stage   string  // short name of what the agent is doing, e.g. "build"
	Percent float64 // completion estimate in [0, 100]
	Message string
}

// LogLine is one line of an agent's output, without its newline.
type LogLine struct {
	Stream Stream
	Line   string
}

// EventKind tells which field of an Event is set.
type EventKind int

// The kinds of Event.
const (
	EventProgress EventKind = iota + 1
	EventLog
)

// Event is one progress report or log line of a running task, in the
// order the plugin sent it.
type Event struct {
	Seq      uint64    // 1, 2, 3, … within one Execute call
	Time     time.Time // the plugin's clock when it sent the event
	Kind     EventKind
	Progress Progress // when Kind is EventProgress
	Log      LogLine  // when Kind is EventLog
}

// Result is what an agent leaves behind: the exit status and the evidence
// of the run. A non-zero ExitStatus is a failed run, not an error of the
// call: its evidence is as valid as a success's.
type Result struct {
	ExitStatus int
	Outputs    map[string]string
	Artifacts  []Artifact
	Message    string // one-line summary for humans
	// LogDigest covers the log lines of the call (see LogDigest).
	LogDigest Digest
	// EvidenceDigest covers ExitStatus, Outputs, Artifacts and LogDigest
	// (see EvidenceDigest). Receipts record it.
	EvidenceDigest Digest
}

// Artifact is a file an agent produced, named by its digest.
type Artifact struct {
	Name      string // unique within one result
	Path      string // where the plugin left the file, on the node
	Size      int64
	SHA256    Digest
	MediaType string
}

// Description is what a plugin says about itself.
type Description struct {
	Name     string // e.g. "hive-agent-shell"
	Version  string // the plugin's own version
	Types    []AgentType
	Features []string // optional protocol features, e.g. FeatureConformanceProbes
	// ProtocolVersion is the negotiated protocol version (set by the host).
	ProtocolVersion int
}

// Type returns the agent type called name, or nil.
func (d *Description) Type(name string) *AgentType {
	for i := range d.Types {
		if d.Types[i].Name == name {
			return &d.Types[i]
		}
	}
	return nil
}

// HasFeature reports whether the plugin lists feature.
func (d *Description) HasFeature(feature string) bool {
	for _, f := range d.Features {
		if f == feature {
			return true
		}
	}
	return false
}

// Validate reports what makes d an invalid description: no types, an
// invalid or duplicate type name, a negative concurrency.
func (d *Description) Validate() error {
	if len(d.Types) == 0 {
		return errors.New("the plugin describes no agent types")
	}
	seen := make(map[string]bool, len(d.Types))
	for _, t := range d.Types {
		if err := ValidTypeName(t.Name); err != nil {
			return err
		}
		if seen[t.Name] {
			return fmt.Errorf("agent type %q is described twice", t.Name)
		}
		seen[t.Name] = true
		if t.MaxConcurrency < 0 {
			return fmt.Errorf("agent type %q: negative max concurrency %d", t.Name, t.MaxConcurrency)
		}
	}
	return nil
}

// Capabilities that agent types commonly list.
const (
	CapabilityProgress  = "progress"  // streams progress events
	CapabilityLogs      = "logs"      // streams log lines
	CapabilityCancel    = "cancel"    // stops work when the task is cancelled
	CapabilityArtifacts = "artifacts" // returns artifacts with digests
)

// AgentType is one kind of agent a plugin offers.
type AgentType struct {
	Name         string
	Description  string
	Capabilities []string
	// ConfigSchema is a JSON Schema document of the type's configuration
	// (Task.Config); empty when it takes none.
	ConfigSchema string
	// MaxConcurrency is how many tasks of this type one process can run at
	// once; 0 means no limit of its own.
	MaxConcurrency int
}

// Digest is a SHA-256 digest.
type Digest [32]byte

// IsZero reports whether d is all zeros (unset).
func (d Digest) IsZero() bool { return d == Digest{} }

// String returns d in lower case hex.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// MarshalText encodes d as lower case hex (so JSON shows hex).
func (d Digest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText decodes hex.
func (d *Digest) UnmarshalText(b []byte) error {
	if len(b) != 2*len(d) {
		return fmt.Errorf("digest: want %d hex digits, got %d", 2*len(d), len(b))
	}
	_, err := hex.Decode(d[:], b)
	return err
}

// digestFromBytes copies a 32-byte digest; other lengths are an error
// (empty gives the zero digest).
func digestFromBytes(b []byte) (Digest, error) {
	var d Digest
	if len(b) == 0 {
		return d, nil
	}
	if len(b) != len(d) {
		return d, fmt.Errorf("digest of %d bytes, want %d", len(b), len(d))
	}
	copy(d[:], b)
	return d, nil
}
