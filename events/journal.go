package events

// batch is the events of one dispatch round, in stream order: whole raft
// indexes, with the node-local events placed among them (collect). It
// is shared by every live subscriber and never changes once journaled.
type batch struct {
	items []Event
	start uint64 // journal offset of items[0]
	// The dispatcher's position before and after the batch: receipts
	// up to rcpt and node-local events up to local were dispatched.
	fromRcpt, fromLocal uint64
	rcpt, local         uint64
	frames              frameCache // the batch framed for each shape of stream reading it
}

// end is the journal offset after the batch.
func (b *batch) end() uint64 { return b.start + uint64(len(b.items)) }

// journal keeps the latest batches for the live subscribers to read at
// their own pace, each from its own offset. Offsets count events since
// the broker started and never repeat. A batch is dropped once it began
// more than limit events before the newest one: every subscriber still
// needing it has been cut off by then (see Broker.round). Guarded by
// Broker.mu.
type journal struct {
	limit   int
	batches []*batch // oldest first
	total   uint64   // offset after the newest event
	// The dispatcher's position at the start of the oldest batch held
	// (when none is held: its current position).
	baseRcpt, baseLocal uint64
}

// reset empties the journal; the next batch follows position
// (rcpt, local).
func (j *journal) reset(rcpt, local uint64) {
	clear(j.batches)
	j.batches = j.batches[:0]
	j.baseRcpt, j.baseLocal = rcpt, local
}

// push appends a batch of items that takes the dispatcher to position
// (rcpt, local), drops the batches nobody may read any more, and
// returns the new batch.
func (j *journal) push(items []Event, rcpt, local uint64) *batch {
	b := &batch{items: items, start: j.total, rcpt: rcpt, local: local, fromRcpt: j.baseRcpt, fromLocal: j.baseLocal}
	if n := len(j.batches); n > 0 {
		b.fromRcpt, b.fromLocal = j.batches[n-1].rcpt, j.batches[n-1].local
	}
	j.total = b.end()
	j.batches = append(j.batches, b)
	drop := 0
	for drop < len(j.batches)-1 && b.start-j.batches[drop].start > uint64(j.limit) {
		drop++
	}
	if drop > 0 {
		j.baseRcpt, j.baseLocal = j.batches[drop-1].rcpt, j.batches[drop-1].local
		clear(j.batches[:drop])
		j.batches = append(j.batches[:0], j.batches[drop:]...)
	}
	return b
}

// first is the offset of the oldest event held (total when none).
func (j *journal) first() uint64 {
	if len(j.batches) == 0 {
		return j.total
	}
	return j.batches[0].start
}

// from appends to dst the batches from offset off on, holding at least
// one batch and then up to about most events, and returns them with the
// offset after them; ok is false when off is no longer held.
func (j *journal) from(dst []*batch, off uint64, most int) ([]*batch, uint64, bool) {
	if off < j.first() {
		return dst, off, false
	}
	n := 0
	for _, b := range j.batches {
		if b.start < off {
			continue
		}
		if n > 0 && n+len(b.items) > most {
			break
		}
		dst = append(dst, b)
		n += len(b.items)
		off = b.end()
	}
	return dst, off, true
}

// resumeAt returns the offset from which a subscriber at position
// (rcpt, local) reads the journal, and false when the journal no
// longer holds everything after that position.
func (j *journal) resumeAt(rcpt, local uint64) (uint64, bool) {
	if rcpt < j.baseRcpt || local < j.baseLocal {
		return 0, false
	}
	for _, b := range j.batches {
		if b.rcpt > rcpt || b.local > local {
			return b.start, true
		}
	}
	return j.total, true
}
