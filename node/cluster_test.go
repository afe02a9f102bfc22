package node_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hive-swarm/hive/node"
	"github.com/hive-swarm/hive/node/nodetest"
)

// roles maps member name to raft role as n sees them.
func roles(n *node.Node) map[string]string {
	out := make(map[string]string)
	for _, m := range n.Members() {
		out[m.Name] = m.RaftRole
	}
	return out
}

// waitConfig waits until the current leader's raft configuration has the
// given numbers of voters and non-voters.
func waitConfig(t *testing.T, c *nodetest.Cluster, voters, nonvoters int) {
	t.Helper()
	nodetest.WaitFor(t, fmt.Sprintf("%d voters and %d non-voters", voters, nonvoters), func() (bool, string) {
		li := c.Leader()
		if li < 0 {
			return false, "no leader"
		}
		st := c.Node(li).Status()
		return st.Voters == voters && st.NonVoters == nonvoters, fmt.Sprintf("roles %v", roles(c.Node(li)))
	})
}

// TestFailoverKeepsAcknowledgedWrites writes concurrently, kills the
// leader mid-stream, and checks that every acknowledged write is on the
// new leader (read linearizably); then restarts the old leader, which
// comes back with its data and catches up.
func TestFailoverKeepsAcknowledgedWrites(t *testing.T) {
	c := nodetest.NewCluster(t, 3)
	li := c.WaitForLeader()
	waitConfig(t, c, 3, 0)

	var (
		mu    sync.Mutex
		acked = map[string]string{}
		wg    sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				key, val := fmt.Sprintf("w%d-%d", w, i), fmt.Sprintf("v%d", i)
				li := c.Leader()
				if li < 0 {
					time.Sleep(10 * time.Millisecond)
					continue
				}
				pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
				_, err := c.Node(li).Propose(pctx, put(key, val))
				pcancel()
				if err == nil {
					mu.Lock()
					acked[key] = val
					mu.Unlock()
				}
			}
		}()
	}
	nodetest.WaitFor(t, "some writes", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 50, fmt.Sprint(len(acked))
	})
	c.Kill(li)
	nli := c.WaitForLeader()
	if nli == li {
		t.Fatal("killed node is still the leader")
	}
	nodetest.WaitFor(t, "writes on the new leader", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 100, fmt.Sprint(len(acked))
	})
	cancel()
	wg.Wait()

	v, err := c.Node(nli).View(ctxT(t), false)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range acked {
		e, err := v.Memory("test", k)
		if err != nil || string(e.Value) != want {
			t.Fatalf("acknowledged write %s=%s lost on the new leader: %v", k, want, err)
		}
	}
	t.Logf("%d acknowledged writes all present after failover", len(acked))

	// The old leader restarts with its data and catches up.
	c.Restart(li)
	old := c.Node(li)
	if st := old.Status(); st.LastIndex == 0 {
		t.Fatalf("restarted node has no raft log: %+v", st)
	}
	res, err := c.Node(c.WaitForLeader()).Propose(ctxT(t), put("after-restart", "yes"))
	if err != nil {
		t.Fatal(err)
	}
	if err := old.WaitForIndex(ctxT(t), res.Index); err != nil {
		t.Fatal(err)
	}
	ov, _ := old.View(ctxT(t), true)
	for k, want := range acked {
		if e, err := ov.Memory("test", k); err != nil || string(e.Value) != want {
			t.Fatalf("restarted node misses %s: %v", k, err)
		}
	}
	waitConfig(t, c, 3, 0)
}

// TestGrowAndShrink adds nodes one by one (voters stay odd, at most 5),
// then makes nodes leave, which removes them at once.
func TestGrowAndShrink(t *testing.T) {
	c := nodetest.NewCluster(t, 3)
	c.WaitForLeader()
	waitConfig(t, c, 3, 0)

	c.AddNode() // node-3
	waitConfig(t, c, 3, 1)
	c.AddNode() // node-4
	waitConfig(t, c, 5, 0)
	c.AddNode() // node-5
	waitConfig(t, c, 5, 1)

	// A follower voter leaves: removed at once, the non-voter promoted.
	li := c.Leader()
	f := (li + 1) % 3
	c.Leave(f)
	waitConfig(t, c, 5, 0)
	if r := roles(c.Node(c.Leader()))[c.Node(f).Name()]; r != "none" {
		t.Fatalf("left node still has role %q", r)
	}

	// The leader leaves: it hands over, then is removed.
	c.Leave(li)
	nli := c.WaitForLeader()
	if nli == li {
		t.Fatal("the leader that left is still the leader")
	}
	waitConfig(t, c, 4, 0)
	for _, m := range c.Node(nli).Members() {
		if m.Name == c.Node(li).Name() && (m.Status != "left" || m.RaftRole != "none") {
			t.Fatalf("departed leader: %+v", m)
		}
	}
	if _, err := c.Node(nli).Propose(ctxT(t), put("k", "v")); err != nil {
		t.Fatal(err)
	}
}

