package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestCreateBatchMechanics checks the client's side of a batch create:
// the route, one idempotency key across retries (the caller's when given),
// the answer's slots, and refusals made before sending. The tests of
// node (TestBatchCreateThroughFollower) and cmd/hive run it against real
// nodes.
func TestCreateBatchMechanics(t *testing.T) {
	s, c := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 || n == 3 {
			writeErr(w, 503, CodeNoLeader, "no leader")
			return
		}
		if r.URL.Path != "/v1/workorders/batch" || r.Method != http.MethodPost {
			writeErr(w, 404, CodeNoRoute, "unexpected request")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		_, _ = w.Write([]byte(`{"workorders":[{"id":"WO-1","title":"a","state":"queued"},` +
			`{"error":{"code":"not_found","message":"depends_on: WO-9 not found"}}]}`))
	})
	reqs := []*CreateWorkOrderRequest{{Title: "a"}, {Title: "b", DependsOn: []string{"WO-9"}}}
	items, err := c.WorkOrders().CreateBatch(context.Background(), reqs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || items[0].ID != "WO-1" || items[0].Title != "a" || items[0].Err() != nil {
		t.Fatalf("item 0: %+v", items[0])
	}
	if items[1].WorkOrder != nil || ErrorCode(items[1].Err()) != CodeNotFound || !strings.Contains(items[1].Err().Error(), "WO-9") {
		t.Fatalf("item 1: %+v, %v", items[1], items[1].Err())
	}
	rs := s.requests()
	if len(rs) != 2 || rs[0].Key == "" || rs[1].Key != rs[0].Key || string(rs[0].Body) != string(rs[1].Body) {
		t.Fatalf("requests %+v", rs)
	}
	var sent CreateWorkOrderBatchRequest
	if err := json.Unmarshal(rs[0].Body, &sent); err != nil || len(sent.WorkOrders) != 2 || sent.WorkOrders[1].DependsOn[0] != "WO-9" {
		t.Fatalf("body %s: %v", rs[0].Body, err)
	}
	// The caller's key is sent, and kept across retries.
	if _, err := c.WorkOrders().CreateBatch(context.Background(), reqs, &BatchOptions{IdempotencyKey: "mine"}); err != nil {
		t.Fatal(err)
	}
	if rs := s.requests(); len(rs) != 4 || rs[2].Key != "mine" || rs[3].Key != "mine" {
		t.Fatalf("requests %+v", rs)
	}
	// An answer of the wrong length is an error.
	if _, err := c.WorkOrders().CreateBatch(context.Background(), reqs[:1], nil); err == nil || !strings.Contains(err.Error(), "2 answers to 1") {
		t.Fatalf("short batch: %v", err)
	}
	// Refused before sending.
	count := len(s.requests())
	for _, bad := range [][]*CreateWorkOrderRequest{nil, make([]*CreateWorkOrderRequest, MaxBatchWorkOrders+1), {nil}} {
		if _, err := c.WorkOrders().CreateBatch(context.Background(), bad, nil); err == nil {
			t.Fatalf("batch of %d sent", len(bad))
		}
	}
	if len(s.requests()) != count {
		t.Fatal("an invalid batch was sent")
	}
}
