package node

import (
	"net/http"
	"slices"
	"testing"

	"github.com/hive-swarm/hive/api"
)

func (a *testAPI) trigger(req *api.TriggerAndonRequest) *api.Andon {
	a.t.Helper()
	var an api.Andon
	a.do("POST", "/v1/andon", req).ok(a.t, http.StatusCreated, &an)
	return &an
}

func (a *testAPI) andons(query string) *api.AndonList {
	a.t.Helper()
	var l api.AndonList
	a.do("GET", "/v1/andon"+query, nil).ok(a.t, http.StatusOK, &l)
	return &l
}

func (a *testAPI) workOrder(id string) *api.WorkOrder {
	a.t.Helper()
	var wo api.WorkOrder
	a.do("GET", "/v1/workorders/"+id, nil).ok(a.t, http.StatusOK, &wo)
	return &wo
}

func TestHTTPAndonLifecycle(t *testing.T) {
	a := newTestAPI(t)
	// The dashboard reads an empty list as "no andon": both lists present.
	r := a.do("GET", "/v1/andon", nil)
	r.ok(t, http.StatusOK, nil)
	if want := `{"andons":[],"stopped_lines":[],"index":0}` + "\n"; string(r.body) != want {
		t.Fatalf("empty list %s, want %s", r.body, want)
	}

	bad := a.create(&api.CreateWorkOrderRequest{Title: "flaky deploy", Bucket: "reliability"})
	other := a.create(&api.CreateWorkOrderRequest{Title: "next deploy", Bucket: "reliability"})
	elsewhere := a.create(&api.CreateWorkOrderRequest{Title: "new feature", Bucket: "features"})
	a.action(bad.ID, "start", nil)

	an := a.trigger(&api.TriggerAndonRequest{WorkOrder: bad.ID, Class: "agent_failure", Reason: "exit 137", Whys: []string{"OOM"}})
	if an.ID != "AN-1" || an.State != api.AndonOpen || an.Scope != "bucket" || an.Line != "reliability" ||
		an.LineName != "bucket:reliability" || !an.Quarantined || an.FixWorkOrder == "" || an.Node != "n1" ||
		!slices.Equal(an.Whys, []string{"OOM"}) || an.TriggeredAt.IsZero() || an.ResolvedAt != nil {
		t.Fatalf("trigger answer %+v", an)
	}
	// Quarantined, depending on its fix work order.
	q := a.workOrder(bad.ID)
	if q.State != "blocked" || q.Andon != "AN-1" || q.BlockedReason != "andon:AN-1" || !slices.Contains(q.DependsOn, an.FixWorkOrder) || q.Node != "" {
		t.Fatalf("quarantined work order %+v", q)
	}
	fix := a.workOrder(an.FixWorkOrder)
	if fix.FixFor != "AN-1" || fix.Bucket != "reliability" || fix.State != "queued" || !slices.Contains(fix.Labels, "andon") {
		t.Fatalf("fix work order %+v", fix)
	}
	// The line is stopped for everything but fix work.
	before := a.b.fingerprint()
	e := a.do("POST", "/v1/workorders/"+other.ID+"/start", nil).apiErr(t, http.StatusConflict, api.CodeLineStopped)
	if a.b.fingerprint() != before || a.workOrder(other.ID).State != "queued" {
		t.Fatalf("a refused start changed the state (%s)", e.Message)
	}
	a.action(elsewhere.ID, "start", nil) // another bucket runs
	a.action(fix.ID, "start", nil)       // fix work runs on a stopped line

	l := a.andons("")
	if len(l.Andons) != 1 || l.Andons[0].ID != "AN-1" || len(l.StoppedLines) != 1 ||
		l.StoppedLines[0].Name != "bucket:reliability" || !slices.Equal(l.StoppedLines[0].Andons, []string{"AN-1"}) || l.Index == 0 {
		t.Fatalf("open list %+v", l)
	}
	if l := a.andons("?state=resolved"); len(l.Andons) != 0 || len(l.StoppedLines) != 1 {
		t.Fatalf("resolved list %+v", l)
	}

	var up api.Andon
	a.do("PATCH", "/v1/andon/AN-1", &api.UpdateAndonRequest{Whys: []string{"OOM", "no limit set"}, RootCause: "missing memory limit"}).ok(t, http.StatusOK, &up)
	if len(up.Whys) != 2 || up.RootCause != "missing memory limit" || up.ModifyIndex <= an.ModifyIndex {
		t.Fatalf("update %+v", up)
	}
	var got api.Andon
	a.do("GET", "/v1/andon/AN-1?stale", nil).ok(t, http.StatusOK, &got)
	if got.RootCause != up.RootCause {
		t.Fatalf("get %+v", got)
	}

	var res api.Andon
	a.do("POST", "/v1/andon/AN-1/resolve", &api.ResolveAndonRequest{Resolution: "limit set to 2 GiB"}).ok(t, http.StatusOK, &res)
	if res.State != api.AndonResolved || res.Resolution != "limit set to 2 GiB" || res.ResolvedAt == nil {
		t.Fatalf("resolve %+v", res)
	}
	// The line runs again; the work order leaves quarantine and waits for its fix.
	a.action(other.ID, "start", nil)
	if q := a.workOrder(bad.ID); q.Andon != "" || q.State != "blocked" || q.BlockedReason != "dependencies" {
		t.Fatalf("after resolve %+v", q)
	}
	if l := a.andons(""); len(l.Andons) != 0 || len(l.StoppedLines) != 0 {
		t.Fatalf("open list after resolve %+v", l)
	}
	if l := a.andons("?state=all"); len(l.Andons) != 1 || l.Andons[0].State != api.AndonResolved {
		t.Fatalf("all %+v", l)
	}
	// A resolved andon cannot be resolved again.
	a.do("POST", "/v1/andon/AN-1/resolve", `{"resolution":"again"}`).apiErr(t, http.StatusConflict, api.CodeInvalidTransition)
}

