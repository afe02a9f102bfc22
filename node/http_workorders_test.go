package node

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hive-swarm/hive/api"
)

func TestHTTPWorkOrderLifecycle(t *testing.T) {
	a := newTestAPI(t)
	deadline := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	wo := a.create(&api.CreateWorkOrderRequest{
		Title: "fix login", Description: "users cannot log in", Type: "shell",
		Labels: []string{"bug"}, Payload: []byte(`{"cmd":"make test"}`), Effort: 60,
		Signal: "github_issue", Deadline: &deadline,
	})
	if wo.ID != "WO-1" || wo.State != "queued" || wo.Bucket != "reliability" || wo.Priority != "medium" ||
		string(wo.Payload) != `{"cmd":"make test"}` || !wo.Deadline.Equal(deadline) || wo.CreatedAt.IsZero() ||
		wo.CreatedAt.Location() != time.UTC || wo.CreateIndex == 0 {
		t.Fatalf("created %+v", wo)
	}

	var got api.WorkOrder
	r := a.do("GET", "/v1/workorders/WO-1", nil)
	r.ok(t, http.StatusOK, &got)
	if got.ID != "WO-1" || got.Title != "fix login" || r.header.Get(headerIndex) == "" {
		t.Fatalf("get %+v, headers %v", got, r.header)
	}

	wo = a.action("WO-1", "start", &api.TransitionRequest{Agent: "shell"})
	if wo.State != "in_progress" || wo.Attempt != 1 || wo.Agent != "shell" {
		t.Fatalf("started %+v", wo)
	}
	wo = a.action("WO-1", "progress", &api.TransitionRequest{Attempt: 1, Stage: "testing", Progress: "50%"})
	if wo.State != "in_progress" || wo.Progress != "50%" || wo.Stage != "testing" {
		t.Fatalf("progress %+v", wo)
	}
	wo = a.action("WO-1", "advance", &api.TransitionRequest{Attempt: 1})
	if wo.State != "review" {
		t.Fatalf("advanced %+v", wo)
	}
	wo = a.action("WO-1", "complete", &api.TransitionRequest{Attempt: 1,
		Evidence: &api.Evidence{ExitCode: 0, Artifact: "sku-1", Outputs: map[string]string{"out": "ok"}}})
	if wo.State != "completed" || wo.Result == nil || wo.Result.Artifact != "sku-1" || wo.CompletedAt == nil {
		t.Fatalf("completed %+v", wo)
	}

	// An empty body is a valid transition request.
	b := a.create(&api.CreateWorkOrderRequest{Title: "second"})
	r = a.do("POST", "/v1/workorders/"+b.ID+"/cancel", nil)
	r.ok(t, http.StatusOK, &got)
	if got.State != "cancelled" {
		t.Fatalf("cancelled %+v", got)
	}
	c := a.create(&api.CreateWorkOrderRequest{Title: "third"})
	a.action(c.ID, "start", nil)
	if wo := a.action(c.ID, "fail", &api.TransitionRequest{Reason: "flaky", Evidence: &api.Evidence{ExitCode: 2}}); wo.State != "failed" {
		t.Fatalf("failed %+v", wo)
	}
}

func TestHTTPDependencies(t *testing.T) {
	a := newTestAPI(t)
	x := a.create(&api.CreateWorkOrderRequest{Title: "x"})
	y := a.create(&api.CreateWorkOrderRequest{Title: "y"})

	var wo api.WorkOrder
	a.do("POST", "/v1/workorders/"+y.ID+"/dependencies", &api.DependencyRequest{DependsOn: []string{x.ID}}).ok(t, 200, &wo)
	if wo.State != "blocked" || !slices.Equal(wo.DependsOn, []string{x.ID}) {
		t.Fatalf("after add %+v", wo)
	}
	a.do("DELETE", "/v1/workorders/"+y.ID+"/dependencies", &api.DependencyRequest{DependsOn: []string{x.ID}}).ok(t, 200, &wo)
	if wo.State != "queued" || len(wo.DependsOn) != 0 {
		t.Fatalf("after remove %+v", wo)
	}
	// A dependency given at creation.
	z := a.create(&api.CreateWorkOrderRequest{Title: "z", DependsOn: []string{x.ID}})
	if z.State != "blocked" {
		t.Fatalf("created with a dependency: %+v", z)
	}
	a.action(x.ID, "start", nil)
	a.action(x.ID, "complete", &api.TransitionRequest{Attempt: 1})
	a.do("GET", "/v1/workorders/"+z.ID, nil).ok(t, 200, &wo)
	if wo.State != "queued" {
		t.Fatalf("not unblocked: %+v", wo)
	}
}

