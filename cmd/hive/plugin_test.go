package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hive-swarm/hive/plugins/conformance"
)

// buildTestAgent builds the built-in test agent into a temporary
// directory with go build, as users do.
func buildTestAgent(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hive-agent-test")
	if out, err := exec.Command("go", "build", "-o", path, "github.com/hive-swarm/hive/agents/test").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return path
}

func TestPluginTest(t *testing.T) {
	path := buildTestAgent(t)

	out := ok(t, "", "plugin", "test", path, "--payload", `{"mode":"echo","message":"hi"}`)
	if !strings.Contains(out, "PASS  handshake") || !strings.Contains(out, "8 passed, 0 failed, 0 skipped") {
		t.Fatalf("human output:\n%s", out)
	}

	var rep conformance.Report
	decode(t, ok(t, "", "plugin", "test", path, "-json", "--type", "test"), &rep)
	if !rep.Passed || rep.Plugin != "hive-agent-test" || len(rep.Checks) != 8 {
		t.Fatalf("report %+v", rep)
	}

	// A binary that is no plugin fails, with one line on stderr and the
	// report on stdout.
	script := filepath.Join(t.TempDir(), "hive-agent-chatty")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho hello\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	stderr := fails(t, "", "conformance_failed", "plugin", "test", script, "--timeout", "10s")
	if !strings.Contains(stderr, "handshake") {
		t.Fatalf("stderr %q", stderr)
	}

	fails(t, "", "usage", "plugin", "test")
	fails(t, "", "invalid_argument", "plugin", "test", filepath.Join(t.TempDir(), "missing"))
	fails(t, "", "invalid_argument", "plugin", "test", path, "--payload", "{")
	fails(t, "", "invalid_argument", "plugin", "test", path, "--timeout", "0s")
}
