package events

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/hive-swarm/hive/fsm"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitTimeout bounds every wait: generous, the test machine is shared.
const waitTimeout = 30 * time.Second

// harness applies commands to a real FSM as raft would, with a broker
// running over it.
type harness struct {
	t      *testing.T
	f      *fsm.FSM
	b      *Broker
	mu     sync.Mutex
	index  uint64
	now    int64
	cancel context.CancelFunc
	done   chan struct{}
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	h := &harness{t: t, f: fsm.New(fsm.DefaultConfig()), now: 1_700_000_000_000_000_000}
	cfg.Source = h.f
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.b = b
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan struct{})
	go func() { defer close(h.done); b.Run(ctx) }()
	t.Cleanup(h.stop)
	return h
}

// stop stops the broker and waits for it.
func (h *harness) stop() {
	h.cancel()
	<-h.done
}

// apply commits one entry holding cmds (a Batch when more than one).
func (h *harness) apply(cmds ...fsm.Command) uint64 {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range cmds {
		h.now += 1e9
		switch c := c.(type) {
		case *fsm.CreateWorkOrder:
			c.Time, c.Node = h.now, "node-1"
		case *fsm.Transition:
			c.Time, c.Node = h.now, "node-1"
		}
	}
	var c fsm.Command = cmds[0]
	if len(cmds) > 1 {
		c = &fsm.Batch{Commands: cmds}
	}
	data, err := fsm.Encode(c)
	if err != nil {
		h.t.Fatalf("encode: %v", err)
	}
	h.index++
	h.f.Apply(&raft.Log{Index: h.index, Type: raft.LogCommand, Data: data})
	return h.index
}

func create(title string) *fsm.CreateWorkOrder {
	return &fsm.CreateWorkOrder{Spec: fsm.WorkOrderSpec{Title: title}}
}

func act(id string, a fsm.Action) *fsm.Transition { return &fsm.Transition{ID: id, Action: a} }

// sub reads a subscription as a client would: it waits for Ready and
// queues what Next hands out.
type sub struct {
	*Subscription
	q    []Event
	done bool // Next reported the end
}

// fill waits for and queues the next events; false once the stream has
// ended and the queue is empty.
func (s *sub) fill(t *testing.T) bool {
	t.Helper()
	for len(s.q) == 0 && !s.done {
		select {
		case <-s.Ready():
		case <-time.After(waitTimeout):
			t.Fatalf("no event within %v", waitTimeout)
		}
		var ok bool
		s.q, ok = s.Next(s.q)
		s.done = !ok
	}
	return len(s.q) > 0
}

// next receives one event or fails.
func next(t *testing.T, s *sub) Event {
	t.Helper()
	if !s.fill(t) {
		t.Fatalf("stream ended early (final: %+v)", s.Final())
	}
	e := s.q[0]
	s.q = s.q[1:]
	return e
}

// take receives n events.
func take(t *testing.T, s *sub, n int) []Event {
	t.Helper()
	out := make([]Event, 0, n)
	for range n {
		out = append(out, next(t, s))
	}
	return out
}

// waitClosed waits for the stream to end and returns its final event.
func waitClosed(t *testing.T, s *sub) *Event {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for s.fill(t) {
		s.q = s.q[:0]
		if time.Now().After(deadline) {
			t.Fatal("stream did not end")
		}
	}
	return s.Final()
}

func subscribe(t *testing.T, b *Broker, f Filter, from *Cursor) *sub {
	t.Helper()
	s, err := b.Subscribe(context.Background(), f, from)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return &sub{Subscription: s}
}

func types(es []Event) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Type)
	}
	return out
}

// waitFor polls cond until it holds or waitTimeout passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