// TestHTTPBadInput checks every kind of refusal: its exact status and
// code, and that the state is unchanged. Input that fails validation
// never reaches raft at all.
func TestHTTPBadInput(t *testing.T) {
	a := newTestAPI(t)
	a.create(&api.CreateWorkOrderRequest{Title: "dep"})                                  // WO-1
	a.create(&api.CreateWorkOrderRequest{Title: "blocked", DependsOn: []string{"WO-1"}}) // WO-2, blocked
	a.create(&api.CreateWorkOrderRequest{Title: "third"})                                // WO-3
	a.do("POST", "/v1/workorders/WO-1/dependencies", &api.DependencyRequest{DependsOn: []string{"WO-3"}}).ok(t, 200, nil)
	a.create(&api.CreateWorkOrderRequest{Title: "running"}) // WO-4
	a.action("WO-4", "start", nil)
	a.action("WO-4", "progress", &api.TransitionRequest{Attempt: 1, Progress: "half"})

	big := `{"title":"` + strings.Repeat("x", 2<<20) + `"}`
	for _, tc := range []struct {
		name         string
		method, path string
		body         any
		hdr          []string
		status       int
		code         string
		proposed     bool   // reaches the state machine (a business refusal)
		says         string // the message mentions this
	}{
		{"malformed json", "POST", "/v1/workorders", `{"title":`, nil, 400, "bad_json", false, "offset"},
		{"syntax error", "POST", "/v1/workorders", `{"title" "x"}`, nil, 400, "bad_json", false, "offset 10"},
		{"empty body", "POST", "/v1/workorders", ``, nil, 400, "bad_json", false, "empty"},
		{"trailing data", "POST", "/v1/workorders", `{"title":"x"} {"title":"y"}`, nil, 400, "bad_json", false, "after"},
		{"not an object", "POST", "/v1/workorders", `[1,2]`, nil, 400, "invalid_argument", false, ""},
		{"unknown field", "POST", "/v1/workorders", `{"title":"x","colour":"red"}`, nil, 400, "unknown_field", false, "colour"},
		{"wrong type", "POST", "/v1/workorders", `{"title":5}`, nil, 400, "invalid_argument", false, "title"},
		{"bad deadline", "POST", "/v1/workorders", `{"title":"x","deadline":"tomorrow"}`, nil, 400, "invalid_argument", false, ""},
		{"deadline before 1970", "POST", "/v1/workorders", `{"title":"x","deadline":"1960-01-01T00:00:00Z"}`, nil, 400, "invalid_argument", false, "deadline"},
		{"oversized body", "POST", "/v1/workorders", big, nil, 413, "body_too_large", false, ""},
		{"missing title", "POST", "/v1/workorders", `{"description":"x"}`, nil, 400, "invalid_argument", false, "title"},
		{"unknown priority", "POST", "/v1/workorders", `{"title":"x","priority":"urgent"}`, nil, 400, "invalid_argument", false, "priority"},
		{"priority score range", "POST", "/v1/workorders", `{"title":"x","priority_score":11}`, nil, 400, "invalid_argument", false, "priority_score"},
		{"unknown bucket", "POST", "/v1/workorders", `{"title":"x","bucket":"misc"}`, nil, 400, "invalid_argument", false, "bucket"},
		{"malformed dependency", "POST", "/v1/workorders", `{"title":"x","depends_on":["nope"]}`, nil, 400, "invalid_argument", false, "depends_on"},
		{"long request id", "POST", "/v1/workorders", `{"title":"x"}`, []string{headerIdempotencyKey, strings.Repeat("k", 200)}, 400, "invalid_argument", false, "request_id"},
		{"request id mismatch", "POST", "/v1/workorders", `{"title":"x","request_id":"a"}`, []string{headerIdempotencyKey, "b"}, 400, "invalid_argument", false, "request_id"},
		{"self dependency", "POST", "/v1/workorders/WO-3/dependencies", `{"depends_on":["WO-3"]}`, nil, 409, "self_dependency", false, "WO-3"},
		{"no dependencies", "POST", "/v1/workorders/WO-3/dependencies", `{"depends_on":[]}`, nil, 400, "invalid_argument", false, "depends_on"},
		{"cascade on start", "POST", "/v1/workorders/WO-1/start", `{"cascade":true}`, nil, 400, "invalid_argument", false, "cascade"},
		{"malformed id", "POST", "/v1/workorders/bogus/start", ``, nil, 400, "invalid_argument", false, "id"},
		{"unknown state filter", "GET", "/v1/workorders?state=sleeping", nil, nil, 400, "invalid_argument", false, "state"},
		{"unknown priority filter", "GET", "/v1/workorders?priority=urgent", nil, nil, 400, "invalid_argument", false, "priority"},
		{"unknown bucket filter", "GET", "/v1/workorders?bucket=misc", nil, nil, 400, "invalid_argument", false, "bucket"},
		{"unknown query parameter", "GET", "/v1/workorders?staet=queued", nil, nil, 400, "invalid_argument", false, "staet"},
		{"bad limit", "GET", "/v1/workorders?limit=0", nil, nil, 400, "invalid_argument", false, "limit"},
		{"bad cursor", "GET", "/v1/workorders?after=x", nil, nil, 400, "invalid_argument", false, "after"},
		{"bad queue bucket", "GET", "/v1/queue?bucket=misc", nil, nil, 400, "invalid_argument", false, "bucket"},
		{"unknown work order", "GET", "/v1/workorders/WO-99", nil, nil, 404, "not_found", false, "WO-99"},

		{"cycle", "POST", "/v1/workorders/WO-3/dependencies", `{"depends_on":["WO-2"]}`, nil, 409, "cycle", true, ""},
		{"start unknown", "POST", "/v1/workorders/WO-99/start", ``, nil, 404, "not_found", true, ""},
		{"dependency on unknown", "POST", "/v1/workorders/WO-3/dependencies", `{"depends_on":["WO-99"]}`, nil, 404, "not_found", true, ""},
		{"illegal transition", "POST", "/v1/workorders/WO-3/complete", ``, nil, 409, "invalid_transition", true, ""},
		{"blocked start", "POST", "/v1/workorders/WO-2/start", ``, nil, 409, "blocked_by_dependencies", true, ""},
		{"stale attempt", "POST", "/v1/workorders/WO-4/complete", `{"attempt":7}`, nil, 409, "stale_attempt", true, ""},
		{"already started", "POST", "/v1/workorders/WO-4/start", ``, nil, 409, "already_started", true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, proposals := a.b.fingerprint(), a.b.proposalCount()
			e := a.do(tc.method, tc.path, tc.body, tc.hdr...).apiErr(t, tc.status, tc.code)
			if !strings.Contains(e.Message, tc.says) {
				t.Errorf("message %q does not mention %q", e.Message, tc.says)
			}
			if after := a.b.fingerprint(); after != before {
				t.Errorf("state changed: %+v -> %+v", before, after)
			}
			if reached := a.b.proposalCount() != proposals; reached != tc.proposed {
				t.Errorf("reached the state machine: %v, want %v", reached, tc.proposed)
			}
			if tc.code == "cycle" && len(e.Cycle) < 3 {
				t.Errorf("cycle not listed: %+v", e)
			}
		})
	}
}

