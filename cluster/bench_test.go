package cluster

import (
	"fmt"
	"math/rand"
	"testing"
	"time"
)

// benchState is a large queue on a mid-size cluster: 10,000 queued
// candidates (one in eight without an agent type, left to delegation),
// 50 nodes offering three of four agent types with 4 slots each, some
// already busy, and work in flight.
func benchState(nCands, nNodes int) ([]Candidate, []NodeInfo, Running) {
	rng := rand.New(rand.NewSource(42))
	types := []string{"shell", "coder", "tester", "gpu"}
	nodes := make([]NodeInfo, nNodes)
	var running Running
	for i := range nodes {
		n := NodeInfo{Name: fmt.Sprintf("node-%03d", i), Healthy: i%17 != 0, Load: rng.Float64(), Slots: map[string]Slot{}}
		for j, t := range types {
			if (i+j)%4 == 0 {
				continue
			}
			busy := rng.Intn(3)
			n.Slots[t] = Slot{Capacity: 4, Running: busy}
			for range busy {
				running.Add(InFlight{Node: n.Name, AgentType: t, Bucket: propBuckets[rng.Intn(len(propBuckets))], HoldsSlot: true})
			}
		}
		nodes[i] = n
	}
	// Work in flight that the default WIP limits allow: slots held per
	// node and type (for placement and leveling) but only a few per stage
	// and bucket.
	running.Stages = map[string]int{"code": 2, "test": 3}
	running.Buckets = map[string]int{"security": 2, "reliability": 3, "features": 4}
	cands := make([]Candidate, nCands)
	for i := range cands {
		c := Candidate{
			ID:            fmt.Sprintf("WO-%d", i+1),
			Seq:           uint64(i + 1),
			Title:         "work order",
			AgentType:     types[rng.Intn(len(types))],
			Bucket:        propBuckets[rng.Intn(len(propBuckets))],
			Stage:         propStages[rng.Intn(len(propStages))],
			Priority:      1 + rng.Intn(4),
			EffortSeconds: int64(rng.Intn(8 * 3600)),
			Created:       t0.Add(-time.Duration(rng.Intn(30*24)) * time.Hour),
			CriticalPath:  Path{Seconds: int64(rng.Intn(40 * 3600)), Length: 1 + rng.Intn(5)},
		}
		if rng.Intn(2) == 0 {
			c.Deadline = c.Created.Add(time.Duration(1+rng.Intn(30*24)) * time.Hour)
		}
		if i%8 == 0 {
			c.AgentType = ""
			c.Title = []string{"fix the build", "run the test suite", "write code"}[rng.Intn(3)]
		}
		cands[i] = c
	}
	return cands, nodes, running
}

// BenchmarkPlan plans 10,000 queued candidates on 50 nodes. "default" uses
// DefaultConfig (whose WIP limits cap a plan at a few dozen starts);
// "no_wip" drops the WIP limits so every free slot is filled and leveled.
func BenchmarkPlan(b *testing.B) {
	cands, nodes, running := benchState(10_000, 50)
	configs := map[string]func(Strategy) Config{
		"default": func(s Strategy) Config {
			c := DefaultConfig()
			c.Strategy = s
			c.Delegation = []DelegationRule{{Pattern: `(?i)\btest`, AgentType: "tester"}, {Pattern: `(?i)\b(fix|code)\b`, AgentType: "coder"}}
			return c
		},
	}
	configs["no_wip"] = func(s Strategy) Config {
		c := configs["default"](s)
		c.StageWIP, c.BucketWIP = map[string]int{}, map[string]int{}
		return c
	}
	for _, name := range []string{"default", "no_wip"} {
		for _, st := range Strategies() {
			b.Run(name+"/"+string(st), func(b *testing.B) {
				s := mustScheduler(b, configs[name](st))
				var p Plan
				b.ReportAllocs()
				for b.Loop() {
					p = s.Plan(t0, cands, nodes, running)
				}
				b.ReportMetric(float64(len(p.Assignments)), "assigned")
			})
		}
	}
}

// BenchmarkCriticalPaths computes chains over 10,000 work orders arranged
// as 2,000 five-stage pipelines with some cross edges.
func BenchmarkCriticalPaths(b *testing.B) {
	const n = 10_000
	work := make([]Candidate, n)
	for i := range work {
		work[i] = Candidate{ID: fmt.Sprintf("WO-%d", i), EffortSeconds: int64(60 * (1 + i%7))}
		if i%5 != 4 {
			work[i].Dependents = append(work[i].Dependents, fmt.Sprintf("WO-%d", i+1))
		}
		if i%13 == 0 && i+10 < n {
			work[i].Dependents = append(work[i].Dependents, fmt.Sprintf("WO-%d", i+10))
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		CriticalPaths(work)
	}
}
