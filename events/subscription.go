package events

import (
	"context"
	"fmt"

	"github.com/hive-swarm/hive/fsm"
)

// replayPage is how many receipts a catching-up subscriber reads at a
// time, so a replay of any length holds a bounded number of events.
const replayPage = 256

// readMost bounds the journaled events one read takes (it takes at least
// one whole batch), so that what one read hands out stays bounded.
const readMost = 1024

// position is how far a subscriber has got.
type position struct {
	done uint64 // every receipt of raft index ≤ done has been processed
	rcpt uint64 // receipts with seq ≤ rcpt have been processed
	lseq uint64 // node-local events with seq ≤ lseq have been processed
}

// Subscription is one subscriber's stream. It is read, not pushed: wait
// for Ready, then take what is available with Next (events) or
// AppendFrames (encoded frames), until they report the end; then Final
// tells why, when the broker ended it. One goroutine at a time reads a
// subscription; the broker never waits for it.
type Subscription struct {
	b     *Broker
	f     Filter
	fkey  string        // filterKey(f)
	local bool          // the filter admits node-local events: IDs carry the local part
	ready chan struct{} // capacity 1: something to read, or the end
	stop  func() bool   // unregisters the context's AfterFunc

	// Owned by the reader.
	pos     position
	gap     *Event  // to hand out first
	last    Cursor  // the last ID handed out, or where the stream started
	replay  []Event // a replay page, reused
	picks   []picked
	batches []*batch

	// Under b.mu.
	live  bool   // reads the journal
	off   uint64 // journal offset of the next batch to read, when live
	ended bool   // nothing more will be handed out
	code  string // why the broker ended the stream (a cutoff code); "" when the subscriber did
	why   string
	final *Event // the cutoff event, once the reader saw the end
}

// Subscribe starts a stream of the events f admits. With from nil it
// starts at the present; otherwise it resumes after the cursor from
// (Cursor{Index: N-1} starts at raft index N, so the zero Cursor starts
// at the beginning of the chain). The stream ends when ctx is done, on
// Close, when the subscriber falls behind (see Final), or when the broker
// stops.
func (b *Broker) Subscribe(ctx context.Context, f Filter, from *Cursor) (*Subscription, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	s := &Subscription{b: b, f: f, fkey: filterKey(f), local: f.wantsLocal(), ready: make(chan struct{}, 1)}
	b.mu.Lock()
	if b.closed || len(b.open) >= b.cfg.MaxSubscribers {
		full := !b.closed
		b.mu.Unlock()
		if full {
			return nil, ErrTooManySubscribers
		}
		return nil, ErrClosed
	}
	b.open[s] = struct{}{}
	b.mu.Unlock()
	v := b.src.View()
	s.gap = s.start(v, from) // now, so that a live stream starts where Subscribe returns
	// Until it hands out an ID, the stream resumes where it started.
	s.last = s.cursor(s.pos.done, s.pos.lseq)
	if from != nil {
		s.last = *from
	}
	if from == nil {
		s.join(v) // nothing to replay: follow the live stream at once
	}
	s.stop = context.AfterFunc(ctx, s.Close)
	s.signal()
	return s, nil
}

// Ready receives when the subscription may have something to read, or
// has ended: call Next or AppendFrames then.
func (s *Subscription) Ready() <-chan struct{} { return s.ready }

