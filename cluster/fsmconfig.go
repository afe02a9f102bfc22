package cluster

import (
	"fmt"

	"github.com/hive-swarm/hive/fsm"
)

// ConfigFromFSM converts the replicated scheduler configuration into the
// scheduler's Config, bridging the two conventions where they differ:
//
//   - a WIP limit of 0 means unlimited in the FSM but "start nothing"
//     here, so zero limits are left out (unlimited);
//   - the FSM's leveling mix is percentages summing to 100 or all 0 (off);
//     zero weights are left out, and an all-zero mix becomes no mix;
//   - delegation rules and pipeline templates are copied field by field;
//   - the adaptive thresholds, which the FSM does not hold, are
//     DefaultAdaptiveConfig().
//
// The result is validated; an error wraps ErrInvalidConfig (for instance
// for a strategy name the FSM stored but this package does not know).
func ConfigFromFSM(c fsm.SchedulerConfig) (Config, error) {
	strategy, err := ParseStrategy(c.Strategy)
	if err != nil {
		return Config{}, fmt.Errorf("%w: strategy: %w", ErrInvalidConfig, err)
	}
	out := Config{
		Strategy: strategy,
		Adaptive: DefaultAdaptiveConfig(),
	}
	out.StageWIP = positive(c.StageWIP)
	out.BucketWIP = positive(c.BucketWIP)
	out.Mix = positive(c.Mix)
	if len(c.Rules) > 0 {
		out.Delegation = make([]DelegationRule, len(c.Rules))
		for i, r := range c.Rules {
			out.Delegation[i] = DelegationRule{Pattern: r.Pattern, AgentType: r.AgentType}
		}
	}
	if len(c.Pipelines) > 0 {
		out.Pipelines = make([]Pipeline, len(c.Pipelines))
		for i, p := range c.Pipelines {
			stages := make([]PipelineStage, len(p.Stages))
			for k, s := range p.Stages {
				stages[k] = PipelineStage{Name: s.Name, AgentType: s.AgentType, Stage: s.Stage, EffortSeconds: s.Effort}
			}
			out.Pipelines[i] = Pipeline{Name: p.Name, Stages: stages}
		}
	}
	if err := out.Validate(); err != nil {
		return Config{}, err
	}
	return out, nil
}

// positive copies the entries of m with a value above zero; nil when none.
func positive(m map[string]int) map[string]int {
	var out map[string]int
	for k, v := range m {
		if v > 0 {
			if out == nil {
				out = make(map[string]int, len(m))
			}
			out[k] = v
		}
	}
	return out
}
