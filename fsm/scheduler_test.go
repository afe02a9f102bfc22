package fsm

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDefaultSchedulerConfig(t *testing.T) {
	c := DefaultSchedulerConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"design": 3, "code": 5, "test": 7}
	if !reflect.DeepEqual(c.StageWIP, want) {
		t.Errorf("stage WIP %v", c.StageWIP)
	}
	for _, b := range Buckets() {
		limit := 5
		if b == BucketFeatures {
			limit = 10
		}
		if c.BucketWIP[b] != limit {
			t.Errorf("bucket WIP %s = %d, want %d", b, c.BucketWIP[b], limit)
		}
	}
	if m := c.Mix; m[BucketReliability] != 40 || m[BucketSecurity] != 30 || m[BucketCost] != 20 || m[BucketFeatures] != 10 || len(m) != 4 {
		t.Errorf("mix %v", m)
	}
	p, ok := c.Pipeline(DefaultPipelineName)
	if !ok || len(c.Pipelines) != 1 {
		t.Fatal("no default pipeline")
	}
	var steps []string
	for _, s := range p.Stages {
		steps = append(steps, s.Name+"/"+s.AgentType+"/"+s.WIPStage())
	}
	if got := strings.Join(steps, " "); got != "research/researcher/design plan/planner/design implement/coder/code test/tester/test review/reviewer/review" {
		t.Errorf("default pipeline %s", got)
	}
	// The initial state holds it, on every FSM.
	if got := newHarness(t).f.View().SchedulerConfig(); !reflect.DeepEqual(got, c) {
		t.Errorf("initial config %+v", got)
	}
	if len(buckets) != numBuckets {
		t.Fatal("numBuckets")
	}
}

