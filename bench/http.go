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
	"strconv"
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
//
// Against http:// addresses it uses its own lean HTTP/1.1 client (one
// keep-alive connection per worker and node, see rawClient), so that the
// load generator takes as little CPU as possible from the nodes it shares
// the machine with; against https:// it uses net/http.
type HTTPCreate struct {
	urls   []string // .../v1/workorders of each address
	client *http.Client
	raw    *rawClient // when every address is plain http
	prefix string     // makes titles and request IDs unique to this run
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
	var hosts []string
	for _, a := range addresses {
		base, err := NormalizeAddress(a)
		if err != nil {
			return nil, err
		}
		c.urls = append(c.urls, base+"/v1/workorders")
		if host, ok := strings.CutPrefix(base, "http://"); ok {
			hosts = append(hosts, host)
		}
	}
	if len(hosts) == len(c.urls) {
		c.raw = newRawClient(hosts, "/v1/workorders", clients, timeout)
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
// JSON (an api.CreateWorkOrderRequest), close to the size of an encoded
// create command.
func (c *HTTPCreate) Body(n uint64) []byte {
	prefix, _ := json.Marshal(c.prefix) // a quoted JSON string
	prefix = prefix[1 : len(prefix)-1]
	b := make([]byte, 0, 256)
	b = append(b, `{"title":"bench `...)
	b = append(b, prefix...)
	b = append(b, " #"...)
	b = strconv.AppendUint(b, n, 10)
	b = append(b, `","description":"created by hive bench to measure committed creates per second","labels":["bench"],"request_id":"bench-`...)
	b = append(b, prefix...)
	b = append(b, '-')
	b = strconv.AppendUint(b, n, 10)
	b = append(b, `"}`...)
	return b
}

// Op creates one work order; it has the signature of an Op. worker must
// be below the clients NewHTTPCreate was given.
func (c *HTTPCreate) Op(ctx context.Context, worker int) error {
	n := c.seq.Add(1)
	node := int(n % uint64(len(c.urls)))
	if c.raw != nil {
		if worker < 0 || worker >= len(c.raw.slots) {
			return fmt.Errorf("bench: worker %d out of range (%d clients)", worker, len(c.raw.slots))
		}
		status, body, err := c.raw.post(ctx, worker, node, c.Body(n))
		if err != nil {
			return err
		}
		if status == http.StatusCreated {
			return nil
		}
		return statusError(status, body)
	}
	target := c.urls[node]
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
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return statusError(resp.StatusCode, body)
}

// statusError describes an answer other than 201 from its status and body.
func statusError(status int, body []byte) error {
	se := &StatusError{Status: status}
	var eb api.ErrorBody
	if json.Unmarshal(body, &eb) == nil && eb.Error != nil {
		se.Code, se.Message = eb.Error.Code, eb.Error.Message
	}
	return se
}

// Requests returns how many requests Op has issued.
func (c *HTTPCreate) Requests() uint64 { return c.seq.Load() }

// Close releases the connections. It must not be called while Op runs.
func (c *HTTPCreate) Close() {
	c.client.CloseIdleConnections()
	if c.raw != nil {
		c.raw.Close()
	}
}
