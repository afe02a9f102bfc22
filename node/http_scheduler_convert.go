package node

import (
	"maps"
	"slices"
	"strings"

	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/cluster"
	"github.com/hive-swarm/hive/fsm"
)

// Conversions of the scheduler configuration, its pipelines and pipeline
// runs between the API's types and the state machine's. Strategy names
// are checked against the control loop's list (package cluster), which
// the state machine stores opaquely; everything else is checked by
// fsm.SchedulerConfig.Validate, whose messages name the fields in the
// API's JSON spelling (stage_wip["code"], rules[2].pattern, ...).

// schedulerConfigToAPI converts the configuration in force. Every field is
// present (empty maps and lists rather than null), so a PUT of what a GET
// returned changes nothing.
func schedulerConfigToAPI(c fsm.SchedulerConfig) *api.SchedulerConfig {
	out := &api.SchedulerConfig{
		Strategy:  c.Strategy,
		StageWIP:  nonNil(maps.Clone(c.StageWIP)),
		BucketWIP: nonNil(maps.Clone(c.BucketWIP)),
		Mix:       nonNil(maps.Clone(c.Mix)),
		Rules:     make([]api.DelegationRule, len(c.Rules)),
		Pipelines: make([]*api.Pipeline, len(c.Pipelines)),
		AutoAndon: append([]string{}, c.AutoAndon...),
	}
	if out.Strategy == "" {
		out.Strategy = string(cluster.StrategyPriority)
	}
	for i, r := range c.Rules {
		out.Rules[i] = api.DelegationRule{Pattern: r.Pattern, AgentType: r.AgentType}
	}
	for i, p := range c.Pipelines {
		out.Pipelines[i] = pipelineToAPI(p)
	}
	return out
}

func nonNil(m map[string]int) map[string]int {
	if m == nil {
		return map[string]int{}
	}
	return m
}

// pipelineToAPI converts one template.
func pipelineToAPI(p fsm.PipelineTemplate) *api.Pipeline {
	out := &api.Pipeline{Name: p.Name, Stages: make([]*api.PipelineStage, len(p.Stages))}
	for i, s := range p.Stages {
		out.Stages[i] = &api.PipelineStage{Name: s.Name, AgentType: s.AgentType, Stage: s.Stage, Effort: s.Effort}
	}
	return out
}

// schedulerConfigFromAPI builds and validates the configuration of a PUT:
// absent (nil) fields take fsm.DefaultSchedulerConfig's values, present
// ones replace them whole; the strategy is matched case-insensitively and
// stored canonical. Errors are 400 invalid_argument naming the field.
func schedulerConfigFromAPI(in *api.SchedulerConfig) (fsm.SchedulerConfig, error) {
	def := fsm.DefaultSchedulerConfig()
	strategy, err := cluster.ParseStrategy(in.Strategy)
	if err != nil {
		names := make([]string, 0, len(cluster.Strategies()))
		for _, s := range cluster.Strategies() {
			names = append(names, string(s))
		}
		return fsm.SchedulerConfig{}, invalidArg("strategy: unknown strategy %q (valid: %s)",
			in.Strategy, strings.Join(names, ", "))
	}
	cfg := fsm.SchedulerConfig{
		Strategy:  string(strategy),
		StageWIP:  orDefault(in.StageWIP, def.StageWIP),
		BucketWIP: orDefault(in.BucketWIP, def.BucketWIP),
		Mix:       orDefault(in.Mix, def.Mix),
		Rules:     def.Rules,
		Pipelines: def.Pipelines,
		AutoAndon: def.AutoAndon,
	}
	if len(in.AutoAndon) > 0 {
		cfg.AutoAndon = append([]string(nil), in.AutoAndon...)
	}
	if in.Rules != nil {
		cfg.Rules = make([]fsm.DelegationRule, len(in.Rules))
		for i, r := range in.Rules {
			cfg.Rules[i] = fsm.DelegationRule{Pattern: r.Pattern, AgentType: r.AgentType}
		}
	}
	if in.Pipelines != nil {
		cfg.Pipelines = make([]fsm.PipelineTemplate, len(in.Pipelines))
		for i, p := range in.Pipelines {
			if p == nil {
				return fsm.SchedulerConfig{}, invalidArg("pipelines[%d]: null", i)
			}
			t := fsm.PipelineTemplate{Name: p.Name, Stages: make([]fsm.PipelineStage, len(p.Stages))}
			for k, s := range p.Stages {
				if s == nil {
					return fsm.SchedulerConfig{}, invalidArg("pipelines[%d].stages[%d]: null", i, k)
				}
				t.Stages[k] = fsm.PipelineStage{Name: s.Name, AgentType: s.AgentType, Stage: s.Stage, Effort: s.Effort}
			}
			cfg.Pipelines[i] = t
		}
	}
	if err := cfg.Validate(); err != nil {
		return fsm.SchedulerConfig{}, validationError(err)
	}
	return cfg, nil
}

