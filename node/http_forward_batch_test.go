package node

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hive-swarm/hive/api"
)

// countingLeader is a leader API behind a middleware that counts the
// requests it gets and may hold forwarded batches until released.
type countingLeader struct {
	*testAPI
	direct  atomic.Int64 // writes that came on their own
	batches atomic.Int64 // forwarded batches
	items   atomic.Int64 // writes in forwarded batches
	gate    chan struct{}
	noBatch bool // answer the batch route with 404, as a leader that predates it
}

func newCountingLeader(t *testing.T, gate chan struct{}, noBatch bool) *countingLeader {
	t.Helper()
	b := newFSMBackend(t, "n1")
	logger := hclog.New(&hclog.LoggerOptions{Name: b.name, Level: hclog.Debug, Output: tWriter{t}})
	s := newHTTPServer(b, logger)
	l := &countingLeader{gate: gate, noBatch: noBatch}
	inner := s.handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != pathForwardBatch {
			if r.Method == http.MethodPost {
				l.direct.Add(1)
			}
			inner.ServeHTTP(w, r)
			return
		}
		if l.noBatch {
			writeError(w, http.StatusNotFound, "no_route", "no route")
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("reading a batch: %v", err)
			return
		}
		reqs, err := decodeFwdRequests(body)
		if err != nil {
			t.Errorf("decoding a batch: %v", err)
		}
		l.batches.Add(1)
		l.items.Add(int64(len(reqs)))
		if l.gate != nil {
			<-l.gate
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.stop(ctx); err != nil {
			t.Error(err)
		}
	})
	l.testAPI = &testAPI{t: t, b: b, s: s, srv: srv}
	return l
}

func TestHTTPForwardBatchesConcurrentWrites(t *testing.T) {
	gate := make(chan struct{})
	l := newCountingLeader(t, gate, false)
	f := newFollower(t, "n2", l.testAPI)

	const writes = 64
	var wg sync.WaitGroup
	results := make([]*response, writes)
	for i := range writes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = f.do("POST", "/v1/workorders", fmt.Sprintf(`{"title":"w%d"}`, i),
				headerIdempotencyKey, fmt.Sprintf("batch-%d", i))
		}()
	}
	// Hold the leader until every write is either in a batch it holds or
	// queued on the follower (one may wait in the batcher for a free
	// slot): the queued ones must then go out together.
	var release sync.Once
	open := func() { release.Do(func() { close(gate) }) }
	t.Cleanup(open)
	deadline := time.Now().Add(30 * time.Second)
	for l.items.Load()+int64(len(f.s.batcher.queue)) < writes-1 {
		if time.Now().After(deadline) {
			open()
			wg.Wait()
			t.Fatalf("after 30s: %d writes in batches, %d queued", l.items.Load(), len(f.s.batcher.queue))
		}
		time.Sleep(5 * time.Millisecond)
	}
	open()
	wg.Wait()

	ids := map[string]bool{}
	for i, r := range results {
		var wo api.WorkOrder
		r.ok(t, http.StatusCreated, &wo)
		if wo.Title != fmt.Sprintf("w%d", i) || ids[wo.ID] || r.header.Get(headerIndex) == "" {
			t.Fatalf("write %d: answer %+v (index %q) is not its own", i, wo, r.header.Get(headerIndex))
		}
		ids[wo.ID] = true
	}
	if n := l.b.view().WorkOrderCount(); n != writes {
		t.Fatalf("leader has %d work orders, want %d", n, writes)
	}
	if l.direct.Load() != 0 || l.items.Load() != writes {
		t.Fatalf("%d writes came on their own, %d in batches; want all %d in batches", l.direct.Load(), l.items.Load(), writes)
	}
	if b := l.batches.Load(); b > fwdBatchInflight+1 {
		t.Fatalf("%d writes took %d batches, want at most %d", writes, b, fwdBatchInflight+1)
	}
}

func TestHTTPForwardFallsBackWithoutBatchRoute(t *testing.T) {
	l := newCountingLeader(t, nil, true)
	f := newFollower(t, "n2", l.testAPI)
	var wo api.WorkOrder
	for i := range 3 {
		f.do("POST", "/v1/workorders", fmt.Sprintf(`{"title":"old leader %d"}`, i)).ok(t, http.StatusCreated, &wo)
	}
	if l.direct.Load() != 3 || l.b.view().WorkOrderCount() != 3 {
		t.Fatalf("leader got %d writes on their own and has %d work orders, want 3 and 3",
			l.direct.Load(), l.b.view().WorkOrderCount())
	}
	if len(f.s.batcher.queue) != 0 {
		t.Fatal("writes left queued")
	}
}

func TestHTTPForwardBatchAnswerCutShort(t *testing.T) {
	// A leader that dies after promising one answer.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", fwdContentType)
		_, _ = w.Write(appendFwdAnswerStart(nil, 1))
	}))
	defer srv.Close()
	f := newFollower(t, "n2", nil)
	f.b.set(func(x *fsmBackend) { x.leaderName, x.leaderHTTP = "dying", srv.Listener.Addr().String() })
	e := f.do("POST", "/v1/workorders", `{"title":"x"}`).apiErr(t, http.StatusServiceUnavailable, "no_leader")
	if !strings.Contains(e.Message, "outcome is unknown") {
		t.Fatalf("message %q", e.Message)
	}
}