func TestHTTPIdempotency(t *testing.T) {
	a := newTestAPI(t)
	req := &api.CreateWorkOrderRequest{Title: "once"}
	var first, second api.WorkOrder
	a.do("POST", "/v1/workorders", req, headerIdempotencyKey, "key-1").ok(t, 201, &first)
	receipts := a.b.view().ReceiptCount()
	a.do("POST", "/v1/workorders", req, headerIdempotencyKey, "key-1").ok(t, 201, &second)
	if first.ID != second.ID {
		t.Fatalf("retry created %s after %s", second.ID, first.ID)
	}
	if n := a.b.view().ReceiptCount(); n != receipts || a.b.view().WorkOrderCount() != 1 {
		t.Fatalf("retry appended receipts: %d -> %d", receipts, n)
	}
	// The body's request_id works the same way.
	req.RequestID = "key-2"
	a.do("POST", "/v1/workorders", req).ok(t, 201, &first)
	a.do("POST", "/v1/workorders", req).ok(t, 201, &second)
	if first.ID != second.ID || a.b.view().WorkOrderCount() != 2 {
		t.Fatalf("body request_id: %s then %s", first.ID, second.ID)
	}
	// Without a key, every request is new.
	req.RequestID = ""
	a.do("POST", "/v1/workorders", req).ok(t, 201, &first)
	a.do("POST", "/v1/workorders", req).ok(t, 201, &second)
	if first.ID == second.ID {
		t.Fatalf("two requests without a key made one work order")
	}
}

