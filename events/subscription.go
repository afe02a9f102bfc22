package events

import (
	"context"
	"fmt"

	"github.com/hive-swarm/hive/fsm"
)

// replayPage is how many receipts a catching-up subscriber reads at a
// time, so a replay of any length holds a bounded number of events.
const replayPage = 256

// maxScratch bounds the batch buffer a live subscriber keeps between
// rounds.
const maxScratch = 512

// position is how far a subscriber has got.
type position struct {
	done uint64 // every receipt of raft index ≤ done has been processed
	rcpt uint64 // receipts with seq ≤ rcpt have been processed
	lseq uint64 // node-local events with seq ≤ lseq have been processed
}

// Subscription is one subscriber's stream. Read events from C until it is
// closed; then Final tells why, when the broker ended it.
type Subscription struct {
	b      *Broker
	f      Filter
	local  bool // the filter admits node-local events: IDs carry the local part
	ch     chan Event
	ctx    context.Context
	cancel context.CancelFunc

	// Owned by the subscription's goroutine until it joins the live
	// stream, by the broker (under b.mu) after.
	pos     position
	lastID  string  // under b.mu: the last ID sent
	scratch []Event // under b.mu: offer's batch buffer, reused

	final *Event // set under b.mu before the goroutine is told to end
	ended bool   // under b.mu: no more events will be sent
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
	s := &Subscription{b: b, f: f, local: f.wantsLocal(), ch: make(chan Event, b.cfg.Buffer)}
	s.ctx, s.cancel = context.WithCancel(ctx)
	b.mu.Lock()
	if b.closed || len(b.open) >= b.cfg.MaxSubscribers {
		full := !b.closed
		b.mu.Unlock()
		s.cancel()
		if full {
			return nil, ErrTooManySubscribers
		}
		return nil, ErrClosed
	}
	b.open[s] = struct{}{}
	b.wg.Add(1)
	b.mu.Unlock()
	gap := s.start(from) // now, so that a live stream starts where Subscribe returns
	go s.run(gap)
	return s, nil
}

// C delivers the events, in order. It is closed when the stream ends.
func (s *Subscription) C() <-chan Event { return s.ch }

// Close ends the stream; C is closed soon after.
func (s *Subscription) Close() { s.cancel() }

// Final returns the cutoff event that ended the stream (slow consumer or
// shutdown), or nil when the subscriber ended it itself. Call it after C
// is closed.
func (s *Subscription) Final() *Event {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	return s.final
}

// run replays what the subscriber asked for, joins the live stream, and
// waits for the end.
func (s *Subscription) run(gap *Event) {
	defer s.b.wg.Done()
	defer s.finish()
	if s.catchUp(gap) {
		<-s.ctx.Done()
	}
}

// finish takes s out of the broker and closes its channel.
func (s *Subscription) finish() {
	b := s.b
	b.mu.Lock()
	s.ended = true
	delete(b.live, s)
	delete(b.open, s)
	b.mu.Unlock()
	s.cancel()
	close(s.ch)
}

// endLocked ends the stream with a cutoff event. Called with b.mu held.
func (s *Subscription) endLocked(code, reason string) {
	if s.ended {
		return
	}
	s.ended = true
	delete(s.b.live, s)
	s.final = &Event{Topic: TopicStream, Type: TypeCutoff, Code: code, Reason: reason, Resume: s.lastID}
	s.cancel()
}

// send delivers e, blocking until the subscriber takes it or the stream
// ends; it reports whether the stream goes on.
func (s *Subscription) send(e Event) bool {
	select {
	case s.ch <- e:
		s.b.delivered.Add(1)
		if e.ID != "" {
			s.b.mu.Lock()
			s.lastID = e.ID
			s.b.mu.Unlock()
		}
		return true
	case <-s.ctx.Done():
		return false
	}
}

// cursor formats the ID of position (index, lseq); ids, when not nil,
// memoizes them across the subscribers of one dispatch round.
func (s *Subscription) cursor(ids map[Cursor]string, index, lseq uint64) string {
	c := Cursor{Index: index, Local: lseq, HasLocal: s.local}
	if !s.local {
		c.Local = 0
	}
	if ids == nil {
		return c.String()
	}
	id, ok := ids[c]
	if !ok {
		id = c.String()
		ids[c] = id
	}
	return id
}

// pick appends to out the events of items that s has not processed yet and its
// filter admits, with their IDs, and the position after them. items is
// a merged batch (collect) of whole raft indexes.
func (s *Subscription) pick(out []Event, items []Event, pos position, ids map[Cursor]string) ([]Event, position) {
	start := pos
	for i := range items {
		e := &items[i]
		if e.Topic == TopicStream { // a gap of node-local events
			if s.local {
				out = append(out, *e)
			}
			continue
		}
		if e.local() {
			if e.LocalSeq <= start.lseq {
				continue
			}
			pos.lseq = e.LocalSeq
			pos.done = max(pos.done, e.Index)
			if s.f.match(e) {
				ev := *e
				ev.ID = s.cursor(ids, pos.done, pos.lseq)
				out = append(out, ev)
			}
			continue
		}
		if e.Receipt <= start.rcpt {
			continue
		}
		if e.Index <= start.done { // before a cursor that was ahead of the chain
			pos.rcpt = e.Receipt
			continue
		}
		pos.rcpt = e.Receipt
		pos.done = max(pos.done, e.Index-1)
		if i+1 == len(items) || items[i+1].local() || items[i+1].Index != e.Index {
			pos.done = max(pos.done, e.Index)
		}
		if s.f.match(e) {
			ev := *e
			ev.ID = s.cursor(ids, e.Index, pos.lseq) // kept only on the last of its index, below
			out = append(out, ev)
		}
	}
	for j := range out {
		e := &out[j]
		if !e.local() && e.Topic != TopicStream && j+1 < len(out) && !out[j+1].local() && out[j+1].Topic != TopicStream && out[j+1].Index == e.Index {
			e.ID = ""
		}
	}
	return out, pos
}