// TestDeadServerGrace kills a follower: it stays in the configuration
// until DeadServerGrace has passed since it was declared failed.
func TestDeadServerGrace(t *testing.T) {
	const grace = 3 * time.Second
	c := nodetest.NewCluster(t, 3, nodetest.WithConfig(func(i int, cfg *node.Config) {
		cfg.DeadServerGrace = grace
	}))
	li := c.WaitForLeader()
	waitConfig(t, c, 3, 0)
	f := (li + 1) % 3
	name := c.Node(f).Name()
	c.Kill(f)
	leader := c.Node(li)
	status := func() (string, string) {
		for _, m := range leader.Members() {
			if m.Name == name {
				return m.Status, m.RaftRole
			}
		}
		return "", ""
	}
	nodetest.WaitFor(t, "failure detected", func() (bool, string) {
		s, _ := status()
		return s == "dead", s
	})
	failedAt := time.Now()
	if _, role := status(); role != "voter" {
		t.Fatalf("failed node removed at once: role %q", role)
	}
	nodetest.WaitFor(t, "removal after the grace period", func() (bool, string) {
		_, role := status()
		return role == "none", role
	})
	if elapsed := time.Since(failedAt); elapsed < grace-500*time.Millisecond {
		t.Fatalf("removed %v after the failure, before the %v grace", elapsed, grace)
	}
	if st := leader.Status(); st.Voters != 2 {
		t.Fatalf("voters = %d, want 2", st.Voters)
	}
	if _, err := leader.Propose(ctxT(t), put("k", "v")); err != nil {
		t.Fatal(err)
	}
}

// TestProposeCoalesces sends 200 concurrent proposals and checks that they
// took far fewer log entries, each caller getting its own result.
func TestProposeCoalesces(t *testing.T) {
	c := nodetest.NewCluster(t, 3)
	leader := c.Node(c.WaitForLeader())
	waitConfig(t, c, 3, 0)
	before := leader.Status().LastIndex
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			key, val := fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i)
			res, err := leader.Propose(ctxT(t), put(key, val))
			switch {
			case err != nil:
				errs <- err
			case res.Memory == nil || res.Memory.Key != key || string(res.Memory.Value) != val:
				errs <- fmt.Errorf("caller %d got %+v", i, res.Memory)
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	entries := leader.Status().LastIndex - before
	t.Logf("%d proposals took %d log entries", n, entries)
	if entries >= n {
		t.Fatalf("%d proposals took %d entries: no coalescing", n, entries)
	}
}

func TestProposeTimeoutAndCancel(t *testing.T) {
	c := nodetest.NewCluster(t, 1)
	leader := c.Node(c.WaitForLeader())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := leader.Propose(ctx, put("k", "v")); err == nil || errors.Is(err, node.ErrTimeout) {
		t.Fatalf("cancelled: %v", err)
	}
	ctx, cancel = context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	if _, err := leader.Propose(ctx, put("k", "v")); !errors.Is(err, node.ErrTimeout) {
		t.Fatalf("past deadline: %v", err)
	}
}

// TestRestartAtNewAddress restarts a killed follower on new ports: the
// leader re-adds it at its new raft address and it catches up.
func TestRestartAtNewAddress(t *testing.T) {
	c := nodetest.NewCluster(t, 3)
	li := c.WaitForLeader()
	waitConfig(t, c, 3, 0)
	f := (li + 1) % 3
	oldAddr := c.Node(f).RaftAddr()
	c.Kill(f)
	leader := c.Node(li)
	nodetest.WaitFor(t, "failure detected", func() (bool, string) {
		for _, m := range leader.Members() {
			if m.Name == c.Node(f).Name() {
				return m.Status == "dead", m.Status
			}
		}
		return false, "unknown"
	})
	res, err := leader.Propose(ctxT(t), put("while-down", "1"))
	if err != nil {
		t.Fatal(err)
	}
	// Gossip lets the name move to a new address only after the reclaim
	// time; joining earlier is refused and retried.
	c.RestartNewPorts(f)
	n := c.Node(f)
	if n.RaftAddr() == oldAddr {
		t.Fatalf("same raft address %s", oldAddr)
	}
	nodetest.WaitFor(t, "new address in the configuration", func() (bool, string) {
		for _, m := range leader.Members() {
			if m.Name == n.Name() {
				return m.Status == "alive" && m.RaftRole == "voter" && m.RaftAddr == n.RaftAddr(), fmt.Sprintf("%+v", m)
			}
		}
		return false, "unknown"
	})
	if err := n.WaitForIndex(ctxT(t), res.Index); err != nil {
		t.Fatal(err)
	}
	if got, _ := get(ctxT(t), n, true, "while-down"); got != "1" {
		t.Fatalf("restarted node did not catch up: %q", got)
	}
}

// TestLeaderRestartedAtNewAddress restarts a one-node cluster at new
// ports, as a container comes back at another address, and then starts a
// second node at the first one's old raft address: the leader corrects
// its own entry in the configuration, so adding the second node does not
// fail on a duplicate address.
func TestLeaderRestartedAtNewAddress(t *testing.T) {
	var reuse int // the raft port node 1 takes: node 0's old one
	c := nodetest.NewCluster(t, 1, nodetest.WithConfig(func(i int, cfg *node.Config) {
		if i == 1 {
			cfg.RaftPort = reuse
		}
	}))
	c.WaitForLeader()
	_, port, err := net.SplitHostPort(c.Node(0).RaftAddr())
	if err != nil {
		t.Fatal(err)
	}
	if reuse, err = strconv.Atoi(port); err != nil {
		t.Fatal(err)
	}
	c.Kill(0)
	c.RestartNewPorts(0)
	c.WaitForLeader()
	c.AddNode()
	if got := c.Node(1).RaftAddr(); !strings.HasSuffix(got, ":"+port) {
		t.Fatalf("node 1 at %s, want node 0's old port %s", got, port)
	}
	waitConfig(t, c, 1, 1)
}
