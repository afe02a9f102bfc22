package events

// picked is one event a subscriber receives out of a batch: its place in
// the batch and its ID (a subscriber's IDs depend on its filter).
type picked struct {
	i   int    // index in the batch
	id  Cursor // the event's ID, when has
	has bool
}

// pick appends to out the events of items that s has not processed yet
// and its filter admits, with their IDs, and returns the position after
// them. items is a merged batch (collect) of whole raft indexes. An
// event carries an ID only when the next event s receives is not of the
// same raft index (see the package doc).
func (s *Subscription) pick(out []picked, items []Event, pos position) ([]picked, position) {
	start := pos
	first := len(out)
	for i := range items {
		e := &items[i]
		if e.Topic == TopicStream { // a gap of node-local events
			if s.local {
				out = append(out, picked{i: i})
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
				out = append(out, picked{i: i, id: s.cursor(pos.done, pos.lseq), has: true})
			}
			continue
		}
		if e.Receipt <= start.rcpt {
			continue
		}
		pos.rcpt = e.Receipt
		if e.Index <= start.done { // before a cursor that was ahead of the chain
			continue
		}
		pos.done = max(pos.done, e.Index-1)
		if i+1 == len(items) || items[i+1].local() || items[i+1].Index != e.Index {
			pos.done = max(pos.done, e.Index)
		}
		if s.f.match(e) {
			out = append(out, picked{i: i, id: s.cursor(e.Index, pos.lseq), has: true})
		}
	}
	// Only the last receipt-derived event of an index keeps its ID.
	for j := first; j+1 < len(out); j++ {
		e, n := &items[out[j].i], &items[out[j+1].i]
		if out[j].has && !e.local() && !n.local() && n.Topic != TopicStream && n.Index == e.Index {
			out[j].has = false
		}
	}
	return out, pos
}

// cursor is the ID of position (index, lseq) on s's stream.
func (s *Subscription) cursor(index, lseq uint64) Cursor {
	if !s.local {
		lseq = 0
	}
	return Cursor{Index: index, Local: lseq, HasLocal: s.local}
}
