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
	a := startDevAgent(t, "agent-test")
	ch, done, stdout, stderr, addr := a.signals, a.done, a.stdout, a.stderr, a.url
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

// devAgent is `hive agent -dev` running in-process on free ports, its
// signals delivered by the test.
type devAgent struct {
	signals        chan<- os.Signal // the agent's signal channel
	done           chan error       // receives what app.Run returned
	stdout, stderr *syncBuffer
	url            string   // its HTTP API, from the banner
	rt             *runtime // its runtime, in the app's metadata
}

// startDevAgent runs `hive agent -dev --name name` and waits until it
// watches signals and has printed its banner. Each setup, if any, may
// change the agent's runtime (its signals are always the test's) before
// it starts.
func startDevAgent(t *testing.T, name string, setup ...func(*runtime)) *devAgent {
	t.Helper()
	a := &devAgent{done: make(chan error, 1), stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	app := newApp(strings.NewReader(""), a.stdout, a.stderr)
	sigs := make(chan chan<- os.Signal, 1)
	a.rt = defaultRuntime()
	for _, f := range setup {
		f(a.rt)
	}
	a.rt.notify = func(ch chan<- os.Signal) func() {
		sigs <- ch
		return func() {}
	}
	app.Metadata[metaRuntime] = a.rt
	go func() {
		a.done <- app.Run([]string{"hive", "agent", "-dev", "--name", name,
			"--http-port", "0", "--raft-port", "0", "--gossip-port", "0", "--log-level", "warn"})
	}()
	select {
	case a.signals = <-sigs:
	case err := <-a.done:
		t.Fatalf("agent returned before watching signals: %v\nstderr: %s", err, a.stderr)
	}
	httpLine := regexp.MustCompile(`HTTP:\s+(http://\S+)`)
	waitFor(t, 60*time.Second, "the banner", func() error {
		select {
		case err := <-a.done:
			return stopPolling{fmt.Errorf("agent exited: %v\nstderr: %s", err, a.stderr)}
		default:
		}
		m := httpLine.FindStringSubmatch(a.stdout.String())
		if m == nil {
			return fmt.Errorf("no HTTP address in %q", a.stdout)
		}
		a.url = m[1]
		return nil
	})
	return a
}