func TestHTTPListPagination(t *testing.T) {
	a := newTestAPI(t)
	for i := range 7 {
		a.create(&api.CreateWorkOrderRequest{Title: fmt.Sprint("wo ", i), Bucket: []string{"security", "features"}[i%2]})
	}
	var ids []string
	after := ""
	for page := 0; ; page++ {
		if page > 5 {
			t.Fatal("pagination does not end")
		}
		var l api.WorkOrderList
		a.do("GET", "/v1/workorders?limit=3"+after, nil).ok(t, 200, &l)
		if len(l.WorkOrders) > 3 || l.Index == 0 {
			t.Fatalf("page %d: %+v", page, l)
		}
		for _, wo := range l.WorkOrders {
			ids = append(ids, wo.ID)
		}
		if l.Next == "" {
			break
		}
		after = "&after=" + l.Next
	}
	want := []string{"WO-1", "WO-2", "WO-3", "WO-4", "WO-5", "WO-6", "WO-7"}
	if !slices.Equal(ids, want) {
		t.Fatalf("pages gave %v", ids)
	}

	var l api.WorkOrderList
	a.do("GET", "/v1/workorders?bucket=security&state=queued", nil).ok(t, 200, &l)
	if len(l.WorkOrders) != 4 {
		t.Fatalf("bucket filter: %d work orders", len(l.WorkOrders))
	}
	a.do("GET", "/v1/queue?bucket=features&limit=2", nil).ok(t, 200, &l)
	if len(l.WorkOrders) != 2 || l.WorkOrders[0].ID != "WO-2" || l.WorkOrders[1].ID != "WO-4" {
		t.Fatalf("queue: %+v", l.WorkOrders)
	}
	a.do("GET", "/v1/queue", nil).ok(t, 200, &l)
	if len(l.WorkOrders) != 7 {
		t.Fatalf("whole queue: %d", len(l.WorkOrders))
	}
	// An empty answer is [] not null.
	r := a.do("GET", "/v1/workorders?state=failed", nil)
	r.ok(t, 200, nil)
	if !strings.Contains(string(r.body), `"workorders":[]`) {
		t.Fatalf("empty list encodes as %s", r.body)
	}
}

// TestHTTPTransitionPreferMinimal checks that Prefer: return=minimal gets
// a 204 without a body for a transition that committed, and the usual
// error for one that did not.
func TestHTTPTransitionPreferMinimal(t *testing.T) {
	a := newTestAPI(t)
	wo := a.create(&api.CreateWorkOrderRequest{Title: "minimal"})
	r := a.do("POST", "/v1/workorders/"+wo.ID+"/start", &api.TransitionRequest{Agent: "shell"}, "Prefer", "respond-async, return=minimal")
	if r.status != http.StatusNoContent || len(r.body) != 0 || r.header.Get("Preference-Applied") != "return=minimal" {
		t.Fatalf("start with return=minimal: %d %q %v", r.status, r.body, r.header)
	}
	var got api.WorkOrder
	a.do("GET", "/v1/workorders/"+wo.ID, nil).ok(t, http.StatusOK, &got)
	if got.State != "in_progress" || got.Attempt != 1 {
		t.Fatalf("after a minimal start: %+v", got)
	}
	r = a.do("POST", "/v1/workorders/"+wo.ID+"/complete", &api.TransitionRequest{Attempt: 7}, "Prefer", "return=minimal")
	if r.status != http.StatusConflict || !strings.Contains(string(r.body), "stale_attempt") {
		t.Fatalf("stale complete with return=minimal: %d %s", r.status, r.body)
	}
}
