package node

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/hive-swarm/hive/api"
)

// TestWorkOrderEncoderKnowsEveryField fails when api.WorkOrder changes:
// update workOrderJSONFields and appendWorkOrderJSON with it (until then
// the server falls back to encoding/json).
func TestWorkOrderEncoderKnowsEveryField(t *testing.T) {
	if !workOrderEncoderMatches() {
		t.Fatal("api.WorkOrder no longer matches workOrderJSONFields; update http_encode_workorder.go")
	}
}

func TestAppendWorkOrderJSONMatchesEncodingJSON(t *testing.T) {
	ts := time.Date(2026, 3, 4, 5, 6, 7, 890123000, time.UTC)
	round := time.Date(2026, 3, 4, 5, 6, 0, 0, time.UTC)
	cases := map[string]*api.WorkOrder{
		"minimal": {ID: "WO-1", Title: "t", Bucket: "features", Priority: "low", State: "queued"},
		"zero":    {},
		"full": {
			ID: "WO-42", Title: `quote " backslash \ <tag> & amp`, Description: "line\nbreak\ttab\x01ctl",
			Type: "shell", Bucket: "security", Priority: "critical", Labels: []string{"a", "é", "\u2028sep"},
			Payload: json.RawMessage(" { \"k\" : [1, 2, \"<x>\"] } "), Effort: -3600, Stage: "design",
			Signal: "cve", DependsOn: []string{"WO-1", "WO-2"}, Dependents: []string{"WO-9"},
			Parent: "WO-0", Children: []string{"WO-43"}, State: "in_progress", BlockedReason: "deps",
			Attempt: 7, Node: "n1", Agent: "a1", Progress: "50%",
			Result:    &api.Evidence{ExitCode: 2, Outputs: map[string]string{"b": "2", "a": "<1>"}, Artifact: "sku", Log: "ok"},
			CreatedAt: ts, UpdatedAt: round, Deadline: &ts, StartedAt: &round, CompletedAt: &ts,
			CreateIndex: 1 << 40, ModifyIndex: 1<<64 - 1, RunTimeout: "1m30s",
		},
		"run timeout only": {RunTimeout: "168h0m0s"},
		"run timeout after failure fields": {Retry: &api.RetryPolicy{MaxAttempts: 2}, LastReason: "run timeout: <late> & gone",
			PredictedFinish: &ts, RunTimeout: "1.5µs"},
		"invalid utf8":   {ID: "WO-\xff", Title: "a\xc3(b", Labels: []string{"\xed\xa0\x80"}},
		"empty slices":   {Labels: []string{}, DependsOn: []string{}, Payload: json.RawMessage{}},
		"unicode mix":    {Title: "日本語 and emoji 🐝", Description: "\u007f del"},
		"non-utc offset": {CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 5*3600+1800))},
	}
	for name, w := range cases {
		t.Run(name, func(t *testing.T) { checkWorkOrderJSON(t, w) })
	}
}

func TestAppendWorkOrderJSONRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "Z", "0", " ", "\"", "\\", "<", ">", "&", "\n", "\x00", "é", "\xff", "\u2029", "🐝", "/"}
	str := func() string {
		n := r.IntN(6)
		s := ""
		for range n {
			s += alphabet[r.IntN(len(alphabet))]
		}
		return s
	}
	strs := func() []string {
		if r.IntN(3) == 0 {
			return nil
		}
		out := make([]string, r.IntN(3))
		for i := range out {
			out[i] = str()
		}
		return out
	}
	tm := func() *time.Time {
		if r.IntN(2) == 0 {
			return nil
		}
		t := time.Unix(0, r.Int64()).UTC()
		return &t
	}
	for range 2000 {
		w := &api.WorkOrder{
			ID: str(), Title: str(), Description: str(), Type: str(), Bucket: str(), Priority: str(),
			Labels: strs(), Effort: r.Int64N(5) - 2, Stage: str(), Signal: str(), DependsOn: strs(),
			Dependents: strs(), Parent: str(), Children: strs(), State: str(), BlockedReason: str(),
			Attempt: r.Uint64N(3), Node: str(), Agent: str(), Progress: str(),
			CreatedAt: time.Unix(0, r.Int64()).UTC(), UpdatedAt: time.Unix(0, r.Int64()).UTC(),
			Deadline: tm(), StartedAt: tm(), CompletedAt: tm(), CreateIndex: r.Uint64(), ModifyIndex: r.Uint64(),
			RunTimeout: str(),
		}
		checkWorkOrderJSON(t, w)
	}
}

func TestAppendWorkOrderJSONErrorsAsEncodingJSON(t *testing.T) {
	bad := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := json.Marshal(&api.WorkOrder{CreatedAt: bad}); err == nil {
		t.Fatal("encoding/json accepted year 10000")
	}
	if _, err := appendWorkOrderJSON(nil, &api.WorkOrder{CreatedAt: bad}); err == nil {
		t.Fatal("appendWorkOrderJSON accepted year 10000")
	}
	if _, err := appendWorkOrderJSON(nil, &api.WorkOrder{Payload: json.RawMessage("{bad")}); err == nil {
		t.Fatal("appendWorkOrderJSON accepted a malformed payload")
	}
}

func checkWorkOrderJSON(t *testing.T, w *api.WorkOrder) {
	t.Helper()
	want, err := json.Marshal(w)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	got, err := appendWorkOrderJSON(nil, w)
	if err != nil {
		t.Fatalf("appendWorkOrderJSON: %v", err)
	}
	if string(got) != string(want) {
		t.Fatalf("appendWorkOrderJSON differs from encoding/json:\n got %s\nwant %s", got, want)
	}
}

func BenchmarkMarshalWorkOrder(b *testing.B) {
	ts := time.Unix(0, 1_790_000_000_123_456_789).UTC()
	w := &api.WorkOrder{ID: "WO-123456", Title: "bench abc #123456", Description: "created by hive bench to measure committed creates per second",
		Bucket: "features", Priority: "low", Labels: []string{"bench"}, State: "queued", Attempt: 0,
		CreatedAt: ts, UpdatedAt: ts, Deadline: &ts, CreateIndex: 123456, ModifyIndex: 123456}
	for _, fast := range []bool{false, true} {
		name := "encoding/json"
		if fast {
			name = "by hand"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := marshalWorkOrder(w, fast); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
