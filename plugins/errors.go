package plugins

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Errors of the plugin layer. Match them with errors.Is; the typed errors
// below carry the details and match their sentinel.
var (
	// ErrPluginCrashed: the plugin process died (or its connection broke)
	// while it held the task. The work did not finish and may have done
	// part of its effects; retrying it as a new attempt is safe as far as
	// the plugin layer knows. See *CrashError.
	ErrPluginCrashed = errors.New("plugin crashed")

	// ErrPluginUnavailable: the agent type's plugin is not running (it
	// failed to start, or waits out a restart backoff). Retry later or
	// elsewhere. The error wraps the reason of the last failure.
	ErrPluginUnavailable = errors.New("plugin unavailable")

	// ErrVersionMismatch: the plugin speaks no protocol version the host
	// speaks. See *VersionError.
	ErrVersionMismatch = errors.New("plugin protocol version mismatch")

	// ErrUnknownAgentType: no plugin offers the agent type.
	ErrUnknownAgentType = errors.New("unknown agent type")

	// ErrAgentFailed: the agent could not run the task and said why (its
	// handler returned an error). Retrying the same task is unlikely to
	// help unless the reason was transient. See *AgentError.
	ErrAgentFailed = errors.New("agent failed")

	// ErrProtocol: the plugin broke the protocol (events out of order, no
	// result, a result whose digests do not match its content).
	ErrProtocol = errors.New("plugin protocol violation")

	// ErrClosed: the Manager or Client was closed.
	ErrClosed = errors.New("plugin host closed")
)

// Retryable reports whether err is a failure of the plugin layer after
// which the same task may be tried again as a new attempt, here later or
// on another node: a crash or an unavailable plugin. An agent's own
// failure, a protocol violation (a bug of the plugin), a cancellation and a
// deadline are not.
func Retryable(err error) bool {
	return errors.Is(err, ErrPluginCrashed) || errors.Is(err, ErrPluginUnavailable)
}

// CrashError is a plugin process that died, or whose connection broke,
// while it held a task. It matches ErrPluginCrashed.
type CrashError struct {
	AgentType string // the agent type of the process, when known
	Path      string // the plugin binary
	PID       int
	// Err is how the process ended ("exit status 3", "signal: killed") or,
	// when it has not ended, how the connection broke.
	Err error
}

// Error describes the crash.
func (e *CrashError) Error() string {
	var b strings.Builder
	b.WriteString("plugin ")
	if e.AgentType != "" {
		b.WriteString(strconv.Quote(e.AgentType) + " ")
	}
	fmt.Fprintf(&b, "(%s, pid %d) crashed", e.Path, e.PID)
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Is matches ErrPluginCrashed.
func (e *CrashError) Is(target error) bool { return target == ErrPluginCrashed }

// Unwrap returns how the process ended.
func (e *CrashError) Unwrap() error { return e.Err }

// VersionError is a plugin that speaks no protocol version the host
// speaks. It matches ErrVersionMismatch.
type VersionError struct {
	Path   string
	Plugin int   // the version the plugin offered
	Host   []int // the versions the host offered
}

// Error names both sides' versions and the fix.
func (e *VersionError) Error() string {
	hv := make([]string, len(e.Host))
	for i, v := range e.Host {
		hv[i] = strconv.Itoa(v)
	}
	return fmt.Sprintf("plugin %s speaks agent protocol version %d, but this host speaks version %s; "+
		"rebuild the plugin against a Hive SDK of a matching protocol version", e.Path, e.Plugin, strings.Join(hv, ", "))
}

// Is matches ErrVersionMismatch.
func (e *VersionError) Is(target error) bool { return target == ErrVersionMismatch }

// AgentError is an agent's own refusal or failure to run a task: its
// handler returned an error instead of a result. It matches
// ErrAgentFailed.
type AgentError struct {
	AgentType   string
	WorkOrderID string
	Message     string // what the agent said
	// Invalid is set when the agent rejected the task itself (bad payload
	// or config): retrying it unchanged will fail the same way.
	Invalid bool
}

// Error returns the agent's message with the task it concerns.
func (e *AgentError) Error() string {
	what := "failed"
	if e.Invalid {
		what = "rejected the task"
	}
	return fmt.Sprintf("agent %q %s for %s: %s", e.AgentType, what, e.WorkOrderID, e.Message)
}

// Is matches ErrAgentFailed.
func (e *AgentError) Is(target error) bool { return target == ErrAgentFailed }

// ErrInvalidTask is a task the host refuses to send (see Task.Validate).
var ErrInvalidTask = errors.New("invalid task")
