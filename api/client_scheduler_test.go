package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
)

func TestSchedulerGetAndSet(t *testing.T) {
	s, c := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPut && n == 2:
			writeErr(w, 503, CodeNoLeader, "no leader")
		default:
			writeJSON(w, 200, &SchedulerStatus{Config: &SchedulerConfig{Strategy: "fifo"}, Digest: "d1", Index: 7})
		}
	})
	ctx := context.Background()
	st, err := c.Scheduler().Get(ctx, &QueryOptions{Stale: true})
	if err != nil || st.Config.Strategy != "fifo" || st.Digest != "d1" || st.Index != 7 {
		t.Fatalf("Get: %+v %v", st, err)
	}
	req := &SetSchedulerConfigRequest{SchedulerConfig: SchedulerConfig{Strategy: "sjf", StageWIP: map[string]int{}}, CheckDigest: "d0"}
	if _, err := c.Scheduler().Set(ctx, req); err != nil {
		t.Fatal(err)
	}
	reqs := s.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want GET + PUT retried once", len(reqs))
	}
	if reqs[0].Method != "GET" || reqs[0].Path != "/v1/scheduler" || reqs[0].RawQuery != "stale" || reqs[0].Key != "" {
		t.Fatalf("GET %+v", reqs[0])
	}
	put, retry := reqs[1], reqs[2]
	if put.Method != "PUT" || put.Path != "/v1/scheduler" || put.Key == "" || retry.Key != put.Key {
		t.Fatalf("PUT %+v, retry %+v", put, retry)
	}
	// The wire form: config fields inline, nil ones as null (= defaults),
	// empty ones present.
	var body map[string]json.RawMessage
	if err := json.Unmarshal(put.Body, &body); err != nil {
		t.Fatal(err)
	}
	if string(body["strategy"]) != `"sjf"` || string(body["stage_wip"]) != `{}` || string(body["mix"]) != `null` ||
		string(body["check_digest"]) != `"d0"` {
		t.Fatalf("PUT body %s", put.Body)
	}
	if _, err := c.Scheduler().Set(ctx, nil); err == nil {
		t.Fatal("Set(nil) succeeded")
	}
}

func TestSchedulerUpdateRetriesOnConflict(t *testing.T) {
	digests := []string{"d1", "d2"}
	s, c := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch n {
		case 1, 3: // reads: the config changes between them
			writeJSON(w, 200, &SchedulerStatus{Config: &SchedulerConfig{Strategy: "fifo", StageWIP: map[string]int{"code": 5}},
				Digest: digests[(n-1)/2]})
		case 2:
			writeErr(w, 409, CodeConfigChanged, "changed")
		default:
			writeJSON(w, 200, &SchedulerStatus{Config: &SchedulerConfig{Strategy: "deadline"}, Digest: "d3"})
		}
	})
	calls := 0
	st, err := c.Scheduler().Update(context.Background(), func(cfg *SchedulerConfig) error {
		calls++
		cfg.Strategy = "deadline"
		cfg.StageWIP["test"] = 1
		return nil
	})
	if err != nil || st.Digest != "d3" || calls != 2 {
		t.Fatalf("Update: %+v %v after %d calls", st, err, calls)
	}
	reqs := s.requests()
	var last SetSchedulerConfigRequest
	if err := json.Unmarshal(reqs[3].Body, &last); err != nil {
		t.Fatal(err)
	}
	if last.CheckDigest != "d2" || last.Strategy != "deadline" || last.StageWIP["code"] != 5 || last.StageWIP["test"] != 1 {
		t.Fatalf("second write %+v", last)
	}
}

func TestSchedulerUpdateGivesUp(t *testing.T) {
	s, c := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			writeJSON(w, 200, &SchedulerStatus{Config: &SchedulerConfig{}, Digest: "d"})
			return
		}
		writeErr(w, 409, CodeConfigChanged, "changed")
	})
	_, err := c.Scheduler().Update(context.Background(), func(*SchedulerConfig) error { return nil })
	if ErrorCode(err) != CodeConfigChanged || !IsConflict(err) {
		t.Fatalf("Update: %v", err)
	}
	if n := len(s.requests()); n != 2*maxUpdateAttempts {
		t.Fatalf("%d requests, want %d", n, 2*maxUpdateAttempts)
	}

	// An error of the change is returned before anything is written.
	s2, c2 := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, &SchedulerStatus{Config: &SchedulerConfig{}, Digest: "d"})
	})
	boom := errors.New("boom")
	if _, err := c2.Scheduler().Update(context.Background(), func(*SchedulerConfig) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("Update: %v", err)
	}
	if n := len(s2.requests()); n != 1 {
		t.Fatalf("%d requests after a failed change, want 1", n)
	}
}

func TestPipelinesAndKanban(t *testing.T) {
	s, c := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/pipelines":
			writeJSON(w, 200, &PipelineList{Pipelines: []*Pipeline{{Name: "default"}}})
		case "/v1/kanban":
			writeJSON(w, 200, &KanbanBoard{States: []string{"queued"}, Columns: []*KanbanColumn{{Stage: "code", Limit: 5}}})
		case "/v1/pipelines/a b/runs":
			writeJSON(w, 201, &PipelineRun{Pipeline: "a b", Run: &WorkOrder{ID: "WO-1"}, Stages: []*WorkOrder{{ID: "WO-2"}}})
		default:
			writeErr(w, 404, CodeNotFound, "pipeline not found")
		}
	})
	ctx := context.Background()
	pl, err := c.Pipelines().List(ctx, nil)
	if err != nil || len(pl.Pipelines) != 1 {
		t.Fatalf("List: %+v %v", pl, err)
	}
	if _, err := c.Pipelines().Get(ctx, "nope", nil); !IsNotFound(err) {
		t.Fatalf("Get: %v", err)
	}
	run, err := c.Pipelines().Run(ctx, "a b", &RunPipelineRequest{Title: "x", RequestID: "mine"})
	if err != nil || run.Run.ID != "WO-1" || len(run.Stages) != 1 {
		t.Fatalf("Run: %+v %v", run, err)
	}
	if _, err := c.Pipelines().Run(ctx, "a", nil); err == nil {
		t.Fatal("Run(nil) succeeded")
	}
	b, err := c.Scheduler().Kanban(ctx, &KanbanOptions{Limit: 3}, nil)
	if err != nil || len(b.Columns) != 1 || b.Columns[0].Limit != 5 {
		t.Fatalf("Kanban: %+v %v", b, err)
	}
	reqs := s.requests()
	if r := reqs[1]; r.Path != "/v1/pipelines/nope" || r.Method != "GET" {
		t.Fatalf("Get request %+v", r)
	}
	if r := reqs[2]; r.Path != "/v1/pipelines/a%20b/runs" || r.Method != "POST" || r.Key != "mine" {
		t.Fatalf("Run request %+v", r)
	}
	if r := reqs[3]; r.Path != "/v1/kanban" || r.RawQuery != "limit=3" {
		t.Fatalf("Kanban request %+v", r)
	}
}
