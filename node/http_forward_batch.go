package node

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hive-swarm/hive/api"
)

// Forwarded writes are coalesced: a follower queues the writes it must
// forward and sends them to the leader as one POST /v1/internal/forward
// per batch, with a few batches in flight, instead of one HTTP exchange
// per write. The leader serves every write of a batch through its own
// handlers, concurrently (so their proposals coalesce into few raft
// entries), and answers with each write's status, headers and body, which
// the follower relays. A client sees exactly the answer the leader would
// have given it directly. Reads, large writes and writes to a leader that
// predates batching go through the reverse proxy one by one.
const (
	pathForwardBatch = "/v1/internal/forward"

	fwdBatchMaxItems = 256      // writes per batch
	fwdBatchMaxBytes = 1 << 20  // a batch stops growing at about this encoded size
	fwdItemMaxBytes  = 64 << 10 // larger writes are proxied on their own
	fwdBatchInflight = 2        // batches in flight to the leader at once
	fwdQueueLen      = 1024     // writes waiting for a batch
	fwdMaxAnswer     = 16 << 20 // bound on any one field of a batch's answer
	// fwdMaxBatchBody is what the leader accepts: a full batch plus one
	// item that did not fit.
	fwdMaxBatchBody = fwdBatchMaxBytes + 2*fwdItemMaxBytes
	// fwdNoBatchFor is how long writes are proxied one by one after a
	// leader answered that it has no batch route.
	fwdNoBatchFor = time.Minute
	// fwdBatchTimeout bounds one batch, answers included, so that a
	// leader gone silent cannot hold a batch slot for ever; each write
	// on the leader gives up much earlier (ApplyTimeout).
	fwdBatchTimeout = time.Minute
)

// fwdItem is one write waiting to be forwarded in a batch.
type fwdItem struct {
	ctx    context.Context // the client's request
	target string          // the leader's base URL
	req    *fwdRequest
	size   int
	done   chan fwdResult // capacity 1
}

// fwdResult is what became of a forwarded write.
type fwdResult struct {
	resp     *fwdResponse
	fallback bool // the leader takes no batches: proxy the write alone
	err      error
}

func (it *fwdItem) finish(r fwdResult) { it.done <- r }

// forwardBatcher coalesces a follower's forwarded writes. Its goroutine
// starts with the first forwarded write and stops when ctx is done.
type forwardBatcher struct {
	ctx      context.Context // the server's; cancelled when it stops
	name     string          // this node, sent as X-Hive-Forwarded-By
	client   *http.Client
	queue    chan *fwdItem
	inflight chan struct{}
	noBatch  sync.Map // leader base URL → time.Time until which writes are proxied

	mu      sync.Mutex
	started bool
	stopped bool
	wg      sync.WaitGroup // run and the batches in flight
}

func newForwardBatcher(ctx context.Context, name string, tr http.RoundTripper) *forwardBatcher {
	return &forwardBatcher{
		ctx:      ctx,
		name:     name,
		client:   &http.Client{Transport: tr},
		queue:    make(chan *fwdItem, fwdQueueLen),
		inflight: make(chan struct{}, fwdBatchInflight),
	}
}

// start runs the batcher unless it runs already; it reports false once
// the batcher has been stopped.
func (b *forwardBatcher) start() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return false
	}
	if !b.started {
		b.started = true
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			b.run(b.ctx, &b.wg)
		}()
	}
	return true
}

// halt keeps the batcher from starting again.
func (b *forwardBatcher) halt() {
	b.mu.Lock()
	b.stopped = true
	b.mu.Unlock()
}

// stop halts the batcher and waits, until ctx is done, for its
// goroutines; they end once the server's context is cancelled.
func (b *forwardBatcher) stop(ctx context.Context) error {
	b.halt()
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("forwarder: %w", ctx.Err())
	}
}

