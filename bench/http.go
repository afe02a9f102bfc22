package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hive-swarm/hive/api"
)

// StatusError is an answer other than 201 Created to a create request.
type StatusError struct {
	Status  int    // HTTP status code
	Code    string // the API's stable error code, when the body carried one
	Message string
}

// Error implements error.
func (e *StatusError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// Kind implements Kinder: the status and the API error code.
func (e *StatusError) Kind() string {
	if e.Code == "" {
		return fmt.Sprintf("%d", e.Status)
	}
	return fmt.Sprintf("%d %s", e.Status, e.Code)
}

// HTTPCreate creates work orders through POST /v1/workorders, spreading
// requests round-robin over a fixed set of node addresses. It never follows
// redirects and ignores proxy settings, so it talks only to the addresses
// it was given. Only a 201 answer counts as committed.
type HTTPCreate struct {
	urls   []string // .../v1/workorders of each address
	client *http.Client
	prefix string // makes titles and request IDs unique to this run
	seq    atomic.Uint64
}

// NormalizeAddress turns "host:port" or "http://host:port/" into
// "http://host:port".
func NormalizeAddress(addr string) (string, error) {
	addr = strings.TrimSpace(addr)
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil {
		return "", fmt.Errorf("bench: bad address %q: %w", addr, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("bench: bad address %q: want http://HOST:PORT", addr)
	}
	return u.Scheme + "://" + u.Host, nil
}

// NewHTTPCreate returns a target for clients concurrent workers against
// addresses (each "http://host:port" or "host:port"). timeout bounds each
// request; runID (any short string) is put into every title and request ID.
func NewHTTPCreate(addresses []string, clients int, timeout time.Duration, runID string) (*HTTPCreate, error) {
	if len(addresses) == 0 {
		return nil, fmt.Errorf("bench: no address to send requests to")
	}
	c := &HTTPCreate{prefix: runID}
	for _, a := range addresses {
		base, err := NormalizeAddress(a)
		if err != nil {
			return nil, err
		}
		c.urls = append(c.urls, base+"/v1/workorders")
	}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        (clients + 1) * len(c.urls),
		MaxIdleConnsPerHost: clients + 1,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	c.client = &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return c, nil
}

// Body returns the request body of the n-th create: about 200 bytes of
// JSON, close to the size of an encoded create command.
func (c *HTTPCreate) Body(n uint64) []byte {
	b, _ := json.Marshal(&api.CreateWorkOrderRequest{
		Title:       fmt.Sprintf("bench %s #%d", c.prefix, n),
		Description: "created by hive bench to measure committed creates per second",
		Labels:      []string{"bench"},
		RequestID:   fmt.Sprintf("bench-%s-%d", c.prefix, n),
	})
	return b
}

// Op creates one work order; it has the signature of an Op.
func (c *HTTPCreate) Op(ctx context.Context, _ int) error {
	n := c.seq.Add(1)
	target := c.urls[int(n%uint64(len(c.urls)))]
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(c.Body(n)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusCreated {
		// Drain so the connection is reused.
		_, err := io.Copy(io.Discard, resp.Body)
		return err
	}
	se := &StatusError{Status: resp.StatusCode}
	var eb api.ErrorBody
	if json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&eb) == nil && eb.Error != nil {
		se.Code, se.Message = eb.Error.Code, eb.Error.Message
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return se
}

// Requests returns how many requests Op has issued.
func (c *HTTPCreate) Requests() uint64 { return c.seq.Load() }

// Close releases the idle connections.
func (c *HTTPCreate) Close() { c.client.CloseIdleConnections() }
