// Command hive-agent-echo is an example Hive agent plugin: it offers the
// agent type "echo", which repeats the work order's message. Read it with
// README.md; it is written to be copied.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hive-swarm/hive/plugins/sdk"
)

// version is set at build time: go build -ldflags "-X main.version=1.2.3".
var version = "0.1.0"

// echoPayload is what a work order of type "echo" carries:
//
//	hive wo create --type echo --title "Say hi" --payload '{"message":"hi","repeat":3}'
type echoPayload struct {
	Message string `json:"message"`
	Repeat  int    `json:"repeat"`
	// Delay waits between repeats (a Go duration), to watch progress.
	Delay string `json:"delay"`
	// File also writes the echo to a file, returned as an artifact.
	File bool `json:"file"`
}

// echoConfig is the node's configuration of the type, the same for every
// work order:
//
//	{"agents": {"echo": {"config": {"prefix": "> "}}}}
type echoConfig struct {
	Prefix    string `json:"prefix"`
	Uppercase bool   `json:"uppercase"`
}

// echo is the agent. It keeps no state between tasks, so concurrent calls
// of Execute are safe.
type echo struct{}

// Describe says what the plugin offers. Hive checks that the agent types
// it is configured to run are among them.
func (echo) Describe() sdk.Description {
	return sdk.Description{
		Name:    "hive-agent-echo",
		Version: version,
		Types: []sdk.AgentType{{
			Name:         "echo",
			Description:  "repeats the work order's message",
			Capabilities: []string{sdk.CapabilityProgress, sdk.CapabilityLogs, sdk.CapabilityCancel, sdk.CapabilityArtifacts},
			ConfigSchema: `{"type":"object","properties":{"prefix":{"type":"string"},"uppercase":{"type":"boolean"}},"additionalProperties":false}`,
		}},
	}
}

// Execute runs one work order.
func (echo) Execute(ctx context.Context, task *sdk.Task, r sdk.Reporter) (*sdk.Result, error) {
	var p echoPayload
	if err := sdk.DecodePayload(task, &p); err != nil {
		return nil, err // a malformed payload: the task is invalid, not the agent broken
	}
	var cfg echoConfig
	if err := sdk.DecodeConfig(task, &cfg); err != nil {
		return nil, err
	}
	if p.Message == "" {
		p.Message = task.Title
	}
	if p.Repeat <= 0 {
		p.Repeat = 1
	}
	if p.Repeat > 1000 {
		return nil, sdk.Invalidf("repeat %d: at most 1000", p.Repeat)
	}
	var delay time.Duration
	if p.Delay != "" {
		var err error
		if delay, err = time.ParseDuration(p.Delay); err != nil || delay < 0 {
			return nil, sdk.Invalidf("delay %q: want a Go duration like 100ms", p.Delay)
		}
	}

	line := cfg.Prefix + p.Message
	if cfg.Uppercase {
		line = strings.ToUpper(line)
	}
	var out strings.Builder
	for i := 1; i <= p.Repeat; i++ {
		// Stop promptly when the work order is cancelled, its deadline
		// passes or the node shuts the plugin down.
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		r.Log(sdk.StreamStdout, line) // part of the evidence
		r.Progress("echo", float64(100*i)/float64(p.Repeat), fmt.Sprintf("%d of %d", i, p.Repeat))
		out.WriteString(line + "\n")
	}
	sdk.Logger(ctx).Debug("echoed", "repeat", p.Repeat) // the node's log, not evidence

	res := &sdk.Result{
		ExitStatus: 0,
		Outputs:    map[string]string{"echo": out.String()},
		Message:    fmt.Sprintf("echoed %d times", p.Repeat),
	}
	if p.File {
		path := filepath.Join(os.TempDir(), fmt.Sprintf("hive-echo-%s-%d.txt", task.WorkOrderID, task.Attempt))
		if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
			return nil, fmt.Errorf("writing the echo: %w", err) // the agent's failure
		}
		a, err := sdk.FileArtifact("echo.txt", path)
		if err != nil {
			return nil, err
		}
		res.Artifacts = append(res.Artifacts, a)
	}
	return res, nil
}

func main() { sdk.Serve(echo{}) }
