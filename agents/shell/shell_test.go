package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hive-swarm/hive/plugins"
)

func TestExitCodeAndOutput(t *testing.T) {
	c := launch(t)
	res, events, err := run(t, c, nil, map[string]string{"command": "echo hello; echo oops >&2; exit 3"})
	if err != nil {
		t.Fatal(err)
	}
	o := res.Outputs
	if res.ExitStatus != 3 || o["exit_code"] != "3" || o["stdout"] != "hello\n" || o["stderr"] != "oops\n" ||
		o["timed_out"] != "false" || o["stdout_truncated"] != "false" {
		t.Fatalf("result %+v", res)
	}
	var lines []string
	for _, e := range events {
		if e.Kind == plugins.EventLog {
			lines = append(lines, e.Log.Stream.String()+":"+e.Log.Line)
		}
	}
	if strings.Join(lines, ",") != "stdout:hello,stderr:oops" && strings.Join(lines, ",") != "stderr:oops,stdout:hello" {
		t.Fatalf("log lines %q", lines)
	}
	// The per-task working directory is gone: nothing was kept.
	if _, err := os.Stat(o["workdir"]); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("workdir %s: %v", o["workdir"], err)
	}
}

func TestTimeoutKillsTheProcessGroup(t *testing.T) {
	c := launch(t)
	dir := t.TempDir()
	cfg := map[string]any{"workdir": dir, "timeout": "1m"}
	// The payload may shorten the timeout, never lengthen it.
	res, _, err := run(t, c, cfg, map[string]string{"command": "sleep 300 & echo $! > pid; wait", "timeout": "300ms"})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitStatus != 124 || res.Outputs["timed_out"] != "true" || !strings.Contains(res.Message, "timed out") {
		t.Fatalf("result %+v", res)
	}
	b, err := os.ReadFile(filepath.Join(dir, "pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the background child to die", func() error { return gone(pid) })
}

func TestCancellationKillsTheCommand(t *testing.T) {
	c := launch(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, _, err := runCtx(ctx, t, c, map[string]any{"workdir": dir}, map[string]string{"command": "echo $$ > pid; echo started; exec sleep 300"})
		errc <- err
	}()
	pidFile := filepath.Join(dir, "pid")
	var pid int
	waitFor(t, 30*time.Second, "the command to start", func() error {
		b, err := os.ReadFile(pidFile)
		if err != nil {
			return err
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err
	})
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Execute: %v", err)
	}
	waitFor(t, 30*time.Second, "the command to die", func() error { return gone(pid) })
}

func TestOutputFilesAreEvidence(t *testing.T) {
	c := launch(t)
	cfg := map[string]any{"outputs": []string{"out/*.txt", "missing.json"}}
	res, _, err := run(t, c, cfg, map[string]any{
		"command": "mkdir out && printf alpha > out/a.txt && printf beta > out/b.txt && ln -s /etc/passwd out/c.txt",
		"outputs": []string{"extra.log"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Artifacts) != 2 || res.Outputs["missing_outputs"] != "missing.json,extra.log" {
		t.Fatalf("result %+v", res)
	}
	for i, want := range []struct{ name, content string }{{"out/a.txt", "alpha"}, {"out/b.txt", "beta"}} {
		a := res.Artifacts[i]
		if a.Name != want.name || a.Size != int64(len(want.content)) || a.SHA256 != plugins.Digest(sha256.Sum256([]byte(want.content))) {
			t.Fatalf("artifact %d: %+v", i, a)
		}
		if b, err := os.ReadFile(a.Path); err != nil || string(b) != want.content {
			t.Fatalf("artifact %s at %s: %q, %v", a.Name, a.Path, b, err)
		}
	}
	_ = os.RemoveAll(res.Outputs["workdir"]) // kept for the artifacts

	_, _, err = run(t, c, map[string]any{"outputs": []string{"../escape"}}, map[string]string{"command": "true"})
	var ae *plugins.AgentError
	if !errors.As(err, &ae) || !ae.Invalid {
		t.Fatalf("an output outside the working directory: %v", err)
	}
}

func TestCommandTemplate(t *testing.T) {
	c := launch(t)
	cfg := map[string]any{
		"command": []string{"/bin/sh", "-c", "printf '%s|%s|%s|%s|%s' {{.WorkOrderID | shellquote}} {{.Payload.name | shellquote}} {{.Attempt}} \"$GREETING\" {{json .Labels | shellquote}}"},
		"env":     map[string]string{"GREETING": "hi {{.Title}}"},
	}
	res, _, err := run(t, c, cfg, map[string]string{"name": "it's $(rm -rf /)"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "WO-5|it's $(rm -rf /)|2|hi a title|null"; res.Outputs["stdout"] != want {
		t.Fatalf("stdout %q, want %q", res.Outputs["stdout"], want)
	}
	// A field the payload lacks is the task's fault.
	_, _, err = run(t, c, cfg, map[string]string{})
	var ae *plugins.AgentError
	if !errors.As(err, &ae) || !ae.Invalid || !strings.Contains(err.Error(), "name") {
		t.Fatalf("missing payload field: %v", err)
	}
}

func TestBoundedOutput(t *testing.T) {
	c := launch(t)
	res, events, err := run(t, c, map[string]any{"max_output_bytes": 10, "max_log_lines": 3}, map[string]string{"command": "seq 1 100"})
	if err != nil {
		t.Fatal(err)
	}
	if o := res.Outputs; o["stdout"] != "1\n2\n3\n4\n5\n" || o["stdout_bytes"] != "292" || o["stdout_truncated"] != "true" {
		t.Fatalf("outputs %v", o)
	}
	var lines []string
	for _, e := range events {
		if e.Kind == plugins.EventLog {
			lines = append(lines, e.Log.Line)
		}
	}
	if len(lines) != 4 || lines[2] != "3" || !strings.Contains(lines[3], "more than 3 lines") {
		t.Fatalf("lines %q", lines)
	}
}

func TestEnvironmentIsClean(t *testing.T) {
	c := launch(t)
	res, _, err := run(t, c, nil, map[string]string{"command": "env"})
	if err != nil {
		t.Fatal(err)
	}
	env := res.Outputs["stdout"]
	for _, bad := range []string{plugins.MagicCookieKey, "PLUGIN_", "HIVE_PLUGIN_"} {
		if strings.Contains(env, bad) {
			t.Errorf("the command sees %s:\n%s", bad, env)
		}
	}
	for _, want := range []string{"HIVE_WORK_ORDER_ID=WO-5", "HIVE_ATTEMPT=2", "HIVE_AGENT_TYPE=shell", "HOME=", "PATH="} {
		if !strings.Contains(env, want) {
			t.Errorf("the command lacks %s:\n%s", want, env)
		}
	}
	res, _, err = run(t, c, map[string]any{"inherit_env": true}, map[string]string{"command": "env"})
	if err != nil || strings.Contains(res.Outputs["stdout"], plugins.MagicCookieKey) {
		t.Fatalf("inherited environment: %v\n%s", err, res.Outputs["stdout"])
	}
}

func TestCommandNotFound(t *testing.T) {
	c := launch(t)
	res, _, err := run(t, c, map[string]any{"command": []string{"/nonexistent/tool"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitStatus != 127 || res.Outputs["error"] == "" {
		t.Fatalf("result %+v", res)
	}
}

func TestSeveralTypes(t *testing.T) {
	c := launch(t, "-types", "build,lint")
	d, err := c.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Types) != 2 || d.Types[0].Name != "build" || d.Types[1].Name != "lint" || d.Types[0].ConfigSchema != configSchema {
		t.Fatalf("description %+v", d)
	}
}

// gone reports an error while process pid lives. A zombie is dead: its
// parent was killed, and reaping it is up to init.
func gone(pid int) error {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return nil
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		if _, rest, ok := strings.Cut(string(b), ") "); ok && strings.HasPrefix(rest, "Z") {
			return nil
		}
	}
	return fmt.Errorf("pid %d is alive", pid)
}
