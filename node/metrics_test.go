package node_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/node/nodetest"
)

// onCI reports whether the tests run under CI (CI set, as CI systems do).
func onCI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "0" && v != "false"
}

func httpGet(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// TestMetricsPromtool scrapes /metrics and has promtool check the
// exposition. promtool comes with Debian's prometheus package; under CI
// its absence fails the test.
func TestMetricsPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if onCI() {
			t.Fatal("promtool is not installed (apt-get install -y prometheus)")
		}
		t.Skip("promtool is not installed (apt-get install -y prometheus)")
	}
	c := nodetest.NewCluster(t, 1)
	c.WaitForLeader()
	n := c.Node(0)
	cl := clientFor(t, n)
	for range 2 {
		if _, err := cl.WorkOrders().Create(ctxT(t), &api.CreateWorkOrderRequest{Title: "w", Labels: []string{"bug"}}); err != nil {
			t.Fatal(err)
		}
	}
	httpGet(t, "http://"+n.HTTPAddr()+"/v1/nothing-here")
	code, body := httpGet(t, "http://"+n.HTTPAddr()+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", code, body)
	}
	for _, want := range []string{
		`hive_workorders{state="queued"} 2`,
		`hive_workorders_unfinished{bucket="reliability"} 2`,
		`hive_http_requests_total{code="201",method="POST",route="POST /v1/workorders"} 2`,
		`hive_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`hive_http_request_duration_seconds_bucket{method="POST",route="POST /v1/workorders",le="+Inf"} 2`,
		`hive_raft_state{state="Leader"} 1`,
		`hive_gossip_members{status="alive"} 1`,
		`hive_receipts_total 2`,
		`# TYPE hive_events_delivered_total counter`,
		`go_goroutines`,
	} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	cmd := exec.CommandContext(ctxT(t), promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestHealthAndSummary checks /api/health and /api/metrics/summary on a
// single node.
func TestHealthAndSummary(t *testing.T) {
	c := nodetest.NewCluster(t, 1)
	c.WaitForLeader()
	n := c.Node(0)
	cl := clientFor(t, n)
	for _, labels := range [][]string{{"bug"}, {"bug"}, {"security"}} {
		if _, err := cl.WorkOrders().Create(ctxT(t), &api.CreateWorkOrderRequest{Title: "w", Labels: labels, Stage: "code"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cl.WorkOrders().Cancel(ctxT(t), "WO-3", nil); err != nil {
		t.Fatal(err)
	}
	h, err := cl.Events().Health(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if !h.Ready || !h.Live || h.Status != "ok" || h.Raft.State != "Leader" || h.Raft.Leader != "node-0" ||
		h.Raft.LastContact != 0 || h.Gossip.Alive != 1 || h.Node != "node-0" {
		t.Fatalf("health %+v", h)
	}
	code, body := httpGet(t, "http://"+n.HTTPAddr()+"/api/health")
	if code != http.StatusOK || !strings.Contains(string(body), `"ready":true`) {
		t.Fatalf("GET /api/health: %d %s", code, body)
	}
	s, err := cl.Events().MetricsSummary(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	wo := s.WorkOrders
	if wo.Total != 3 || wo.ByState["queued"] != 2 || wo.ByState["cancelled"] != 1 || wo.Queued != 2 ||
		wo.ByBucket["reliability"]["queued"] != 2 || wo.ByBucket["security"] != nil || wo.ByStage["code"]["queued"] != 2 {
		t.Fatalf("work orders %+v", wo)
	}
	if len(s.Members) != 1 || s.Members[0].Name != "node-0" || s.Members[0].Status != "alive" || s.Receipts < 4 {
		t.Fatalf("summary %+v", s)
	}
	foundStage := false
	for _, u := range s.WIP {
		foundStage = foundStage || u.Kind == "stage" && u.Name == "code" && u.Limit > 0
	}
	if !foundStage {
		t.Errorf("no WIP limit for stage code in %+v", s.WIP)
	}
}