func TestHTTPForwardedBatchRoute(t *testing.T) {
	l := newTestAPI(t)
	post := func(body []byte, hdr ...string) *response {
		return l.do("POST", pathForwardBatch, body, hdr...)
	}
	post(encodeFwdRequests(nil)).apiErr(t, http.StatusBadRequest, "invalid_argument")
	post([]byte("junk"), headerForwardedBy, "n2", "Content-Type", fwdContentType).apiErr(t, http.StatusBadRequest, "bad_request")

	reqs := []*fwdRequest{
		{method: "POST", uri: "/v1/workorders", header: http.Header{"Content-Type": {"application/json"}}, body: []byte(`{"title":"ok"}`)},
		{method: "GET", uri: "/v1/workorders"},
		{method: "POST", uri: pathForwardBatch},
		{method: "POST", uri: "/v1/workorders", body: []byte(`{"title":""}`)},
		{method: "POST", uri: "/v1/workorders/WO-99/start"}, // items run concurrently: no order between them
	}
	r := post(encodeFwdRequests(reqs), headerForwardedBy, "n2", "Content-Type", fwdContentType)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != fwdContentType {
		t.Fatalf("batch answered %d %q: %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	ar := &fwdAnswerReader{br: bufio.NewReader(bytes.NewReader(r.body)), max: fwdMaxAnswer}
	n, err := ar.start()
	if err != nil || n != len(reqs) {
		t.Fatalf("answer start: %d, %v", n, err)
	}
	got := make([]*fwdResponse, len(reqs))
	for range reqs {
		i, resp, err := ar.next()
		if err != nil || got[i] != nil {
			t.Fatalf("answer %d: %v (seen before: %v)", i, err, got[i] != nil)
		}
		got[i] = resp
	}
	if _, err := ar.br.ReadByte(); err != io.EOF {
		t.Fatalf("data after the last answer: %v", err)
	}
	want := []struct {
		status int
		code   string
	}{{201, ""}, {400, "invalid_argument"}, {400, "invalid_argument"}, {400, "invalid_argument"}, {404, "not_found"}}
	for i, w := range want {
		resp := &response{status: got[i].status, header: got[i].header, body: got[i].body}
		if w.code == "" {
			var wo api.WorkOrder
			resp.ok(t, w.status, &wo)
			if wo.ID != "WO-1" || resp.header.Get(headerIndex) == "" {
				t.Fatalf("created %+v, headers %v", wo, resp.header)
			}
			continue
		}
		resp.apiErr(t, w.status, w.code)
	}
	if l.b.view().WorkOrderCount() != 1 {
		t.Fatalf("%d work orders, want 1", l.b.view().WorkOrderCount())
	}
}

func TestFwdWireRoundTrip(t *testing.T) {
	reqs := []*fwdRequest{
		{method: "POST", uri: "/v1/workorders?x=1", header: http.Header{"A": {"1", "2"}, "B": {""}}, body: []byte(`{"title":"t"}`)},
		{method: "DELETE", uri: "/v1/memory/ns/k", header: http.Header{}, body: []byte{}},
	}
	got, err := decodeFwdRequests(encodeFwdRequests(reqs))
	if err != nil || !reflect.DeepEqual(got, reqs) {
		t.Fatalf("requests: %v\n%+v\nwant %+v", err, got, reqs)
	}
	resps := []*fwdResponse{
		{status: 201, header: http.Header{"Content-Type": {"application/json"}}, body: []byte("{}\n")},
		{status: 503, header: http.Header{}, body: []byte{}},
	}
	b := appendFwdAnswerStart(nil, 2)
	b = appendFwdResponse(b, 1, resps[1])
	b = appendFwdResponse(b, 0, resps[0])
	ar := &fwdAnswerReader{br: bufio.NewReader(bytes.NewReader(b)), max: 1 << 20}
	if n, err := ar.start(); n != 2 || err != nil {
		t.Fatalf("start: %d %v", n, err)
	}
	for _, want := range []int{1, 0} {
		i, r, err := ar.next()
		if err != nil || i != want || !reflect.DeepEqual(r, resps[want]) {
			t.Fatalf("answer: %d %+v %v, want %d %+v", i, r, err, want, resps[want])
		}
	}
	if _, _, err := ar.next(); err == nil {
		t.Fatal("read past the end")
	}
	// Truncations are errors, never panics.
	enc := encodeFwdRequests(reqs)
	for n := range len(enc) {
		if _, err := decodeFwdRequests(enc[:n]); err == nil {
			t.Fatalf("a batch cut at %d of %d bytes decoded", n, len(enc))
		}
	}
}

func FuzzDecodeFwdRequests(f *testing.F) {
	f.Add(encodeFwdRequests([]*fwdRequest{{method: "POST", uri: "/v1/workorders", header: http.Header{"A": {"b"}}, body: []byte("{}")}}))
	f.Add([]byte{fwdWireVersion, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		reqs, err := decodeFwdRequests(b)
		if err != nil {
			return
		}
		if again, err := decodeFwdRequests(encodeFwdRequests(reqs)); err != nil || len(again) != len(reqs) {
			t.Fatalf("re-encoded batch: %v, %d of %d requests", err, len(again), len(reqs))
		}
	})
}

func FuzzFwdAnswerReader(f *testing.F) {
	f.Add(appendFwdResponse(appendFwdAnswerStart(nil, 1), 0, &fwdResponse{status: 200, header: http.Header{"A": {"b"}}, body: []byte("x")}))
	f.Add([]byte{fwdWireVersion, 3, 0, 200, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		ar := &fwdAnswerReader{br: bufio.NewReader(bytes.NewReader(b)), max: 1 << 16}
		n, err := ar.start()
		for i := 0; err == nil && i < n; i++ {
			var r *fwdResponse
			if _, r, err = ar.next(); err == nil && (r.status < 100 || len(r.body) > 1<<16) {
				t.Fatalf("accepted %+v", r)
			}
		}
	})
}
