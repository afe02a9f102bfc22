package node

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hive-swarm/hive/events"
)

// Event stream parameters.
const (
	// defaultHeartbeat is how often an idle stream sends a heartbeat, so
	// that proxies and load balancers do not time it out.
	defaultHeartbeat = 15 * time.Second
	minHeartbeat     = 100 * time.Millisecond
	maxHeartbeat     = 5 * time.Minute
	// streamWriteStall bounds one write to a stream's client: a client
	// that reads nothing for this long is disconnected.
	streamWriteStall = 30 * time.Second
	// sseRetry is the reconnection delay suggested to SSE clients.
	sseRetry = 2 * time.Second

	// batchBytes is how much a stream buffers from its subscription
	// before writing it; maxStreamBuf, the buffer it keeps between writes.
	batchBytes   = 64 << 10
	maxStreamBuf = 128 << 10

	contentTypeSSE    = "text/event-stream"
	contentTypeNDJSON = "application/x-ndjson"
)

// eventsBackend is implemented by *Node; the stream answers 501 on a
// backend without it (unit-test backends).
type eventsBackend interface{ Events() *events.Broker }

// streamQuery is a parsed GET /v1/events request.
type streamQuery struct {
	filter    events.Filter
	from      *events.Cursor
	ndjson    bool
	heartbeat time.Duration
}

// parseStreamQuery reads the filters, the resume point and the format:
// topic (repeatable or comma-separated), workorder, index (start at this
// raft index) or after (resume after this cursor; also the Last-Event-ID
// header), format (sse or ndjson; also the Accept header) and heartbeat
// (a duration).
func parseStreamQuery(r *http.Request) (*streamQuery, error) {
	q := r.URL.Query()
	for k, vs := range q {
		switch k {
		case "topic":
		case "workorder", "index", "after", "format", "heartbeat":
			if len(vs) > 1 {
				return nil, invalidArg("%s: given %d times", k, len(vs))
			}
		default:
			return nil, invalidArg("%s: unknown query parameter (known: topic, workorder, index, after, format, heartbeat)", k)
		}
	}
	sq := &streamQuery{heartbeat: defaultHeartbeat}
	for _, v := range q["topic"] {
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				sq.filter.Topics = append(sq.filter.Topics, events.Topic(t))
			}
		}
	}
	if err := sq.filter.Validate(); err != nil {
		return nil, invalidArg("topic: %s", strings.TrimPrefix(err.Error(), "events: "))
	}
	sq.filter.WorkOrder = q.Get("workorder")
	after := q.Get("after")
	if after == "" {
		after = r.Header.Get("Last-Event-ID")
	}
	if q.Has("index") && after != "" {
		return nil, invalidArg("index: cannot be combined with after or Last-Event-ID")
	}
	if after != "" {
		c, err := events.ParseCursor(after)
		if err != nil {
			return nil, invalidArg("after: %q is not an event id (want N or N.L)", after)
		}
		sq.from = &c
	}
	if q.Has("index") {
		n, err := parseUintParam(q, "index")
		if err != nil {
			return nil, err
		}
		sq.from = &events.Cursor{Index: max(n, 1) - 1}
	}
	switch f := q.Get("format"); f {
	case "sse":
	case "ndjson":
		sq.ndjson = true
	case "":
		sq.ndjson = strings.Contains(r.Header.Get("Accept"), contentTypeNDJSON)
	default:
		return nil, invalidArg("format: want sse or ndjson, got %q", f)
	}
	if h := q.Get("heartbeat"); h != "" {
		d, err := time.ParseDuration(h)
		if err != nil || d < minHeartbeat || d > maxHeartbeat {
			return nil, invalidArg("heartbeat: want a duration from %s to %s, got %q", minHeartbeat, maxHeartbeat, h)
		}
		sq.heartbeat = d
	}
	return sq, nil
}

