package tests

import (
	"bytes"
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
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hive-swarm/hive/api"
)

// hiveBin is the hive binary built once by TestMain.
var hiveBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "hive-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	hiveBin = filepath.Join(dir, "hive")
	build := exec.Command("go", "build", "-o", hiveBin, "github.com/hive-swarm/hive/cmd/hive")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building hive:", err)
		return 1
	}
	return m.Run()
}

// waitFor polls cond until it returns nil or the deadline passes; the last
// error is reported. Deadlines are generous: the CI machine is small.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for {
		if last = cond(); last == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %v", timeout, what, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitAllCompleted waits up to timeout until the node at addr lists every
// work order of ids as completed (of at most 1000 completed work orders).
// With stale it reads the node's own state instead of the leader's.
func waitAllCompleted(t *testing.T, timeout time.Duration, addr string, ids []string, stale bool) {
	t.Helper()
	url := addr + "/v1/workorders?state=completed&limit=1000"
	if stale {
		url += "&stale"
	}
	waitFor(t, timeout, "every work order completed", func() error {
		var l api.WorkOrderList
		if err := getJSON(url, &l); err != nil {
			return err
		}
		completed := make(map[string]bool, len(l.WorkOrders))
		for _, wo := range l.WorkOrders {
			completed[wo.ID] = true
		}
		n := 0
		for _, id := range ids {
			if completed[id] {
				n++
			}
		}
		if n != len(ids) {
			return fmt.Errorf("%d of %d completed", n, len(ids))
		}
		return nil
	})
}

// givenPorts are the ports freePort has handed out in this test process:
// the kernel may offer a port again once its probe closed, and two nodes
// given the same one fail to start.
var givenPorts = struct {
	sync.Mutex
	m map[int]bool
}{m: map[int]bool{}}

