package node

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hive-swarm/hive/api"
)

func TestHTTPPipelineList(t *testing.T) {
	a := newTestAPI(t)
	var pl api.PipelineList
	a.do("GET", "/v1/pipelines", nil).ok(t, http.StatusOK, &pl)
	if len(pl.Pipelines) != 1 || pl.Pipelines[0].Name != "default" || len(pl.Pipelines[0].Stages) != 5 {
		t.Fatalf("pipelines %+v", pl)
	}
	var p api.Pipeline
	a.do("GET", "/v1/pipelines/default?stale", nil).ok(t, http.StatusOK, &p)
	if p.Stages[2].Name != "implement" || p.Stages[2].AgentType != "coder" || p.Stages[2].Stage != "code" || p.Stages[2].Effort != 4*3600 {
		t.Fatalf("default pipeline %+v", p.Stages[2])
	}
	e := a.do("GET", "/v1/pipelines/nope", nil).apiErr(t, http.StatusNotFound, "not_found")
	if !strings.Contains(e.Message, "default") {
		t.Fatalf("not_found does not list the templates: %q", e.Message)
	}
	a.do("GET", "/v1/pipelines?x=1", nil).apiErr(t, http.StatusBadRequest, "invalid_argument")
}

func TestHTTPPipelineRun(t *testing.T) {
	a := newTestAPI(t)
	deadline := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	var run api.PipelineRun
	a.do("POST", "/v1/pipelines/default/runs", &api.RunPipelineRequest{
		Title: "rate limiting", Description: "add it", Labels: []string{"enhancement"},
		Payload: []byte(`{"repo":"x"}`), Deadline: &deadline,
	}).ok(t, http.StatusCreated, &run)
	if run.Pipeline != "default" || run.Run == nil || run.Run.ID != "WO-1" || run.Run.State != "blocked" ||
		run.Run.Bucket != "features" || !slices.Equal(run.Run.Children, []string{"WO-2", "WO-3", "WO-4", "WO-5", "WO-6"}) {
		t.Fatalf("run %+v", run.Run)
	}
	wantStage := []string{"design", "design", "code", "test", "review"}
	wantType := []string{"researcher", "planner", "coder", "tester", "reviewer"}
	for i, s := range run.Stages {
		want := "blocked"
		if i == 0 {
			want = "queued"
		}
		if s.State != want || s.Stage != wantStage[i] || s.Type != wantType[i] || s.Parent != "WO-1" ||
			!strings.HasPrefix(s.Title, "rate limiting (") || string(s.Payload) != `{"repo":"x"}` || !s.Deadline.Equal(deadline) {
			t.Fatalf("stage %d: %+v", i, s)
		}
	}

	// Idempotent: the same key answers with the same run.
	var r1, r2 api.PipelineRun
	a.do("POST", "/v1/pipelines/default/runs", `{"title":"once"}`, headerIdempotencyKey, "run-1").ok(t, http.StatusCreated, &r1)
	n := a.b.view().WorkOrderCount()
	a.do("POST", "/v1/pipelines/default/runs", `{"title":"once"}`, headerIdempotencyKey, "run-1").ok(t, http.StatusCreated, &r2)
	if r1.Run.ID != r2.Run.ID || len(r2.Stages) != 5 || r2.Stages[4].ID != r1.Stages[4].ID || a.b.view().WorkOrderCount() != n {
		t.Fatalf("retried run created more: %s vs %s, %d work orders (was %d)", r1.Run.ID, r2.Run.ID, a.b.view().WorkOrderCount(), n)
	}
}

