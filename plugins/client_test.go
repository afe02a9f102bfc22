package plugins

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLaunchAndDescribe(t *testing.T) {
	c := launch(t, LaunchConfig{AgentType: "test"})
	d, err := c.Describe(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	typ := d.Type("test")
	if d.Name != "hive-agent-test" || typ == nil || d.ProtocolVersion != ProtocolVersion || c.Version() != ProtocolVersion {
		t.Fatalf("description %+v, version %d", d, c.Version())
	}
	if c.PID() <= 0 || typ.ConfigSchema == "" || len(typ.Capabilities) == 0 {
		t.Fatalf("pid %d, type %+v", c.PID(), typ)
	}
	if d.HasFeature(FeatureConformanceProbes) {
		t.Fatal("probes are on without " + ProbeEnv)
	}
}

func TestExecuteRoundTrip(t *testing.T) {
	c := launch(t, LaunchConfig{AgentType: "test"})
	deadline := time.Now().Add(time.Hour).Round(0)
	task := &Task{
		WorkOrderID: "WO-7",
		Attempt:     3,
		Title:       "a title",
		Description: "a description\nof two lines",
		AgentType:   "test",
		Payload:     []byte(`{"mode":"echo","message":"hello"}`),
		Labels:      []string{"bug", "security"},
		Config:      []byte(`{"k":"v"}`),
		Deadline:    deadline,
	}
	var events []Event
	res, err := c.Execute(testCtx(t), task, func(e Event) { events = append(events, e) })
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"message":       "hello",
		"work_order_id": "WO-7",
		"attempt":       "3",
		"title":         "a title",
		"description":   "a description\nof two lines",
		"agent_type":    "test",
		"payload":       `{"mode":"echo","message":"hello"}`,
		"labels":        "bug,security",
		"config":        `{"k":"v"}`,
		"deadline":      deadline.UTC().Format(time.RFC3339Nano),
	}
	if !maps.Equal(res.Outputs, want) {
		t.Fatalf("outputs\n got %v\nwant %v", res.Outputs, want)
	}
	if len(events) != 1 || events[0].Kind != EventLog || events[0].Log.Line != "hello" || events[0].Seq != 1 {
		t.Fatalf("events %+v", events)
	}
	if res.LogDigest != LogDigest(events[0].Log) || res.EvidenceDigest != EvidenceDigest(res) || res.EvidenceDigest.IsZero() {
		t.Fatalf("digests of %+v", res)
	}
}

func TestExecuteStreamsInOrder(t *testing.T) {
	c := launch(t, LaunchConfig{AgentType: "test"})
	const n = 1000
	var events []Event
	res, err := c.Execute(testCtx(t), &Task{WorkOrderID: "WO-1", AgentType: "test",
		Payload: fmt.Appendf(nil, `{"mode":"stream","events":%d}`, n)}, func(e Event) { events = append(events, e) })
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != n || res.Outputs["events"] != strconv.Itoa(n) {
		t.Fatalf("%d events, result %+v", len(events), res)
	}
	for i, e := range events {
		want := "event " + strconv.Itoa(i+1)
		got := e.Log.Line
		if i%2 == 0 {
			got = e.Progress.Message
		}
		if e.Seq != uint64(i+1) || got != want || (i%2 == 0) != (e.Kind == EventProgress) {
			t.Fatalf("event %d: %+v", i, e)
		}
		if i > 0 && e.Time.Before(events[i-1].Time) {
			t.Fatalf("event %d is older than the one before", i)
		}
	}
}

func TestCancellationReachesThePlugin(t *testing.T) {
	logger, sink := newLogger(t)
	c := launch(t, LaunchConfig{AgentType: "test", Logger: logger})
	marker := filepath.Join(t.TempDir(), "cancelled")
	ctx, cancel := context.WithCancel(testCtx(t))
	errc := make(chan error, 1)
	go func() {
		_, err := c.Execute(ctx, &Task{WorkOrderID: "WO-9", AgentType: "test",
			Payload: fmt.Appendf(nil, `{"mode":"hang","marker":%q}`, marker)}, func(Event) { cancel() })
		errc <- err
	}()
	// The first event means the handler runs; the callback cancels then.
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Execute: %v, want context.Canceled", err)
	}
	waitFor(t, 30*time.Second, "the handler to see its context end", func() error {
		b, err := os.ReadFile(marker)
		if err != nil {
			return err
		}
		if string(b) != context.Canceled.Error() {
			return fmt.Errorf("marker says %q", b)
		}
		return nil
	})
	// The plugin's stderr reached the host's logger, with its fields.
	waitFor(t, 30*time.Second, "the plugin's log line", func() error {
		if _, ok := sink.find("task cancelled", "work_order=WO-9"); !ok {
			return errors.New("not logged yet")
		}
		return nil
	})
	// The process is still fine.
	if _, err := c.Execute(testCtx(t), &Task{WorkOrderID: "WO-10", AgentType: "test"}, nil); err != nil {
		t.Fatal(err)
	}
}

