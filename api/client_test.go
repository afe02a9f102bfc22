package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// server is a canned stand-in for a node: it records every request and
// answers with handler. It tests the client's own mechanics only; the CLI
// tests in cmd/hive run the client against a real node.
type server struct {
	t    *testing.T
	mu   sync.Mutex
	reqs []recorded
	srv  *httptest.Server
}

type recorded struct {
	Method, Path, RawQuery, Key string
	Body                        []byte
}

func newServer(t *testing.T, handler func(n int, w http.ResponseWriter, r *http.Request)) (*server, *Client) {
	t.Helper()
	s := &server{t: t}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, recorded{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get(HeaderIdempotencyKey), body})
		n := len(s.reqs)
		s.mu.Unlock()
		handler(n, w, r)
	}))
	cfg := DefaultConfig()
	cfg.Address = s.srv.URL
	cfg.RetryWait = time.Millisecond
	cfg.Timeout = 10 * time.Second
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.srv.Close()
		cfg.HTTPClient.CloseIdleConnections()
	})
	return s, c
}

func (s *server) requests() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recorded(nil), s.reqs...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, code, msg string, cycle ...string) {
	writeJSON(w, status, ErrorBody{Error: &ErrorDetail{Code: code, Message: msg, Cycle: cycle}})
}

func TestErrorAnswers(t *testing.T) {
	tests := []struct {
		name       string
		handler    func(w http.ResponseWriter)
		wantStatus int
		wantCode   string
		wantText   string
		notFound   bool
		conflict   bool
	}{
		{"not found", func(w http.ResponseWriter) { writeErr(w, 404, CodeNotFound, "work order WO-9 not found") },
			404, CodeNotFound, "work order WO-9 not found (not_found)", true, false},
		{"cycle", func(w http.ResponseWriter) {
			writeErr(w, 409, CodeCycle, "dependency would close a cycle", "WO-1", "WO-2", "WO-1")
		},
			409, CodeCycle, "dependency would close a cycle: WO-1 -> WO-2 -> WO-1 (cycle)", false, true},
		{"not api json", func(w http.ResponseWriter) { w.WriteHeader(502); fmt.Fprint(w, "<html>bad gateway</html>") },
			502, "", "502 Bad Gateway: <html>bad gateway</html> (http 502)", false, false},
		{"bad request", func(w http.ResponseWriter) { writeErr(w, 400, CodeInvalidArgument, "title: required") },
			400, CodeInvalidArgument, "title: required (invalid_argument)", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) { tt.handler(w) })
			_, err := c.WorkOrders().Get(context.Background(), "WO-9", nil)
			var ae *Error
			if !errors.As(err, &ae) {
				t.Fatalf("error %v (%T) is not *Error", err, err)
			}
			if ae.StatusCode != tt.wantStatus || ae.Code != tt.wantCode || err.Error() != tt.wantText {
				t.Fatalf("got %d %q %q, want %d %q %q", ae.StatusCode, ae.Code, err.Error(), tt.wantStatus, tt.wantCode, tt.wantText)
			}
			if IsNotFound(err) != tt.notFound || IsConflict(err) != tt.conflict || ErrorCode(err) != tt.wantCode {
				t.Fatalf("helpers: IsNotFound=%v IsConflict=%v ErrorCode=%q", IsNotFound(err), IsConflict(err), ErrorCode(err))
			}
			if n := len(s.requests()); n != 1 {
				t.Fatalf("%d requests, want 1 (no retry on %d)", n, tt.wantStatus)
			}
		})
	}
}