func TestHTTPPipelineRunBadInput(t *testing.T) {
	a := newTestAPI(t)
	before := a.schedState()
	for _, tc := range []struct {
		name, path, body string
		status           int
		code             string
	}{
		{"unknown pipeline", "/v1/pipelines/nope/runs", `{"title":"x"}`, 404, "not_found"},
		{"no title", "/v1/pipelines/default/runs", `{"title":"  "}`, 400, "invalid_argument"},
		{"title too long", "/v1/pipelines/default/runs", `{"title":"` + strings.Repeat("t", 1000) + `"}`, 400, "invalid_argument"},
		{"bad priority", "/v1/pipelines/default/runs", `{"title":"x","priority":"urgent"}`, 400, "invalid_argument"},
		{"bad bucket", "/v1/pipelines/default/runs", `{"title":"x","bucket":"marketing"}`, 400, "invalid_argument"},
		{"empty label", "/v1/pipelines/default/runs", `{"title":"x","labels":[""]}`, 400, "invalid_argument"},
		{"unknown field", "/v1/pipelines/default/runs", `{"title":"x","stages":3}`, 400, "unknown_field"},
		{"empty body", "/v1/pipelines/default/runs", ``, 400, "bad_json"},
		{"malformed", "/v1/pipelines/default/runs", `{"title":`, 400, "bad_json"},
		{"bad name", "/v1/pipelines/a%20b/runs", `{"title":"x"}`, 400, "invalid_argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a.do("POST", tc.path, tc.body).apiErr(t, tc.status, tc.code)
			if after := a.schedState(); after != before {
				t.Fatalf("state changed: %+v -> %+v", before, after)
			}
		})
	}
}

func TestHTTPKanban(t *testing.T) {
	a := newTestAPI(t)
	var run api.PipelineRun
	a.do("POST", "/v1/pipelines/default/runs", `{"title":"board"}`).ok(t, http.StatusCreated, &run)
	a.action(run.Stages[0].ID, "start", nil) // research: design in flight
	a.create(&api.CreateWorkOrderRequest{Title: "loose one"})
	a.create(&api.CreateWorkOrderRequest{Title: "loose two"})
	a.create(&api.CreateWorkOrderRequest{Title: "odd stage", Stage: "deploy"})
	done := a.create(&api.CreateWorkOrderRequest{Title: "done"})
	a.action(done.ID, "cancel", nil)

	var b api.KanbanBoard
	a.do("GET", "/v1/kanban", nil).ok(t, http.StatusOK, &b)
	if !slices.Equal(b.States, []string{"blocked", "queued", "in_progress", "review", "testing"}) {
		t.Fatalf("states %v", b.States)
	}
	var names []string
	for _, c := range b.Columns {
		names = append(names, c.Stage)
	}
	if !slices.Equal(names, []string{"design", "code", "test", "review", "deploy", ""}) {
		t.Fatalf("columns %q", names)
	}
	design, none := b.Columns[0], b.Columns[5]
	if design.InFlight != 1 || design.Limit != 3 || design.Counts["in_progress"] != 1 || design.Counts["blocked"] != 1 ||
		len(design.WorkOrders["in_progress"]) != 1 || design.WorkOrders["in_progress"][0].ID != run.Stages[0].ID {
		t.Fatalf("design column %+v", design)
	}
	if b.Columns[1].Limit != 5 || b.Columns[1].Counts["blocked"] != 1 || b.Columns[3].Limit != 0 {
		t.Fatalf("code/review columns %+v %+v", b.Columns[1], b.Columns[3])
	}
	// No stage: the two loose work orders and the run itself (blocked);
	// the cancelled one is not on the board.
	if none.Counts["queued"] != 2 || none.Counts["blocked"] != 1 || none.InFlight != 0 || none.Limit != 0 {
		t.Fatalf("(none) column %+v", none)
	}

	// ?limit bounds the listed work orders, not the counts.
	a.do("GET", "/v1/kanban?limit=1&stale", nil).ok(t, http.StatusOK, &b)
	none = b.Columns[len(b.Columns)-1]
	if none.Counts["queued"] != 2 || len(none.WorkOrders["queued"]) != 1 || none.WorkOrders["queued"][0].Title != "loose one" {
		t.Fatalf("limited (none) column %+v", none)
	}
	for _, q := range []string{"?limit=0", "?limit=x", "?limit=100000", "?stage=code"} {
		a.do("GET", "/v1/kanban"+q, nil).apiErr(t, http.StatusBadRequest, "invalid_argument")
	}
}

func TestHTTPKanbanEmpty(t *testing.T) {
	a := newTestAPI(t)
	a.do("PUT", "/v1/scheduler", `{"stage_wip":{},"pipelines":[]}`).ok(t, http.StatusOK, nil)
	var b api.KanbanBoard
	r := a.do("GET", "/v1/kanban", nil)
	r.ok(t, http.StatusOK, &b)
	if len(b.Columns) != 0 || !strings.Contains(string(r.body), `"columns":[]`) {
		t.Fatalf("empty board %s", r.body)
	}
}