func TestTaskDeadlineReachesThePlugin(t *testing.T) {
	c := launch(t, LaunchConfig{AgentType: "test"})
	marker := filepath.Join(t.TempDir(), "deadline")
	_, err := c.Execute(testCtx(t), &Task{WorkOrderID: "WO-2", AgentType: "test", Deadline: time.Now().Add(200 * time.Millisecond),
		Payload: fmt.Appendf(nil, `{"mode":"hang","marker":%q}`, marker)}, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Execute: %v, want context.DeadlineExceeded", err)
	}
	waitFor(t, 30*time.Second, "the handler to see its deadline", func() error {
		b, err := os.ReadFile(marker)
		if err == nil && string(b) != context.DeadlineExceeded.Error() {
			return fmt.Errorf("marker says %q", b)
		}
		return err
	})
}

func TestAgentErrors(t *testing.T) {
	c := launch(t, LaunchConfig{AgentType: "test"})
	for _, tc := range []struct {
		name, payload, typ string
		invalid            bool
		want               error
		message            string
	}{
		{name: "fail", payload: `{"mode":"fail","message":"out of coffee"}`, want: ErrAgentFailed, message: "out of coffee"},
		{name: "invalid", payload: `{"mode":"invalid","message":"bad"}`, want: ErrAgentFailed, invalid: true, message: "bad"},
		{name: "bad json", payload: `{`, want: ErrAgentFailed, invalid: true, message: "payload"},
		{name: "panic", payload: `{"mode":"panic"}`, want: ErrAgentFailed, message: "panicked"},
		{name: "unknown type", payload: `{}`, typ: "nope", want: ErrUnknownAgentType, message: "nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			typ := tc.typ
			if typ == "" {
				typ = "test"
			}
			_, err := c.Execute(testCtx(t), &Task{WorkOrderID: "WO-3", AgentType: typ, Payload: []byte(tc.payload)}, nil)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.message) || Retryable(err) {
				t.Fatalf("err %v, want %v with %q", err, tc.want, tc.message)
			}
			var ae *AgentError
			if errors.As(err, &ae) && ae.Invalid != tc.invalid {
				t.Fatalf("invalid = %v", ae.Invalid)
			}
		})
	}
	// A non-zero exit status is a result, not an error.
	res, err := c.Execute(testCtx(t), &Task{WorkOrderID: "WO-4", AgentType: "test", Payload: []byte(`{"mode":"exit","exit_status":2}`)}, nil)
	if err != nil || res.ExitStatus != 2 {
		t.Fatalf("exit: %+v, %v", res, err)
	}
	// The process survived all of it.
	if _, err := c.Describe(testCtx(t)); err != nil {
		t.Fatal(err)
	}
}

func TestInvalidTaskIsNotSent(t *testing.T) {
	c := launch(t, LaunchConfig{AgentType: "test"})
	for _, task := range []*Task{nil, {AgentType: "test"}, {WorkOrderID: "WO-1", AgentType: "Bad Type"}} {
		if _, err := c.Execute(testCtx(t), task, nil); !errors.Is(err, ErrInvalidTask) {
			t.Errorf("%+v: %v", task, err)
		}
	}
}

func TestCrashFailsTheCallsInFlight(t *testing.T) {
	c := launch(t, LaunchConfig{AgentType: "test"})
	started := make(chan struct{}, 3)
	errc := make(chan error, 3)
	for i := range 3 {
		go func() {
			_, err := c.Execute(testCtx(t), &Task{WorkOrderID: "WO-" + strconv.Itoa(i), AgentType: "test",
				Payload: []byte(`{"mode":"hang"}`)}, func(Event) { started <- struct{}{} })
			errc <- err
		}()
	}
	for range 3 {
		<-started
	}
	_, err := c.Execute(testCtx(t), &Task{WorkOrderID: "WO-crash", AgentType: "test", Payload: []byte(`{"mode":"crash","exit_status":7}`)}, nil)
	var crash *CrashError
	if !errors.As(err, &crash) || !errors.Is(err, ErrPluginCrashed) || !Retryable(err) || crash.PID != c.PID() {
		t.Fatalf("crashing call: %v", err)
	}
	for range 3 {
		if err := <-errc; !errors.As(err, &crash) || !strings.Contains(crash.Error(), "exit status 7") {
			t.Fatalf("held call: %v", err)
		}
	}
	<-c.Done()
	if err := c.Crashed(); err == nil {
		t.Fatal("Crashed() is nil after a crash")
	}
	if _, err := c.Execute(testCtx(t), &Task{WorkOrderID: "WO-5", AgentType: "test"}, nil); !errors.Is(err, ErrPluginCrashed) {
		t.Fatalf("call after the crash: %v", err)
	}
}

func TestVersionMismatchIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name     string
		path     string
		versions []int
		plugin   int
	}{
		{name: "plugin too new", path: futurePlugin(t), plugin: 99},
		// go-plugin names the oldest version of a plugin that offers several.
		{name: "host too new", path: testAgent(t), versions: []int{ProtocolVersion + 1}, plugin: ProtocolVersionExecute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logger, _ := newLogger(t)
			c, err := Launch(testCtx(t), LaunchConfig{Path: tc.path, Versions: tc.versions, Logger: logger})
			if err == nil {
				_ = c.Close()
				t.Fatal("launched")
			}
			var ve *VersionError
			if !errors.Is(err, ErrVersionMismatch) || !errors.As(err, &ve) || ve.Plugin != tc.plugin {
				t.Fatalf("err %v", err)
			}
			host := SupportedVersions()
			if tc.versions != nil {
				host = tc.versions
			}
			msg := err.Error()
			if !strings.Contains(msg, fmt.Sprintf("version %d", tc.plugin)) || !strings.Contains(msg, fmt.Sprintf("speaks version %d", host[0])) {
				t.Fatalf("the error does not name both versions: %s", msg)
			}
		})
	}
}

func TestLaunchFailures(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "hive-agent-chatty")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho not a handshake\nsleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	quits := filepath.Join(dir, "hive-agent-quits")
	if err := os.WriteFile(quits, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(dir, "missing"), dir, script, quits} {
		c, err := Launch(testCtx(t), LaunchConfig{Path: path, StartTimeout: 10 * time.Second})
		if err == nil {
			_ = c.Close()
			t.Fatalf("%s launched", path)
		}
		t.Logf("%s: %v", filepath.Base(path), err)
	}
	// A cancelled launch stops at once.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Launch(ctx, LaunchConfig{Path: script}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled launch: %v", err)
	}
}

// TestCrashNoticedWhileAChildHoldsTheOutput: a plugin that dies leaving a
// child that holds its stdout and stderr open is noticed at once, and its
// Client closes anyway.
func TestCrashNoticedWhileAChildHoldsTheOutput(t *testing.T) {
	c := launch(t, LaunchConfig{AgentType: "test"})
	pidFile := filepath.Join(t.TempDir(), "orphan")
	t.Cleanup(func() {
		if b, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(string(b)); err == nil {
				if p, err := os.FindProcess(pid); err == nil {
					_ = p.Kill()
					_, _ = p.Wait()
				}
			}
		}
	})
	_, err := c.Execute(testCtx(t), &Task{WorkOrderID: "WO-1", AgentType: "test",
		Payload: fmt.Appendf(nil, `{"mode":"crash","orphan_pid_file":%q}`, pidFile)}, nil)
	if !errors.Is(err, ErrPluginCrashed) {
		t.Fatalf("Execute: %v", err)
	}
	closed := make(chan struct{})
	go func() {
		<-c.Done()
		_ = c.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(time.Minute): // the orphan sleeps for ten
		t.Fatal("the crash went unnoticed while the orphan holds the pipes")
	}
}

// TestLaunchTempDir runs a plugin where the system's temporary directory
// does not exist (as in a FROM scratch image): it fails to start without
// LaunchConfig.TempDir, and with it starts, keeps go-plugin's socket
// directory there and gets it as its TMPDIR.
func TestLaunchTempDir(t *testing.T) {
	path := testAgent(t)
	dir := t.TempDir()
	t.Setenv("TMPDIR", filepath.Join(dir, "missing"))
	if c, err := Launch(testCtx(t), LaunchConfig{Path: path}); err == nil {
		_ = c.Close()
		t.Fatal("launched without a temporary directory")
	}
	c := launch(t, LaunchConfig{Path: path, TempDir: dir})
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	sockets := 0
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), "plugin-dir") {
			sockets++
		}
	}
	if sockets != 1 {
		t.Fatalf("%d socket directories in the temporary directory: %v", sockets, entries)
	}
	if runtime.GOOS != "linux" {
		return // the environment is read from /proc
	}
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", c.PID()))
	if err != nil {
		t.Fatal(err)
	}
	if vars := strings.Split(string(env), "\x00"); !slices.Contains(vars, "TMPDIR="+dir) {
		t.Fatalf("the plugin's environment has no TMPDIR=%s: %q", dir, vars)
	}
}
