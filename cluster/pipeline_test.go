package cluster

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hive-swarm/hive/fsm"
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

func TestExpand(t *testing.T) {
	req := ExpandRequest{
		Title: "Add rate limiting", Description: "per client", Bucket: "reliability",
		Priority: 3, Labels: []string{"api"}, Payload: []byte(`{"repo":"hive"}`),
	}
	got, err := Expand(DefaultPipeline(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 {
		t.Fatalf("%d work orders, want 5", len(got))
	}
	want1 := PlannedWorkOrder{
		Title: "Add rate limiting (plan)", Description: "per client", AgentType: "planner",
		Stage: "design", Pipeline: "default", PipelineStage: "plan", EffortSeconds: 1800,
		Bucket: "reliability", Priority: 3, Labels: []string{"api"}, Payload: []byte(`{"repo":"hive"}`),
		DependsOn: []int{0},
	}
	if !reflect.DeepEqual(got[1], want1) {
		t.Errorf("stage 1 = %+v\nwant %+v", got[1], want1)
	}
	if got[0].DependsOn != nil {
		t.Errorf("first stage depends on %v", got[0].DependsOn)
	}
	for i := 1; i < len(got); i++ {
		if !slices.Equal(got[i].DependsOn, []int{i - 1}) {
			t.Errorf("stage %d depends on %v, want [%d]", i, got[i].DependsOn, i-1)
		}
	}
	// Copies: changing one stage's slices leaves the request and others alone.
	got[0].Payload[0] = 'X'
	got[0].Labels[0] = "changed"
	if req.Payload[0] != '{' || req.Labels[0] != "api" || got[1].Payload[0] != '{' {
		t.Error("Expand aliases the request's slices")
	}

	if _, err := Expand(DefaultPipeline(), ExpandRequest{Title: "  "}); !errors.Is(err, ErrInvalidPipeline) {
		t.Errorf("empty title: %v", err)
	}
	if _, err := Expand(Pipeline{Name: "p"}, req); !errors.Is(err, ErrInvalidPipeline) {
		t.Errorf("invalid pipeline: %v", err)
	}
}

func TestPlannedWorkOrderSpec(t *testing.T) {
	planned, err := Expand(DefaultPipeline(), ExpandRequest{Title: "T", Priority: int(fsm.PriorityHigh), Payload: []byte("{}")})
	if err != nil {
		t.Fatal(err)
	}
	assigned := []string{"WO-7"}
	spec, err := planned[1].Spec(assigned)
	if err != nil {
		t.Fatal(err)
	}
	want := fsm.WorkOrderSpec{
		Title: "T (plan)", Kind: "planner", Priority: fsm.PriorityHigh, Payload: []byte("{}"),
		Effort: 1800, Stage: "design", DependsOn: []string{"WO-7"},
	}
	if !reflect.DeepEqual(spec, want) {
		t.Errorf("spec %+v\nwant %+v", spec, want)
	}
	if err := fsm.Validate(&fsm.CreateWorkOrder{Header: fsm.Header{RequestID: "r1", Time: 1, Node: "n"}, Spec: spec}); err != nil {
		t.Errorf("fsm refuses the spec: %v", err)
	}
	if _, err := planned[2].Spec(assigned); !errors.Is(err, ErrInvalidPipeline) {
		t.Errorf("unresolved dependency: %v", err)
	}
	bad := planned[0]
	bad.Priority = 300
	if _, err := bad.Spec(nil); !errors.Is(err, ErrInvalidPipeline) {
		t.Errorf("priority 300: %v", err)
	}
}
