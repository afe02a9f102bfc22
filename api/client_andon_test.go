package api

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
)

func TestAndonClient(t *testing.T) {
	s, c := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch {
		case n == 1: // the first trigger meets an election
			writeErr(w, 503, CodeNoLeader, "no leader")
		case r.Method == http.MethodPost && r.URL.Path == "/v1/andon":
			writeJSON(w, 201, &Andon{ID: "AN-1", WorkOrder: "WO-1", FixWorkOrder: "WO-2", State: AndonOpen})
		case r.Method == http.MethodGet && r.URL.Path == "/v1/andon":
			writeJSON(w, 200, &AndonList{Andons: []*Andon{{ID: "AN-1"}}, StoppedLines: []*StoppedLine{{Name: "bucket:security"}}, Index: 9})
		case r.URL.Path == "/v1/andon/AN-1/resolve":
			writeJSON(w, 200, &Andon{ID: "AN-1", State: AndonResolved})
		case r.URL.Path == "/v1/workorders/WO-1/explain":
			writeJSON(w, 200, &Explanation{ID: "WO-1", State: "blocked", Reasons: []*Reason{{Code: ReasonQuarantined, Refs: []string{"AN-1"}}}})
		default:
			writeJSON(w, 200, &Andon{ID: "AN-1", RootCause: "rc"})
		}
	})
	ctx := context.Background()
	an, err := c.Andons().Trigger(ctx, &TriggerAndonRequest{WorkOrder: "WO-1", Class: "manual", Whys: []string{"w"}})
	if err != nil || an.ID != "AN-1" || an.FixWorkOrder != "WO-2" {
		t.Fatalf("Trigger: %+v %v", an, err)
	}
	l, err := c.Andons().List(ctx, AndonAll, &QueryOptions{Stale: true})
	if err != nil || len(l.Andons) != 1 || l.StoppedLines[0].Name != "bucket:security" || l.Index != 9 {
		t.Fatalf("List: %+v %v", l, err)
	}
	if _, err := c.Andons().List(ctx, "", nil); err != nil {
		t.Fatal(err)
	}
	if an, err := c.Andons().Get(ctx, "AN-1", nil); err != nil || an.ID != "AN-1" {
		t.Fatalf("Get: %+v %v", an, err)
	}
	if an, err := c.Andons().Update(ctx, "AN-1", &UpdateAndonRequest{RootCause: "rc", RequestID: "k-1"}); err != nil || an.RootCause != "rc" {
		t.Fatalf("Update: %+v %v", an, err)
	}
	if an, err := c.Andons().Resolve(ctx, "AN-1", &ResolveAndonRequest{Resolution: "done"}); err != nil || an.State != AndonResolved {
		t.Fatalf("Resolve: %+v %v", an, err)
	}
	e, err := c.WorkOrders().Explain(ctx, "WO-1", nil)
	if err != nil || e.State != "blocked" || e.Reasons[0].Code != ReasonQuarantined {
		t.Fatalf("Explain: %+v %v", e, err)
	}
	for _, f := range []func() error{
		func() error { _, err := c.Andons().Trigger(ctx, nil); return err },
		func() error { _, err := c.Andons().Update(ctx, "AN-1", nil); return err },
		func() error { _, err := c.Andons().Resolve(ctx, "AN-1", nil); return err },
	} {
		if f() == nil {
			t.Fatal("a nil request was sent")
		}
	}

	reqs := s.requests()
	want := []struct{ method, path, query string }{
		{"POST", "/v1/andon", ""}, {"POST", "/v1/andon", ""},
		{"GET", "/v1/andon", "state=all&stale"}, {"GET", "/v1/andon", ""},
		{"GET", "/v1/andon/AN-1", ""}, {"PATCH", "/v1/andon/AN-1", ""},
		{"POST", "/v1/andon/AN-1/resolve", ""}, {"GET", "/v1/workorders/WO-1/explain", ""},
	}
	if len(reqs) != len(want) {
		t.Fatalf("%d requests, want %d: %+v", len(reqs), len(want), reqs)
	}
	for i, w := range want {
		if reqs[i].Method != w.method || reqs[i].Path != w.path || reqs[i].RawQuery != w.query {
			t.Errorf("request %d: %s %s?%s, want %s %s?%s", i, reqs[i].Method, reqs[i].Path, reqs[i].RawQuery, w.method, w.path, w.query)
		}
	}
	// The retried trigger reuses its key; writes carry keys, reads none.
	if reqs[0].Key == "" || reqs[1].Key != reqs[0].Key || reqs[2].Key != "" || reqs[5].Key != "k-1" || reqs[6].Key == "" {
		t.Fatalf("keys %q %q %q %q %q", reqs[0].Key, reqs[1].Key, reqs[2].Key, reqs[5].Key, reqs[6].Key)
	}
	var body map[string]any
	if err := json.Unmarshal(reqs[0].Body, &body); err != nil || body["work_order"] != "WO-1" || body["class"] != "manual" {
		t.Fatalf("trigger body %s", reqs[0].Body)
	}
}

func TestLineStoppedIsAConflict(t *testing.T) {
	_, c := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		writeErr(w, 409, CodeLineStopped, "line bucket:security is stopped by andon AN-1")
	})
	_, err := c.WorkOrders().Start(context.Background(), "WO-3", nil)
	if ErrorCode(err) != CodeLineStopped || !IsConflict(err) {
		t.Fatalf("err %v", err)
	}
}

func TestRetryFieldsRoundTrip(t *testing.T) {
	in := CreateWorkOrderRequest{Title: "t", Retry: &RetryPolicy{MaxAttempts: 5, InitialDelay: "2s", Factor: 1.5, MaxDelay: "1m"}}
	b, err := json.Marshal(&in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"title":"t","retry":{"max_attempts":5,"initial_delay":"2s","factor":1.5,"max_delay":"1m"}}`; string(b) != want {
		t.Fatalf("create body %s, want %s", b, want)
	}
	b, _ = json.Marshal(&TransitionRequest{NoRetry: true})
	if string(b) != `{"no_retry":true}` {
		t.Fatalf("transition body %s", b)
	}
}
