package fsm

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// goldenReceipts are fixed receipts whose hashes are frozen below. If this
// test fails, the hashed layout changed: that breaks every stored chain and
// every third-party verifier. Do not update the vectors; add a new domain.
func goldenReceipts() []*Receipt {
	r1 := &Receipt{Seq: 1, Index: 7, Time: 1_700_000_000_123_456_789, WorkOrder: "WO-1", Event: "created",
		From: "", To: StateQueued, Attempt: 0, Node: "node-a"}
	r2 := &Receipt{Seq: 2, Index: 9, Time: 1_700_000_001_000_000_000, WorkOrder: "WO-1", Event: "started",
		From: StateQueued, To: StateInProgress, Attempt: 1, Node: "node-b", Agent: "shell"}
	r3 := &Receipt{Seq: 3, Index: 12, Time: -5, WorkOrder: "WO-1", Event: "completed",
		From: StateInProgress, To: StateCompleted, Attempt: 1, Node: "nöde-ü", Agent: "shell",
		EvidenceDigest: EvidenceDigest(&Evidence{ExitCode: -1, Outputs: map[string]string{"z": "last", "a": "first"}, Artifact: "sku-9", Log: "done\n"})}
	chain := []*Receipt{r1, r2, r3}
	var prev [32]byte
	for _, r := range chain {
		r.PrevHash = prev
		r.Hash = r.ComputeHash()
		prev = r.Hash
	}
	return chain
}

var goldenHashes = []string{
	"3734a975063c6b29bc3387d9e9a5a66b92e3af277d4e21835e6f12c269e6971c",
	"73c6cbf2fb8abf8f34d0fc39e0364345a6a6c864982251451ae068e9d121840b",
	"212252bece0beb1a0787154727692ca2d2e23b73027b96e8394b7d076c13dd3d",
}

const goldenEvidence = "05886586dcc910eb66a1b7f1ab4f68e47856883bbf069165010dbc0319a79d9d"

func TestReceiptGoldenVectors(t *testing.T) {
	for i, r := range goldenReceipts() {
		if got := hex.EncodeToString(r.Hash[:]); got != goldenHashes[i] {
			t.Errorf("receipt %d hash = %s, want %s", r.Seq, got, goldenHashes[i])
		}
	}
	d := EvidenceDigest(&Evidence{ExitCode: -1, Outputs: map[string]string{"z": "last", "a": "first"}, Artifact: "sku-9", Log: "done\n"})
	if got := hex.EncodeToString(d[:]); got != goldenEvidence {
		t.Errorf("evidence digest = %s, want %s", got, goldenEvidence)
	}
	if EvidenceDigest(nil) != [32]byte{} {
		t.Error("nil evidence must digest to zero")
	}
	c := goldenReceipts()[0].Canonical()
	if !strings.HasPrefix(string(c), ReceiptDomain) || len(c) != 15+8+8+8+32+(4+4)+(4+7)+4+(4+6)+8+(4+6)+4+32 {
		t.Errorf("canonical layout length %d", len(c))
	}
}

func TestVerifyChainTampering(t *testing.T) {
	fresh := goldenReceipts
	if n, err := VerifyChain(fresh(), [32]byte{}); err != nil || n != 3 {
		t.Fatalf("clean chain: %d %v", n, err)
	}
	tests := []struct {
		name   string
		mutate func([]*Receipt) []*Receipt
		broken uint64
	}{
		{"field", func(rs []*Receipt) []*Receipt { rs[1].Agent = "evil"; return rs }, 2},
		{"attempt", func(rs []*Receipt) []*Receipt { rs[2].Attempt = 2; return rs }, 3},
		{"drop", func(rs []*Receipt) []*Receipt { return []*Receipt{rs[0], rs[2]} }, 2},
		{"reorder", func(rs []*Receipt) []*Receipt { return []*Receipt{rs[0], rs[2], rs[1]} }, 2},
		{"rehashed forgery", func(rs []*Receipt) []*Receipt {
			rs[1].Node = "evil"
			rs[1].Hash = rs[1].ComputeHash()
			return rs
		}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := VerifyChain(tc.mutate(fresh()), [32]byte{})
			var ce *ChainError
			if !errors.As(err, &ce) || !errors.Is(err, ErrChainBroken) || ce.Seq != tc.broken {
				t.Fatalf("got %v, want broken at %d", err, tc.broken)
			}
		})
	}
}

// chainHarness builds a small real chain through Apply.
func chainHarness(t testing.TB) *harness {
	h := newHarness(t)
	a := h.create("a").ID
	b := h.create("b", a).ID
	h.must(a, ActionStart)
	h.apply(&Transition{ID: a, Action: ActionComplete, Evidence: &Evidence{Outputs: map[string]string{"k": "v"}, Log: "ü"}})
	h.must(b, ActionStart)
	h.must(b, ActionFail)
	return h
}

