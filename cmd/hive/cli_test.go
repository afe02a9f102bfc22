package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hive-swarm/hive/api"
	"go.uber.org/goleak"
)

// The tests in this file run the command line in-process against a real
// dev node (see nodeAddr) and assert stdout, stderr and the error that
// main turns into exit status 1.

func TestMain(m *testing.M) {
	code := m.Run()
	stopTestNode()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func TestWorkOrderLifecycle(t *testing.T) {
	addr := nodeAddr(t)
	a := createWO(t, addr, "--title", "lifecycle first", "--label", "bug", "--effort", "30m", "--payload", `{"cmd":"true"}`)
	var payload bytes.Buffer
	if err := json.Compact(&payload, a.Payload); err != nil {
		t.Fatal(err)
	}
	if a.State != "queued" || a.Bucket != "reliability" || a.Effort != 1800 || payload.String() != `{"cmd":"true"}` {
		t.Fatalf("created %+v", a)
	}
	b := createWO(t, addr, "--title", "lifecycle second", "--depends-on", a.ID, "--deadline", "+24h")
	if b.State != "blocked" || !slices.Equal(b.DependsOn, []string{a.ID}) || b.Deadline == nil {
		t.Fatalf("dependent %+v", b)
	}

	// The human forms: a one-line confirmation, a table, a detail view.
	out := ok(t, addr, "wo", "create", "--title", "lifecycle third", "--priority", "low")
	if !strings.HasPrefix(out, "Created WO-") || !strings.Contains(out, "priority low") {
		t.Fatalf("create: %q", out)
	}
	out = ok(t, addr, "wo", "list", "--all")
	if !strings.HasPrefix(out, "ID ") || !strings.Contains(out, "STATE") ||
		!strings.Contains(out, a.ID+" ") || !strings.Contains(out, "lifecycle second") {
		t.Fatalf("list: %q", out)
	}
	out = ok(t, addr, "wo", "show", b.ID)
	for _, want := range []string{"ID:", b.ID, "State:", "blocked", "Depends on:", a.ID, "Receipts:"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	if out := ok(t, addr, "wo", "show", a.ID); !strings.Contains(out, "Dependents:") || !strings.Contains(out, b.ID) {
		t.Errorf("show of the dependency does not list its dependent:\n%s", out)
	}

	// Filters and -json of list.
	var page api.WorkOrderList
	decode(t, ok(t, addr, "wo", "list", "--state", "blocked", "-json", "--all"), &page)
	if !slices.ContainsFunc(page.WorkOrders, func(w *api.WorkOrder) bool { return w.ID == b.ID }) {
		t.Fatalf("blocked list lacks %s", b.ID)
	}
	for _, w := range page.WorkOrders {
		if w.State != "blocked" {
			t.Fatalf("--state blocked listed %s in %s", w.ID, w.State)
		}
	}

	// Transitions, with flags after the ID and global flags anywhere.
	var wo api.WorkOrder
	decode(t, ok(t, addr, "wo", "start", a.ID, "--agent", "shell", "-json"), &wo)
	if wo.State != "in_progress" || wo.Attempt != 1 || wo.Agent != "shell" {
		t.Fatalf("after start: %+v", wo)
	}
	fails(t, addr, "already_started", "wo", "start", a.ID)
	out = ok(t, addr, "wo", "progress", a.ID, "--attempt", "1", "--stage", "implementation", "--progress", "half way")
	if !strings.Contains(out, "in_progress") {
		t.Fatalf("progress: %q", out)
	}
	fails(t, addr, "stale_attempt", "wo", "advance", a.ID, "--attempt", "7")
	decode(t, ok(t, addr, "-json", "wo", "advance", a.ID, "--attempt", "1"), &wo)
	if wo.State != "review" {
		t.Fatalf("after advance: %+v", wo)
	}
	decode(t, ok(t, addr, "wo", "complete", a.ID, "--artifact", "sku-42", "--exit-code", "0", "--output", "report=ok", "-json"), &wo)
	if wo.State != "completed" || wo.Result == nil || wo.Result.Artifact != "sku-42" || wo.Result.Outputs["report"] != "ok" {
		t.Fatalf("after complete: %+v (result %+v)", wo, wo.Result)
	}
	fails(t, addr, "invalid_transition", "wo", "fail", a.ID, "--reason", "too late")

	// b unblocked in the same commit as a's completion.
	decode(t, ok(t, addr, "wo", "show", b.ID, "-json"), &wo)
	if wo.State != "queued" {
		t.Fatalf("dependent after its dependency completed: %+v", wo)
	}
	decode(t, ok(t, addr, "wo", "cancel", b.ID, "--reason", "not needed", "-json"), &wo)
	if wo.State != "cancelled" {
		t.Fatalf("after cancel: %+v", wo)
	}
}

func TestShowUnknownWorkOrder(t *testing.T) {
	addr := nodeAddr(t)
	stderr := fails(t, addr, "not_found", "wo", "show", "WO-999999")
	if !strings.Contains(stderr, "WO-999999") {
		t.Errorf("the error does not name the work order: %q", stderr)
	}
	fails(t, addr, "not_found", "wo", "start", "WO-999999")
}

func TestDependencyCycleIsRefused(t *testing.T) {
	addr := nodeAddr(t)
	a := createWO(t, addr, "--title", "cycle a")
	b := createWO(t, addr, "--title", "cycle b", "--depends-on", a.ID)
	c := createWO(t, addr, "--title", "cycle c")
	out := ok(t, addr, "wo", "dep", "add", c.ID, b.ID)
	if !strings.Contains(out, c.ID+" depends on "+b.ID) {
		t.Fatalf("dep add: %q", out)
	}
	stderr := fails(t, addr, "cycle", "wo", "dep", "add", a.ID, c.ID)
	for _, id := range []string{a.ID, b.ID, c.ID} {
		if !strings.Contains(stderr, id) {
			t.Errorf("the cycle error does not name %s: %q", id, stderr)
		}
	}
	fails(t, addr, "self_dependency", "wo", "dep", "add", a.ID, a.ID)

	// Nothing changed: a still depends on nothing; removing c's edge works.
	var wo api.WorkOrder
	decode(t, ok(t, addr, "wo", "show", a.ID, "-json"), &wo)
	if len(wo.DependsOn) != 0 {
		t.Fatalf("refused edge was stored: %+v", wo)
	}
	decode(t, ok(t, addr, "wo", "dep", "rm", c.ID, b.ID, "-json"), &wo)
	if len(wo.DependsOn) != 0 || wo.State != "queued" {
		t.Fatalf("after dep rm: %+v", wo)
	}
}

func TestQueueOrder(t *testing.T) {
	addr := nodeAddr(t)
	low := createWO(t, addr, "--title", "queue low", "--priority", "low", "--bucket", "cost")
	crit := createWO(t, addr, "--title", "queue critical", "--priority", "critical", "--bucket", "cost")
	high1 := createWO(t, addr, "--title", "queue high long", "--score", "8", "--bucket", "cost", "--effort", "2h")
	high2 := createWO(t, addr, "--title", "queue high short", "--priority", "high", "--bucket", "cost", "--effort", "10m")
	if high1.Priority != "high" {
		t.Fatalf("score 8 gave priority %q", high1.Priority)
	}

	var q api.WorkOrderList
	decode(t, ok(t, addr, "wo", "queue", "--bucket", "cost", "-json"), &q)
	var got []string
	for _, w := range q.WorkOrders {
		if slices.Contains([]string{low.ID, crit.ID, high1.ID, high2.ID}, w.ID) {
			got = append(got, w.ID)
		}
		if w.State != "queued" || w.Bucket != "cost" {
			t.Errorf("queue --bucket cost holds %s (%s, %s)", w.ID, w.State, w.Bucket)
		}
	}
	// Priority first, FIFO within a priority (high1 was created first).
	want := []string{crit.ID, high1.ID, high2.ID, low.ID}
	if !slices.Equal(got, want) {
		t.Fatalf("queue order %v, want %v", got, want)
	}
	out := ok(t, addr, "wo", "queue", "--bucket", "cost")
	if !strings.HasPrefix(out, "#") || strings.Index(out, crit.ID) > strings.Index(out, low.ID) {
		t.Fatalf("queue table:\n%s", out)
	}
}

func TestReceipts(t *testing.T) {
	addr := nodeAddr(t)
	wo := createWO(t, addr, "--title", "receipts")
	ok(t, addr, "wo", "start", wo.ID)
	ok(t, addr, "wo", "complete", wo.ID, "--artifact", "a-1")

	// verify: human and JSON.
	out := ok(t, addr, "receipt", "verify")
	if !strings.HasPrefix(out, "Chain OK:") || !strings.Contains(out, "head ") {
		t.Fatalf("verify: %q", out)
	}
	var rep api.VerifyReport
	decode(t, ok(t, addr, "receipt", "verify", "-json"), &rep)
	if !rep.OK || rep.Checked < 3 || len(rep.Head) != 64 {
		t.Fatalf("verify report %+v", rep)
	}
	decode(t, ok(t, addr, "--stale", "receipt", "verify", "--from", "2", "--to", "3", "-json"), &rep)
	if !rep.OK || rep.Checked != 2 {
		t.Fatalf("ranged verify report %+v", rep)
	}

	// list by work order; show; search by hash prefix.
	var rl api.ReceiptList
	decode(t, ok(t, addr, "receipt", "list", "--workorder", wo.ID, "-json"), &rl)
	if len(rl.Receipts) != 3 {
		t.Fatalf("%s has %d receipts, want created, started, completed", wo.ID, len(rl.Receipts))
	}
	last := rl.Receipts[2]
	if last.WorkOrder != wo.ID || last.To != "completed" {
		t.Fatalf("last receipt %+v", last)
	}
	out = ok(t, addr, "receipt", "show", fmt.Sprint(last.Seq))
	if !strings.Contains(out, last.Hash) || !strings.Contains(out, "Previous hash:") {
		t.Fatalf("show: %q", out)
	}
	decode(t, ok(t, addr, "receipt", "search", "--hash", last.Hash[:12], "-json"), &rl)
	if len(rl.Receipts) != 1 || rl.Receipts[0].Seq != last.Seq {
		t.Fatalf("search by hash prefix: %+v", rl.Receipts)
	}
	out = ok(t, addr, "receipt", "list", "--workorder", wo.ID)
	if !strings.HasPrefix(out, "SEQ") || strings.Count(out, "\n") != 4 {
		t.Fatalf("list table:\n%s", out)
	}
	fails(t, addr, "not_found", "receipt", "show", "99999999")
	fails(t, addr, "invalid_argument", "receipt", "search")

	// export to stdout and to a file: the same JSON Lines, linked by hash.
	stdout := ok(t, addr, "receipt", "export", "--to", fmt.Sprint(last.Seq))
	path := filepath.Join(t.TempDir(), "chain.jsonl")
	r := hive(t, addr, "receipt", "export", "--to", fmt.Sprint(last.Seq), "-o", path)
	if r.err != nil || r.stdout != "" || !strings.Contains(r.stderr, fmt.Sprintf("Exported %d receipts", last.Seq)) {
		t.Fatalf("export -o: %+v", r)
	}
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(file) != stdout {
		t.Fatalf("exported file differs from stdout")
	}
	sc := bufio.NewScanner(strings.NewReader(stdout))
	prev, n := "", uint64(0)
	for sc.Scan() {
		var rec api.Receipt
		decode(t, sc.Text(), &rec)
		n++
		if rec.Seq != n || (n > 1 && rec.PrevHash != prev) {
			t.Fatalf("line %d: seq %d prev %s, want seq %d prev %s", n, rec.Seq, rec.PrevHash, n, prev)
		}
		prev = rec.Hash
	}
	if n != last.Seq || prev != last.Hash {
		t.Fatalf("exported %d receipts ending %s, want %d ending %s", n, prev, last.Seq, last.Hash)
	}
}

func TestMemory(t *testing.T) {
	addr := nodeAddr(t)
	ns := "clitest"
	dir := t.TempDir()
	valueFile := filepath.Join(dir, "value.json")
	if err := os.WriteFile(valueFile, []byte(`{"limits": [1, 2]}`), 0o644); err != nil {
		t.Fatal(err)
	}

	if out := ok(t, addr, "memory", "store", ns, "owner", "ada lovelace"); out != "Stored clitest/owner\n" {
		t.Fatalf("store: %q", out)
	}
	ok(t, addr, "memory", "store", ns, "count", "42")
	ok(t, addr, "memory", "store", ns, "config", "@"+valueFile)
	var e api.MemoryEntry
	decode(t, ok(t, addr, "memory", "store", ns, "temp", "x", "--ttl", "10m", "-json"), &e)
	if e.ExpiresAt == nil || e.Key != "temp" {
		t.Fatalf("store --ttl: %+v", e)
	}

	// get: a string prints as it is, JSON indented; -json the entry.
	if out := ok(t, addr, "memory", "get", ns, "owner"); out != "ada lovelace\n" {
		t.Fatalf("get string: %q", out)
	}
	if out := ok(t, addr, "memory", "get", ns, "config"); out != "{\n  \"limits\": [\n    1,\n    2\n  ]\n}\n" {
		t.Fatalf("get JSON: %q", out)
	}
	decode(t, ok(t, addr, "memory", "get", ns, "count", "-json"), &e)
	if string(e.Value) != "42" {
		t.Fatalf("number stored as %s", e.Value)
	}

	// query by prefix and by pattern.
	var ml api.MemoryList
	decode(t, ok(t, addr, "memory", "query", ns, "--prefix", "co", "-json"), &ml)
	if keys := memKeys(ml); !slices.Equal(keys, []string{"config", "count"}) {
		t.Fatalf("query --prefix co: %v", keys)
	}
	decode(t, ok(t, addr, "memory", "query", ns, "--pattern", "*er", "-json"), &ml)
	if keys := memKeys(ml); !slices.Equal(keys, []string{"owner"}) {
		t.Fatalf("query --pattern *er: %v", keys)
	}
	out := ok(t, addr, "memory", "query", ns)
	if !strings.HasPrefix(out, "NAMESPACE") || !strings.Contains(out, "ada lovelace") {
		t.Fatalf("query table:\n%s", out)
	}

	// export, delete, import restores.
	exportFile := filepath.Join(dir, "memory.json")
	r := hive(t, addr, "memory", "export", ns, "-o", exportFile)
	if r.err != nil || !strings.Contains(r.stderr, "Exported 4 entries") {
		t.Fatalf("export: %+v", r)
	}
	if out := ok(t, addr, "memory", "delete", ns, "owner"); out != "Deleted clitest/owner\n" {
		t.Fatalf("delete: %q", out)
	}
	fails(t, addr, "not_found", "memory", "get", ns, "owner")
	if out := ok(t, addr, "memory", "import", exportFile); out != "Imported 4 entries\n" {
		t.Fatalf("import: %q", out)
	}
	if out := ok(t, addr, "memory", "get", ns, "owner"); out != "ada lovelace\n" {
		t.Fatalf("get after import: %q", out)
	}

	// import from stdin, as a bare array.
	r = hiveStdin(t, addr, `[{"namespace":"clitest2","key":"k","value":true}]`, "memory", "import", "-")
	if r.err != nil || r.stdout != "Imported 1 entries\n" {
		t.Fatalf("import -: %+v", r)
	}
	if out := ok(t, addr, "memory", "get", "clitest2", "k"); out != "true\n" {
		t.Fatalf("get imported: %q", out)
	}
	fails(t, addr, "invalid_argument", "memory", "import", filepath.Join(dir, "missing.json"))
}

func memKeys(ml api.MemoryList) []string {
	var keys []string
	for _, e := range ml.Entries {
		keys = append(keys, e.Key)
	}
	slices.Sort(keys)
	return keys
}

func TestMembersAndStatus(t *testing.T) {
	addr := nodeAddr(t)
	out := ok(t, addr, "members")
	if !strings.HasPrefix(out, "NAME") || !strings.Contains(out, "cli-test") || !strings.Contains(out, "*") {
		t.Fatalf("members:\n%s", out)
	}
	var ml api.MemberList
	decode(t, ok(t, addr, "members", "-json"), &ml)
	if len(ml.Members) != 1 || !ml.Members[0].Leader || ml.Members[0].Status != "alive" {
		t.Fatalf("members: %+v", ml.Members)
	}
	out = ok(t, addr, "status")
	if !strings.Contains(out, "Leader:") || !strings.Contains(out, "cli-test") {
		t.Fatalf("status:\n%s", out)
	}
	var st api.Status
	decode(t, ok(t, addr, "--stale", "status", "-json"), &st)
	if st.Node != "cli-test" || st.Leader != "cli-test" {
		t.Fatalf("status: %+v", st)
	}
}

// TestJSONOutputParses runs every read command with -json.
func TestJSONOutputParses(t *testing.T) {
	addr := nodeAddr(t)
	wo := createWO(t, addr, "--title", "json")
	ok(t, addr, "memory", "store", "jsontest", "k", "v")
	for _, args := range [][]string{
		{"wo", "list"}, {"wo", "list", "--state", "nosuchstate-or-empty"}, {"wo", "show", wo.ID}, {"wo", "queue"},
		{"receipt", "list", "--limit", "2"}, {"receipt", "show", "1"}, {"receipt", "verify"},
		{"receipt", "search", "--workorder", wo.ID}, {"memory", "get", "jsontest", "k"},
		{"memory", "query", "jsontest"}, {"memory", "export"}, {"members"}, {"status"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := hive(t, addr, append(args, "-json")...)
			if r.err != nil {
				if api.ErrorCode(r.err) == api.CodeInvalidArgument {
					return // an unknown state may be refused; the error is what matters then
				}
				t.Fatal(r.err)
			}
			if !json.Valid([]byte(r.stdout)) || !strings.HasPrefix(r.stdout, "{") {
				t.Fatalf("not a JSON object: %q", r.stdout)
			}
		})
	}
}

// TestBadInput checks that bad input fails before or at the node with the
// stable code on stderr, and never changes state.
func TestBadInput(t *testing.T) {
	addr := nodeAddr(t)
	before := workOrderCount(t, addr)
	for _, tc := range []struct {
		code string
		args []string
	}{
		{"invalid_argument", []string{"wo", "create"}},
		{"invalid_argument", []string{"wo", "create", "--title", "x", "--score", "11"}},
		{"invalid_argument", []string{"wo", "create", "--title", "x", "--priority", "high", "--score", "3"}},
		{"invalid_argument", []string{"wo", "create", "--title", "x", "--payload", "{not json"}},
		{"invalid_argument", []string{"wo", "create", "--title", "x", "--deadline", "tomorrow"}},
		{"invalid_argument", []string{"wo", "create", "--title", "x", "--priority", "urgent"}},
		{"not_found", []string{"wo", "create", "--title", "x", "--depends-on", "WO-999999"}},
		{"usage", []string{"wo", "create", "--title", "x", "stray"}},
		{"usage", []string{"wo", "create", "--no-such-flag"}},
		{"usage", []string{"wo", "show"}},
		{"usage", []string{"wo", "frobnicate"}},
		{"usage", []string{"frobnicate"}},
		{"invalid_argument", []string{"wo", "list", "--limit", "-1"}},
		{"invalid_argument", []string{"wo", "advance", "WO-1", "--attempt", "0"}},
		{"invalid_argument", []string{"wo", "complete", "WO-1", "--output", "novalue"}},
		{"invalid_argument", []string{"receipt", "show", "zero"}},
		{"invalid_argument", []string{"receipt", "verify", "--from", "9", "--to", "3"}},
		{"invalid_argument", []string{"receipt", "list", "--since", "yesterday"}},
		{"usage", []string{"memory", "store", "ns", "key"}},
		{"invalid_argument", []string{"memory", "store", "ns", "key", "v", "--ttl", "-1s"}},
		{"invalid_argument", []string{"--log-level", "loud", "status"}},
		{"invalid_argument", []string{"--address", "ftp://x", "status"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			fails(t, addr, tc.code, tc.args...)
		})
	}
	if after := workOrderCount(t, addr); after != before {
		t.Fatalf("bad input changed the state: %d work orders before, %d after", before, after)
	}
}

func workOrderCount(t *testing.T, addr string) int {
	t.Helper()
	var st api.Status
	decode(t, ok(t, addr, "status", "-json"), &st)
	return st.WorkOrders
}

func TestUnreachableNode(t *testing.T) {
	stderr := fails(t, "http://127.0.0.1:1", "unreachable", "status")
	if !strings.Contains(stderr, "127.0.0.1:1") {
		t.Fatalf("stderr does not name the address: %q", stderr)
	}
}

func TestAddressFromEnvironment(t *testing.T) {
	addr := nodeAddr(t)
	t.Setenv("HIVE_ADDR", addr)
	if out := ok(t, "", "status"); !strings.Contains(out, "cli-test") {
		t.Fatalf("status through HIVE_ADDR: %q", out)
	}
	t.Setenv("HIVE_JSON", "true")
	var st api.Status
	decode(t, ok(t, "", "status"), &st)
}
