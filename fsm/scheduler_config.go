package fsm

import (
	"crypto/sha256"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// SchedulerConfig is the scheduling policy, part of the replicated state
// (and of snapshots): every node holds the same one at the same index,
// so a new leader's control loop starts from it and Apply enforces its
// WIP limits on every start. SetSchedulerConfig replaces it; the initial
// state holds DefaultSchedulerConfig().
//
// Limits: a WIP limit of 0, like an absent one, means unlimited. A limit
// counts the work orders in flight (in_progress, review, testing) with
// that stage or bucket, cluster-wide; starting (Transition start or
// Assign) one more is refused with ErrWIPLimit once the count has reached
// the limit. A lower limit never stops work already in flight, and a
// progress transition that moves an in-flight work order to another stage
// is not refused: it counts against the new stage from then on.
type SchedulerConfig struct {
	// Strategy names the control loop's scheduling strategy ("priority",
	// "fifo", ...). The FSM stores it opaquely (at most MaxNameLen bytes);
	// the API layer validates the name.
	Strategy string
	// StageWIP limits in-flight work per pipeline stage (WorkOrder.Stage).
	// Work orders without a stage count against no stage limit.
	StageWIP map[string]int
	// BucketWIP limits in-flight work per bucket.
	BucketWIP map[string]int
	// Mix is the heijunka leveling mix: a percentage per bucket, summing
	// to 100, or all 0 (or empty) to turn leveling off. The control loop
	// applies it; Apply only stores it.
	Mix map[string]int
	// Rules route work orders without an agent type: the first rule whose
	// Pattern matches the title or description names the agent type. The
	// control loop applies them.
	Rules []DelegationRule
	// Pipelines are the templates RunPipeline instantiates; names are
	// unique.
	Pipelines []PipelineTemplate
	// AutoAndon lists the failure classes on which the leader's control
	// loop pulls the andon cord by itself (AutoAndonClasses: test_failure,
	// repeated_crash, sla_breach); empty (the default) turns it off.
	// Apply only stores it; names are unique.
	AutoAndon []string
}

// DelegationRule maps a title/description pattern (Go RE2 syntax) to an
// agent type.
type DelegationRule struct {
	Pattern   string
	AgentType string
}

// PipelineTemplate is a named sequence of stages; RunPipeline creates one
// work order per stage, each depending on the one before.
type PipelineTemplate struct {
	Name   string
	Stages []PipelineStage
}

// PipelineStage is one step of a PipelineTemplate. Its work order gets
// Kind = AgentType ("" leaves the choice to the delegation rules),
// Stage = WIPStage() (the stage it counts against in StageWIP), Effort,
// PipelineStep = Name, and the title "<run title> (<Name>)".
type PipelineStage struct {
	Name      string
	AgentType string
	Stage     string // WIP stage; "" means Name
	Effort    int64  // estimated effort in seconds; 0 when unknown
}

// WIPStage returns the stage the step's work order carries and counts
// against: Stage, or Name when Stage is empty.
func (s PipelineStage) WIPStage() string {
	if s.Stage != "" {
		return s.Stage
	}
	return s.Name
}

// Scheduler configuration defaults and limits.
const (
	DefaultStrategy     = "priority"
	DefaultPipelineName = "default"

	MaxWIPLimit         = 1_000_000 // largest WIP limit
	MaxStageLimits      = 64        // entries in StageWIP
	MaxRules            = 256       // delegation rules
	MaxPatternLen       = 4096      // bytes of one delegation pattern
	MaxPipelines        = 64        // pipeline templates
	MaxPipelineStages   = 32        // stages per template
	MaxPipelineTitleLen = MaxTitleLen - MaxNameLen - 3
)

// DefaultSchedulerConfig returns the defaults of DESIGN.md: the priority
// strategy; stage WIP design 3, code 5, test 7; bucket WIP 5, features
// 10; the leveling mix reliability 40, security 30, cost 20, features 10;
// no delegation rules; and the template DefaultPipeline(). It is the
// same on every node (the initial state depends on it).
func DefaultSchedulerConfig() SchedulerConfig {
	bucketWIP := make(map[string]int, numBuckets)
	for _, b := range buckets {
		bucketWIP[b] = 5
	}
	bucketWIP[BucketFeatures] = 10
	return SchedulerConfig{
		Strategy:  DefaultStrategy,
		StageWIP:  map[string]int{"design": 3, "code": 5, "test": 7},
		BucketWIP: bucketWIP,
		Mix: map[string]int{
			BucketReliability: 40,
			BucketSecurity:    30,
			BucketCost:        20,
			BucketFeatures:    10,
		},
		Pipelines: []PipelineTemplate{DefaultPipeline()},
	}
}

// DefaultPipeline returns the template "default": research → plan →
// implement → test → review, run by the agent types researcher, planner,
// coder, tester and reviewer. Research and plan count against the
// "design" WIP stage, implement against "code", test against "test", and
// review against "review" (unlimited unless configured). The efforts are
// rough placeholders for the critical path. The cluster package's
// DefaultPipeline is the same template.
func DefaultPipeline() PipelineTemplate {
	return PipelineTemplate{Name: DefaultPipelineName, Stages: []PipelineStage{
		{Name: "research", AgentType: "researcher", Stage: "design", Effort: 3600},
		{Name: "plan", AgentType: "planner", Stage: "design", Effort: 1800},
		{Name: "implement", AgentType: "coder", Stage: "code", Effort: 4 * 3600},
		{Name: "test", AgentType: "tester", Stage: "test", Effort: 3600},
		{Name: "review", AgentType: "reviewer", Stage: "review", Effort: 1800},
	}}
}

// Clone returns a deep copy of c.
func (c SchedulerConfig) Clone() SchedulerConfig {
	c.StageWIP = maps.Clone(c.StageWIP)
	c.BucketWIP = maps.Clone(c.BucketWIP)
	c.Mix = maps.Clone(c.Mix)
	c.Rules = slices.Clone(c.Rules)
	c.AutoAndon = slices.Clone(c.AutoAndon)
	if c.Pipelines != nil {
		ps := make([]PipelineTemplate, len(c.Pipelines))
		for i, p := range c.Pipelines {
			p.Stages = slices.Clone(p.Stages)
			ps[i] = p
		}
		c.Pipelines = ps
	}
	return c
}

// Pipeline returns the template called name. The template shares its
// Stages with c.
func (c SchedulerConfig) Pipeline(name string) (PipelineTemplate, bool) {
	for _, p := range c.Pipelines {
		if p.Name == name {
			return p, true
		}
	}
	return PipelineTemplate{}, false
}

// Validate reports the first problem of c as an *Error with code
// invalid_argument whose message names the field (stage_wip["code"],
// rules[2].pattern, pipelines[0].stages[1].name, ...): a limit outside
// 0..MaxWIPLimit, a malformed stage or unknown bucket name, a mix
// percentage outside 0..100 or a mix that sums to neither 100 nor 0, a
// delegation pattern that is empty, too long or does not compile, a
// missing agent type, a pipeline with a malformed or repeated name, no
// stages or too many, a malformed or repeated stage name, a negative
// effort, or more entries than the limits above allow. Validate(&
// SetSchedulerConfig{...}) runs the same checks.
func (c SchedulerConfig) Validate() error {
	if err := validateSchedulerConfig(&c); err != nil {
		return err
	}
	if err := compileRules(c.Rules); err != nil {
		return err
	}
	return nil
}

// validateSchedulerConfig is the part of Validate that Apply repeats: it
// leaves out compiling the patterns, so that a committed entry's outcome
// never depends on the regexp package of the build that applies it. Maps
// are checked in key order, so the message is deterministic.
func validateSchedulerConfig(c *SchedulerConfig) *Error {
	if len(c.Strategy) > MaxNameLen {
		return Errorf(ErrInvalidArgument, "strategy: longer than %d bytes", MaxNameLen)
	}
	if len(c.StageWIP) > MaxStageLimits {
		return Errorf(ErrInvalidArgument, "stage_wip: %d stages (max %d)", len(c.StageWIP), MaxStageLimits)
	}
	for _, k := range sortedIntKeys(c.StageWIP) {
		if msg := checkConfigName(k); msg != "" {
			return Errorf(ErrInvalidArgument, "stage_wip[%q]: stage name %s", k, msg)
		}
		if v := c.StageWIP[k]; v < 0 || v > MaxWIPLimit {
			return Errorf(ErrInvalidArgument, "stage_wip[%q]: limit %d outside 0..%d", k, v, MaxWIPLimit)
		}
	}
	for _, k := range sortedIntKeys(c.BucketWIP) {
		if !validBucket(k) {
			return Errorf(ErrInvalidArgument, "bucket_wip[%q]: unknown bucket (valid: %s)", k, strings.Join(buckets[:], ", "))
		}
		if v := c.BucketWIP[k]; v < 0 || v > MaxWIPLimit {
			return Errorf(ErrInvalidArgument, "bucket_wip[%q]: limit %d outside 0..%d", k, v, MaxWIPLimit)
		}
	}
	sum := 0
	for _, k := range sortedIntKeys(c.Mix) {
		if !validBucket(k) {
			return Errorf(ErrInvalidArgument, "mix[%q]: unknown bucket (valid: %s)", k, strings.Join(buckets[:], ", "))
		}
		v := c.Mix[k]
		if v < 0 || v > 100 {
			return Errorf(ErrInvalidArgument, "mix[%q]: %d%% outside 0..100", k, v)
		}
		sum += v
	}
	if sum != 0 && sum != 100 {
		return Errorf(ErrInvalidArgument, "mix: percentages sum to %d (want 100, or all 0 to turn leveling off)", sum)
	}
	if len(c.Rules) > MaxRules {
		return Errorf(ErrInvalidArgument, "rules: %d rules (max %d)", len(c.Rules), MaxRules)
	}
	for i, r := range c.Rules {
		switch {
		case r.Pattern == "":
			return Errorf(ErrInvalidArgument, "rules[%d].pattern: empty", i)
		case len(r.Pattern) > MaxPatternLen:
			return Errorf(ErrInvalidArgument, "rules[%d].pattern: %d bytes (max %d)", i, len(r.Pattern), MaxPatternLen)
		}
		if msg := checkConfigName(r.AgentType); msg != "" {
			return Errorf(ErrInvalidArgument, "rules[%d].agent_type: %s", i, msg)
		}
	}
	if len(c.Pipelines) > MaxPipelines {
		return Errorf(ErrInvalidArgument, "pipelines: %d templates (max %d)", len(c.Pipelines), MaxPipelines)
	}
	for i := range c.Pipelines {
		if err := validatePipeline(c.Pipelines, i); err != nil {
			return err
		}
	}
	return validateAutoAndon(c.AutoAndon)
}

// validatePipeline checks ps[i], and that no earlier template has its name.
func validatePipeline(ps []PipelineTemplate, i int) *Error {
	p := &ps[i]
	if msg := checkConfigName(p.Name); msg != "" {
		return Errorf(ErrInvalidArgument, "pipelines[%d].name: %s", i, msg)
	}
	for j := range i {
		if ps[j].Name == p.Name {
			return Errorf(ErrInvalidArgument, "pipelines[%d].name: %q repeated (pipelines[%d])", i, p.Name, j)
		}
	}
	if len(p.Stages) == 0 || len(p.Stages) > MaxPipelineStages {
		return Errorf(ErrInvalidArgument, "pipelines[%d].stages: %d stages (want 1..%d)", i, len(p.Stages), MaxPipelineStages)
	}
	for k, s := range p.Stages {
		if msg := checkConfigName(s.Name); msg != "" {
			return Errorf(ErrInvalidArgument, "pipelines[%d].stages[%d].name: %s", i, k, msg)
		}
		for j := range k {
			if p.Stages[j].Name == s.Name {
				return Errorf(ErrInvalidArgument, "pipelines[%d].stages[%d].name: %q repeated (stages[%d])", i, k, s.Name, j)
			}
		}
		if s.AgentType != "" {
			if msg := checkConfigName(s.AgentType); msg != "" {
				return Errorf(ErrInvalidArgument, "pipelines[%d].stages[%d].agent_type: %s", i, k, msg)
			}
		}
		if s.Stage != "" {
			if msg := checkConfigName(s.Stage); msg != "" {
				return Errorf(ErrInvalidArgument, "pipelines[%d].stages[%d].stage: %s", i, k, msg)
			}
		}
		if s.Effort < 0 {
			return Errorf(ErrInvalidArgument, "pipelines[%d].stages[%d].effort: negative (%d)", i, k, s.Effort)
		}
	}
	return nil
}

// compileRules compiles every delegation pattern (Validate only).
func compileRules(rules []DelegationRule) *Error {
	for i, r := range rules {
		if _, err := regexp.Compile(r.Pattern); err != nil {
			return Errorf(ErrInvalidArgument, "rules[%d].pattern: %v", i, err)
		}
	}
	return nil
}

// checkConfigName returns "" when s is a valid stage, agent type or
// pipeline name (1..MaxNameLen bytes of UTF-8 without spaces or control
// characters), else what is wrong with it.
func checkConfigName(s string) string {
	switch {
	case s == "":
		return "empty"
	case len(s) > MaxNameLen:
		return "longer than " + strconv.Itoa(MaxNameLen) + " bytes"
	case !utf8.ValidString(s):
		return "not valid UTF-8"
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return "contains a space or control character"
	}
	return ""
}

func sortedIntKeys(m map[string]int) []string {
	if len(m) == 0 {
		return nil
	}
	return slices.Sorted(maps.Keys(m))
}

// SchedulerConfigDomain prefixes the layout SchedulerConfigDigest hashes.
const SchedulerConfigDomain = "hive-scheduler-config-v1"

// SchedulerConfigDigest returns SHA-256 over SchedulerConfigDomain and the
// config's canonical encoding, which is also the body of a
// SetSchedulerConfig command after its header: strategy (string); the maps
// StageWIP, BucketWIP and Mix, each as a uvarint count and then, in
// increasing key order, key (string) and value (zig-zag varint); the
// rules as a count and then pattern, agent type; the pipelines as a count
// and then name and the stages as a count and then name, agent type,
// stage (strings) and effort (varint); then, only when AutoAndon is not
// empty, its classes as a count and strings. A string is a uvarint length and
// the bytes. The scheduler_configured receipt carries it as its evidence
// digest, so the chain pins every configuration in force.
func SchedulerConfigDigest(c *SchedulerConfig) [32]byte {
	w := &wbuf{b: append(make([]byte, 0, 512), SchedulerConfigDomain...)}
	encSchedulerConfig(w, c)
	return sha256.Sum256(w.b)
}

// schedState is the stored scheduler configuration with its limits laid
// out for the O(1) check at every start. It is immutable: a new config
// replaces the pointer.
type schedState struct {
	cfg         SchedulerConfig
	bucketLimit [numBuckets]int // BucketWIP by bucket index; 0 = unlimited
}

func newSchedState(cfg SchedulerConfig) *schedState {
	s := &schedState{cfg: cfg}
	for k, v := range cfg.BucketWIP {
		if bi, ok := bucketIndex(k); ok {
			s.bucketLimit[bi] = v
		}
	}
	return s
}
