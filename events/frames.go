package events

import (
	"strings"
	"sync"
)

// maxFrameSets bounds the encodings a batch keeps: streams of more
// different shapes encode the batch each for itself.
const maxFrameSets = 8

// frameGuess is about the size of an event's frame, to size a batch's.
const frameGuess = 512

// frameKey is what a stream's frames of a batch depend on: its filter,
// its format and its position before the batch.
type frameKey struct {
	filter string
	format Format
	pos    position
}

// frameSet is a batch framed for one shape of stream, shared by every
// subscriber of that shape: read-only once built.
type frameSet struct {
	key  frameKey
	data []byte
	n    int      // events in data
	pos  position // the position after the batch
	last Cursor   // the last ID in data, when hasLast
	has  bool
}

// frameCache holds a batch's frame sets.
type frameCache struct {
	mu   sync.Mutex
	sets []*frameSet
}

// filterKey identifies a filter for sharing frames (filters that admit
// the same events but are written differently do not share).
func filterKey(f Filter) string {
	var b strings.Builder
	for _, t := range f.Topics {
		b.WriteString(string(t))
		b.WriteByte(',')
	}
	b.WriteByte(0)
	b.WriteString(f.WorkOrder)
	return b.String()
}

// frames returns bt framed as f for s at its position, building and
// keeping it when no subscriber of the same shape has yet, and moves s
// past the batch. Subscribers woken by the same round wait for the first
// of them to build it rather than each building their own.
func (s *Subscription) frames(bt *batch, f Format) *frameSet {
	key := frameKey{filter: s.fkey, format: f, pos: s.pos}
	c := &bt.frames
	c.mu.Lock()
	var fs *frameSet
	for _, x := range c.sets {
		if x.key == key {
			fs = x
			break
		}
	}
	if fs == nil {
		fs = &frameSet{key: key}
		var picks []picked
		picks, fs.pos = s.pick(s.picks[:0], bt.items, s.pos)
		fs.data = make([]byte, 0, len(picks)*frameGuess)
		for _, p := range picks {
			fs.data = bt.items[p.i].appendFrame(fs.data, f, p.id, p.has)
			if p.has {
				fs.last, fs.has = p.id, true
			}
		}
		fs.n = len(picks)
		s.picks = picks[:0]
		if len(c.sets) < maxFrameSets {
			c.sets = append(c.sets, fs)
		}
	}
	c.mu.Unlock()
	s.pos = fs.pos
	if fs.has {
		s.last = fs.last
	}
	return fs
}

// Frames is AppendFrames without copying: it appends to dst the events
// available now framed as f, as byte slices to write in order, and
// returns the extended list, the number of events and whether the stream
// goes on. The slices are shared with other subscribers and must not be
// modified; they stay valid.
func (s *Subscription) Frames(dst [][]byte, f Format) ([][]byte, int, bool) {
	var own []byte // frames of replayed events, this subscriber's own
	n := 0
	ok := s.read(func(e *Event, id Cursor, has bool) {
		own = e.appendFrame(own, f, id, has)
		n++
	}, func(bt *batch) int {
		if len(own) > 0 {
			dst, own = append(dst, own), nil
		}
		fs := s.frames(bt, f)
		if len(fs.data) > 0 {
			dst = append(dst, fs.data)
		}
		n += fs.n
		return fs.n
	})
	if len(own) > 0 {
		dst = append(dst, own)
	}
	return dst, n, ok
}