// orDefault returns a copy of m, or of def when m is nil (absent or null
// in the JSON).
func orDefault(m, def map[string]int) map[string]int {
	if m == nil {
		return maps.Clone(def)
	}
	return maps.Clone(m)
}

// schedulerStatusOf describes the configuration in force in v and the
// work in flight against its limits.
func schedulerStatusOf(v *fsm.View) *api.SchedulerStatus {
	cfg := v.SchedulerConfig()
	active := v.ActiveCounts()
	out := &api.SchedulerStatus{
		Config:    schedulerConfigToAPI(cfg),
		Digest:    hashHex(fsm.SchedulerConfigDigest(&cfg)),
		StageWIP:  []*api.WIPUsage{},
		BucketWIP: []*api.WIPUsage{},
		Index:     v.Index(),
	}
	for _, st := range stageOrder(cfg, keys(cfg.StageWIP), keys(active.Stages)) {
		out.StageWIP = append(out.StageWIP, &api.WIPUsage{Name: st, InFlight: active.Stages[st], Limit: cfg.StageWIP[st]})
	}
	for _, b := range fsm.Buckets() {
		out.BucketWIP = append(out.BucketWIP, &api.WIPUsage{Name: b, InFlight: active.Buckets[b], Limit: cfg.BucketWIP[b]})
	}
	for _, s := range cluster.Strategies() {
		out.Strategies = append(out.Strategies, string(s))
	}
	return out
}

func keys(m map[string]int) []string { return slices.Collect(maps.Keys(m)) }

// stageOrder lists the stages a board or a WIP table shows: the WIP
// stages of the pipeline templates in template order, then every other
// stage named in more, sorted. No stage appears twice; "" never appears.
func stageOrder(cfg fsm.SchedulerConfig, more ...[]string) []string {
	var out []string
	seen := map[string]bool{"": true}
	for _, p := range cfg.Pipelines {
		for _, s := range p.Stages {
			if st := s.WIPStage(); !seen[st] {
				seen[st] = true
				out = append(out, st)
			}
		}
	}
	var rest []string
	for _, list := range more {
		for _, st := range list {
			if !seen[st] {
				seen[st] = true
				rest = append(rest, st)
			}
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}

// runPipelineCommand builds the command of POST /v1/pipelines/{name}/runs.
func runPipelineCommand(name string, req *api.RunPipelineRequest, h fsm.Header) (*fsm.RunPipeline, error) {
	if strings.TrimSpace(req.Title) == "" {
		return nil, invalidArg("title: required")
	}
	prio, err := parsePriority("priority", req.Priority)
	if err != nil {
		return nil, err
	}
	if err := checkBucket("bucket", req.Bucket); err != nil {
		return nil, err
	}
	if slices.Contains(req.Labels, "") {
		return nil, invalidArg("labels: empty label")
	}
	payload, deadline, err := payloadAndDeadline(req.Payload, req.Deadline)
	if err != nil {
		return nil, err
	}
	return &fsm.RunPipeline{
		Header:      h,
		Pipeline:    name,
		Title:       req.Title,
		Description: req.Description,
		Bucket:      req.Bucket,
		Priority:    prio,
		Labels:      slices.Clone(req.Labels),
		Payload:     payload,
		Deadline:    deadline,
	}, nil
}
