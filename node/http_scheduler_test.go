package node

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/fsm"
)

// schedState summarises what a scheduler write may change: the chain and
// work orders (fingerprint) and the config (digest).
type schedState struct {
	fp     fingerprint
	digest [32]byte
}

func (a *testAPI) schedState() schedState {
	cfg := a.b.view().SchedulerConfig()
	return schedState{fp: a.b.fingerprint(), digest: fsm.SchedulerConfigDigest(&cfg)}
}

func (a *testAPI) scheduler() *api.SchedulerStatus {
	a.t.Helper()
	var st api.SchedulerStatus
	r := a.do("GET", "/v1/scheduler", nil)
	r.ok(a.t, http.StatusOK, &st)
	if r.header.Get(headerIndex) == "" {
		a.t.Fatalf("GET /v1/scheduler without %s", headerIndex)
	}
	return &st
}

func usage(list []*api.WIPUsage, name string) *api.WIPUsage {
	for _, u := range list {
		if u.Name == name {
			return u
		}
	}
	return nil
}

func TestHTTPSchedulerDefaults(t *testing.T) {
	a := newTestAPI(t)
	st := a.scheduler()
	c := st.Config
	if c.Strategy != "priority" ||
		!maps.Equal(c.StageWIP, map[string]int{"design": 3, "code": 5, "test": 7}) ||
		!maps.Equal(c.Mix, map[string]int{"reliability": 40, "security": 30, "cost": 20, "features": 10}) ||
		c.BucketWIP["features"] != 10 || c.BucketWIP["security"] != 5 || c.Rules == nil || len(c.Rules) != 0 {
		t.Fatalf("default config %+v", c)
	}
	if len(c.Pipelines) != 1 || c.Pipelines[0].Name != "default" {
		t.Fatalf("default pipelines %+v", c.Pipelines)
	}
	var steps []string
	for _, s := range c.Pipelines[0].Stages {
		steps = append(steps, s.Name)
	}
	if !slices.Equal(steps, []string{"research", "plan", "implement", "test", "review"}) {
		t.Fatalf("default pipeline steps %v", steps)
	}
	var stages []string
	for _, u := range st.StageWIP {
		stages = append(stages, u.Name)
	}
	if !slices.Equal(stages, []string{"design", "code", "test", "review"}) {
		t.Fatalf("stage WIP rows %v, want pipeline order", stages)
	}
	if u := usage(st.StageWIP, "review"); u.Limit != 0 || u.InFlight != 0 {
		t.Fatalf("review %+v", u)
	}
	if len(st.BucketWIP) != len(fsm.Buckets()) || len(st.Digest) != 64 ||
		!slices.Equal(st.Strategies, []string{"priority", "fifo", "deadline", "sjf", "critical_path", "resource_aware", "adaptive"}) {
		t.Fatalf("status %+v", st)
	}
}

func TestHTTPSchedulerPut(t *testing.T) {
	a := newTestAPI(t)
	before := a.b.view().ReceiptCount()
	var st api.SchedulerStatus
	r := a.do("PUT", "/v1/scheduler", `{"strategy":" FIFO ","stage_wip":{"code":2},"rules":[{"pattern":"(?i)docs","agent_type":"writer"}]}`)
	r.ok(t, http.StatusOK, &st)
	c := st.Config
	// Present fields replace whole; absent ones take the defaults.
	if c.Strategy != "fifo" || !maps.Equal(c.StageWIP, map[string]int{"code": 2}) ||
		c.Mix["reliability"] != 40 || len(c.Pipelines) != 1 || len(c.Rules) != 1 || c.Rules[0].AgentType != "writer" {
		t.Fatalf("after PUT %+v", c)
	}
	if r.header.Get(headerIndex) == "" || a.b.view().ReceiptCount() != before+1 {
		t.Fatalf("PUT: index %q, receipts %d -> %d", r.header.Get(headerIndex), before, a.b.view().ReceiptCount())
	}
	if got := a.scheduler(); got.Digest != st.Digest || got.Config.Strategy != "fifo" {
		t.Fatalf("GET after PUT %+v", got)
	}

	// Writing back what GET returned changes nothing but the chain.
	got := a.scheduler()
	a.do("PUT", "/v1/scheduler", &api.SetSchedulerConfigRequest{SchedulerConfig: *got.Config}).ok(t, http.StatusOK, &st)
	if st.Digest != got.Digest {
		t.Fatalf("round trip changed the digest %s -> %s", got.Digest, st.Digest)
	}

	// Empty present fields mean none; leveling off is all zero.
	a.do("PUT", "/v1/scheduler", `{"stage_wip":{},"mix":{"cost":0},"pipelines":[]}`).ok(t, http.StatusOK, &st)
	if len(st.Config.StageWIP) != 0 || st.Config.Pipelines == nil || len(st.Config.Pipelines) != 0 || st.Config.Strategy != "priority" {
		t.Fatalf("empty fields %+v", st.Config)
	}
	a.do("GET", "/v1/pipelines/default", nil).apiErr(t, http.StatusNotFound, "not_found")

	// The same key is applied once.
	n := a.b.view().ReceiptCount()
	for range 2 {
		a.do("PUT", "/v1/scheduler", `{"strategy":"sjf"}`, headerIdempotencyKey, "sched-1").ok(t, http.StatusOK, &st)
	}
	if a.b.view().ReceiptCount() != n+1 || st.Config.Strategy != "sjf" {
		t.Fatalf("idempotent PUT: receipts %d -> %d, %+v", n, a.b.view().ReceiptCount(), st.Config)
	}
}

