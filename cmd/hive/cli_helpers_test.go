package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/node"
)

// testNode is one real dev node shared by the tests of this package,
// started on first use on 127.0.0.1 with ports picked by the OS.
var testNode struct {
	once sync.Once
	n    *node.Node
	addr string
	err  error
}

// nodeAddr returns the shared node's HTTP base URL, starting the node
// and waiting for it to lead on first use.
func nodeAddr(t *testing.T) string {
	t.Helper()
	testNode.once.Do(func() {
		testNode.n, testNode.addr, testNode.err = startNode("cli-test")
	})
	if testNode.err != nil {
		t.Fatalf("starting the test node: %v", testNode.err)
	}
	return testNode.addr
}

// stopTestNode shuts the shared node down (TestMain calls it).
func stopTestNode() {
	if testNode.n != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = testNode.n.Shutdown(ctx)
	}
}

// testLogOutput is where nodes started by tests log: nowhere, unless
// HIVE_TEST_LOG is set.
func testLogOutput() io.Writer {
	if os.Getenv("HIVE_TEST_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}

// startNode starts a dev node with tightened raft timings and waits until
// it leads.
func startNode(name string) (*node.Node, string, error) {
	return startNodeWith(name, nil)
}

// startNodeWith is startNode with mutate applied to the configuration
// last; a node that does not bootstrap is not waited for to lead.
func startNodeWith(name string, mutate func(*node.Config)) (*node.Node, string, error) {
	cfg := node.DefaultConfig()
	cfg.Name = name
	cfg.Dev = true
	cfg.BootstrapExpect = 1
	cfg.BindAddr = "127.0.0.1"
	cfg.AdvertiseAddr = "127.0.0.1"
	cfg.HTTPPort, cfg.RaftPort, cfg.GossipPort = 0, 0, 0
	cfg.RaftTimeouts.Heartbeat = 200 * time.Millisecond
	cfg.RaftTimeouts.Election = 200 * time.Millisecond
	cfg.RaftTimeouts.LeaderLease = 100 * time.Millisecond
	cfg.RaftTimeouts.CommitTimeout = 5 * time.Millisecond
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: name, Level: hclog.Debug, Output: testLogOutput()})
	if mutate != nil {
		mutate(&cfg)
	}
	n, err := node.New(cfg)
	if err != nil {
		return nil, "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := n.Start(ctx); err != nil {
		return nil, "", err
	}
	addr := "http://" + n.HTTPAddr()
	if cfg.BootstrapExpect == 0 {
		return n, addr, nil
	}
	cl, err := api.NewClient(&api.Config{Address: addr})
	if err != nil {
		return nil, "", err
	}
	err = poll(ctx, 20*time.Millisecond, func() error {
		st, err := cl.Agent().Status(ctx, &api.QueryOptions{Stale: true})
		if err != nil {
			return err
		}
		if st.RaftState != "Leader" {
			return fmt.Errorf("raft state %s", st.RaftState)
		}
		return nil
	})
	if err != nil {
		sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer scancel()
		_ = n.Shutdown(sctx)
		return nil, "", fmt.Errorf("waiting for leadership: %w", err)
	}
	return n, addr, nil
}

// ownNode starts a node of its own (startNodeWith, each mutate applied
// in turn) for a test that changes what the shared node's tests rely on,
// such as the scheduler policy, or needs other settings, and shuts it down
// when the test ends. It returns the node's HTTP base URL.
func ownNode(t *testing.T, name string, mutate ...func(*node.Config)) string {
	t.Helper()
	n, addr, err := startNodeWith(name, func(c *node.Config) {
		for _, m := range mutate {
			m(c)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = n.Shutdown(ctx)
	})
	return addr
}

// waitFor polls cond until it returns nil, failing the test with the last
// error after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := poll(ctx, 20*time.Millisecond, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// result is what one run of the command line did.
type result struct {
	stdout, stderr string
	err            error
}

// hive runs the command line in-process with args against addr (when not
// empty), the way main does, and returns what it printed.
func hive(t *testing.T, addr string, args ...string) result {
	t.Helper()
	return hiveStdin(t, addr, "", args...)
}

// hiveStdin is hive with stdin as standard input. Its output buffers are
// safe for goroutines that may still write (to stderr) after the command
// returned, such as the nodes of a bench while their connections close.
func hiveStdin(t *testing.T, addr, stdin string, args ...string) result {
	t.Helper()
	var out, errOut syncBuffer
	app := newApp(strings.NewReader(stdin), &out, &errOut)
	argv := []string{"hive"}
	if addr != "" {
		argv = append(argv, "--address", addr)
	}
	err := app.Run(append(argv, args...))
	r := result{stdout: out.String(), stderr: errOut.String(), err: err}
	t.Logf("hive %s\n  err: %v\n  stdout: %s\n  stderr: %s", strings.Join(args, " "), err, r.stdout, r.stderr)
	return r
}

// ok runs args and fails the test unless they succeed; it returns stdout.
func ok(t *testing.T, addr string, args ...string) string {
	t.Helper()
	r := hive(t, addr, args...)
	if r.err != nil {
		t.Fatalf("hive %s: %v\nstderr: %s", strings.Join(args, " "), r.err, r.stderr)
	}
	if r.stderr != "" && !strings.HasPrefix(r.stderr, "Exported") && !strings.HasPrefix(r.stderr, "More") {
		t.Errorf("hive %s: unexpected stderr %q", strings.Join(args, " "), r.stderr)
	}
	return r.stdout
}

// fails runs args and fails the test unless they fail with "(code)" on
// stderr; it returns stderr.
func fails(t *testing.T, addr, code string, args ...string) string {
	t.Helper()
	r := hive(t, addr, args...)
	if r.err == nil {
		t.Fatalf("hive %s succeeded, want failure with %s\nstdout: %s", strings.Join(args, " "), code, r.stdout)
	}
	if !strings.HasPrefix(r.stderr, "Error: ") || !strings.Contains(r.stderr, "("+code+")") {
		t.Fatalf("hive %s: stderr %q, want \"Error: … (%s)\"", strings.Join(args, " "), r.stderr, code)
	}
	if strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("hive %s: error is more than one line: %q", strings.Join(args, " "), r.stderr)
	}
	return r.stderr
}

// decode parses JSON output into v, failing the test on error.
func decode(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("output is not the expected JSON: %v\n%s", err, s)
	}
}

// createWO creates a work order through the CLI and returns it.
func createWO(t *testing.T, addr string, args ...string) *api.WorkOrder {
	t.Helper()
	var wo api.WorkOrder
	decode(t, ok(t, addr, append([]string{"wo", "create", "-json"}, args...)...), &wo)
	if wo.ID == "" {
		t.Fatalf("created work order has no ID: %+v", wo)
	}
	return &wo
}

// syncBuffer is a bytes.Buffer safe for one writer and a polling reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
