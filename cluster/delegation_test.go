package cluster

import (
	"slices"
	"strings"
	"testing"
)

func delegationConfig() Config {
	cfg := unlimited("")
	cfg.Delegation = []DelegationRule{
		{Pattern: `(?i)\bcve-\d+`, AgentType: "security-scanner"},
		{Pattern: `(?i)\b(fix|bug)\b`, AgentType: "coder"},
		{Pattern: `(?i)test`, AgentType: "tester"},
	}
	return cfg
}

func TestDelegate(t *testing.T) {
	s := mustScheduler(t, delegationConfig())
	for _, tc := range []struct {
		title, desc string
		want        string
		rule        int
	}{
		{"Patch CVE-2024-1234", "", "security-scanner", 0},
		{"fix flaky test", "", "coder", 1}, // first match wins over rule 2
		{"update docs", "add a test for the parser", "tester", 2},
		{"Refresh", "bug in the CVE-99 feed", "security-scanner", 0}, // rules in order, title or description
		{"prefix", "bugfix", "", -1},                                 // \b keeps "bugfix" from matching
	} {
		got, rule, ok := s.Delegate(tc.title, tc.desc)
		if got != tc.want || rule != tc.rule || ok != (tc.want != "") {
			t.Errorf("Delegate(%q, %q) = %q, %d, %v; want %q, %d", tc.title, tc.desc, got, rule, ok, tc.want, tc.rule)
		}
	}
}

func TestPlanDelegation(t *testing.T) {
	s := mustScheduler(t, delegationConfig())
	nodes := []NodeInfo{node("n", 0, map[string]int{"coder": 2, "tester": 1, "shell": 1})}
	cands := []Candidate{
		cand("typed", 1, titled("fix it", "")),                       // has a type: rules do not apply
		cand("fixer", 2, agent(""), titled("Fix the parser", "")),    // → coder
		cand("tests", 3, agent(""), titled("x", "write unit tests")), // → tester
		cand("lost", 4, agent(""), titled("think", "about things")),  // no rule
	}
	p := s.Plan(t0, cands, nodes, Running{})
	want := map[string]string{"typed": "shell", "fixer": "coder", "tests": "tester"}
	for _, a := range p.Assignments {
		if want[a.ID] != a.AgentType {
			t.Errorf("%s ran on %s, want %s", a.ID, a.AgentType, want[a.ID])
		}
		if a.ID == "fixer" && !strings.Contains(a.Reason, "delegated to coder by rule 1") {
			t.Errorf("fixer reason %q does not mention the rule", a.Reason)
		}
		if a.ID == "typed" && strings.Contains(a.Reason, "delegated") {
			t.Errorf("typed reason %q mentions delegation", a.Reason)
		}
	}
	if got := assignedIDs(p); !slices.Equal(got, []string{"typed", "fixer", "tests"}) {
		t.Errorf("assigned %v", got)
	}
	if r := p.Deferred["lost"]; r.Code != ReasonNoAgentType {
		t.Errorf("lost: %v, want no_agent_type", r)
	}
}
