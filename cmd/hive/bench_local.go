package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/hive-swarm/hive/api"
)

// localCluster is a throwaway Hive cluster that `hive bench` runs as child
// processes of its own binary, every port on 127.0.0.1, every byte of state
// under one temporary directory that Stop removes.
type localCluster struct {
	dir    string
	nodes  []*localNode
	logger hclog.Logger
	once   sync.Once
}

// localNode is one `hive agent` child process.
type localNode struct {
	name       string
	httpAddr   string // http://127.0.0.1:PORT
	gossipAddr string // 127.0.0.1:PORT
	logPath    string
	cmd        *exec.Cmd
	done       chan struct{} // closed once the process has exited
	waitErr    error         // set before done is closed
}

// localClusterConfig says how to start a local cluster.
type localClusterConfig struct {
	Nodes      int
	Exe        string        // binary to run as `Exe ArgsPrefix… agent …`; default os.Executable()
	ArgsPrefix []string      // arguments before "agent" (tests use it to re-execute the test binary)
	Timeout    time.Duration // how long start-up may take, until every node agrees on a leader
	Debug      bool          // serve Go's profiler on every node (hive agent --enable-debug)
	Logger     hclog.Logger
}

// startLocalCluster starts cfg.Nodes agents and waits until they have
// elected a leader with all of them in the raft configuration. On error it stops whatever
// it started and removes the directory.
func startLocalCluster(ctx context.Context, cfg localClusterConfig) (lc *localCluster, err error) {
	if cfg.Nodes < 1 {
		return nil, fmt.Errorf("--local must be at least 1, got %d", cfg.Nodes)
	}
	if cfg.Exe == "" {
		if cfg.Exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("find own binary: %w", err)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	dir, err := os.MkdirTemp("", "hive-bench-")
	if err != nil {
		return nil, err
	}
	lc = &localCluster{dir: dir, logger: cfg.Logger}
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w%s", err, lc.logTails())
			_ = lc.Stop(5 * time.Second)
			lc = nil
		}
	}()
	ports, err := freePorts(3 * cfg.Nodes)
	if err != nil {
		return lc, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	for i := range cfg.Nodes {
		httpPort, raftPort, gossipPort := ports[3*i], ports[3*i+1], ports[3*i+2]
		n := &localNode{
			name:       fmt.Sprintf("bench%d", i),
			httpAddr:   fmt.Sprintf("http://127.0.0.1:%d", httpPort),
			gossipAddr: fmt.Sprintf("127.0.0.1:%d", gossipPort),
			done:       make(chan struct{}),
		}
		n.logPath = filepath.Join(dir, n.name+".log")
		args := append(slices.Clone(cfg.ArgsPrefix), "agent",
			"--name", n.name,
			"--data-dir", filepath.Join(dir, n.name),
			"--bind", "127.0.0.1",
			"--advertise", "127.0.0.1",
			"--http-port", strconv.Itoa(httpPort),
			"--raft-port", strconv.Itoa(raftPort),
			"--gossip-port", strconv.Itoa(gossipPort),
			"--bootstrap-expect", strconv.Itoa(cfg.Nodes),
		)
		if cfg.Debug {
			args = append(args, "--enable-debug")
			cfg.Logger.Info("node profiler", "name", n.name, "url", n.httpAddr+"/debug/pprof/")
		}
		if i > 0 {
			// The first node's gossip port is known to be listening.
			args = append(args, "--join", lc.nodes[0].gossipAddr)
		}
		if err := lc.spawn(n, cfg.Exe, args); err != nil {
			return lc, err
		}
		if i == 0 && cfg.Nodes > 1 {
			if err := waitListening(ctx, n); err != nil {
				return lc, err
			}
		}
	}
	if err := lc.waitReady(ctx); err != nil {
		return lc, err
	}
	return lc, nil
}

// spawn starts one agent with its output going to its log file.
func (lc *localCluster) spawn(n *localNode, exe string, args []string) error {
	logFile, err := os.Create(n.logPath)
	if err != nil {
		return err
	}
	defer logFile.Close() // the child has its own copy
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = childEnv()
	cmd.SysProcAttr = childSysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", n.name, err)
	}
	n.cmd = cmd
	lc.nodes = append(lc.nodes, n)
	lc.logger.Debug("started agent", "name", n.name, "pid", cmd.Process.Pid, "http", n.httpAddr)
	go func() {
		n.waitErr = cmd.Wait()
		close(n.done)
	}()
	return nil
}

// childEnv is this process's environment without HIVE_* variables, so a
// user's settings for their real nodes cannot leak into the bench cluster.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HIVE_") {
			env = append(env, kv)
		}
	}
	return env
}

// waitListening waits until n accepts TCP connections on its gossip port.
func waitListening(ctx context.Context, n *localNode) error {
	return poll(ctx, 20*time.Millisecond, func() error {
		if exited(n) {
			return stopPolling{fmt.Errorf("%s exited during start-up: %v", n.name, n.waitErr)}
		}
		c, err := net.DialTimeout("tcp", n.gossipAddr, time.Second)
		if err != nil {
			return fmt.Errorf("%s gossip port %s not listening: %w", n.name, n.gossipAddr, err)
		}
		return c.Close()
	})
}