// batchable reports whether a write of this size may go in a batch to
// the leader at target.
func (b *forwardBatcher) batchable(target string, r *http.Request, body []byte) bool {
	if len(body)+len(r.URL.RequestURI()) > fwdItemMaxBytes || len(r.Header) > fwdMaxHeaders-4 {
		return false
	}
	if until, ok := b.noBatch.Load(target); ok {
		if time.Now().Before(until.(time.Time)) {
			return false
		}
		b.noBatch.Delete(target)
	}
	return true
}

// run sends the queued writes in batches until ctx is done. A write whose
// handler gave up (its context is done) is dropped unsent.
func (b *forwardBatcher) run(ctx context.Context, wg *sync.WaitGroup) {
	var next *fwdItem // taken from the queue but left for the next batch
	for {
		first := next
		next = nil
		if first == nil {
			select {
			case first = <-b.queue:
			case <-ctx.Done():
				return
			}
		}
		select {
		case b.inflight <- struct{}{}:
		case <-ctx.Done():
			first.finish(fwdResult{err: ctx.Err()})
			return
		}
		batch, size := []*fwdItem{first}, first.size
	fill:
		for len(batch) < fwdBatchMaxItems {
			select {
			case it := <-b.queue:
				if it.target != first.target || size+it.size > fwdBatchMaxBytes {
					next = it
					break fill
				}
				batch = append(batch, it)
				size += it.size
			default:
				break fill
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-b.inflight }()
			b.send(ctx, batch)
		}()
	}
}

// send forwards one batch and hands every write its answer.
func (b *forwardBatcher) send(ctx context.Context, batch []*fwdItem) {
	live := batch[:0]
	for _, it := range batch {
		if err := it.ctx.Err(); err != nil {
			it.finish(fwdResult{err: err})
			continue
		}
		live = append(live, it)
	}
	if len(live) == 0 {
		return
	}
	fail := func(err error) {
		for _, it := range live {
			it.finish(fwdResult{err: err})
		}
	}
	reqs := make([]*fwdRequest, len(live))
	for i, it := range live {
		reqs[i] = it.req
	}
	target := live[0].target
	ctx, cancel := context.WithTimeout(ctx, fwdBatchTimeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, target+pathForwardBatch,
		bytes.NewReader(encodeFwdRequests(reqs)))
	if err != nil {
		fail(err)
		return
	}
	hreq.Header.Set("Content-Type", fwdContentType)
	hreq.Header.Set(headerForwardedBy, b.name)
	resp, err := b.client.Do(hreq)
	if err != nil {
		fail(err)
		return
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		// A leader without the batch route never looked at the writes:
		// each is proxied on its own.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		b.noBatch.Store(target, time.Now().Add(fwdNoBatchFor))
		for _, it := range live {
			it.finish(fwdResult{fallback: true})
		}
		return
	default:
		msg := "HTTP " + strconv.Itoa(resp.StatusCode)
		var eb api.ErrorBody
		if json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&eb) == nil && eb.Error != nil {
			msg += " " + eb.Error.Code + ": " + eb.Error.Message
		}
		fail(fmt.Errorf("the leader refused the batch: %s", msg))
		return
	}
	ar := &fwdAnswerReader{br: bufio.NewReader(resp.Body), max: fwdMaxAnswer}
	n, err := ar.start()
	if err == nil && n != len(live) {
		err = fmt.Errorf("%w: %d answers to %d writes", errFwdWire, n, len(live))
	}
	answered := make([]bool, len(live))
	for got := 0; err == nil && got < len(live); got++ {
		var i int
		var r *fwdResponse
		i, r, err = ar.next()
		switch {
		case err != nil:
		case i >= len(live) || answered[i]:
			err = fmt.Errorf("%w: unexpected answer to write %d", errFwdWire, i)
		default:
			answered[i] = true
			live[i].finish(fwdResult{resp: r})
		}
	}
	if err != nil {
		err = fmt.Errorf("reading the leader's answer: %w", err)
		for i, it := range live {
			if !answered[i] {
				it.finish(fwdResult{err: err})
			}
		}
	}
}

