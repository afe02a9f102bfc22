package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hive-swarm/hive/api"
)

// errNoForward is returned by the executor's forwarder when it cannot
// take a report (no leader known, this node leads, the leader takes no
// batches): the report then goes through this node's HTTP API.
var errNoForward = errors.New("node: no leader to forward the report to")

// execForwarder sends a follower's reports straight to the leader in
// batches (POST /v1/internal/forward, as the HTTP API forwards writes),
// without the hop through this node's own HTTP API. It has a batcher of
// its own, so reports never queue behind the clients' forwarded writes.
// Each report is the request the API client would send
// (POST /v1/workorders/{id}/{action} with the report's request ID as its
// idempotency key), put in a batch as it is: the leader serves it through
// its own handlers. Only the outcome matters to the executor, so the
// leader's answer is read no further than its status (and the error, if
// any), and no HTTP client stands in between.
type execForwarder struct {
	n       *Node // its cfg.Name is sent as X-Hive-Forwarded-By
	tr      *http.Transport
	batcher *forwardBatcher
	timeout time.Duration // of one report, as the API client's Timeout
	// leader is the base URL of the leader when another node leads:
	// f.target but in tests.
	leader func() (string, bool)
}

// newExecForwarder returns the forwarder of n's executor; its goroutines
// run until ctx ends.
func newExecForwarder(ctx context.Context, n *Node) *execForwarder {
	tr := newForwardTransport()
	f := &execForwarder{
		n:       n,
		tr:      tr,
		batcher: newForwardBatcher(ctx, n.cfg.Name, tr),
		timeout: n.cfg.RaftTimeouts.ApplyTimeout + 5*time.Second,
	}
	f.leader = f.target
	return f
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

// transition sends the report req of transition action on work order id
// to the leader and returns its outcome as the API client would: nil for
// a 2xx answer, *api.Error for any other, the transport's error when
// there was no answer, and errNoForward when no other node leads or the
// leader takes no batches (the report then goes through this node's own
// HTTP API).
func (f *execForwarder) transition(ctx context.Context, id, action string, req *api.TransitionRequest) error {
	target, ok := f.leader()
	if !ok {
		return errNoForward
	}
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("node: encoding the report: %w", err)
	}
	uri := "/v1/workorders/" + url.PathEscape(id) + "/" + url.PathEscape(action)
	if len(body)+len(uri) > fwdItemMaxBytes {
		return errNoForward
	}
	hdr := http.Header{
		"Accept":                 {"application/json"},
		"Content-Type":           {"application/json"},
		"Prefer":                 {"return=minimal"}, // the status is all the executor reads
		api.HeaderIdempotencyKey: {req.RequestID},
		headerForwardedBy:        {f.n.cfg.Name},
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	if !f.batcher.start() {
		return errNoForward
	}
	res, err := f.batcher.submit(ctx, target, &fwdRequest{method: http.MethodPost, uri: uri, header: hdr, body: body})
	switch {
	case err != nil:
		return err
	case res.fallback:
		return errNoForward
	case res.err != nil:
		return res.err
	case res.resp.status >= 200 && res.resp.status < 300:
		return nil
	}
	return answerError(res.resp)
}

// answerError turns a non-2xx answer into the *api.Error the API client
// would return for it. A body that is not the API's error JSON becomes
// the message.
func answerError(r *fwdResponse) error {
	e := &api.Error{StatusCode: r.status}
	var body api.ErrorBody
	if err := json.Unmarshal(r.body, &body); err == nil && body.Error != nil && body.Error.Code != "" {
		e.Code, e.Message, e.Cycle = body.Error.Code, body.Error.Message, body.Error.Cycle
		return e
	}
	e.Message = fmt.Sprintf("%d %s", r.status, http.StatusText(r.status))
	if text := strings.TrimSpace(string(r.body)); text != "" {
		e.Message += ": " + truncate(text, 200)
	}
	return e
}
