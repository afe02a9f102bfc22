package cluster

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenState is a small cluster under pressure: two healthy nodes and a
// dead one, default limits and mix, a delegation rule, work in flight.
func goldenState() (Config, []Candidate, []NodeInfo, Running) {
	cfg := DefaultConfig()
	cfg.Delegation = []DelegationRule{{Pattern: `(?i)\btest`, AgentType: "tester"}}
	nodes := []NodeInfo{
		{Name: "alpha", Healthy: true, Load: 0.4, Slots: map[string]Slot{"shell": {Capacity: 4, Running: 1}, "coder": {Capacity: 2}}},
		{Name: "bravo", Healthy: true, Load: 0.1, Slots: map[string]Slot{"shell": {Capacity: 2}, "tester": {Capacity: 1}}},
		{Name: "charlie", Healthy: false, Slots: map[string]Slot{"gpu": {Capacity: 8}}},
	}
	var running Running
	running.Add(InFlight{Stage: "code", Bucket: "security", Node: "alpha", AgentType: "shell", HoldsSlot: true})
	for range 4 {
		running.Add(InFlight{Stage: "code", Bucket: "reliability"})
	}
	var cands []Candidate
	add := func(c Candidate) { cands = append(cands, c) }
	add(cand("WO-10", 10, bucket("security"), prio(4), stage("code")))
	add(cand("WO-11", 11, bucket("security"), prio(4)))
	add(cand("WO-12", 12, bucket("reliability"), prio(3)))
	add(cand("WO-13", 13, bucket("reliability"), prio(3)))
	add(cand("WO-14", 14, bucket("cost"), prio(2), effort(600)))
	add(cand("WO-15", 15, bucket("features"), prio(2)))
	add(cand("WO-16", 16, bucket("features"), prio(2)))
	add(cand("WO-17", 17, bucket("technical_debt"), prio(1)))
	add(cand("WO-18", 18, agent("coder"), stage("design")))
	add(cand("WO-19", 19, agent(""), titled("Test the importer", "")))
	add(cand("WO-20", 20, agent(""), titled("Ponder", "")))
	add(cand("WO-21", 21, agent("gpu")))
	add(cand("WO-22", 22, bucket("security"), stage("code"), deadline(t0.Add(2*time.Hour)), effort(5400)))
	return cfg, cands, nodes, running
}

func TestGoldenPlans(t *testing.T) {
	for _, st := range Strategies() {
		t.Run(string(st), func(t *testing.T) {
			cfg, cands, nodes, running := goldenState()
			cfg.Strategy = st
			p := mustScheduler(t, cfg).Plan(t0, cands, nodes, running)
			got, err := json.MarshalIndent(p, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			file := filepath.Join("testdata", fmt.Sprintf("plan_%s.golden.json", st))
			if *update {
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("plan differs from %s (run go test -update after checking the change):\n%s", file, got)
			}
		})
	}
}
