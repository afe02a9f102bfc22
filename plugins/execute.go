package plugins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	pb "github.com/hive-swarm/hive/plugins/proto"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Execute runs task on the plugin and returns its result. onEvent, when
// not nil, receives every progress and log event in the order the plugin
// sent them, on the calling goroutine; a slow onEvent slows the plugin
// down (the stream has flow control), it never loses events.
//
// The result is verified before it is returned: events numbered without
// gaps, exactly one result as the last message, and digests that match
// the log lines received and the result's content (else ErrProtocol). A
// non-zero ExitStatus is a failed run with evidence, not an error.
//
// Errors: *AgentError (ErrAgentFailed) when the agent refused or failed
// the task; *CrashError (ErrPluginCrashed) when the process died or the
// connection broke; ErrUnknownAgentType; ErrClosed; and the context's
// error (context.Canceled, context.DeadlineExceeded) when ctx ended or
// task.Deadline passed. Cancelling ctx cancels the context of the
// plugin's handler.
func (c *Client) Execute(ctx context.Context, task *Task, onEvent func(Event)) (*Result, error) {
	if err := task.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidTask, err)
	}
	if !task.Deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, task.Deadline)
		defer cancel()
	}
	ctx, end, err := c.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer end()

	stream, err := c.rpc.Execute(ctx, &pb.ExecuteRequest{Task: task.Proto()})
	if err != nil {
		return nil, c.callError(ctx, task, err)
	}
	var (
		logs = NewLogDigester()
		seq  uint64
		res  *Result
	)
	for {
		msg, err := stream.Recv()
		if err == io.EOF {
			if res == nil {
				return nil, c.protocolError(task, "the stream ended without a result")
			}
			return res, nil
		}
		if err != nil {
			return nil, c.callError(ctx, task, err)
		}
		seq++
		switch {
		case msg.GetSeq() != seq:
			return nil, c.protocolError(task, fmt.Sprintf("event %d arrived as number %d", msg.GetSeq(), seq))
		case res != nil:
			return nil, c.protocolError(task, "an event followed the result")
		}
		if pr, ok := msg.GetEvent().(*pb.ExecuteEvent_Result); ok {
			r, err := ResultFromProto(pr.Result)
			if err != nil {
				return nil, c.protocolError(task, err.Error())
			}
			if err := r.Verify(logs.Sum()); err != nil {
				return nil, fmt.Errorf("plugin %s, task %s: %w", c.path, task.WorkOrderID, err)
			}
			res = r
			continue
		}
		ev, ok := eventFromProto(msg)
		if !ok {
			return nil, c.protocolError(task, fmt.Sprintf("event %d is empty", seq))
		}
		if ev.Kind == EventLog {
			logs.Add(ev.Log)
		} else {
			ev.Progress.Percent = clampPercent(ev.Progress.Percent)
		}
		if onEvent != nil {
			onEvent(ev)
		}
	}
}

// clampPercent puts a plugin's completion estimate into [0, 100].
func clampPercent(p float64) float64 {
	switch {
	case math.IsNaN(p) || p < 0:
		return 0
	case p > 100:
		return 100
	}
	return p
}

func (c *Client) protocolError(task *Task, what string) error {
	return fmt.Errorf("%w: plugin %s, task %s: %s", ErrProtocol, c.path, task.WorkOrderID, what)
}

// callError classifies the error of a call whose context is ctx (from
// begin). task is nil for Describe.
func (c *Client) callError(ctx context.Context, task *Task, err error) error {
	if ctx.Err() != nil {
		return c.contextError(ctx, task)
	}
	var wo, typ string
	if task != nil {
		wo, typ = task.WorkOrderID, task.AgentType
	}
	if st, ok := status.FromError(err); ok {
		switch st.Code() {
		case codes.Aborted:
			return &AgentError{AgentType: typ, WorkOrderID: wo, Message: st.Message()}
		case codes.InvalidArgument:
			return &AgentError{AgentType: typ, WorkOrderID: wo, Message: st.Message(), Invalid: true}
		case codes.Unimplemented:
			return fmt.Errorf("%w: plugin %s: %s", ErrUnknownAgentType, c.path, st.Message())
		}
	}
	// The connection broke. A dead process explains why; give it a moment
	// to be reaped so that the error can say how it ended.
	t := time.NewTimer(crashWait)
	defer t.Stop()
	select {
	case <-c.r.done:
	case <-ctx.Done():
	case <-t.C:
	}
	if ctx.Err() != nil {
		return c.contextError(ctx, task)
	}
	select {
	case <-c.r.done:
		c.mu.Lock()
		crash := c.crashLocked()
		c.mu.Unlock()
		if crash == nil {
			return ErrClosed
		}
		return crash
	default:
	}
	return &CrashError{AgentType: c.agentType, Path: c.path, PID: c.PID(), Err: fmt.Errorf("connection lost: %w", err)}
}

// contextError is the error of a call whose context ended: the crash or
// Close that ended it, or the caller's cancellation or deadline.
func (c *Client) contextError(ctx context.Context, task *Task) error {
	cause := context.Cause(ctx)
	var crash *CrashError
	if errors.As(cause, &crash) || errors.Is(cause, ErrClosed) {
		return cause
	}
	if task == nil {
		return cause
	}
	return fmt.Errorf("task %s: %w", task.WorkOrderID, cause)
}