func TestWriteRetriesWithOneKey(t *testing.T) {
	s, c := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch n {
		case 1:
			writeErr(w, 503, CodeNoLeader, "no leader")
		case 2:
			// A connection that dies before the answer: the write may or
			// may not have happened, so only the same key makes a retry safe.
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		default:
			writeJSON(w, 201, WorkOrder{ID: "WO-1", Title: "t", State: "queued"})
		}
	})
	wo, err := c.WorkOrders().Create(context.Background(), &CreateWorkOrderRequest{Title: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if wo.ID != "WO-1" {
		t.Fatalf("got %+v", wo)
	}
	reqs := s.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	key := reqs[0].Key
	if len(key) != 32 {
		t.Fatalf("idempotency key %q, want 32 hex digits", key)
	}
	for i, r := range reqs {
		if r.Key != key || !bytes.Equal(r.Body, reqs[0].Body) {
			t.Fatalf("attempt %d: key %q body %s; first %q %s", i+1, r.Key, r.Body, key, reqs[0].Body)
		}
	}

	// A second call is a different write with a different key.
	if _, err := c.WorkOrders().Create(context.Background(), &CreateWorkOrderRequest{Title: "t"}); err != nil {
		t.Fatal(err)
	}
	if k := s.requests()[3].Key; k == key || k == "" {
		t.Fatalf("second write reused key %q", k)
	}
}

func TestCallerRequestIDIsTheKey(t *testing.T) {
	s, c := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, WorkOrder{ID: "WO-1"})
	})
	if _, err := c.WorkOrders().Start(context.Background(), "WO-1", &TransitionRequest{RequestID: "mine"}); err != nil {
		t.Fatal(err)
	}
	if r := s.requests()[0]; r.Key != "mine" || r.Path != "/v1/workorders/WO-1/start" || r.Method != "POST" {
		t.Fatalf("request %+v", r)
	}
}

func TestRetriesAreBounded(t *testing.T) {
	s, c := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		writeErr(w, 503, CodeTimeout, "commit timed out")
	})
	_, err := c.Memory().Put(context.Background(), "ns", "k", json.RawMessage(`1`), 0)
	if ErrorCode(err) != CodeTimeout || !IsRetryable(err) {
		t.Fatalf("err = %v", err)
	}
	if n := len(s.requests()); n != DefaultConfig().MaxAttempts {
		t.Fatalf("%d attempts, want %d", n, DefaultConfig().MaxAttempts)
	}
}

func TestLeaveIsNotRetried(t *testing.T) {
	s, c := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		writeErr(w, 503, CodeNoLeader, "no leader")
	})
	if err := c.Agent().Leave(context.Background()); ErrorCode(err) != CodeNoLeader {
		t.Fatalf("err = %v", err)
	}
	if n := len(s.requests()); n != 1 {
		t.Fatalf("%d attempts, want 1", n)
	}
}

func TestContextEndsRetries(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s, c := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		cancel()
		writeErr(w, 503, CodeNoLeader, "no leader")
	})
	_, err := c.Agent().Status(ctx, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := len(s.requests()); n != 1 {
		t.Fatalf("%d attempts after cancel, want 1", n)
	}
}

func TestTimeoutBoundsACall(t *testing.T) {
	release := make(chan struct{})
	_, c := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	c.config.Timeout = 50 * time.Millisecond
	c.config.MaxAttempts = 1
	_, err := c.Agent().Members(context.Background(), nil)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer within") {
		t.Fatalf("err = %v, want the call cut short", err)
	}
}

func TestQueryEncoding(t *testing.T) {
	s, c := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/v1/receipts"):
			writeJSON(w, 200, ReceiptList{})
		case strings.HasPrefix(r.URL.Path, "/v1/memory"):
			writeJSON(w, 200, MemoryList{})
		default:
			writeJSON(w, 200, WorkOrderList{})
		}
	})
	ctx := context.Background()
	stale := &QueryOptions{Stale: true}
	since := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	_, _ = c.WorkOrders().List(ctx, &ListOptions{State: "queued", Label: "a b", Limit: 10}, stale)
	_, _ = c.WorkOrders().List(ctx, nil, nil)
	_, _ = c.WorkOrders().Queue(ctx, &QueueOptions{Bucket: "security"}, nil)
	_, _ = c.Receipts().List(ctx, &ReceiptQuery{WorkOrder: "WO-1", Since: since}, stale)
	_, _ = c.Receipts().Verify(ctx, 2, 0, nil)
	_, _ = c.Memory().Query(ctx, "a/b", "p", "", nil)
	_, _ = c.Memory().Export(ctx, "", stale)
	want := []string{
		"GET /v1/workorders label=a+b&limit=10&state=queued&stale",
		"GET /v1/workorders ",
		"GET /v1/queue bucket=security",
		"GET /v1/receipts since=2026-01-02T03%3A04%3A05Z&workorder=WO-1&stale",
		"GET /v1/receipts/verify from=2",
		"GET /v1/memory/a%2Fb prefix=p",
		"GET /v1/memory stale",
	}
	reqs := s.requests()
	for i, w := range want {
		if got := reqs[i].Method + " " + reqs[i].Path + " " + reqs[i].RawQuery; got != w {
			t.Errorf("request %d: %q, want %q", i, got, w)
		}
		if reqs[i].Key != "" {
			t.Errorf("read %d sent an idempotency key", i)
		}
	}
}

