package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hive-swarm/hive/api"
)

// TestAgentDevRunsAndLeavesOnSignal runs `hive agent -dev` in-process on
// free ports, talks to it through the CLI, and stops it the way an
// operator does: the first signal makes it leave gracefully and return nil.
func TestAgentDevRunsAndLeavesOnSignal(t *testing.T) {
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	app := newApp(strings.NewReader(""), stdout, stderr)
	sigs := make(chan chan<- os.Signal, 1)
	app.Metadata[metaRuntime] = &runtime{notify: func(ch chan<- os.Signal) func() {
		sigs <- ch
		return func() {}
	}}
	done := make(chan error, 1)
	go func() {
		done <- app.Run([]string{"hive", "agent", "-dev", "--name", "agent-test",
			"--http-port", "0", "--raft-port", "0", "--gossip-port", "0", "--log-level", "warn"})
	}()
	var ch chan<- os.Signal
	select {
	case ch = <-sigs:
	case err := <-done:
		t.Fatalf("agent returned before watching signals: %v\nstderr: %s", err, stderr)
	}

	httpLine := regexp.MustCompile(`HTTP:\s+(http://\S+)`)
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
	for _, want := range []string{"agent-test", "Raft:", "Gossip:", "Data dir:"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, stdout)
		}
	}
	waitFor(t, 60*time.Second, "the dev node to lead", func() error {
		var out, errOut bytes.Buffer
		if err := newApp(nil, &out, &errOut).Run([]string{"hive", "--address", addr, "--stale", "status", "-json"}); err != nil {
			return fmt.Errorf("%v: %s", err, errOut.String())
		}
		var st api.Status
		if err := json.Unmarshal(out.Bytes(), &st); err != nil {
			return err
		}
		if st.RaftState != "Leader" {
			return fmt.Errorf("raft state %q", st.RaftState)
		}
		return nil
	})
	ok(t, addr, "wo", "create", "--title", "before leaving")

	ch <- syscall.SIGTERM
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("agent after SIGTERM: %v\nstderr: %s", err, stderr)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("agent did not exit after SIGTERM\nstderr: %s", stderr)
	}
	if !strings.Contains(stderr.String(), "leaving the swarm gracefully") {
		t.Errorf("stderr does not say it is leaving: %s", stderr)
	}
}
