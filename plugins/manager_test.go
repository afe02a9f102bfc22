package plugins

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// newManager starts a Manager of the test agent as agent type "test",
// closed at the end of the test.
func newManager(t *testing.T, mutate func(*Config)) (*Manager, *logSink) {
	t.Helper()
	logger, sink := newLogger(t)
	cfg := DefaultConfig()
	cfg.Logger = logger
	cfg.Agents["test"] = AgentConfig{Path: testAgent(t), Config: []byte(`{"from":"config"}`)}
	cfg.Backoff = Backoff{Initial: 50 * time.Millisecond, Max: time.Second, ResetAfter: time.Minute}
	if mutate != nil {
		mutate(&cfg)
	}
	m, err := NewManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	if err := m.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	return m, sink
}

func statusOf(t *testing.T, m *Manager, typ string) Status {
	t.Helper()
	for _, s := range m.Status() {
		if s.AgentType == typ {
			return s
		}
	}
	t.Fatalf("no status of %q", typ)
	return Status{}
}

func TestManagerExecute(t *testing.T) {
	m, _ := newManager(t, nil)
	res, err := m.Execute(testCtx(t), &Task{WorkOrderID: "WO-1", AgentType: "test", Payload: []byte(`{"mode":"echo"}`)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outputs["config"] != `{"from":"config"}` {
		t.Fatalf("the type's config was not sent: %v", res.Outputs)
	}
	st := statusOf(t, m, "test")
	if st.State != StateReady || st.PID == 0 || st.Capacity != DefaultCapacity || st.Running != 0 ||
		st.Type == nil || st.Plugin != "hive-agent-test" || st.ProtocolVersion != ProtocolVersion {
		t.Fatalf("status %+v", st)
	}
	if _, err := m.Execute(testCtx(t), &Task{WorkOrderID: "WO-2", AgentType: "nope"}, nil); !errors.Is(err, ErrUnknownAgentType) {
		t.Fatalf("unknown type: %v", err)
	}
}

// TestManagerSharesOneProcess runs many tasks at once through one process
// up to the capacity, and no further.
func TestManagerSharesOneProcess(t *testing.T) {
	m, _ := newManager(t, func(c *Config) {
		a := c.Agents["test"]
		a.Capacity = 3
		c.Agents["test"] = a
	})
	pid := statusOf(t, m, "test").PID
	ctx, cancel := context.WithCancel(testCtx(t))
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := m.Execute(ctx, &Task{WorkOrderID: "WO-" + strconv.Itoa(i), AgentType: "test", Payload: []byte(`{"mode":"hang"}`)}, nil)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("hang %d: %v", i, err)
			}
		}()
	}
	waitFor(t, 30*time.Second, "three running tasks", func() error {
		if st := statusOf(t, m, "test"); st.Running != 3 {
			return fmt.Errorf("%d running", st.Running)
		}
		return nil
	})
	// A fourth waits for a slot: it gives up when its context ends.
	short, cancelShort := context.WithTimeout(testCtx(t), 100*time.Millisecond)
	defer cancelShort()
	if _, err := m.Execute(short, &Task{WorkOrderID: "WO-4", AgentType: "test"}, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("over capacity: %v", err)
	}
	cancel()
	wg.Wait()
	// Many short tasks at once, all in the same process.
	errs := make(chan error, 50)
	for i := range 50 {
		go func() {
			_, err := m.Execute(testCtx(t), &Task{WorkOrderID: "WO-" + strconv.Itoa(100+i), AgentType: "test"}, nil)
			errs <- err
		}()
	}
	for range 50 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if st := statusOf(t, m, "test"); st.PID != pid || st.Restarts != 0 {
		t.Fatalf("the process changed: %+v", st)
	}
}