func TestSchedulerConfigValidation(t *testing.T) {
	with := func(f func(*SchedulerConfig)) SchedulerConfig {
		c := DefaultSchedulerConfig()
		f(&c)
		return c
	}
	stages := func(n int) []PipelineStage {
		out := make([]PipelineStage, n)
		for i := range out {
			out[i] = PipelineStage{Name: "s" + strings.Repeat("x", i)}
		}
		return out
	}
	tests := []struct {
		name string
		cfg  SchedulerConfig
		want string // the whole message
	}{
		{"strategy length", with(func(c *SchedulerConfig) { c.Strategy = strings.Repeat("s", 129) }),
			"strategy: longer than 128 bytes"},
		{"negative stage limit", with(func(c *SchedulerConfig) { c.StageWIP["code"] = -1 }),
			`stage_wip["code"]: limit -1 outside 0..1000000`},
		{"huge stage limit", with(func(c *SchedulerConfig) { c.StageWIP["code"] = MaxWIPLimit + 1 }),
			`stage_wip["code"]: limit 1000001 outside 0..1000000`},
		{"empty stage", with(func(c *SchedulerConfig) { c.StageWIP[""] = 1 }),
			`stage_wip[""]: stage name empty`},
		{"stage with space", with(func(c *SchedulerConfig) { c.StageWIP["a b"] = 1 }),
			`stage_wip["a b"]: stage name contains a space or control character`},
		{"first bad stage in key order", with(func(c *SchedulerConfig) { c.StageWIP["zz"] = -2; c.StageWIP["aa"] = -3 }),
			`stage_wip["aa"]: limit -3 outside 0..1000000`},
		{"unknown bucket", with(func(c *SchedulerConfig) { c.BucketWIP["nope"] = 1 }),
			`bucket_wip["nope"]: unknown bucket (valid: compliance, cost, features, reliability, security, technical_debt)`},
		{"negative bucket limit", with(func(c *SchedulerConfig) { c.BucketWIP["cost"] = -5 }),
			`bucket_wip["cost"]: limit -5 outside 0..1000000`},
		{"mix bucket", with(func(c *SchedulerConfig) { c.Mix["x"] = 0 }),
			`mix["x"]: unknown bucket (valid: compliance, cost, features, reliability, security, technical_debt)`},
		{"mix over 100", with(func(c *SchedulerConfig) { c.Mix = map[string]int{"cost": 101} }),
			`mix["cost"]: 101% outside 0..100`},
		{"mix negative", with(func(c *SchedulerConfig) { c.Mix["cost"] = -20 }),
			`mix["cost"]: -20% outside 0..100`},
		{"mix sum", with(func(c *SchedulerConfig) { c.Mix["cost"] = 10 }),
			"mix: percentages sum to 90 (want 100, or all 0 to turn leveling off)"},
		{"too many rules", with(func(c *SchedulerConfig) { c.Rules = make([]DelegationRule, MaxRules+1) }),
			"rules: 257 rules (max 256)"},
		{"empty pattern", with(func(c *SchedulerConfig) { c.Rules = []DelegationRule{{AgentType: "a"}} }),
			"rules[0].pattern: empty"},
		{"long pattern", with(func(c *SchedulerConfig) {
			c.Rules = []DelegationRule{{Pattern: "a", AgentType: "a"}, {Pattern: strings.Repeat("p", 4097), AgentType: "a"}}
		}), "rules[1].pattern: 4097 bytes (max 4096)"},
		{"rule agent", with(func(c *SchedulerConfig) { c.Rules = []DelegationRule{{Pattern: "x"}} }),
			"rules[0].agent_type: empty"},
		{"bad regexp", with(func(c *SchedulerConfig) { c.Rules = []DelegationRule{{Pattern: "a(b", AgentType: "a"}} }),
			"rules[0].pattern: error parsing regexp: missing closing ): `a(b`"},
		{"too many pipelines", with(func(c *SchedulerConfig) { c.Pipelines = make([]PipelineTemplate, MaxPipelines+1) }),
			"pipelines: 65 templates (max 64)"},
		{"pipeline name", with(func(c *SchedulerConfig) { c.Pipelines[0].Name = "" }),
			"pipelines[0].name: empty"},
		{"repeated pipeline", with(func(c *SchedulerConfig) { c.Pipelines = append(c.Pipelines, DefaultPipeline()) }),
			`pipelines[1].name: "default" repeated (pipelines[0])`},
		{"no stages", with(func(c *SchedulerConfig) { c.Pipelines[0].Stages = nil }),
			"pipelines[0].stages: 0 stages (want 1..32)"},
		{"too many stages", with(func(c *SchedulerConfig) { c.Pipelines[0].Stages = stages(33) }),
			"pipelines[0].stages: 33 stages (want 1..32)"},
		{"repeated stage", with(func(c *SchedulerConfig) { c.Pipelines[0].Stages[3].Name = "plan" }),
			`pipelines[0].stages[3].name: "plan" repeated (stages[1])`},
		{"stage agent", with(func(c *SchedulerConfig) { c.Pipelines[0].Stages[2].AgentType = "co der" }),
			"pipelines[0].stages[2].agent_type: contains a space or control character"},
		{"wip stage", with(func(c *SchedulerConfig) { c.Pipelines[0].Stages[2].Stage = "\x01" }),
			"pipelines[0].stages[2].stage: contains a space or control character"},
		{"effort", with(func(c *SchedulerConfig) { c.Pipelines[0].Stages[4].Effort = -1 }),
			"pipelines[0].stages[4].effort: negative (-1)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, err := range []error{tc.cfg.Validate(), Validate(&SetSchedulerConfig{Config: tc.cfg})} {
				var fe *Error
				if !errors.As(err, &fe) || !errors.Is(err, ErrInvalidArgument) || fe.Message != tc.want {
					t.Fatalf("got %v\nwant invalid_argument: %s", err, tc.want)
				}
			}
		})
	}
	valid := []SchedulerConfig{
		{},
		with(func(c *SchedulerConfig) { c.Mix = map[string]int{"cost": 0, "features": 0} }),
		with(func(c *SchedulerConfig) { c.StageWIP["code"] = 0; c.BucketWIP["cost"] = 0 }),
		sampleSchedulerConfig(),
	}
	for i, c := range valid {
		if err := c.Validate(); err != nil {
			t.Errorf("valid[%d]: %v", i, err)
		}
	}
}

