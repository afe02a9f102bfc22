package node_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/hive-swarm/hive/fsm"
	"github.com/hive-swarm/hive/node"
	"github.com/hive-swarm/hive/node/nodetest"
)

func put(key, value string) *fsm.MemoryPut {
	return &fsm.MemoryPut{Namespace: "test", Key: key, Value: []byte(value)}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// get reads key from n's state (stale or linearizable); "" when absent.
func get(ctx context.Context, n *node.Node, stale bool, key string) (string, error) {
	v, err := n.View(ctx, stale)
	if err != nil {
		return "", err
	}
	e, err := v.Memory("test", key)
	if errors.Is(err, fsm.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return string(e.Value), nil
}

func TestDevNode(t *testing.T) {
	cfg := nodetest.TestConfig(t, "dev")
	cfg.DataDir = ""
	cfg.Dev = true
	n, err := node.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	dir := n.DataDir()
	nodetest.WaitFor(t, "leader", func() (bool, string) { return n.IsLeader(), "not leader" })
	res, err := n.Propose(ctxT(t), put("k", "v"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Memory == nil || string(res.Memory.Value) != "v" || res.Index == 0 {
		t.Fatalf("result = %+v", res)
	}
	if got, err := get(ctxT(t), n, false, "k"); err != nil || got != "v" {
		t.Fatalf("read = %q, %v", got, err)
	}
	if st := n.Status(); st.Voters != 1 || st.Leader != "dev" || st.AppliedIndex < res.Index {
		t.Fatalf("status = %+v", st)
	}
	if err := n.Shutdown(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := n.Shutdown(ctxT(t)); err != nil {
		t.Fatalf("second shutdown: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("dev data dir %s not removed: %v", dir, err)
	}
	if _, err := n.Propose(ctxT(t), put("k", "v")); !errors.Is(err, node.ErrShutdown) {
		t.Fatalf("propose after shutdown: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	cases := map[string]func(*node.Config){
		"no data dir":      func(c *node.Config) { c.DataDir = "" },
		"bad bind":         func(c *node.Config) { c.BindAddr = "nope" },
		"even voters":      func(c *node.Config) { c.MaxVoters = 4 },
		"negative expect":  func(c *node.Config) { c.BootstrapExpect = -1 },
		"dev expects 3":    func(c *node.Config) { c.Dev = true; c.BootstrapExpect = 3 },
		"port range":       func(c *node.Config) { c.RaftPort = 70000 },
		"lease>heartbeat":  func(c *node.Config) { c.RaftTimeouts.LeaderLease = 2 * c.RaftTimeouts.Heartbeat },
		"nonvoter expects": func(c *node.Config) { c.NonVoter = true; c.BootstrapExpect = 3 },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := node.DefaultConfig()
			cfg.DataDir = t.TempDir()
			mutate(&cfg)
			if _, err := node.New(cfg); err == nil {
				t.Fatal("want an error")
			}
		})
	}
	cfg := node.Config{Name: "x", DataDir: t.TempDir()}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("zero tunables take defaults: %v", err)
	}
}

func TestThreeNodeCluster(t *testing.T) {
	c := nodetest.NewCluster(t, 3)
	li := c.WaitForLeader()
	leader := c.Node(li)
	nodetest.WaitFor(t, "3 voters", func() (bool, string) {
		st := leader.Status()
		return st.Voters == 3 && st.NonVoters == 0, fmt.Sprintf("%+v", st)
	})
	for _, m := range leader.Members() {
		want := "voter"
		if m.Name == leader.Name() {
			want = "leader"
		}
		if m.Status != "alive" || m.RaftRole != want || m.HTTPAddr == "" || m.RaftAddr == "" {
			t.Errorf("member %+v", m)
		}
	}

	res, err := leader.Propose(ctxT(t), put("a", "1"))
	if err != nil {
		t.Fatal(err)
	}
	follower := c.Node((li + 1) % 3)
	if _, err := follower.Propose(ctxT(t), put("b", "2")); !errors.Is(err, node.ErrNotLeader) {
		t.Fatalf("propose on a follower: %v, want ErrNotLeader", err)
	}
	if _, err := follower.View(ctxT(t), false); !errors.Is(err, node.ErrNotLeader) {
		t.Fatalf("linearizable read on a follower: %v, want ErrNotLeader", err)
	}
	name, _, httpAddr := follower.Leader()
	if name != leader.Name() || httpAddr != leader.HTTPAddr() {
		t.Fatalf("follower sees leader %q at %q", name, httpAddr)
	}
	for i := range 3 {
		n := c.Node(i)
		nodetest.WaitFor(t, "stale read on "+n.Name(), func() (bool, string) {
			got, err := get(ctxT(t), n, true, "a")
			return got == "1", fmt.Sprintf("got %q, %v", got, err)
		})
		if err := n.WaitForIndex(ctxT(t), res.Index); err != nil {
			t.Fatal(err)
		}
	}
	// A business error comes back as the error and in the result.
	_, err = leader.Propose(ctxT(t), &fsm.Transition{ID: "WO-999", Action: fsm.ActionStart})
	if !errors.Is(err, fsm.ErrNotFound) {
		t.Fatalf("transition of a missing work order: %v", err)
	}
}
