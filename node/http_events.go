package node

import (
	"context"
	"errors"
	"net"
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

	// streamCoalesce is the least time between two writes of a stream
	// that are not full; batchBytes, a full write; maxStreamBuf, the
	// buffer of its own a stream keeps between writes.
	streamCoalesce = 100 * time.Millisecond
	batchBytes     = 512 << 10
	maxStreamBuf   = 1 << 20

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
	// The stream closes the subscription when it ends (defer below);
	// at shutdown, the broker ends it first with a cutoff saying why.
	sub, err := eb.Events().Subscribe(context.WithoutCancel(r.Context()), sq.filter, sq.from)
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
	sw := &streamWriter{w: w, rc: rc, format: events.FormatSSE, buf: make([]byte, 0, 16<<10)}
	if sq.ndjson {
		sw.format = events.FormatNDJSON
		hdr.Set("Content-Type", contentTypeNDJSON)
	} else {
		hdr.Set("Content-Type", contentTypeSSE+"; charset=utf-8")
	}
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no")
	ctx := r.Context()
	if r.ProtoMajor == 1 {
		conn, cctx, release, err := s.takeOverStream(ctx, w, rc, hdr)
		switch {
		case err == nil:
			defer release()
			sw.conn, ctx = conn, cctx
		case errors.Is(err, http.ErrNotSupported):
			// Not chunked: the body ends when the connection closes, as
			// the SSE specification suggests, and each write is one
			// system call instead of three (chunk header, data, chunk
			// end), waking the client once per write.
			hdr.Set("Transfer-Encoding", "identity")
		default: // taken over, then lost or refused: nothing more to write
			return
		}
	}
	if sw.conn == nil {
		w.WriteHeader(http.StatusOK)
	}
	if !sq.ndjson {
		sw.buf = append(sw.buf, "retry: "+strconv.FormatInt(sseRetry.Milliseconds(), 10)+"\n: hive event stream\n\n"...)
	}
	if !sw.flush() {
		return
	}
	s.followStream(ctx, sub, sw, sq.heartbeat)
}

// followStream writes sub's events to sw until the stream or the client
// ends. Writes are coalesced: after a write of less than batchBytes the
// stream waits streamCoalesce before the next, so that a busy stream
// costs a few writes per second, each carrying many events, whatever
// the commit rate.
func (s *httpServer) followStream(ctx context.Context, sub *events.Subscription, sw *streamWriter, heartbeat time.Duration) {
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	pause := time.NewTimer(0)
	defer pause.Stop()
	<-pause.C
	var last time.Time // of the last write that was not full
	for {
		select {
		case <-sub.Ready():
		case <-tick.C:
			sw.heartbeat(s.appliedIndex())
			if !sw.flush() {
				return
			}
			continue
		case <-ctx.Done():
			return
		}
		if d := streamCoalesce - time.Since(last); !last.IsZero() && d > 0 {
			pause.Reset(d)
			select {
			case <-pause.C:
			case <-ctx.Done():
				return
			}
		}
		var open bool
		sw.frames, _, open = sub.Frames(sw.frames, sw.format)
		if !open {
			if fin := sub.Final(); fin != nil {
				sw.buf = fin.AppendFrame(sw.buf, sw.format)
			}
			sw.flush()
			return
		}
		size := 0
		for _, f := range sw.frames {
			size += len(f)
		}
		if size == 0 {
			continue
		}
		last = time.Time{}
		if size < batchBytes {
			last = time.Now()
		}
		if !sw.flush() {
			return
		}
		tick.Reset(heartbeat)
	}
}

// appliedIndex is the local applied index, for heartbeats.
func (s *httpServer) appliedIndex() uint64 {
	if n, ok := s.b.(*Node); ok {
		return n.fsm.AppliedIndex()
	}
	return 0
}

// streamWriter holds a stream's frames until they are written and
// flushed, once per batch.
type streamWriter struct {
	w      http.ResponseWriter
	rc     *http.ResponseController
	conn   net.Conn // the connection, once taken over (takeOverStream); nil: write through w
	format events.Format
	// frames are shared with other streams (Subscription.Frames): they
	// are read, never changed.
	frames   [][]byte
	buf      []byte      // this stream's own bytes, written after the frames
	vec      net.Buffers // frames and buf for one writev to conn
	deadline time.Time   // the write deadline set last
}

// heartbeat appends an SSE comment, or an NDJSON heartbeat event.
func (sw *streamWriter) heartbeat(index uint64) {
	if sw.format == events.FormatNDJSON {
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
	// Each write may take from streamWriteStall/2 to streamWriteStall:
	// moving the deadline at every flush would cost a timer update each.
	if now := time.Now(); sw.deadline.Sub(now) < streamWriteStall/2 {
		sw.deadline = now.Add(streamWriteStall)
		if sw.conn != nil {
			_ = sw.conn.SetWriteDeadline(sw.deadline)
		} else {
			_ = sw.rc.SetWriteDeadline(sw.deadline)
		}
	}
	var err error
	if sw.conn != nil {
		err = sw.writeConn()
	} else {
		err = sw.writeResponse()
	}
	clear(sw.frames)
	sw.frames = sw.frames[:0]
	if cap(sw.buf) > maxStreamBuf {
		sw.buf = nil // do not keep a burst's buffer for the life of the stream
	} else {
		sw.buf = sw.buf[:0]
	}
	if err != nil {
		return false
	}
	return sw.conn != nil || sw.rc.Flush() == nil
}

// writeResponse writes the buffered frames and the stream's own bytes
// through the ResponseWriter, where the connection could not be taken
// over (HTTP/2: the frames go out as data frames anyway).
func (sw *streamWriter) writeResponse() error {
	for _, f := range append(sw.frames, sw.buf) {
		if len(f) == 0 {
			continue
		}
		if _, err := sw.w.Write(f); err != nil {
			return err
		}
	}
	return nil
}
