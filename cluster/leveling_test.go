package cluster

import (
	"fmt"
	"maps"
	"reflect"
	"strings"
	"testing"

	"github.com/hive-swarm/hive/fsm"
)

// levelingConfig is the default mix without WIP limits, so that only
// leveling shapes the plan.
func levelingConfig() Config {
	cfg := unlimited(StrategyPriority)
	cfg.Mix = DefaultConfig().Mix
	return cfg
}

// queue builds n candidates per bucket, interleaved so that FIFO alone
// would favour the buckets listed first.
func queue(perBucket map[string]int) []Candidate {
	var out []Candidate
	seq := uint64(0)
	for _, b := range []string{"features", "cost", "security", "reliability", "technical_debt", "compliance"} {
		for i := range perBucket[b] {
			seq++
			out = append(out, cand(fmt.Sprintf("%s-%03d", b, i), seq, bucket(b)))
		}
	}
	return out
}

func byBucket(c Candidate) string { return c.Bucket }

func TestLevelingSharesUnderShortage(t *testing.T) {
	demand := map[string]int{"reliability": 20, "security": 20, "cost": 20, "features": 20}
	for _, tc := range []struct {
		slots int
		want  map[string]int
	}{
		{10, map[string]int{"reliability": 4, "security": 3, "cost": 2, "features": 1}},
		{20, map[string]int{"reliability": 8, "security": 6, "cost": 4, "features": 2}},
		{40, map[string]int{"reliability": 16, "security": 12, "cost": 8, "features": 4}},
		{1, map[string]int{"reliability": 1}},
		{3, map[string]int{"reliability": 1, "security": 1, "cost": 1}},
	} {
		t.Run(fmt.Sprint(tc.slots, " slots"), func(t *testing.T) {
			cands := queue(demand)
			nodes := []NodeInfo{node("n", 0, map[string]int{"shell": tc.slots})}
			p := mustScheduler(t, levelingConfig()).Plan(t0, cands, nodes, Running{})
			if got := countBy(p, cands, byBucket); !maps.Equal(got, tc.want) {
				t.Errorf("started per bucket %v, want %v", got, tc.want)
			}
			// Buckets reached while slots were free wait on their share;
			// the rest found every slot taken.
			for id, r := range p.Deferred {
				if r.Code != ReasonLevelingQuota && r.Code != ReasonNoCapacity {
					t.Errorf("%s deferred %v, want leveling_quota or no_capacity", id, r)
				}
			}
			if r := p.Deferred["features-019"]; r.Code != ReasonLevelingQuota {
				t.Errorf("features-019 deferred %v, want leveling_quota (slots were free at its turn)", r)
			}
		})
	}
}

func TestLevelingReasonNamesShare(t *testing.T) {
	cands := queue(map[string]int{"reliability": 20, "features": 20})
	nodes := []NodeInfo{node("n", 0, map[string]int{"shell": 5})}
	p := mustScheduler(t, levelingConfig()).Plan(t0, cands, nodes, Running{})
	// 40:10 over 5 slots is 4:1.
	if got := countBy(p, cands, byBucket); !maps.Equal(got, map[string]int{"reliability": 4, "features": 1}) {
		t.Fatalf("started %v", got)
	}
	want := Reason{Code: ReasonLevelingQuota, Bucket: "features", AgentType: "shell", Limit: 1, Count: 5}
	if r := p.Deferred["features-001"]; r != want {
		t.Errorf("features-001: %+v, want %+v", r, want)
	}
}

func TestLevelingConvergesAcrossPlans(t *testing.T) {
	// One free slot per plan; each started work order keeps running. The
	// running mix must converge on 40/30/20/10 without scheduler state.
	s := mustScheduler(t, levelingConfig())
	cands := queue(map[string]int{"reliability": 20, "security": 20, "cost": 20, "features": 20})
	var running Running
	for round := range 20 {
		nodes := []NodeInfo{{Name: "n", Healthy: true, Slots: map[string]Slot{"shell": {Capacity: round + 1}}}}
		p := s.Plan(t0, cands, nodes, running)
		if len(p.Assignments) != 1 {
			t.Fatalf("round %d: %d assignments, want 1", round, len(p.Assignments))
		}
		started := p.Assignments[0].ID
		for i, c := range cands {
			if c.ID == started {
				running.Add(InFlight{Bucket: c.Bucket, Node: "n", AgentType: "shell", HoldsSlot: true})
				cands = append(cands[:i], cands[i+1:]...)
				break
			}
		}
		if round == 9 || round == 19 {
			k := (round + 1) / 10
			want := map[string]int{"reliability": 4 * k, "security": 3 * k, "cost": 2 * k, "features": k}
			if !maps.Equal(running.Buckets, want) {
				t.Errorf("after %d rounds running %v, want %v", round+1, running.Buckets, want)
			}
		}
	}
}

func TestLevelingNoIdleCapacity(t *testing.T) {
	for _, b := range []string{"features", "technical_debt"} { // weighted and unweighted
		t.Run(b, func(t *testing.T) {
			cands := queue(map[string]int{b: 30})
			nodes := []NodeInfo{node("n1", 0, map[string]int{"shell": 6}), node("n2", 0, map[string]int{"shell": 4})}
			p := mustScheduler(t, levelingConfig()).Plan(t0, cands, nodes, Running{})
			if len(p.Assignments) != 10 {
				t.Errorf("%d started, want all 10 slots used", len(p.Assignments))
			}
			for i, a := range p.Assignments {
				if want := fmt.Sprintf("%s-%03d", b, i); a.ID != want {
					t.Errorf("assignment %d = %s, want %s (strategy order)", i, a.ID, want)
				}
			}
		})
	}
}

