package sdk

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/hive-swarm/hive/plugins"
	pb "github.com/hive-swarm/hive/plugins/proto"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// sessionQueue bounds the plugin's messages waiting for the sender.
const sessionQueue = 256

// session is the plugin's side of one Session stream (protocol version
// 2). The Session handler's goroutine receives the host's messages and
// never blocks: a start runs the task on a goroutine of its own, a
// cancel cancels its context, a credit returns events to its window. One
// goroutine sends the plugin's messages.
//
// Nothing grows without bound: a task's reporter waits while the task
// has SessionWindow events the host has not granted back (only that task
// waits), and every task waits for room in the bounded queue to the
// sender, which waits for the host to read (gRPC flow control).
type session struct {
	srv *server
	ctx context.Context // ends with the stream
	out chan *pb.SessionEvent
	wg  sync.WaitGroup // the task goroutines

	mu    sync.Mutex
	tasks map[uint64]*sessionTask
}

// sessionTask is one task of a session; it is the task's event sink.
type sessionTask struct {
	sess   *session
	id     uint64
	ctx    context.Context // ends when the host cancels the task or the session ends
	cancel context.CancelFunc
	used   chan struct{} // one element per event not granted back yet
}

// Session serves the tasks of one host connection (protocol version 2).
func (s *server) Session(stream pb.Agent_SessionServer) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	ss := &session{srv: s, ctx: ctx, out: make(chan *pb.SessionEvent, sessionQueue), tasks: make(map[uint64]*sessionTask)}
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		ss.sendLoop(stream, cancel)
	}()
	err := ss.receiveLoop(stream)
	// The host is gone, or stopped the session: its tasks end with it.
	cancel()
	ss.wg.Wait()
	<-sent
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// sendLoop is the only goroutine that sends on the stream; it runs until
// the session ends.
func (ss *session) sendLoop(stream pb.Agent_SessionServer, cancel context.CancelFunc) {
	for {
		select {
		case m := <-ss.out:
			if err := stream.Send(m); err != nil {
				ss.srv.logger.Debug("session send failed", "error", err)
				cancel()
				return
			}
		case <-ss.ctx.Done():
			return
		}
	}
}

// receiveLoop handles the host's messages until the stream ends.
func (ss *session) receiveLoop(stream pb.Agent_SessionServer) error {
	for {
		req, err := stream.Recv()
		if err != nil {
			return err
		}
		id := req.GetTaskId()
		switch r := req.GetRequest().(type) {
		case *pb.SessionRequest_Start:
			ss.start(id, plugins.TaskFromProto(r.Start.GetTask()))
		case *pb.SessionRequest_Cancel:
			if t := ss.task(id); t != nil {
				t.cancel()
			}
		case *pb.SessionRequest_Credit:
			if t := ss.task(id); t != nil {
				t.grant(r.Credit.GetEvents())
			}
		}
	}
}

func (ss *session) task(id uint64) *sessionTask {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.tasks[id]
}

// start runs a task on a goroutine of its own.
func (ss *session) start(id uint64, task *Task) {
	ctx, cancel := context.WithCancel(ss.ctx)
	t := &sessionTask{sess: ss, id: id, ctx: ctx, cancel: cancel, used: make(chan struct{}, plugins.SessionWindow)}
	ss.mu.Lock()
	_, dup := ss.tasks[id]
	if !dup {
		ss.tasks[id] = t
	}
	ss.mu.Unlock()
	ss.wg.Add(1)
	go func() {
		defer ss.wg.Done()
		defer cancel()
		if dup {
			ss.fail(id, status.Errorf(codes.InvalidArgument, "task id %d is already running on this session", id))
			return
		}
		rep := newReporter(t)
		res, err := ss.srv.run(ctx, task, rep)
		if err == nil {
			err = rep.finish(res) // sends the result
		}
		ss.mu.Lock()
		delete(ss.tasks, id)
		ss.mu.Unlock()
		if err != nil {
			ss.fail(id, err)
		}
	}()
}

// fail ends task id without a result.
func (ss *session) fail(id uint64, err error) {
	st, ok := status.FromError(err)
	if !ok {
		st = status.FromContextError(err)
	}
	_ = ss.queue(&pb.SessionEvent{TaskId: id, Kind: &pb.SessionEvent_Failure{Failure: &pb.TaskFailure{
		Code: uint32(st.Code()), Message: st.Message(),
	}}})
}

// queue hands m to the sender; it fails once the session ended.
func (ss *session) queue(m *pb.SessionEvent) error {
	select {
	case ss.out <- m:
		return nil
	case <-ss.ctx.Done():
		return ss.ctx.Err()
	}
}

// send sends one of the task's events: a progress or log event waits
// for room in the task's window, the result needs none.
func (t *sessionTask) send(ev *pb.ExecuteEvent, final bool) error {
	if !final {
		select {
		case t.used <- struct{}{}:
		case <-t.ctx.Done():
			return t.ctx.Err()
		}
	}
	return t.sess.queue(&pb.SessionEvent{TaskId: t.id, Kind: &pb.SessionEvent_Event{Event: ev}})
}

// grant returns n events to the task's window.
func (t *sessionTask) grant(n uint32) {
	for range n {
		select {
		case <-t.used:
		default:
			return // more than was used: ignore the excess
		}
	}
}
