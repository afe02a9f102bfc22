package tests

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hive-swarm/hive/api"
)

// dockerSwarm is the three-node swarm of deploy/docker-compose.yml, made
// for one test: the FROM scratch image of deploy/Dockerfile, built from
// static binaries, run as three containers, each with its own address,
// hostname and data volume on a private network, as three machines run
// the README's walk-through.
type dockerSwarm struct {
	t       *testing.T
	project string // the compose project, unique to this test process
	image   string
	env     []string
	nodes   []*agent          // n1, n2, n3: their container addresses, port 7070
	ids     map[string]string // container ID by service; kept across stop and start
}

// dockerCmdTimeout bounds every docker, docker-compose and go build
// command of the container test, so that a stuck engine fails the test,
// and lets its cleanup finish, instead of hanging it.
const dockerCmdTimeout = 3 * time.Minute

// runCmd runs a command with env (nil: this process's) and returns its
// combined output, killing it after dockerCmdTimeout.
func runCmd(env []string, dir, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dockerCmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env, cmd.Dir = env, dir
	cmd.WaitDelay = 5 * time.Second // a killed command's children may hold the output open
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (killed after %s)", err, dockerCmdTimeout)
	}
	return string(out), err
}

// requireDocker skips (or, under CI, fails) unless the Docker engine and
// docker-compose answer.
func requireDocker(t *testing.T) {
	t.Helper()
	why := ""
	if out, err := runCmd(nil, "", "docker", "info", "--format", "{{.ServerVersion}}"); err != nil {
		why = fmt.Sprintf("needs a running Docker engine: docker info: %v: %s", err, strings.TrimSpace(out))
	} else if out, err := runCmd(nil, "", "docker-compose", "version"); err != nil {
		why = fmt.Sprintf("needs docker-compose: %v: %s", err, strings.TrimSpace(out))
	}
	if why == "" {
		return
	}
	if ci := os.Getenv("CI"); ci != "" && ci != "false" && ci != "0" {
		t.Fatalf("CI is set and the container test %s", why)
	}
	t.Skip(why)
}

// swarmImage is the image tag of a swarm's compose project.
func swarmImage(project string) string { return "hive-test:" + project }

// newDockerSwarm builds the image and starts the swarm; the test's
// cleanup removes the containers, their network and volumes, and the
// image.
func newDockerSwarm(t *testing.T) *dockerSwarm {
	t.Helper()
	requireDocker(t)
	ctxDir := t.TempDir()
	static := append(os.Environ(), "CGO_ENABLED=0")
	for bin, pkg := range map[string]string{"hive": "./cmd/hive", "hive-agent-test": "./agents/test"} {
		if out, err := runCmd(static, "..", "go", "build", "-trimpath", "-o", filepath.Join(ctxDir, "bin", bin), pkg); err != nil {
			t.Fatalf("static build of %s: %v\n%s", pkg, err, out)
		}
	}
	if err := os.MkdirAll(filepath.Join(ctxDir, "bin", "rootfs", "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	project := fmt.Sprintf("hivetest%d", os.Getpid())
	s := &dockerSwarm{t: t, project: project, image: swarmImage(project), ids: map[string]string{}}
	s.env = append(os.Environ(), "HIVE_IMAGE="+s.image, "HIVE_PUBLISH=127.0.0.1:")
	removeOrphanSwarms(t)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("container logs:\n%s", tail([]byte(s.tryCompose("logs", "--no-color", "--tail", "60")), 12000))
		}
		removeSwarm(t, project)
	})
	s.docker("build", "-q", "-t", s.image, "-f", "../deploy/Dockerfile", ctxDir)
	s.compose("up", "-d")
	for _, name := range []string{"n1", "n2", "n3"} {
		s.nodes = append(s.nodes, &agent{t: t, name: name, httpPort: 7070})
		if s.ids[name] = strings.TrimSpace(s.compose("ps", "-q", name)); s.ids[name] == "" {
			t.Fatalf("no container for %s", name)
		}
	}
	s.readAddrs()
	return s
}

// readAddrs reads the containers' addresses, which change when they
// restart.
func (s *dockerSwarm) readAddrs() {
	s.t.Helper()
	for _, a := range s.nodes {
		a.host = strings.TrimSpace(s.docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", s.ids[a.name]))
		if a.host == "" {
			s.t.Fatalf("container %s has no address", a.name)
		}
	}
}

// swarmProjectPattern matches the compose projects newDockerSwarm makes;
// the pid lets a later run remove what a killed run left behind.
var swarmProjectPattern = regexp.MustCompile(`^hivetest(\d+)$`)

// removeOrphanSwarms removes the swarms (containers, network, volumes,
// image) of test processes that are gone, whatever part of them is left.
func removeOrphanSwarms(t *testing.T) {
	t.Helper()
	label := `{{.Label "com.docker.compose.project"}}`
	var projects []string
	for _, list := range [][]string{
		{"ps", "-a", "--format", label},
		{"network", "ls", "--format", label},
		{"volume", "ls", "--format", label},
		{"images", "hive-test", "--format", "{{.Tag}}"},
	} {
		out, err := runCmd(nil, "", "docker", list...)
		if err != nil {
			t.Logf("docker %s: %v: %s", strings.Join(list, " "), err, out)
			continue
		}
		projects = append(projects, strings.Fields(out)...)
	}
	seen := map[string]bool{}
	for _, project := range projects {
		m := swarmProjectPattern.FindStringSubmatch(project)
		if m == nil || seen[project] {
			continue
		}
		seen[project] = true
		pid, _ := strconv.Atoi(m[1])
		// EPERM: the process lives, another user's.
		if pid == os.Getpid() || !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			continue
		}
		t.Logf("removing the swarm %s of a test process that is gone", project)
		removeSwarm(t, project)
	}
}

