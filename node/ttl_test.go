package node_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hive-swarm/hive/node/nodetest"
)

// TestMemoryTTLExpiresWithoutWrites checks that the leader proposes a Tick
// when a TTL is due, so an entry expires on every node even when nothing
// else is written, and that ticking stops once nothing is due.
func TestMemoryTTLExpiresWithoutWrites(t *testing.T) {
	c := nodetest.NewCluster(t, 3)
	leader := c.Node(c.WaitForLeader())
	waitConfig(t, c, 3, 0)
	p := put("ttl", "soon")
	p.ExpiresAt = time.Now().Add(300 * time.Millisecond).UnixNano()
	if _, err := leader.Propose(ctxT(t), p); err != nil {
		t.Fatal(err)
	}
	if _, err := leader.Propose(ctxT(t), put("keep", "forever")); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		n := c.Node(i)
		nodetest.WaitFor(t, "expiry on "+n.Name(), func() (bool, string) {
			ttl, _ := get(ctxT(t), n, true, "ttl")
			keep, _ := get(ctxT(t), n, true, "keep")
			return ttl == "" && keep == "forever", fmt.Sprintf("ttl=%q keep=%q", ttl, keep)
		})
	}
	nodetest.WaitFor(t, "nothing left to expire", func() (bool, string) {
		next := leader.FSM().View().NextExpiry()
		return next == 0, fmt.Sprint(next)
	})
	idx := leader.Status().LastIndex
	time.Sleep(5 * leader.Config().RaftTimeouts.ExpiryCheckInterval) // proving an absence needs a wait
	if got := leader.Status().LastIndex; got != idx {
		t.Fatalf("log grew from %d to %d with nothing due", idx, got)
	}
}
