package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hive-swarm/hive/api"
)

// fastFailover are the `hive agent` flags of the failover tests: gossip
// declares a killed node dead in about a second, and its work is
// requeued 2 s later.
var fastFailover = []string{
	"--gossip-probe-interval", "200ms", "--gossip-probe-timeout", "150ms", "--gossip-suspicion-mult", "3",
	"--requeue-grace", "2s",
}

// redistDAG is 1 root, 24 work orders of 2 s each on it, 6 fan-ins of 4
// of those, a sink on the 6 and 3 after the sink: 35 work orders.
func redistDAG() []dagNode {
	var g []dagNode
	add := func(payload string, deps ...int) int {
		g = append(g, dagNode{payload: payload, deps: deps})
		return len(g) - 1
	}
	root := add(`{"mode":"noop"}`)
	var mid, fan []int
	for range 24 {
		mid = append(mid, add(`{"mode":"sleep","duration":"2s"}`, root))
	}
	for i := range 6 {
		fan = append(fan, add(`{"mode":"echo","message":"fan-in"}`, mid[4*i:4*i+4]...))
	}
	sink := add(`{"mode":"sleep","duration":"100ms"}`, fan...)
	for range 3 {
		add(`{"mode":"noop"}`, sink)
	}
	return g
}

// TestRedistributesWorkOfKilledNode runs three `hive agent` processes
// with the test agent and a DAG of 35 work orders, half of them sleeping
// so that work is in flight, kills (SIGKILL) a follower while it runs
// some of them, and checks that the leader requeues that node's work and
// places it on the survivors: every work order completes exactly once
// (one completed receipt), after its dependencies, the killed node's
// attempts are requeued and completed by a later attempt, and the
// receipt chain is identical and verified on every node, the killed one
// included after its restart.
func TestRedistributesWorkOfKilledNode(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test; run without -short")
	}
	agents := newAgents(t, 3)
	leader := startWithTestAgent(t, agents, 4, fastFailover...)
	client := agents[leader].client()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	g := redistDAG()
	ids := make([]string, len(g))
	for i, n := range g {
		deps := make([]string, len(n.deps))
		for d, x := range n.deps {
			deps[d] = ids[x]
		}
		wo, err := client.WorkOrders().Create(ctx, &api.CreateWorkOrderRequest{
			Title: fmt.Sprintf("redist %d", i), Type: "test", Payload: json.RawMessage(n.payload), DependsOn: deps,
		})
		if err != nil {
			t.Fatalf("create redist %d: %v", i, err)
		}
		ids[i] = wo.ID
	}
	byID := make(map[string]int, len(ids))
	for i, id := range ids {
		byID[id] = i
	}

	// Kill a follower while it runs some of the sleeping work orders.
	var victim *agent
	var held []string
	waitFor(t, 30*time.Second, "a follower running work", func() error {
		page, err := client.WorkOrders().List(ctx, &api.ListOptions{State: "in_progress", Limit: 1000}, nil)
		if err != nil {
			return err
		}
		for i, a := range agents {
			if i == leader {
				continue
			}
			held = held[:0]
			for _, wo := range page.WorkOrders {
				if wo.Node == a.name {
					held = append(held, wo.ID)
				}
			}
			if len(held) >= 2 {
				victim = a
				return nil
			}
		}
		return fmt.Errorf("no follower holds 2 running work orders yet (%d in progress)", len(page.WorkOrders))
	})
	killedAt := time.Now()
	victim.kill()
	t.Logf("killed %s holding %v", victim.name, held)

	waitAllCompleted(t, 60*time.Second, agents[leader].addr(), ids, true)
	t.Logf("all %d completed %s after the kill", len(g), time.Since(killedAt).Round(time.Millisecond))
	for _, id := range held {
		wo, err := client.WorkOrders().Get(ctx, id, nil)
		if err != nil {
			t.Fatal(err)
		}
		if wo.Attempt < 2 || wo.Node == victim.name || !strings.Contains(wo.LastReason, victim.name) {
			t.Errorf("%s held by the killed node: attempt %d on %s, last reason %q; want a later attempt elsewhere, requeued naming %s",
				id, wo.Attempt, wo.Node, wo.LastReason, victim.name)
		}
	}

	// The killed node comes back with its data and catches up.
	victim.start()
	export := sameVerifiedChain(t, agents, 60*time.Second)
	checkDAGReceipts(t, g, ids, byID, export, held)
}

// checkDAGReceipts checks, from an exported chain, that every work order
// of g completed exactly once, that each attempt was assigned only after
// all its dependencies completed, and that each of requeued was requeued.
func checkDAGReceipts(t *testing.T, g []dagNode, ids []string, byID map[string]int, export string, requeued []string) {
	t.Helper()
	completedAt := map[string]uint64{}
	completions := map[string]int{}
	requeues := map[string]int{}
	for _, r := range parseReceipts(t, export) {
		i, ok := byID[r.WorkOrder]
		if !ok {
			continue
		}
		switch r.Event {
		case "assigned", "started":
			for _, d := range g[i].deps {
				if _, done := completedAt[ids[d]]; !done {
					t.Errorf("%s %s at receipt %d before its dependency %s completed", r.WorkOrder, r.Event, r.Seq, ids[d])
				}
			}
		case "completed":
			completions[r.WorkOrder]++
			completedAt[r.WorkOrder] = r.Seq
		case "requeued":
			requeues[r.WorkOrder]++
		case "failed":
			t.Errorf("%s failed", r.WorkOrder)
		}
	}
	for _, id := range ids {
		if completions[id] != 1 {
			t.Errorf("%s: %d completions; want exactly 1", id, completions[id])
		}
	}
	for _, id := range requeued {
		if requeues[id] == 0 {
			t.Errorf("%s held by the killed node was never requeued", id)
		}
	}
	t.Logf("%d work orders completed once each; requeues: %v", len(ids), requeues)
}
