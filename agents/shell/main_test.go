package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hive-swarm/hive/plugins"
	"go.uber.org/goleak"
)

// The tests run the agent as users do: built with go build, started by a
// plugin host, over the real protocol.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hive-agent-shell-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "hive-agent-shell")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// launch starts the agent with args, closed at the end of the test.
func launch(t *testing.T, args ...string) *plugins.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := plugins.Launch(ctx, plugins.LaunchConfig{
		Path:   binary,
		Args:   args,
		Logger: hclog.New(&hclog.LoggerOptions{Level: hclog.Debug, Output: testWriter{t}}),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// run executes one task of type shell with cfg as its config and returns
// the result and the events.
func run(t *testing.T, c *plugins.Client, cfg any, payload any) (*plugins.Result, []plugins.Event, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return runCtx(ctx, t, c, cfg, payload)
}

func runCtx(ctx context.Context, t *testing.T, c *plugins.Client, cfg any, payload any) (*plugins.Result, []plugins.Event, error) {
	t.Helper()
	task := &plugins.Task{WorkOrderID: "WO-5", Attempt: 2, Title: "a title", AgentType: "shell"}
	var err error
	if cfg != nil {
		if task.Config, err = json.Marshal(cfg); err != nil {
			t.Fatal(err)
		}
	}
	if payload != nil {
		if task.Payload, err = json.Marshal(payload); err != nil {
			t.Fatal(err)
		}
	}
	var events []plugins.Event
	res, err := c.Execute(ctx, task, func(e plugins.Event) { events = append(events, e) })
	return res, events, err
}

// waitFor polls cond until it returns nil, failing after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
