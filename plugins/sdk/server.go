package sdk

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hive-swarm/hive/plugins"
	pb "github.com/hive-swarm/hive/plugins/proto"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// server adapts an Agent to the gRPC service.
type server struct {
	pb.UnimplementedAgentServer

	agent  Agent
	desc   Description
	logger hclog.Logger
	probes bool
}

func newServer(agent Agent, desc Description, logger hclog.Logger, probes bool) *server {
	if probes {
		desc.Features = append(slices.Clone(desc.Features), plugins.FeatureConformanceProbes)
	}
	return &server{agent: agent, desc: desc, logger: logger, probes: probes}
}

func (s *server) Describe(context.Context, *pb.DescribeRequest) (*pb.DescribeResponse, error) {
	return s.desc.Proto(), nil
}

func (s *server) Execute(req *pb.ExecuteRequest, stream pb.Agent_ExecuteServer) error {
	rep := newReporter(streamSink{stream})
	res, err := s.run(stream.Context(), plugins.TaskFromProto(req.GetTask()), rep)
	if err != nil {
		return err
	}
	return rep.finish(res)
}

// run runs task in a handler whose context ends with call's, its events
// going to rep. It returns the result to finish rep with, or the status
// error that ends the task instead.
func (s *server) run(call context.Context, task *Task, rep *reporter) (*Result, error) {
	ctx, cancel := taskContext(call, task.Deadline)
	defer cancel()
	handler := s.agent.Execute
	switch {
	case task.AgentType == plugins.ProbeAgentType && s.probes:
		handler = s.probe
	case s.desc.Type(task.AgentType) == nil:
		names := make([]string, len(s.desc.Types))
		for i, t := range s.desc.Types {
			names[i] = t.Name
		}
		return nil, status.Errorf(codes.Unimplemented, "%s does not offer agent type %q (it offers %s)",
			s.desc.Name, task.AgentType, strings.Join(names, ", "))
	}
	logger := s.logger.With("work_order", task.WorkOrderID, "attempt", task.Attempt, "agent_type", task.AgentType)
	ctx = withLogger(ctx, logger)

	start := time.Now()
	res, err := callHandler(ctx, handler, task, rep, logger)
	if err == nil {
		if res == nil {
			res = &Result{}
		}
		if verr := res.Validate(); verr != nil {
			err = fmt.Errorf("the agent returned an invalid result: %w", verr)
		}
	}
	if err != nil {
		rep.abandon()
		logger.Debug("task ended without a result", "error", err, "duration", time.Since(start).String())
		return nil, statusOf(ctx, err)
	}
	logger.Debug("task done", "exit_status", res.ExitStatus, "duration", time.Since(start).String())
	return res, nil
}

// taskContext is the context of a task's handler: the call's, ended at
// the task's deadline by the plugin's own timer, so that the handler sees
// context.DeadlineExceeded rather than the host's cancellation that
// follows its own timer a moment later.
func taskContext(call context.Context, deadline time.Time) (context.Context, context.CancelFunc) {
	if deadline.IsZero() {
		return context.WithCancel(call)
	}
	ctx, cancel := context.WithDeadline(context.WithoutCancel(call), deadline)
	stop := context.AfterFunc(call, func() {
		if time.Now().Before(deadline) {
			cancel()
		}
	})
	return ctx, func() {
		stop()
		cancel()
	}
}

// callHandler runs the handler, turning a panic into an error so that one bad
// task does not take down the tasks sharing the process.
func callHandler(ctx context.Context, handler func(context.Context, *Task, Reporter) (*Result, error),
	task *Task, rep Reporter, logger hclog.Logger) (res *Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			logger.Error("agent panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			res, err = nil, fmt.Errorf("agent panicked: %v", p)
		}
	}()
	return handler(ctx, task, rep)
}

// statusOf maps a handler's error to the protocol's status codes.
func statusOf(ctx context.Context, err error) error {
	switch {
	case isInvalid(err):
		return status.Error(codes.InvalidArgument, err.Error())
	case ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		return status.FromContextError(ctx.Err()).Err()
	}
	return status.Error(codes.Aborted, err.Error())
}

// eventSink carries a task's events to the host.
type eventSink interface {
	// send sends ev; final marks the result, the task's last event.
	send(ev *pb.ExecuteEvent, final bool) error
}

// streamSink is the Execute call's stream (protocol version 1).
type streamSink struct{ stream pb.Agent_ExecuteServer }

func (s streamSink) send(ev *pb.ExecuteEvent, _ bool) error { return s.stream.Send(ev) }

// reporter numbers a task's events and sends them to its sink.
type reporter struct {
	sink eventSink

	mu   sync.Mutex
	seq  uint64
	logs *plugins.LogDigester
	done bool  // the handler returned: ignore further calls
	err  error // the first failed send
}

var _ Reporter = (*reporter)(nil)

func newReporter(sink eventSink) *reporter {
	return &reporter{sink: sink, logs: plugins.NewLogDigester()}
}

func (r *reporter) Progress(stage string, percent float64, message string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sendLocked(&pb.ExecuteEvent{Event: &pb.ExecuteEvent_Progress{Progress: &pb.Progress{
		Stage: stage, Percent: percent, Message: message,
	}}}, false)
}

func (r *reporter) Log(stream Stream, text string) {
	text = strings.TrimSuffix(text, "\n")
	r.mu.Lock()
	defer r.mu.Unlock()
	for line := range strings.SplitSeq(text, "\n") {
		if r.sendLocked(&pb.ExecuteEvent{Event: &pb.ExecuteEvent_Log{Log: &pb.LogLine{
			Stream: pb.Stream(stream), Line: line,
		}}}, false) {
			r.logs.Add(plugins.LogLine{Stream: stream, Line: line})
		}
	}
}

func (r *reporter) Logf(format string, args ...any) {
	r.Log(StreamAgent, fmt.Sprintf(format, args...))
}

// sendLocked numbers and sends ev, the last one when final; it reports
// whether ev was sent.
func (r *reporter) sendLocked(ev *pb.ExecuteEvent, final bool) bool {
	if r.done || r.err != nil {
		return false
	}
	r.seq++
	ev.Seq = r.seq
	ev.TimeUnixNano = time.Now().UnixNano()
	if err := r.sink.send(ev, final); err != nil {
		r.err = err
		return false
	}
	return true
}

// abandon ignores every later call.
func (r *reporter) abandon() {
	r.mu.Lock()
	r.done = true
	r.mu.Unlock()
}

// finish seals res with the digest of the lines sent and sends it as the
// last event.
func (r *reporter) finish(res *Result) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		r.done = true
		return r.err
	}
	res.Seal(r.logs.Sum())
	r.sendLocked(&pb.ExecuteEvent{Event: &pb.ExecuteEvent_Result{Result: res.Proto()}}, true)
	r.done = true
	return r.err
}