// streamEvents handles GET /v1/events and GET /api/stream: the event
// stream as SSE (default) or NDJSON, from this node's state.
func (s *httpServer) streamEvents(w http.ResponseWriter, r *http.Request) {
	eb, ok := s.b.(eventsBackend)
	if !ok || eb.Events() == nil {
		writeError(w, http.StatusNotImplemented, "unavailable", "this node has no event stream")
		return
	}
	sq, err := parseStreamQuery(r)
	if err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	sub, err := eb.Events().Subscribe(r.Context(), sq.filter, sq.from)
	if errors.Is(err, events.ErrClosed) {
		writeError(w, http.StatusServiceUnavailable, "shutting_down", "the node is shutting down")
		return
	}
	if errors.Is(err, events.ErrTooManySubscribers) {
		writeError(w, http.StatusServiceUnavailable, "too_many_streams", "this node serves as many event streams as it may; try another node")
		return
	}
	if err != nil {
		writeAPIError(w, invalidArg("%s", err.Error()))
		return
	}
	defer sub.Close()

	rc := http.NewResponseController(w)
	// A stream outlives the server's read and write timeouts; each write
	// gets its own deadline instead.
	_ = rc.SetReadDeadline(time.Time{})
	hdr := w.Header()
	if sq.ndjson {
		hdr.Set("Content-Type", contentTypeNDJSON)
	} else {
		hdr.Set("Content-Type", contentTypeSSE+"; charset=utf-8")
	}
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	sw := &streamWriter{w: w, rc: rc, ndjson: sq.ndjson, buf: make([]byte, 0, 16<<10)}
	if !sq.ndjson {
		sw.buf = append(sw.buf, "retry: "+strconv.FormatInt(sseRetry.Milliseconds(), 10)+"\n: hive event stream\n\n"...)
	}
	if !sw.flush() {
		return
	}
	tick := time.NewTicker(sq.heartbeat)
	defer tick.Stop()
	for {
		select {
		case e, ok := <-sub.C():
			if !ok {
				if fin := sub.Final(); fin != nil {
					sw.event(fin)
					sw.flush()
				}
				return
			}
			sw.event(&e)
			// Batch what is already waiting: this handler is the only
			// receiver, so len events can be received without blocking.
			for n := len(sub.C()); n > 0 && len(sw.buf) < batchBytes; n-- {
				e := <-sub.C()
				sw.event(&e)
			}
			if !sw.flush() {
				return
			}
			tick.Reset(sq.heartbeat)
		case <-tick.C:
			sw.heartbeat(s.appliedIndex())
			if !sw.flush() {
				return
			}
		case <-r.Context().Done():
			return
		}
	}
}

// appliedIndex is the local applied index, for heartbeats.
func (s *httpServer) appliedIndex() uint64 {
	if n, ok := s.b.(*Node); ok {
		return n.fsm.AppliedIndex()
	}
	return 0
}

// streamWriter frames events as SSE or NDJSON into one buffer, written
// and flushed once per batch.
type streamWriter struct {
	w      http.ResponseWriter
	rc     *http.ResponseController
	ndjson bool
	buf    []byte
}

// event appends one event. SSE: "id:" (when the event has one), "event:"
// and one "data:" line of JSON. The JSON payload is shared by every
// subscriber of the event (Event.AppendJSON).
func (sw *streamWriter) event(e *events.Event) {
	if sw.ndjson {
		sw.buf = append(e.AppendJSON(sw.buf), '\n')
		return
	}
	if e.ID != "" {
		sw.buf = append(sw.buf, "id: "...)
		sw.buf = append(sw.buf, e.ID...)
		sw.buf = append(sw.buf, '\n')
	}
	sw.buf = append(sw.buf, "event: "...)
	sw.buf = append(sw.buf, e.Type...)
	sw.buf = append(sw.buf, "\ndata: "...)
	sw.buf = e.AppendJSON(sw.buf)
	sw.buf = append(sw.buf, "\n\n"...)
}

// heartbeat appends an SSE comment, or an NDJSON heartbeat event.
func (sw *streamWriter) heartbeat(index uint64) {
	if sw.ndjson {
		sw.buf = append(sw.buf, `{"index":`...)
		sw.buf = strconv.AppendUint(sw.buf, index, 10)
		sw.buf = append(sw.buf, `,"topic":"stream","type":"heartbeat"}`+"\n"...)
		return
	}
	sw.buf = append(sw.buf, ": heartbeat "...)
	sw.buf = strconv.AppendUint(sw.buf, index, 10)
	sw.buf = append(sw.buf, "\n\n"...)
}

// flush writes and flushes what is buffered; false when the client is
// gone or stalled.
func (sw *streamWriter) flush() bool {
	_ = sw.rc.SetWriteDeadline(time.Now().Add(streamWriteStall))
	if len(sw.buf) > 0 {
		if _, err := sw.w.Write(sw.buf); err != nil {
			return false
		}
		if cap(sw.buf) > maxStreamBuf {
			sw.buf = nil // do not keep a burst's buffer for the life of the stream
		} else {
			sw.buf = sw.buf[:0]
		}
	}
	return sw.rc.Flush() == nil
}
