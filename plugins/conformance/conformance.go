// Package conformance checks that a plugin binary behaves as a Hive node
// expects, by running it the way a node does. "hive plugin test PATH" is
// its command line; plugin authors may also call Run from their own tests
// (examples/plugin-echo does).
//
// The checks, in order:
//
//	handshake     the binary starts, completes the go-plugin handshake at the
//	              current protocol version, and refuses to run by hand
//	describe      it describes at least one valid agent type
//	execute       a task of every agent type ends with a verified result or
//	              the agent's own error, never a crash or a broken protocol
//	streaming     events arrive numbered and in order, the result last
//	concurrency   concurrent tasks share the process
//	cancellation  cancelling a task reaches the plugin's handler, and the
//	              plugin carries on
//	crash         a crash fails the tasks the process held with
//	              ErrPluginCrashed, and the plugin starts again afterwards
//	version       offered only an unknown protocol version, the plugin is
//	              refused with an error naming both versions
//
// Streaming, concurrency, cancellation and crash use the SDK's
// conformance probes (see plugins.FeatureConformanceProbes), which the kit
// enables for the processes it starts; a plugin not built on the SDK
// skips what needs them.
package conformance

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hive-swarm/hive/plugins"
)

// Config says which plugin to check and how.
type Config struct {
	Path string   // the plugin binary
	Args []string // its arguments
	Env  []string // added to its environment
	// Payload is the payload of the execute check's tasks; nil sends "{}".
	Payload []byte
	// Config is the agent types' configuration in the execute check's
	// tasks; nil sends none.
	Config []byte
	// Types limits the execute check to these agent types; nil runs every
	// type the plugin describes.
	Types []string
	// Timeout bounds each check; zero means DefaultTimeout.
	Timeout time.Duration
	// LogOutput, when set, receives the host's log, including the plugin's
	// stderr, one write at a time, and only until Run returns.
	LogOutput io.Writer
}

// DefaultTimeout bounds one check.
const DefaultTimeout = 30 * time.Second

// Status is the outcome of one check.
type Status string

// The outcomes of a check.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip" // it could not be run (see the detail)
)

// The names of the checks, in the order they run.
const (
	CheckHandshake    = "handshake"
	CheckDescribe     = "describe"
	CheckExecute      = "execute"
	CheckStreaming    = "streaming"
	CheckConcurrency  = "concurrency"
	CheckCancellation = "cancellation"
	CheckCrash        = "crash"
	CheckVersion      = "version"
)

// Check is the outcome of one check.
type Check struct {
	Name     string        `json:"name"`
	Status   Status        `json:"status"`
	Detail   string        `json:"detail"`
	Duration time.Duration `json:"duration_ns"`
}

// Report is the outcome of Run.
type Report struct {
	Path            string   `json:"path"`
	Plugin          string   `json:"plugin,omitempty"`
	Version         string   `json:"version,omitempty"`
	ProtocolVersion int      `json:"protocol_version,omitempty"`
	Types           []string `json:"types,omitempty"`
	Checks          []Check  `json:"checks"`
	// Passed is set when no check failed.
	Passed bool `json:"passed"`
}

// Counts returns the number of checks that passed, failed and were
// skipped.
func (r *Report) Counts() (passed, failed, skipped int) {
	for _, c := range r.Checks {
		switch c.Status {
		case Pass:
			passed++
		case Fail:
			failed++
		default:
			skipped++
		}
	}
	return passed, failed, skipped
}

// Failed returns the checks that failed.
func (r *Report) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if c.Status == Fail {
			out = append(out, c)
		}
	}
	return out
}

// Run checks the plugin and reports every check; it stops early only when
// ctx ends. Each check runs within cfg.Timeout. Every process it starts
// is stopped before it returns.
func Run(ctx context.Context, cfg Config) *Report {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Payload == nil {
		cfg.Payload = []byte("{}")
	}
	k := newKit(cfg)
	defer k.close()
	rep := &Report{Path: cfg.Path}
	for _, c := range []struct {
		name string
		run  func(ctx context.Context) (Status, string)
	}{
		{CheckHandshake, k.handshake},
		{CheckDescribe, k.describe},
		{CheckExecute, k.execute},
		{CheckStreaming, k.streaming},
		{CheckConcurrency, k.concurrency},
		{CheckCancellation, k.cancellation},
		{CheckCrash, k.crash},
		{CheckVersion, k.version},
	} {
		if ctx.Err() != nil {
			rep.Checks = append(rep.Checks, Check{Name: c.name, Status: Skip, Detail: "stopped: " + context.Cause(ctx).Error()})
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
		start := time.Now()
		st, detail := c.run(cctx)
		if st == Fail && cctx.Err() != nil && ctx.Err() == nil {
			detail = fmt.Sprintf("%s (the check timed out after %s)", detail, cfg.Timeout)
		}
		cancel()
		detail = strings.Join(strings.Fields(detail), " ") // one line
		rep.Checks = append(rep.Checks, Check{Name: c.name, Status: st, Detail: detail, Duration: time.Since(start)})
	}
	if k.desc != nil {
		rep.Plugin, rep.Version, rep.ProtocolVersion = k.desc.Name, k.desc.Version, k.desc.ProtocolVersion
		for _, t := range k.desc.Types {
			rep.Types = append(rep.Types, t.Name)
		}
	}
	_, failed, _ := rep.Counts()
	rep.Passed = failed == 0
	return rep
}

// String renders the report for humans, one line per check.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Plugin %s", r.Path)
	if r.Plugin != "" {
		fmt.Fprintf(&b, ": %s %s, protocol version %d, agent types %s", r.Plugin, r.Version, r.ProtocolVersion, strings.Join(r.Types, ", "))
	}
	b.WriteString("\n")
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "%-4s  %-12s  %s (%s)\n", strings.ToUpper(string(c.Status)), c.Name, c.Detail, c.Duration.Round(time.Millisecond))
	}
	p, f, s := r.Counts()
	fmt.Fprintf(&b, "%d passed, %d failed, %d skipped\n", p, f, s)
	return b.String()
}

// probeTask is a task of the SDK's conformance probes.
func probeTask(id string, payload string) *plugins.Task {
	return &plugins.Task{WorkOrderID: id, AgentType: plugins.ProbeAgentType, Payload: []byte(payload)}
}
