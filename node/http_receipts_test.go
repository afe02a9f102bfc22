package node

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/fsm"
)

// seedReceipts creates n work orders directly through the backend.
func seedReceipts(t *testing.T, b *fsmBackend, n int) {
	t.Helper()
	for i := range n {
		b.propose(t, &fsm.CreateWorkOrder{
			Header: fsm.Header{RequestID: fmt.Sprint("seed-", i), Time: int64(i+1) * int64(time.Second), Node: "n1"},
			Spec:   fsm.WorkOrderSpec{Title: fmt.Sprint("wo ", i)},
		})
	}
}

func TestHTTPReceipts(t *testing.T) {
	a := newTestAPI(t)
	seedReceipts(t, a.b, 5)
	a.action("WO-2", "start", nil)

	var l api.ReceiptList
	a.do("GET", "/v1/receipts", nil).ok(t, 200, &l)
	if len(l.Receipts) != 6 || l.Index == 0 {
		t.Fatalf("receipts %+v", l)
	}
	for i, r := range l.Receipts {
		if r.Seq != uint64(i+1) || len(r.Hash) != 64 || r.TimeUnixNano != r.Time.UnixNano() {
			t.Fatalf("receipt %d: %+v", i, r)
		}
	}
	a.do("GET", "/v1/receipts?workorder=WO-2", nil).ok(t, 200, &l)
	if len(l.Receipts) != 2 || l.Receipts[1].Event != "started" {
		t.Fatalf("by work order: %+v", l.Receipts)
	}
	want := *l.Receipts[1]
	a.do("GET", "/v1/receipts?hash="+want.Hash, nil).ok(t, 200, &l)
	if len(l.Receipts) != 1 || l.Receipts[0].Seq != want.Seq {
		t.Fatalf("by hash: %+v", l.Receipts)
	}
	a.do("GET", "/v1/receipts?since=3000000000&until="+url.QueryEscape(time.Unix(5, 0).UTC().Format(time.RFC3339)), nil).ok(t, 200, &l)
	if len(l.Receipts) != 2 || l.Receipts[0].Seq != 3 {
		t.Fatalf("by time: %+v", l.Receipts)
	}
	a.do("GET", "/v1/receipts?from=4&limit=1", nil).ok(t, 200, &l)
	if len(l.Receipts) != 1 || l.Receipts[0].Seq != 4 {
		t.Fatalf("from/limit: %+v", l.Receipts)
	}

	var r api.Receipt
	a.do("GET", "/v1/receipts/6", nil).ok(t, 200, &r)
	if r.Seq != 6 || r.Hash != want.Hash {
		t.Fatalf("receipt 6: %+v", r)
	}
	a.do("GET", "/v1/receipts/99", nil).apiErr(t, 404, "not_found")
	a.do("GET", "/v1/receipts/x", nil).apiErr(t, 400, "invalid_argument")
	a.do("GET", "/v1/receipts?hash=zz", nil).apiErr(t, 400, "invalid_argument")
	a.do("GET", "/v1/receipts?since=yesterday", nil).apiErr(t, 400, "invalid_argument")
	a.do("GET", "/v1/receipts?from=5&to=2", nil).apiErr(t, 400, "invalid_argument")

	var v api.VerifyReport
	a.do("GET", "/v1/receipts/verify", nil).ok(t, 200, &v)
	if !v.OK || v.Checked != 6 || v.Head != want.Hash || v.NodeIndex == 0 {
		t.Fatalf("verify %+v", v)
	}
	a.do("GET", "/v1/receipts/verify?from=2&to=3", nil).ok(t, 200, &v)
	if !v.OK || v.Checked != 2 {
		t.Fatalf("verify range %+v", v)
	}
}

// TestHTTPReceiptsExport exports more than one page and verifies the JSON
// Lines independently of the node.
func TestHTTPReceiptsExport(t *testing.T) {
	a := newTestAPI(t)
	seedReceipts(t, a.b, exportPage+37)
	n := a.b.view().ReceiptCount()

	resp := a.do("GET", "/v1/receipts/export", nil)
	resp.ok(t, 200, nil)
	if ct := resp.header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Fatalf("Content-Type %q", ct)
	}
	if resp.header.Get(headerIndex) == "" {
		t.Fatal("no index header")
	}
	chain := parseExport(t, resp.body)
	if uint64(len(chain)) != n {
		t.Fatalf("exported %d of %d receipts", len(chain), n)
	}
	if checked, err := fsm.VerifyChain(chain, [32]byte{}); err != nil || checked != n {
		t.Fatalf("exported chain does not verify: %d checked, %v", checked, err)
	}
	if chain[len(chain)-1].Hash != a.b.view().ChainHead() {
		t.Fatal("export does not end at the chain head")
	}

	// A range.
	part := parseExport(t, a.do("GET", "/v1/receipts/export?from=10&to=20", nil).body)
	if len(part) != 11 || part[0].Seq != 10 || part[10].Seq != 20 {
		t.Fatalf("range export: %d receipts", len(part))
	}
	// A tampered export is caught.
	chain[3].Event = "forged"
	if _, err := fsm.VerifyChain(chain, [32]byte{}); err == nil {
		t.Fatal("a forged receipt verified")
	}
}

func parseExport(t *testing.T, body []byte) []*fsm.Receipt {
	t.Helper()
	var out []*fsm.Receipt
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		var r api.Receipt
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("line %d: %v", len(out)+1, err)
		}
		fr, err := receiptFromAPI(&r)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) > 0 && fr.Seq != out[len(out)-1].Seq+1 {
			t.Fatalf("seq %d after %d", fr.Seq, out[len(out)-1].Seq)
		}
		out = append(out, fr)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
