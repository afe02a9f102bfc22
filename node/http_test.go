package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/fsm"
)

// fsmBackend is the unit tests' stand-in for a node: every command is
// encoded with fsm.Encode and applied to a real fsm.FSM under a fake raft
// log index, exactly as raft would apply a committed entry. It is the one
// place where something other than a real node serves the handlers.
type fsmBackend struct {
	name string

	mu        sync.Mutex
	f         *fsm.FSM
	index     uint64
	proposals int // commands that reached "raft"
	lastStale bool

	// Leadership, as the forwarding code sees it.
	notLeader  bool   // Propose and linearizable View fail with ErrNotLeader
	leaderName string // Leader(); "" means no leader known
	leaderHTTP string
	proposeErr error // when set, Propose fails with it (before applying)

	joined []string
	leaves atomic.Int32
	leaveC chan struct{} // when set, Leave blocks until it is closed or ctx ends
}

var _ backend = (*fsmBackend)(nil)

func newFSMBackend(t testing.TB, name string) *fsmBackend {
	t.Helper()
	return &fsmBackend{name: name, f: fsm.New(fsm.DefaultConfig()), leaderName: name}
}

func (b *fsmBackend) Name() string { return b.name }

func (b *fsmBackend) Propose(ctx context.Context, cmd fsm.Command) (*fsm.Result, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.notLeader {
		return nil, ErrNotLeader
	}
	if b.proposeErr != nil {
		return nil, b.proposeErr
	}
	data, err := fsm.Encode(cmd)
	if err != nil {
		return nil, err
	}
	if _, err := fsm.Decode(data); err != nil {
		return nil, err
	}
	b.proposals++
	b.index++
	out := b.f.Apply(&raft.Log{Index: b.index, Term: 1, Type: raft.LogCommand, Data: data, AppendedAt: time.Now()})
	res, ok := out.(*fsm.Result)
	if !ok {
		return nil, errors.New("apply returned no *fsm.Result")
	}
	return res, nil
}

func (b *fsmBackend) View(ctx context.Context, stale bool) (*fsm.View, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lastStale = stale
	if b.notLeader && !stale {
		return nil, ErrNotLeader
	}
	return b.f.View(), nil
}

func (b *fsmBackend) IsLeader() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.notLeader
}

func (b *fsmBackend) Leader() (name, raftAddr, httpAddr string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.leaderName, "", b.leaderHTTP
}

func (b *fsmBackend) Members() []*api.Member {
	return []*api.Member{{Name: b.name, Addr: "127.0.0.1:7072", Status: "alive", RaftRole: "leader", Leader: true}}
}

func (b *fsmBackend) Status() *api.Status {
	v := b.view()
	return &api.Status{Node: b.name, Leader: b.name, RaftState: "Leader", AppliedIndex: v.Index(),
		WorkOrders: v.WorkOrderCount(), Receipts: v.ReceiptCount(), ChainHead: hashHex(v.ChainHead())}
}

func (b *fsmBackend) Join(ctx context.Context, addrs []string) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.joined = append(b.joined, addrs...)
	return len(addrs), nil
}

func (b *fsmBackend) Leave(ctx context.Context) error {
	b.leaves.Add(1)
	if b.leaveC != nil {
		select {
		case <-b.leaveC:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// set changes the backend's behaviour under its lock.
func (b *fsmBackend) set(f func(b *fsmBackend)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f(b)
}

// proposalCount is how many commands reached the state machine.
func (b *fsmBackend) proposalCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.proposals
}

// lastRead reports whether the last View asked for a stale read.
func (b *fsmBackend) lastRead() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lastStale
}

// joinedAddrs lists the addresses Join was given.
func (b *fsmBackend) joinedAddrs() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.joined)
}

// view is the local state, for assertions.
func (b *fsmBackend) view() *fsm.View {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.f.View()
}

// propose applies cmd directly, for test setup.
func (b *fsmBackend) propose(t testing.TB, cmd fsm.Command) *fsm.Result {
	t.Helper()
	res, err := b.Propose(context.Background(), cmd)
	if err != nil {
		t.Fatal(err)
	}
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	return res
}

// fingerprint summarises the state; bad input must leave it unchanged.
type fingerprint struct {
	WorkOrders int
	Receipts   uint64
	Head       [32]byte
	Memory     int
}

func (b *fsmBackend) fingerprint() fingerprint {
	v := b.view()
	mem, err := v.MemoryQuery("", "", "")
	if err != nil {
		panic(err)
	}
	return fingerprint{WorkOrders: v.WorkOrderCount(), Receipts: v.ReceiptCount(), Head: v.ChainHead(), Memory: len(mem)}
}

// testAPI is a real handler over an fsmBackend behind an httptest server.
type testAPI struct {
	t   *testing.T
	b   *fsmBackend
	s   *httpServer
	srv *httptest.Server
}

func newTestAPI(t *testing.T) *testAPI {
	t.Helper()
	return newTestAPIWith(t, newFSMBackend(t, "n1"))
}

func newTestAPIWith(t *testing.T, b *fsmBackend) *testAPI {
	t.Helper()
	logger := hclog.New(&hclog.LoggerOptions{Name: b.name, Level: hclog.Debug, Output: tWriter{t}})
	s := newHTTPServer(b, logger)
	srv := httptest.NewServer(s.handler())
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.stop(ctx); err != nil {
			t.Error(err)
		}
	})
	return &testAPI{t: t, b: b, s: s, srv: srv}
}

