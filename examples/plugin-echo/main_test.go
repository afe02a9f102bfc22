package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hive-swarm/hive/plugins"
	"github.com/hive-swarm/hive/plugins/conformance"
)

// The tests build the plugin with go build, as a user would, and run it
// the way a Hive node does.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hive-agent-echo-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "hive-agent-echo")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// TestConformance runs the conformance kit, as "hive plugin test" does.
func TestConformance(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep := conformance.Run(ctx, conformance.Config{Path: binary, Payload: []byte(`{"message":"hi","repeat":2}`)})
	t.Log(rep)
	if !rep.Passed {
		t.Fatalf("failed checks: %+v", rep.Failed())
	}
}

func TestEcho(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := plugins.Launch(ctx, plugins.LaunchConfig{Path: binary})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	task := &plugins.Task{
		WorkOrderID: "WO-1", AgentType: "echo", Title: "t",
		Payload: []byte(`{"message":"hi","repeat":3,"file":true}`),
		Config:  []byte(`{"prefix":"> ","uppercase":true}`),
	}
	var lines []string
	res, err := c.Execute(ctx, task, func(e plugins.Event) {
		if e.Kind == plugins.EventLog {
			lines = append(lines, e.Log.Line)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "> HI\n> HI\n> HI\n"
	if res.Outputs["echo"] != want || strings.Join(lines, "|") != "> HI|> HI|> HI" {
		t.Fatalf("result %+v, lines %q", res, lines)
	}
	if len(res.Artifacts) != 1 || res.Artifacts[0].SHA256 != plugins.Digest(sha256.Sum256([]byte(want))) {
		t.Fatalf("artifacts %+v", res.Artifacts)
	}
	_ = os.Remove(res.Artifacts[0].Path)

	// A bad payload is the task's fault.
	task.Payload = []byte(`{"repeat":5000}`)
	_, err = c.Execute(ctx, task, nil)
	var ae *plugins.AgentError
	if !errors.As(err, &ae) || !ae.Invalid {
		t.Fatalf("bad payload: %v", err)
	}
}
