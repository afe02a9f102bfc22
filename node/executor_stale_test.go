package node

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hive-swarm/hive/fsm"
)

// startSoloNode starts a real one-node cluster on loopback and waits
// until it leads.
func startSoloNode(t *testing.T) *Node {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Name = "solo"
	cfg.DataDir = t.TempDir()
	cfg.BindAddr = "127.0.0.1"
	cfg.HTTPPort, cfg.RaftPort, cfg.GossipPort = 0, 0, 0
	cfg.BootstrapExpect = 1
	cfg.Logger = hclog.NewNullLogger()
	cfg.RaftTimeouts.Heartbeat = 250 * time.Millisecond
	cfg.RaftTimeouts.Election = 250 * time.Millisecond
	cfg.RaftTimeouts.LeaderLease = 150 * time.Millisecond
	cfg.Execution.ScheduleInterval = 50 * time.Millisecond
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Shutdown(context.Background()) })
	waitCond(t, "leadership", func() bool { return n.IsLeader() && n.waitReady(context.Background()) == nil })
	return n
}

func waitCond(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestExecutorRecordsStaleOutcome drives the executor's handling of a
// refused outcome on a real node: a report of an attempt the work order
// has moved past is refused as stale_attempt (isStaleAttempt), and
// recordStale receipts it once (stale_rejected, this node, the old
// attempt) however often it is repeated; the follower's path (the
// mailbox, through this node's HTTP API) is receipted the same way.
func TestExecutorRecordsStaleOutcome(t *testing.T) {
	n := startSoloNode(t)
	ctx := context.Background()
	res, err := n.Propose(ctx, &fsm.CreateWorkOrder{Spec: fsm.WorkOrderSpec{Title: "moved", Kind: "nobody-runs-this"}})
	if err != nil || res.Err != nil {
		t.Fatal(err, res.Err)
	}
	id := res.WorkOrder.ID
	for attempt := uint64(1); attempt <= 3; attempt++ {
		if res, err := n.ProposeControl(ctx, []fsm.Command{&fsm.Assign{ID: id, Node: "elsewhere", AgentType: "x"}}); err != nil || res[0].Err != nil {
			t.Fatal(err, res)
		}
		if attempt < 3 {
			tr := &fsm.Transition{ID: id, Action: fsm.ActionRequeue, Attempt: attempt, Reason: "test"}
			if res, err := n.ProposeControl(ctx, []fsm.Command{tr}); err != nil || res[0].Err != nil {
				t.Fatal(err, res)
			}
		}
	}
	stale := func() []*fsm.Receipt {
		var out []*fsm.Receipt
		for _, r := range n.fsm.View().Receipts(fsm.ReceiptQuery{WorkOrder: id}) {
			if r.Event == fsm.EventStaleRejected {
				out = append(out, r)
			}
		}
		return out
	}

	// The leader's own report of attempt 1.
	tr := &fsm.Transition{ID: id, Action: fsm.ActionComplete, Attempt: 1, Agent: "x",
		Evidence: &fsm.Evidence{ExitCode: 0, Log: "done late"}}
	tr.RequestID = reportRequestID(id, 1, string(tr.Action), 0)
	err = n.exec.report(ctx, tr)
	if !isStaleAttempt(err) {
		t.Fatalf("late report: %v; want stale_attempt", err)
	}
	for range 2 {
		if err := n.exec.recordStale(ctx, tr); err != nil {
			t.Fatal(err)
		}
	}
	rs := stale()
	if len(rs) != 1 || rs[0].Node != "solo" || rs[0].Attempt != 1 || rs[0].EvidenceDigest != fsm.StaleDigest(fsm.ActionComplete, fsm.EvidenceDigest(tr.Evidence)) {
		t.Fatalf("stale receipts %+v", rs)
	}

	// A follower's report of attempt 2 goes through the mailbox.
	r := &staleReport{ID: id, Attempt: 2, Node: "follower", Agent: "x", Action: string(fsm.ActionFail), RequestID: reportRequestID(id, 2, "fail", 0)}
	if err := n.exec.mailStale(ctx, r); err != nil {
		t.Fatal(err)
	}
	waitCond(t, "the mailed report receipted", func() bool { return len(stale()) == 2 })
	if rs := stale(); rs[1].Node != "follower" || rs[1].Attempt != 2 {
		t.Fatalf("mailed stale receipt %+v", rs[1])
	}
	waitCond(t, "the mailbox empty", func() bool {
		es, _ := n.fsm.View().MemoryQuery(StaleNamespace, "", "")
		return len(es) == 0
	})
}
