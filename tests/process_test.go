package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hive-swarm/hive/api"
)

// TestThreeProcessClusterSurvivesLeaderKill runs three `hive agent`
// processes joined with --join and --bootstrap-expect 3, writes through
// one node's CLI, reads through another's, kills the leader with SIGKILL
// while writes continue, and checks that nothing acknowledged was lost,
// that the killed node catches up after a restart, and that every node
// holds the same verified receipt chain.
func TestThreeProcessClusterSurvivesLeaderKill(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test; run without -short")
	}
	agents := newAgents(t, 3)
	for _, a := range agents {
		a.start()
	}
	var leader int
	waitFor(t, 60*time.Second, "a leader all nodes agree on", func() (err error) {
		leader, err = leaderOf(agents)
		return err
	})
	follower := agents[(leader+1)%3]
	other := agents[(leader+2)%3]

	// Members: all three alive, three voters.
	waitFor(t, 30*time.Second, "three alive voters", func() error {
		var ml api.MemberList
		if err := getJSON(other.addr()+"/v1/members", &ml); err != nil {
			return err
		}
		voters := 0
		for _, m := range ml.Members {
			if m.Status == "alive" && (m.RaftRole == "voter" || m.RaftRole == "leader") {
				voters++
			}
		}
		if voters != 3 {
			return fmt.Errorf("%d alive voters in %+v", voters, ml.Members)
		}
		return nil
	})

	// Written through a follower's CLI, read through another node's CLI.
	var created api.WorkOrder
	mustJSON(t, follower.cli("wo", "create", "--title", "first order", "--label", "bug", "-json"), &created)
	if created.ID == "" || created.State != "queued" {
		t.Fatalf("created work order: %+v", created)
	}
	var dependent api.WorkOrder
	mustJSON(t, follower.cli("wo", "create", "--title", "second order", "--depends-on", created.ID, "-json"), &dependent)
	if dependent.State != "blocked" {
		t.Fatalf("work order with an unfinished dependency is %q, want blocked", dependent.State)
	}
	var shown api.WorkOrder
	mustJSON(t, other.cli("wo", "show", created.ID, "-json"), &shown)
	if shown.Title != "first order" || shown.Bucket != "reliability" {
		t.Fatalf("read through another node: %+v", shown)
	}
	// A cycle is refused through the CLI with a non-zero exit naming it.
	if _, stderr, err := other.tryCLI("wo", "dep", "add", created.ID, dependent.ID); err == nil || !strings.Contains(stderr, "cycle") {
		t.Fatalf("dep add closing a cycle: err=%v stderr=%q", err, stderr)
	}

	// Writes continue through both followers while the leader is killed.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu    sync.Mutex
		acked = map[string]string{} // title -> id
		wg    sync.WaitGroup
	)
	for w, a := range []*agent{follower, other} {
		wg.Add(1)
		go func(w int, addr string) {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				title := fmt.Sprintf("load-%d-%d", w, i)
				opCtx, opCancel := context.WithTimeout(ctx, 30*time.Second)
				id, err := createWO(opCtx, addr, title, title)
				opCancel()
				if err != nil {
					return // only unacknowledged writes end here
				}
				mu.Lock()
				acked[title] = id
				mu.Unlock()
			}
		}(w, a.addr())
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	waitFor(t, 60*time.Second, "writes before the kill", func() error {
		if n := count(); n < 50 {
			return fmt.Errorf("%d acknowledged", n)
		}
		return nil
	})
	killed := agents[leader]
	killed.kill()
	before := count()
	waitFor(t, 60*time.Second, "a new leader among the survivors", func() error {
		l, err := leaderOf(agents)
		if err == nil && l == leader {
			return fmt.Errorf("old leader still reported")
		}
		return err
	})
	waitFor(t, 60*time.Second, "writes after the kill", func() error {
		if n := count(); n < before+50 {
			return fmt.Errorf("%d acknowledged, %d before the kill", n, before)
		}
		return nil
	})
	cancel()
	wg.Wait()
	t.Logf("killed leader %s; %d writes acknowledged before the kill, %d in all", killed.name, before, count())

	// Nothing acknowledged is lost, nothing is duplicated: a linearizable
	// list through a survivor holds every acknowledged title exactly once.
	titles := listAll(t, follower, "")
	mu.Lock()
	for title, id := range acked {
		if got := titles[title]; len(got) != 1 || got[0] != id {
			t.Errorf("acknowledged %s (%s) found as %v", title, id, got)
		}
	}
	mu.Unlock()

	// The killed node restarts with its data and catches up.
	killed.start()
	want := follower.appliedIndex(t)
	waitFor(t, 60*time.Second, "the restarted node to catch up", func() error {
		st, err := killed.status()
		if err != nil {
			return err
		}
		if st.AppliedIndex < want {
			return fmt.Errorf("applied %d, want ≥ %d", st.AppliedIndex, want)
		}
		return nil
	})

	// Every node verifies its own chain, and the chains are identical.
	var exports []string
	for _, a := range agents {
		out := a.cli("--stale", "receipt", "verify", "--to", fmt.Sprint(countReceipts(t, follower)))
		if !strings.Contains(strings.ToLower(out), "ok") {
			t.Errorf("receipt verify on %s: %s", a.name, out)
		}
		exp := a.cli("--stale", "receipt", "export", "--to", fmt.Sprint(countReceipts(t, follower)))
		exports = append(exports, exp)
	}
	for i := 1; i < len(exports); i++ {
		if exports[i] != exports[0] {
			t.Errorf("receipt chain of %s differs from %s's", agents[i].name, agents[0].name)
		}
	}
	// A third party verifies the export without Hive.
	exportFile := filepath.Join(t.TempDir(), "chain.jsonl")
	if err := os.WriteFile(exportFile, []byte(exports[0]), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("python3", "../scripts/verify_receipts.py", exportFile).CombinedOutput(); err != nil {
		t.Errorf("scripts/verify_receipts.py on the export: %v\n%s", err, out)
	}
	t.Logf("%d receipts, identical and verified on all three nodes", strings.Count(exports[0], "\n"))
	if n := strings.Count(exports[0], "\n"); n < 100 {
		t.Errorf("exported chain has %d receipts, want ≥ 100", n)
	}
}

func mustJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decoding %q: %v", s, err)
	}
}

func (a *agent) appliedIndex(t *testing.T) uint64 {
	t.Helper()
	st, err := a.status()
	if err != nil {
		t.Fatal(err)
	}
	return st.AppliedIndex
}

// countReceipts reads the chain length from a linearizable status.
func countReceipts(t *testing.T, a *agent) uint64 {
	t.Helper()
	var st api.Status
	if err := getJSON(a.addr()+"/v1/status", &st); err != nil {
		t.Fatal(err)
	}
	return st.Receipts
}

// listAll pages through GET /v1/workorders and maps titles to IDs.
func listAll(t *testing.T, a *agent, query string) map[string][]string {
	t.Helper()
	titles := map[string][]string{}
	after := ""
	for {
		var page api.WorkOrderList
		url := a.addr() + "/v1/workorders?limit=1000" + query
		if after != "" {
			url += "&after=" + after
		}
		if err := getJSON(url, &page); err != nil {
			t.Fatal(err)
		}
		for _, wo := range page.WorkOrders {
			titles[wo.Title] = append(titles[wo.Title], wo.ID)
		}
		if page.Next == "" {
			return titles
		}
		after = page.Next
	}
}
