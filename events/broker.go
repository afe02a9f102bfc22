package events

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hive-swarm/hive/fsm"
)

// Source is the replicated state a Broker reads; *fsm.FSM implements it.
type Source interface {
	// View returns a point-in-time view of the state.
	View() *fsm.View
	// AppliedIndex returns the raft index of the last applied entry.
	AppliedIndex() uint64
	// WaitForIndex blocks until AppliedIndex() ≥ index or ctx is done.
	WaitForIndex(ctx context.Context, index uint64) error
}

var _ Source = (*fsm.FSM)(nil)

// Defaults of Config.
const (
	DefaultBuffer         = 4096
	DefaultRingSize       = 4096
	DefaultMaxSubscribers = 4096
)

// Config configures a Broker.
type Config struct {
	// Source is the state machine whose receipts become events. Required.
	Source Source
	// Logger receives the broker's logs; default: none.
	Logger hclog.Logger
	// Buffer is how many events of the live stream (before filtering)
	// a live subscriber may leave unread for a dispatch round before it
	// is cut off; default DefaultBuffer. The events are journaled once
	// for all subscribers, so it costs memory once per broker.
	Buffer int
	// RingSize is how many node-local events are kept for resuming;
	// default DefaultRingSize.
	RingSize int
	// StartIndex is the raft index this node process started at:
	// node-local events of earlier indexes were never seen here, so a
	// resume from before it reports a gap on node-local topics.
	StartIndex uint64
	// Observer names this node on node-local events.
	Observer string
	// MaxSubscribers bounds the open subscriptions; default
	// DefaultMaxSubscribers.
	MaxSubscribers int
}

// Sentinel errors.
var (
	// ErrClosed is returned by Subscribe once the broker has stopped.
	ErrClosed = errors.New("events: broker closed")
	// ErrNoSource is returned by New without Config.Source.
	ErrNoSource = errors.New("events: config has no source")
	// ErrTooManySubscribers is returned by Subscribe at MaxSubscribers.
	ErrTooManySubscribers = errors.New("events: too many subscribers")
)

// Broker fans committed receipts and node-local events out to
// subscribers. Its methods are safe for concurrent use. Run must be
// running for live subscribers to receive new events.
type Broker struct {
	cfg  Config
	log  hclog.Logger
	src  Source
	wake chan struct{} // capacity 1: new subscriber, local event or stop

	mu     sync.Mutex
	ring   *ring
	jnl    journal                    // the live stream's latest batches
	stamp  uint64                     // last stamp given to a node-local event
	live   map[*Subscription]struct{} // subscribers fed by the dispatcher
	open   map[*Subscription]struct{} // every subscriber not yet finished
	active bool                       // the dispatcher position below is valid
	view   *fsm.View                  // the dispatcher's last view
	rcpt   uint64                     // receipts up to this seq have been dispatched
	local  uint64                     // node-local events up to this seq have been dispatched
	closed bool

	delivered atomic.Uint64
	cutoffs   atomic.Uint64
}

// New returns a broker over cfg.Source. Start its dispatcher with Run.
func New(cfg Config) (*Broker, error) {
	if cfg.Source == nil {
		return nil, ErrNoSource
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = DefaultBuffer
	}
	if cfg.RingSize <= 0 {
		cfg.RingSize = DefaultRingSize
	}
	if cfg.MaxSubscribers <= 0 {
		cfg.MaxSubscribers = DefaultMaxSubscribers
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	return &Broker{
		cfg:  cfg,
		log:  cfg.Logger,
		src:  cfg.Source,
		wake: make(chan struct{}, 1),
		ring: newRing(cfg.RingSize),
		jnl:  journal{limit: cfg.Buffer},
		live: make(map[*Subscription]struct{}),
		open: make(map[*Subscription]struct{}),
	}, nil
}

func (b *Broker) notify() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// Publish records a node-local event (topic member or leader), stamps it
// with the raft index applied now, and offers it to subscribers. It
// never blocks on a subscriber.
func (b *Broker) Publish(e Event) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.stamp = max(b.stamp, b.src.AppliedIndex())
	e.Index = b.stamp
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	if e.Observer == "" {
		e.Observer = b.cfg.Observer
	}
	b.ring.push(e)
	b.mu.Unlock()
	b.notify()
}

// Stats describes a broker's subscribers and traffic.
type Stats struct {
	Subscribers int    // open subscriptions
	Live        int    // of which follow the live stream (caught up)
	Delivered   uint64 // events handed to subscribers
	Cutoffs     uint64 // subscribers cut off for falling behind
	LocalEvents uint64 // node-local events published
}

// Stats returns the broker's counters.
func (b *Broker) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return Stats{
		Subscribers: len(b.open),
		Live:        len(b.live),
		Delivered:   b.delivered.Load(),
		Cutoffs:     b.cutoffs.Load(),
		LocalEvents: b.ring.last,
	}
}