func TestHTTPAndonBadInput(t *testing.T) {
	a := newTestAPI(t)
	wo := a.create(&api.CreateWorkOrderRequest{Title: "w", Bucket: "security"})
	for _, tc := range []struct {
		name, method, path string
		body               any
		status             int
		code               string
	}{
		{"empty body", "POST", "/v1/andon", "", 400, "bad_json"},
		{"unknown field", "POST", "/v1/andon", `{"work_order":"WO-1","class":"x","bogus":1}`, 400, "unknown_field"},
		{"no work order", "POST", "/v1/andon", `{"class":"manual"}`, 400, "invalid_argument"},
		{"no class", "POST", "/v1/andon", `{"work_order":"WO-1"}`, 400, "invalid_argument"},
		{"class with space", "POST", "/v1/andon", `{"work_order":"WO-1","class":"a b"}`, 400, "invalid_argument"},
		{"bad scope", "POST", "/v1/andon", `{"work_order":"WO-1","class":"x","scope":"stage"}`, 400, "invalid_argument"},
		{"pipeline scope off a run", "POST", "/v1/andon", `{"work_order":"WO-1","class":"x","scope":"pipeline"}`, 400, "invalid_argument"},
		{"empty why", "POST", "/v1/andon", `{"work_order":"WO-1","class":"x","whys":[""]}`, 400, "invalid_argument"},
		{"malformed work order", "POST", "/v1/andon", `{"work_order":"nope","class":"x"}`, 400, "invalid_argument"},
		{"unknown work order", "POST", "/v1/andon", `{"work_order":"WO-99","class":"x"}`, 404, "not_found"},
		{"query on a write", "POST", "/v1/andon?x=1", `{"work_order":"WO-1","class":"x"}`, 400, "invalid_argument"},
		{"list bad state", "GET", "/v1/andon?state=closed", nil, 400, "invalid_argument"},
		{"list unknown query", "GET", "/v1/andon?bucket=x", nil, 400, "invalid_argument"},
		{"get unknown", "GET", "/v1/andon/AN-7", nil, 404, "not_found"},
		{"get malformed", "GET", "/v1/andon/7", nil, 404, "not_found"},
		{"update malformed id", "PATCH", "/v1/andon/AN-01", `{"root_cause":"x"}`, 400, "invalid_argument"},
		{"update nothing", "PATCH", "/v1/andon/AN-1", `{}`, 400, "invalid_argument"},
		{"update unknown", "PATCH", "/v1/andon/AN-9", `{"root_cause":"x"}`, 404, "not_found"},
		{"resolve no resolution", "POST", "/v1/andon/AN-1/resolve", `{}`, 400, "invalid_argument"},
		{"resolve blank resolution", "POST", "/v1/andon/AN-1/resolve", `{"resolution":"  "}`, 400, "invalid_argument"},
		{"resolve unknown", "POST", "/v1/andon/AN-9/resolve", `{"resolution":"x"}`, 404, "not_found"},
		{"delete", "DELETE", "/v1/andon/AN-1", nil, 405, "method_not_allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := a.b.fingerprint()
			a.do(tc.method, tc.path, tc.body).apiErr(t, tc.status, tc.code)
			if a.b.fingerprint() != before {
				t.Fatal("state changed")
			}
		})
	}
	// A second pull on a quarantined work order is refused.
	a.trigger(&api.TriggerAndonRequest{WorkOrder: wo.ID, Class: "manual"})
	before := a.b.fingerprint()
	a.do("POST", "/v1/andon", &api.TriggerAndonRequest{WorkOrder: wo.ID, Class: "manual"}).apiErr(t, http.StatusConflict, api.CodeInvalidTransition)
	if a.b.fingerprint() != before {
		t.Fatal("refused trigger changed the state")
	}
	// A retried trigger (same key) is applied once.
	other := a.create(&api.CreateWorkOrderRequest{Title: "x", Bucket: "cost"})
	var first, second api.Andon
	a.do("POST", "/v1/andon", &api.TriggerAndonRequest{WorkOrder: other.ID, Class: "manual"}, headerIdempotencyKey, "pull-1").ok(t, 201, &first)
	a.do("POST", "/v1/andon", &api.TriggerAndonRequest{WorkOrder: other.ID, Class: "manual"}, headerIdempotencyKey, "pull-1").ok(t, 201, &second)
	if first.ID != second.ID || len(a.andons("").Andons) != 2 {
		t.Fatalf("retried trigger: %s then %s", first.ID, second.ID)
	}
}

