package api

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Environment variables and defaults the client reads.
const (
	// EnvAddress names the environment variable that holds the default
	// node address, e.g. "http://10.0.0.5:7070".
	EnvAddress = "HIVE_ADDR"
	// DefaultAddress is the address used when neither Config.Address nor
	// HIVE_ADDR is set.
	DefaultAddress = "http://127.0.0.1:7070"

	// HeaderIdempotencyKey carries a write's idempotency key.
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderIndex carries the raft index an answer reflects.
	HeaderIndex = "X-Hive-Index"
)

// Config configures a Client. DefaultConfig fills every field; a zero
// field of a Config passed to NewClient takes its default.
type Config struct {
	// Address is the base URL of any node, e.g. "http://127.0.0.1:7070".
	// A bare "host:port" is taken as http. Default: HIVE_ADDR, else
	// DefaultAddress.
	Address string

	// HTTPClient sends the requests. Default: a client with its own
	// transport and no overall timeout (Timeout bounds each call instead).
	HTTPClient *http.Client

	// Timeout bounds one call, retries included, until the answer has
	// been read; for Receipts().Export it bounds the wait for the answer
	// to begin, not the streaming of it. Zero means no bound beyond the
	// caller's context. Default: 60s.
	Timeout time.Duration

	// MaxAttempts is how many times one call is tried when the node is
	// unreachable or answers 503. Default: 6 (with the default RetryWait,
	// retries span about 1.5–3 s: longer than a leader election). 1
	// disables retries.
	MaxAttempts int

	// RetryWait is the first backoff between attempts; it doubles per
	// attempt up to 16 times its first value, with jitter. Default: 100ms,
	// so that a write sent during a leader election (about 1 s) is retried
	// soon after the new leader is in place.
	RetryWait time.Duration

	// Logger receives a debug record per request and per retry.
	// Default: discard.
	Logger *slog.Logger
}

// DefaultConfig returns the default configuration, with Address taken
// from HIVE_ADDR when it is set.
func DefaultConfig() *Config {
	addr := os.Getenv(EnvAddress)
	if addr == "" {
		addr = DefaultAddress
	}
	return &Config{
		Address:     addr,
		HTTPClient:  &http.Client{Transport: newTransport()},
		Timeout:     60 * time.Second,
		MaxAttempts: 6,
		RetryWait:   100 * time.Millisecond,
		Logger:      slog.New(slog.DiscardHandler),
	}
}

// maxIdleConnsPerNode is how many idle keep-alive connections the default
// transport keeps to a node: a Client is safe for concurrent use, and
// net/http's default of 2 would make all but two of many concurrent
// callers open (and close) a new connection per request.
const maxIdleConnsPerNode = 64

// newTransport returns the default client's transport: net/http's
// default one, keeping more idle connections per node.
func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = maxIdleConnsPerNode
	if t.MaxIdleConns < maxIdleConnsPerNode {
		t.MaxIdleConns = maxIdleConnsPerNode
	}
	return t
}

// Client talks to one Hive node over HTTP. It is safe for concurrent use.
type Client struct {
	base   *url.URL
	config Config
}

// NewClient returns a client for cfg; a nil cfg means DefaultConfig(). It
// fails only when the address cannot be parsed.
func NewClient(cfg *Config) (*Client, error) {
	def := DefaultConfig()
	c := *def
	if cfg != nil {
		c = *cfg
		if c.Address == "" {
			c.Address = def.Address
		}
		if c.HTTPClient == nil {
			c.HTTPClient = def.HTTPClient
		}
		if c.MaxAttempts <= 0 {
			c.MaxAttempts = def.MaxAttempts
		}
		if c.RetryWait <= 0 {
			c.RetryWait = def.RetryWait
		}
		if c.Logger == nil {
			c.Logger = def.Logger
		}
	}
	base, err := parseAddress(c.Address)
	if err != nil {
		return nil, err
	}
	c.Address = base.String()
	return &Client{base: base, config: c}, nil
}

