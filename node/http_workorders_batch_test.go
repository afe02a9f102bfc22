package node

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/hive-swarm/hive/api"
)

// batchBody encodes a batch create of reqs.
func batchBody(t *testing.T, reqs ...*api.CreateWorkOrderRequest) []byte {
	t.Helper()
	b, err := json.Marshal(&api.CreateWorkOrderBatchRequest{WorkOrders: reqs})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// titled returns n create requests titled prefix0, prefix1...
func titled(prefix string, n int) []*api.CreateWorkOrderRequest {
	out := make([]*api.CreateWorkOrderRequest, n)
	for i := range out {
		out[i] = &api.CreateWorkOrderRequest{Title: fmt.Sprintf("%s%d", prefix, i), Type: "test"}
	}
	return out
}

func TestHTTPBatchCreate(t *testing.T) {
	a := newTestAPI(t)
	a.create(&api.CreateWorkOrderRequest{Title: "existing"}) // WO-1

	body := batchBody(t,
		&api.CreateWorkOrderRequest{Title: "first", Labels: []string{"security"}},
		&api.CreateWorkOrderRequest{Title: "waits", DependsOn: []string{"WO-1"}},
		&api.CreateWorkOrderRequest{Title: "orphan", DependsOn: []string{"WO-99"}},
		&api.CreateWorkOrderRequest{Title: "last", Payload: json.RawMessage(`{"mode":"noop"}`)},
	)
	r := a.do("POST", "/v1/workorders/batch", body)
	var out api.CreateWorkOrderBatchResponse
	r.ok(t, http.StatusCreated, &out)
	if r.header.Get(headerIndex) == "" || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("headers %v", r.header)
	}
	if len(out.WorkOrders) != 4 {
		t.Fatalf("%d items: %s", len(out.WorkOrders), r.body)
	}
	want := []struct{ id, title string }{{"WO-2", "first"}, {"WO-3", "waits"}, {"", ""}, {"WO-4", "last"}}
	for i, w := range want {
		it := out.WorkOrders[i]
		if w.id == "" {
			if it.WorkOrder != nil || it.Error == nil || it.Error.Code != "not_found" || !strings.Contains(it.Error.Message, "WO-99") {
				t.Fatalf("item %d: want a not_found error naming WO-99, got %s", i, r.body)
			}
			if it.Err() == nil || api.ErrorCode(it.Err()) != "not_found" {
				t.Fatalf("item %d: Err() = %v", i, it.Err())
			}
			continue
		}
		if it.Error != nil || it.WorkOrder == nil || it.ID != w.id || it.Title != w.title || it.Err() != nil {
			t.Fatalf("item %d: want %s %q, got %s", i, w.id, w.title, r.body)
		}
	}
	if out.WorkOrders[1].State != "blocked" || out.WorkOrders[0].Bucket != "security" || string(out.WorkOrders[3].Payload) != `{"mode":"noop"}` {
		t.Fatalf("work orders as created: %s", r.body)
	}
	if n := a.b.view().WorkOrderCount(); n != 4 {
		t.Fatalf("%d work orders, want 4", n)
	}
	// The answer is what a single create answers, item for item.
	var single api.WorkOrder
	a.do("GET", "/v1/workorders/WO-4", nil).ok(t, http.StatusOK, &single)
	got, _ := json.Marshal(out.WorkOrders[3].WorkOrder)
	exp, _ := json.Marshal(&single)
	if string(got) != string(exp) {
		t.Fatalf("batch item %s\nsingle get %s", got, exp)
	}
}

