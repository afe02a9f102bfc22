package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hive-swarm/hive/api"
)

// TestWorkOrderCreateFile runs `hive wo create --file` against a node of
// its own (it creates over a thousand work orders): batches, standard
// input, table and JSON output, bad lines named by number with nothing
// created, refused items, and reruns with --request-id.
func TestWorkOrderCreateFile(t *testing.T) {
	addr := ownNode(t, "create-file")
	mustContain(t, "wo create --help", ok(t, "", "wo", "create", "--help"), "--file FILE", "hive wo create --file orders.jsonl")
	dir := t.TempDir()
	write := func(name, text string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	// Three work orders, a blank line between: a table by line.
	small := write("small.jsonl", `{"title":"first","labels":["security"]}`+"\n\n"+
		`{"title":"second","type":"shell","depends_on":["WO-1"]}`+"\n"+`{"title":"third"}`+"\n")
	table := ok(t, addr, "wo", "create", "--file", small)
	mustContain(t, "table", table, "LINE", "ID", "1  ", "WO-1", "first", "3  ", "WO-2", "blocked", "second", "4  ", "WO-3", "third")
	if got := workOrderCount(t, addr); got != 3 {
		t.Fatalf("%d work orders, want 3", got)
	}

	// Standard input, JSON output.
	var out api.CreateWorkOrderBatchResponse
	decode(t, okStdin(t, addr, `{"title":"piped"}`+"\n", "wo", "create", "--file", "-", "-json"), &out)
	if len(out.WorkOrders) != 1 || out.WorkOrders[0].ID != "WO-4" || out.WorkOrders[0].Title != "piped" {
		t.Fatalf("stdin: %+v", out)
	}

	// Bad lines are named and nothing is created: caught by the CLI...
	before := workOrderCount(t, addr)
	for _, c := range []struct{ text, want string }{
		{`{"title":"ok"}` + "\n" + `{"title":"ok"` + "\n", "line 2"},
		{`{"title":"ok"}` + "\n\n" + `{"titel":"typo"}` + "\n", "line 3"},
		{`{"title":"ok"}` + "\n" + `{"title":" "}` + "\n", "line 2: title"},
		// ...and by the server, which names the item, translated to its line.
		{`{"title":"ok"}` + "\n" + `{"title":"ok"}` + "\n\n" + `{"title":"bad","priority":"urgent"}` + "\n", "line 4: priority"},
	} {
		stderr := fails(t, addr, "invalid_argument", "wo", "create", "--file", write("bad.jsonl", c.text))
		mustContain(t, "bad file", stderr, c.want)
	}
	fails(t, addr, "invalid_argument", "wo", "create", "--file", write("empty.jsonl", "\n\n"))
	fails(t, addr, "invalid_argument", "wo", "create", "--file", filepath.Join(dir, "missing.jsonl"))
	fails(t, addr, "usage", "wo", "create", "--file", small, "--title", "both")
	if after := workOrderCount(t, addr); after != before {
		t.Fatalf("bad files created %d work orders", after-before)
	}

	// An item refused when applied: the others are created, the command
	// fails naming its line.
	stderr := fails(t, addr, "not_found", "wo", "create", "--file",
		write("dep.jsonl", `{"title":"fine"}`+"\n"+`{"title":"orphan","depends_on":["WO-999"]}`+"\n"))
	mustContain(t, "refused item", stderr, "line 2", "WO-999", "1 of 2")
	if after := workOrderCount(t, addr); after != before+1 {
		t.Fatalf("%d work orders created, want 1", after-before)
	}

	// More than one batch, with a key: a rerun creates nothing twice.
	var big strings.Builder
	for i := range 1005 {
		fmt.Fprintf(&big, `{"title":"bulk %d","labels":["bulk"]}`+"\n", i)
	}
	bulk := write("bulk.jsonl", big.String())
	var first, again api.CreateWorkOrderBatchResponse
	decode(t, ok(t, addr, "wo", "create", "--file", bulk, "--request-id", "bulk-1", "-json"), &first)
	decode(t, ok(t, addr, "wo", "create", "--file", bulk, "--request-id", "bulk-1", "-json"), &again)
	if len(first.WorkOrders) != 1005 || len(again.WorkOrders) != 1005 {
		t.Fatalf("%d and %d items", len(first.WorkOrders), len(again.WorkOrders))
	}
	for i := range first.WorkOrders {
		if first.WorkOrders[i].ID != again.WorkOrders[i].ID || first.WorkOrders[i].Title != fmt.Sprintf("bulk %d", i) {
			t.Fatalf("item %d: %s then %s", i, first.WorkOrders[i].ID, again.WorkOrders[i].ID)
		}
	}
	if first.WorkOrders[0].CreateIndex == first.WorkOrders[1004].CreateIndex {
		t.Fatal("1005 work orders in one batch")
	}
	var bulkList api.WorkOrderList
	decode(t, ok(t, addr, "wo", "list", "--label", "bulk", "--all", "-json"), &bulkList)
	if len(bulkList.WorkOrders) != 1005 {
		t.Fatalf("%d bulk work orders, want 1005", len(bulkList.WorkOrders))
	}
}
