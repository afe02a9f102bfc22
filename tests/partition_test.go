package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hive-swarm/hive/api"
)

// pause stops the agent process (SIGSTOP) without touching its plugin
// processes: to the others it is a partitioned node whose runs go on.
func (a *agent) pause() { _ = a.cmd.Process.Signal(syscall.SIGSTOP) }

// resume continues a paused agent (SIGCONT).
func (a *agent) resume() { _ = a.cmd.Process.Signal(syscall.SIGCONT) }

// TestPausedNodeComesBackStale pauses (SIGSTOP) a follower while it runs
// work: to the others it looks cut off, while its plugin keeps running
// and finishes meanwhile. See isolateRunningNode for what is checked.
func TestPausedNodeComesBackStale(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test; run without -short")
	}
	agents := newAgents(t, 3)
	t.Cleanup(func() {
		for _, a := range agents {
			if a.cmd != nil {
				a.resume() // so that the kill of the cleanup is not held up
			}
		}
	})
	isolateRunningNode(t, agents, false, false, (*agent).pause, (*agent).resume)
}

// TestPartitionedNodeComesBackStale runs each node in its own network
// namespace and unplugs a node that runs work from the switch: a real
// network partition, in which its process and its plugin go on. Once
// its work has moved and completed elsewhere, the cable goes back in.
// Run once with a follower and once with the leader as the victim: a cut
// off leader loses its lease and the majority elects a new one.
func TestPartitionedNodeComesBackStale(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test; run without -short")
	}
	for _, victim := range []string{"follower", "leader"} {
		t.Run(victim, func(t *testing.T) {
			lab := newNetLab(t, 3)
			agents := newAgentsOn(t, lab.hosts(), lab.wraps())
			index := func(a *agent) int {
				for i, b := range agents {
					if a == b {
						return i + 1
					}
				}
				t.Fatalf("%s is not in the lab", a.name)
				return 0
			}
			isolateRunningNode(t, agents, victim == "leader", true,
				func(a *agent) { lab.cut(index(a)) },
				func(a *agent) { lab.mend(index(a)) })
		})
	}
}

// isolateRunningNode starts the agents with the test agent, gives them 9
// sleeping work orders and isolates a node that runs some (the leader if
// leader is set, else a follower). The survivors requeue its work and
// complete it. When the node comes back, each of its old attempts either
// is cancelled by its executor (it sees the work moved) or reports its
// outcome, which the FSM refuses as stale and the leader receipts as
// stale_rejected: as many such receipts as the node logged refusals.
// Every work order completes exactly once, and the chain is the same on
// every node. With allStale, every old attempt must come back stale: its
// run finished while the node was cut off, so the node cannot have
// learnt of the move before sending its result.
func isolateRunningNode(t *testing.T, agents []*agent, leader, allStale bool, isolate, restore func(*agent)) {
	t.Helper()
	lead := startWithTestAgent(t, agents, 4, fastFailover...)
	client := agents[lead].client()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var ids []string
	for i := range 9 {
		wo, err := client.WorkOrders().Create(ctx, &api.CreateWorkOrderRequest{
			Title: fmt.Sprintf("isolated %d", i), Type: "test", Payload: json.RawMessage(`{"mode":"sleep","duration":"2s"}`),
		})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, wo.ID)
	}
	var victim *agent
	var held []string
	locals := make([]*api.Client, len(agents))
	for i, a := range agents {
		locals[i] = a.client()
	}
	waitFor(t, 30*time.Second, "the victim running work", func() error {
		for i, a := range agents {
			if (i == lead) != leader {
				continue
			}
			// The node's own state: work it has applied the assignment of,
			// so its executor runs it whatever happens to the network.
			page, err := locals[i].WorkOrders().List(ctx, &api.ListOptions{State: "in_progress", Limit: 1000}, &api.QueryOptions{Stale: true})
			if err != nil {
				return err
			}
			held = held[:0]
			for _, wo := range page.WorkOrders {
				if wo.Node == a.name {
					held = append(held, wo.ID)
				}
			}
			if len(held) > 0 {
				victim = a
				return nil
			}
		}
		return fmt.Errorf("no candidate victim runs work yet")
	})
	var survivors []*agent
	for _, a := range agents {
		if a != victim {
			survivors = append(survivors, a)
		}
	}
	// From here on, talk to a survivor: the victim may be the leader.
	client = survivors[0].client()
	isolate(victim)
	t.Logf("isolated %s running %v", victim.name, held)
	waitFor(t, 60*time.Second, "the isolated node's work requeued and completed elsewhere", func() error {
		for _, id := range held {
			wo, err := client.WorkOrders().Get(ctx, id, nil)
			if err != nil {
				return err
			}
			if wo.State != "completed" || wo.Attempt < 2 {
				return fmt.Errorf("%s is %s at attempt %d", id, wo.State, wo.Attempt)
			}
			if wo.Node == victim.name {
				return fmt.Errorf("%s completed on the isolated node %s", id, victim.name)
			}
		}
		return nil
	})
	if leader {
		if _, err := leaderOf(survivors); err != nil {
			t.Fatalf("the survivors agree on no new leader: %v", err)
		}
	}
	restore(victim)

	waitAllCompleted(t, 60*time.Second, survivors[0].addr(), ids, false)
	// Every refusal the node logged ends up receipted.
	var stale []api.Receipt
	waitFor(t, 60*time.Second, "a stale_rejected receipt per refused report", func() error {
		refused := 0
		if b, err := os.ReadFile(victim.logPath); err == nil {
			refused = strings.Count(string(b), "outcome refused as stale")
		}
		stale = stale[:0]
		// Every work order: the node may have started one more just
		// before it was cut off.
		for _, id := range ids {
			l, err := client.Receipts().List(ctx, &api.ReceiptQuery{WorkOrder: id}, nil)
			if err != nil {
				return err
			}
			for _, r := range l.Receipts {
				if r.Event == "stale_rejected" {
					stale = append(stale, *r)
				}
			}
		}
		if len(stale) != refused {
			return fmt.Errorf("%d stale_rejected receipts, %d refusals logged by %s", len(stale), refused, victim.name)
		}
		if allStale {
			for _, id := range held {
				if !slices.ContainsFunc(stale, func(r api.Receipt) bool { return r.WorkOrder == id }) {
					return fmt.Errorf("%s: the old attempt's result was not receipted as stale_rejected", id)
				}
			}
		}
		return nil
	})
	for _, r := range stale {
		if r.Node != victim.name || r.Attempt != 1 {
			t.Errorf("stale receipt %+v: want node %s, attempt 1", r, victim.name)
		}
	}
	t.Logf("%d old attempts came back stale and were receipted (%d held when cut off)", len(stale), len(held))

	export := sameVerifiedChain(t, agents, 60*time.Second)
	completions := map[string]int{}
	for _, r := range parseReceipts(t, export) {
		if r.Event == "completed" {
			completions[r.WorkOrder]++
		}
	}
	for _, id := range ids {
		if completions[id] != 1 {
			t.Errorf("%s: %d completions, want 1", id, completions[id])
		}
	}
}