func TestHTTPBatchCreateRefusals(t *testing.T) {
	a := newTestAPI(t)
	a.create(&api.CreateWorkOrderRequest{Title: "existing"})
	before := a.b.fingerprint()
	proposals := a.b.proposalCount()
	big := strings.Repeat("x", 9<<10)
	cases := []struct {
		name   string
		body   any
		hdr    []string
		status int
		code   string
		msg    []string
	}{
		{"empty body", "", nil, 400, "bad_json", nil},
		{"empty list", `{"workorders":[]}`, nil, 400, "invalid_argument", []string{"workorders", "1..1000"}},
		{"no list", `{}`, nil, 400, "invalid_argument", []string{"workorders"}},
		{"too many", batchBody(t, titled("t", 1001)...), nil, 400, "invalid_argument", []string{"1001", "1..1000"}},
		{"no title", batchBody(t, &api.CreateWorkOrderRequest{Title: "ok"}, &api.CreateWorkOrderRequest{Title: "ok"},
			&api.CreateWorkOrderRequest{Title: " "}), nil, 400, "invalid_argument", []string{"workorders[2]", "title"}},
		{"bad priority", batchBody(t, &api.CreateWorkOrderRequest{Title: "ok", Priority: "urgent"}), nil, 400,
			"invalid_argument", []string{"workorders[0]", "priority"}},
		{"bad type", `{"workorders":[{"title":"a"},{"title":7}]}`, nil, 400, "invalid_argument", []string{"workorders[1]", "title"}},
		{"unknown item field", `{"workorders":[{"title":"a"},{"titel":"b"}]}`, nil, 400, "unknown_field", []string{"workorders[1]", "titel"}},
		{"unknown field", `{"workorders":[{"title":"a"}],"extra":1}`, nil, 400, "unknown_field", []string{"extra"}},
		{"null item", `{"workorders":[{"title":"a"},null]}`, nil, 400, "invalid_argument", []string{"workorders[1]", "null"}},
		{"malformed", `{"workorders":[{"title":"a"}`, nil, 400, "bad_json", nil},
		{"self dependency shape", batchBody(t, &api.CreateWorkOrderRequest{Title: "x", DependsOn: []string{"not an id"}}), nil, 400,
			"invalid_argument", []string{"workorders[0]", "depends_on"}},
		{"duplicate request id", batchBody(t, &api.CreateWorkOrderRequest{Title: "a", RequestID: "same"},
			&api.CreateWorkOrderRequest{Title: "b", RequestID: "same"}), nil, 400, "invalid_argument", []string{"workorders[1]", "workorders[0]", "request_id"}},
		{"derived id collides", batchBody(t, &api.CreateWorkOrderRequest{Title: "a"},
			&api.CreateWorkOrderRequest{Title: "b", RequestID: "k/0"}), []string{headerIdempotencyKey, "k"}, 400, "invalid_argument", []string{"workorders[1]", "request_id"}},
		{"long key", batchBody(t, &api.CreateWorkOrderRequest{Title: "a"}), []string{headerIdempotencyKey, strings.Repeat("k", 125)}, 400,
			"invalid_argument", []string{"Idempotency-Key"}},
		{"too large", batchBody(t, func() []*api.CreateWorkOrderRequest {
			reqs := titled("t", 1000)
			for _, r := range reqs {
				r.Description = big
			}
			return reqs
		}()...), nil, 413, "body_too_large", []string{"8388608"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := a.do("POST", "/v1/workorders/batch", c.body, c.hdr...).apiErr(t, c.status, c.code)
			for _, m := range c.msg {
				if !strings.Contains(e.Message, m) {
					t.Fatalf("message %q does not name %q", e.Message, m)
				}
			}
		})
	}
	if a.b.fingerprint() != before || a.b.proposalCount() != proposals {
		t.Fatal("a refused batch changed the state")
	}
}

// TestHTTPBatchCreateLargeBody checks that a batch may exceed the 1 MiB
// of other routes.
func TestHTTPBatchCreateLargeBody(t *testing.T) {
	a := newTestAPI(t)
	reqs := titled("big", 1000)
	for _, r := range reqs {
		r.Description = strings.Repeat("d", 2<<10)
	}
	body := batchBody(t, reqs...)
	if len(body) <= maxBodyBytes {
		t.Fatalf("body of %d bytes is not large", len(body))
	}
	var out api.CreateWorkOrderBatchResponse
	a.do("POST", "/v1/workorders/batch", body).ok(t, http.StatusCreated, &out)
	if len(out.WorkOrders) != 1000 || out.WorkOrders[999].ID != "WO-1000" || a.b.view().WorkOrderCount() != 1000 {
		t.Fatalf("%d items, %d work orders", len(out.WorkOrders), a.b.view().WorkOrderCount())
	}
}

