package cluster

import (
	"testing"
	"time"
)

// t0 is the fixed "now" of the tests.
var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// cand builds a candidate with a default agent type "shell", bucket
// "features" and medium priority; opts adjust it.
func cand(id string, seq uint64, opts ...func(*Candidate)) Candidate {
	c := Candidate{ID: id, Seq: seq, AgentType: "shell", Bucket: "features", Priority: 2, Created: t0.Add(-time.Hour)}
	for _, o := range opts {
		o(&c)
	}
	return c
}

func prio(p int) func(*Candidate)           { return func(c *Candidate) { c.Priority = p } }
func score(s int) func(*Candidate)          { return func(c *Candidate) { c.Score = s } }
func effort(sec int64) func(*Candidate)     { return func(c *Candidate) { c.EffortSeconds = sec } }
func bucket(b string) func(*Candidate)      { return func(c *Candidate) { c.Bucket = b } }
func stage(s string) func(*Candidate)       { return func(c *Candidate) { c.Stage = s } }
func agent(a string) func(*Candidate)       { return func(c *Candidate) { c.AgentType = a } }
func deadline(d time.Time) func(*Candidate) { return func(c *Candidate) { c.Deadline = d } }
func path(sec int64, n int) func(*Candidate) {
	return func(c *Candidate) { c.CriticalPath = Path{Seconds: sec, Length: n} }
}
func titled(title, desc string) func(*Candidate) {
	return func(c *Candidate) { c.Title, c.Description = title, desc }
}

// node builds a healthy node offering the given capacity per agent type.
func node(name string, load float64, capacity map[string]int) NodeInfo {
	n := NodeInfo{Name: name, Healthy: true, Load: load, Slots: make(map[string]Slot)}
	for t, c := range capacity {
		n.Slots[t] = Slot{Capacity: c}
	}
	return n
}

// unlimited is a config without limits or leveling.
func unlimited(s Strategy) Config { return Config{Strategy: s} }

func mustScheduler(t testing.TB, cfg Config) *Scheduler {
	t.Helper()
	s, err := NewScheduler(cfg)
	if err != nil {
		t.Fatalf("NewScheduler: %v", err)
	}
	return s
}

func assignedIDs(p Plan) []string {
	out := make([]string, len(p.Assignments))
	for i, a := range p.Assignments {
		out[i] = a.ID
	}
	return out
}

// countBy counts the assignments per key.
func countBy(p Plan, cands []Candidate, key func(Candidate) string) map[string]int {
	byID := make(map[string]Candidate, len(cands))
	for _, c := range cands {
		byID[c.ID] = c
	}
	out := make(map[string]int)
	for _, a := range p.Assignments {
		out[key(byID[a.ID])]++
	}
	return out
}