// TestManagerRestartsACrashedPlugin crashes the plugin while it holds
// tasks: every held task fails with ErrPluginCrashed, the plugin comes
// back with backoff that doubles on each consecutive crash, and tasks run
// again.
func TestManagerRestartsACrashedPlugin(t *testing.T) {
	const initial = 100 * time.Millisecond
	m, sink := newManager(t, func(c *Config) {
		c.Backoff = Backoff{Initial: initial, Max: 10 * initial, ResetAfter: time.Hour}
	})
	pids := map[int]bool{}
	for crash := 1; crash <= 3; crash++ {
		st := statusOf(t, m, "test")
		if pids[st.PID] {
			t.Fatalf("crash %d: pid %d was used before", crash, st.PID)
		}
		pids[st.PID] = true

		// Two tasks hold the process when a third crashes it.
		started := make(chan struct{}, 2)
		held := make(chan error, 2)
		for i := range 2 {
			go func() {
				_, err := m.Execute(testCtx(t), &Task{WorkOrderID: fmt.Sprintf("WO-%d-%d", crash, i), AgentType: "test",
					Payload: []byte(`{"mode":"hang"}`)}, func(Event) { started <- struct{}{} })
				held <- err
			}()
		}
		<-started
		<-started
		_, err := m.Execute(testCtx(t), &Task{WorkOrderID: fmt.Sprintf("WO-%d-crash", crash), AgentType: "test",
			Payload: []byte(`{"mode":"crash","exit_status":5}`)}, nil)
		var ce *CrashError
		if !errors.As(err, &ce) || ce.AgentType != "test" || ce.PID != st.PID || !Retryable(err) {
			t.Fatalf("crash %d: the crashing task: %v", crash, err)
		}
		for range 2 {
			if err := <-held; !errors.Is(err, ErrPluginCrashed) || !strings.Contains(err.Error(), "exit status 5") {
				t.Fatalf("crash %d: a held task: %v", crash, err)
			}
		}

		// Restarted after a backoff that doubles on every consecutive crash.
		want := initial << (crash - 1)
		waitFor(t, 30*time.Second, "the crash to be noticed", func() error {
			if st = statusOf(t, m, "test"); st.Restarts != crash {
				return fmt.Errorf("%d restarts", st.Restarts)
			}
			return nil
		})
		if st.Backoff != want {
			t.Fatalf("crash %d: backoff %s, want %s", crash, st.Backoff, want)
		}
		if st.State == StateBackoff && time.Until(st.NextStart) > want/2 {
			// Meanwhile tasks fail fast, so that they can go elsewhere.
			_, err := m.Execute(testCtx(t), &Task{WorkOrderID: "WO-meanwhile", AgentType: "test"}, nil)
			if !errors.Is(err, ErrPluginUnavailable) || !Retryable(err) {
				t.Fatalf("crash %d: a task during the backoff: %v", crash, err)
			}
		}
		if err := m.WaitReady(testCtx(t), "test"); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Execute(testCtx(t), &Task{WorkOrderID: fmt.Sprintf("WO-%d-after", crash), AgentType: "test"}, nil); err != nil {
			t.Fatalf("crash %d: a task after the restart: %v", crash, err)
		}
	}
	if _, ok := sink.find("plugin crashed; its tasks failed", "exit status 5"); !ok {
		t.Error("the crash was not logged")
	}
}

// TestManagerKillIsACrash: a process killed from outside while idle is
// noticed and restarted too.
func TestManagerKillIsACrash(t *testing.T) {
	m, _ := newManager(t, nil)
	pid := statusOf(t, m, "test").PID
	p, err := os.FindProcess(pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "a new process", func() error {
		st := statusOf(t, m, "test")
		if st.State != StateReady || st.PID == pid {
			return fmt.Errorf("state %s, pid %d, last error %s", st.State, st.PID, st.LastError)
		}
		if st.Restarts != 1 {
			return fmt.Errorf("%d restarts", st.Restarts)
		}
		return nil
	})
}

func TestManagerClose(t *testing.T) {
	m, _ := newManager(t, nil)
	errc := make(chan error, 1)
	started := make(chan struct{}, 1)
	go func() {
		_, err := m.Execute(testCtx(t), &Task{WorkOrderID: "WO-1", AgentType: "test", Payload: []byte(`{"mode":"hang"}`)},
			func(Event) { started <- struct{}{} })
		errc <- err
	}()
	<-started
	pid := statusOf(t, m, "test").PID
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("held task: %v", err)
	}
	if _, err := m.Execute(testCtx(t), &Task{WorkOrderID: "WO-2", AgentType: "test"}, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	if p, err := os.FindProcess(pid); err == nil {
		if err := p.Signal(syscall.Signal(0)); !errors.Is(err, os.ErrProcessDone) {
			t.Fatalf("the plugin process %d is still there after Close: %v", pid, err)
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if st := statusOf(t, m, "test"); st.State != StateStopped {
		t.Fatalf("after Close: %+v", st)
	}
}

func TestManagerStartFailure(t *testing.T) {
	dir := t.TempDir()
	quits := filepath.Join(dir, "hive-agent-quits")
	if err := os.WriteFile(quits, []byte("#!/bin/sh\necho 'cannot start' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	logger, _ := newLogger(t)
	cfg := DefaultConfig()
	cfg.Logger = logger
	cfg.PluginDir = dir
	cfg.Backoff = Backoff{Initial: time.Hour, Max: time.Hour}
	m, err := NewManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if got := m.Types(); len(got) != 1 || got[0] != "quits" {
		t.Fatalf("types %v", got)
	}
	if err := m.Start(testCtx(t)); err == nil || !strings.Contains(err.Error(), `"quits"`) {
		t.Fatalf("Start: %v", err)
	}
	st := statusOf(t, m, "quits")
	if st.State != StateBackoff || st.LastError == "" || st.NextStart.IsZero() {
		t.Fatalf("status %+v", st)
	}
	_, err = m.Execute(testCtx(t), &Task{WorkOrderID: "WO-1", AgentType: "quits"}, nil)
	if !errors.Is(err, ErrPluginUnavailable) {
		t.Fatalf("Execute: %v", err)
	}
	short, cancel := context.WithTimeout(testCtx(t), 50*time.Millisecond)
	defer cancel()
	if err := m.WaitReady(short, "quits"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitReady: %v", err)
	}
}

func TestManagerRefusesAPluginWithoutTheType(t *testing.T) {
	logger, _ := newLogger(t)
	cfg := DefaultConfig()
	cfg.Logger = logger
	cfg.Agents["other"] = AgentConfig{Path: testAgent(t)}
	cfg.Backoff.Initial = time.Hour
	cfg.Backoff.Max = time.Hour
	m, err := NewManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Start(testCtx(t)); !errors.Is(err, ErrUnknownAgentType) || !strings.Contains(err.Error(), `"other"`) {
		t.Fatalf("Start: %v", err)
	}
}
