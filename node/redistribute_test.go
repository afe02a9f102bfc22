package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hive-swarm/hive/fsm"
	"github.com/hive-swarm/hive/node"
	"github.com/hive-swarm/hive/node/nodetest"
)

// timedCluster starts n nodes running the test agent with the given
// requeue grace and run timeout.
func timedCluster(t *testing.T, n int, grace, runTimeout time.Duration) *nodetest.Cluster {
	t.Helper()
	dir, err := agentDir()
	if err != nil {
		t.Fatal(err)
	}
	c := nodetest.NewCluster(t, n, nodetest.WithConfig(func(_ int, cfg *node.Config) {
		cfg.PluginDir = dir
		cfg.AgentCapacity = 4
		cfg.RequeueGrace = grace
		cfg.Execution.RunTimeout = runTimeout
		cfg.Execution.ScheduleInterval = 100 * time.Millisecond
		cfg.Execution.MetaInterval = 50 * time.Millisecond
	}))
	c.WaitForLeader()
	return c
}

func localView(t *testing.T, n *node.Node) *fsm.View {
	t.Helper()
	v, err := n.View(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func eventReceipts(v *fsm.View, id, event string) []*fsm.Receipt {
	var out []*fsm.Receipt
	for _, r := range v.Receipts(fsm.ReceiptQuery{WorkOrder: id, Limit: fsm.MaxReceiptLimit}) {
		if r.Event == event {
			out = append(out, r)
		}
	}
	return out
}

// TestRequeuesWorkOfKilledNode kills a follower while it runs work: the
// leader requeues that work once gossip has declared the node dead for
// the grace, with a reason naming it, and the survivors complete it with
// the next attempt; each work order completes once.
func TestRequeuesWorkOfKilledNode(t *testing.T) {
	c := timedCluster(t, 3, 500*time.Millisecond, time.Minute)
	li := c.WaitForLeader()
	var ids []string
	for i := range 12 {
		ids = append(ids, create(t, c, fmt.Sprint("sleepy ", i), `{"mode":"sleep","duration":"1500ms"}`))
	}
	victim := -1
	var held []string
	nodetest.WaitFor(t, "a follower running work", func() (bool, string) {
		v := localView(t, c.Node(li))
		for i := range c.Len() {
			if i == li {
				continue
			}
			if as := v.Assigned(c.Node(i).Name()); len(as) > 0 {
				victim = i
				held = held[:0]
				for _, wo := range as {
					held = append(held, wo.ID)
				}
				return true, ""
			}
		}
		return false, "no follower holds work"
	})
	name := c.Node(victim).Name()
	c.Kill(victim)
	nodetest.WaitFor(t, "every work order completed", func() (bool, string) {
		v := localView(t, c.Node(li))
		for _, id := range ids {
			if wo, _ := v.WorkOrder(id); wo.State != fsm.StateCompleted {
				return false, fmt.Sprintf("%s is %s", id, wo.State)
			}
		}
		return true, ""
	})
	v := localView(t, c.Node(li))
	for _, id := range held {
		wo, _ := v.WorkOrder(id)
		if wo.Attempt < 2 || wo.Retries != 0 || wo.Assignee.Node == name || !strings.Contains(wo.LastReason, "node "+name+" is dead") {
			t.Errorf("%s: attempt %d retries %d on %s, reason %q", id, wo.Attempt, wo.Retries, wo.Assignee.Node, wo.LastReason)
		}
		if n := len(eventReceipts(v, id, fsm.EventRequeued)); n != 1 {
			t.Errorf("%s: %d requeued receipts, want 1", id, n)
		}
	}
	for _, id := range ids {
		if n := len(eventReceipts(v, id, fsm.EventCompleted)); n != 1 {
			t.Errorf("%s: %d completions", id, n)
		}
	}
}

// TestRunTimeoutFailsAttempt checks that a run longer than the run
// timeout is cancelled and reported as a retryable failure.
func TestRunTimeoutFailsAttempt(t *testing.T) {
	c := timedCluster(t, 1, time.Minute, 300*time.Millisecond)
	id := createSpec(t, c, fsm.WorkOrderSpec{Title: "hangs", Kind: "test", Payload: []byte(`{"mode":"hang"}`),
		Retry: fsm.RetryPolicy{MaxAttempts: 2, InitialDelay: 10 * time.Millisecond}})
	nodetest.WaitFor(t, "the work order failed", func() (bool, string) {
		wo, _ := localView(t, c.Node(0)).WorkOrder(id)
		return wo.State == fsm.StateFailed, string(wo.State)
	})
	v := localView(t, c.Node(0))
	wo, _ := v.WorkOrder(id)
	if wo.Attempt != 2 || wo.Retries != 1 || !strings.Contains(wo.LastReason, "run timeout") {
		t.Fatalf("attempt %d retries %d reason %q; want 2 timed-out attempts", wo.Attempt, wo.Retries, wo.LastReason)
	}
	if n := len(eventReceipts(v, id, fsm.EventRetryScheduled)); n != 1 {
		t.Fatalf("%d retry_scheduled receipts, want 1", n)
	}
}

// TestWorkOrderRunTimeoutFailsAttempt checks that a work order's own run
// timeout, shorter than the node's, is what the executor enforces.
func TestWorkOrderRunTimeoutFailsAttempt(t *testing.T) {
	c := timedCluster(t, 1, time.Minute, time.Hour)
	id := createSpec(t, c, fsm.WorkOrderSpec{Title: "hangs", Kind: "test", Payload: []byte(`{"mode":"hang"}`),
		RunTimeout: 300 * time.Millisecond, Retry: fsm.RetryPolicy{MaxAttempts: 2, InitialDelay: 10 * time.Millisecond}})
	nodetest.WaitFor(t, "the work order failed", func() (bool, string) {
		wo, _ := localView(t, c.Node(0)).WorkOrder(id)
		return wo.State == fsm.StateFailed, string(wo.State)
	})
	wo, _ := localView(t, c.Node(0)).WorkOrder(id)
	if wo.Attempt != 2 || !strings.Contains(wo.LastReason, "run timeout") || strings.Contains(wo.LastReason, "leader") {
		t.Fatalf("attempt %d reason %q; want 2 attempts timed out by the executor", wo.Attempt, wo.LastReason)
	}
}

// TestStaleReportMailboxIsRecorded leaves a follower's stale report in
// the mailbox (as a follower's executor does): the leader receipts it
// (stale_rejected, the reporter's node and attempt) and empties the
// mailbox; the same report left again is not receipted twice.
func TestStaleReportMailboxIsRecorded(t *testing.T) {
	c := timedCluster(t, 1, time.Hour, time.Minute)
	id := createSpec(t, c, fsm.WorkOrderSpec{Title: "moved", Kind: "nobody-runs-this"})
	for range 2 { // attempt 1 on ghost, requeued, attempt 2 on ghost
		if r := propose(t, c, &fsm.Assign{ID: id, Node: "ghost", AgentType: "nobody-runs-this"}); r.Err != nil {
			t.Fatal(r.Err)
		}
		wo, _ := localView(t, c.Node(0)).WorkOrder(id)
		if wo.Attempt == 1 {
			if r := propose(t, c, &fsm.Transition{ID: id, Action: fsm.ActionRequeue, Attempt: 1, Reason: "test"}); r.Err != nil {
				t.Fatal(r.Err)
			}
		}
	}
	report, _ := json.Marshal(map[string]any{"id": id, "attempt": 1, "node": "ghost", "agent": "nobody-runs-this",
		"action": "complete", "request_id": "exec/" + id + "/1/complete/0"})
	for round := range 2 {
		r := propose(t, c, &fsm.MemoryPut{Namespace: node.StaleNamespace, Key: "exec:" + id + ":1:complete:0", Value: report})
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		nodetest.WaitFor(t, "the mailbox drained", func() (bool, string) {
			_, err := localView(t, c.Node(0)).Memory(node.StaleNamespace, "exec:"+id+":1:complete:0")
			return err != nil, "entry still there"
		})
		rs := eventReceipts(localView(t, c.Node(0)), id, fsm.EventStaleRejected)
		if len(rs) != 1 || rs[0].Node != "ghost" || rs[0].Attempt != 1 {
			t.Fatalf("round %d: stale receipts %+v; want one of ghost's attempt 1", round, rs)
		}
	}
}

// TestExplainNodeReasons checks the node-side explain reasons: a queued
// work order whose agent type no healthy node offers says so.
func TestExplainNodeReasons(t *testing.T) {
	c := timedCluster(t, 1, time.Hour, time.Minute)
	id := createSpec(t, c, fsm.WorkOrderSpec{Title: "orphan", Kind: "nobody-runs-this"})
	n := c.Node(0)
	nodetest.WaitFor(t, "a no_node_for_type reason", func() (bool, string) {
		v := localView(t, n)
		e, err := v.Explain(id)
		if err != nil {
			return false, err.Error()
		}
		rs := n.ExplainReasons(context.Background(), v, e)
		for _, r := range rs {
			if r.Code == node.ExplainNoNodeForType && strings.Contains(r.Message, "nobody-runs-this") {
				return true, ""
			}
		}
		return false, fmt.Sprintf("reasons %+v", rs)
	})
}

// TestRequeuesWorkOfUnknownNode checks that work a leader placed on a
// node gossip does not know at all (one that died before this leader
// started, say) is requeued once the grace has passed, naming the node.
func TestRequeuesWorkOfUnknownNode(t *testing.T) {
	c := timedCluster(t, 1, 300*time.Millisecond, time.Minute)
	placed := createSpec(t, c, fsm.WorkOrderSpec{Title: "placed", Kind: "nobody-runs-this"})
	if r := propose(t, c, &fsm.Assign{ID: placed, Node: "ghost", AgentType: "nobody-runs-this"}); r.Err != nil {
		t.Fatal(r.Err)
	}
	nodetest.WaitFor(t, "the placed work order requeued", func() (bool, string) {
		wo, _ := localView(t, c.Node(0)).WorkOrder(placed)
		return wo.State == fsm.StateQueued, string(wo.State)
	})
	wo, _ := localView(t, c.Node(0)).WorkOrder(placed)
	if !strings.Contains(wo.LastReason, "node ghost is unknown") || wo.Retries != 0 {
		t.Fatalf("reason %q, retries %d", wo.LastReason, wo.Retries)
	}
}

// TestExplainLeaderReasons checks the leader-side explain reasons: a
// queued work order waiting for a slot of its agent type says so.
func TestExplainLeaderReasons(t *testing.T) {
	c := timedCluster(t, 1, time.Hour, time.Minute)
	var ids []string
	for i := range 5 {
		ids = append(ids, create(t, c, fmt.Sprint("busy ", i), `{"mode":"sleep","duration":"3s"}`))
	}
	n := c.Node(0)
	nodetest.WaitFor(t, "a no_capacity reason for the queued one", func() (bool, string) {
		v := localView(t, n)
		for _, id := range ids {
			e, err := v.Explain(id)
			if err != nil {
				return false, err.Error()
			}
			if e.State != fsm.StateQueued {
				continue
			}
			for _, r := range n.ExplainReasons(context.Background(), v, e) {
				if r.Code == fsm.ExplainCode("no_capacity") && strings.Contains(r.Message, "test") {
					return true, ""
				}
			}
			return false, fmt.Sprintf("%s: %+v", id, n.ExplainReasons(context.Background(), v, e))
		}
		return false, "nothing queued"
	})
}