func TestLevelingUnweightedBucketGetsLeftover(t *testing.T) {
	cands := queue(map[string]int{"security": 2, "compliance": 10})
	nodes := []NodeInfo{node("n", 0, map[string]int{"shell": 5})}
	p := mustScheduler(t, levelingConfig()).Plan(t0, cands, nodes, Running{})
	want := map[string]int{"security": 2, "compliance": 3}
	if got := countBy(p, cands, byBucket); !maps.Equal(got, want) {
		t.Errorf("started %v, want %v", got, want)
	}
	for _, a := range p.Assignments {
		if strings.HasPrefix(a.ID, "compliance") && !strings.Contains(a.Reason, "left unused") {
			t.Errorf("%s reason %q does not say it used a leftover slot", a.ID, a.Reason)
		}
	}
}

func TestLevelingShareBlockedByWIPFlowsOn(t *testing.T) {
	cfg := levelingConfig()
	cfg.StageWIP = map[string]int{"code": 1}
	// Reliability's share is 8 of 10 but only one of its candidates may
	// start (stage code); the other slots go to features.
	var cands []Candidate
	for i := range 10 {
		cands = append(cands, cand(fmt.Sprintf("rel-%d", i), uint64(i), bucket("reliability"), stage("code")))
		cands = append(cands, cand(fmt.Sprintf("feat-%d", i), uint64(100+i), bucket("features")))
	}
	nodes := []NodeInfo{node("n", 0, map[string]int{"shell": 10})}
	p := mustScheduler(t, cfg).Plan(t0, cands, nodes, Running{})
	want := map[string]int{"reliability": 1, "features": 9}
	if got := countBy(p, cands, byBucket); !maps.Equal(got, want) {
		t.Errorf("started %v, want %v", got, want)
	}
	if r := p.Deferred["rel-1"]; r.Code != ReasonWIPLimit {
		t.Errorf("rel-1: %v, want wip_limit", r)
	}
	if r := p.Deferred["feat-9"]; r.Code != ReasonLevelingQuota {
		t.Errorf("feat-9: %v, want leveling_quota", r)
	}
}

func TestLevelingPerAgentType(t *testing.T) {
	// Slots of gpu are short, shell slots are plenty: only gpu is leveled.
	var cands []Candidate
	for i := range 10 {
		cands = append(cands,
			cand(fmt.Sprintf("feat-gpu-%d", i), uint64(i), bucket("features"), agent("gpu")),
			cand(fmt.Sprintf("cost-gpu-%d", i), uint64(50+i), bucket("cost"), agent("gpu")),
			cand(fmt.Sprintf("feat-sh-%d", i), uint64(100+i), bucket("features")),
		)
	}
	nodes := []NodeInfo{node("n", 0, map[string]int{"gpu": 3, "shell": 50})}
	p := mustScheduler(t, levelingConfig()).Plan(t0, cands, nodes, Running{})
	gpu := countBy(p, cands, func(c Candidate) string { return c.AgentType + "/" + c.Bucket })
	want := map[string]int{"gpu/cost": 2, "gpu/features": 1, "shell/features": 10}
	if !reflect.DeepEqual(gpu, want) {
		t.Errorf("started %v, want %v", gpu, want)
	}
}

func TestLevelingOffWithoutShortageOrMix(t *testing.T) {
	cands := queue(map[string]int{"features": 5, "reliability": 5})
	// FIFO favours features (listed first); without shortage leveling
	// must not reorder anything.
	nodes := []NodeInfo{node("n", 0, map[string]int{"shell": 10})}
	p := mustScheduler(t, levelingConfig()).Plan(t0, cands, nodes, Running{})
	if len(p.Assignments) != 10 || p.Assignments[0].ID != "features-000" {
		t.Errorf("no shortage: %v", assignedIDs(p))
	}
	// An empty mix turns leveling off: a shortage is filled in strategy order.
	nodes = []NodeInfo{node("n", 0, map[string]int{"shell": 4})}
	p = mustScheduler(t, unlimited(StrategyFIFO)).Plan(t0, cands, nodes, Running{})
	if got := countBy(p, cands, byBucket); !maps.Equal(got, map[string]int{"features": 4}) {
		t.Errorf("no mix: started %v", got)
	}
	if r := p.Deferred["reliability-000"]; r.Code != ReasonNoCapacity {
		t.Errorf("no mix: %v, want no_capacity", r)
	}
}

func TestShareDivisor(t *testing.T) {
	s := mustScheduler(t, Config{Mix: map[string]int{fsm.BucketReliability: 1, fsm.BucketSecurity: 1}})
	// Equal weights, equal held: the tie goes to the name order.
	got := s.share(1, map[string]int{"reliability": 5, "security": 5}, nil)
	if !maps.Equal(got, map[string]int{"reliability": 1}) {
		t.Errorf("tie: %v", got)
	}
	// Held work counts: security is behind, so it gets both.
	got = s.share(2, map[string]int{"reliability": 5, "security": 5}, map[string]int{"reliability": 3, "security": 1})
	if !maps.Equal(got, map[string]int{"security": 2}) {
		t.Errorf("held: %v", got)
	}
	// Never more than the demand.
	got = s.share(5, map[string]int{"reliability": 1, "security": 9}, nil)
	if !maps.Equal(got, map[string]int{"reliability": 1, "security": 4}) {
		t.Errorf("capped: %v", got)
	}
}
