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

	if c.version >= ProtocolVersion {
		return c.executeSession(ctx, task, onEvent)
	}
	return c.executeStream(ctx, task, onEvent)
}

// executeStream runs task on its own Execute call (protocol version 1).
func (c *Client) executeStream(ctx context.Context, task *Task, onEvent func(Event)) (*Result, error) {
	stream, err := c.rpc.Execute(ctx, &pb.ExecuteRequest{Task: task.Proto()})
	if err != nil {
		return nil, c.callError(ctx, task, err)
	}
	k := newEventChecker(c, task)
	for {
		msg, err := stream.Recv()
		if err == io.EOF {
			if k.res == nil {
				return nil, c.protocolError(task, "the stream ended without a result")
			}
			return k.res, nil
		}
		if err != nil {
			return nil, c.callError(ctx, task, err)
		}
		ev, err := k.add(msg)
		if err != nil {
			return nil, err
		}
		if k.res == nil && onEvent != nil {
			onEvent(ev)
		}
	}
}

// eventChecker verifies one task's events as they arrive: numbered
// without gaps, nothing after the result, digests that match.
type eventChecker struct {
	c    *Client
	task *Task
	logs *LogDigester
	seq  uint64
	res  *Result // the verified result, once it arrived
}

func newEventChecker(c *Client, task *Task) *eventChecker {
	return &eventChecker{c: c, task: task, logs: NewLogDigester()}
}

// add checks the next message. It returns the event to hand on, or
// nothing for the result, which it verifies and keeps in k.res (so an
// event is to be handed on while k.res is nil).
func (k *eventChecker) add(msg *pb.ExecuteEvent) (Event, error) {
	k.seq++
	switch {
	case msg.GetSeq() != k.seq:
		return Event{}, k.c.protocolError(k.task, fmt.Sprintf("event %d arrived as number %d", msg.GetSeq(), k.seq))
	case k.res != nil:
		return Event{}, k.c.protocolError(k.task, "an event followed the result")
	}
	if pr, isResult := msg.GetEvent().(*pb.ExecuteEvent_Result); isResult {
		r, err := ResultFromProto(pr.Result)
		if err != nil {
			return Event{}, k.c.protocolError(k.task, err.Error())
		}
		if err := r.Verify(k.logs.Sum()); err != nil {
			return Event{}, fmt.Errorf("plugin %s, task %s: %w", k.c.path, k.task.WorkOrderID, err)
		}
		k.res = r
		return Event{}, nil
	}
	ev, ok := eventFromProto(msg)
	if !ok {
		return Event{}, k.c.protocolError(k.task, fmt.Sprintf("event %d is empty", k.seq))
	}
	if ev.Kind == EventLog {
		k.logs.Add(ev.Log)
	} else {
		ev.Progress.Percent = clampPercent(ev.Progress.Percent)
	}
	return ev, nil
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
		if err := c.statusError(st.Code(), st.Message(), typ, wo); err != nil {
			return err
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

// statusError is the error of a call that the plugin ended with the
// status code, or nil for a code that does not say the agent's own word.
func (c *Client) statusError(code codes.Code, msg, typ, wo string) error {
	switch code {
	case codes.Aborted:
		return &AgentError{AgentType: typ, WorkOrderID: wo, Message: msg}
	case codes.InvalidArgument:
		return &AgentError{AgentType: typ, WorkOrderID: wo, Message: msg, Invalid: true}
	case codes.Unimplemented:
		return fmt.Errorf("%w: plugin %s: %s", ErrUnknownAgentType, c.path, msg)
	}
	return nil
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
