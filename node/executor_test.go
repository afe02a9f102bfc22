package node_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hive-swarm/hive/fsm"
	"github.com/hive-swarm/hive/node"
	"github.com/hive-swarm/hive/node/nodetest"
)

// agentDir builds hive-agent-test once per test binary into a directory
// used as the nodes' plugin dir.
var agentDir = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "hive-node-agents-")
	if err != nil {
		return "", err
	}
	out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "hive-agent-test"),
		"github.com/hive-swarm/hive/agents/test").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building hive-agent-test: %v\n%s", err, out)
	}
	return dir, nil
})

// agentCluster starts n nodes that run the test agent with capacity.
func agentCluster(t *testing.T, n, capacity int) *nodetest.Cluster {
	t.Helper()
	dir, err := agentDir()
	if err != nil {
		t.Fatal(err)
	}
	c := nodetest.NewCluster(t, n, nodetest.WithConfig(func(_ int, cfg *node.Config) {
		cfg.PluginDir = dir
		cfg.AgentCapacity = capacity
		cfg.Execution.ScheduleInterval = 200 * time.Millisecond
		cfg.Execution.MetaInterval = 50 * time.Millisecond
		cfg.Execution.ProgressInterval = 100 * time.Millisecond
	}))
	c.WaitForLeader()
	return c
}

// propose commits cmd on the current leader, retrying while leadership
// moves.
func propose(t *testing.T, c *nodetest.Cluster, cmd fsm.Command) *fsm.Result {
	t.Helper()
	var res *fsm.Result
	nodetest.WaitFor(t, "a committed write", func() (bool, string) {
		li := c.Leader()
		if li < 0 {
			return false, "no leader"
		}
		var err error
		res, err = c.Node(li).Propose(context.Background(), cmd)
		if err != nil {
			return false, err.Error()
		}
		return true, ""
	})
	return res
}

func create(t *testing.T, c *nodetest.Cluster, title, payload string, deps ...string) string {
	t.Helper()
	return createSpec(t, c, fsm.WorkOrderSpec{Title: title, Kind: "test", Payload: []byte(payload), DependsOn: deps})
}

func createSpec(t *testing.T, c *nodetest.Cluster, spec fsm.WorkOrderSpec) string {
	t.Helper()
	return propose(t, c, &fsm.CreateWorkOrder{Spec: spec}).WorkOrder.ID
}

// waitState waits until every node's local state shows id in state.
func waitState(t *testing.T, c *nodetest.Cluster, id string, state fsm.State) *fsm.WorkOrder {
	t.Helper()
	var wo *fsm.WorkOrder
	nodetest.WaitFor(t, id+" "+string(state), func() (bool, string) {
		for _, i := range c.Running() {
			w, err := c.Node(i).FSM().View().WorkOrder(id)
			if err != nil {
				return false, err.Error()
			}
			if w.State != state {
				return false, fmt.Sprintf("node %d: %s is %s (%s)", i, id, w.State, w.BlockedReason)
			}
			wo = w
		}
		return true, ""
	})
	return wo
}