// hopHeaders are the hop-by-hop headers a proxy does not pass on.
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length"}

// submit queues the write q for the leader at target and waits for what
// became of it. It fails with ctx's error when ctx ends first (nothing
// was sent, or the write may still be applied) and with ErrShutdown when
// the batcher stops first (the write may have been dropped unsent, or
// the leader may still apply it). The caller has started the batcher.
func (b *forwardBatcher) submit(ctx context.Context, target string, q *fwdRequest) (fwdResult, error) {
	it := &fwdItem{
		ctx:    ctx,
		target: target,
		req:    q,
		size:   len(q.body) + len(q.uri) + 256,
		done:   make(chan fwdResult, 1),
	}
	select {
	case b.queue <- it:
	case <-ctx.Done():
		return fwdResult{}, ctx.Err()
	case <-b.ctx.Done():
		return fwdResult{}, ErrShutdown
	}
	select {
	case res := <-it.done:
		return res, nil
	case <-ctx.Done():
		return fwdResult{}, ctx.Err()
	case <-b.ctx.Done():
		return fwdResult{}, ErrShutdown
	}
}

// forwardBatched forwards a write to the leader at target in a batch and
// writes the leader's answer.
func (s *httpServer) forwardBatched(w http.ResponseWriter, r *http.Request, body []byte, reqID, leader, httpAddr, target string) {
	hdr := r.Header.Clone()
	for _, f := range hdr.Values("Connection") {
		for _, name := range strings.Split(f, ",") {
			hdr.Del(strings.TrimSpace(name))
		}
	}
	for _, h := range hopHeaders {
		hdr.Del(h)
	}
	hdr.Set(headerForwardedBy, s.b.Name())
	if reqID != "" && hdr.Get(headerIdempotencyKey) == "" {
		hdr.Set(headerIdempotencyKey, reqID)
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		hdr.Set("X-Forwarded-For", host)
	}
	if !s.batcher.start() {
		s.forwardFailed(w, r, leader, httpAddr, ErrShutdown)
		return
	}
	res, err := s.batcher.submit(r.Context(), target, &fwdRequest{method: r.Method, uri: r.URL.RequestURI(), header: hdr, body: body})
	switch {
	case errors.Is(err, ErrShutdown):
		s.forwardFailed(w, r, leader, httpAddr, err)
		return
	case err != nil:
		return // the client is gone
	}
	switch {
	case res.fallback:
		s.proxy(w, r, body, reqID, leader, httpAddr, target)
	case res.err != nil:
		s.forwardFailed(w, r, leader, httpAddr, res.err)
	default:
		h := w.Header()
		for k, vs := range res.resp.header {
			h[k] = vs
		}
		w.WriteHeader(res.resp.status)
		_, _ = w.Write(res.resp.body)
	}
}

// forwardFailed answers a request whose forwarding failed.
func (s *httpServer) forwardFailed(w http.ResponseWriter, r *http.Request, leader, httpAddr string, err error) {
	s.logger.Warn("forwarding to the leader failed", "leader", leader, "addr", httpAddr,
		"method", r.Method, "path", r.URL.Path, "error", err)
	msg := fmt.Sprintf("forwarding to leader %s at %s failed: %v", leader, httpAddr, err)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		msg += "; the write's outcome is unknown, retrying with the same Idempotency-Key is safe"
	}
	writeError(w, http.StatusServiceUnavailable, "no_leader", msg)
}

