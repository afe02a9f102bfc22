package node

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/fsm"
)

// TestConvertRunTimeout checks run_timeout's conversion both ways: what
// the API accepts, what it refuses (400 invalid_argument naming
// run_timeout), and that a work order shows what was asked for.
func TestConvertRunTimeout(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"": 0, "0s": 0, "0": 0, "90s": 90 * time.Second, "1h30m": 90 * time.Minute, "168h": fsm.MaxRunTimeout, "1ns": 1,
	} {
		got, err := runTimeoutFromAPI(in)
		if err != nil || got != want {
			t.Errorf("%q: %v, %v; want %v", in, got, err, want)
		}
		if back, err := runTimeoutFromAPI(runTimeoutText(got)); err != nil || back != got {
			t.Errorf("%q: shown as %q, which reads back as %v, %v", in, runTimeoutText(got), back, err)
		}
	}
	for _, in := range []string{"-1s", "-0.5h", "168h0m0.000000001s", "169h", "1d", "soon", "90", " 90s", "1e3s"} {
		_, err := runTimeoutFromAPI(in)
		ae, ok := err.(*apiError)
		if !ok || ae.status != http.StatusBadRequest || ae.code != "invalid_argument" || !strings.HasPrefix(ae.message, "run_timeout: ") {
			t.Errorf("%q: %v", in, err)
		}
	}
	h := fsm.Header{RequestID: "r", Time: 1, Node: "n"}
	cmd, err := createCommand(&api.CreateWorkOrderRequest{Title: "t", RunTimeout: "2m"}, h)
	if err != nil || cmd.Spec.RunTimeout != 2*time.Minute || fsm.Validate(cmd) != nil {
		t.Fatalf("create with run_timeout: %+v, %v", cmd, err)
	}
	if _, err := createCommand(&api.CreateWorkOrderRequest{Title: "t", RunTimeout: "-2m"}, h); err == nil {
		t.Fatal("a negative run_timeout was accepted")
	}
	if a := workOrderToAPI(&fsm.WorkOrder{ID: "WO-1", RunTimeout: 90 * time.Second}); a.RunTimeout != "1m30s" {
		t.Fatalf("shown as %q", a.RunTimeout)
	}
	if a := workOrderToAPI(&fsm.WorkOrder{ID: "WO-1"}); a.RunTimeout != "" {
		t.Fatalf("no run timeout shown as %q", a.RunTimeout)
	}
}

// FuzzCreateRunTimeout checks that a run_timeout the API accepts is one
// the state machine accepts and shows back, and that everything else is a
// 400.
func FuzzCreateRunTimeout(f *testing.F) {
	for _, s := range []string{`"90s"`, `"0s"`, `"168h"`, `"168h1s"`, `"-1s"`, `"1d"`, `""`, `90`, `null`, `"1.5h"`, `"9223372036854775807ns"`} {
		f.Add([]byte(`{"title":"x","run_timeout":` + s + `}`))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, cmd := checkCreate(t, body, decodeCreate)
		if req == nil {
			return
		}
		if err := fsm.Validate(cmd); err != nil && strings.Contains(err.Error(), "run_timeout") {
			t.Fatalf("the API accepted run_timeout %q that the state machine refuses: %v", req.RunTimeout, err)
		}
		if d := cmd.Spec.RunTimeout; d != 0 {
			if back, err := runTimeoutFromAPI(runTimeoutText(d)); err != nil || back != d {
				t.Fatalf("run_timeout %q shown as %q, which reads back as %v, %v", req.RunTimeout, runTimeoutText(d), back, err)
			}
		}
	})
}

// TestHTTPCreateRunTimeout creates work orders with and without a run
// timeout through the API, and checks that bad values are a 400
// invalid_argument naming run_timeout that changes nothing.
func TestHTTPCreateRunTimeout(t *testing.T) {
	a := newTestAPI(t)
	wo := a.create(&api.CreateWorkOrderRequest{Title: "timed", RunTimeout: "90s"})
	if wo.RunTimeout != "1m30s" {
		t.Fatalf("created with run timeout %q", wo.RunTimeout)
	}
	var got api.WorkOrder
	a.do("GET", "/v1/workorders/"+wo.ID, nil).ok(t, http.StatusOK, &got)
	if got.RunTimeout != "1m30s" {
		t.Fatalf("read back %q", got.RunTimeout)
	}
	if w, err := a.b.view().WorkOrder(wo.ID); err != nil || w.RunTimeout != 90*time.Second {
		t.Fatalf("state: %v %+v", err, w)
	}
	if plain := a.create(&api.CreateWorkOrderRequest{Title: "plain", RunTimeout: "0s"}); plain.RunTimeout != "" {
		t.Fatalf("0s shown as %q", plain.RunTimeout)
	}
	before := a.b.fingerprint()
	for _, body := range []string{
		`{"title":"x","run_timeout":"-1s"}`,
		`{"title":"x","run_timeout":"169h"}`,
		`{"title":"x","run_timeout":"soon"}`,
		`{"title":"x","run_timeout":"9223372036854775808ns"}`,
		`{"title":"x","run_timeout":90}`, // a number is not a duration string
	} {
		e := a.do("POST", "/v1/workorders", body).apiErr(t, http.StatusBadRequest, "invalid_argument")
		if !strings.Contains(e.Message, "run_timeout") {
			t.Fatalf("%s: message %q does not name run_timeout", body, e.Message)
		}
	}
	if a.b.fingerprint() != before {
		t.Fatal("a refused create changed the state")
	}
}
