// Package nodetest runs in-process Hive clusters for tests: real raft over
// TCP on 127.0.0.1, real bbolt files in t.TempDir(), real memberlist, with
// tightened timings. Other packages' tests use it too.
package nodetest

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hive-swarm/hive/node"
)

// TestConfig returns a node configuration for tests: 127.0.0.1 with port 0
// everywhere, a fresh t.TempDir(), timings tightened for a (slow, shared)
// test machine, and logs through t.Log. DeadServerGrace is long, so that a
// killed node stays in the configuration unless a test shortens it.
func TestConfig(t testing.TB, name string) node.Config {
	cfg := node.DefaultConfig()
	cfg.Name = name
	cfg.DataDir = t.TempDir()
	cfg.BindAddr = "127.0.0.1"
	cfg.HTTPPort, cfg.RaftPort, cfg.GossipPort = 0, 0, 0
	cfg.DeadServerGrace = time.Minute
	cfg.Logger = Logger(t, name)
	cfg.RaftTimeouts.Heartbeat = 250 * time.Millisecond
	cfg.RaftTimeouts.Election = 250 * time.Millisecond
	cfg.RaftTimeouts.LeaderLease = 150 * time.Millisecond
	cfg.RaftTimeouts.CommitTimeout = 5 * time.Millisecond
	cfg.RaftTimeouts.ReconcileInterval = 200 * time.Millisecond
	cfg.RaftTimeouts.ApplyTimeout = 10 * time.Second
	cfg.RaftTimeouts.ExpiryCheckInterval = 100 * time.Millisecond
	cfg.RaftTimeouts.LeaveDrainTimeout = 10 * time.Second
	cfg.Gossip.ProbeInterval = 200 * time.Millisecond
	cfg.Gossip.ProbeTimeout = 100 * time.Millisecond
	cfg.Gossip.GossipInterval = 20 * time.Millisecond
	cfg.Gossip.PushPullInterval = 2 * time.Second
	cfg.Gossip.SuspicionMult = 3
	cfg.Gossip.TCPTimeout = 2 * time.Second
	cfg.Gossip.RetryJoinInterval = 200 * time.Millisecond
	cfg.Gossip.DeadNodeReclaimTime = time.Second
	return cfg
}

// Cluster is a set of in-process nodes. Node i is named "node-i". Its
// methods fail the test on error; they are safe for concurrent use.
type Cluster struct {
	t       testing.TB
	tweak   func(i int, cfg *node.Config)
	mu      sync.Mutex
	nodes   []*node.Node
	configs []node.Config
	down    []bool
}

// Option changes how NewCluster configures its nodes.
type Option func(*Cluster)

// WithConfig lets a test change node i's configuration before it starts
// (for the initial nodes and for AddNode). It also applies on Restart.
func WithConfig(f func(i int, cfg *node.Config)) Option {
	return func(c *Cluster) { c.tweak = f }
}

// NewCluster starts n nodes with BootstrapExpect n, each joining node 0's
// gossip address, and shuts them all down when the test ends. It does not
// wait for a leader; see WaitForLeader.
func NewCluster(t testing.TB, n int, opts ...Option) *Cluster {
	t.Helper()
	c := &Cluster{t: t}
	for _, o := range opts {
		o(c)
	}
	t.Cleanup(c.shutdownAll)
	for i := range n {
		cfg := TestConfig(t, fmt.Sprintf("node-%d", i))
		cfg.BootstrapExpect = n
		if i > 0 {
			cfg.Join = []string{c.Node(0).GossipAddr()}
		}
		c.start(i, cfg, true)
	}
	return c
}

// AddNode starts one more node that joins the cluster (BootstrapExpect 0)
// and returns its index.
func (c *Cluster) AddNode() int {
	c.t.Helper()
	c.mu.Lock()
	i := len(c.nodes)
	c.mu.Unlock()
	cfg := TestConfig(c.t, fmt.Sprintf("node-%d", i))
	cfg.Join = c.gossipAddrs(i)
	c.start(i, cfg, true)
	return i
}

