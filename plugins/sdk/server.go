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
	task := plugins.TaskFromProto(req.GetTask())
	ctx, cancel := taskContext(stream.Context(), task.Deadline)
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
		return status.Errorf(codes.Unimplemented, "%s does not offer agent type %q (it offers %s)",
			s.desc.Name, task.AgentType, strings.Join(names, ", "))
	}
	logger := s.logger.With("work_order", task.WorkOrderID, "attempt", task.Attempt, "agent_type", task.AgentType)
	ctx = withLogger(ctx, logger)
	rep := &reporter{stream: stream, logs: plugins.NewLogDigester()}

	start := time.Now()
	res, err := call(ctx, handler, task, rep, logger)
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
		return statusOf(ctx, err)
	}
	logger.Debug("task done", "exit_status", res.ExitStatus, "duration", time.Since(start).String())
	return rep.finish(res)
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

// call runs the handler, turning a panic into an error so that one bad
// task does not take down the tasks sharing the process.
func call(ctx context.Context, handler func(context.Context, *Task, Reporter) (*Result, error),
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

// reporter sends a task's events on its stream.
type reporter struct {
	stream pb.Agent_ExecuteServer

	mu   sync.Mutex
	seq  uint64
	logs *plugins.LogDigester
	done bool  // the handler returned: ignore further calls
	err  error // the first failed send
}

var _ Reporter = (*reporter)(nil)

func (r *reporter) Progress(stage string, percent float64, message string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sendLocked(&pb.ExecuteEvent{Event: &pb.ExecuteEvent_Progress{Progress: &pb.Progress{
		Stage: stage, Percent: percent, Message: message,
	}}})
}

func (r *reporter) Log(stream Stream, text string) {
	text = strings.TrimSuffix(text, "\n")
	r.mu.Lock()
	defer r.mu.Unlock()
	for line := range strings.SplitSeq(text, "\n") {
		if r.sendLocked(&pb.ExecuteEvent{Event: &pb.ExecuteEvent_Log{Log: &pb.LogLine{
			Stream: pb.Stream(stream), Line: line,
		}}}) {
			r.logs.Add(plugins.LogLine{Stream: stream, Line: line})
		}
	}
}

func (r *reporter) Logf(format string, args ...any) {
	r.Log(StreamAgent, fmt.Sprintf(format, args...))
}

// sendLocked numbers and sends ev; it reports whether ev was sent.
func (r *reporter) sendLocked(ev *pb.ExecuteEvent) bool {
	if r.done || r.err != nil {
		return false
	}
	r.seq++
	ev.Seq = r.seq
	ev.TimeUnixNano = time.Now().UnixNano()
	if err := r.stream.Send(ev); err != nil {
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
	r.sendLocked(&pb.ExecuteEvent{Event: &pb.ExecuteEvent_Result{Result: res.Proto()}})
	r.done = true
	return r.err
}