func TestHTTPBatchCreateIdempotent(t *testing.T) {
	a := newTestAPI(t)
	body := batchBody(t,
		&api.CreateWorkOrderRequest{Title: "a"},
		&api.CreateWorkOrderRequest{Title: "b", RequestID: "own-b"},
		&api.CreateWorkOrderRequest{Title: "c", DependsOn: []string{"WO-77"}},
	)
	post := func(key string) []*api.BatchItem {
		t.Helper()
		var out api.CreateWorkOrderBatchResponse
		a.do("POST", "/v1/workorders/batch", body, headerIdempotencyKey, key).ok(t, http.StatusCreated, &out)
		return out.WorkOrders
	}
	first := post("batch-1")
	again := post("batch-1")
	if a.b.view().WorkOrderCount() != 2 {
		t.Fatalf("%d work orders after a retry, want 2", a.b.view().WorkOrderCount())
	}
	for i := range first {
		f, g := first[i], again[i]
		if (f.WorkOrder == nil) != (g.WorkOrder == nil) || f.WorkOrder != nil && f.ID != g.ID ||
			(f.Error == nil) != (g.Error == nil) || f.Error != nil && f.Error.Code != g.Error.Code {
			t.Fatalf("item %d: first %+v, retry %+v", i, f, g)
		}
	}
	if first[0].ID != "WO-1" || first[1].ID != "WO-2" || first[2].Error == nil {
		t.Fatalf("first outcome %+v %+v %+v", first[0], first[1], first[2])
	}
	// The derived request IDs are KEY/INDEX: a single create with one of
	// them answers with that item.
	var wo api.WorkOrder
	a.do("POST", "/v1/workorders", `{"title":"a"}`, headerIdempotencyKey, "batch-1/0").ok(t, http.StatusCreated, &wo)
	if wo.ID != "WO-1" {
		t.Fatalf("batch-1/0 is %s", wo.ID)
	}
	// Another key creates again, except the item with its own request_id.
	other := post("batch-2")
	if other[0].ID != "WO-3" || other[1].ID != "WO-2" || a.b.view().WorkOrderCount() != 3 {
		t.Fatalf("second key: %+v %+v, %d work orders", other[0], other[1], a.b.view().WorkOrderCount())
	}
}

func TestHTTPBatchCreateForwarded(t *testing.T) {
	l := newTestAPI(t)
	f := newFollower(t, "n2", l)
	small := batchBody(t, titled("small", 3)...)
	reqs := titled("large", 300)
	for _, r := range reqs {
		r.Description = strings.Repeat("d", 1<<10) // over fwdItemMaxBytes: proxied on its own
	}
	large := batchBody(t, reqs...)
	if len(small) > fwdItemMaxBytes || len(large) <= fwdItemMaxBytes {
		t.Fatalf("bodies of %d and %d bytes", len(small), len(large))
	}
	for _, c := range []struct {
		name string
		body []byte
		n    int
	}{{"batched", small, 3}, {"proxied", large, 300}} {
		t.Run(c.name, func(t *testing.T) {
			before := l.b.view().WorkOrderCount()
			var out, again api.CreateWorkOrderBatchResponse
			f.do("POST", "/v1/workorders/batch", c.body, headerIdempotencyKey, "fw-"+c.name).ok(t, http.StatusCreated, &out)
			f.do("POST", "/v1/workorders/batch", c.body, headerIdempotencyKey, "fw-"+c.name).ok(t, http.StatusCreated, &again)
			if len(out.WorkOrders) != c.n || len(again.WorkOrders) != c.n || again.WorkOrders[c.n-1].ID != out.WorkOrders[c.n-1].ID {
				t.Fatalf("answers of %d and %d items", len(out.WorkOrders), len(again.WorkOrders))
			}
			if got := l.b.view().WorkOrderCount() - before; got != c.n || f.b.proposalCount() != 0 {
				t.Fatalf("leader created %d, follower proposed %d", got, f.b.proposalCount())
			}
		})
	}
	// Bad input is refused by the leader, with the item named.
	proposals := l.b.proposalCount()
	e := f.do("POST", "/v1/workorders/batch", `{"workorders":[{"title":"ok"},{"title":""}]}`).apiErr(t, http.StatusBadRequest, "invalid_argument")
	if !strings.Contains(e.Message, "workorders[1]") || l.b.proposalCount() != proposals {
		t.Fatalf("refusal %q, %d proposals", e.Message, l.b.proposalCount()-proposals)
	}
	// With no leader known, the follower says so.
	lone := newFollower(t, "n3", nil)
	lone.do("POST", "/v1/workorders/batch", small).apiErr(t, http.StatusServiceUnavailable, "no_leader")
}
