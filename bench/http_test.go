package bench

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hive-swarm/hive/api"
)

// fakeNode answers POST /v1/workorders with 201, except every tenth
// request, which gets a 503 no_leader error body.
type fakeNode struct {
	t        *testing.T
	requests atomic.Int64
	mu       *sync.Mutex
	ids      map[string]bool // request IDs seen, shared by all fake nodes
}

func (f *fakeNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/workorders" {
		http.Error(w, "wrong route", http.StatusNotFound)
		return
	}
	var req api.CreateWorkOrderRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Title == "" || req.RequestID == "" {
		f.t.Errorf("bad create body: %v %+v", err, req)
	}
	f.mu.Lock()
	dup := f.ids[req.RequestID]
	f.ids[req.RequestID] = true
	f.mu.Unlock()
	if dup {
		f.t.Errorf("request ID %q sent twice", req.RequestID)
	}
	w.Header().Set("Content-Type", "application/json")
	if f.requests.Add(1)%10 == 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(api.ErrorBody{Error: &api.ErrorDetail{Code: "no_leader", Message: "no leader"}})
		return
	}
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(api.WorkOrder{ID: "WO-1", Title: req.Title, State: "queued"})
}

func TestHTTPCreate(t *testing.T) {
	var mu sync.Mutex
	ids := map[string]bool{}
	a, b := &fakeNode{t: t, mu: &mu, ids: ids}, &fakeNode{t: t, mu: &mu, ids: ids}
	sa, sb := httptest.NewServer(a), httptest.NewServer(b)
	defer sa.Close()
	defer sb.Close()

	target, err := NewHTTPCreate([]string{sa.URL, sb.Listener.Addr().String()}, 8, 5*time.Second, "t1")
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	res, err := Run(context.Background(), Options{Clients: 8, Requests: 400}, target.Op)
	if err != nil {
		t.Fatal(err)
	}
	if got := a.requests.Load() + b.requests.Load(); got != 400 || target.Requests() != 400 {
		t.Fatalf("servers saw %d requests, target sent %d, want 400", got, target.Requests())
	}
	if a.requests.Load() != 200 || b.requests.Load() != 200 {
		t.Fatalf("requests not spread round-robin: %d and %d", a.requests.Load(), b.requests.Load())
	}
	if res.Ops != 360 || res.Errors != 40 || res.ErrorKinds["503 no_leader"] != 40 {
		t.Fatalf("ops/errors/kinds = %d/%d/%v, want 360/40/map[503 no_leader:40]", res.Ops, res.Errors, res.ErrorKinds)
	}
	if len(ids) != 400 {
		t.Fatalf("%d distinct request IDs, want 400", len(ids))
	}
}

func TestHTTPCreateErrors(t *testing.T) {
	redirect := httptest.NewServer(http.RedirectHandler("http://example.invalid/", http.StatusTemporaryRedirect))
	defer redirect.Close()
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "not json", http.StatusInternalServerError)
	}))
	defer plain.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedAddr := closed.URL
	closed.Close()

	for _, tt := range []struct {
		addr, kind string
	}{
		{redirect.URL, "307"},
		{plain.URL, "500"},
		{closedAddr, "connection refused"},
	} {
		t.Run(tt.kind, func(t *testing.T) {
			target, err := NewHTTPCreate([]string{tt.addr}, 2, 5*time.Second, "t2")
			if err != nil {
				t.Fatal(err)
			}
			defer target.Close()
			res, err := Run(context.Background(), Options{Clients: 2, Requests: 10}, target.Op)
			if err != nil {
				t.Fatal(err)
			}
			if res.Ops != 0 || res.Errors != 10 || res.ErrorKinds[tt.kind] != 10 {
				t.Fatalf("ops/errors/kinds = %d/%d/%v, want 0/10/map[%s:10]", res.Ops, res.Errors, res.ErrorKinds, tt.kind)
			}
		})
	}
}

func TestNormalizeAddress(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:7070":         "http://127.0.0.1:7070",
		"http://127.0.0.1:7070/": "http://127.0.0.1:7070",
		" https://h:1/x ":        "https://h:1",
	} {
		if got, err := NormalizeAddress(in); err != nil || got != want {
			t.Errorf("NormalizeAddress(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"ftp://h:1", "http://", "http://%zz"} {
		if _, err := NormalizeAddress(bad); err == nil {
			t.Errorf("NormalizeAddress(%q) accepted", bad)
		}
	}
	if _, err := NewHTTPCreate(nil, 1, time.Second, "x"); err == nil {
		t.Error("NewHTTPCreate with no address accepted")
	}
}
