package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hive-swarm/hive/api"
)

// testAgentDir builds hive-agent-test beside the hive binary (TestMain's
// directory, removed when the tests end) and returns that directory.
var testAgentDir = sync.OnceValues(func() (string, error) {
	dir := filepath.Dir(hiveBin)
	out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "hive-agent-test"),
		"github.com/hive-swarm/hive/agents/test").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building hive-agent-test: %v\n%s", err, out)
	}
	return dir, nil
})

// dagNode is one work order of the test DAG: its payload and the
// indexes of the earlier work orders it depends on.
type dagNode struct {
	payload string
	deps    []int
}

// testDAG is 1 root, a fan-out of 30, a fan-in to 10 (3 each), a
// fan-out of 50 (2 each), a fan-in of all 50 into a sink, and 10 after
// the sink: 102 work orders.
func testDAG() []dagNode {
	payloads := []string{`{"mode":"noop"}`, `{"mode":"sleep","duration":"5ms"}`, `{"mode":"echo","message":"hi"}`}
	var g []dagNode
	add := func(deps ...int) int {
		g = append(g, dagNode{payload: payloads[len(g)%len(payloads)], deps: deps})
		return len(g) - 1
	}
	root := add()
	var l1, l2, l3 []int
	for range 30 {
		l1 = append(l1, add(root))
	}
	for i := range 10 {
		l2 = append(l2, add(l1[3*i], l1[3*i+1], l1[3*i+2]))
	}
	for i := range 50 {
		l3 = append(l3, add(l2[i%10], l2[(i+3)%10]))
	}
	sink := add(l3...)
	for range 10 {
		add(sink)
	}
	return g
}

// TestDispatchRunsDAGOnThreeProcesses runs three `hive agent` processes
// with the built-in test agent and a DAG of 102 work orders of type
// "test" (fan-out and fan-in) created through the CLI and the API on
// different nodes. The leader assigns them, the nodes run them on their
// agents and report the outcomes; the test checks from the receipt
// chain that each work order was assigned only after all its
// dependencies completed and completed exactly once, and that the chain
// is identical on every node.
func TestDispatchRunsDAGOnThreeProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test; run without -short")
	}
	agents := newAgents(t, 3)
	startWithTestAgent(t, agents, 8)

	g := testDAG()
	ids := make([]string, len(g))
	// The root through the CLI, the rest through the API of every node in
	// turn, layer by layer as dependencies get IDs.
	var root api.WorkOrder
	mustJSON(t, agents[1].cli("wo", "create", "--title", "dag 0", "--type", "test", "--payload", g[0].payload, "-json"), &root)
	ids[0] = root.ID
	clients := make([]*api.Client, len(agents))
	for i, a := range agents {
		clients[i] = a.client()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(g))
	for i := 1; i < len(g); {
		// Create every node whose dependencies all have IDs, concurrently.
		j := i
		for j < len(g) && ready(g[j].deps, ids) {
			j++
		}
		for k := i; k < j; k++ {
			wg.Add(1)
			go func(k int) {
				defer wg.Done()
				deps := make([]string, len(g[k].deps))
				for d, x := range g[k].deps {
					deps[d] = ids[x]
				}
				wo, err := clients[k%len(clients)].WorkOrders().Create(ctx, &api.CreateWorkOrderRequest{
					Title: fmt.Sprintf("dag %d", k), Type: "test", Payload: json.RawMessage(g[k].payload), DependsOn: deps,
				})
				if err != nil {
					errs <- fmt.Errorf("create dag %d: %w", k, err)
					return
				}
				ids[k] = wo.ID
			}(k)
		}
		wg.Wait()
		select {
		case err := <-errs:
			t.Fatal(err)
		default:
		}
		i = j
	}
	byID := make(map[string]int, len(ids))
	for i, id := range ids {
		byID[id] = i
	}

	start := time.Now()
	waitAllCompleted(t, 45*time.Second, agents[0].addr(), ids, true)
	t.Logf("%d work orders completed %s after the last was created", len(g), time.Since(start).Round(time.Millisecond))

	// Every node holds the same chain: wait until all have applied as
	// many receipts as the leader, then compare the exports.
	export := sameVerifiedChain(t, agents, 30*time.Second)

	// From the receipts: each work order assigned after all its
	// dependencies completed, and completed exactly once, with no failure
	// (checkDAGReceipts); besides, assigned once, and completed on its
	// first attempt with evidence.
	checkDAGReceipts(t, g, ids, byID, export, nil)
	receipts := parseReceipts(t, export)
	assigned := map[string]int{}
	ranOn := map[string]int{}
	for _, r := range receipts {
		if _, ok := byID[r.WorkOrder]; !ok {
			continue
		}
		switch r.Event {
		case "assigned", "started":
			assigned[r.WorkOrder]++
			ranOn[r.Node]++
		case "completed":
			if r.EvidenceDigest == "" || r.Attempt != 1 {
				t.Errorf("completion of %s: attempt %d, evidence %q", r.WorkOrder, r.Attempt, r.EvidenceDigest)
			}
		}
	}
	for _, id := range ids {
		if assigned[id] != 1 {
			t.Errorf("%s: %d assignments; want 1", id, assigned[id])
		}
	}
	t.Logf("%d receipts identical on all nodes; assignments by node: %v", len(receipts), ranOn)
}

func ready(deps []int, ids []string) bool {
	for _, d := range deps {
		if ids[d] == "" {
			return false
		}
	}
	return true
}
