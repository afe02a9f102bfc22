package node_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hive-swarm/hive/cluster"
	"github.com/hive-swarm/hive/fsm"
	"github.com/hive-swarm/hive/node/nodetest"
)

// TestAutoAndonEndToEnd runs three nodes with the test agent and
// automatic andon on for test_failure and repeated_crash: a test work
// order failing its last attempt gets an open test_failure andon that
// stops its bucket and creates the fix work order; a work order whose
// agent crashes on every attempt gets a repeated_crash andon (and, run
// by the test agent, a test_failure one). One per work order and class.
func TestAutoAndonEndToEnd(t *testing.T) {
	c := agentCluster(t, 3, 2)
	cfg := c.Node(0).FSM().View().SchedulerConfig()
	cfg.AutoAndon = []string{fsm.AutoAndonTestFailure, fsm.AutoAndonRepeatedCrash}
	propose(t, c, &fsm.SetSchedulerConfig{Config: cfg})

	fast := fsm.RetryPolicy{MaxAttempts: 2, InitialDelay: 10 * time.Millisecond, Factor: 100, MaxDelay: 10 * time.Millisecond}
	test := createSpec(t, c, fsm.WorkOrderSpec{Title: "unit tests", Kind: "test", Bucket: fsm.BucketReliability,
		Payload: []byte(`{"mode":"exit","exit_status":1}`), Retry: fast})
	fast.MaxAttempts = cluster.RepeatedCrashes
	crashy := createSpec(t, c, fsm.WorkOrderSpec{Title: "crashy", Kind: "test", Bucket: fsm.BucketSecurity, Stage: "code",
		Payload: []byte(`{"mode":"crash","exit_status":3}`), Retry: fast})

	andonOf := func(id, class string) (*fsm.Andon, string) {
		li := c.Leader()
		if li < 0 {
			return nil, "no leader"
		}
		var found []*fsm.Andon
		for _, a := range c.Node(li).FSM().View().Andons(false) {
			if a.WorkOrder == id && a.Class == class {
				found = append(found, a)
			}
		}
		switch {
		case len(found) == 0:
			return nil, "no " + class + " andon on " + id
		case len(found) > 1:
			return nil, fmt.Sprintf("andons on %s: %+v", id, found)
		}
		return found[0], ""
	}
	var a *fsm.Andon
	nodetest.WaitFor(t, "the test failure's andon", func() (bool, string) {
		var why string
		a, why = andonOf(test, fsm.AutoAndonTestFailure)
		return a != nil, why
	})
	if wo := waitState(t, c, test, fsm.StateFailed); wo.Attempt != 2 {
		t.Fatalf("test work order: attempt %d, want 2", wo.Attempt)
	}
	v := c.Node(c.Leader()).FSM().View()
	if a.State != fsm.AndonOpen || a.Line != fsm.BucketReliability {
		t.Fatalf("andon %+v", a)
	}
	stopped := false
	for _, l := range v.StoppedLines() {
		stopped = stopped || l.Line == fsm.BucketReliability
	}
	if !stopped {
		t.Fatalf("line not stopped: %+v", v.StoppedLines())
	}
	fix, err := v.WorkOrder(a.FixWorkOrder)
	if err != nil || fix.FixFor != a.ID || fix.Bucket != fsm.BucketReliability {
		t.Fatalf("fix work order %+v %v", fix, err)
	}

	nodetest.WaitFor(t, "the repeated crash's andon", func() (bool, string) {
		a, why := andonOf(crashy, fsm.AutoAndonRepeatedCrash)
		return a != nil, why
	})
	wo := waitState(t, c, crashy, fsm.StateFailed)
	if wo.Attempt != cluster.RepeatedCrashes || !cluster.CrashReason(wo.LastReason) {
		t.Fatalf("crashing work order: attempt %d, reason %q", wo.Attempt, wo.LastReason)
	}
	// Later passes pull nothing more: one andon per work order and class.
	// The crashing work order ran the test agent: it failed a test too.
	nodetest.WaitFor(t, "the crashing test's andon", func() (bool, string) {
		a, why := andonOf(crashy, fsm.AutoAndonTestFailure)
		return a != nil, why
	})
	propose(t, c, &fsm.Tick{})
	waitPasses(t, c, 2)
	if got := len(c.Node(c.Leader()).FSM().View().Andons(false)); got != 3 {
		t.Fatalf("%d andons, want 3", got)
	}
}

// waitPasses waits until the leader's scheduling loop has made n whole
// passes on views that hold every write committed before the call: what
// those passes proposed has been applied when waitPasses returns. A
// change of leader starts the count again.
func waitPasses(t *testing.T, c *nodetest.Cluster, n uint64) {
	t.Helper()
	li, base := -1, uint64(0)
	nodetest.WaitFor(t, fmt.Sprintf("%d scheduling passes", n), func() (bool, string) {
		l := c.Leader()
		if l < 0 {
			return false, "no leader"
		}
		if l != li {
			li, base = l, c.Node(l).SchedulingPasses()
		}
		// Pass base+n+1 has started, so pass base+n has ended; pass
		// base+1 is the first whose view was taken after base was read.
		done := c.Node(li).SchedulingPasses() - base
		return done > n, fmt.Sprintf("%d passes started on node %d", done, li)
	})
}
