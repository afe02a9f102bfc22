package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hive-swarm/hive/plugins"
	"github.com/hive-swarm/hive/plugins/internal/plugintest"
	"go.uber.org/goleak"
)

var bins *plugintest.Builder

func TestMain(m *testing.M) {
	b, err := plugintest.NewBuilder()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bins = b
	code := m.Run()
	_ = b.Close()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func build(t *testing.T, pkg, name string) string {
	t.Helper()
	p, err := bins.Package(pkg, name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// run runs the kit with the host's log in the test's log.
func run(t *testing.T, cfg Config) *Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var logs bytes.Buffer
	cfg.LogOutput = &logs
	rep := Run(ctx, cfg)
	t.Logf("host log:\n%s", logs.String())
	t.Log(rep)
	return rep
}

func wantStatuses(t *testing.T, rep *Report, want map[string]Status) {
	t.Helper()
	for _, c := range rep.Checks {
		if w, ok := want[c.Name]; ok && c.Status != w {
			t.Errorf("%s: %s (%s), want %s", c.Name, c.Status, c.Detail, w)
		}
	}
}

func TestBuiltInAgentsConform(t *testing.T) {
	for _, tc := range []struct {
		name, pkg string
		payload   string
	}{
		{"test", plugintest.TestAgent, `{"mode":"echo","message":"hi"}`},
		{"shell", plugintest.ShellAgent, `{"command":"echo hi"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := run(t, Config{Path: build(t, tc.pkg, "hive-agent-"+tc.name), Payload: []byte(tc.payload)})
			if !rep.Passed || len(rep.Checks) != 8 || rep.ProtocolVersion != plugins.ProtocolVersion || rep.Types[0] != tc.name {
				t.Fatalf("failed: %+v", rep.Failed())
			}
			if p, f, s := rep.Counts(); p != 8 || f != 0 || s != 0 {
				t.Fatalf("counts %d %d %d", p, f, s)
			}
		})
	}
}

// TestExampleModuleConforms builds examples/plugin-echo from its own
// module, as an outside author would, and checks it.
func TestExampleModuleConforms(t *testing.T) {
	dir, err := filepath.Abs("../../examples/plugin-echo")
	if err != nil {
		t.Fatal(err)
	}
	path, err := bins.Module(dir, "hive-agent-echo")
	if err != nil {
		t.Fatal(err)
	}
	rep := run(t, Config{Path: path, Payload: []byte(`{"message":"hi","repeat":3}`), Config: []byte(`{"prefix":"> "}`)})
	if !rep.Passed || rep.Plugin != "hive-agent-echo" {
		t.Fatalf("failed: %+v", rep.Failed())
	}
}

func TestAFuturePluginFails(t *testing.T) {
	rep := run(t, Config{Path: build(t, "../testdata/futureplugin", "hive-agent-future")})
	if rep.Passed {
		t.Fatal("passed")
	}
	wantStatuses(t, rep, map[string]Status{
		CheckHandshake: Fail, CheckDescribe: Skip, CheckExecute: Skip, CheckStreaming: Skip,
		CheckCancellation: Skip, CheckCrash: Skip, CheckVersion: Pass,
	})
	if d := rep.Checks[0].Detail; !strings.Contains(d, "version 99") || !strings.Contains(d, fmt.Sprintf("version %d", plugins.ProtocolVersion)) {
		t.Fatalf("the handshake does not name both versions: %s", d)
	}
}

func TestNotAPlugin(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "hive-agent-chatty")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho hello\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	rep := run(t, Config{Path: script, Timeout: 10 * time.Second})
	if rep.Passed || rep.Checks[0].Status != Fail || !strings.Contains(rep.Checks[0].Detail, "hello") {
		t.Fatalf("report %+v", rep)
	}
	b, err := json.Marshal(rep)
	if err != nil || !strings.Contains(string(b), `"status":"fail"`) {
		t.Fatalf("json %s, %v", b, err)
	}
}

func TestAgentTypeNotOffered(t *testing.T) {
	rep := run(t, Config{Path: build(t, plugintest.TestAgent, "hive-agent-test"), Types: []string{"nope"}})
	wantStatuses(t, rep, map[string]Status{CheckExecute: Fail, CheckStreaming: Pass})
}
