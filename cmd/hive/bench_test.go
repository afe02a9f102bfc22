package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/urfave/cli/v2"

	"github.com/hive-swarm/hive/api"
)

// fakeAgentEnv makes the test binary, re-executed by a local bench
// cluster, act as a `hive agent` instead of running tests: "1" for one that
// stops on SIGTERM, "stubborn" for one that ignores it.
const fakeAgentEnv = "BENCH_FAKE_AGENT"

// TestBenchFakeAgent is not a test: it is the fake agent's main when the
// test binary runs as a bench cluster's child.
func TestBenchFakeAgent(t *testing.T) {
	mode := os.Getenv(fakeAgentEnv)
	if mode == "" {
		t.Skip("only runs as a child of the bench tests")
	}
	args := flag.Args()
	if len(args) == 0 || args[0] != "agent" {
		fmt.Fprintf(os.Stderr, "fake agent: want agent …, got %q\n", args)
		os.Exit(2)
	}
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	name := fs.String("name", "", "")
	port := fs.Int("http-port", 0, "")
	expect := fs.Int("bootstrap-expect", 0, "")
	fs.String("data-dir", "", "")
	fs.String("bind", "", "")
	fs.String("advertise", "", "")
	fs.Int("raft-port", 0, "")
	gossipPort := fs.Int("gossip-port", 0, "")
	fs.String("join", "", "")
	if err := fs.Parse(args[1:]); err != nil {
		os.Exit(2)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(api.Status{Node: *name, Leader: "bench0", Voters: *expect})
	})
	mux.HandleFunc("POST /v1/workorders", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"id":"WO-1","state":"queued"}`))
	})
	if mode == "crash" {
		fmt.Fprintln(os.Stderr, "fake agent: boom")
		os.Exit(3)
	}
	srv := &http.Server{Addr: fmt.Sprintf("127.0.0.1:%d", *port), Handler: mux}
	go func() { _ = srv.ListenAndServe() }()
	// The gossip port only has to accept connections.
	gossip, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *gossipPort))
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake agent:", err)
		os.Exit(2)
	}
	go func() {
		for {
			c, err := gossip.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	// Never outlive a test run that died without stopping us.
	orphan := time.After(2 * time.Minute)
	for {
		select {
		case <-sigs:
			if mode != "stubborn" {
				os.Exit(0)
			}
		case <-orphan:
			os.Exit(4)
		}
	}
}

// useFakeAgent makes local bench clusters run fake agents, and hides a
// HIVE_ADDR of the environment, which would point the bench elsewhere.
func useFakeAgent(t *testing.T, mode string) {
	t.Helper()
	t.Setenv(fakeAgentEnv, mode)
	if addr, ok := os.LookupEnv("HIVE_ADDR"); ok {
		os.Unsetenv("HIVE_ADDR")
		t.Cleanup(func() { os.Setenv("HIVE_ADDR", addr) })
	}
	old := benchAgentCommand
	benchAgentCommand = func() (string, []string, error) {
		return os.Args[0], []string{"-test.run=^TestBenchFakeAgent$", "--"}, nil
	}
	t.Cleanup(func() { benchAgentCommand = old })
}

func startFakeCluster(t *testing.T, mode string, nodes int) (*localCluster, error) {
	t.Helper()
	useFakeAgent(t, mode)
	exe, prefix, _ := benchAgentCommand()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lc, err := startLocalCluster(ctx, localClusterConfig{
		Nodes: nodes, Exe: exe, ArgsPrefix: prefix, Timeout: 20 * time.Second, Logger: testLogger(t),
	})
	if lc != nil {
		t.Cleanup(func() { _ = lc.Stop(time.Second) })
	}
	return lc, err
}

func testLogger(t *testing.T) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: "bench", Level: hclog.Debug, Output: testWriter{t}})
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestLocalClusterStartStop(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	lc, err := startFakeCluster(t, "1", 3)
	if err != nil {
		t.Fatal(err)
	}
	addrs := lc.HTTPAddrs()
	if len(addrs) != 3 {
		t.Fatalf("addresses = %v, want 3", addrs)
	}
	for _, a := range addrs {
		if !strings.HasPrefix(a, "http://127.0.0.1:") {
			t.Errorf("address %q is not on 127.0.0.1", a)
		}
	}
	if err := lc.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	for _, n := range lc.nodes {
		if !exited(n) || n.waitErr != nil {
			t.Errorf("%s: exited %v with %v, want a clean exit on SIGTERM", n.name, exited(n), n.waitErr)
		}
	}
	assertEmptyDir(t, tmp)
}

func TestLocalClusterKillsStubbornAgents(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	lc, err := startFakeCluster(t, "stubborn", 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := lc.Stop(100 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	for _, n := range lc.nodes {
		if !exited(n) || n.waitErr == nil {
			t.Errorf("%s: exited %v with %v, want killed", n.name, exited(n), n.waitErr)
		}
	}
	assertEmptyDir(t, tmp)
}

func TestLocalClusterStartFailure(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	_, err := startFakeCluster(t, "crash", 3)
	if err == nil || !strings.Contains(err.Error(), "exited during start-up") || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v, want the agent's exit and its output", err)
	}
	assertEmptyDir(t, tmp)
}

func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("left behind: %s", e.Name())
	}
}

func TestFreePorts(t *testing.T) {
	ports, err := freePorts(9)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p <= 0 || seen[p] {
			t.Fatalf("ports %v: bad or repeated %d", ports, p)
		}
		seen[p] = true
	}
}

// benchApp is the command line with only the global flags and bench.
func benchApp(stdout, stderr *bytes.Buffer) *cli.App {
	return &cli.App{
		Name: "hive", Flags: globalFlags(), Commands: []*cli.Command{benchCommand()},
		Writer: stdout, ErrWriter: stderr, ExitErrHandler: func(*cli.Context, error) {},
	}
}

func runBenchApp(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = benchApp(&out, &errOut).Run(append([]string{"hive"}, args...))
	t.Logf("hive %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), out.String(), errOut.String())
	return out.String(), errOut.String(), err
}

func TestBenchCreateLocalSweep(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	useFakeAgent(t, "1")
	out, _, err := runBenchApp(t, "-json", "--log-level", "warn", "bench", "create", "--local", "2", "-c", "2,4", "-n", "40", "--warmup", "0")
	if err != nil {
		t.Fatal(err)
	}
	var report benchReport
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatal(err)
	}
	if !report.Local || report.Nodes != 2 || len(report.Points) != 2 {
		t.Fatalf("report = %+v, want a local 2-node run with 2 points", report)
	}
	for i, p := range report.Points {
		if p.Clients != []int{2, 4}[i] || p.Hive == nil || p.Hive.Ops != 40 || p.Hive.Errors != 0 || p.Raft != nil {
			t.Errorf("point %d = %+v, hive %+v: want 40 creates and no baseline", i, p, p.Hive)
		}
	}
	assertEmptyDir(t, tmp)
}

func TestBenchCreateBaselineTable(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	useFakeAgent(t, "1")
	out, _, err := runBenchApp(t, "--log-level", "warn", "bench", "create", "--local", "3", "--baseline", "-c", "3", "-n", "30", "--warmup", "0")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"3-node local cluster", "scenario", "raft", "hive", "hive/raft", "30 requests"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q", want)
		}
	}
	assertEmptyDir(t, tmp)
}

func TestBenchCreateRemoteErrors(t *testing.T) {
	var creates atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/status" {
			_ = json.NewEncoder(w).Encode(api.Status{Node: "n1", Leader: "n1", Voters: 1})
			return
		}
		if creates.Add(1)%2 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"error":{"code":"no_leader","message":"no leader"}}`))
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	out, _, err := runBenchApp(t, "--address", srv.URL, "bench", "create", "-c", "2", "-n", "20", "--warmup", "0")
	var ce *cliError
	if !errors.As(err, &ce) || ce.code != "bench_errors" {
		t.Fatalf("err = %v, want bench_errors", err)
	}
	if !strings.Contains(out, "503 no_leader ×10") {
		t.Errorf("output does not account for the errors")
	}
	if creates.Load() != 20 {
		t.Errorf("server saw %d creates, want 20", creates.Load())
	}
}

