package plugins

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hive-swarm/hive/plugins/internal/plugintest"
	"go.uber.org/goleak"
)

// The tests run real plugin processes: the built-in test agent and the
// plugins under testdata, built once per test binary with go build.

var bins *plugintest.Builder

func TestMain(m *testing.M) {
	b, err := plugintest.NewBuilder()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bins = b
	code := m.Run()
	_ = b.Close()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// testAgent returns the path of hive-agent-test.
func testAgent(t testing.TB) string {
	t.Helper()
	p, err := bins.Package(plugintest.TestAgent, "hive-agent-test")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// futurePlugin returns the path of a plugin that speaks only protocol
// version 99.
func futurePlugin(t testing.TB) string {
	t.Helper()
	p, err := bins.Package("./testdata/futureplugin", "hive-agent-future")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// logSink is an hclog output that keeps every line (for assertions) and
// passes it to t.Log while the test runs.
type logSink struct {
	t     testing.TB
	mu    sync.Mutex
	lines []string
	done  bool
}

func newLogger(t testing.TB) (hclog.Logger, *logSink) {
	s := &logSink{t: t}
	t.Cleanup(func() { // registered first, so it runs last
		s.mu.Lock()
		s.done = true
		s.mu.Unlock()
	})
	return hclog.New(&hclog.LoggerOptions{Name: "host", Level: hclog.Trace, Output: s}), s
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	line := strings.TrimRight(string(p), "\n")
	s.lines = append(s.lines, line)
	if !s.done {
		s.t.Log(line)
	}
	return len(p), nil
}

// find returns the first line containing every one of parts.
func (s *logSink) find(parts ...string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
next:
	for _, l := range s.lines {
		for _, p := range parts {
			if !strings.Contains(l, p) {
				continue next
			}
		}
		return l, true
	}
	return "", false
}

// waitFor polls cond every 10 ms until it returns nil, failing the test
// with its last error after timeout. Timeouts are generous: they only
// bound a test that would otherwise hang.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// launch starts the test agent and closes it at the end of the test.
func launch(t testing.TB, cfg LaunchConfig) *Client {
	t.Helper()
	if cfg.Path == "" {
		cfg.Path = testAgent(t)
	}
	if cfg.Logger == nil {
		cfg.Logger, _ = newLogger(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := Launch(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// testCtx is a context for one test step, bounded generously.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}
