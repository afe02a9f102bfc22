package node

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hive-swarm/hive/api"
)

// fakeLeader serves the batch route: it records every forwarded write and
// answers each with answer(write).
type fakeLeader struct {
	mu     sync.Mutex
	writes []*fwdRequest
	answer func(*fwdRequest) *fwdResponse
	status int // of the batch itself; 0 for 200
}

func (l *fakeLeader) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != pathForwardBatch || r.Header.Get(headerForwardedBy) == "" {
		http.Error(w, "unexpected request", http.StatusBadRequest)
		return
	}
	if l.status != 0 {
		w.WriteHeader(l.status)
		return
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	reqs, err := decodeFwdRequests(data)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	buf := appendFwdAnswerStart(nil, len(reqs))
	for i, q := range reqs {
		l.mu.Lock()
		l.writes = append(l.writes, q)
		l.mu.Unlock()
		buf = appendFwdResponse(buf, i, l.answer(q))
	}
	w.Header().Set("Content-Type", fwdContentType)
	_, _ = w.Write(buf)
}

func newTestForwarder(t *testing.T, leader string) *execForwarder {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	tr := newForwardTransport()
	n := &Node{}
	n.cfg.Name = "node2"
	f := &execForwarder{n: n, tr: tr, batcher: newForwardBatcher(ctx, "node2", tr), timeout: 10 * time.Second,
		leader: func() (string, bool) { return leader, leader != "" }}
	t.Cleanup(func() {
		cancel()
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		if err := f.stop(sctx); err != nil {
			t.Error(err)
		}
	})
	return f
}

func apiErrorAnswer(status int, code, msg string) *fwdResponse {
	b, _ := json.Marshal(api.ErrorBody{Error: &api.ErrorDetail{Code: code, Message: msg}})
	return &fwdResponse{status: status, header: http.Header{"Content-Type": {"application/json"}}, body: b}
}

// TestExecForwarderTransition checks that a follower's report reaches the
// leader as the API client's request would (route, idempotency key, body,
// forwarded-by) and that the leader's answer comes back as the API client
// would return it, so that reportOnce and reportRetryable decide alike.
func TestExecForwarderTransition(t *testing.T) {
	req := &api.TransitionRequest{Attempt: 3, Agent: "test", RequestID: "exec/WO-7/3/complete/0",
		Evidence: &api.Evidence{ExitCode: 0, Outputs: map[string]string{"k": "v"}}}
	cases := []struct {
		name      string
		answer    *fwdResponse
		check     func(error) bool
		retryable bool
	}{
		{"ok", &fwdResponse{status: http.StatusOK, body: []byte(`{"id":"WO-7"}`)}, func(err error) bool { return err == nil }, false},
		{"stale", apiErrorAnswer(http.StatusConflict, api.CodeStaleAttempt, "stale"), isStaleAttempt, false},
		{"no leader", apiErrorAnswer(http.StatusServiceUnavailable, "no_leader", "no leader"), api.IsRetryable, true},
		{"not json", &fwdResponse{status: http.StatusBadGateway, body: []byte("bad gateway")}, func(err error) bool {
			e := api.AsError(err)
			return e != nil && e.StatusCode == http.StatusBadGateway && e.Code == ""
		}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := &fakeLeader{answer: func(*fwdRequest) *fwdResponse { return tc.answer }}
			srv := httptest.NewServer(l)
			defer srv.Close()
			f := newTestForwarder(t, srv.URL)
			err := f.transition(context.Background(), "WO-7", "complete", req)
			if !tc.check(err) {
				t.Fatalf("error %v (%T)", err, err)
			}
			if err != nil && reportRetryable(err) != tc.retryable {
				t.Fatalf("reportRetryable(%v) = %v, want %v", err, !tc.retryable, tc.retryable)
			}
			l.mu.Lock()
			defer l.mu.Unlock()
			if len(l.writes) != 1 {
				t.Fatalf("%d writes forwarded, want 1", len(l.writes))
			}
			w := l.writes[0]
			if w.method != http.MethodPost || w.uri != "/v1/workorders/WO-7/complete" {
				t.Fatalf("forwarded %s %s", w.method, w.uri)
			}
			if got := w.header.Get(api.HeaderIdempotencyKey); got != req.RequestID {
				t.Fatalf("idempotency key %q, want %q", got, req.RequestID)
			}
			if got := w.header.Get(headerForwardedBy); got != "node2" {
				t.Fatalf("forwarded by %q", got)
			}
			var got api.TransitionRequest
			if err := json.Unmarshal(w.body, &got); err != nil || got.Attempt != 3 || got.RequestID != req.RequestID ||
				got.Evidence == nil || got.Evidence.Outputs["k"] != "v" {
				t.Fatalf("body %s (%v)", w.body, err)
			}
		})
	}
}

// TestExecForwarderFallback checks that a report no other node can take
// (none leads, or the leader has no batch route) is refused with
// errNoForward, so that it goes through this node's HTTP API instead.
func TestExecForwarderFallback(t *testing.T) {
	req := &api.TransitionRequest{Attempt: 1, RequestID: "r"}
	f := newTestForwarder(t, "")
	if err := f.transition(context.Background(), "WO-1", "complete", req); !errors.Is(err, errNoForward) {
		t.Fatalf("no leader: error %v, want errNoForward", err)
	}
	srv := httptest.NewServer(&fakeLeader{status: http.StatusNotFound})
	defer srv.Close()
	f = newTestForwarder(t, srv.URL)
	if err := f.transition(context.Background(), "WO-1", "complete", req); !errors.Is(err, errNoForward) {
		t.Fatalf("leader without batches: error %v, want errNoForward", err)
	}
}
