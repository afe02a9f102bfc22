package cluster

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseStrategy(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Strategy
	}{
		{"", StrategyPriority},
		{"priority", StrategyPriority},
		{"FIFO", StrategyFIFO},
		{" deadline ", StrategyDeadline},
		{"sjf", StrategySJF},
		{"Critical_Path", StrategyCriticalPath},
		{"resource_aware", StrategyResourceAware},
		{"adaptive", StrategyAdaptive},
	} {
		got, err := ParseStrategy(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseStrategy(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	_, err := ParseStrategy("lifo")
	if !errors.Is(err, ErrUnknownStrategy) {
		t.Fatalf("ParseStrategy(lifo) error = %v, want ErrUnknownStrategy", err)
	}
	for _, s := range Strategies() {
		if !strings.Contains(err.Error(), string(s)) {
			t.Errorf("error %q does not list %q", err, s)
		}
	}
	if len(Strategies()) != 7 || Strategies()[0] != StrategyPriority {
		t.Errorf("Strategies() = %v", Strategies())
	}
}

// TestStrategyOrder checks each strategy's order on hand-built queues. The
// capacity is ample and nothing limits, so the assignments come out in
// strategy order.
func TestStrategyOrder(t *testing.T) {
	soon, later, latest := t0.Add(time.Hour), t0.Add(2*time.Hour), t0.Add(3*time.Hour)
	tests := []struct {
		name     string
		strategy Strategy
		cands    []Candidate
		want     []string
	}{
		{
			name:     "priority levels first",
			strategy: StrategyPriority,
			cands: []Candidate{
				cand("low", 1, prio(1)), cand("crit", 4, prio(4)),
				cand("med", 2, prio(2)), cand("high", 3, prio(3)), cand("unset", 0, prio(0)),
			},
			want: []string{"crit", "high", "med", "low", "unset"},
		},
		{
			name:     "priority score within a level, unscored at the level floor",
			strategy: StrategyPriority,
			cands: []Candidate{
				cand("c9", 1, prio(4), score(9)), cand("c10", 2, prio(4), score(10)),
				cand("c-unscored", 0, prio(4)), cand("h8", 3, prio(3), score(8)),
				cand("c-badscore", 5, prio(4), score(3)), // out of its level: ranks at the floor
			},
			want: []string{"c10", "c-unscored", "c9", "c-badscore", "h8"},
		},
		{
			name:     "priority then FIFO by sequence",
			strategy: StrategyPriority,
			cands:    []Candidate{cand("c", 30), cand("a", 10), cand("b", 20)},
			want:     []string{"a", "b", "c"},
		},
		{
			name:     "priority then shorter effort, unknown last, then ID",
			strategy: StrategyPriority,
			cands: []Candidate{
				cand("x-unknown", 7), cand("long", 7, effort(600)),
				cand("short", 7, effort(60)), cand("b-same", 7, effort(60)),
			},
			want: []string{"b-same", "short", "long", "x-unknown"},
		},
		{
			name:     "fifo ignores priority",
			strategy: StrategyFIFO,
			cands:    []Candidate{cand("crit", 3, prio(4)), cand("low", 1, prio(1)), cand("med", 2)},
			want:     []string{"low", "med", "crit"},
		},
		{
			name:     "fifo on equal sequence uses creation time",
			strategy: StrategyFIFO,
			cands: []Candidate{
				cand("new", 0, func(c *Candidate) { c.Created = t0 }),
				cand("old", 0, func(c *Candidate) { c.Created = t0.Add(-time.Hour) }),
			},
			want: []string{"old", "new"},
		},
		{
			name:     "deadline earliest first, none last, ties by priority",
			strategy: StrategyDeadline,
			cands: []Candidate{
				cand("none-crit", 1, prio(4)), cand("latest", 2, deadline(latest)),
				cand("soon", 3, deadline(soon)), cand("later-low", 4, prio(1), deadline(later)),
				cand("later-high", 5, prio(3), deadline(later)),
			},
			want: []string{"soon", "later-high", "later-low", "latest", "none-crit"},
		},
		{
			name:     "sjf shortest first, unknown last",
			strategy: StrategySJF,
			cands: []Candidate{
				cand("unknown-crit", 1, prio(4)), cand("big", 2, effort(3600)),
				cand("tiny", 3, effort(1)), cand("mid", 4, effort(60)), cand("neg", 5, effort(-5)),
			},
			want: []string{"tiny", "mid", "big", "unknown-crit", "neg"},
		},
		{
			name:     "critical path longest chain first, own effort when not computed",
			strategy: StrategyCriticalPath,
			cands: []Candidate{
				cand("head-short", 1, prio(4), path(100, 2)), cand("head-long", 2, prio(1), path(9000, 4)),
				cand("leaf-only", 3, effort(500)), cand("deep", 4, path(100, 5)),
			},
			want: []string{"head-long", "leaf-only", "deep", "head-short"},
		},
		{
			name:     "resource_aware keeps the priority order",
			strategy: StrategyResourceAware,
			cands:    []Candidate{cand("low", 1, prio(1)), cand("crit", 2, prio(4))},
			want:     []string{"crit", "low"},
		},
	}
	nodes := []NodeInfo{node("n1", 0, map[string]int{"shell": 100})}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustScheduler(t, unlimited(tc.strategy)).Plan(t0, tc.cands, nodes, Running{})
			if got := assignedIDs(p); !slices.Equal(got, tc.want) {
				t.Errorf("order = %v, want %v", got, tc.want)
			}
			if p.Strategy != tc.strategy || p.Requested != tc.strategy {
				t.Errorf("strategy = %q (requested %q), want %q", p.Strategy, p.Requested, tc.strategy)
			}
			if len(p.Deferred) != 0 {
				t.Errorf("deferred = %v, want none", p.Deferred)
			}
		})
	}
}