// forwardedBatch handles POST /v1/internal/forward: the writes a follower
// forwards in one batch. Each is served by this node's own handlers, all
// at once, exactly as if it had come on its own with the
// X-Hive-Forwarded-By header (so it is never forwarded again).
func (s *httpServer) forwardedBatch(w http.ResponseWriter, r *http.Request) {
	by := r.Header.Get(headerForwardedBy)
	if by == "" || r.Header.Get("Content-Type") != fwdContentType {
		writeError(w, http.StatusBadRequest, "invalid_argument",
			"this route takes batches of writes forwarded by other nodes only")
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, fwdMaxBatchBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, "body_too_large",
				fmt.Sprintf("forwarded batch exceeds %d bytes", fwdMaxBatchBody))
			return
		}
		writeError(w, http.StatusBadRequest, "bad_request", "reading the batch: "+err.Error())
		return
	}
	reqs, err := decodeFwdRequests(data)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	type answer struct {
		i    int
		resp *fwdResponse
	}
	answers := make(chan answer, len(reqs))
	var creates []int
	for i, q := range reqs {
		if isForwardedCreate(q) {
			creates = append(creates, i)
			continue
		}
		s.workers.run(func() { answers <- answer{i, s.serveForwarded(r, by, q)} })
	}
	if len(creates) > 0 {
		serve := func() {
			s.serveForwardedCreates(r.Context(), by, reqs, creates, func(i int, resp *fwdResponse) {
				answers <- answer{i, resp} // never blocks: one slot per request
			})
		}
		if len(creates) == len(reqs) {
			serve() // nothing else to answer meanwhile: no goroutine to hand over to
		} else {
			s.workers.run(serve)
		}
	}
	// Every write is answered as soon as it is done; writes that finish
	// together go out in one flush.
	w.Header().Set("Content-Type", fwdContentType)
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	buf := appendFwdAnswerStart(nil, len(reqs))
	for sent := 0; sent < len(reqs); {
		a := <-answers
		buf = appendFwdResponse(buf, a.i, a.resp)
		sent++
	more:
		for sent < len(reqs) {
			select {
			case a := <-answers:
				buf = appendFwdResponse(buf, a.i, a.resp)
				sent++
			default:
				break more
			}
		}
		if _, err := w.Write(buf); err == nil {
			_ = rc.Flush()
		}
		buf = buf[:0]
	}
}

// serveForwarded serves one write of a forwarded batch.
func (s *httpServer) serveForwarded(parent *http.Request, by string, q *fwdRequest) (resp *fwdResponse) {
	rec := &captureWriter{header: http.Header{}}
	defer func() {
		if v := recover(); v != nil {
			s.logger.Error("forwarded write panicked", "method", q.method, "uri", q.uri, "panic", v)
			rec = &captureWriter{header: http.Header{}}
			writeError(rec, http.StatusInternalServerError, "internal", "internal error")
			resp = &fwdResponse{status: rec.status, header: rec.header, body: rec.body.Bytes()}
		}
	}()
	switch q.method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		writeError(rec, http.StatusBadRequest, "invalid_argument", "only writes are forwarded in batches")
		return &fwdResponse{status: rec.status, header: rec.header, body: rec.body.Bytes()}
	}
	u, err := url.ParseRequestURI(q.uri)
	if err != nil || !strings.HasPrefix(u.Path, "/v1/") || strings.HasPrefix(u.Path, "/v1/internal/") {
		writeError(rec, http.StatusBadRequest, "invalid_argument", fmt.Sprintf("%q cannot be forwarded in a batch", q.uri))
		return &fwdResponse{status: rec.status, header: rec.header, body: rec.body.Bytes()}
	}
	req := (&http.Request{
		Method:        q.method,
		URL:           u,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        q.header,
		Body:          io.NopCloser(bytes.NewReader(q.body)),
		ContentLength: int64(len(q.body)),
		Host:          parent.Host,
		RemoteAddr:    parent.RemoteAddr,
		RequestURI:    q.uri,
	}).WithContext(parent.Context())
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Set(headerForwardedBy, by)
	s.items.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return &fwdResponse{status: rec.status, header: rec.header, body: rec.body.Bytes()}
}
