package cluster

import (
	"errors"
	"strings"
	"testing"
)

func TestDefaultConfig(t *testing.T) {
	cfg := DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("DefaultConfig invalid: %v", err)
	}
	want := map[string]int{"design": 3, "code": 5, "test": 7}
	for k, v := range want {
		if cfg.StageWIP[k] != v {
			t.Errorf("stage_wip[%s] = %d, want %d", k, cfg.StageWIP[k], v)
		}
	}
	if cfg.BucketWIP["features"] != 10 || cfg.BucketWIP["security"] != 5 || len(cfg.BucketWIP) != 6 {
		t.Errorf("bucket_wip = %v", cfg.BucketWIP)
	}
	mix := cfg.Mix
	if mix["reliability"] != 40 || mix["security"] != 30 || mix["cost"] != 20 || mix["features"] != 10 || len(mix) != 4 {
		t.Errorf("mix = %v", mix)
	}
	if _, err := cfg.Pipeline(DefaultPipelineName); err != nil {
		t.Errorf("default pipeline: %v", err)
	}
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("zero Config invalid: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   []string // substrings of the error
	}{
		{"negative stage WIP", func(c *Config) { c.StageWIP["code"] = -1 }, []string{`stage_wip["code"]: limit -1 outside 0..1000000`}},
		{"huge stage WIP", func(c *Config) { c.StageWIP["code"] = MaxWIPLimit + 1 }, []string{`stage_wip["code"]`}},
		{"bad stage name", func(c *Config) { c.StageWIP["two words"] = 1 }, []string{`stage_wip["two words"]: stage name contains a space`}},
		{"empty stage name", func(c *Config) { c.StageWIP[""] = 1 }, []string{`stage_wip[""]: stage name empty`}},
		{"negative bucket WIP", func(c *Config) { c.BucketWIP["security"] = -3 }, []string{`bucket_wip["security"]: limit -3`}},
		{"unknown bucket WIP", func(c *Config) { c.BucketWIP["secruity"] = 1 }, []string{`bucket_wip["secruity"]: unknown bucket (valid: compliance, cost`}},
		{"negative weight", func(c *Config) { c.Mix["cost"] = -20 }, []string{`leveling_mix["cost"]: weight -20`}},
		{"unknown mix bucket", func(c *Config) { c.Mix["reliabilty"] = 5 }, []string{`leveling_mix["reliabilty"]: unknown bucket`}},
		{"all weights zero", func(c *Config) { c.Mix = map[string]int{"cost": 0} }, []string{"leveling_mix: every weight is 0"}},
		{"bad regexp", func(c *Config) { c.Delegation = []DelegationRule{{Pattern: "fix(", AgentType: "coder"}} },
			[]string{`delegation[0]: pattern "fix(": error parsing regexp: missing closing )`}},
		{"empty pattern", func(c *Config) { c.Delegation = []DelegationRule{{AgentType: "coder"}} }, []string{"delegation[0]: pattern: empty"}},
		{"rule without type", func(c *Config) { c.Delegation = []DelegationRule{{Pattern: "x"}} }, []string{`delegation[0]: agent_type "": empty`}},
		{"unknown strategy", func(c *Config) { c.Strategy = "lifo" }, []string{`strategy: cluster: unknown scheduling strategy "lifo" (valid: priority, fifo`}},
		{"bad pipeline", func(c *Config) { c.Pipelines = append(c.Pipelines, Pipeline{Name: "empty"}) },
			[]string{`pipelines[1]: cluster: invalid pipeline "empty": 0 stages`}},
		{"repeated pipeline", func(c *Config) { c.Pipelines = append(c.Pipelines, DefaultPipeline()) }, []string{`pipelines[1]: name "default" repeated`}},
		{"adaptive out of range", func(c *Config) { c.Adaptive = AdaptiveConfig{DeadlineRiskPercent: 101, LongQueueFactor: -1} },
			[]string{"adaptive.deadline_risk_percent: 101 outside 0..100", "adaptive.long_queue_factor: -1"}},
		{"several at once", func(c *Config) { c.StageWIP["code"] = -1; c.Mix["cost"] = -1 },
			[]string{`stage_wip["code"]`, `leveling_mix["cost"]`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.mutate(&cfg)
			err := cfg.Validate()
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Validate() = %v, want ErrInvalidConfig", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
			if _, err := NewScheduler(cfg); !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("NewScheduler accepted it: %v", err)
			}
		})
	}
	cfg := DefaultConfig()
	cfg.Strategy = "lifo"
	if err := cfg.Validate(); !errors.Is(err, ErrUnknownStrategy) {
		t.Errorf("unknown strategy does not wrap ErrUnknownStrategy: %v", err)
	}
}

func TestConfigClone(t *testing.T) {
	a := DefaultConfig()
	a.Delegation = append(a.Delegation, DelegationRule{Pattern: "x", AgentType: "y"})
	b := a.Clone()
	b.StageWIP["code"] = 99
	b.Mix["cost"] = 99
	b.BucketWIP["cost"] = 99
	b.Delegation[0].AgentType = "z"
	b.Pipelines[0].Stages[0].Name = "changed"
	if a.StageWIP["code"] != 5 || a.Mix["cost"] != 20 || a.BucketWIP["cost"] != 5 ||
		a.Delegation[0].AgentType != "y" || a.Pipelines[0].Stages[0].Name != "research" {
		t.Errorf("Clone shares memory with the original: %+v", a)
	}
	// The scheduler keeps its own copy.
	s := mustScheduler(t, a)
	a.StageWIP["code"] = 0
	if s.Config().StageWIP["code"] != 5 {
		t.Error("changing the caller's config changed the scheduler's")
	}
}

func TestConfigPipelineLookup(t *testing.T) {
	cfg := DefaultConfig()
	_, err := cfg.Pipeline("release")
	if !errors.Is(err, ErrUnknownPipeline) || !strings.Contains(err.Error(), "have: default") {
		t.Errorf("Pipeline(release) = %v", err)
	}
}
