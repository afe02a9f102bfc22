package cluster

import (
	"fmt"
	"math/rand"
	"reflect"
	"testing"
	"time"
)

var (
	propTypes   = []string{"shell", "coder", "tester", "gpu"}
	propStages  = []string{"", "design", "code", "test", "review"}
	propBuckets = []string{"reliability", "security", "cost", "features", "compliance", "technical_debt"}
)

// randomState builds a random but valid scheduling problem.
func randomState(rng *rand.Rand) (Config, []Candidate, []NodeInfo, Running) {
	cfg := DefaultConfig()
	cfg.Strategy = Strategies()[rng.Intn(len(Strategies()))]
	cfg.StageWIP = map[string]int{}
	for _, s := range propStages[1:] {
		if rng.Intn(4) > 0 {
			cfg.StageWIP[s] = rng.Intn(8)
		}
	}
	cfg.BucketWIP = map[string]int{}
	for _, b := range propBuckets {
		if rng.Intn(3) == 0 {
			cfg.BucketWIP[b] = rng.Intn(10)
		}
	}
	if rng.Intn(4) == 0 {
		cfg.Mix = map[string]int{}
	}
	cfg.Delegation = []DelegationRule{{Pattern: "test", AgentType: "tester"}, {Pattern: "code", AgentType: "coder"}}

	var running Running
	nodes := make([]NodeInfo, 1+rng.Intn(8))
	for i := range nodes {
		n := NodeInfo{Name: fmt.Sprintf("n%d", i), Healthy: rng.Intn(6) > 0, Load: rng.Float64(), Slots: map[string]Slot{}}
		for _, t := range propTypes {
			if rng.Intn(3) == 0 {
				continue
			}
			c := rng.Intn(5)
			n.Slots[t] = Slot{Capacity: c, Running: rng.Intn(c + 2)}
			for range rng.Intn(c + 1) { // FSM's view, may disagree with gossip
				running.Add(InFlight{Node: n.Name, AgentType: t, Bucket: propBuckets[rng.Intn(len(propBuckets))], HoldsSlot: true})
			}
		}
		nodes[i] = n
	}
	for range rng.Intn(10) {
		running.Add(InFlight{Stage: propStages[rng.Intn(len(propStages))], Bucket: propBuckets[rng.Intn(len(propBuckets))]})
	}
	cands := make([]Candidate, rng.Intn(120))
	for i := range cands {
		c := Candidate{
			ID:            fmt.Sprintf("WO-%d", i+1),
			Seq:           uint64(rng.Intn(50)),
			AgentType:     propTypes[rng.Intn(len(propTypes))],
			Bucket:        propBuckets[rng.Intn(len(propBuckets))],
			Stage:         propStages[rng.Intn(len(propStages))],
			Priority:      rng.Intn(5),
			Score:         rng.Intn(11),
			EffortSeconds: int64(rng.Intn(3) * rng.Intn(7200)),
			Created:       t0.Add(-time.Duration(rng.Intn(72)) * time.Hour),
			CriticalPath:  Path{Seconds: int64(rng.Intn(5000)), Length: rng.Intn(4)},
		}
		if rng.Intn(2) == 0 {
			c.Deadline = t0.Add(time.Duration(rng.Intn(96)-24) * time.Hour)
		}
		if rng.Intn(8) == 0 {
			c.AgentType = ""
			c.Title = []string{"write code", "run test", "ponder"}[rng.Intn(3)]
		}
		cands[i] = c
	}
	return cfg, cands, nodes, running
}