func TestListAllPages(t *testing.T) {
	s, c := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("after") {
		case "":
			writeJSON(w, 200, WorkOrderList{WorkOrders: []*WorkOrder{{ID: "WO-1"}, {ID: "WO-2"}}, Next: "WO-2"})
		case "WO-2":
			writeJSON(w, 200, WorkOrderList{WorkOrders: []*WorkOrder{{ID: "WO-3"}}})
		}
	})
	all, err := c.WorkOrders().ListAll(context.Background(), &ListOptions{Limit: 2, After: "ignored"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 || all[2].ID != "WO-3" || len(s.requests()) != 2 {
		t.Fatalf("got %d work orders in %d requests", len(all), len(s.requests()))
	}
}

func TestExportStreams(t *testing.T) {
	lines := `{"seq":1}` + "\n" + `{"seq":2}` + "\n"
	s, c := newServer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			writeErr(w, 503, CodeNoLeader, "no leader")
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		fmt.Fprint(w, lines)
	})
	var buf bytes.Buffer
	n, err := c.Receipts().Export(context.Background(), 1, 2, &buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	if buf.String() != lines || n != int64(len(lines)) {
		t.Fatalf("exported %d bytes %q", n, buf.String())
	}
	if r := s.requests()[1]; r.Path != "/v1/receipts/export" || r.RawQuery != "from=1&to=2" {
		t.Fatalf("request %+v", r)
	}
}

func TestExportOutlivesTimeout(t *testing.T) {
	// Timeout bounds the wait for the stream to begin, not its length.
	_, c := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		time.Sleep(150 * time.Millisecond) // longer than the client's Timeout
		fmt.Fprintln(w, `{"seq":1}`)
	})
	c.config.Timeout = 50 * time.Millisecond
	var buf bytes.Buffer
	if _, err := c.Receipts().Export(context.Background(), 0, 0, &buf, nil); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "{\"seq\":1}\n" {
		t.Fatalf("got %q", buf.String())
	}
}

func TestAddress(t *testing.T) {
	t.Setenv(EnvAddress, "10.0.0.5:7070/")
	c, err := NewClient(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Address() != "http://10.0.0.5:7070" {
		t.Fatalf("address from %s: %q", EnvAddress, c.Address())
	}
	t.Setenv(EnvAddress, "")
	if c, _ := NewClient(&Config{}); c.Address() != DefaultAddress {
		t.Fatalf("default address %q", c.Address())
	}
	for _, bad := range []string{"ftp://x", "http://", "http://h:1/?q=1", "http://[::1"} {
		if _, err := NewClient(&Config{Address: bad}); err == nil {
			t.Errorf("address %q accepted", bad)
		}
	}
}

func TestPathEscaping(t *testing.T) {
	s, c := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, MemoryEntry{})
	})
	if _, err := c.Memory().Get(context.Background(), "team a", "k/1?", nil); err != nil {
		t.Fatal(err)
	}
	if p := s.requests()[0].Path; p != "/v1/memory/team%20a/k%2F1%3F" {
		t.Fatalf("path %q", p)
	}
}

// TestHealthAnswers checks that Health returns a not-ready node's 503
// body as its answer, once, and that, like every call, it is bounded by
// Config.Timeout.
func TestHealthAnswers(t *testing.T) {
	s, c := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusServiceUnavailable, Health{Node: "n1", Status: "degraded", Live: true, Reasons: []string{"no leader"}})
	})
	h, err := c.Events().Health(context.Background())
	if err != nil || h.Node != "n1" || h.Ready || len(h.Reasons) != 1 {
		t.Fatalf("health %+v, error %v", h, err)
	}
	if n := len(s.requests()); n != 1 {
		t.Fatalf("%d requests for a 503 health answer, want 1 (it is an answer, not a failure to retry)", n)
	}

	release := make(chan struct{})
	defer close(release)
	_, slow := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	slow.config.Timeout = 50 * time.Millisecond
	if _, err := slow.Events().Health(context.Background()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("health of a node that never answers: %v, want the client's timeout", err)
	}
}