func TestBenchCreateFlags(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "create", "-c", "0"},
		{"bench", "create", "-c", "1,x"},
		{"bench", "create", "--local", "0"},
		{"--address", "http://127.0.0.1:1", "bench", "create", "--local", "3"},
		{"--address", "ftp://x", "bench", "create"},
		{"bench", "create", "-n", "0"},
		{"bench", "create", "--entry-size", "0"},
		{"bench", "create", "stray"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			useFakeAgent(t, "crash") // a flag check that slipped would fail at start-up, not hang
			if _, _, err := runBenchApp(t, args...); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestBenchCreateLeaderOnly(t *testing.T) {
	var creates [2]atomic.Int64
	var srvs [2]*httptest.Server
	for i, state := range []string{"Follower", "Leader"} {
		srvs[i] = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v1/status" {
				_ = json.NewEncoder(w).Encode(api.Status{Node: state, Leader: "Leader", RaftState: state, Voters: 2})
				return
			}
			creates[i].Add(1)
			w.WriteHeader(http.StatusCreated)
		}))
		defer srvs[i].Close()
	}
	out, _, err := runBenchApp(t, "--address", srvs[0].URL+","+srvs[1].URL, "bench", "create", "--leader-only",
		"-c", "2", "-n", "20", "--warmup", "0")
	if err != nil {
		t.Fatal(err)
	}
	if creates[0].Load() != 0 || creates[1].Load() != 20 {
		t.Errorf("follower saw %d creates, leader %d: want 0 and 20", creates[0].Load(), creates[1].Load())
	}
	if !strings.Contains(out, "requests to the leader only") {
		t.Errorf("the table does not say the requests went to the leader only")
	}
}