// signal wakes the reader without blocking.
func (s *Subscription) signal() {
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// Close ends the stream; the next read reports the end.
func (s *Subscription) Close() {
	b := s.b
	b.mu.Lock()
	if !s.ended {
		s.ended = true
		delete(b.live, s)
		delete(b.open, s)
	}
	b.mu.Unlock()
	if s.stop != nil {
		s.stop()
	}
	s.signal()
}

// Final returns the cutoff event that ended the stream (slow consumer or
// shutdown), or nil when the subscriber ended it itself. Call it after a
// read reported the end.
func (s *Subscription) Final() *Event {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	return s.final
}

// endLocked ends the stream with a cutoff event. Called with b.mu held.
func (s *Subscription) endLocked(code, reason string) {
	if s.ended {
		return
	}
	s.ended = true
	s.code, s.why = code, reason
	delete(s.b.live, s)
	delete(s.b.open, s)
	s.signal()
}

// cutOffLocked ends the stream as a slow consumer (CutoffSlowConsumer)
// and counts the cutoff. Called with b.mu held.
func (s *Subscription) cutOffLocked() {
	s.b.cutoffs.Add(1)
	s.endLocked(CutoffSlowConsumer, fmt.Sprintf("the subscriber fell more than %d events behind the live stream", s.b.cfg.Buffer))
}

// Next appends to dst the events available now, in order, and reports
// whether the stream goes on. It never blocks; wait for Ready.
func (s *Subscription) Next(dst []Event) ([]Event, bool) {
	ok := s.read(func(e *Event, id Cursor, has bool) {
		ev := *e
		ev.ID = ""
		if has {
			ev.ID = id.String()
		}
		dst = append(dst, ev)
	}, nil)
	return dst, ok
}

// AppendFrames is Next for transports: it appends the events available
// now to dst framed as f (see Event.AppendFrame), and returns the
// extended buffer, the number of events appended and whether the stream
// goes on. Live events share one encoding across all subscribers.
func (s *Subscription) AppendFrames(dst []byte, f Format) ([]byte, int, bool) {
	n := 0
	ok := s.read(func(e *Event, id Cursor, has bool) {
		dst = e.appendFrame(dst, f, id, has)
		n++
	}, nil)
	return dst, n, ok
}

// read hands out what is available now, each event with its ID when it
// carries one, and reports whether the stream goes on. With whole not
// nil, whole hands out each journaled batch in one piece (moving s past
// it) and returns the number of events it handed out.
func (s *Subscription) read(emit func(e *Event, id Cursor, has bool), whole func(bt *batch) int) bool {
	b := s.b
	n := 0
	out := func(e *Event, id Cursor, has bool) {
		emit(e, id, has)
		n++
		if has {
			s.last = id
		}
	}
	defer func() { b.delivered.Add(uint64(n)) }()
	b.mu.Lock()
	ended, live := s.ended, s.live
	b.mu.Unlock()
	if ended {
		return s.end()
	}
	if !live {
		more, ok := s.catchUp(out)
		if !ok {
			return s.end()
		}
		if more || n > 0 {
			s.signal() // more to replay, or the live stream to read
			return true
		}
	}
	b.mu.Lock()
	if s.ended {
		b.mu.Unlock()
		return s.end()
	}
	bs, off, held := b.jnl.from(s.batches[:0], s.off, readMost)
	s.off = off
	more := off < b.jnl.total
	b.mu.Unlock()
	if !held { // cannot happen: round cuts such a subscriber off first
		b.mu.Lock()
		s.cutOffLocked()
		b.mu.Unlock()
		return s.end()
	}
	for _, bt := range bs {
		if whole != nil {
			n += whole(bt)
		} else {
			s.emit(bt.items, out)
		}
	}
	clear(bs)
	s.batches = bs[:0]
	if more {
		s.signal()
	}
	return true
}

// end builds the final event, once the reader has seen the end, with the
// cursor after the last event handed out.
func (s *Subscription) end() bool {
	b := s.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if s.final == nil && s.code != "" {
		resume := s.last.String()
		reason := s.why
		if s.code == CutoffSlowConsumer {
			reason += fmt.Sprintf("; resume after %q", resume)
		}
		s.final = &Event{Topic: TopicStream, Type: TypeCutoff, Code: s.code, Reason: reason, Resume: resume}
	}
	return false
}

// emit picks from items (whole raft indexes) what s has not processed
// and its filter admits, hands it out, and moves s's position past it.
func (s *Subscription) emit(items []Event, out func(e *Event, id Cursor, has bool)) {
	s.picks, s.pos = s.pick(s.picks[:0], items, s.pos)
	for _, p := range s.picks {
		out(&items[p.i], p.id, p.has)
	}
}

// start sets the initial position and returns the gap event to send
// first, if the resume point is older than what is retained.
func (s *Subscription) start(v *fsm.View, from *Cursor) *Event {
	b := s.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if from == nil {
		s.pos = position{done: v.Index(), rcpt: v.ReceiptCount(), lseq: b.ring.lastBefore(v.Index() + 1)}
		return nil
	}
	s.pos = position{done: from.Index, rcpt: firstAfter(v, from.Index) - 1}
	r := b.ring
	if from.HasLocal && from.Local <= r.last {
		s.pos.lseq = from.Local // a cursor of this process (localsAfter reports what is retained no longer)
		return nil
	}
	// Node-local events stamped before the cursor's index count as
	// delivered; those stamped at it or later (they happened after that
	// index was applied) are replayed.
	s.pos.lseq = r.lastBefore(from.Index)
	if !s.local {
		return nil
	}
	first := b.cfg.StartIndex
	if r.lost && r.evicted >= from.Index {
		first = max(first, r.evicted+1)
	}
	if from.Index >= first {
		return nil
	}
	return gapEvent(first, fmt.Sprintf("node-local events (member, leader) before raft index %d are not retained by this node", first))
}

// gapEvent is the gap event saying that node-local events (topics member
// and leader) before raft index first are missing from the stream.
func gapEvent(first uint64, reason string) *Event {
	return &Event{Topic: TopicStream, Type: TypeGap, Index: first, Code: "local_events_lost", Reason: reason,
		Topics: []Topic{TopicMember, TopicLeader}}
}

// localsAfter returns the node-local events after s's position stamped
// ≤ maxIndex, and a gap event when some of them have been evicted.
// Called with b.mu held.
func (s *Subscription) localsAfter(maxIndex uint64) ([]Event, *Event) {
	r := s.b.ring
	var gap *Event
	if s.pos.lseq+1 < r.first() {
		if s.local {
			gap = gapEvent(r.evicted+1, fmt.Sprintf("the subscriber was behind by more than the %d node-local events retained", len(r.buf)))
		}
		s.pos.lseq = r.first() - 1
	}
	return r.after(s.pos.lseq, maxIndex), gap
}

// catchUp hands out the pending gap, if any, then one replay page from
// the state; once nothing is left to replay it makes s live. It reports
// whether there may be more to replay, and false ok when the stream has
// ended.
func (s *Subscription) catchUp(out func(e *Event, id Cursor, has bool)) (more, ok bool) {
	if s.gap != nil {
		out(s.gap, Cursor{}, false)
		s.gap = nil
	}
	b := s.b
	v := b.src.View()
	to := pageEnd(v, s.pos.rcpt, replayPage)
	maxStamp := v.Index()
	if to < v.ReceiptCount() {
		next, _ := v.Receipt(to + 1)
		maxStamp = next.Index - 1
	}
	b.mu.Lock()
	locals, gap := s.localsAfter(maxStamp)
	b.mu.Unlock()
	if gap != nil {
		out(gap, Cursor{}, false)
	}
	if to > s.pos.rcpt || len(locals) > 0 {
		clear(s.replay)
		s.replay = collect(s.replay[:0], v, s.pos.rcpt, to, locals)
		s.emit(s.replay, out)
		if cap(s.replay) > 4*replayPage {
			s.replay = nil
		}
		return true, true
	}
	s.pos.done = max(s.pos.done, v.Index())
	joined, ok := s.join(v)
	return !joined, ok
}

// join makes s live when the journal holds everything after its position
// and the rest fits its buffer. It reports whether s joined, and false ok
// when the stream has ended.
func (s *Subscription) join(v *fsm.View) (joined, ok bool) {
	b := s.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if s.ended {
		return false, false
	}
	if !b.active {
		b.active, b.view, b.rcpt, b.local = true, v, s.pos.rcpt, s.pos.lseq
		b.jnl.reset(b.rcpt, b.local)
		s.live, s.off = true, b.jnl.total
		b.live[s] = struct{}{}
		b.notify()
		return true, true
	}
	off, held := b.jnl.resumeAt(s.pos.rcpt, s.pos.lseq)
	if !held || b.jnl.total-off > uint64(b.cfg.Buffer) {
		return false, true // too far behind: replay more first
	}
	if off == b.jnl.total {
		s.pos.done = max(s.pos.done, b.view.Index())
	}
	s.live, s.off = true, off
	b.live[s] = struct{}{}
	return true, true
}
