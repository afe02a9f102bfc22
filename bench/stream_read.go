package bench

import (
	"bytes"
	"io"
	"sync/atomic"
)

// sseCounter counts the events of an SSE stream exactly without parsing
// them, so that the subscribers cost the process that also runs the
// cluster as little as they can: it reads into one large buffer and
// scans each read with a few vectorized searches. Every event the
// server sends has exactly one "data:" line, and every line but the
// first ("retry:") follows a newline, so the events are the occurrences
// of "\ndata: ". Each read is scanned up to its last newline (exclusive);
// the rest, from that newline on, is moved to the front of the buffer
// and scanned with the next read, so no occurrence is split or counted
// twice, and every line lies whole in one scanned region.
type sseCounter struct {
	buf     []byte
	events  uint64 // "data:" lines
	cutoffs uint64 // "cutoff" events
	slow    uint64 // … with code slow_consumer
	last    string // the last "id:" value seen
	// total, when set, is also added every event as it is counted, so
	// that the count is live while the stream goes on.
	total *atomic.Uint64
	// tail is the last cutoffWindow bytes scanned: at the end of the
	// stream, it holds the cutoff event, if any (the last event).
	tail []byte
}

// cutoffWindow bounds how far from the end of the stream a cutoff
// event's data line can start: it is the stream's last event, and far
// shorter than this.
const cutoffWindow = 4 << 10

var (
	dataLine   = []byte("\ndata: ")
	idLine     = []byte("id: ")
	cutoffType = []byte(`"type":"cutoff"`) // cannot occur inside a JSON string
	slowCode   = []byte(`"code":"slow_consumer"`)
)

func newSSECounter(size int) *sseCounter {
	return &sseCounter{buf: make([]byte, 0, size), tail: make([]byte, 0, cutoffWindow)}
}

// readFrom counts r's events until r ends, and returns its error (nil at
// io.EOF).
func (c *sseCounter) readFrom(r io.Reader) error {
	c.buf = append(c.buf[:0], '\n') // the stream's first line follows no newline
	for {
		n, err := r.Read(c.buf[len(c.buf):cap(c.buf)])
		c.buf = c.buf[:len(c.buf)+n]
		end := bytes.LastIndexByte(c.buf, '\n')
		if err != nil {
			end = len(c.buf) // the stream ended: scan everything
		}
		region := c.buf[:end]
		c.scan(region)
		c.keepTail(region)
		if err != nil {
			c.findCutoff(c.tail)
			if err == io.EOF {
				return nil
			}
			return err
		}
		c.buf = c.buf[:copy(c.buf, c.buf[end:])]
		if len(c.buf) == cap(c.buf) { // one line longer than the buffer
			c.buf = append(c.buf, make([]byte, cap(c.buf))...)[:len(c.buf)]
		}
	}
}

// scan counts the events of region, a run of whole lines each preceded
// by its newline, and notes the last ID.
func (c *sseCounter) scan(region []byte) {
	n := uint64(bytes.Count(region, dataLine))
	c.events += n
	if c.total != nil && n > 0 {
		c.total.Add(n)
	}
	for end := len(region); end > 0; { // the last "id:" line, line by line from the end
		i := bytes.LastIndexByte(region[:end], '\n')
		if line := region[i+1 : end]; bytes.HasPrefix(line, idLine) {
			c.last = string(line[len(idLine):])
			return
		}
		end = i
	}
}

// keepTail appends region to the tail and keeps its last cutoffWindow
// bytes.
func (c *sseCounter) keepTail(region []byte) {
	if len(region) >= cutoffWindow {
		c.tail = append(c.tail[:0], region[len(region)-cutoffWindow:]...)
		return
	}
	if drop := len(c.tail) + len(region) - cutoffWindow; drop > 0 {
		c.tail = c.tail[:copy(c.tail, c.tail[drop:])]
	}
	c.tail = append(c.tail, region...)
}

// findCutoff counts the cutoff event in win, if any.
func (c *sseCounter) findCutoff(win []byte) {
	i := bytes.Index(win, cutoffType)
	if i < 0 {
		return
	}
	c.cutoffs++
	line := win[i:]
	if j := bytes.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	if bytes.Contains(line, slowCode) {
		c.slow++
	}
}
