package plugins

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	pb "github.com/hive-swarm/hive/plugins/proto"
	"google.golang.org/grpc/codes"
)

// hostSession is the host's side of one Session stream (protocol version
// 2): every task of the connection runs on it. One goroutine sends the
// host's messages in the order callers queue them; another receives the
// plugin's and hands each to its task's waiter.
//
// Nothing grows without bound. The plugin may send at most SessionWindow
// events of a task beyond what the task's waiter has consumed (it grants
// more with credit messages), so a task's queue holds at most
// SessionWindow events and its final message and the receiver never
// blocks on a slow waiter: a plugin that sends more breaks the protocol
// and only that task fails. The queue to the sender is bounded too; a
// caller waits for room, and the plugin's receiver never blocks, so the
// sender always makes progress while the connection lives.
type hostSession struct {
	c      *Client
	stream pb.Agent_SessionClient
	cancel context.CancelFunc
	out    chan *pb.SessionRequest
	done   chan struct{} // closed when the stream ended
	err    error         // why it ended; set before done is closed

	mu     sync.Mutex
	tasks  map[uint64]chan *pb.SessionEvent
	nextID uint64
}

// sessionQueue bounds the host's messages waiting for the sender.
const sessionQueue = 256

// errSessionEnded is the cause of a task whose session ended.
var errSessionEnded = errors.New("the session stream ended")

