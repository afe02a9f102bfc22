package cluster

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hive-swarm/hive/fsm"
)

// Limits that Validate enforces, so a config stored in the replicated
// state stays small and every plan stays cheap.
const (
	MaxNameLen         = 128       // bytes of a stage, bucket, agent type or pipeline name
	MaxWIPLimit        = 1_000_000 // largest WIP limit
	MaxMixWeight       = 1_000_000 // largest leveling weight
	MaxDelegationRules = 256       // delegation rules per config
	MaxPatternLen      = 4096      // bytes of one delegation pattern
	MaxPipelines       = 64        // pipeline templates per config
	MaxPipelineStages  = 32        // stages per pipeline
	MaxQueueFactor     = 1_000_000 // largest AdaptiveConfig.LongQueueFactor
)

// Config is the scheduler's policy. The replicated one is an
// fsm.SchedulerConfig, which may be replaced at run time; ConfigFromFSM
// converts it.
//
// The Go zero value is a valid config with no limits: the priority
// strategy, no WIP limits, no leveling, no delegation and no pipelines.
// DefaultConfig returns the defaults of the design.
type Config struct {
	// Strategy orders the queue; "" means StrategyPriority.
	Strategy Strategy
	// StageWIP limits, cluster-wide, how many work orders of a stage may
	// be in flight (running plus assigned by this plan). A stage that is
	// not in the map is unlimited; a limit of 0 stops the stage from
	// starting anything, which is how an Andon halt can be expressed.
	StageWIP map[string]int
	// BucketWIP limits in-flight work per bucket the same way.
	BucketWIP map[string]int
	// Mix is the heijunka leveling mix: a weight per bucket. Weights are
	// proportions and are normalised by their sum, so they need not add up
	// to 100 (the default 40/30/20/10 does). Buckets without a weight get
	// only the slots that weighted buckets leave unused. An empty mix
	// turns leveling off.
	Mix map[string]int
	// Delegation maps title/description patterns to agent types for
	// candidates without one; the first matching rule wins.
	Delegation []DelegationRule
	// Pipelines are the pipeline templates (see Pipeline).
	Pipelines []Pipeline
	// Adaptive tunes StrategyAdaptive.
	Adaptive AdaptiveConfig
}

// DelegationRule routes a work order without an agent type: when Pattern
// (Go RE2 syntax, so matching is linear in the input) matches its title or
// its description, it runs on AgentType.
type DelegationRule struct {
	Pattern   string `json:"pattern"`
	AgentType string `json:"agent_type"`
}

// AdaptiveConfig holds the thresholds of StrategyAdaptive. For each plan
// the strategy is, in this order:
//
//  1. deadline, when some placeable candidate's deadline is at risk: the
//     time left before its deadline, less its estimated effort, is below
//     DeadlineRiskPercent of its whole window (deadline - created), or
//     the deadline has passed;
//  2. sjf, when the queue is long: LongQueueFactor > 0, there is free
//     capacity, and the placeable candidates outnumber LongQueueFactor
//     times the free slots of healthy nodes (all agent types together);
//  3. priority otherwise.
//
// A placeable candidate has a valid ID and an agent type (its own or
// delegated) that some healthy node offers.
//
// It reads only Plan's arguments, so the same inputs pick the same
// strategy on every leader.
type AdaptiveConfig struct {
	// DeadlineRiskPercent is the share of a deadline window, 0-100, under
	// which the slack of a candidate counts as at risk. The default 25
	// matches the SLA warning threshold.
	DeadlineRiskPercent int `json:"deadline_risk_percent"`
	// LongQueueFactor is how many queued candidates per free slot make the
	// queue long; 0 never switches to sjf.
	LongQueueFactor int `json:"long_queue_factor"`
}

// DefaultPipelineName names the pipeline template of DefaultConfig.
const DefaultPipelineName = "default"

// DefaultConfig returns the design's defaults: the priority strategy;
// stage WIP design 3, code 5, test 7; bucket WIP 5 per bucket and 10 for
// features; the leveling mix reliability 40, security 30, cost 20,
// features 10; no delegation rules; the default pipeline template; and
// adaptive thresholds of 25 % deadline risk and 4 candidates per free slot.
func DefaultConfig() Config {
	bucketWIP := make(map[string]int)
	for _, b := range fsm.Buckets() {
		bucketWIP[b] = 5
	}
	bucketWIP[fsm.BucketFeatures] = 10
	return Config{
		Strategy:  StrategyPriority,
		StageWIP:  map[string]int{"design": 3, "code": 5, "test": 7},
		BucketWIP: bucketWIP,
		Mix: map[string]int{
			fsm.BucketReliability: 40,
			fsm.BucketSecurity:    30,
			fsm.BucketCost:        20,
			fsm.BucketFeatures:    10,
		},
		Delegation: []DelegationRule{},
		Pipelines:  []Pipeline{DefaultPipeline()},
		Adaptive:   DefaultAdaptiveConfig(),
	}
}

// DefaultAdaptiveConfig returns the adaptive thresholds of DefaultConfig.
func DefaultAdaptiveConfig() AdaptiveConfig {
	return AdaptiveConfig{DeadlineRiskPercent: 25, LongQueueFactor: 4}
}

