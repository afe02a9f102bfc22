package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// takeOverStream takes an HTTP/1 stream's connection over from net/http
// (Hijack), so that each flush of the stream is one writev of the frames
// it shares with other streams, copying nothing: through
// http.ResponseWriter they would be copied into one buffer first, or
// written with a system call each. It writes the response head itself,
// hdr with "Connection: close": the body ends when the connection
// closes, as for any stream. The returned context is done when the
// client closes the connection, not when the server stops (the broker
// ends the stream then, and httpServer.stop waits for it); release closes
// the connection and waits for the goroutine that watches it. Where the
// connection cannot be taken over (HTTP/2) it fails with an error
// wrapping http.ErrNotSupported, having touched nothing; any other error
// means the connection was taken over and is closed now.
func (s *httpServer) takeOverStream(ctx context.Context, w http.ResponseWriter, rc *http.ResponseController, hdr http.Header) (net.Conn, context.Context, func(), error) {
	conn, brw, err := rc.Hijack()
	if err != nil {
		return nil, ctx, nil, err
	}
	if !s.streams.add(conn) { // the server is stopping
		_ = conn.Close()
		return nil, ctx, nil, errStopping
	}
	if sw, ok := w.(*statusWriter); ok {
		sw.status = http.StatusOK // for the access log and the metrics
	}
	hdr.Set("Connection", "close")
	hdr.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	_ = conn.SetWriteDeadline(time.Now().Add(streamWriteStall))
	_, _ = brw.WriteString("HTTP/1.1 200 OK\r\n")
	_ = hdr.Write(brw)
	_, _ = brw.WriteString("\r\n")
	if err := brw.Flush(); err != nil {
		_ = conn.Close()
		s.streams.remove(conn)
		return nil, ctx, nil, err
	}
	_ = conn.SetReadDeadline(time.Time{})
	// The request's context ends when the server stops; the stream ends
	// then with the broker's shutdown cutoff, which it still writes.
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		_, _ = io.Copy(io.Discard, brw.Reader) // until the client or release closes it
		cancel()
	}()
	release := func() {
		_ = conn.Close()
		<-gone // the goroutine has cancelled ctx
		s.streams.remove(conn)
	}
	return conn, ctx, release, nil
}

// writeConn writes the buffered frames and the stream's own bytes to the
// taken-over connection with one writev.
func (sw *streamWriter) writeConn() error {
	sw.vec = append(append(sw.vec[:0], sw.frames...), sw.buf)
	v := sw.vec // WriteTo consumes v
	_, err := v.WriteTo(sw.conn)
	clear(sw.vec)
	return err
}

// errStopping refuses a stream's takeover once the server is stopping.
var errStopping = errors.New("node: http server stopping")

// takenOver tracks the connections of event streams taken over from
// net/http, which http.Server.Shutdown no longer waits for nor closes.
type takenOver struct {
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	closing bool
	empty   chan struct{} // closed once closing and no connection is left
}

// add registers conn; false once close has begun.
func (t *takenOver) add(conn net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing {
		return false
	}
	if t.conns == nil {
		t.conns = map[net.Conn]struct{}{}
	}
	t.conns[conn] = struct{}{}
	return true
}

// remove forgets conn, once its stream has ended and closed it.
func (t *takenOver) remove(conn net.Conn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.conns, conn)
	if t.closing && len(t.conns) == 0 && t.empty != nil {
		close(t.empty)
		t.empty = nil
	}
}

// close refuses new takeovers and waits for the streams to end (the
// broker ends them when the node stops) until ctx is done; then it closes
// the connections left, which ends their streams at once.
func (t *takenOver) close(ctx context.Context) error {
	t.mu.Lock()
	t.closing = true
	if len(t.conns) == 0 {
		t.mu.Unlock()
		return nil
	}
	empty := make(chan struct{})
	t.empty = empty
	t.mu.Unlock()
	select {
	case <-empty:
		return nil
	case <-ctx.Done():
	}
	t.mu.Lock()
	for c := range t.conns {
		_ = c.Close()
	}
	t.mu.Unlock()
	return fmt.Errorf("http: waiting for event streams: %w", ctx.Err())
}