// session returns the Client's session, opening one when there is none
// or the last one ended.
func (c *Client) session() (*hostSession, error) {
	if s := c.sess.Load(); s != nil && !s.ended() {
		return s, nil
	}
	c.sessMu.Lock()
	defer c.sessMu.Unlock()
	if s := c.sess.Load(); s != nil && !s.ended() {
		return s, nil
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	c.wg.Add(2)
	c.mu.Unlock()
	ctx, cancel := context.WithCancel(c.base)
	stream, err := c.rpc.Session(ctx)
	if err != nil {
		cancel()
		c.wg.Add(-2)
		return nil, fmt.Errorf("open session: %w", err)
	}
	s := &hostSession{
		c:      c,
		stream: stream,
		cancel: cancel,
		out:    make(chan *pb.SessionRequest, sessionQueue),
		done:   make(chan struct{}),
		tasks:  make(map[uint64]chan *pb.SessionEvent),
	}
	go s.sendLoop()
	go s.receiveLoop()
	c.sess.Store(s)
	return s, nil
}

func (s *hostSession) ended() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// sendLoop is the only goroutine that sends on the stream.
func (s *hostSession) sendLoop() {
	defer s.c.wg.Done()
	for {
		select {
		case m := <-s.out:
			if err := s.stream.Send(m); err != nil {
				s.cancel() // Recv reports why
				return
			}
		case <-s.done:
			return
		}
	}
}

// receiveLoop hands the plugin's messages to their tasks until the stream
// ends, then ends the session: its tasks fail as a crash.
func (s *hostSession) receiveLoop() {
	defer s.c.wg.Done()
	for {
		msg, err := s.stream.Recv()
		if err != nil {
			s.err = fmt.Errorf("%w: %w", errSessionEnded, err)
			s.cancel()
			close(s.done)
			if !errors.Is(err, context.Canceled) {
				s.c.logger.Debug("plugin session ended", "error", err)
			}
			return
		}
		s.dispatch(msg)
	}
}

// dispatch queues msg for its task. A task's last message retires it;
// messages of retired tasks (cancelled by the host) are dropped. A task
// whose queue is full got more events than the window allows: its queue
// is closed, which its waiter reports as a protocol violation.
func (s *hostSession) dispatch(msg *pb.SessionEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.tasks[msg.GetTaskId()]
	if !ok {
		return
	}
	select {
	case q <- msg:
		if msg.GetFailure() != nil || msg.GetEvent().GetResult() != nil {
			delete(s.tasks, msg.GetTaskId())
		}
	default:
		delete(s.tasks, msg.GetTaskId())
		close(q)
	}
}

// add registers a new task and returns its id and queue.
func (s *hostSession) add() (uint64, chan *pb.SessionEvent) {
	q := make(chan *pb.SessionEvent, SessionWindow+1)
	s.mu.Lock()
	s.nextID++
	id := s.nextID
	s.tasks[id] = q
	s.mu.Unlock()
	return id, q
}

// retire forgets a task that ended on the host's side before its last
// message arrived and tells the plugin to cancel it. That includes a task
// dispatch dropped for overrunning its window, which the plugin still
// runs; a cancel for a task the plugin has just finished is ignored.
func (s *hostSession) retire(id uint64) {
	s.mu.Lock()
	delete(s.tasks, id)
	s.mu.Unlock()
	_ = s.queue(context.Background(), &pb.SessionRequest{TaskId: id, Request: &pb.SessionRequest_Cancel{Cancel: &pb.CancelTask{}}})
}

// queue hands m to the sender; it fails when ctx or the session ends
// first.
func (s *hostSession) queue(ctx context.Context, m *pb.SessionRequest) error {
	select {
	case s.out <- m:
		return nil
	case <-s.done:
		return s.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// executeSession runs task on the Client's session (protocol version 2).
// ctx is the call's context from begin.
func (c *Client) executeSession(ctx context.Context, task *Task, onEvent func(Event)) (*Result, error) {
	s, err := c.session()
	if errors.Is(err, ErrClosed) {
		return nil, err
	}
	if err != nil {
		return nil, c.callError(ctx, task, err)
	}
	id, q := s.add()
	finished := false // the task's last message arrived: it is retired
	defer func() {
		if !finished {
			s.retire(id)
		}
	}()
	start := &pb.SessionRequest{TaskId: id, Request: &pb.SessionRequest_Start{Start: &pb.ExecuteRequest{Task: task.Proto()}}}
	if err := s.queue(ctx, start); err != nil {
		return nil, c.callError(ctx, task, err)
	}
	k := newEventChecker(c, task)
	consumed := 0 // events since the last credit
	for {
		var (
			msg  *pb.SessionEvent
			open bool
		)
		select {
		case msg, open = <-q:
		case <-ctx.Done():
			return nil, c.contextError(ctx, task)
		case <-s.done:
			select {
			case msg, open = <-q: // what arrived before the end
			default:
				return nil, c.callError(ctx, task, s.err)
			}
		}
		if !open { // closed by dispatch: the plugin overran the window
			return nil, c.protocolError(task, fmt.Sprintf("more than %d events beyond the host's credit", SessionWindow))
		}
		if f := msg.GetFailure(); f != nil {
			finished = true
			return nil, c.failureError(ctx, task, f)
		}
		ev, err := k.add(msg.GetEvent())
		if err != nil {
			return nil, err
		}
		if k.res != nil {
			finished = true
			return k.res, nil
		}
		if onEvent != nil {
			onEvent(ev)
		}
		if consumed++; consumed >= SessionWindow/2 {
			credit := &pb.SessionRequest{TaskId: id, Request: &pb.SessionRequest_Credit{Credit: &pb.Credit{Events: uint32(consumed)}}}
			if err := s.queue(ctx, credit); err != nil {
				continue // the next select reports why
			}
			consumed = 0
		}
	}
}

// failureError is the error of a task the plugin ended without a result.
func (c *Client) failureError(ctx context.Context, task *Task, f *pb.TaskFailure) error {
	code := codes.Code(f.GetCode())
	if err := c.statusError(code, f.GetMessage(), task.AgentType, task.WorkOrderID); err != nil {
		return err
	}
	if code == codes.Canceled || code == codes.DeadlineExceeded {
		// The plugin's timer for the task's deadline fired before the
		// host's: give the host's a moment.
		t := time.NewTimer(crashWait)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return c.contextError(ctx, task)
		case <-t.C:
		}
	}
	return &AgentError{AgentType: task.AgentType, WorkOrderID: task.WorkOrderID,
		Message: fmt.Sprintf("%s: %s", code, f.GetMessage())}
}