// tWriter sends logs to t.Log, so only failing tests print them.
type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// response is an answer as the tests see it.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request; body is a string or []byte sent as is, or any other
// value marshalled as JSON. hdr holds extra headers as key, value pairs.
func (a *testAPI) do(method, path string, body any, hdr ...string) *response {
	a.t.Helper()
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(v)
	case []byte:
		rd = bytes.NewReader(v)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.srv.URL+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := a.srv.Client().Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: out}
}

// ok asserts the status and decodes the body into v (when non-nil).
func (r *response) ok(t *testing.T, status int, v any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if v != nil {
		reflect.ValueOf(v).Elem().SetZero() // no leftovers from an earlier answer
		if err := json.Unmarshal(r.body, v); err != nil {
			t.Fatalf("decoding %s: %v", r.body, err)
		}
	}
}

// apiErr asserts an error answer with status and code and returns it.
func (r *response) apiErr(t *testing.T, status int, code string) *api.ErrorDetail {
	t.Helper()
	var eb api.ErrorBody
	if err := json.Unmarshal(r.body, &eb); err != nil || eb.Error == nil {
		t.Fatalf("status %d, body %q is not an error body (%v)", r.status, r.body, err)
	}
	if r.status != status || eb.Error.Code != code {
		t.Fatalf("got %d %s (%s), want %d %s", r.status, eb.Error.Code, eb.Error.Message, status, code)
	}
	if eb.Error.Message == "" {
		t.Fatalf("error %s without a message", code)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error Content-Type %q", ct)
	}
	return eb.Error
}

// create makes a work order through the API.
func (a *testAPI) create(req *api.CreateWorkOrderRequest) *api.WorkOrder {
	a.t.Helper()
	var wo api.WorkOrder
	a.do("POST", "/v1/workorders", req).ok(a.t, http.StatusCreated, &wo)
	return &wo
}

// action posts a transition and returns the work order.
func (a *testAPI) action(id, action string, req *api.TransitionRequest) *api.WorkOrder {
	a.t.Helper()
	var wo api.WorkOrder
	a.do("POST", "/v1/workorders/"+url.PathEscape(id)+"/"+action, req).ok(a.t, http.StatusOK, &wo)
	return &wo
}

func TestHTTPRouting(t *testing.T) {
	a := newTestAPI(t)
	for _, tc := range []struct {
		method, path string
		status       int
		code         string
		allow        string
	}{
		{"GET", "/nope", 404, "no_route", ""},
		{"GET", "/v1/workorders/WO-1/start/extra", 404, "no_route", ""},
		{"POST", "/v1/workorders/WO-1/explode", 404, "no_route", ""},
		{"DELETE", "/v1/workorders", 405, "method_not_allowed", "GET, HEAD, POST"},
		{"PATCH", "/v1/status", 405, "method_not_allowed", "GET, HEAD"},
		{"GET", "/v1/agent/leave", 405, "method_not_allowed", "PUT"},
	} {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			r := a.do(tc.method, tc.path, nil)
			r.apiErr(t, tc.status, tc.code)
			if tc.allow != "" && r.header.Get("Allow") != tc.allow {
				t.Fatalf("Allow %q, want %q", r.header.Get("Allow"), tc.allow)
			}
		})
	}
}

// panicBackend panics in Members, to exercise the recovery.
type panicBackend struct{ *fsmBackend }

func (panicBackend) Members() []*api.Member { panic("boom") }

func TestHTTPPanicRecovered(t *testing.T) {
	b := newFSMBackend(t, "n1")
	s := newHTTPServer(panicBackend{b}, hclog.New(&hclog.LoggerOptions{Output: tWriter{t}}))
	srv := httptest.NewServer(s.handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/v1/members")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	(&response{status: resp.StatusCode, header: resp.Header, body: body}).apiErr(t, 500, "internal")
}

func TestHTTPErrorMapping(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		code   string
		says   string
	}{
		{ErrLeadershipLost, 503, "no_leader", "Idempotency-Key"},
		{ErrTimeout, 503, "timeout", "Idempotency-Key"},
		{context.DeadlineExceeded, 503, "timeout", ""},
		{ErrNoLeader, 503, "no_leader", ""},
		{ErrShutdown, 503, "no_leader", "shutting down"},
		{errors.New("disk on fire"), 500, "internal", "disk on fire"},
	} {
		t.Run(tc.err.Error(), func(t *testing.T) {
			a := newTestAPI(t)
			a.b.set(func(b *fsmBackend) { b.proposeErr = tc.err })
			before := a.b.fingerprint()
			e := a.do("POST", "/v1/workorders", `{"title":"x"}`).apiErr(t, tc.status, tc.code)
			if !strings.Contains(e.Message, tc.says) {
				t.Fatalf("message %q does not mention %q", e.Message, tc.says)
			}
			if after := a.b.fingerprint(); after != before {
				t.Fatalf("state changed: %+v -> %+v", before, after)
			}
		})
	}
}

func TestHTTPStaleAndHeaders(t *testing.T) {
	a := newTestAPI(t)
	a.create(&api.CreateWorkOrderRequest{Title: "one"})
	for _, tc := range []struct {
		query string
		stale bool
	}{{"", false}, {"?stale", true}, {"?stale=1", true}, {"?stale=true", true}, {"?stale=false", false}} {
		r := a.do("GET", "/v1/workorders"+tc.query, nil)
		r.ok(t, 200, nil)
		if a.b.lastRead() != tc.stale {
			t.Errorf("%q: stale=%v, want %v", tc.query, a.b.lastRead(), tc.stale)
		}
		if r.header.Get(headerIndex) != "1" || r.header.Get(headerKnownLeader) != "true" {
			t.Errorf("%q: headers %v", tc.query, r.header)
		}
	}
}
