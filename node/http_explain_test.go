package node

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/fsm"
)

func (a *testAPI) explain(id string) *api.Explanation {
	a.t.Helper()
	var e api.Explanation
	a.do("GET", "/v1/workorders/"+id+"/explain", nil).ok(a.t, http.StatusOK, &e)
	return &e
}

func codes(e *api.Explanation) []string {
	var out []string
	for _, r := range e.Reasons {
		out = append(out, r.Code)
	}
	return out
}

func TestHTTPExplain(t *testing.T) {
	a := newTestAPI(t)
	dep := a.create(&api.CreateWorkOrderRequest{Title: "dep"})
	wo := a.create(&api.CreateWorkOrderRequest{Title: "waits", DependsOn: []string{dep.ID}})

	// Free to start: no reasons, and an empty list rather than null.
	r := a.do("GET", "/v1/workorders/"+dep.ID+"/explain", nil)
	r.ok(t, http.StatusOK, nil)
	if e := a.explain(dep.ID); e.ID != dep.ID || e.State != "queued" || e.Reasons == nil || len(e.Reasons) != 0 || e.Index == 0 {
		t.Fatalf("free work order: %+v (%s)", e, r.body)
	}
	e := a.explain(wo.ID)
	if !slices.Equal(codes(e), []string{api.ReasonDependencies}) || !slices.Equal(e.Reasons[0].Refs, []string{dep.ID}) || e.Reasons[0].Message == "" {
		t.Fatalf("blocked: %+v", e.Reasons)
	}
	an := a.trigger(&api.TriggerAndonRequest{WorkOrder: wo.ID, Class: "manual"})
	if e := a.explain(wo.ID); !slices.Equal(codes(e), []string{api.ReasonQuarantined, api.ReasonDependencies}) ||
		!slices.Equal(e.Reasons[0].Refs, []string{an.ID}) || len(e.Reasons[1].Refs) != 2 {
		t.Fatalf("quarantined: %+v", e.Reasons)
	}
	if e := a.explain(dep.ID); !slices.Equal(codes(e), []string{api.ReasonLineStopped}) || !slices.Equal(e.Reasons[0].Refs, []string{an.ID}) {
		t.Fatalf("line stopped: %+v", e.Reasons)
	}

	a.do("GET", "/v1/workorders/WO-99/explain", nil).apiErr(t, http.StatusNotFound, "not_found")
	a.do("GET", "/v1/workorders/WO-1/explain?x", nil).apiErr(t, http.StatusBadRequest, "invalid_argument")
	a.do("POST", "/v1/workorders/WO-1/explain", nil).apiErr(t, http.StatusNotFound, "no_route")
}

func TestHTTPRetryRoundTrip(t *testing.T) {
	a := newTestAPI(t)
	def := a.create(&api.CreateWorkOrderRequest{Title: "defaults"})
	if r := def.Retry; r == nil || *r != (api.RetryPolicy{MaxAttempts: 3, InitialDelay: "1s", Factor: 2, MaxDelay: "1m0s"}) {
		t.Fatalf("default policy %+v", def.Retry)
	}
	wo := a.create(&api.CreateWorkOrderRequest{Title: "retried",
		Retry: &api.RetryPolicy{MaxAttempts: 3, InitialDelay: "1h", Factor: 1.5, MaxDelay: "2h"}})
	if r := wo.Retry; r == nil || *r != (api.RetryPolicy{MaxAttempts: 3, InitialDelay: "1h0m0s", Factor: 1.5, MaxDelay: "2h0m0s"}) {
		t.Fatalf("policy %+v", wo.Retry)
	}
	if got := a.workOrder(wo.ID); *got.Retry != *wo.Retry {
		t.Fatalf("GET policy %+v", got.Retry)
	}

	// A fenced fail with attempts left schedules a retry with a backoff.
	a.action(wo.ID, "start", nil)
	got := a.action(wo.ID, "fail", &api.TransitionRequest{Attempt: 1, Reason: "exit 1"})
	if got.State != "queued" || got.Retries != 1 || got.NotBefore == nil || got.LastReason != "exit 1" ||
		got.NotBefore.Before(time.Now().Add(40*time.Minute)) {
		t.Fatalf("after a retried fail: %+v", got)
	}
	e := a.explain(wo.ID)
	if !slices.Equal(codes(e), []string{api.ReasonBackoff}) || e.Reasons[0].Until == nil || !e.Reasons[0].Until.Equal(*got.NotBefore) {
		t.Fatalf("backoff: %+v", e.Reasons)
	}
	// no_retry fails it for good although attempts are left.
	a.action(wo.ID, "start", nil)
	got = a.action(wo.ID, "fail", &api.TransitionRequest{Attempt: 2, NoRetry: true, Reason: "bad input"})
	if got.State != "failed" || got.Retries != 1 {
		t.Fatalf("after fail no_retry: %+v", got)
	}
	if e := a.explain(wo.ID); !slices.Equal(codes(e), []string{api.ReasonTerminal}) {
		t.Fatalf("terminal: %+v", e.Reasons)
	}
}

