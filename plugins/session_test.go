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

	"github.com/hashicorp/go-hclog"
	pb "github.com/hive-swarm/hive/plugins/proto"
	"google.golang.org/grpc"
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

// TestSessionWindowOverrun: a plugin that sends more events of a task
// than the window allows fails that task with ErrProtocol, and the host
// tells it to cancel the task it gave up on. The plugin is a fake
// Session stream that ignores credit.
func TestSessionWindowOverrun(t *testing.T) {
	fake := &fakeSession{in: make(chan *pb.SessionEvent), sent: make(chan *pb.SessionRequest, 64)}
	base, baseCancel := context.WithCancel(context.Background())
	c := &Client{rpc: fakeAgent{sess: fake}, path: "fake", agentType: "test", version: ProtocolVersion,
		logger: hclog.NewNullLogger(), calls: make(map[uint64]context.CancelCauseFunc), base: base, baseCancel: baseCancel}
	t.Cleanup(func() { baseCancel(); c.wg.Wait() })

	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		var held bool
		_, err := c.Execute(testCtx(t), &Task{WorkOrderID: "WO-1", AgentType: "test"}, func(Event) {
			if !held {
				held = true
				<-release // let the task's queue fill up behind the first event
			}
		})
		done <- err
	}()
	next := func() *pb.SessionRequest {
		t.Helper()
		select {
		case m := <-fake.sent:
			return m
		case <-time.After(30 * time.Second):
			t.Fatal("the host sent nothing more")
			return nil
		}
	}
	start := next()
	if start.GetStart() == nil {
		t.Fatalf("first message %v, want a start", start)
	}
	id := start.GetTaskId()
	// One event held by the waiter, SessionWindow+1 filling the task's
	// queue, one too many, and one more: the host receives it only after
	// it dispatched (and refused) the one before, so the refusal happens
	// while the waiter is still held.
	for seq := range uint64(SessionWindow + 4) {
		fake.in <- &pb.SessionEvent{TaskId: id, Kind: &pb.SessionEvent_Event{Event: &pb.ExecuteEvent{
			Seq: seq + 1, Event: &pb.ExecuteEvent_Log{Log: &pb.LogLine{Line: "x"}}}}}
	}
	close(release)
	if err := <-done; !errors.Is(err, ErrProtocol) {
		t.Fatalf("overrun task: %v, want ErrProtocol", err)
	}
	for {
		m := next()
		if m.GetCancel() != nil {
			if m.GetTaskId() != id {
				t.Fatalf("cancel of task %d, want %d", m.GetTaskId(), id)
			}
			return
		}
		if m.GetCredit() == nil {
			t.Fatalf("unexpected message %v", m)
		}
	}
}

// fakeAgent is a plugin connection whose Session is fake.
type fakeAgent struct {
	pb.AgentClient
	sess *fakeSession
}

func (a fakeAgent) Session(ctx context.Context, _ ...grpc.CallOption) (pb.Agent_SessionClient, error) {
	a.sess.ctx = ctx
	return a.sess, nil
}

// fakeSession is the plugin's end of a Session stream: it receives what
// in carries and keeps what the host sends in sent.
type fakeSession struct {
	grpc.ClientStream
	ctx  context.Context
	in   chan *pb.SessionEvent
	sent chan *pb.SessionRequest
}

func (f *fakeSession) Send(m *pb.SessionRequest) error {
	select {
	case f.sent <- m:
		return nil
	case <-f.ctx.Done():
		return f.ctx.Err()
	}
}

func (f *fakeSession) Recv() (*pb.SessionEvent, error) {
	select {
	case m := <-f.in:
		return m, nil
	case <-f.ctx.Done():
		return nil, f.ctx.Err()
	}
}