func TestViewVerifyAndQuery(t *testing.T) {
	h := chainHarness(t)
	v := h.f.View()
	n := v.ReceiptCount()
	if n != 7 {
		t.Fatalf("receipts %d", n)
	}
	if res := v.Verify(0, 0); !res.OK || res.Checked != n || res.Head != v.ChainHead() || res.From != 1 || res.To != n {
		t.Fatalf("verify: %+v", res)
	}
	if res := v.Verify(3, 5); !res.OK || res.Checked != 3 {
		t.Fatalf("verify range: %+v", res)
	}
	if got := v.Receipts(ReceiptQuery{WorkOrder: "WO-2"}); len(got) != 4 || got[0].Event != EventCreated || got[3].Event != EventFailed {
		t.Fatalf("by work order: %v", events(got))
	}
	r5, _ := v.Receipt(5)
	hx := hex.EncodeToString(r5.Hash[:])
	for _, p := range []string{hx, hx[:8], strings.ToUpper(hx[:11])} {
		if got := v.Receipts(ReceiptQuery{Hash: p}); len(got) != 1 || got[0].Seq != 5 {
			t.Fatalf("by hash %q: %v", p, got)
		}
	}
	if got := v.Receipts(ReceiptQuery{Hash: hx[:7]}); got != nil {
		t.Fatal("short hash prefix accepted")
	}
	r6, _ := v.Receipt(6)
	if got := v.Receipts(ReceiptQuery{Since: r6.Time}); len(got) != 2 || got[0].Seq != 6 {
		t.Fatalf("since: %v", got)
	}
	if got := v.Receipts(ReceiptQuery{Until: r5.Time, FromSeq: 2, Limit: 2}); len(got) != 2 || got[0].Seq != 2 {
		t.Fatalf("until: %v", got)
	}
	if _, err := v.Receipt(99); !errors.Is(err, ErrNotFound) {
		t.Fatal("missing receipt")
	}
	// Tamper with a stored receipt (only possible from inside the package).
	r3, _ := v.Receipt(3)
	r3.Event = "forged"
	if res := v.Verify(0, 0); res.OK || res.BrokenAt != 3 || res.Checked != 2 {
		t.Fatalf("tampered verify: %+v", res)
	}
	if res := v.Verify(4, 0); !res.OK {
		t.Fatalf("range after the tampered receipt links to its stored hash: %+v", res)
	}
}

// exportJSONL writes receipts with api.Receipt's JSON field names.
func exportJSONL(t *testing.T, rs []*Receipt, path string) {
	var b strings.Builder
	for _, r := range rs {
		line, err := json.Marshal(map[string]any{
			"seq": r.Seq, "index": r.Index, "time": "", "time_unix_nano": r.Time,
			"prev_hash": hex.EncodeToString(r.PrevHash[:]), "hash": hex.EncodeToString(r.Hash[:]),
			"workorder": r.WorkOrder, "event": r.Event, "from": string(r.From), "to": string(r.To),
			"attempt": r.Attempt, "node": r.Node, "agent": r.Agent,
			"evidence_digest": hex.EncodeToString(r.EvidenceDigest[:]),
		})
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyReceiptsScript(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	script, _ := filepath.Abs("../scripts/verify_receipts.py")
	h := chainHarness(t)
	// Receipts of the scheduling commands, one of them of no work order.
	h.apply(&SetSchedulerConfig{Header: Header{Node: "leader"}, Config: sampleSchedulerConfig()})
	pr := h.apply(&RunPipeline{Pipeline: "hotfix", Title: "fix"})
	h.apply(&Assign{ID: pr.IDs[0], Node: "worker", AgentType: "coder"})
	rs := h.f.View().Receipts(ReceiptQuery{})
	if rs[7].Event != EventSchedulerConfigured || rs[7].WorkOrder != "" || rs[len(rs)-1].Event != EventAssigned {
		t.Fatalf("receipts %v", events(rs))
	}
	rs = append(goldenReceipts()[:0:0], rs...)
	run := func(name string, rs []*Receipt) error {
		path := filepath.Join(t.TempDir(), name+".jsonl")
		exportJSONL(t, rs, path)
		out, err := exec.Command(py, script, path).CombinedOutput()
		t.Logf("%s: %s", name, out)
		return err
	}
	if err := run("clean", rs); err != nil {
		t.Fatalf("clean export failed: %v", err)
	}
	golden := goldenReceipts()
	if err := run("golden", golden); err != nil {
		t.Fatalf("golden vectors failed: %v", err)
	}
	tampered := make([]*Receipt, len(rs))
	for i, r := range rs {
		cp := *r
		tampered[i] = &cp
	}
	tampered[3].Node = "mallory"
	if err := run("tampered", tampered); err == nil {
		t.Fatal("tampered export verified")
	}
	if err := run("dropped", append(rs[:2:2], rs[3:]...)); err == nil {
		t.Fatal("export with a dropped receipt verified")
	}
}