func TestHTTPAndonPipelineScope(t *testing.T) {
	a := newTestAPI(t)
	var run api.PipelineRun
	a.do("POST", "/v1/pipelines/default/runs", &api.RunPipelineRequest{Title: "ship"}).ok(t, http.StatusCreated, &run)
	if len(run.Stages) < 2 || run.Stages[0].Pipeline != "default" || run.Stages[0].PipelineStep == "" || run.Run.Pipeline != "default" {
		t.Fatalf("run %+v", run)
	}
	an := a.trigger(&api.TriggerAndonRequest{WorkOrder: run.Stages[0].ID, Class: "manual", Scope: "pipeline"})
	if an.LineName != "pipeline:default" {
		t.Fatalf("andon %+v", an)
	}
	l := a.andons("")
	if len(l.StoppedLines) != 1 || l.StoppedLines[0].Scope != "pipeline" || l.StoppedLines[0].Line != "default" {
		t.Fatalf("stopped lines %+v", l.StoppedLines)
	}
}

func TestHTTPAndonThroughFollower(t *testing.T) {
	l := newTestAPI(t)
	f := newFollower(t, "n2", l)
	wo := l.create(&api.CreateWorkOrderRequest{Title: "w", Bucket: "cost"})
	var an api.Andon
	f.do("POST", "/v1/andon", &api.TriggerAndonRequest{WorkOrder: wo.ID, Class: "manual"}).ok(t, http.StatusCreated, &an)
	f.do("PATCH", "/v1/andon/"+an.ID, `{"root_cause":"rc"}`).ok(t, http.StatusOK, &an)
	var list api.AndonList
	f.do("GET", "/v1/andon", nil).ok(t, http.StatusOK, &list)
	if an.RootCause != "rc" || len(list.Andons) != 1 || list.Andons[0].RootCause != "rc" || f.b.proposalCount() != 0 {
		t.Fatalf("via follower: %+v, list %+v", an, list)
	}
	var e api.Explanation
	f.do("GET", "/v1/workorders/"+wo.ID+"/explain", nil).ok(t, http.StatusOK, &e)
	if len(e.Reasons) != 2 || e.Reasons[0].Code != api.ReasonQuarantined {
		t.Fatalf("explain via follower: %+v", e)
	}
	f.do("POST", "/v1/andon/"+an.ID+"/resolve", `{"resolution":"done"}`).ok(t, http.StatusOK, &an)
	f.do("POST", "/v1/andon/"+an.ID+"/resolve", `{"resolution":"done"}`).apiErr(t, http.StatusConflict, "invalid_transition")
	if an.State != api.AndonResolved {
		t.Fatalf("resolve via follower: %+v", an)
	}
}