// checkInvariants returns the first broken promise of a plan.
func checkInvariants(cfg Config, cands []Candidate, nodes []NodeInfo, running Running, p Plan) error {
	byID := make(map[string]Candidate, len(cands))
	for _, c := range cands {
		byID[c.ID] = c
	}
	// Every candidate exactly once.
	seen := make(map[string]bool)
	for _, a := range p.Assignments {
		if seen[a.ID] {
			return fmt.Errorf("%s assigned twice", a.ID)
		}
		seen[a.ID] = true
		if _, ok := p.Deferred[a.ID]; ok {
			return fmt.Errorf("%s both assigned and deferred", a.ID)
		}
	}
	if len(p.Assignments)+len(p.Deferred) != len(byID) {
		return fmt.Errorf("%d assigned + %d deferred != %d candidates", len(p.Assignments), len(p.Deferred), len(byID))
	}
	// WIP never exceeded: with running at or over a limit nothing more
	// starts; below it, running + planned stays within it.
	stages, buckets := map[string]int{}, map[string]int{}
	used := map[[2]string]int{}
	for _, a := range p.Assignments {
		c := byID[a.ID]
		stages[c.Stage]++
		buckets[c.Bucket]++
		used[[2]string{a.Node, a.AgentType}]++
		if c.AgentType != "" && c.AgentType != a.AgentType {
			return fmt.Errorf("%s: agent type %s, candidate asked for %s", a.ID, a.AgentType, c.AgentType)
		}
	}
	for s, n := range stages {
		if lim, ok := cfg.StageWIP[s]; ok && s != "" && n > 0 && running.Stages[s]+n > lim {
			return fmt.Errorf("stage %s: %d running + %d planned > limit %d", s, running.Stages[s], n, lim)
		}
	}
	for b, n := range buckets {
		if lim, ok := cfg.BucketWIP[b]; ok && n > 0 && running.Buckets[b]+n > lim {
			return fmt.Errorf("bucket %s: %d running + %d planned > limit %d", b, running.Buckets[b], n, lim)
		}
	}
	// Capacity never exceeded, only healthy nodes used.
	free := map[string]int{} // per agent type, after the plan
	for _, n := range nodes {
		for typ, sl := range n.Slots {
			held := max(sl.Running, running.Slots[n.Name][typ])
			k := [2]string{n.Name, typ}
			if used[k] > 0 && (!n.Healthy || held+used[k] > sl.Capacity) {
				return fmt.Errorf("node %s type %s: healthy=%v, %d held + %d planned > capacity %d", n.Name, typ, n.Healthy, held, used[k], sl.Capacity)
			}
			if n.Healthy {
				free[typ] += max(sl.Capacity-held-used[k], 0)
			}
		}
	}
	// Nothing that fits waits: a deferred candidate's stage or bucket is
	// full, or its type has no free slot left.
	for id, r := range p.Deferred {
		c := byID[id]
		typ := c.AgentType
		switch r.Code {
		case ReasonNoAgentType, ReasonNoNodeForType:
			continue
		case ReasonWIPLimit, ReasonNoCapacity, ReasonLevelingQuota:
		default:
			return fmt.Errorf("%s: unexpected reason %v", id, r)
		}
		if typ == "" {
			typ = map[string]string{"run test": "tester", "write code": "coder"}[c.Title]
		}
		stageFull := false
		if lim, ok := cfg.StageWIP[c.Stage]; ok && c.Stage != "" && running.Stages[c.Stage]+stages[c.Stage] >= lim {
			stageFull = true
		}
		bucketFull := false
		if lim, ok := cfg.BucketWIP[c.Bucket]; ok && running.Buckets[c.Bucket]+buckets[c.Bucket] >= lim {
			bucketFull = true
		}
		if !stageFull && !bucketFull && free[typ] > 0 {
			return fmt.Errorf("%s (%s, stage %q, bucket %s) deferred with %v while %d %s slots are free",
				id, typ, c.Stage, c.Bucket, r, free[typ], typ)
		}
	}
	return nil
}

func TestPlanInvariantsRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(20250601))
	stats := map[string]int{}
	defer func() { t.Logf("outcomes over 2000 random states: %v", stats) }()
	for i := range 2000 {
		cfg, cands, nodes, running := randomState(rng)
		s, err := NewScheduler(cfg)
		if err != nil {
			t.Fatalf("state %d: %v", i, err)
		}
		p := s.Plan(t0, cands, nodes, running)
		stats["assigned"] += len(p.Assignments)
		for _, r := range p.Deferred {
			stats[string(r.Code)]++
		}
		if err := checkInvariants(cfg, cands, nodes, running, p); err != nil {
			t.Fatalf("state %d (strategy %s): %v", i, cfg.Strategy, err)
		}
	}
}

func TestPlanDeterministicUnderShuffle(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for i := range 300 {
		cfg, cands, nodes, running := randomState(rng)
		s := mustScheduler(t, cfg)
		want := s.Plan(t0, cands, nodes, running)
		for range 3 {
			c2 := append([]Candidate(nil), cands...)
			n2 := append([]NodeInfo(nil), nodes...)
			rng.Shuffle(len(c2), func(i, j int) { c2[i], c2[j] = c2[j], c2[i] })
			rng.Shuffle(len(n2), func(i, j int) { n2[i], n2[j] = n2[j], n2[i] })
			got := mustScheduler(t, cfg.Clone()).Plan(t0, c2, n2, running)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("state %d (%s): shuffled input changed the plan\n got %+v\nwant %+v", i, cfg.Strategy, got, want)
			}
		}
	}
}
