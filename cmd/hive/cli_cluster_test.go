package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/node"
)

// TestJoinAndLeave starts a fresh leader and a second node that bootstraps
// nothing, makes the second join the first through `hive join`, and then
// makes it leave through `hive leave`.
func TestJoinAndLeave(t *testing.T) {
	shutdown := func(n *node.Node) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = n.Shutdown(ctx)
	}
	first, firstAddr, err := startNode("join-first")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shutdown(first) })
	second, secondAddr, err := startNodeWith("join-second", func(c *node.Config) {
		c.Dev = false
		c.DataDir = t.TempDir()
		c.BootstrapExpect = 0
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shutdown(second) })

	out := ok(t, secondAddr, "join", first.GossipAddr())
	if !strings.HasPrefix(out, "Joined 1 address") {
		t.Fatalf("join: %q", out)
	}
	waitFor(t, 30*time.Second, "both nodes alive in the first one's members", func() error {
		r := hive(t, firstAddr, "members", "-json")
		if r.err != nil {
			return r.err
		}
		var ml api.MemberList
		decode(t, r.stdout, &ml)
		alive := 0
		for _, m := range ml.Members {
			if m.Status == "alive" {
				alive++
			}
		}
		if alive != 2 {
			return fmt.Errorf("%d alive of %d", alive, len(ml.Members))
		}
		return nil
	})
	fails(t, secondAddr, "usage", "join")

	if out := ok(t, secondAddr, "leave"); !strings.Contains(out, "is leaving the swarm") {
		t.Fatalf("leave: %q", out)
	}
	waitFor(t, 60*time.Second, "the second node's API to stop", func() error {
		if r := hive(t, secondAddr, "--stale", "status"); r.err == nil {
			return fmt.Errorf("still answering")
		}
		return nil
	})
}
