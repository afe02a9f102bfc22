package events

// ring keeps the latest node-local events, in local sequence order. Its
// sequence numbers start at 1 and never repeat within a process.
type ring struct {
	buf     []Event // circular, len == capacity once full
	start   int     // position of the oldest event in buf
	n       int     // events held
	last    uint64  // sequence number of the newest event; 0 when none yet
	evicted uint64  // Index (stamp) of the newest evicted event; 0 when none
	lost    bool    // some event has been evicted
}

func newRing(capacity int) *ring { return &ring{buf: make([]Event, capacity)} }

// first is the sequence number of the oldest event held (last+1 when
// empty).
func (r *ring) first() uint64 { return r.last - uint64(r.n) + 1 }

// push appends e (whose LocalSeq is set here), evicting the oldest event
// when full.
func (r *ring) push(e Event) {
	r.last++
	e.LocalSeq, e.enc = r.last, new(encoding)
	if r.n == len(r.buf) {
		r.evicted, r.lost = r.buf[r.start].Index, true
		r.buf[r.start] = e
		r.start = (r.start + 1) % len(r.buf)
		return
	}
	r.buf[(r.start+r.n)%len(r.buf)] = e
	r.n++
}

// after returns a copy of the events with sequence > seq, oldest first,
// stopping before the first one stamped after maxIndex.
func (r *ring) after(seq, maxIndex uint64) []Event {
	var out []Event
	for s := max(seq+1, r.first()); s <= r.last; s++ {
		e := r.buf[(r.start+int(s-r.first()))%len(r.buf)]
		if e.Index > maxIndex {
			break
		}
		out = append(out, e)
	}
	return out
}

// lastBefore returns the sequence number of the newest event stamped
// before index, or the sequence before the oldest event held.
func (r *ring) lastBefore(index uint64) uint64 {
	seq := r.first() - 1
	for s := r.first(); s <= r.last; s++ {
		if r.buf[(r.start+int(s-r.first()))%len(r.buf)].Index >= index {
			break
		}
		seq = s
	}
	return seq
}