func TestResourceAwarePlacement(t *testing.T) {
	nodes := []NodeInfo{
		node("busy", 0.9, map[string]int{"shell": 8}),
		node("idle", 0.1, map[string]int{"shell": 2}),
		node("mid", 0.5, map[string]int{"shell": 2}),
	}
	cands := []Candidate{cand("a", 1), cand("b", 2), cand("c", 3)}
	p := mustScheduler(t, unlimited(StrategyResourceAware)).Plan(t0, cands, nodes, Running{})
	// idle's projected load is 0.1, then 0.1+1/2=0.6 > mid's 0.5.
	want := []string{"idle", "mid", "idle"}
	for i, a := range p.Assignments {
		if a.Node != want[i] {
			t.Errorf("assignment %d (%s) on %s, want %s", i, a.ID, a.Node, want[i])
		}
	}
	if !strings.Contains(p.Assignments[0].Reason, "least loaded") {
		t.Errorf("reason %q does not explain the load choice", p.Assignments[0].Reason)
	}
	// The default placement ignores load and fills the node with most free slots.
	p = mustScheduler(t, unlimited(StrategyPriority)).Plan(t0, cands, nodes, Running{})
	for _, a := range p.Assignments {
		if a.Node != "busy" {
			t.Errorf("priority placed %s on %s, want busy (most free slots)", a.ID, a.Node)
		}
	}
}