// start creates and starts node i; tweak says whether WithConfig's
// function still has to be applied to cfg.
func (c *Cluster) start(i int, cfg node.Config, tweak bool) {
	c.t.Helper()
	if tweak && c.tweak != nil {
		c.tweak(i, &cfg)
	}
	n, err := node.New(cfg)
	if err != nil {
		c.t.Fatalf("node %d: new: %v", i, err)
	}
	if err := n.Start(context.Background()); err != nil {
		c.t.Fatalf("node %d: start: %v", i, err)
	}
	// Pin the ports actually bound, so a restart comes back at the same
	// addresses, as a restarted server would.
	cfg.HTTPPort = port(n.HTTPAddr())
	cfg.RaftPort = port(n.RaftAddr())
	cfg.GossipPort = port(n.GossipAddr())
	c.mu.Lock()
	defer c.mu.Unlock()
	if i == len(c.nodes) {
		c.nodes = append(c.nodes, n)
		c.configs = append(c.configs, cfg)
		c.down = append(c.down, false)
		return
	}
	c.nodes[i], c.configs[i], c.down[i] = n, cfg, false
}

func port(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}

// gossipAddrs lists the gossip addresses of the running nodes but skip.
func (c *Cluster) gossipAddrs(skip int) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for i, n := range c.nodes {
		if i != skip && !c.down[i] {
			out = append(out, n.GossipAddr())
		}
	}
	return out
}

// Len is the number of nodes ever started (running or not).
func (c *Cluster) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.nodes)
}

// Node returns node i (its latest incarnation).
func (c *Cluster) Node(i int) *node.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i]
}

// Up reports whether node i is running.
func (c *Cluster) Up(i int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.down[i]
}

// Running returns the indexes of the running nodes.
func (c *Cluster) Running() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int
	for i := range c.nodes {
		if !c.down[i] {
			out = append(out, i)
		}
	}
	return out
}

// Kill stops node i hard, without leaving: the others see it fail. Its
// data dir is kept for Restart.
func (c *Cluster) Kill(i int) {
	c.t.Helper()
	n := c.markDown(i)
	if n == nil {
		return
	}
	if err := n.Shutdown(context.Background()); err != nil {
		c.t.Errorf("node %d: shutdown: %v", i, err)
	}
}

// Leave makes node i leave gracefully (and shut down).
func (c *Cluster) Leave(i int) {
	c.t.Helper()
	n := c.markDown(i)
	if n == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	defer cancel()
	if err := n.Leave(ctx); err != nil {
		c.t.Errorf("node %d: leave: %v", i, err)
	}
}

func (c *Cluster) markDown(i int) *node.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down[i] {
		return nil
	}
	c.down[i] = true
	return c.nodes[i]
}

// Restart starts node i again with the same name, data dir and ports,
// joining the running nodes. Kill it first.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	c.restart(i, false)
}

// RestartNewPorts restarts node i with its name and data dir but new
// ports, as a server that comes back at another address. Kill it first;
// gossip accepts the new address only after the test config's
// DeadNodeReclaimTime (1s) since it was declared dead.
func (c *Cluster) RestartNewPorts(i int) {
	c.t.Helper()
	c.restart(i, true)
}

func (c *Cluster) restart(i int, newPorts bool) {
	c.t.Helper()
	if c.Up(i) {
		c.t.Fatalf("node %d: restart of a running node", i)
	}
	c.mu.Lock()
	cfg := c.configs[i]
	c.mu.Unlock()
	if newPorts {
		cfg.HTTPPort, cfg.RaftPort, cfg.GossipPort = 0, 0, 0
	}
	cfg.Join = c.gossipAddrs(i)
	c.start(i, cfg, false) // the saved config has been tweaked already
}

// WaitForLeader waits until one running node is the leader and every
// running node agrees on it, and returns its index.
func (c *Cluster) WaitForLeader() int {
	c.t.Helper()
	leader := -1
	WaitFor(c.t, "a leader", func() (bool, string) {
		leader = -1
		running := c.Running()
		for _, i := range running {
			if c.Node(i).IsLeader() {
				leader = i
			}
		}
		if leader < 0 {
			return false, "no node is the leader"
		}
		want := c.Node(leader).Name()
		for _, i := range running {
			if name, _, _ := c.Node(i).Leader(); name != want {
				return false, fmt.Sprintf("node %d sees leader %q, not %q", i, name, want)
			}
		}
		return true, ""
	})
	return leader
}

// Leader returns the index of the running node that believes it is the
// leader, or -1.
func (c *Cluster) Leader() int {
	for _, i := range c.Running() {
		if c.Node(i).IsLeader() {
			return i
		}
	}
	return -1
}

func (c *Cluster) shutdownAll() {
	var wg sync.WaitGroup
	for _, i := range c.Running() {
		n := c.markDown(i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
			defer cancel()
			if err := n.Shutdown(ctx); err != nil {
				c.t.Errorf("node %d: shutdown: %v", i, err)
			}
		}()
	}
	wg.Wait()
}
