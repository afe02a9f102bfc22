package node

import (
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/fsm"
)

func TestAPIConvertTimes(t *testing.T) {
	if nanosToTimePtr(0) != nil {
		t.Fatal("0 nanos is not nil")
	}
	ts := time.Date(2031, 5, 6, 7, 8, 9, 123456789, time.FixedZone("x", 3600))
	n, err := timeToNanos("t", ts)
	if err != nil {
		t.Fatal(err)
	}
	back := nanosToTime(n)
	if !back.Equal(ts) || back.Location() != time.UTC {
		t.Fatalf("%v -> %d -> %v", ts, n, back)
	}
	for _, bad := range []time.Time{{}, time.Unix(0, 0), time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if _, err := timeToNanos("t", bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	for in, want := range map[string]int64{
		"1700000000000000000":            1700000000000000000,
		"2023-11-14T22:13:20Z":           1700000000000000000,
		"2023-11-14T23:13:20.5+01:00":    1700000000500000000,
		"0":                              0,
		"2023-11-14T22:13:20.000000001Z": 1700000000000000001,
	} {
		got, err := parseTimeParam("since", in)
		if err != nil || got != want {
			t.Errorf("parseTimeParam(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"-1", "yesterday", "2023-11-14", ""} {
		if _, err := parseTimeParam("since", bad); err == nil {
			t.Errorf("parseTimeParam(%q) accepted", bad)
		}
	}
}

func TestAPIConvertReceiptRoundTrip(t *testing.T) {
	r := &fsm.Receipt{Seq: 3, Index: 9, Time: 1700000000000000001, WorkOrder: "WO-2", Event: "started",
		From: fsm.StateQueued, To: fsm.StateInProgress, Attempt: 1, Node: "n1", Agent: "shell"}
	r.PrevHash[0], r.Hash[31], r.EvidenceDigest[5] = 1, 2, 3
	a := receiptToAPI(r)
	if a.Hash[62:] != "02" || !a.Time.Equal(time.Unix(0, r.Time)) {
		t.Fatalf("api receipt %+v", a)
	}
	back, err := receiptFromAPI(a)
	if err != nil || !reflect.DeepEqual(back, r) {
		t.Fatalf("round trip %+v, %v", back, err)
	}
	a.Hash = "xyz"
	if _, err := receiptFromAPI(a); err == nil {
		t.Fatal("bad hash accepted")
	}
}

func TestAPIConvertWorkOrder(t *testing.T) {
	w := &fsm.WorkOrder{ID: "WO-1", Seq: 1, Title: "t", Kind: "shell", Bucket: "security",
		Priority: fsm.PriorityCritical, Labels: []string{"a"}, Payload: []byte(`{"x":1}`),
		State: fsm.StateInProgress, Attempt: 2, Assignee: fsm.Assignee{Node: "n1", Agent: "shell"},
		Result:    &fsm.Evidence{ExitCode: 1, Outputs: map[string]string{"o": "v"}},
		CreatedAt: 10, UpdatedAt: 20, StartedAt: 15, CreateIndex: 3, ModifyIndex: 4}
	a := workOrderToAPI(w)
	if a.Type != "shell" || a.Priority != "critical" || a.Node != "n1" || a.Agent != "shell" ||
		string(a.Payload) != `{"x":1}` || a.Deadline != nil || a.CompletedAt != nil ||
		a.StartedAt.UnixNano() != 15 || a.Result.Outputs["o"] != "v" || a.State != "in_progress" {
		t.Fatalf("converted %+v", a)
	}
	// The API copy shares nothing with the state.
	a.Labels[0], a.Result.Outputs["o"] = "changed", "changed"
	if w.Labels[0] != "a" || w.Result.Outputs["o"] != "v" {
		t.Fatal("conversion aliases the state")
	}
}

func TestAPIConvertCreate(t *testing.T) {
	h := fsm.Header{RequestID: "r", Time: 1, Node: "n"}
	cmd, err := createCommand(&api.CreateWorkOrderRequest{Title: "t", Priority: "HIGH", Payload: []byte(" null ")}, h)
	if err != nil || cmd.Spec.Priority != fsm.PriorityHigh || cmd.Spec.Payload != nil || cmd.Header != h {
		t.Fatalf("%+v, %v", cmd, err)
	}
	if _, err := createCommand(&api.CreateWorkOrderRequest{Title: "t", Priority: "low", PriorityScore: 3}, h); err == nil {
		t.Fatal("priority and priority_score both accepted")
	}
	put, err := memoryPutCommand("ns", "k", &api.MemoryPutRequest{Value: []byte(`"v"`), TTL: "1s"}, h)
	if err != nil || put.ExpiresAt != 1+int64(time.Second) {
		t.Fatalf("%+v, %v", put, err)
	}
}

// fuzzHeader is the proposer's header in the fuzz targets.
var fuzzHeader = fsm.Header{RequestID: "fuzz-1", Time: 1_700_000_000_000_000_000, Node: "n1"}

// checkDecodeRefusal asserts that a body refused by the decoder gets a
// 400 with one of the decoding codes.
func checkDecodeRefusal(t *testing.T, aerr *apiError) {
	t.Helper()
	switch {
	case aerr.status != http.StatusBadRequest:
		t.Fatalf("decode refusal with status %d: %v", aerr.status, aerr)
	case aerr.code != "bad_json" && aerr.code != "unknown_field" && aerr.code != "invalid_argument":
		t.Fatalf("decode refusal with code %s", aerr.code)
	case aerr.message == "":
		t.Fatal("decode refusal without a message")
	}
}

// checkCommand asserts what the write path relies on: a conversion either
// refuses with 400 invalid_argument, or yields a command that fsm.Validate
// judges (refusals only as invalid_argument or self_dependency), and every
// command that passes Validate survives encoding for raft.
func checkCommand(t *testing.T, cmd fsm.Command, err error) {
	t.Helper()
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) || ae.status != http.StatusBadRequest || ae.code != "invalid_argument" {
			t.Fatalf("conversion refused with %v", err)
		}
		return
	}
	if err := fsm.Validate(cmd); err != nil {
		ae := validationError(err)
		if ae.code != "invalid_argument" && ae.code != "self_dependency" {
			t.Fatalf("Validate refused with %v", err)
		}
		return
	}
	data, err := fsm.Encode(cmd)
	if err != nil {
		t.Fatalf("a valid command does not encode: %v", err)
	}
	back, err := fsm.Decode(data)
	if err != nil {
		t.Fatalf("a valid command does not decode: %v", err)
	}
	if err := fsm.Validate(back); err != nil {
		t.Fatalf("a valid command is invalid after a round trip: %v", err)
	}
}

func FuzzCreateRequest(f *testing.F) {
	for _, s := range []string{
		`{"title":"x"}`,
		`{"title":"fix","description":"d","type":"shell","bucket":"security","priority":"critical","labels":["bug"],"payload":{"a":[1,2]},"effort":5,"stage":"design","signal":"cve","depends_on":["WO-1"],"deadline":"2030-01-01T00:00:00Z","parent":"WO-2","request_id":"r"}`,
		`{"title":"x","priority_score":7}`, `{"title":"x","payload":null}`, `{"title":5}`, `{"title":"x"} x`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkCreate(t, body, decodeCreateJSON) })
}

// decodeCreateJSON decodes a create body with encoding/json alone.
func decodeCreateJSON(body []byte, req *api.CreateWorkOrderRequest) *apiError {
	return decodeJSON(body, req, false)
}

// checkCreate decodes body with decode and converts it as
// POST /v1/workorders does, checking a refusal by either step
// (checkDecodeRefusal, checkCommand) or the command (checkCommand). It
// returns the request and its command when both steps accept the body,
// else nil.
func checkCreate(t *testing.T, body []byte, decode func([]byte, *api.CreateWorkOrderRequest) *apiError) (*api.CreateWorkOrderRequest, *fsm.CreateWorkOrder) {
	t.Helper()
	var req api.CreateWorkOrderRequest
	if aerr := decode(body, &req); aerr != nil {
		checkDecodeRefusal(t, aerr)
		return nil, nil
	}
	cmd, err := createCommand(&req, fuzzHeader)
	if err != nil {
		checkCommand(t, nil, err)
		return nil, nil
	}
	checkCommand(t, cmd, nil)
	return &req, cmd
}

func FuzzTransitionRequest(f *testing.F) {
	f.Add("WO-1", "start", []byte(``))
	f.Add("WO-2", "complete", []byte(`{"attempt":3,"agent":"shell","evidence":{"exit_code":0,"outputs":{"a":"b"},"artifact":"sku","log":"ok"}}`))
	f.Add("WO-3", "cancel", []byte(`{"cascade":true,"reason":"dup"}`))
	f.Add("WO-4", "progress", []byte(`{"attempt":1,"stage":"testing","progress":"50%"}`))
	f.Add("x", "fail", []byte(`{"evidence":{"outputs":{"":""}}}`))
	f.Fuzz(func(t *testing.T, id, action string, body []byte) {
		act, ok := transitionActions[action]
		if !ok {
			return
		}
		var req api.TransitionRequest
		if aerr := decodeJSON(body, &req, true); aerr != nil {
			checkDecodeRefusal(t, aerr)
			return
		}
		cmd, err := transitionCommand(id, act, &req, fuzzHeader)
		if err != nil {
			checkCommand(t, nil, err)
			return
		}
		checkCommand(t, cmd, nil)
	})
}

func FuzzDependencyRequest(f *testing.F) {
	f.Add("WO-1", []byte(`{"depends_on":["WO-2","WO-3"]}`), true)
	f.Add("WO-1", []byte(`{"depends_on":["WO-1"]}`), false)
	f.Add("WO-1", []byte(`{"depends_on":[""]}`), true)
	f.Fuzz(func(t *testing.T, id string, body []byte, add bool) {
		var req api.DependencyRequest
		if aerr := decodeJSON(body, &req, false); aerr != nil {
			checkDecodeRefusal(t, aerr)
			return
		}
		cmd, err := dependencyCommand(id, &req, add, fuzzHeader)
		if err != nil {
			checkCommand(t, nil, err)
			return
		}
		checkCommand(t, cmd, nil)
	})
}

func FuzzMemoryPut(f *testing.F) {
	f.Add("team", "k", []byte(`{"value":{"a":1}}`))
	f.Add("team", "k", []byte(`{"value":"v","ttl":"10m"}`))
	f.Add("t e", "", []byte(`{"value":1,"ttl":"-1s"}`))
	f.Add("team", "k", []byte(`{"value":1,"ttl":"2562047h"}`))
	f.Fuzz(func(t *testing.T, ns, key string, body []byte) {
		var req api.MemoryPutRequest
		if aerr := decodeJSON(body, &req, false); aerr != nil {
			checkDecodeRefusal(t, aerr)
			return
		}
		cmd, err := memoryPutCommand(ns, key, &req, fuzzHeader)
		if err != nil {
			checkCommand(t, nil, err)
			return
		}
		if cmd.ExpiresAt < 0 || (req.TTL != "" && cmd.ExpiresAt <= fuzzHeader.Time) {
			t.Fatalf("ttl %q gave expiry %d", req.TTL, cmd.ExpiresAt)
		}
		checkCommand(t, cmd, nil)
	})
}

func FuzzMemoryImport(f *testing.F) {
	f.Add([]byte(`{"entries":[{"namespace":"a","key":"k","value":1,"expires_at":"2030-01-01T00:00:00Z","updated_at":"2020-01-01T00:00:00Z","create_index":1,"modify_index":2}],"index":7}`))
	f.Add([]byte(`{"entries":[null]}`))
	f.Add([]byte(`{"entries":[]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req struct {
			api.MemoryImportRequest
			Index uint64 `json:"index,omitempty"`
		}
		if aerr := decodeJSON(body, &req, false); aerr != nil {
			checkDecodeRefusal(t, aerr)
			return
		}
		cmd, err := memoryImportCommand(&req.MemoryImportRequest, fuzzHeader)
		if err != nil {
			checkCommand(t, nil, err)
			return
		}
		checkCommand(t, cmd, nil)
	})
}

// FuzzQueryFilters: the query parsers never panic and refuse only with
// 400 invalid_argument.
func FuzzQueryFilters(f *testing.F) {
	f.Add("state=queued&bucket=security&priority=high&type=shell&label=bug&parent=WO-1&after=3&limit=10")
	f.Add("workorder=WO-1&hash=" + hashHex([32]byte{1}) + "&since=2023-11-14T22:13:20Z&until=1&from=2&to=1&limit=5")
	f.Add("state=x&state=y&limit=-1")
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		for _, err := range []error{
			func() error { _, err := parseWorkOrderFilter(q); return err }(),
			func() error { _, err := parseReceiptQuery(q); return err }(),
		} {
			if err == nil {
				continue
			}
			var ae *apiError
			if !errors.As(err, &ae) || ae.status != http.StatusBadRequest || ae.code != "invalid_argument" {
				t.Fatalf("refused with %v", err)
			}
		}
	})
}
