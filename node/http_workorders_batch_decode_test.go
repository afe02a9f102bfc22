package node

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/hive-swarm/hive/api"
)

// FuzzDecodeBatchCreate checks that the scanner's short cut decodes every
// body it accepts exactly as encoding/json does, and that
// decodeBatchCreate's answer (creates or error) is decodeBatchSlow's.
func FuzzDecodeBatchCreate(f *testing.F) {
	for _, s := range []string{
		`{"workorders":[{"title":"a"}]}`,
		` { "workorders" : [ {"title":"a","labels":["x","y"],"priority_score":3} , {"title":"b","payload":{"k":[1,{"x":"}"}]}} ] } `,
		`{"workorders":[{"title":"a\"}b","description":"\\"},{"title":"é"}]}`,
		`{"workorders":[{"title":"a"},{"title":"a","title":"b"}]}`,
		`{"workorders":[{"title":"a"}],"workorders":[{"title":"b"}]}`,
		`{"WorkOrders":[{"title":"a"}]}`,
		`{"workorders":[{"title":"a"},]}`,
		`{"workorders":[{"title":"a"}]}x`,
		`{"workorders":[{"title":"a"}`,
		`{"workorders":[{"title":"a","labels":["x"}]]}`,
		`{"workorders":[null]}`,
		`{"workorders":[]}`,
		`{"workorders":[{"title":"a","retry":{"max_attempts":2},"deadline":"2030-01-01T00:00:00Z"}]}`,
		`{"workorders":[{"title":"\xff"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, gerr := decodeBatchCreate(body)
		want, werr := decodeBatchSlow(body)
		if !reflect.DeepEqual(gerr, werr) || !reflect.DeepEqual(got, want) {
			t.Fatalf("body %q:\ndecodeBatchCreate %+v, %v\ndecodeBatchSlow   %+v, %v", body, got, gerr, want, werr)
		}
		if whole, ok := decodeBatchWhole(body); ok && !reflect.DeepEqual(whole, want) {
			t.Fatalf("body %q:\ndecodeBatchWhole %+v\ndecodeBatchSlow  %+v", body, whole, want)
		}
		fast, ok := scanBatch(body)
		if !ok {
			return
		}
		// What the scanner accepts, encoding/json reads the same way.
		var ref struct {
			WorkOrders []api.CreateWorkOrderRequest `json:"workorders"`
		}
		if err := json.Unmarshal(body, &ref); err != nil {
			t.Fatalf("scanner took %q, encoding/json refuses it: %v", body, err)
		}
		if !reflect.DeepEqual(fast, ref.WorkOrders) {
			t.Fatalf("body %q:\nscanner       %+v\nencoding/json %+v", body, fast, ref.WorkOrders)
		}
	})
}

// benchBatchBody is a batch of n creates as the dispatch bench sends them
// (with a payload), or without a payload.
func benchBatchBody(n int, payload bool) []byte {
	var b strings.Builder
	b.WriteString(`{"workorders":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		p := ""
		if payload {
			p = `,"payload":{"mode":"noop"}`
		}
		fmt.Fprintf(&b, `{"title":"dispatch run #%d","type":"test"%s,"request_id":"dispatch-run-%d"}`, i, p, i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// BenchmarkDecodeBatchCreate compares decodeBatchCreate with
// decodeBatchSlow on batches of 128 bench creates, with and without a
// payload.
func BenchmarkDecodeBatchCreate(b *testing.B) {
	for _, payload := range []bool{false, true} {
		body := benchBatchBody(128, payload)
		for _, c := range []struct {
			name string
			f    func([]byte) ([]api.CreateWorkOrderRequest, *apiError)
		}{{"decodeBatchCreate", decodeBatchCreate}, {"decodeBatchSlow", decodeBatchSlow}} {
			b.Run(fmt.Sprintf("%s/payload=%v", c.name, payload), func(b *testing.B) {
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := c.f(body); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
