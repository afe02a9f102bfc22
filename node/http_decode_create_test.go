package node

import (
	"reflect"
	"testing"

	"github.com/hive-swarm/hive/api"
)

// createBodies are create bodies inside and outside the scanner's subset.
var createBodies = []string{
	`{"title":"bench abc #1","description":"created by hive bench","labels":["bench"],"request_id":"bench-abc-1"}`,
	` { "title" : "t" , "priority_score" : 7 , "effort" : -30 , "labels" : [ ] , "depends_on" : [ "WO-1" , "WO-2" ] } `,
	`{"title":"日本語 🐝","type":"shell","bucket":"security","priority":"high","stage":"design","signal":"cve","parent":"WO-9"}`,
	`{}`, `{ }`, `{"title":""}`, `{"labels":[""]}`, `{"effort":0}`, `{"effort":-0}`,
	`{"title":"timed","run_timeout":"90s"}`, `{"run_timeout":"-1s","title":"t"}`, `{"run_timeout":""}`,
	// Outside the subset: encoding/json decides.
	``, ` `, `null`, `[]`, `{`, `}`, `{"title"}`, `{"title":}`, `{"title":"x",}`, `{"title":"x"}{}`, `{"title":"x"} x`,
	`{"title":"a\"b"}`, `{"title":"a\u0041"}`, "{\"title\":\"a\x01\"}", "{\"title\":\"\xff\"}",
	`{"Title":"case"}`, `{"title":"x","title":"y"}`, `{"unknown":1}`, `{"title":null}`, `{"labels":null}`,
	`{"payload":{"k":1}}`, `{"deadline":"2026-01-02T03:04:05Z"}`, `{"deadline":"soon"}`,
	`{"effort":01}`, `{"effort":1.5}`, `{"effort":1e3}`, `{"effort":"1"}`, `{"effort":-}`,
	`{"effort":99999999999999999999}`, `{"priority_score":123456789012345678}`,
	`{"labels":["a",]}`, `{"labels":["a" "b"]}`, `{"labels":"a"}`, `{"labels":[1]}`, `{"title":1}`,
	`{"title":"x" "y":1}`, `{title:"x"}`,
	`{"run_timeout":90}`, `{"run_timeout":null}`, `{"run_timeout":"9\u00300s"}`, `{"Run_Timeout":"1s"}`,
	`{"run_timeout":"1s","run_timeout":"2s"}`, `{"run_timeout":["1s"]}`,
}

// scannedCreateBodies is how many of createBodies the scanner reads.
const scannedCreateBodies = 12

func TestDecodeCreateAgreesWithEncodingJSON(t *testing.T) {
	for _, body := range createBodies {
		checkDecodeCreate(t, []byte(body))
	}
}

func TestDecodeCreateTakesTheScannerForPlainBodies(t *testing.T) {
	for _, body := range createBodies[:scannedCreateBodies] {
		var req api.CreateWorkOrderRequest
		if !scanCreate([]byte(body), &req) {
			t.Errorf("scanCreate refused %s", body)
		}
	}
}

func FuzzDecodeCreate(f *testing.F) {
	for _, body := range createBodies {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkDecodeCreate(t, body) })
}

// checkDecodeCreate checks that decodeCreate decodes body as decodeJSON.
func checkDecodeCreate(t *testing.T, body []byte) {
	t.Helper()
	var want, got api.CreateWorkOrderRequest
	wantErr := decodeJSON(body, &want, false)
	gotErr := decodeCreate(body, &got)
	if !reflect.DeepEqual(gotErr, wantErr) {
		t.Fatalf("body %q: error %+v, encoding/json says %+v", body, gotErr, wantErr)
	}
	if wantErr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("body %q:\n got %#v\nwant %#v", body, got, want)
	}
}

func BenchmarkDecodeCreate(b *testing.B) {
	body := []byte(createBodies[0])
	for _, fast := range []bool{false, true} {
		name := "encoding/json"
		if fast {
			name = "scanner"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var req api.CreateWorkOrderRequest
				var err *apiError
				if fast {
					err = decodeCreate(body, &req)
				} else {
					err = decodeJSON(body, &req, false)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
