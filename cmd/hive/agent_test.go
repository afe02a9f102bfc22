package main

import (
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hive-swarm/hive/node"
)

// TestAgentSecondSignalForcesExit runs `hive agent -dev` in-process, holds
// its graceful leave open after a first SIGTERM, and checks that a second
// one makes it return at once with an error (exit status 1) and say so,
// as Consul's agent does; the abandoned stop then completes on its own.
func TestAgentSecondSignalForcesExit(t *testing.T) {
	release := make(chan struct{})
	leaving := make(chan struct{})
	a := startDevAgent(t, "agent-force", func(rt *runtime) {
		rt.leave = func(ctx context.Context, n *node.Node) error {
			close(leaving)
			<-release // an operator's leave that takes its time
			return n.Leave(ctx)
		}
	})
	ch, done, stderr := a.signals, a.done, a.stderr
	addr := strings.TrimPrefix(a.url, "http://")

	ch <- syscall.SIGTERM
	select {
	case <-leaving:
	case err := <-done:
		t.Fatalf("agent exited after one signal while its leave was held: %v\nstderr: %s", err, stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("the leave did not begin\nstderr: %s", stderr)
	}
	ch <- syscall.SIGTERM
	select {
	case err := <-done:
		var ce *cliError
		if !errors.As(err, &ce) || ce.code != "interrupted" {
			t.Fatalf("agent after a second SIGTERM returned %v, want an interrupted error (exit status 1)", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("agent did not exit promptly after a second SIGTERM\nstderr: %s", stderr)
	}
	if !strings.Contains(stderr.String(), "again; exiting now") {
		t.Errorf("stderr does not say it is exiting: %s", stderr)
	}

	// The abandoned leave finishes and stops the node; nothing is left
	// running (TestMain checks for leaked goroutines).
	close(release)
	stopped := make(chan struct{})
	go func() { a.rt.stopping.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(60 * time.Second):
		t.Fatalf("the abandoned stop did not finish\nstderr: %s", stderr)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("the node still serves HTTP at %s", addr)
	}
}
