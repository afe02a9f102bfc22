package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/hive-swarm/hive/api"
)

// errNoForward is returned by the executor's forwarding transport when it
// cannot take a report (no leader known, this node leads, the leader takes
// no batches): the report then goes through this node's HTTP API.
var errNoForward = errors.New("node: no leader to forward the report to")

// execForwarder sends a follower's reports straight to the leader in
// batches (POST /v1/internal/forward, as the HTTP API forwards writes),
// without the hop through this node's own HTTP API. It has a batcher of
// its own, so reports never queue behind the clients' forwarded writes.
type execForwarder struct {
	n       *Node
	tr      *http.Transport
	batcher *forwardBatcher
	client  *api.Client
}

// newExecForwarder returns the forwarder of n's executor; its goroutines
// run until ctx ends.
func newExecForwarder(ctx context.Context, n *Node) (*execForwarder, error) {
	tr := newForwardTransport()
	f := &execForwarder{n: n, tr: tr, batcher: newForwardBatcher(ctx, n.cfg.Name, tr)}
	c, err := api.NewClient(&api.Config{
		// The address is never dialled: fwdTransport sends every request
		// to the leader of the moment.
		Address:     "http://" + n.httpAddr,
		HTTPClient:  &http.Client{Transport: fwdTransport{f}},
		Timeout:     n.cfg.RaftTimeouts.ApplyTimeout + 5*time.Second,
		MaxAttempts: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("node: executor forwarder: %w", err)
	}
	f.client = c
	return f, nil
}

// stop waits, until ctx is done, for the batcher's goroutines (they end
// with the context newExecForwarder was given), then closes the idle
// connections to the leader.
func (f *execForwarder) stop(ctx context.Context) error {
	err := f.batcher.stop(ctx)
	f.tr.CloseIdleConnections()
	return err
}

// target is the base URL of the leader when another node leads.
func (f *execForwarder) target() (string, bool) {
	name, _, httpAddr := f.n.Leader()
	if httpAddr == "" || name == f.n.cfg.Name {
		return "", false
	}
	u, err := leaderURL(httpAddr)
	if err != nil {
		return "", false
	}
	return u.String(), true
}

// fwdTransport is the http.RoundTripper of execForwarder's API client: it
// queues each request in the batcher and turns the leader's answer into
// the response.
type fwdTransport struct{ f *execForwarder }

// RoundTrip implements http.RoundTripper.
func (t fwdTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		_ = r.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	target, ok := t.f.target()
	if !ok {
		return nil, errNoForward
	}
	b := t.f.batcher
	uri := r.URL.RequestURI()
	hdr := r.Header.Clone()
	hdr.Set(headerForwardedBy, t.f.n.cfg.Name)
	it := &fwdItem{
		ctx:    r.Context(),
		target: target,
		req:    &fwdRequest{method: r.Method, uri: uri, header: hdr, body: body},
		size:   len(body) + len(uri) + 256,
		done:   make(chan fwdResult, 1),
	}
	if len(body)+len(uri) > fwdItemMaxBytes || !b.start() {
		return nil, errNoForward
	}
	select {
	case b.queue <- it:
	case <-r.Context().Done():
		return nil, r.Context().Err()
	case <-b.ctx.Done():
		return nil, ErrShutdown
	}
	var res fwdResult
	select {
	case res = <-it.done:
	case <-r.Context().Done():
		return nil, r.Context().Err()
	case <-b.ctx.Done():
		return nil, ErrShutdown
	}
	if res.resp != nil && res.resp.header == nil {
		res.resp.header = http.Header{}
	}
	switch {
	case res.fallback:
		return nil, errNoForward
	case res.err != nil:
		return nil, res.err
	}
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", res.resp.status, http.StatusText(res.resp.status)),
		StatusCode:    res.resp.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        res.resp.header,
		Body:          io.NopCloser(bytes.NewReader(res.resp.body)),
		ContentLength: int64(len(res.resp.body)),
		Request:       r,
	}, nil
}
