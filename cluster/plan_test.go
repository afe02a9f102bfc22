package cluster

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestPlacementMostFreeThenName(t *testing.T) {
	nodes := []NodeInfo{
		node("c", 0, map[string]int{"shell": 2}),
		node("a", 0, map[string]int{"shell": 2}),
		{Name: "b", Healthy: true, Slots: map[string]Slot{"shell": {Capacity: 3, Running: 0}}},
	}
	cands := []Candidate{cand("w1", 1), cand("w2", 2), cand("w3", 3), cand("w4", 4)}
	p := mustScheduler(t, unlimited("")).Plan(t0, cands, nodes, Running{})
	// b has 3 free; then a, b, c have 2 each: a (name); then b and c have 2: b.
	want := []string{"b", "a", "b", "c"}
	var got []string
	for _, a := range p.Assignments {
		got = append(got, a.Node)
	}
	if !slices.Equal(got, want) {
		t.Errorf("nodes %v, want %v", got, want)
	}
	if p.Assignments[0].AgentType != "shell" || !strings.Contains(p.Assignments[0].Reason, "most free shell slots") {
		t.Errorf("assignment %+v", p.Assignments[0])
	}
}

func TestPlacementSkipsUnusableNodes(t *testing.T) {
	nodes := []NodeInfo{
		{Name: "sick", Healthy: false, Slots: map[string]Slot{"shell": {Capacity: 9}}},
		{Name: "dup", Healthy: true, Slots: map[string]Slot{"shell": {Capacity: 9}}},
		{Name: "dup", Healthy: true, Slots: map[string]Slot{"shell": {Capacity: 9}}},
		{Name: "", Healthy: true, Slots: map[string]Slot{"shell": {Capacity: 9}}},
		{Name: "zero", Healthy: true, Slots: map[string]Slot{"shell": {Capacity: 0}}},
		{Name: "ok", Healthy: true, Load: math.NaN(), Slots: map[string]Slot{"shell": {Capacity: 1}}},
	}
	cands := []Candidate{cand("w1", 1), cand("w2", 2)}
	for _, st := range []Strategy{StrategyPriority, StrategyResourceAware} {
		p := mustScheduler(t, unlimited(st)).Plan(t0, cands, nodes, Running{})
		if len(p.Assignments) != 1 || p.Assignments[0].Node != "ok" {
			t.Fatalf("%s: assignments %+v, want one on ok", st, p.Assignments)
		}
		if r := p.Deferred["w2"]; r.Code != ReasonNoCapacity || r.AgentType != "shell" {
			t.Errorf("%s: w2 deferred %+v, want no_capacity", st, r)
		}
	}
}

func TestRunningSlotsUseLargerCount(t *testing.T) {
	nodes := []NodeInfo{
		{Name: "a", Healthy: true, Slots: map[string]Slot{"shell": {Capacity: 3, Running: 1}}},
		{Name: "b", Healthy: true, Slots: map[string]Slot{"shell": {Capacity: 3, Running: 2}}},
	}
	// The FSM knows a holds 3 (gossip lags); b holds 2 by gossip, 0 by FSM.
	var r Running
	for range 3 {
		r.Add(InFlight{Node: "a", AgentType: "shell", Bucket: "features", HoldsSlot: true})
	}
	cands := []Candidate{cand("w1", 1), cand("w2", 2)}
	p := mustScheduler(t, unlimited("")).Plan(t0, cands, nodes, r)
	if len(p.Assignments) != 1 || p.Assignments[0].Node != "b" {
		t.Errorf("assignments %+v, want only w1 on b", p.Assignments)
	}
	if p.Deferred["w2"].Code != ReasonNoCapacity {
		t.Errorf("w2: %+v", p.Deferred["w2"])
	}
}

func TestWIPLimits(t *testing.T) {
	nodes := []NodeInfo{node("n", 0, map[string]int{"shell": 100})}
	cfg := unlimited("")
	cfg.StageWIP = map[string]int{"code": 2, "design": 0}
	cfg.BucketWIP = map[string]int{"security": 3}
	running := Running{Stages: map[string]int{"code": 1}, Buckets: map[string]int{"security": 1}}
	cands := []Candidate{
		cand("code1", 1, stage("code")),
		cand("code2", 2, stage("code")),
		cand("design1", 3, stage("design")),
		cand("sec1", 4, bucket("security")),
		cand("sec2", 5, bucket("security"), stage("code")), // stage full first
		cand("sec3", 6, bucket("security")),
		cand("sec4", 7, bucket("security")),
		cand("free", 8, stage("test")), // no limit for test
		cand("nostage", 9),
	}
	p := mustScheduler(t, cfg).Plan(t0, cands, nodes, running)
	if got, want := assignedIDs(p), []string{"code1", "sec1", "sec3", "free", "nostage"}; !slices.Equal(got, want) {
		t.Errorf("assigned %v, want %v", got, want)
	}
	want := map[string]Reason{
		"code2":   {Code: ReasonWIPLimit, Stage: "code", Limit: 2, Count: 2},
		"design1": {Code: ReasonWIPLimit, Stage: "design", Limit: 0, Count: 0},
		"sec2":    {Code: ReasonWIPLimit, Stage: "code", Limit: 2, Count: 2},
		"sec4":    {Code: ReasonWIPLimit, Bucket: "security", Limit: 3, Count: 3},
	}
	if !reflect.DeepEqual(p.Deferred, want) {
		t.Errorf("deferred %v\nwant     %v", p.Deferred, want)
	}
	if s := want["code2"].String(); s != `wip_limit: stage "code" has 2 in flight (limit 2)` {
		t.Errorf("String() = %q", s)
	}
}