// TestApplyDoesNotCompilePatterns: a pattern that Validate refuses only
// because it does not compile is still applied (the proposer validated;
// Apply's outcome must not depend on this build's regexp package).
func TestApplyDoesNotCompilePatterns(t *testing.T) {
	h := newHarness(t)
	cfg := DefaultSchedulerConfig()
	cfg.Rules = []DelegationRule{{Pattern: "a(b", AgentType: "x"}}
	if err := Validate(&SetSchedulerConfig{Config: cfg}); err == nil {
		t.Fatal("Validate accepted a pattern that does not compile")
	}
	if err := Validate(&Batch{Commands: []Command{&Tick{}, &SetSchedulerConfig{Config: cfg}}}); err == nil ||
		!strings.Contains(err.Error(), "commands[1]: rules[0].pattern") {
		t.Fatalf("batch: %v", err)
	}
	if res := h.apply(&SetSchedulerConfig{Config: cfg}); res.Err != nil {
		t.Fatal(res.Err)
	}
}

func TestSetSchedulerConfig(t *testing.T) {
	h := newHarness(t)
	h.create("a")
	cfg := sampleSchedulerConfig()
	hdr := Header{RequestID: "cfg-1", Node: "leader"}
	res := h.apply(&SetSchedulerConfig{Header: hdr, Config: cfg})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if len(res.Receipts) != 1 {
		t.Fatalf("receipts %d", len(res.Receipts))
	}
	r := res.Receipts[0]
	if r.Event != EventSchedulerConfigured || r.WorkOrder != "" || r.From != "" || r.To != "" || r.Node != "leader" ||
		r.EvidenceDigest != SchedulerConfigDigest(&cfg) || r.Seq != 2 {
		t.Fatalf("receipt %+v", r)
	}
	v := h.f.View()
	got := v.SchedulerConfig()
	if !reflect.DeepEqual(got, cfg) {
		t.Fatalf("config\n got %+v\nwant %+v", got, cfg)
	}
	got.StageWIP["code"] = 99 // a copy: the state is not changed
	if v.SchedulerConfig().StageWIP["code"] != 5 {
		t.Fatal("View.SchedulerConfig returned shared maps")
	}
	if !v.Verify(0, 0).OK {
		t.Fatal("chain does not verify")
	}
	// A receipt of no work order is not listed under any work order.
	if rs := v.Receipts(ReceiptQuery{WorkOrder: "WO-1"}); len(rs) != 1 {
		t.Fatalf("WO-1 receipts %d", len(rs))
	}
	// A retry answers with the first outcome; the config and chain stay.
	before := h.tables()
	again := h.apply(&SetSchedulerConfig{Header: hdr, Config: DefaultSchedulerConfig()})
	if again.Err != nil || len(again.Receipts) != 1 || again.Receipts[0] != r || !bytes.Equal(before, h.tables()) {
		t.Fatalf("retry: %+v", again)
	}
	// Invalid configs change nothing.
	bad := cfg.Clone()
	bad.Mix["cost"] = 50
	if res := h.apply(&SetSchedulerConfig{Config: bad}); !errors.Is(res.Err, ErrInvalidArgument) || !bytes.Equal(before, h.tables()) {
		t.Fatalf("bad config: %v", res.Err)
	}
	// The config survives a snapshot.
	f := restoreFrom(t, h.snapshot())
	if !reflect.DeepEqual(f.View().SchedulerConfig(), cfg) {
		t.Fatal("config lost in snapshot/restore")
	}
}

func TestSchedulerConfigDigest(t *testing.T) {
	a, b := sampleSchedulerConfig(), sampleSchedulerConfig()
	if SchedulerConfigDigest(&a) != SchedulerConfigDigest(&b) {
		t.Fatal("equal configs, different digests")
	}
	b.StageWIP["code"]++
	if SchedulerConfigDigest(&a) == SchedulerConfigDigest(&b) {
		t.Fatal("different configs, equal digests")
	}
	// Pinned: the digest of the empty config is the hash of the domain and
	// six zero counts after an empty strategy.
	empty := SchedulerConfigDigest(&SchedulerConfig{})
	if got := hex.EncodeToString(empty[:]); got != "d9a389908df3ba9b8e63f08a5f698284baf88a6964502f2c5c71f0c6945f4e91" {
		t.Fatalf("empty config digest %s", got)
	}
}
