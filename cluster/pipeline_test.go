package cluster

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestDefaultPipeline(t *testing.T) {
	p := DefaultPipeline()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	var names, wip []string
	for _, s := range p.Stages {
		names = append(names, s.Name)
		wip = append(wip, s.WIPStage())
	}
	if !slices.Equal(names, []string{"research", "plan", "implement", "test", "review"}) {
		t.Errorf("stages %v", names)
	}
	if !slices.Equal(wip, []string{"design", "design", "code", "test", "review"}) {
		t.Errorf("WIP stages %v", wip)
	}
	if (PipelineStage{Name: "x"}).WIPStage() != "x" {
		t.Error("WIPStage does not default to the name")
	}
}

func TestPipelineValidate(t *testing.T) {
	long := strings.Repeat("x", MaxNameLen+1)
	tests := []struct {
		name string
		p    Pipeline
		want string
	}{
		{"no name", Pipeline{Stages: []PipelineStage{{Name: "a"}}}, `pipeline "": name: empty`},
		{"no stages", Pipeline{Name: "p"}, `pipeline "p": 0 stages (want 1..32)`},
		{"too many stages", Pipeline{Name: "p", Stages: make([]PipelineStage, MaxPipelineStages+1)}, "33 stages"},
		{"empty stage name", Pipeline{Name: "p", Stages: []PipelineStage{{}}}, `stages[0].name "": empty`},
		{"repeated stage", Pipeline{Name: "p", Stages: []PipelineStage{{Name: "a"}, {Name: "a"}}}, `stages[1].name: "a" repeated`},
		{"bad agent type", Pipeline{Name: "p", Stages: []PipelineStage{{Name: "a", AgentType: "a b"}}}, `stages[0].agent_type "a b": contains a space`},
		{"long WIP stage", Pipeline{Name: "p", Stages: []PipelineStage{{Name: "a", Stage: long}}}, "stages[0].stage"},
		{"negative effort", Pipeline{Name: "p", Stages: []PipelineStage{{Name: "a", EffortSeconds: -1}}}, "stages[0].effort_seconds: negative (-1)"},
		{"control character", Pipeline{Name: "p\x00", Stages: []PipelineStage{{Name: "a"}}}, "contains a space or control character"},
		{"bad UTF-8", Pipeline{Name: "p\xff", Stages: []PipelineStage{{Name: "a"}}}, "not valid UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			if !errors.Is(err, ErrInvalidPipeline) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want ErrInvalidPipeline containing %q", err, tc.want)
			}
		})
	}
}