func TestHTTPSchedulerBadInput(t *testing.T) {
	a := newTestAPI(t)
	before := a.schedState()
	for _, tc := range []struct {
		name, body, query string
		status            int
		code, says        string
	}{
		{"malformed", `{"strategy":`, "", 400, "bad_json", ""},
		{"empty body", ``, "", 400, "bad_json", ""},
		{"unknown field", `{"strategy":"fifo","wip":{}}`, "", 400, "unknown_field", "wip"},
		{"wrong type", `{"stage_wip":{"code":"five"}}`, "", 400, "invalid_argument", "stage_wip"},
		{"unknown strategy", `{"strategy":"random"}`, "", 400, "invalid_argument", "critical_path"},
		{"negative stage limit", `{"stage_wip":{"code":-1}}`, "", 400, "invalid_argument", `stage_wip["code"]`},
		{"bad stage name", `{"stage_wip":{"my stage":1}}`, "", 400, "invalid_argument", "stage_wip"},
		{"negative bucket limit", `{"bucket_wip":{"security":-2}}`, "", 400, "invalid_argument", `bucket_wip["security"]`},
		{"unknown bucket", `{"bucket_wip":{"marketing":2}}`, "", 400, "invalid_argument", "unknown bucket"},
		{"mix not 100", `{"mix":{"reliability":50,"cost":20}}`, "", 400, "invalid_argument", "sum to 70"},
		{"mix negative", `{"mix":{"reliability":110,"cost":-10}}`, "", 400, "invalid_argument", "mix"},
		{"bad regexp", `{"rules":[{"pattern":"([a-","agent_type":"x"}]}`, "", 400, "invalid_argument", "rules[0].pattern"},
		{"empty pattern", `{"rules":[{"pattern":"","agent_type":"x"}]}`, "", 400, "invalid_argument", "rules[0].pattern"},
		{"rule without type", `{"rules":[{"pattern":"x"}]}`, "", 400, "invalid_argument", "rules[0].agent_type"},
		{"repeated pipeline", `{"pipelines":[{"name":"p","stages":[{"name":"a"}]},{"name":"p","stages":[{"name":"b"}]}]}`,
			"", 400, "invalid_argument", "repeated"},
		{"pipeline without stages", `{"pipelines":[{"name":"p","stages":[]}]}`, "", 400, "invalid_argument", "pipelines[0].stages"},
		{"null pipeline", `{"pipelines":[null]}`, "", 400, "invalid_argument", "pipelines[0]"},
		{"negative effort", `{"pipelines":[{"name":"p","stages":[{"name":"a","effort":-1}]}]}`, "", 400, "invalid_argument", "effort"},
		{"bad check digest", `{"check_digest":"abc"}`, "", 400, "invalid_argument", "check_digest"},
		{"unknown query", `{}`, "?force=1", 400, "invalid_argument", "force"},
		{"stale digest", `{"strategy":"fifo","check_digest":"` + strings.Repeat("0", 64) + `"}`, "", 409, api.CodeConfigChanged, "changed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := a.do("PUT", "/v1/scheduler"+tc.query, tc.body).apiErr(t, tc.status, tc.code)
			if !strings.Contains(e.Message, tc.says) {
				t.Fatalf("message %q does not mention %q", e.Message, tc.says)
			}
			if after := a.schedState(); after != before {
				t.Fatalf("state changed: %+v -> %+v", before, after)
			}
		})
	}
	a.do("DELETE", "/v1/scheduler", nil).apiErr(t, http.StatusMethodNotAllowed, "method_not_allowed")
}