// freePort returns a port free for both TCP and UDP on 127.0.0.1 (gossip
// needs both) that it has not returned before.
func freePort(t *testing.T) int {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err != nil {
			continue
		}
		u.Close()
		givenPorts.Lock()
		dup := givenPorts.m[port]
		givenPorts.m[port] = true
		givenPorts.Unlock()
		if !dup {
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// agent is one `hive agent` process.
type agent struct {
	t                            *testing.T
	name, dataDir, logPath       string
	host                         string // the IP it binds to and advertises
	httpPort, raftPort, gossPort int
	wrap                         []string // command prefix, e.g. ip netns exec NS
	args                         []string
	cmd                          *exec.Cmd
	exited                       chan struct{}
}

func (a *agent) addr() string       { return fmt.Sprintf("http://%s:%d", a.host, a.httpPort) }
func (a *agent) gossipAddr() string { return net.JoinHostPort(a.host, strconv.Itoa(a.gossPort)) }

// newAgents prepares n agents on 127.0.0.1 that join each other through
// gossip and bootstrap once all n see each other.
func newAgents(t *testing.T, n int) []*agent {
	t.Helper()
	hosts := make([]string, n)
	for i := range hosts {
		hosts[i] = "127.0.0.1"
	}
	return newAgentsOn(t, hosts, nil)
}

// newAgentsOn prepares one agent per host IP, each started through its
// command prefix (wraps[i], may be nil), that join each other through
// gossip and bootstrap once all see each other.
func newAgentsOn(t *testing.T, hosts []string, wraps [][]string) []*agent {
	t.Helper()
	root := t.TempDir()
	n := len(hosts)
	agents := make([]*agent, n)
	for i := range agents {
		agents[i] = &agent{
			t:        t,
			name:     fmt.Sprintf("node%d", i+1),
			dataDir:  filepath.Join(root, fmt.Sprintf("node%d", i+1)),
			logPath:  filepath.Join(root, fmt.Sprintf("node%d.log", i+1)),
			host:     hosts[i],
			httpPort: freePort(t), raftPort: freePort(t), gossPort: freePort(t),
		}
		if wraps != nil {
			agents[i].wrap = wraps[i]
		}
	}
	for _, a := range agents {
		a.args = []string{"agent", "--name", a.name, "--data-dir", a.dataDir,
			"--bind", a.host, "--advertise", a.host,
			"--http-port", strconv.Itoa(a.httpPort), "--raft-port", strconv.Itoa(a.raftPort),
			"--gossip-port", strconv.Itoa(a.gossPort),
			"--bootstrap-expect", strconv.Itoa(n), "--log-level", "debug"}
		for _, b := range agents {
			if b != a {
				a.args = append(a.args, "--join", b.gossipAddr())
			}
		}
	}
	t.Cleanup(func() {
		for _, a := range agents {
			a.kill()
		}
		if t.Failed() {
			for _, a := range agents {
				if b, err := os.ReadFile(a.logPath); err == nil {
					t.Logf("---- log of %s (last 4 KiB) ----\n%s", a.name, tail(b, 4096))
				}
			}
		}
	})
	return agents
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// start launches the agent process (again, after a kill: same data dir).
func (a *agent) start() {
	a.t.Helper()
	logf, err := os.OpenFile(a.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		a.t.Fatal(err)
	}
	argv := append(append(append([]string(nil), a.wrap...), hiveBin), a.args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		a.t.Fatalf("starting %s: %v", a.name, err)
	}
	a.cmd = cmd
	a.exited = make(chan struct{})
	go func(exited chan struct{}) {
		_ = cmd.Wait()
		logf.Close()
		close(exited)
	}(a.exited)
}

// kill sends SIGKILL (kill -9) and waits for the process to be gone.
func (a *agent) kill() {
	if a.cmd == nil || a.cmd.Process == nil {
		return
	}
	_ = a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.exited
	a.cmd = nil
}

// cli runs the hive CLI against this agent and returns stdout; it fails the
// test on a non-zero exit.
func (a *agent) cli(args ...string) string {
	a.t.Helper()
	out, errOut, err := a.tryCLI(args...)
	if err != nil {
		a.t.Fatalf("hive %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

func (a *agent) tryCLI(args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, hiveBin, append([]string{"--address", a.addr()}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// client returns an API client for this agent.
func (a *agent) client() *api.Client {
	a.t.Helper()
	c, err := api.NewClient(&api.Config{Address: a.addr()})
	if err != nil {
		a.t.Fatal(err)
	}
	return c
}

// status reads /v1/status from this agent's local state.
func (a *agent) status() (*api.Status, error) {
	var st api.Status
	if err := getJSON(a.addr()+"/v1/status?stale", &st); err != nil {
		return nil, err
	}
	return &st, nil
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

func getJSON(url string, v any) error {
	resp, err := httpClient.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	return json.Unmarshal(body, v)
}

// createWO posts a work order with an idempotency key, retrying with the
// same key on ambiguous failures until ctx ends. It returns the ID only
// once the cluster acknowledged the write.
func createWO(ctx context.Context, addr, title, key string) (string, error) {
	body, _ := json.Marshal(api.CreateWorkOrderRequest{Title: title})
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, addr+"/v1/workorders", bytes.NewReader(body))
		if err != nil {
			return "", err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		resp, err := httpClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusCreated {
				var wo api.WorkOrder
				if err := json.Unmarshal(b, &wo); err != nil {
					return "", err
				}
				return wo.ID, nil
			}
			if resp.StatusCode != http.StatusServiceUnavailable && resp.StatusCode < 500 {
				return "", fmt.Errorf("create %q: %s: %s", title, resp.Status, b)
			}
		}
		select {
		case <-ctx.Done():
			return "", errors.Join(ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// leaderOf returns the index of the agent that all running agents agree
// is the leader.
func leaderOf(agents []*agent) (int, error) {
	leader := ""
	for _, a := range agents {
		if a.cmd == nil {
			continue
		}
		st, err := a.status()
		if err != nil {
			return -1, err
		}
		if st.Leader == "" {
			return -1, fmt.Errorf("%s knows no leader", a.name)
		}
		if leader != "" && st.Leader != leader {
			return -1, fmt.Errorf("%s sees leader %s, others %s", a.name, st.Leader, leader)
		}
		leader = st.Leader
	}
	for i, a := range agents {
		if a.name == leader && a.cmd != nil {
			return i, nil
		}
	}
	return -1, fmt.Errorf("leader %q is not a running agent", leader)
}

// startWithTestAgent starts the agents with the built-in test agent
// (capacity slots each) and the extra flags, waits until they agree on a
// leader and every one of them offers the test agent, and returns the
// leader's index.
func startWithTestAgent(t *testing.T, agents []*agent, capacity int, extra ...string) int {
	t.Helper()
	dir, err := testAgentDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range agents {
		a.args = append(a.args, "--plugin-dir", dir, "--agent-capacity", strconv.Itoa(capacity), "--log-level", "info")
		a.args = append(a.args, extra...)
		a.start()
	}
	var leader int
	waitFor(t, 60*time.Second, "a leader all nodes agree on", func() (err error) {
		leader, err = leaderOf(agents)
		return err
	})
	waitFor(t, 30*time.Second, "every node offering the test agent", func() error {
		var ml api.MemberList
		if err := getJSON(agents[leader].addr()+"/v1/members?stale", &ml); err != nil {
			return err
		}
		n := 0
		for _, m := range ml.Members {
			if m.Status == "alive" && len(m.AgentTypes) == 1 && m.AgentTypes[0].Type == "test" && m.AgentTypes[0].Capacity == capacity {
				n++
			}
		}
		if n != len(agents) {
			return fmt.Errorf("%d of %d alive members offer the test agent: %+v", n, len(agents), ml.Members)
		}
		return nil
	})
	return leader
}