// waitReady waits until every node names the same leader and the leader
// has every node in its raft configuration (as a voter, or a non-voter when
// Hive keeps an odd number of voters).
func (lc *localCluster) waitReady(ctx context.Context) error {
	client := &http.Client{Timeout: 2 * time.Second}
	defer client.CloseIdleConnections()
	return poll(ctx, 50*time.Millisecond, func() error {
		leader := ""
		servers := 0
		for _, n := range lc.nodes {
			if exited(n) {
				return stopPolling{fmt.Errorf("%s exited during start-up: %v", n.name, n.waitErr)}
			}
			st, err := fetchStatus(ctx, client, n.httpAddr)
			if err != nil {
				return err
			}
			if st.Leader == "" || leader != "" && st.Leader != leader {
				return fmt.Errorf("%s sees leader %q", n.name, st.Leader)
			}
			leader = st.Leader
			if st.Leader == st.Node {
				servers = st.Voters + st.NonVoters
			}
		}
		if servers < len(lc.nodes) {
			return fmt.Errorf("leader %s has %d servers in its configuration, want %d", leader, servers, len(lc.nodes))
		}
		return nil
	})
}

// waitLeader waits until the node at addr reports a leader.
func waitLeader(ctx context.Context, addr string) error {
	client := &http.Client{Timeout: 2 * time.Second}
	defer client.CloseIdleConnections()
	return poll(ctx, 50*time.Millisecond, func() error {
		st, err := fetchStatus(ctx, client, addr)
		if err == nil && st.Leader == "" {
			err = fmt.Errorf("%s has no leader", addr)
		}
		return err
	})
}

// findLeader returns the one of addrs whose node is the raft leader,
// waiting until ctx is done for one of them to be.
func findLeader(ctx context.Context, addrs []string) (string, error) {
	client := &http.Client{Timeout: 2 * time.Second}
	defer client.CloseIdleConnections()
	var leader string
	err := poll(ctx, 50*time.Millisecond, func() error {
		for _, a := range addrs {
			st, err := fetchStatus(ctx, client, a)
			if err == nil && st.RaftState == "Leader" {
				leader = a
				return nil
			}
		}
		return fmt.Errorf("none of %v is the leader", addrs)
	})
	if err != nil {
		return "", fmt.Errorf("--leader-only: %w", err)
	}
	return leader, nil
}

// fetchStatus reads GET /v1/status from the node at base.
func fetchStatus(ctx context.Context, client *http.Client, base string) (*api.Status, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/status", nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil, fmt.Errorf("%s/v1/status: HTTP %d", base, resp.StatusCode)
	}
	var st api.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil, fmt.Errorf("%s/v1/status: %w", base, err)
	}
	return &st, nil
}

// stopPolling makes poll give up at once with the wrapped error.
type stopPolling struct{ error }

// poll calls cond every interval until it returns nil, returns a
// stopPolling, or ctx ends; the error then says what was last seen.
func poll(ctx context.Context, interval time.Duration, cond func() error) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return nil
		}
		var stop stopPolling
		if errors.As(err, &stop) {
			return stop.error
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

func exited(n *localNode) bool {
	select {
	case <-n.done:
		return true
	default:
		return false
	}
}

// HTTPAddrs returns every node's HTTP base URL.
func (lc *localCluster) HTTPAddrs() []string {
	out := make([]string, len(lc.nodes))
	for i, n := range lc.nodes {
		out[i] = n.httpAddr
	}
	return out
}

// Stop stops every agent, waits for all of them and removes the
// cluster's directory. An agent's first SIGTERM starts a graceful leave,
// its second makes it exit at once; a throwaway cluster needs no leave, so
// Stop repeats SIGTERM until the agent exits, and kills those still
// running after grace. It is safe to call more than once.
func (lc *localCluster) Stop(grace time.Duration) error {
	var err error
	lc.once.Do(func() {
		deadline := time.Now().Add(grace)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			running := 0
			for _, n := range lc.nodes {
				if !exited(n) {
					running++
					_ = n.cmd.Process.Signal(syscall.SIGTERM)
				}
			}
			if running == 0 || !time.Now().Before(deadline) {
				break
			}
			<-tick.C
		}
		for _, n := range lc.nodes {
			if !exited(n) {
				lc.logger.Warn("agent did not stop in time; killing it", "name", n.name, "grace", grace)
				_ = n.cmd.Process.Kill()
			}
			<-n.done
		}
		err = os.RemoveAll(lc.dir)
	})
	return err
}

// logTails returns the last lines of every agent's log, for an error
// message.
func (lc *localCluster) logTails() string {
	var b strings.Builder
	for _, n := range lc.nodes {
		f, err := os.Open(n.logPath)
		if err != nil {
			continue
		}
		const tail = 2048
		if st, err := f.Stat(); err == nil && st.Size() > tail {
			_, _ = f.Seek(-tail, io.SeekEnd)
		}
		data, _ := io.ReadAll(f)
		_ = f.Close()
		fmt.Fprintf(&b, "\n--- last output of %s ---\n%s", n.name, strings.TrimRight(string(data), "\n"))
	}
	return b.String()
}

// freePorts returns n distinct ports that were free on 127.0.0.1 for both
// TCP and UDP (gossip uses both) a moment ago. Another process may still
// take one before the agents bind it; start-up then fails with the
// agent's own message.
func freePorts(n int) ([]int, error) {
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			_ = c.Close()
		}
	}()
	var ports []int
	for attempts := 0; len(ports) < n; attempts++ {
		if attempts > 100*n {
			return nil, errors.New("no free ports on 127.0.0.1")
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		closers = append(closers, l)
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue // UDP side taken: try another
		}
		closers = append(closers, u)
		ports = append(ports, port)
	}
	return ports, nil
}