func TestWIPLimitLoweredBelowRunning(t *testing.T) {
	cfg := unlimited("")
	cfg.StageWIP = map[string]int{"code": 1}
	running := Running{Stages: map[string]int{"code": 4}}
	p := mustScheduler(t, cfg).Plan(t0, []Candidate{cand("c", 1, stage("code"))},
		[]NodeInfo{node("n", 0, map[string]int{"shell": 1})}, running)
	if len(p.Assignments) != 0 || p.Deferred["c"].Count != 4 {
		t.Errorf("plan %+v, want c deferred with 4 in flight", p)
	}
}

func TestUnplaceableReasons(t *testing.T) {
	cfg := unlimited("")
	cfg.Delegation = []DelegationRule{{Pattern: `(?i)\bfix\b`, AgentType: "coder"}}
	nodes := []NodeInfo{
		node("n", 0, map[string]int{"shell": 1}),
		{Name: "down", Healthy: false, Slots: map[string]Slot{"gpu": {Capacity: 4}}},
	}
	cands := []Candidate{
		cand("ok", 1),
		cand("full", 2),
		cand("gpu", 3, agent("gpu")),
		cand("typeless", 4, agent(""), titled("write docs", "")),
		cand("delegated", 5, agent(""), titled("fix the login", "")),
		cand("dup", 6), cand("dup", 7),
		cand("", 8),
	}
	p := mustScheduler(t, cfg).Plan(t0, cands, nodes, Running{})
	if got := assignedIDs(p); !slices.Equal(got, []string{"ok"}) {
		t.Errorf("assigned %v, want [ok]", got)
	}
	want := map[string]ReasonCode{
		"full":      ReasonNoCapacity,
		"gpu":       ReasonNoNodeForType,
		"typeless":  ReasonNoAgentType,
		"delegated": ReasonNoNodeForType,
		"dup":       ReasonInvalidCandidate,
		"":          ReasonInvalidCandidate,
	}
	if len(p.Deferred) != len(want) {
		t.Errorf("deferred %v", p.Deferred)
	}
	for id, code := range want {
		r, ok := p.Deferred[id]
		if !ok || r.Code != code {
			t.Errorf("%q: deferred %+v, want %s", id, r, code)
			continue
		}
		if s := r.String(); !strings.HasPrefix(s, string(code)+": ") {
			t.Errorf("%q: String() = %q", id, s)
		}
	}
	if r := p.Deferred["delegated"]; r.AgentType != "coder" {
		t.Errorf("delegated: %+v, want agent type coder", r)
	}
	if r := p.Deferred["dup"]; !strings.Contains(r.Detail, "2 times") {
		t.Errorf("dup: %+v", r)
	}
}

func TestReasonStrings(t *testing.T) {
	for _, tc := range []struct {
		r    Reason
		want string
	}{
		{Reason{Code: ReasonWIPLimit, Bucket: "security", Limit: 5, Count: 5}, `wip_limit: bucket "security" has 5 in flight (limit 5)`},
		{Reason{Code: ReasonNoCapacity, AgentType: "shell"}, `no_capacity: no free "shell" slot on any healthy node`},
		{Reason{Code: ReasonNoNodeForType, AgentType: "gpu"}, `no_node_for_type: no healthy node offers agent type "gpu"`},
		{Reason{Code: ReasonLevelingQuota, Bucket: "features", AgentType: "shell", Limit: 1, Count: 10},
			`leveling_quota: bucket "features" used its share (1 of 10 free "shell" slots) and none was left over`},
		{Reason{Code: ReasonNoAgentType}, `no_agent_type: no agent type given and no delegation rule matches`},
		{Reason{Code: ReasonInvalidCandidate, Detail: "x"}, `invalid_candidate: x`},
		{Reason{Code: "other"}, `other`},
	} {
		if got := tc.r.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

func TestPlanEmptyInputs(t *testing.T) {
	s := mustScheduler(t, DefaultConfig())
	p := s.Plan(t0, nil, nil, Running{})
	if p.Assignments == nil || p.Deferred == nil || len(p.Assignments)+len(p.Deferred) != 0 {
		t.Errorf("plan %+v, want empty non-nil collections", p)
	}
	p = s.Plan(t0, []Candidate{cand("a", 1)}, nil, Running{})
	if p.Deferred["a"].Code != ReasonNoNodeForType {
		t.Errorf("no nodes: %+v", p.Deferred)
	}
}

func TestSchedule(t *testing.T) {
	p, err := Schedule(t0, []Candidate{cand("a", 1)}, []NodeInfo{node("n", 0, map[string]int{"shell": 1})}, Running{}, DefaultConfig())
	if err != nil || len(p.Assignments) != 1 {
		t.Fatalf("Schedule = %+v, %v", p, err)
	}
	if _, err := Schedule(t0, nil, nil, Running{}, Config{Strategy: "bogus"}); err == nil {
		t.Fatal("Schedule with an invalid config succeeded")
	}
	var zero Scheduler // usable: no limits, priority order
	if p := zero.Plan(t0, []Candidate{cand("a", 1)}, []NodeInfo{node("n", 0, map[string]int{"shell": 1})}, Running{}); p.Strategy != StrategyPriority || len(p.Assignments) != 1 {
		t.Errorf("zero Scheduler plan %+v", p)
	}
}
