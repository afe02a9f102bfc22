package cluster

import "fmt"

// Pipeline is a template for a chain of work orders, one per stage, each
// depending on the one before: the scheduler's copy of an
// fsm.PipelineTemplate, which fsm.RunPipeline instantiates.
//
// How it maps to stages and WIP: the work order of each stage carries
// PipelineStage.WIPStage() as its fsm stage, so it counts against
// Config.StageWIP under that name while it is in flight. Because each
// stage depends on the previous one, only one stage of a pipeline instance
// is queued at a time; the rest are blocked, are not candidates, and
// contribute only their effort to the critical path of the queued stage.
// Several template stages may share a WIP stage (research and plan both
// count as "design" in DefaultPipeline).
type Pipeline struct {
	Name   string          `json:"name"`
	Stages []PipelineStage `json:"stages"`
}

// PipelineStage is one step of a Pipeline.
type PipelineStage struct {
	// Name identifies the step within its pipeline ("implement").
	Name string `json:"name"`
	// AgentType runs the step; "" leaves it to the delegation rules.
	AgentType string `json:"agent_type,omitempty"`
	// Stage is the WIP stage the step counts against; "" means Name.
	Stage string `json:"stage,omitempty"`
	// EffortSeconds is the step's estimated effort; 0 when unknown.
	EffortSeconds int64 `json:"effort_seconds,omitempty"`
}

// WIPStage returns the stage the step's work order counts against.
func (s PipelineStage) WIPStage() string {
	if s.Stage != "" {
		return s.Stage
	}
	return s.Name
}

// DefaultPipeline returns the template research → plan → implement → test
// → review, named DefaultPipelineName. Research and plan count against
// the "design" WIP stage, implement against "code", test against "test",
// and review against "review" (unlimited unless configured). The agent
// types (researcher, planner, coder, tester, reviewer) are conventions a
// cluster provides with plugins; the efforts are rough placeholders for
// the critical path.
func DefaultPipeline() Pipeline {
	return Pipeline{Name: DefaultPipelineName, Stages: []PipelineStage{
		{Name: "research", AgentType: "researcher", Stage: "design", EffortSeconds: 3600},
		{Name: "plan", AgentType: "planner", Stage: "design", EffortSeconds: 1800},
		{Name: "implement", AgentType: "coder", Stage: "code", EffortSeconds: 4 * 3600},
		{Name: "test", AgentType: "tester", Stage: "test", EffortSeconds: 3600},
		{Name: "review", AgentType: "reviewer", Stage: "review", EffortSeconds: 1800},
	}}
}

// Validate reports the first problem of p as an error wrapping
// ErrInvalidPipeline: a malformed name, no stages or more than
// MaxPipelineStages, a malformed or repeated stage name, a malformed agent
// type or WIP stage, a negative effort.
func (p Pipeline) Validate() error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w %q: "+format, append([]any{ErrInvalidPipeline, p.Name}, args...)...)
	}
	if err := checkName(p.Name); err != nil {
		return fail("name: %w", err)
	}
	if len(p.Stages) == 0 || len(p.Stages) > MaxPipelineStages {
		return fail("%d stages (want 1..%d)", len(p.Stages), MaxPipelineStages)
	}
	seen := make(map[string]bool, len(p.Stages))
	for i, s := range p.Stages {
		if err := checkName(s.Name); err != nil {
			return fail("stages[%d].name %q: %w", i, s.Name, err)
		}
		if seen[s.Name] {
			return fail("stages[%d].name: %q repeated", i, s.Name)
		}
		seen[s.Name] = true
		if s.AgentType != "" {
			if err := checkName(s.AgentType); err != nil {
				return fail("stages[%d].agent_type %q: %w", i, s.AgentType, err)
			}
		}
		if s.Stage != "" {
			if err := checkName(s.Stage); err != nil {
				return fail("stages[%d].stage %q: %w", i, s.Stage, err)
			}
		}
		if s.EffortSeconds < 0 {
			return fail("stages[%d].effort_seconds: negative (%d)", i, s.EffortSeconds)
		}
	}
	return nil
}