// parseAddress accepts "http(s)://host:port[/prefix]" or "host:port".
func parseAddress(addr string) (*url.URL, error) {
	addr = strings.TrimSpace(addr)
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil {
		return nil, fmt.Errorf("api: invalid address %q: %w", addr, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("api: invalid address %q: scheme must be http or https", addr)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("api: invalid address %q: no host", addr)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("api: invalid address %q: no query or fragment allowed", addr)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	return u, nil
}

// Address returns the base URL the client talks to.
func (c *Client) Address() string { return c.config.Address }

// QueryOptions tune a read. A nil *QueryOptions means the defaults.
type QueryOptions struct {
	// Stale answers from the addressed node's local state instead of a
	// leader-linearizable read: faster, works without a leader, may lag.
	Stale bool
}

// request is one API call.
type request struct {
	method string
	path   string     // escaped path under the base URL, e.g. "/v1/workorders/WO-1"
	query  url.Values // nil for none
	body   any        // encoded as JSON; nil for none
	write  bool       // sends an Idempotency-Key
	key    string     // idempotency key to reuse; generated when empty
	retry  bool       // may be retried on connection errors and 503
	stream bool       // Timeout covers only the wait for the answer to begin
	also   int        // a non-2xx status whose answer is returned as a 2xx one is (0: none)
}

func (r *request) applyQuery(q *QueryOptions) *request {
	if q != nil && q.Stale {
		if r.query == nil {
			r.query = url.Values{}
		}
		r.query.Set("stale", "")
	}
	return r
}

// newKey returns a random idempotency key.
func newKey() string {
	var b [16]byte
	_, _ = crand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// do runs r and decodes a 2xx answer into out (unless out is nil).
func (c *Client) do(ctx context.Context, r *request, out any) error {
	resp, done, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	defer done()
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("api: %s %s: decoding the answer: %w", r.method, r.path, err)
	}
	return nil
}

// send runs r, retrying when allowed, and returns a 2xx response whose
// body the caller must close, and a func to call when done with it. A
// non-2xx answer is returned as *Error.
func (c *Client) send(ctx context.Context, r *request) (*http.Response, func(), error) {
	ctx, cancel := context.WithCancelCause(ctx)
	var timer *time.Timer
	if t := c.config.Timeout; t > 0 {
		timer = time.AfterFunc(t, func() {
			cancel(fmt.Errorf("api: %s %s: no answer within %s: %w", r.method, r.path, t, context.DeadlineExceeded))
		})
	}
	done := func() {
		if timer != nil {
			timer.Stop()
		}
		cancel(context.Canceled)
	}

	var body []byte
	if r.body != nil {
		var err error
		if body, err = json.Marshal(r.body); err != nil {
			done()
			return nil, nil, fmt.Errorf("api: encoding the request: %w", err)
		}
	}
	if r.write && r.key == "" {
		r.key = newKey()
	}
	target := c.base.String() + r.path
	if len(r.query) > 0 {
		q := maps.Clone(r.query)
		_, stale := q["stale"]
		delete(q, "stale")
		sep := "?"
		if enc := q.Encode(); enc != "" {
			target += sep + enc
			sep = "&"
		}
		if stale {
			target += sep + "stale"
		}
	}

	attempts := 1
	if r.retry {
		attempts = c.config.MaxAttempts
	}
	var lastErr error
	for attempt := 1; ; attempt++ {
		resp, err := c.once(ctx, r, target, body)
		if err == nil {
			if r.stream && timer != nil {
				timer.Stop() // the answer has begun; the caller's ctx bounds the rest
			}
			return resp, done, nil
		}
		lastErr = err
		if attempt >= attempts || !retryable(err) || ctx.Err() != nil {
			break
		}
		wait := c.backoff(attempt)
		c.config.Logger.Debug("retrying", "method", r.method, "url", target, "attempt", attempt+1, "wait", wait, "error", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		if ctx.Err() != nil {
			break
		}
	}
	if ctx.Err() != nil {
		// Report why the call ended: the caller's context or our Timeout.
		cause := context.Cause(ctx)
		switch {
		case errors.Is(lastErr, context.Canceled), errors.Is(lastErr, context.DeadlineExceeded):
			lastErr = cause
		case !errors.Is(lastErr, cause):
			lastErr = fmt.Errorf("%w (last error: %w)", cause, lastErr)
		}
	}
	done()
	return nil, nil, lastErr
}

// once sends one attempt. Transport failures are wrapped in *netError so
// retryable can tell them apart from answers.
func (c *Client) once(ctx context.Context, r *request, target string, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, rd)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.write {
		req.Header.Set(HeaderIdempotencyKey, r.key)
	}
	c.config.Logger.Debug("request", "method", r.method, "url", target)
	resp, err := c.config.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, &netError{err: err}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 || r.also != 0 && resp.StatusCode == r.also {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, decodeError(resp)
}

// netError is a failure to reach the node or to read its answer.
type netError struct{ err error }

func (e *netError) Error() string { return e.err.Error() }
func (e *netError) Unwrap() error { return e.err }

// retryable reports whether an attempt may be repeated with the same
// idempotency key: the node was unreachable, or it answered 503 (no
// leader, or the write timed out waiting for commit).
func retryable(err error) bool {
	var ne *netError
	if errors.As(err, &ne) {
		return true
	}
	var ae *Error
	return errors.As(err, &ae) && ae.StatusCode == http.StatusServiceUnavailable
}

// backoff returns the wait before attempt+1: exponential with full jitter
// over the upper half, capped at 16 × RetryWait.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.config.RetryWait << min(attempt-1, 4)
	return d/2 + rand.N(d/2+1)
}

// escape escapes one path segment.
func escape(s string) string { return url.PathEscape(s) }
