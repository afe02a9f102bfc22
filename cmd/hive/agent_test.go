package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
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
	old := agentLeave
	agentLeave = func(ctx context.Context, n *node.Node) error {
		close(leaving)
		<-release // an operator's leave that takes its time
		return n.Leave(ctx)
	}
	t.Cleanup(func() { agentLeave = old })

	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	app := newApp(strings.NewReader(""), stdout, stderr)
	sigs := make(chan chan<- os.Signal, 1)
	app.Metadata[metaRuntime] = &runtime{notify: func(ch chan<- os.Signal) func() {
		sigs <- ch
		return func() {}
	}}
	done := make(chan error, 1)
	go func() {
		done <- app.Run([]string{"hive", "agent", "-dev", "--name", "agent-force",
			"--http-port", "0", "--raft-port", "0", "--gossip-port", "0", "--log-level", "warn"})
	}()
	var ch chan<- os.Signal
	select {
	case ch = <-sigs:
	case err := <-done:
		t.Fatalf("agent returned before watching signals: %v\nstderr: %s", err, stderr)
	}
	httpLine := regexp.MustCompile(`HTTP:\s+http://(\S+)`)
	var addr string
	waitFor(t, 60*time.Second, "the banner", func() error {
		select {
		case err := <-done:
			return stopPolling{fmt.Errorf("agent exited: %v\nstderr: %s", err, stderr)}
		default:
		}
		m := httpLine.FindStringSubmatch(stdout.String())
		if m == nil {
			return fmt.Errorf("no HTTP address in %q", stdout)
		}
		addr = m[1]
		return nil
	})

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
	go func() { agentStopping.Wait(); close(stopped) }()
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
