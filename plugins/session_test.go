package plugins

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// TestSessionSlowTaskDoesNotHoldUpOthers: a task whose events are
// consumed slowly (its window fills and the plugin waits for credit)
// does not stop other tasks on the same session from finishing, and
// still delivers every event in order.
func TestSessionSlowTaskDoesNotHoldUpOthers(t *testing.T) {
	c := launch(t, LaunchConfig{AgentType: "test"})
	if c.Version() != ProtocolVersion {
		t.Fatalf("version %d", c.Version())
	}
	release := make(chan struct{})
	var seen atomic.Int64
	slow := make(chan error, 1)
	go func() {
		const n = 10 * SessionWindow
		res, err := c.Execute(testCtx(t), &Task{WorkOrderID: "WO-slow", AgentType: "test",
			Payload: fmt.Appendf(nil, `{"mode":"stream","events":%d}`, n)}, func(Event) {
			if seen.Add(1) == 1 {
				<-release // hold the first event until the others are done
			}
		})
		if err == nil && (seen.Load() != int64(n) || res.Outputs["events"] != fmt.Sprint(n)) {
			err = fmt.Errorf("%d events, result %+v", seen.Load(), res)
		}
		slow <- err
	}()
	for i := range 50 {
		if _, err := c.Execute(testCtx(t), &Task{WorkOrderID: fmt.Sprintf("WO-%d", i), AgentType: "test",
			Payload: []byte(`{"mode":"stream","events":50}`)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	close(release)
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
}

// TestOldProtocolVersion: a host offering only version 1 and a plugin
// offering only version 1 both run tasks on per-task Execute calls, with
// events, results, agent errors, cancellation and crashes as on version 2.
func TestOldProtocolVersion(t *testing.T) {
	t.Run("host", func(t *testing.T) {
		c := launch(t, LaunchConfig{AgentType: "test", Versions: []int{ProtocolVersionExecute}})
		if c.Version() != ProtocolVersionExecute {
			t.Fatalf("version %d", c.Version())
		}
		var events int
		res, err := c.Execute(testCtx(t), &Task{WorkOrderID: "WO-1", AgentType: "test",
			Payload: []byte(`{"mode":"stream","events":100}`)}, func(Event) { events++ })
		if err != nil || events != 100 || res.Outputs["events"] != "100" {
			t.Fatalf("%d events, %+v, %v", events, res, err)
		}
		marker := filepath.Join(t.TempDir(), "cancelled")
		ctx, cancel := context.WithCancel(testCtx(t))
		_, err = c.Execute(ctx, &Task{WorkOrderID: "WO-2", AgentType: "test",
			Payload: fmt.Appendf(nil, `{"mode":"hang","marker":%q}`, marker)}, func(Event) { cancel() })
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled call: %v", err)
		}
		waitFor(t, 30*time.Second, "the cancellation to reach the plugin", func() error { _, err := os.Stat(marker); return err })
		_, err = c.Execute(testCtx(t), &Task{WorkOrderID: "WO-3", AgentType: "test",
			Payload: []byte(`{"mode":"crash","exit_status":7}`)}, nil)
		if !errors.Is(err, ErrPluginCrashed) {
			t.Fatalf("crash: %v", err)
		}
	})
	t.Run("plugin", func(t *testing.T) {
		p, err := bins.Package("./testdata/v1plugin", "hive-agent-v1")
		if err != nil {
			t.Fatal(err)
		}
		c := launch(t, LaunchConfig{Path: p, AgentType: "test"})
		if c.Version() != ProtocolVersionExecute {
			t.Fatalf("version %d", c.Version())
		}
		var lines []string
		res, err := c.Execute(testCtx(t), &Task{WorkOrderID: "WO-1", AgentType: "test", Payload: []byte("hi")},
			func(e Event) { lines = append(lines, e.Log.Line) })
		if err != nil || res.Outputs["payload"] != "hi" || len(lines) != 1 || lines[0] != "hi" {
			t.Fatalf("%v, %+v, %q", err, res, lines)
		}
		if _, err := c.Execute(testCtx(t), &Task{WorkOrderID: "WO-2", AgentType: "test", Payload: []byte("fail")}, nil); !errors.Is(err, ErrAgentFailed) {
			t.Fatalf("failing task: %v", err)
		}
	})
}
