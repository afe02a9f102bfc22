package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// rawClient is the load generator's own HTTP/1.1 client for plain http
// targets. The nodes and the load generator share the machine's CPUs, so
// every microsecond the client spends per request is taken from the
// cluster being measured; net/http's client costs two goroutines and
// several channel handoffs per request. rawClient gives each worker its
// own keep-alive connection per node, writes a request with one system
// call and parses only what it needs of the answer (status, length,
// chunked bodies, Connection: close). The nodes see ordinary HTTP/1.1.
type rawClient struct {
	hosts   []string // host:port per node
	heads   [][]byte // per node: the request head up to the Content-Length value
	timeout time.Duration
	slots   [][]*rawConn // [worker][node]; a slot is used by its worker only
}

// rawConn is one keep-alive connection.
type rawConn struct {
	c    net.Conn
	br   *bufio.Reader
	buf  []byte // request being written
	used bool   // served a request before: a failure may be a stale keep-alive
}

// aLongTimeAgo makes every pending read and write fail at once.
var aLongTimeAgo = time.Unix(1, 0)

// maxErrorBody bounds how much of a failed request's answer is kept.
const maxErrorBody = 64 << 10

func newRawClient(hosts []string, path string, clients int, timeout time.Duration) *rawClient {
	c := &rawClient{hosts: hosts, timeout: timeout, slots: make([][]*rawConn, clients)}
	for i := range c.slots {
		c.slots[i] = make([]*rawConn, len(hosts))
	}
	for _, h := range hosts {
		c.heads = append(c.heads, []byte("POST "+path+" HTTP/1.1\r\nHost: "+h+
			"\r\nUser-Agent: hive-bench\r\nContent-Type: application/json\r\nContent-Length: "))
	}
	return c
}

// post sends body to node on behalf of worker and returns the status and,
// unless it is 201, the answer's body.
func (c *rawClient) post(ctx context.Context, worker, node int, body []byte) (int, []byte, error) {
	for attempt := 0; ; attempt++ {
		rc := c.slots[worker][node]
		fresh := rc == nil
		if fresh {
			d := net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
			conn, err := d.DialContext(ctx, "tcp", c.hosts[node])
			if err != nil {
				return 0, nil, err
			}
			rc = &rawConn{c: conn, br: bufio.NewReaderSize(conn, 4096)}
			c.slots[worker][node] = rc
		}
		status, resp, keep, started, err := c.roundTrip(ctx, rc, node, body)
		if err == nil && keep {
			rc.used = true
			return status, resp, nil
		}
		_ = rc.c.Close()
		c.slots[worker][node] = nil
		if err == nil {
			return status, resp, nil
		}
		// A keep-alive connection the server closed meanwhile fails before
		// any answer; the request carries its idempotency key, so sending
		// it again on a new connection is safe.
		if !fresh && rc.used && !started && attempt == 0 && ctx.Err() == nil {
			continue
		}
		return 0, nil, err
	}
}