// TestExecutorRunsAssignedWork runs a small DAG on three nodes: every
// work order is assigned by the leader, run by the test agent on the
// node it was assigned to, and completed with evidence; a dependent
// starts only after its dependencies completed.
func TestExecutorRunsAssignedWork(t *testing.T) {
	c := agentCluster(t, 3, 2)
	root := create(t, c, "root", `{"mode":"echo","message":"hi"}`)
	var mids []string
	for i := range 6 {
		mids = append(mids, create(t, c, fmt.Sprintf("mid %d", i), `{"mode":"sleep","duration":"20ms"}`, root))
	}
	sink := create(t, c, "sink", "", mids...)

	wo := waitState(t, c, sink, fsm.StateCompleted)
	if wo.Result == nil || wo.Result.Outputs[node.OutputEvidenceDigest] == "" {
		t.Fatalf("sink completed without evidence: %+v", wo.Result)
	}
	r := waitState(t, c, root, fsm.StateCompleted)
	if r.Result.Outputs["message"] != "hi" || r.Attempt != 1 || r.Assignee.Agent != "test" {
		t.Fatalf("root: attempt %d, assignee %+v, result %+v", r.Attempt, r.Assignee, r.Result)
	}
	v := c.Node(0).FSM().View()
	done := map[string]uint64{} // id -> seq of its completed receipt
	nodes := map[string]bool{}
	for _, rc := range v.Receipts(fsm.ReceiptQuery{Limit: fsm.MaxReceiptLimit}) {
		switch rc.Event {
		case fsm.EventCompleted:
			done[rc.WorkOrder] = rc.Seq
		case "assigned":
			w, _ := v.WorkOrder(rc.WorkOrder)
			for _, d := range w.DependsOn {
				if _, ok := done[d]; !ok {
					t.Errorf("%s assigned at receipt %d before its dependency %s completed", rc.WorkOrder, rc.Seq, d)
				}
			}
			nodes[rc.Node] = true
		}
	}
	if len(done) != 8 {
		t.Fatalf("%d completions, want 8", len(done))
	}
	t.Logf("assignments proposed by %v", nodes)
}

// TestExecutorFailsCrashAndCancelsMovedWork checks the unhappy paths: a
// plugin crash fails the attempt, an agent failure fails it with the
// reason, and cancelling a running work order stops its run (whose
// progress was reported meanwhile).
func TestExecutorFailsCrashAndCancelsMovedWork(t *testing.T) {
	c := agentCluster(t, 1, 4)
	marker := filepath.Join(t.TempDir(), "cancelled")
	// A crash is retried under the work order's policy: two attempts,
	// then it fails for good.
	crash := createSpec(t, c, fsm.WorkOrderSpec{Title: "crash", Kind: "test", Payload: []byte(`{"mode":"crash","exit_status":3}`),
		Retry: fsm.RetryPolicy{MaxAttempts: 2, InitialDelay: 10 * time.Millisecond}})
	if wo := waitState(t, c, crash, fsm.StateFailed); wo.Attempt != 2 {
		t.Fatalf("crash: attempt %d, want 2", wo.Attempt)
	}
	// The crash fails whatever the process held; the rest runs on the
	// restarted plugin.
	if err := c.Node(0).Plugins().WaitReady(ctxT(t), "test"); err != nil {
		t.Fatal(err)
	}
	// A task the agent rejects as invalid fails at once, whatever the
	// policy.
	failing := create(t, c, "invalid", `{"mode":"invalid","message":"on purpose"}`)
	hang := create(t, c, "hang", fmt.Sprintf(`{"mode":"hang","marker":%q}`, marker))
	if wo := waitState(t, c, failing, fsm.StateFailed); wo.Result != nil {
		t.Logf("fail evidence: %+v", wo.Result)
	}
	waitState(t, c, hang, fsm.StateInProgress)
	var wo *fsm.WorkOrder
	nodetest.WaitFor(t, "the hanging run's progress report", func() (bool, string) {
		wo, _ = c.Node(0).FSM().View().WorkOrder(hang)
		return wo.Progress == "hang 0%: hanging until cancelled", fmt.Sprintf("progress %q", wo.Progress)
	})
	propose(t, c, &fsm.Transition{ID: hang, Action: fsm.ActionCancel, Reason: "test"})
	nodetest.WaitFor(t, "the hanging run to be cancelled", func() (bool, string) {
		if _, err := os.Stat(marker); err != nil {
			return false, err.Error()
		}
		return true, ""
	})
	v := c.Node(0).FSM().View()
	if got, _ := v.WorkOrder(hang); got.State != fsm.StateCancelled || got.Attempt != wo.Attempt {
		t.Fatalf("hang after cancel: %s attempt %d", got.State, got.Attempt)
	}
	for _, rc := range v.Receipts(fsm.ReceiptQuery{WorkOrder: failing}) {
		if rc.Event == fsm.EventFailed && rc.Attempt != 1 {
			t.Fatalf("failed receipt of attempt %d", rc.Attempt)
		}
	}
}