// offer hands a live batch to s without blocking (ids: see cursor); a subscriber whose
// buffer is full is cut off. Called by the dispatcher with b.mu held.
func (s *Subscription) offer(items []Event, ids map[Cursor]string) {
	out, pos := s.pick(s.scratch[:0], items, s.pos, ids)
	defer func() { // keep a small batch buffer for the next round
		if cap(out) <= maxScratch {
			clear(out)
			s.scratch = out[:0]
		} else {
			s.scratch = nil
		}
	}()
	for i := range out {
		e := &out[i]
		if len(s.ch) == cap(s.ch) {
			s.b.cutoffs.Add(1)
			s.endLocked(CutoffSlowConsumer, fmt.Sprintf(
				"the subscriber fell more than %d events behind the live stream; resume after %q", cap(s.ch), s.lastID))
			return
		}
		s.ch <- *e
		s.b.delivered.Add(1)
		if e.ID != "" {
			s.lastID = e.ID
		}
	}
	s.pos = pos
}

// start sets the initial position and returns the gap event to send
// first, if the resume point is older than what is retained.
func (s *Subscription) start(from *Cursor) *Event {
	b := s.b
	v := b.src.View()
	b.mu.Lock()
	defer b.mu.Unlock()
	if from == nil {
		s.pos = position{done: v.Index(), rcpt: v.ReceiptCount(), lseq: b.ring.lastBefore(v.Index() + 1)}
		return nil
	}
	s.pos = position{done: from.Index, rcpt: firstAfter(v, from.Index) - 1}
	r := b.ring
	if from.HasLocal && from.Local <= r.last && from.Local+1 >= r.first() {
		s.pos.lseq = from.Local // a cursor of this process, still retained
		return nil
	}
	if from.HasLocal && from.Local <= r.last && from.Local+1 < r.first() {
		s.pos.lseq = from.Local // retained no longer: localGap reports it
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
	return s.gap(first, fmt.Sprintf("node-local events (member, leader) before raft index %d are not retained by this node", first))
}

func (s *Subscription) gap(first uint64, reason string) *Event {
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
			gap = s.gap(r.evicted+1, fmt.Sprintf("the subscriber was behind by more than the %d node-local events retained", len(r.buf)))
		}
		s.pos.lseq = r.first() - 1
	}
	return r.after(s.pos.lseq, maxIndex), gap
}

// catchUp sends gap (if any), then replays from the start position until s is level with the
// dispatcher, then makes it live. It reports whether s went live.
func (s *Subscription) catchUp(gap *Event) bool {
	if gap != nil && !s.send(*gap) {
		return false
	}
	b := s.b
	for {
		v := b.src.View()
		for {
			to := pageEnd(v, s.pos.rcpt, replayPage)
			maxStamp := v.Index()
			if to < v.ReceiptCount() {
				next, _ := v.Receipt(to + 1)
				maxStamp = next.Index - 1
			}
			b.mu.Lock()
			locals, gap := s.localsAfter(maxStamp)
			b.mu.Unlock()
			if gap != nil && !s.send(*gap) {
				return false
			}
			if to <= s.pos.rcpt && len(locals) == 0 {
				break
			}
			out, pos := s.pick(nil, collect(nil, v, s.pos.rcpt, to, locals), s.pos, nil)
			for _, e := range out {
				if !s.send(e) {
					return false
				}
			}
			s.pos = pos
		}
		s.pos.done = max(s.pos.done, v.Index())
		if joined, ok := s.join(v); !ok {
			return false
		} else if joined {
			return true
		}
	}
}

// join makes s live when the rest of what it lacks fits its buffer. It
// reports whether s joined, and false ok when the stream has ended.
func (s *Subscription) join(v *fsm.View) (joined, ok bool) {
	b := s.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if s.ended || s.ctx.Err() != nil {
		return false, false
	}
	if !b.active {
		b.active, b.view, b.rcpt, b.local = true, v, s.pos.rcpt, s.pos.lseq
		b.live[s] = struct{}{}
		b.notify()
		return true, true
	}
	if s.pos.rcpt < b.rcpt || s.pos.lseq < b.local {
		if s.pos.lseq < b.local && s.pos.lseq+1 < b.ring.first() {
			return false, true // evicted: the replay reports the gap
		}
		var locals []Event
		for _, e := range b.ring.after(s.pos.lseq, b.view.Index()) {
			if e.LocalSeq <= b.local {
				locals = append(locals, e)
			}
		}
		out, pos := s.pick(nil, collect(nil, b.view, s.pos.rcpt, b.rcpt, locals), s.pos, nil)
		if len(out) > cap(s.ch)-len(s.ch) {
			return false, true // too far behind: replay more first
		}
		for _, e := range out {
			s.ch <- e
			b.delivered.Add(1)
			if e.ID != "" {
				s.lastID = e.ID
			}
		}
		s.pos = pos
		s.pos.done = max(s.pos.done, b.view.Index())
	}
	b.live[s] = struct{}{}
	return true, true
}