func TestAdaptive(t *testing.T) {
	cfg := unlimited(StrategyAdaptive)
	cfg.Adaptive = DefaultAdaptiveConfig()
	s := mustScheduler(t, cfg)
	nodes := []NodeInfo{node("n1", 0, map[string]int{"shell": 2})}
	day := 24 * time.Hour
	created := func(d time.Duration) func(*Candidate) { return func(c *Candidate) { c.Created = t0.Add(-d) } }

	t.Run("deadline at risk picks deadline", func(t *testing.T) {
		// Window 24h, 10h left, 5h of effort: slack 5h < 25% of 24h = 6h.
		cands := []Candidate{
			cand("calm", 1, prio(4), created(time.Hour), deadline(t0.Add(23*time.Hour))),
			cand("risky", 2, prio(1), created(14*time.Hour), deadline(t0.Add(10*time.Hour)), effort(5*3600)),
		}
		p := s.Plan(t0, cands, nodes, Running{})
		if p.Strategy != StrategyDeadline || p.Requested != StrategyAdaptive {
			t.Fatalf("strategy %q (requested %q), want deadline", p.Strategy, p.Requested)
		}
		if !strings.Contains(p.StrategyReason, "risky") {
			t.Errorf("reason %q does not name the work order at risk", p.StrategyReason)
		}
		if got := assignedIDs(p); !slices.Equal(got, []string{"risky", "calm"}) {
			t.Errorf("order %v, want risky first", got)
		}
	})
	t.Run("breached deadline is at risk", func(t *testing.T) {
		cands := []Candidate{cand("late", 1, created(2*day), deadline(t0.Add(-time.Minute)))}
		if p := s.Plan(t0, cands, nodes, Running{}); p.Strategy != StrategyDeadline {
			t.Errorf("strategy %q, want deadline", p.Strategy)
		}
	})
	t.Run("comfortable deadline does not switch", func(t *testing.T) {
		// 20h left of a 24h window, 1h effort: slack 19h >= 6h.
		cands := []Candidate{cand("ok", 1, created(4*time.Hour), deadline(t0.Add(20*time.Hour)), effort(3600))}
		if p := s.Plan(t0, cands, nodes, Running{}); p.Strategy != StrategyPriority {
			t.Errorf("strategy %q (%s), want priority", p.Strategy, p.StrategyReason)
		}
	})
	t.Run("long queue picks sjf", func(t *testing.T) {
		var cands []Candidate
		for i := range 9 { // 9 > 4 per free slot × 2 free slots
			cands = append(cands, cand(string(rune('a'+i)), uint64(i), effort(int64(100-i))))
		}
		p := s.Plan(t0, cands, nodes, Running{})
		if p.Strategy != StrategySJF {
			t.Fatalf("strategy %q (%s), want sjf", p.Strategy, p.StrategyReason)
		}
		if got := assignedIDs(p); !slices.Equal(got, []string{"i", "h"}) {
			t.Errorf("sjf started %v, want the two shortest [i h]", got)
		}
	})
	t.Run("queue at the threshold stays priority", func(t *testing.T) {
		var cands []Candidate
		for i := range 8 {
			cands = append(cands, cand(string(rune('a'+i)), uint64(i)))
		}
		if p := s.Plan(t0, cands, nodes, Running{}); p.Strategy != StrategyPriority {
			t.Errorf("strategy %q, want priority", p.Strategy)
		}
	})
	t.Run("no free capacity stays priority", func(t *testing.T) {
		full := []NodeInfo{{Name: "n1", Healthy: true, Slots: map[string]Slot{"shell": {Capacity: 2, Running: 2}}}}
		cands := []Candidate{cand("a", 1), cand("b", 2), cand("c", 3)}
		if p := s.Plan(t0, cands, full, Running{}); p.Strategy != StrategyPriority {
			t.Errorf("strategy %q, want priority", p.Strategy)
		}
	})
	t.Run("factor 0 never picks sjf", func(t *testing.T) {
		c := cfg
		c.Adaptive.LongQueueFactor = 0
		var cands []Candidate
		for i := range 50 {
			cands = append(cands, cand(string(rune('A'+i)), uint64(i)))
		}
		if p := mustScheduler(t, c).Plan(t0, cands, nodes, Running{}); p.Strategy != StrategyPriority {
			t.Errorf("strategy %q, want priority", p.Strategy)
		}
	})
}