func TestHTTPRetryBadInput(t *testing.T) {
	a := newTestAPI(t)
	wo := a.create(&api.CreateWorkOrderRequest{Title: "x"})
	for _, tc := range []struct {
		name, path, body, code string
	}{
		{"max_attempts too many", "/v1/workorders", `{"title":"t","retry":{"max_attempts":101}}`, "invalid_argument"},
		{"max_attempts negative", "/v1/workorders", `{"title":"t","retry":{"max_attempts":-1}}`, "invalid_argument"},
		{"max_attempts string", "/v1/workorders", `{"title":"t","retry":{"max_attempts":"3"}}`, "invalid_argument"},
		{"delay not a duration", "/v1/workorders", `{"title":"t","retry":{"initial_delay":"soon"}}`, "invalid_argument"},
		{"delay as a number", "/v1/workorders", `{"title":"t","retry":{"initial_delay":5}}`, "invalid_argument"},
		{"negative delay", "/v1/workorders", `{"title":"t","retry":{"initial_delay":"-1s"}}`, "invalid_argument"},
		{"delay too long", "/v1/workorders", `{"title":"t","retry":{"max_delay":"200h"}}`, "invalid_argument"},
		{"factor below 1", "/v1/workorders", `{"title":"t","retry":{"factor":0.5}}`, "invalid_argument"},
		{"factor above 10", "/v1/workorders", `{"title":"t","retry":{"factor":11}}`, "invalid_argument"},
		{"factor 3 decimals", "/v1/workorders", `{"title":"t","retry":{"factor":1.234}}`, "invalid_argument"},
		{"max below initial", "/v1/workorders", `{"title":"t","retry":{"initial_delay":"1m","max_delay":"1s"}}`, "invalid_argument"},
		{"unknown retry field", "/v1/workorders", `{"title":"t","retry":{"jitter":1}}`, "unknown_field"},
		{"no_retry on start", "/v1/workorders/" + wo.ID + "/start", `{"no_retry":true}`, "invalid_argument"},
		{"no_retry on cancel", "/v1/workorders/" + wo.ID + "/cancel", `{"no_retry":true}`, "invalid_argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := a.b.fingerprint()
			status := http.StatusBadRequest
			a.do("POST", tc.path, tc.body).apiErr(t, status, tc.code)
			if a.b.fingerprint() != before {
				t.Fatal("state changed")
			}
		})
	}
}

// explainingBackend adds a node-side reason, as the control loop will.
type explainingBackend struct{ *fsmBackend }

func (explainingBackend) ExplainReasons(_ context.Context, _ *fsm.View, e *fsm.Explanation) []fsm.Reason {
	if e.State != fsm.StateQueued {
		return nil
	}
	return []fsm.Reason{{Code: "no_agent", Message: "no healthy node offers agent type shell", Refs: []string{"shell"}}}
}

func TestHTTPExplainBackendHook(t *testing.T) {
	b := newFSMBackend(t, "n1")
	s := newHTTPServer(explainingBackend{b}, hclog.New(&hclog.LoggerOptions{Output: tWriter{t}}))
	srv := httptest.NewServer(s.handler())
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.stop(ctx); err != nil {
			t.Error(err)
		}
	})
	a := &testAPI{t: t, b: b, s: s, srv: srv}
	wo := a.create(&api.CreateWorkOrderRequest{Title: "x", Type: "shell"})
	e := a.explain(wo.ID)
	if !slices.Equal(codes(e), []string{"no_agent"}) || e.Reasons[0].Refs[0] != "shell" {
		t.Fatalf("hook reasons %+v", e.Reasons)
	}
	a.action(wo.ID, "start", nil)
	if e := a.explain(wo.ID); !slices.Equal(codes(e), []string{api.ReasonRunning}) {
		t.Fatalf("running: %+v", e.Reasons)
	}
}