// Clone returns a deep copy of c.
func (c Config) Clone() Config {
	c.StageWIP = maps.Clone(c.StageWIP)
	c.BucketWIP = maps.Clone(c.BucketWIP)
	c.Mix = maps.Clone(c.Mix)
	c.Delegation = slices.Clone(c.Delegation)
	if c.Pipelines != nil {
		ps := make([]Pipeline, len(c.Pipelines))
		for i, p := range c.Pipelines {
			p.Stages = slices.Clone(p.Stages)
			ps[i] = p
		}
		c.Pipelines = ps
	}
	return c
}

// Pipeline returns the template called name, or an error wrapping
// ErrUnknownPipeline that lists the names c holds.
func (c Config) Pipeline(name string) (Pipeline, error) {
	names := make([]string, 0, len(c.Pipelines))
	for _, p := range c.Pipelines {
		if p.Name == name {
			return p, nil
		}
		names = append(names, p.Name)
	}
	return Pipeline{}, fmt.Errorf("%w %q (have: %s)", ErrUnknownPipeline, name, strings.Join(names, ", "))
}

// Validate reports every problem of c at once, one per line, in an error
// wrapping ErrInvalidConfig (and ErrUnknownStrategy or ErrInvalidPipeline
// when those are among the problems). Each line names the field in its
// JSON spelling: a negative or too large WIP limit,
// a WIP limit or weight for a malformed name or an unknown bucket, a
// negative weight or a mix whose weights are all zero, a delegation
// pattern that does not compile or an invalid agent type, an invalid or
// repeated pipeline, adaptive thresholds out of range.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	if !c.Strategy.Valid() {
		_, err := ParseStrategy(string(c.Strategy))
		errs = append(errs, fmt.Errorf("strategy: %w", err))
	}
	for _, k := range slices.Sorted(maps.Keys(c.StageWIP)) {
		if err := checkName(k); err != nil {
			bad("stage_wip[%q]: stage name %v", k, err)
		}
		if v := c.StageWIP[k]; v < 0 || v > MaxWIPLimit {
			bad("stage_wip[%q]: limit %d outside 0..%d", k, v, MaxWIPLimit)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(c.BucketWIP)) {
		if !slices.Contains(fsm.Buckets(), k) {
			bad("bucket_wip[%q]: unknown bucket (valid: %s)", k, strings.Join(fsm.Buckets(), ", "))
		}
		if v := c.BucketWIP[k]; v < 0 || v > MaxWIPLimit {
			bad("bucket_wip[%q]: limit %d outside 0..%d", k, v, MaxWIPLimit)
		}
	}
	total := 0
	for _, k := range slices.Sorted(maps.Keys(c.Mix)) {
		if !slices.Contains(fsm.Buckets(), k) {
			bad("leveling_mix[%q]: unknown bucket (valid: %s)", k, strings.Join(fsm.Buckets(), ", "))
		}
		v := c.Mix[k]
		if v < 0 || v > MaxMixWeight {
			bad("leveling_mix[%q]: weight %d outside 0..%d", k, v, MaxMixWeight)
			continue
		}
		total += v
	}
	if len(c.Mix) > 0 && total == 0 {
		bad("leveling_mix: every weight is 0 (leave the mix empty to turn leveling off)")
	}
	if len(c.Delegation) > MaxDelegationRules {
		bad("delegation: %d rules (max %d)", len(c.Delegation), MaxDelegationRules)
	}
	for i, r := range c.Delegation {
		if _, err := r.compile(); err != nil {
			errs = append(errs, fmt.Errorf("delegation[%d]: %w", i, err))
		}
	}
	if len(c.Pipelines) > MaxPipelines {
		bad("pipelines: %d templates (max %d)", len(c.Pipelines), MaxPipelines)
	}
	seen := make(map[string]bool, len(c.Pipelines))
	for i, p := range c.Pipelines {
		if err := p.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("pipelines[%d]: %w", i, err))
		}
		if seen[p.Name] {
			bad("pipelines[%d]: name %q repeated", i, p.Name)
		}
		seen[p.Name] = true
	}
	if v := c.Adaptive.DeadlineRiskPercent; v < 0 || v > 100 {
		bad("adaptive.deadline_risk_percent: %d outside 0..100", v)
	}
	if v := c.Adaptive.LongQueueFactor; v < 0 || v > MaxQueueFactor {
		bad("adaptive.long_queue_factor: %d outside 0..%d", v, MaxQueueFactor)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalidConfig, errors.Join(errs...))
}

// compile checks r and compiles its pattern.
func (r DelegationRule) compile() (*regexp.Regexp, error) {
	if r.Pattern == "" {
		return nil, errors.New("pattern: empty")
	}
	if len(r.Pattern) > MaxPatternLen {
		return nil, fmt.Errorf("pattern: %d bytes (max %d)", len(r.Pattern), MaxPatternLen)
	}
	re, err := regexp.Compile(r.Pattern)
	if err != nil {
		return nil, fmt.Errorf("pattern %q: %w", r.Pattern, err)
	}
	if err := checkName(r.AgentType); err != nil {
		return nil, fmt.Errorf("agent_type %q: %w", r.AgentType, err)
	}
	return re, nil
}

// checkName accepts 1..MaxNameLen bytes of valid UTF-8 without spaces or
// control characters: the names of stages, buckets, agent types and
// pipelines.
func checkName(s string) error {
	switch {
	case s == "":
		return errors.New("empty")
	case len(s) > MaxNameLen:
		return fmt.Errorf("%d bytes (max %d)", len(s), MaxNameLen)
	case !utf8.ValidString(s):
		return errors.New("not valid UTF-8")
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return errors.New("contains a space or control character")
	}
	return nil
}