// removeSwarm removes a swarm's containers (holdAddrs' placeholders
// included: compose does not count them as its own), then its network
// and volumes, then its image, logging what fails.
func removeSwarm(t *testing.T, project string) {
	t.Helper()
	logErr := func(out string, err error) {
		if err != nil {
			t.Logf("removing swarm %s: %v: %s", project, err, out)
		}
	}
	out, err := runCmd(nil, "", "docker", "ps", "-aq", "--filter", "label=com.docker.compose.project="+project)
	logErr(out, err)
	if ids := strings.Fields(out); err == nil && len(ids) > 0 {
		logErr(runCmd(nil, "", "docker", append([]string{"rm", "-f", "-v"}, ids...)...))
	}
	s := &dockerSwarm{project: project, env: append(os.Environ(), "HIVE_IMAGE="+swarmImage(project))}
	logErr(s.runCompose("down", "-v", "--remove-orphans", "--timeout", "1"))
	logErr(runCmd(nil, "", "docker", "rmi", "-f", swarmImage(project)))
}

// holdAddrs starts n placeholder containers (dev nodes of the image) on
// the swarm's network, taking the lowest free addresses, which a stopped
// swarm's containers have just given up. They carry the project's label,
// so that removeSwarm removes them with the swarm.
func (s *dockerSwarm) holdAddrs(n int) {
	s.t.Helper()
	for range n {
		s.docker("run", "-d", "--network", s.project+"_hive",
			"--label", "com.docker.compose.project="+s.project, s.image, "-dev")
	}
}