// roundTrip writes one request and reads its answer. keep reports whether
// the connection may be reused; started whether any of the answer came.
func (c *rawClient) roundTrip(ctx context.Context, rc *rawConn, node int, body []byte) (status int, resp []byte, keep, started bool, err error) {
	deadline := time.Now().Add(c.timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	if err := rc.c.SetDeadline(deadline); err != nil {
		return 0, nil, false, false, err
	}
	stop := context.AfterFunc(ctx, func() { _ = rc.c.SetDeadline(aLongTimeAgo) })
	defer stop()

	b := append(rc.buf[:0], c.heads[node]...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	b = append(b, body...)
	rc.buf = b
	if _, err := rc.c.Write(b); err != nil {
		return 0, nil, false, false, ctxOr(ctx, err)
	}
	for {
		status, resp, keep, started, err = readResponse(rc.br, status != 0)
		if err != nil {
			return 0, nil, false, started, ctxOr(ctx, err)
		}
		if status >= 200 {
			return status, resp, keep, true, nil
		}
		// 1xx: an interim answer; the final one follows.
	}
}

// ctxOr prefers the context's error to the I/O error it caused.
func ctxOr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	return err
}

var errMalformed = errors.New("bench: malformed HTTP answer")

// readResponse reads one answer. Only a non-201 answer's body is kept (up
// to maxErrorBody). started reports whether any byte was read; seen is
// true when an earlier interim answer was read.
func readResponse(br *bufio.Reader, seen bool) (status int, body []byte, keep, started bool, err error) {
	line, err := br.ReadSlice('\n')
	started = seen || len(line) > 0
	if err != nil {
		return 0, nil, false, started, err
	}
	line = bytes.TrimRight(line, "\r\n")
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, nil, false, true, fmt.Errorf("%w: status line %q", errMalformed, line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, nil, false, true, fmt.Errorf("%w: status line %q", errMalformed, line)
	}
	keep = line[7] == '1' // HTTP/1.1 keeps the connection unless told otherwise
	length, chunked := int64(-1), false
	for {
		h, err := br.ReadSlice('\n')
		if err != nil {
			return 0, nil, false, true, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return 0, nil, false, true, fmt.Errorf("%w: header %q", errMalformed, h)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.ParseInt(string(value), 10, 64); err != nil || length < 0 {
				return 0, nil, false, true, fmt.Errorf("%w: Content-Length %q", errMalformed, value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			if bytes.EqualFold(value, []byte("close")) {
				keep = false
			} else if bytes.EqualFold(value, []byte("keep-alive")) {
				keep = true
			}
		}
	}
	if status < 200 || status == 204 || status == 304 {
		return status, nil, keep, true, nil
	}
	sink := &limitedBuffer{max: maxErrorBody, discard: status == 201}
	switch {
	case chunked:
		err = readChunked(br, sink)
	case length >= 0:
		err = sink.readN(br, length)
	default:
		_, err = io.Copy(sink, br) // the answer ends with the connection
		keep = false
	}
	if err != nil {
		return 0, nil, false, true, err
	}
	return status, sink.b, keep, true, nil
}

// readChunked reads a chunked body into w and consumes its trailer.
func readChunked(br *bufio.Reader, w *limitedBuffer) error {
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: chunk size %q", errMalformed, line)
		}
		if n == 0 {
			for { // trailer lines, then the empty line
				t, err := br.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(bytes.TrimRight(t, "\r\n")) == 0 {
					return nil
				}
			}
		}
		if err := w.readN(br, n); err != nil {
			return err
		}
		if _, err := br.Discard(2); err != nil { // CRLF after the chunk
			return err
		}
	}
}

// limitedBuffer keeps the first max bytes written to it, or none.
type limitedBuffer struct {
	b       []byte
	max     int
	discard bool
}

// readN reads n bytes from br, keeping what fits.
func (l *limitedBuffer) readN(br *bufio.Reader, n int64) error {
	for n > 0 {
		if l.discard || len(l.b) >= l.max {
			_, err := br.Discard(int(n))
			return err
		}
		chunk := int(min(n, int64(l.max-len(l.b))))
		start := len(l.b)
		l.b = append(l.b, make([]byte, chunk)...)
		if _, err := io.ReadFull(br, l.b[start:]); err != nil {
			return err
		}
		n -= int64(chunk)
	}
	return nil
}

// Write implements io.Writer.
func (l *limitedBuffer) Write(p []byte) (int, error) {
	if !l.discard {
		if room := l.max - len(l.b); room > 0 {
			l.b = append(l.b, p[:min(room, len(p))]...)
		}
	}
	return len(p), nil
}

// Close closes every connection. It must not run concurrently with post.
func (c *rawClient) Close() {
	for _, row := range c.slots {
		for i, rc := range row {
			if rc != nil {
				_ = rc.c.Close()
				row[i] = nil
			}
		}
	}
}