// roundInterval is the least time between two dispatch rounds: under
// load a round carries every commit of the interval, so each subscriber
// is handed (and writes) many events at once, and the dispatcher takes
// fewer views of the state.
const roundInterval = 5 * time.Millisecond

// Run dispatches new commits and node-local events to live subscribers
// until ctx is done, then ends every subscription with a cutoff event
// (code "shutdown").
func (b *Broker) Run(ctx context.Context) {
	defer b.stop()
	pace := time.NewTimer(0)
	defer pace.Stop()
	for ctx.Err() == nil {
		select { // at most one round per roundInterval
		case <-pace.C:
		case <-ctx.Done():
			return
		}
		pace.Reset(roundInterval)
		b.mu.Lock()
		active, pending := b.active, b.ring.last > b.local
		var next uint64
		if active {
			next = b.view.Index() + 1
		}
		b.mu.Unlock()
		if !active {
			select {
			case <-b.wake:
			case <-ctx.Done():
			}
			continue
		}
		if !pending && b.src.AppliedIndex() < next {
			b.waitApplied(ctx, next)
		}
		if ctx.Err() == nil {
			b.round()
		}
	}
}

// waitApplied returns once index is applied, a wake-up arrives, or ctx
// is done.
func (b *Broker) waitApplied(ctx context.Context, index uint64) {
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		_ = b.src.WaitForIndex(wctx, index)
		close(done)
	}()
	select {
	case <-done:
	case <-b.wake:
	}
	cancel()
	<-done
}

// round journals everything committed or published since the last round
// as one batch, cuts off the live subscribers that left more than
// Config.Buffer events unread, and wakes the others. It hands no event
// to anyone: each subscriber reads the journal from its own offset.
func (b *Broker) round() {
	v := b.src.View()
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.active {
		return
	}
	if v.ReceiptCount() < b.rcpt || v.Index() < b.view.Index() {
		v = b.view // a subscriber handed over a newer view meanwhile
	}
	var items []Event
	if b.local+1 < b.ring.first() { // more node-local events than the ring holds since the last round
		items = append(items, *gapEvent(b.ring.evicted+1, "node-local events were published faster than the ring retains them"))
	}
	locals := b.ring.after(b.local, v.Index())
	items = collect(items, v, b.rcpt, v.ReceiptCount(), locals)
	b.view, b.rcpt = v, v.ReceiptCount()
	if len(locals) > 0 {
		b.local = locals[len(locals)-1].LocalSeq
	}
	if len(items) > 0 {
		nb := b.jnl.push(items, b.rcpt, b.local)
		for s := range b.live {
			if nb.start-s.off > uint64(b.cfg.Buffer) {
				s.cutOffLocked()
				continue
			}
			s.signal()
		}
	}
	if len(b.live) == 0 {
		b.active, b.view = false, nil // stop reading the FSM until someone listens
		b.jnl.reset(b.rcpt, b.local)
	}
}

// stop ends every subscription.
func (b *Broker) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for s := range b.open {
		s.endLocked(CutoffShutdown, "the node is shutting down; resume on another node or after restart")
	}
}

// collect appends to dst the events of receipts from+1..to of v, with
// the node-local events (in sequence order, stamped ≤ v.Index()) each
// placed after the receipts of the index it was stamped with.
func collect(dst []Event, v *fsm.View, from, to uint64, locals []Event) []Event {
	li := 0
	for seq := from + 1; seq <= to; seq++ {
		r, err := v.Receipt(seq)
		if err != nil {
			break // cannot happen: receipts are never removed
		}
		for li < len(locals) && locals[li].Index < r.Index {
			dst = append(dst, locals[li])
			li++
		}
		dst = append(dst, fromReceipt(r))
	}
	return append(dst, locals[li:]...)
}

// firstAfter returns the lowest receipt seq whose raft index is > index
// (ReceiptCount()+1 when none): receipt indexes never decrease along the
// chain.
func firstAfter(v *fsm.View, index uint64) uint64 {
	lo, hi := uint64(1), v.ReceiptCount()+1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if r, err := v.Receipt(mid); err == nil && r.Index <= index {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// pageEnd returns where a replay page starting after from ends: at most
// about n receipts, never splitting a raft index.
func pageEnd(v *fsm.View, from uint64, n uint64) uint64 {
	count := v.ReceiptCount()
	to := min(from+n, count)
	if to == 0 {
		return 0
	}
	last, err := v.Receipt(to)
	if err != nil {
		return to
	}
	for to < count {
		r, err := v.Receipt(to + 1)
		if err != nil || r.Index != last.Index {
			break
		}
		to++
	}
	return to
}