func TestHTTPSchedulerCheckDigest(t *testing.T) {
	a := newTestAPI(t)
	first := a.scheduler()
	req := &api.SetSchedulerConfigRequest{SchedulerConfig: *first.Config, CheckDigest: first.Digest}
	req.Strategy = "deadline"
	var st api.SchedulerStatus
	a.do("PUT", "/v1/scheduler", req).ok(t, http.StatusOK, &st)
	if st.Config.Strategy != "deadline" || st.Digest == first.Digest {
		t.Fatalf("conditional write %+v", st)
	}
	// A second writer that read the first config loses.
	before := a.schedState()
	other := &api.SetSchedulerConfigRequest{SchedulerConfig: *first.Config, CheckDigest: first.Digest}
	other.Strategy = "fifo"
	a.do("PUT", "/v1/scheduler", other).apiErr(t, http.StatusConflict, api.CodeConfigChanged)
	if a.schedState() != before {
		t.Fatal("a refused conditional write changed the state")
	}
	// Asking for what is already in force passes (a retry of a write
	// whose answer was lost), with the digest upper-cased too.
	req.CheckDigest = strings.ToUpper(first.Digest)
	a.do("PUT", "/v1/scheduler", req).ok(t, http.StatusOK, &st)
	if st.Config.Strategy != "deadline" {
		t.Fatalf("retried conditional write %+v", st)
	}
}

func TestHTTPSchedulerWIPInFlight(t *testing.T) {
	a := newTestAPI(t)
	a.do("PUT", "/v1/scheduler", `{"stage_wip":{"code":1,"lint":2}}`).ok(t, http.StatusOK, nil)
	x := a.create(&api.CreateWorkOrderRequest{Title: "x", Stage: "code", Labels: []string{"bug"}})
	y := a.create(&api.CreateWorkOrderRequest{Title: "y", Stage: "code"})
	a.action(x.ID, "start", nil)
	st := a.scheduler()
	if u := usage(st.StageWIP, "code"); u == nil || u.InFlight != 1 || u.Limit != 1 {
		t.Fatalf("code usage %+v", u)
	}
	if u := usage(st.StageWIP, "lint"); u == nil || u.InFlight != 0 || u.Limit != 2 {
		t.Fatalf("lint usage %+v (stages with a limit are listed)", u)
	}
	if u := usage(st.BucketWIP, "reliability"); u == nil || u.InFlight != 1 || u.Limit != 5 {
		t.Fatalf("reliability usage %+v", u)
	}
	// The limit holds on the next start.
	a.do("POST", "/v1/workorders/"+y.ID+"/start", nil).apiErr(t, http.StatusConflict, "wip_limit")
}

func TestHTTPSchedulerForwarded(t *testing.T) {
	l := newTestAPI(t)
	f := newFollower(t, "n2", l)
	var st api.SchedulerStatus
	f.do("PUT", "/v1/scheduler", `{"strategy":"adaptive"}`).ok(t, http.StatusOK, &st)
	if st.Config.Strategy != "adaptive" || f.b.proposalCount() != 0 {
		t.Fatalf("forwarded PUT %+v, follower proposals %d", st.Config, f.b.proposalCount())
	}
	f.do("GET", "/v1/scheduler", nil).ok(t, http.StatusOK, &st)
	if st.Config.Strategy != "adaptive" {
		t.Fatalf("forwarded GET %+v", st.Config)
	}
	// Conditional writes are checked by the leader.
	f.do("PUT", "/v1/scheduler", &api.SetSchedulerConfigRequest{CheckDigest: strings.Repeat("a", 64)}).
		apiErr(t, http.StatusConflict, api.CodeConfigChanged)
	var run api.PipelineRun
	f.do("POST", "/v1/pipelines/default/runs", `{"title":"via follower"}`).ok(t, http.StatusCreated, &run)
	if run.Run == nil || len(run.Stages) != 5 || l.b.view().WorkOrderCount() != 6 {
		t.Fatalf("forwarded run %+v", run)
	}
}
