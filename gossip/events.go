package gossip

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// EventType says what happened to a member.
type EventType uint8

// The event types.
const (
	EventJoin   EventType = iota + 1 // a member became alive (joined or came back)
	EventLeave                       // a member left gracefully
	EventFailed                      // a member was declared dead by failure detection
	EventUpdate                      // a member's metadata changed
)

// String implements fmt.Stringer.
func (t EventType) String() string {
	switch t {
	case EventJoin:
		return "join"
	case EventLeave:
		return "leave"
	case EventFailed:
		return "failed"
	case EventUpdate:
		return "update"
	default:
		return "unknown"
	}
}

// Event is one membership change, delivered on Config.Events.
type Event struct {
	Type   EventType
	Member Member
}

// eventQueue decouples memberlist's callbacks from the consumer: push never
// blocks (memberlist holds its locks while notifying); one goroutine
// forwards queued events to the consumer's channel. When more than max
// events wait, new ones are dropped and counted: a consumer must be able to
// recover from a lost event by reading Members (the node reconciles
// periodically for that reason).
type eventQueue struct {
	mu      sync.Mutex
	q       []Event
	max     int
	wake    chan struct{}
	dropped atomic.Uint64
}

func newEventQueue(max int) *eventQueue {
	return &eventQueue{max: max, wake: make(chan struct{}, 1)}
}

func (e *eventQueue) push(ev Event) {
	e.mu.Lock()
	if len(e.q) >= e.max {
		e.mu.Unlock()
		e.dropped.Add(1)
		return
	}
	e.q = append(e.q, ev)
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func (e *eventQueue) take() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	q := e.q
	e.q = nil
	return q
}

// forward delivers queued events to out, in order, until stop is closed.
func (e *eventQueue) forward(out chan<- Event, stop <-chan struct{}) {
	for {
		select {
		case <-e.wake:
		case <-stop:
			return
		}
		for _, ev := range e.take() {
			select {
			case out <- ev:
			case <-stop:
				return
			}
		}
	}
}

// delegate implements memberlist.Delegate and memberlist.EventDelegate.
type delegate struct {
	g *Gossip
}

var (
	_ memberlist.Delegate      = (*delegate)(nil)
	_ memberlist.EventDelegate = (*delegate)(nil)
)

// NodeMeta implements memberlist.Delegate.
func (d *delegate) NodeMeta(limit int) []byte {
	d.g.mu.Lock()
	defer d.g.mu.Unlock()
	if len(d.g.meta) > limit {
		// UpdateMeta and New refuse such metadata, so this cannot happen;
		// an empty answer is better than memberlist's panic.
		return nil
	}
	return d.g.meta
}

// NotifyMsg implements memberlist.Delegate. The only user message is a
// leave intent, sent by a member just before it leaves.
func (d *delegate) NotifyMsg(b []byte) {
	if len(b) > 1 && b[0] == msgLeaveIntent {
		d.g.leaveIntent(string(b[1:]))
	}
}

// GetBroadcasts implements memberlist.Delegate.
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }

// LocalState implements memberlist.Delegate.
func (d *delegate) LocalState(join bool) []byte { return nil }

// MergeRemoteState implements memberlist.Delegate.
func (d *delegate) MergeRemoteState(buf []byte, join bool) {}

// NotifyJoin implements memberlist.EventDelegate.
func (d *delegate) NotifyJoin(n *memberlist.Node) { d.g.observe(EventJoin, n, StatusAlive) }

// NotifyLeave implements memberlist.EventDelegate. memberlist reports both
// a graceful leave and a failure here, and its Node.State does not tell
// them apart (v0.7.0 never sets it), so a leaving member announces its
// intent first, as serf does: by a FlagLeaving metadata update and a leave
// message to every member. A member that goes without an intent failed.
func (d *delegate) NotifyLeave(n *memberlist.Node) {
	d.g.mu.Lock()
	_, leaving := d.g.leaving[n.Name]
	d.g.mu.Unlock()
	if leaving {
		d.g.observe(EventLeave, n, StatusLeft)
		return
	}
	d.g.observe(EventFailed, n, StatusFailed)
}

// NotifyUpdate implements memberlist.EventDelegate.
func (d *delegate) NotifyUpdate(n *memberlist.Node) { d.g.observe(EventUpdate, n, StatusAlive) }

// msgLeaveIntent is the type byte of the leave-intent user message; the
// rest of the message is the leaving member's name.
const msgLeaveIntent = 1

// leaveIntent records that name is leaving. If it was already declared
// failed (the intent arrived late), it is turned into a leave.
func (g *Gossip) leaveIntent(name string) {
	g.mu.Lock()
	g.leaving[name] = time.Now()
	m, ok := g.members[name]
	var ev *Event
	if ok && m.Status == StatusFailed {
		m.Status = StatusLeft
		ev = &Event{Type: EventLeave, Member: *m}
	}
	g.mu.Unlock()
	if ev != nil {
		g.events.push(*ev)
	}
}

// observe records a change in the member table and queues its event.
func (g *Gossip) observe(t EventType, n *memberlist.Node, st Status) {
	meta, err := DecodeMeta(n.Meta)
	if err != nil {
		g.logger.Warn("undecodable member metadata", "member", n.Name, "error", err)
		meta = &Meta{Name: n.Name}
	}
	now := time.Now()
	m := Member{Name: n.Name, Addr: n.Address(), Meta: meta, Status: st, Since: now}
	g.mu.Lock()
	switch {
	case t == EventJoin:
		delete(g.leaving, n.Name) // back again
	case meta.Has(FlagLeaving):
		g.leaving[n.Name] = now
	}
	if old, ok := g.members[n.Name]; ok && old.Status == st {
		m.Since = old.Since // an update does not restart the status clock
	}
	g.members[n.Name] = &m
	g.reapLocked(now)
	g.mu.Unlock()
	g.logger.Debug("member event", "event", t, "member", n.Name, "addr", m.Addr)
	g.events.push(Event{Type: t, Member: m})
}
