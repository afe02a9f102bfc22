package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/hive-swarm/hive/fsm"
)

// Pipeline is a template for a chain of work orders, one per stage, each
// depending on the one before. Expand instantiates it.
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

// ExpandRequest is what a client asks a pipeline to run on.
type ExpandRequest struct {
	Title       string
	Description string
	Bucket      string   // "" lets the FSM derive it from the labels
	Priority    int      // fsm level, 0 lets the FSM derive it
	Labels      []string // copied to every stage
	Payload     []byte   // copied to every stage
}

// PlannedWorkOrder is one work order of an expanded pipeline, ready for
// the API to submit. IDs are assigned at commit, so dependencies are
// indexes into the slice Expand returned; each entry depends only on
// earlier ones, so submitting in order and mapping each index to the ID the
// FSM assigned resolves them (see Spec).
type PlannedWorkOrder struct {
	Title         string
	Description   string
	AgentType     string // the work order's kind; "" for delegation
	Stage         string // the WIP stage (PipelineStage.WIPStage)
	Pipeline      string // template name
	PipelineStage string // step name within the template
	EffortSeconds int64
	Bucket        string
	Priority      int
	Labels        []string
	Payload       []byte
	DependsOn     []int // indexes of earlier entries
}

// Expand turns p into a chain of work orders: one per stage, in order,
// each depending on the one before, titled "<title> (<stage name>)" and
// carrying the request's description, bucket, priority, labels and
// payload. It returns an error wrapping ErrInvalidPipeline when p is
// invalid or the title is empty.
func Expand(p Pipeline, req ExpandRequest) ([]PlannedWorkOrder, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if strings.TrimSpace(req.Title) == "" {
		return nil, fmt.Errorf("%w %q: expand: title: empty", ErrInvalidPipeline, p.Name)
	}
	out := make([]PlannedWorkOrder, len(p.Stages))
	for i, s := range p.Stages {
		w := PlannedWorkOrder{
			Title:         req.Title + " (" + s.Name + ")",
			Description:   req.Description,
			AgentType:     s.AgentType,
			Stage:         s.WIPStage(),
			Pipeline:      p.Name,
			PipelineStage: s.Name,
			EffortSeconds: s.EffortSeconds,
			Bucket:        req.Bucket,
			Priority:      req.Priority,
			Labels:        slices.Clone(req.Labels),
			Payload:       bytes.Clone(req.Payload),
		}
		if i > 0 {
			w.DependsOn = []int{i - 1}
		}
		out[i] = w
	}
	return out, nil
}

// errUnresolved reports a dependency index that has no assigned ID yet.
var errUnresolved = errors.New("dependency not yet submitted")

// Spec returns the fsm spec that creates w, with its dependency indexes
// replaced by assigned[i], the ID the FSM gave entry i. It fails, wrapping
// ErrInvalidPipeline, if an index has no assigned ID or the priority does
// not fit an fsm priority.
func (w PlannedWorkOrder) Spec(assigned []string) (fsm.WorkOrderSpec, error) {
	if w.Priority < 0 || w.Priority > math.MaxUint8 {
		return fsm.WorkOrderSpec{}, fmt.Errorf("%w: %q: priority %d out of range", ErrInvalidPipeline, w.Title, w.Priority)
	}
	s := fsm.WorkOrderSpec{
		Title:       w.Title,
		Description: w.Description,
		Kind:        w.AgentType,
		Bucket:      w.Bucket,
		Priority:    fsm.Priority(w.Priority),
		Labels:      slices.Clone(w.Labels),
		Payload:     bytes.Clone(w.Payload),
		Effort:      w.EffortSeconds,
		Stage:       w.Stage,
	}
	for _, d := range w.DependsOn {
		if d < 0 || d >= len(assigned) || assigned[d] == "" {
			return fsm.WorkOrderSpec{}, fmt.Errorf("%w: %q depends on entry %d: %w", ErrInvalidPipeline, w.Title, d, errUnresolved)
		}
		s.DependsOn = append(s.DependsOn, assigned[d])
	}
	return s, nil
}
