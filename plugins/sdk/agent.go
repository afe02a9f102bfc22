package sdk

import (
	"context"

	"github.com/hive-swarm/hive/plugins"
)

// Agent is what a plugin author implements.
type Agent interface {
	// Describe says what the plugin offers: its name and version, and the
	// agent types with their capabilities and configuration schema. It is
	// called once, when the plugin starts, and must not fail: a plugin
	// that cannot work should exit with a message on stderr instead.
	Describe() Description

	// Execute runs one task and returns its result. Calls run
	// concurrently, one per task, up to the host's capacity for the type;
	// Execute must be safe for that.
	//
	// ctx ends when the host cancels the task, when its deadline passes
	// (task.Deadline, also set on ctx) or when the host shuts the plugin
	// down: stop the work, release what it holds, and return ctx.Err().
	//
	// Report progress and log lines through r while working; r must not
	// be used after Execute returns (calls are then ignored). Return a
	// result (a non-zero ExitStatus is a failed run with evidence), or an
	// error when the task could not be run at all: Invalid for a task the
	// agent cannot accept (bad payload or config), any other error for a
	// failure. The SDK computes the result's digests.
	Execute(ctx context.Context, task *Task, r Reporter) (*Result, error)
}

// Reporter streams a task's progress and log lines to the host, in the
// order of the calls. It is safe for concurrent use. Sending never fails
// from the agent's point of view: when the host is gone, the task's
// context ends.
type Reporter interface {
	// Progress reports the current stage, a completion estimate in
	// [0, 100] and a message.
	Progress(stage string, percent float64, message string)
	// Log sends text on a stream; text with newlines is sent as one line
	// per line. Lines are part of the evidence (the result's LogDigest).
	Log(stream Stream, text string)
	// Logf sends a formatted line on StreamAgent.
	Logf(format string, args ...any)
}

// The protocol's types, under the names plugin authors use.
type (
	// Task is one attempt at one work order.
	Task = plugins.Task
	// Result is what an agent leaves behind: exit status and evidence.
	Result = plugins.Result
	// Artifact is a file an agent produced; see FileArtifact.
	Artifact = plugins.Artifact
	// Description is what a plugin says about itself.
	Description = plugins.Description
	// AgentType is one kind of agent a plugin offers.
	AgentType = plugins.AgentType
	// Stream names where a log line came from.
	Stream = plugins.Stream
	// Digest is a SHA-256 digest.
	Digest = plugins.Digest
)

// The streams of log lines.
const (
	StreamAgent  = plugins.StreamAgent
	StreamStdout = plugins.StreamStdout
	StreamStderr = plugins.StreamStderr
)

// Capabilities that agent types commonly list.
const (
	CapabilityProgress  = plugins.CapabilityProgress
	CapabilityLogs      = plugins.CapabilityLogs
	CapabilityCancel    = plugins.CapabilityCancel
	CapabilityArtifacts = plugins.CapabilityArtifacts
)
