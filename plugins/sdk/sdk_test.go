package sdk

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"github.com/hive-swarm/hive/plugins"
	pb "github.com/hive-swarm/hive/plugins/proto"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// These tests pair the SDK's server with a gRPC client in process, to pin
// what the server sends; the plugins and conformance packages test real
// plugin processes end to end.

// agentFunc is an Agent of one type, "t", whose Execute is a function.
type agentFunc func(ctx context.Context, task *Task, r Reporter) (*Result, error)

func (agentFunc) Describe() Description {
	return Description{Name: "test", Types: []AgentType{{Name: "t"}}}
}

func (f agentFunc) Execute(ctx context.Context, task *Task, r Reporter) (*Result, error) {
	return f(ctx, task, r)
}

// pairPlugin serves srv and dispenses a raw client of it.
type pairPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	srv *server
}

func (p *pairPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterAgentServer(s, p.srv)
	return nil
}

func (p *pairPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, cc *grpc.ClientConn) (any, error) {
	return pb.NewAgentClient(cc), nil
}

func pair(t *testing.T, a Agent, probes bool) pb.AgentClient {
	t.Helper()
	srv := newServer(a, a.Describe(), hclog.NewNullLogger(), probes)
	client, _ := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{"agent": &pairPlugin{srv: srv}})
	t.Cleanup(func() { _ = client.Close() }) // which stops the server too
	raw, err := client.Dispense("agent")
	if err != nil {
		t.Fatal(err)
	}
	return raw.(pb.AgentClient)
}

// execute runs one task and returns its events, or the call's error.
func execute(t *testing.T, c pb.AgentClient, task *Task) ([]*pb.ExecuteEvent, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stream, err := c.Execute(ctx, &pb.ExecuteRequest{Task: task.Proto()})
	if err != nil {
		return nil, err
	}
	var events []*pb.ExecuteEvent
	for {
		ev, err := stream.Recv()
		if err == io.EOF {
			return events, nil
		}
		if err != nil {
			return events, err
		}
		events = append(events, ev)
	}
}

func TestServerSealsTheResult(t *testing.T) {
	var late Reporter
	c := pair(t, agentFunc(func(_ context.Context, task *Task, r Reporter) (*Result, error) {
		r.Progress("one", 50, "half")
		r.Log(StreamStdout, "a\nb\n")
		r.Logf("n=%d", 3)
		late = r
		return &Result{ExitStatus: 1, Outputs: map[string]string{"k": "v"}}, nil
	}), false)
	events, err := execute(t, c, &Task{WorkOrderID: "WO-1", AgentType: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 5 {
		t.Fatalf("%d events", len(events))
	}
	for i, e := range events {
		if e.GetSeq() != uint64(i+1) || e.GetTimeUnixNano() == 0 {
			t.Fatalf("event %d: %v", i, e)
		}
	}
	res, err := plugins.ResultFromProto(events[4].GetResult())
	if err != nil {
		t.Fatal(err)
	}
	logs := plugins.LogDigest(
		plugins.LogLine{Stream: StreamStdout, Line: "a"},
		plugins.LogLine{Stream: StreamStdout, Line: "b"},
		plugins.LogLine{Stream: StreamAgent, Line: "n=3"})
	if err := res.Verify(logs); err != nil || res.ExitStatus != 1 {
		t.Fatalf("result %+v: %v", res, err)
	}
	// After Execute returned, the reporter is inert.
	late.Logf("too late")
	late.Progress("x", 1, "too late")
}

func TestServerErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		typ  string
		fn   agentFunc
		code codes.Code
		msg  string
	}{
		{"failure", "t", func(context.Context, *Task, Reporter) (*Result, error) { return nil, errors.New("broken") }, codes.Aborted, "broken"},
		{"invalid", "t", func(context.Context, *Task, Reporter) (*Result, error) { return nil, Invalidf("bad %s", "input") }, codes.InvalidArgument, "bad input"},
		{"wrapped invalid", "t", func(ctx context.Context, task *Task, _ Reporter) (*Result, error) {
			var v struct{}
			return nil, DecodePayload(task, &v)
		}, codes.InvalidArgument, "payload"},
		{"panic", "t", func(context.Context, *Task, Reporter) (*Result, error) { panic("boom") }, codes.Aborted, "panicked: boom"},
		{"bad result", "t", func(context.Context, *Task, Reporter) (*Result, error) {
			return &Result{Artifacts: []Artifact{{Name: "x"}}}, nil
		}, codes.Aborted, "no SHA-256"},
		{"unknown type", "other", nil, codes.Unimplemented, `"other"`},
		{"probes off", plugins.ProbeAgentType, nil, codes.Unimplemented, plugins.ProbeAgentType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := pair(t, tc.fn, false)
			_, err := execute(t, c, &Task{WorkOrderID: "WO-1", AgentType: tc.typ, Payload: []byte("{")})
			if st := status.Convert(err); st.Code() != tc.code || !strings.Contains(st.Message(), tc.msg) {
				t.Fatalf("err %v, want %s with %q", err, tc.code, tc.msg)
			}
		})
	}
}

func TestNilResultIsSuccess(t *testing.T) {
	c := pair(t, agentFunc(func(context.Context, *Task, Reporter) (*Result, error) { return nil, nil }), false)
	events, err := execute(t, c, &Task{WorkOrderID: "WO-1", AgentType: "t"})
	if err != nil || len(events) != 1 || events[0].GetResult().GetExitStatus() != 0 || len(events[0].GetResult().GetEvidenceDigest()) != 32 {
		t.Fatalf("%v, %v", events, err)
	}
}

func TestConcurrentReporting(t *testing.T) {
	c := pair(t, agentFunc(func(_ context.Context, _ *Task, r Reporter) (*Result, error) {
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 50 {
					r.Logf("line")
				}
			}()
		}
		wg.Wait()
		return &Result{}, nil
	}), false)
	events, err := execute(t, c, &Task{WorkOrderID: "WO-1", AgentType: "t"})
	if err != nil || len(events) != 401 {
		t.Fatalf("%d events, %v", len(events), err)
	}
}

func TestDeadlineReachesTheHandler(t *testing.T) {
	got := make(chan error, 1)
	c := pair(t, agentFunc(func(ctx context.Context, task *Task, _ Reporter) (*Result, error) {
		<-ctx.Done()
		got <- ctx.Err()
		return nil, ctx.Err()
	}), false)
	_, _ = execute(t, c, &Task{WorkOrderID: "WO-1", AgentType: "t", Deadline: time.Now().Add(50 * time.Millisecond)})
	if err := <-got; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the handler saw %v", err)
	}
}

func TestFileArtifact(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := FileArtifact("f", path)
	if err != nil || a.Size != 5 || a.SHA256 != Digest(sha256.Sum256([]byte("hello"))) || a.Path != path {
		t.Fatalf("%+v, %v", a, err)
	}
	if _, err := FileArtifact("g", filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("a missing file is an artifact")
	}
}

func TestLoggerOutsideATask(t *testing.T) {
	Logger(context.Background()).Info("discarded") // must not panic
}
