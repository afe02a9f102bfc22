package tests

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// netLab is a private network of network namespaces, one per node, made
// for one test: every node has its own IP on a bridge that lives in a
// separate "switch" namespace, and the test process reaches them through
// one more veth from its own namespace. Cutting a node's cable on the
// switch partitions it from everyone, test included, the way a failed
// link or switch port would: packets vanish, connections hang, nothing
// is refused.
type netLab struct {
	t      *testing.T
	prefix string // namespace name prefix: hive-<pid>-<n>-
	subnet string // first three octets, e.g. 10.213.7
	veth   string // the test namespace's end of its link to the switch
	nodes  int
}

// netnsNamePattern matches the namespaces a netLab creates; the pid lets
// a later run clean up what a killed run left behind.
var netnsNamePattern = regexp.MustCompile(`^hive-(\d+)-(\d+)-`)

// requireNetLab skips (or, under CI, fails) unless the test can create
// network namespaces: it needs root and iproute2's ip.
func requireNetLab(t *testing.T) {
	t.Helper()
	why := ""
	if os.Geteuid() != 0 {
		why = "needs root to create network namespaces"
	} else if _, err := exec.LookPath("ip"); err != nil {
		why = "needs iproute2's ip: " + err.Error()
	}
	if why == "" {
		return
	}
	if ci := os.Getenv("CI"); ci != "" && ci != "false" && ci != "0" {
		t.Fatalf("CI is set and the partition test %s", why)
	}
	t.Skip(why)
}

// newNetLab builds the namespaces and links for n nodes and removes them
// when the test ends (register it before the agents, so that they are
// killed first).
func newNetLab(t *testing.T, n int) *netLab {
	t.Helper()
	requireNetLab(t)
	removeOrphanNetns(t)
	lab := &netLab{t: t, nodes: n}
	for id := 0; ; id++ {
		lab.prefix = fmt.Sprintf("hive-%d-%d-", os.Getpid(), id)
		lab.subnet = fmt.Sprintf("10.213.%d", (os.Getpid()+id)%250+1)
		lab.veth = fmt.Sprintf("hv%dx%d", os.Getpid()%100000, id) // at most 15 bytes
		if !netnsExists(t, lab.prefix+"sw") && !routeExists(t, lab.subnet+".0/24") && !linkExists(lab.veth) {
			// A namespace deleted a moment ago may still hold its links
			// (the kernel frees them asynchronously): a fresh id avoids
			// both.
			break
		}
		if id > 50 {
			t.Fatal("no free namespace prefix and subnet")
		}
	}
	t.Cleanup(lab.remove)
	sw := lab.prefix + "sw"
	host := lab.veth
	lab.ip("netns", "add", sw)
	lab.ip("-n", sw, "link", "add", "br0", "type", "bridge")
	lab.ip("-n", sw, "link", "set", "br0", "up")
	lab.ip("link", "add", host, "type", "veth", "peer", "name", "up0", "netns", sw)
	lab.ip("-n", sw, "link", "set", "up0", "master", "br0", "up")
	lab.ip("addr", "add", lab.subnet+".254/24", "dev", host)
	lab.ip("link", "set", host, "up")
	for i := 1; i <= n; i++ {
		ns := lab.node(i)
		lab.ip("netns", "add", ns)
		lab.ip("-n", ns, "link", "set", "lo", "up")
		lab.ip("-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", lab.port(i), "netns", sw)
		lab.ip("-n", ns, "addr", "add", lab.hostIP(i)+"/24", "dev", "eth0")
		lab.ip("-n", ns, "link", "set", "eth0", "up")
		lab.ip("-n", sw, "link", "set", lab.port(i), "master", "br0", "up")
	}
	return lab
}

func (l *netLab) node(i int) string   { return l.prefix + "n" + strconv.Itoa(i) }
func (l *netLab) port(i int) string   { return "n" + strconv.Itoa(i) }
func (l *netLab) hostIP(i int) string { return l.subnet + "." + strconv.Itoa(i) }

// hosts and wraps are newAgentsOn's arguments for the lab's nodes.
func (l *netLab) hosts() []string {
	h := make([]string, l.nodes)
	for i := range h {
		h[i] = l.hostIP(i + 1)
	}
	return h
}

func (l *netLab) wraps() [][]string {
	w := make([][]string, l.nodes)
	for i := range w {
		w[i] = []string{"ip", "netns", "exec", l.node(i + 1)}
	}
	return w
}

// cut unplugs node i (1-based) from the switch; mend plugs it back.
func (l *netLab) cut(i int)  { l.ip("-n", l.prefix+"sw", "link", "set", l.port(i), "down") }
func (l *netLab) mend(i int) { l.ip("-n", l.prefix+"sw", "link", "set", l.port(i), "up") }

func (l *netLab) ip(args ...string) {
	l.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// remove deletes the lab's namespaces; the veths inside go with them.
func (l *netLab) remove() {
	for _, ns := range listNetns(l.t) {
		if strings.HasPrefix(ns, l.prefix) {
			if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
				l.t.Errorf("ip netns del %s: %v: %s", ns, err, out)
			}
		}
	}
}

func listNetns(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatalf("ip netns list: %v", err)
	}
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return names
}

func netnsExists(t *testing.T, name string) bool {
	for _, ns := range listNetns(t) {
		if ns == name {
			return true
		}
	}
	return false
}

func linkExists(name string) bool {
	return exec.Command("ip", "link", "show", name).Run() == nil
}

func routeExists(t *testing.T, prefix string) bool {
	t.Helper()
	out, err := exec.Command("ip", "-4", "route", "show", prefix).Output()
	if err != nil {
		t.Fatalf("ip route show: %v", err)
	}
	return len(bytes.TrimSpace(out)) > 0
}

// removeOrphanNetns deletes lab namespaces whose test process is gone (a
// run killed before its cleanup).
func removeOrphanNetns(t *testing.T) {
	t.Helper()
	for _, ns := range listNetns(t) {
		m := netnsNamePattern.FindStringSubmatch(ns)
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		if pid == os.Getpid() || syscall.Kill(pid, 0) == nil {
			continue
		}
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			t.Logf("removing orphan namespace %s: %v: %s", ns, err, out)
		}
	}
}
