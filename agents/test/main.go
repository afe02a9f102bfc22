// Command hive-agent-test is an agent plugin for tests and demos: driven
// by its task's payload, it returns at once, echoes, sleeps, fails, exits
// with a status, streams events, crashes its process or hangs until
// cancelled.
//
// The payload is JSON:
//
//	{"mode": "noop"}                          return at once (also the empty payload)
//	{"mode": "echo", "message": "hi"}         log the message; outputs echo every task field
//	{"mode": "sleep", "duration": "2s"}       sleep, reporting progress; stops when cancelled
//	{"mode": "fail", "message": "why"}        fail the task (the agent's error)
//	{"mode": "invalid", "message": "why"}     reject the task as invalid
//	{"mode": "exit", "exit_status": 2}        a result with that exit status
//	{"mode": "stream", "events": 100}         that many progress and log events, in turn
//	{"mode": "crash", "exit_status": 3, "duration": "100ms"}
//	                                          exit the process mid-task (after the duration)
//	{"mode": "crash", "orphan_pid_file": "/tmp/p"}
//	                                          first start a child that keeps the plugin's
//	                                          stdout and stderr open, and write its pid
//	{"mode": "hang", "marker": "/tmp/f"}      wait until cancelled; then log "task cancelled"
//	                                          and write the cause to the marker file
//	{"mode": "panic"}                         panic in the handler
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/hive-swarm/hive/plugins/sdk"
)

// version is the plugin's version, set at build time with
// -ldflags "-X main.version=…".
var version = "dev"

type payload struct {
	Mode       string `json:"mode"`
	Message    string `json:"message"`
	Duration   string `json:"duration"`
	ExitStatus int    `json:"exit_status"`
	Events     int    `json:"events"`
	Marker     string `json:"marker"`
	// OrphanPIDFile, in mode crash, first starts a child that holds the
	// plugin's stdout and stderr open and outlives it, and writes the
	// child's pid there.
	OrphanPIDFile string `json:"orphan_pid_file"`
}

type testAgent struct{}

func (testAgent) Describe() sdk.Description {
	return sdk.Description{
		Name:    "hive-agent-test",
		Version: version,
		Types: []sdk.AgentType{{
			Name:         "test",
			Description:  "sleeps, echoes, fails, crashes or hangs on demand, for tests and demos",
			Capabilities: []string{sdk.CapabilityProgress, sdk.CapabilityLogs, sdk.CapabilityCancel},
			ConfigSchema: `{"type":"object","description":"any JSON; echoed back by mode echo"}`,
		}},
	}
}

func (testAgent) Execute(ctx context.Context, task *sdk.Task, r sdk.Reporter) (*sdk.Result, error) {
	var p payload
	if err := sdk.DecodePayload(task, &p); err != nil {
		return nil, err
	}
	d, err := duration(p.Duration)
	if err != nil {
		return nil, err
	}
	switch p.Mode {
	case "", "noop":
		return &sdk.Result{}, nil
	case "echo":
		r.Log(sdk.StreamAgent, p.Message)
		return &sdk.Result{Message: p.Message, Outputs: echo(task, p.Message)}, nil
	case "sleep":
		return sleep(ctx, d, r)
	case "fail":
		return nil, fmt.Errorf("failing on demand: %s", p.Message)
	case "invalid":
		return nil, sdk.Invalidf("rejecting on demand: %s", p.Message)
	case "exit":
		return &sdk.Result{ExitStatus: p.ExitStatus, Message: "exit status " + strconv.Itoa(p.ExitStatus)}, nil
	case "stream":
		for i := 1; i <= p.Events; i++ {
			if i%2 == 1 {
				r.Progress("stream", float64(100*i)/float64(p.Events), "event "+strconv.Itoa(i))
			} else {
				r.Log(sdk.StreamStdout, "event "+strconv.Itoa(i))
			}
		}
		return &sdk.Result{Outputs: map[string]string{"events": strconv.Itoa(p.Events)}}, nil
	case "crash":
		if p.OrphanPIDFile != "" {
			if err := orphan(p.OrphanPIDFile); err != nil {
				return nil, err
			}
		}
		r.Progress("crash", 50, "about to crash")
		if d > 0 {
			time.Sleep(d)
		}
		sdk.Logger(ctx).Warn("crashing on demand", "exit_status", p.ExitStatus)
		os.Exit(max(p.ExitStatus, 1))
	case "hang":
		return hang(ctx, p.Marker, r)
	case "panic":
		panic("panicking on demand")
	}
	return nil, sdk.Invalidf("unknown mode %q", p.Mode)
}

func duration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, sdk.Invalidf("duration %q: want a non-negative Go duration like 2s", s)
	}
	return d, nil
}

// echo returns every field of the task, so that tests can check that the
// task arrived whole.
func echo(task *sdk.Task, message string) map[string]string {
	out := map[string]string{
		"message":       message,
		"work_order_id": task.WorkOrderID,
		"attempt":       strconv.FormatUint(task.Attempt, 10),
		"title":         task.Title,
		"description":   task.Description,
		"agent_type":    task.AgentType,
		"payload":       string(task.Payload),
		"labels":        strings.Join(task.Labels, ","),
		"config":        string(task.Config),
	}
	if !task.Deadline.IsZero() {
		out["deadline"] = task.Deadline.UTC().Format(time.RFC3339Nano)
	}
	return out
}

func sleep(ctx context.Context, d time.Duration, r sdk.Reporter) (*sdk.Result, error) {
	if d == 0 {
		return &sdk.Result{Outputs: map[string]string{"slept": "0s"}}, nil
	}
	start := time.Now()
	tick := time.NewTicker(max(d/10, time.Millisecond))
	defer tick.Stop()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-deadline.C:
			return &sdk.Result{Outputs: map[string]string{"slept": d.String()}}, nil
		case <-tick.C:
			r.Progress("sleep", min(100, float64(100*time.Since(start))/float64(d)), "sleeping")
		}
	}
}

func hang(ctx context.Context, marker string, r sdk.Reporter) (*sdk.Result, error) {
	r.Progress("hang", 0, "hanging until cancelled")
	<-ctx.Done()
	sdk.Logger(ctx).Info("task cancelled", "cause", ctx.Err())
	if marker != "" {
		if err := os.WriteFile(marker, []byte(ctx.Err().Error()), 0o644); err != nil {
			sdk.Logger(ctx).Error("writing the marker", "error", err)
		}
	}
	return nil, ctx.Err()
}

// orphan starts a sleeping child holding the process's original stdout
// and stderr (the pipes to the host), and writes its pid to pidFile.
func orphan(pidFile string) error {
	cmd := exec.Command("sleep", "600")
	cmd.Stdout, cmd.Stderr = os.NewFile(1, "stdout"), os.NewFile(2, "stderr")
	if err := cmd.Start(); err != nil {
		return err
	}
	return os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
}

func main() { sdk.Serve(testAgent{}) }