// compose runs docker-compose on the project and returns its output,
// failing the test on an error.
func (s *dockerSwarm) compose(args ...string) string {
	s.t.Helper()
	out, err := s.runCompose(args...)
	if err != nil {
		s.t.Fatalf("docker-compose %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (s *dockerSwarm) tryCompose(args ...string) string {
	out, _ := s.runCompose(args...)
	return out
}

func (s *dockerSwarm) runCompose(args ...string) (string, error) {
	return runCmd(s.env, "", "docker-compose", append([]string{"-f", "../deploy/docker-compose.yml", "-p", s.project}, args...)...)
}

// docker runs the docker CLI, failing the test on an error.
func (s *dockerSwarm) docker(args ...string) string {
	s.t.Helper()
	out, err := runCmd(nil, "", "docker", args...)
	if err != nil {
		s.t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// leader returns the index of the node every node in up agrees leads.
func (s *dockerSwarm) leader(up []int) (int, error) {
	leader := ""
	for _, i := range up {
		st, err := s.nodes[i].status()
		if err != nil {
			return -1, err
		}
		if st.Leader == "" || (leader != "" && st.Leader != leader) {
			return -1, fmt.Errorf("%s sees leader %q, others %q", s.nodes[i].name, st.Leader, leader)
		}
		leader = st.Leader
	}
	for _, i := range up {
		if s.nodes[i].name == leader {
			return i, nil
		}
	}
	return -1, fmt.Errorf("leader %q is not among the running nodes", leader)
}

// TestDockerSwarmSurvivesLeaderKill runs the README's three-machine
// walk-through on containers of the shipped image: the nodes find each
// other by hostname and bootstrap; work fills every node's test slots;
// the leader's container is killed (SIGKILL) while it runs some; the two
// others elect a leader and run the killed node's work again, every work
// order completing exactly once; the container restarts with its volume,
// catches up, and all three chains verify and are identical.
func TestDockerSwarmSurvivesLeaderKill(t *testing.T) {
	if testing.Short() {
		t.Skip("container test; run without -short")
	}
	s := newDockerSwarm(t)
	all := []int{0, 1, 2}
	var leader int
	waitFor(t, 90*time.Second, "three voters offering the test agent, one leader", func() (err error) {
		var ml api.MemberList
		if err := getJSON(s.nodes[1].addr()+"/v1/members", &ml); err != nil {
			return err
		}
		ready := 0
		for _, m := range ml.Members {
			if m.Status == "alive" && (m.RaftRole == "voter" || m.RaftRole == "leader") && len(m.AgentTypes) > 0 {
				ready++
			}
		}
		if ready != 3 {
			return fmt.Errorf("%d ready members in %+v", ready, ml.Members)
		}
		leader, err = s.leader(all)
		return err
	})
	victim := s.nodes[leader]

	// The CLI inside the image, and the API published on the host.
	if out := s.docker("exec", s.ids["n2"], "/hive/hive", "members"); strings.Count(out, "alive") != 3 {
		t.Fatalf("hive members inside n2:\n%s", out)
	}
	published := strings.TrimSpace(s.compose("port", "n1", "7070"))
	var st api.Status
	if err := getJSON("http://"+published+"/v1/status?stale", &st); err != nil {
		t.Fatalf("n1's published API at %s: %v", published, err)
	}

	// Enough sleeping work to fill every node's slots, the leader's too.
	entry := s.nodes[(leader+1)%3]
	var ids []string
	for i := range 12 {
		var wo api.WorkOrder
		mustJSON(t, entry.cli("wo", "create", "--title", fmt.Sprint("docker-", i), "--type", "test",
			"--payload", `{"mode":"sleep","duration":"8s"}`, "-json"), &wo)
		ids = append(ids, wo.ID)
	}
	var onVictim []string
	waitFor(t, 60*time.Second, "work running on the leader", func() error {
		onVictim = onVictim[:0]
		for _, r := range parseReceipts(t, entry.cli("receipt", "export")) {
			if r.Event == "assigned" && r.Node == victim.name {
				onVictim = append(onVictim, r.WorkOrder)
			}
		}
		if len(onVictim) == 0 {
			return fmt.Errorf("nothing assigned to %s yet", victim.name)
		}
		return nil
	})
	s.docker("kill", s.ids[victim.name])
	up := []int{(leader + 1) % 3, (leader + 2) % 3}
	waitFor(t, 60*time.Second, "a new leader among the two others", func() error {
		_, err := s.leader(up)
		return err
	})
	waitAllCompleted(t, 120*time.Second, entry.addr(), ids, false)

	// The killed node's work ran again elsewhere; nothing completed twice.
	completed := map[string]int{}
	completedOn := map[string]string{}
	requeued := map[string]bool{}
	for _, r := range parseReceipts(t, entry.cli("receipt", "export")) {
		switch r.Event {
		case "completed":
			completed[r.WorkOrder]++
			completedOn[r.WorkOrder] = r.Node
		case "requeued":
			requeued[r.WorkOrder] = true
		}
	}
	for _, id := range ids {
		if completed[id] != 1 {
			t.Errorf("%s completed %d times", id, completed[id])
		}
	}
	for _, id := range onVictim {
		if !requeued[id] && completedOn[id] != victim.name {
			t.Errorf("%s ran on the killed leader %s, was not requeued, and completed on %s", id, victim.name, completedOn[id])
		}
		if requeued[id] && completedOn[id] == victim.name {
			t.Errorf("%s was requeued from %s yet completed there", id, victim.name)
		}
	}
	if len(requeued) == 0 {
		t.Errorf("no work order was requeued after killing %s, which ran %v", victim.name, onVictim)
	}

	// The container restarts with its volume and catches up.
	s.docker("start", s.ids[victim.name])
	s.readAddrs()
	export := sameVerifiedChain(t, s.nodes, 90*time.Second)
	t.Logf("killed %s running %v; requeued %d; %d receipts identical and verified on all three containers",
		victim.name, onVictim, len(requeued), strings.Count(export, "\n"))

	// The whole swarm stops (SIGTERM: each node leaves in turn, the last
	// one keeps the configuration) and starts again, as on a host's
	// reboot, every container at a new address (placeholders hold the old
	// ones): the nodes find each other by name, the survivor leads,
	// corrects its own address and adds the others back, and nothing is
	// lost.
	s.compose("stop", "--timeout", "30")
	old := map[string]string{}
	for _, a := range s.nodes {
		old[a.name] = a.host
	}
	s.holdAddrs(len(s.nodes))
	s.compose("start")
	s.readAddrs()
	for _, a := range s.nodes {
		if a.host == old[a.name] {
			t.Fatalf("%s restarted at its old address %s despite the placeholders", a.name, a.host)
		}
	}
	waitFor(t, 120*time.Second, "three voters and a leader after the restart", func() error {
		for _, a := range s.nodes {
			st, err := a.status()
			if err != nil {
				return err
			}
			if st.Leader == "" || st.Voters != 3 {
				return fmt.Errorf("%s: leader %q, %d voters", a.name, st.Leader, st.Voters)
			}
		}
		_, err := s.leader(all)
		return err
	})
	waitAllCompleted(t, 60*time.Second, s.nodes[0].addr(), ids, false)
	if again := sameVerifiedChain(t, s.nodes, 90*time.Second); !strings.HasPrefix(again, export) {
		t.Errorf("after the restart the chain (%d receipts) does not extend the one before (%d)",
			strings.Count(again, "\n"), strings.Count(export, "\n"))
	}
}
