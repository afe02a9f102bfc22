package cluster

import (
	"fmt"
	"math"
	"math/rand"
	"reflect"
	"slices"
	"testing"
)

// dag builds candidates from "id:effort" and edges "from>to" (to depends
// on from), recorded on both ends like the FSM does.
func dag(efforts map[string]int64, edges ...[2]string) []Candidate {
	byID := make(map[string]*Candidate)
	var ids []string
	for id := range efforts {
		ids = append(ids, id)
	}
	out := make([]Candidate, 0, len(ids))
	slices.Sort(ids)
	for _, id := range ids {
		out = append(out, Candidate{ID: id, EffortSeconds: efforts[id]})
	}
	for i := range out {
		byID[out[i].ID] = &out[i]
	}
	for _, e := range edges {
		byID[e[0]].Dependents = append(byID[e[0]].Dependents, e[1])
		byID[e[1]].DependsOn = append(byID[e[1]].DependsOn, e[0])
	}
	return out
}

func TestCriticalPathsDiamond(t *testing.T) {
	//      b(10)
	// a(1)      d(5)
	//      c(30)
	got := CriticalPaths(dag(map[string]int64{"a": 1, "b": 10, "c": 30, "d": 5},
		[2]string{"a", "b"}, [2]string{"a", "c"}, [2]string{"b", "d"}, [2]string{"c", "d"}))
	want := map[string]Path{
		"a": {36, 3}, "b": {15, 2}, "c": {35, 2}, "d": {5, 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("paths %v, want %v", got, want)
	}
}

func TestCriticalPathsFanOutFanIn(t *testing.T) {
	// root fans out to w1..w4 (efforts 1..4), which fan in to join, then
	// join → tail; w4 also feeds extra directly.
	efforts := map[string]int64{"root": 2, "w1": 1, "w2": 2, "w3": 3, "w4": 4, "join": 10, "tail": 1, "extra": 100}
	edges := [][2]string{{"join", "tail"}, {"w4", "extra"}}
	for _, w := range []string{"w1", "w2", "w3", "w4"} {
		edges = append(edges, [2]string{"root", w}, [2]string{w, "join"})
	}
	got := CriticalPaths(dag(efforts, edges...))
	want := map[string]Path{
		"root": {106, 3}, "w1": {12, 3}, "w2": {13, 3}, "w3": {14, 3}, "w4": {104, 2},
		"join": {11, 2}, "tail": {1, 1}, "extra": {100, 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("paths %v\nwant  %v", got, want)
	}
}

func TestCriticalPathsEdgeCases(t *testing.T) {
	t.Run("finished dependents are ignored", func(t *testing.T) {
		got := CriticalPaths([]Candidate{{ID: "a", EffortSeconds: 3, Dependents: []string{"gone"}, DependsOn: []string{"done"}}})
		if got["a"] != (Path{3, 1}) || len(got) != 1 {
			t.Errorf("%v", got)
		}
	})
	t.Run("edges from one side only", func(t *testing.T) {
		got := CriticalPaths([]Candidate{{ID: "a", EffortSeconds: 1}, {ID: "b", EffortSeconds: 2, DependsOn: []string{"a"}}})
		if got["a"] != (Path{3, 2}) {
			t.Errorf("%v", got)
		}
	})
	t.Run("unknown and negative effort count zero", func(t *testing.T) {
		got := CriticalPaths(dag(map[string]int64{"a": 0, "b": -7, "c": 0}, [2]string{"a", "b"}, [2]string{"b", "c"}))
		if got["a"] != (Path{0, 3}) {
			t.Errorf("%v", got)
		}
	})
	t.Run("repeated IDs merge", func(t *testing.T) {
		got := CriticalPaths([]Candidate{
			{ID: "a", EffortSeconds: 1, Dependents: []string{"b"}},
			{ID: "a", EffortSeconds: 5, Dependents: []string{"c"}},
			{ID: "b", EffortSeconds: 1}, {ID: "c", EffortSeconds: 2},
		})
		if got["a"] != (Path{7, 2}) {
			t.Errorf("%v", got)
		}
	})
	t.Run("self edges and saturation", func(t *testing.T) {
		got := CriticalPaths(dag(map[string]int64{"a": math.MaxInt64, "b": math.MaxInt64}, [2]string{"a", "b"}, [2]string{"a", "a"}))
		if got["a"] != (Path{math.MaxInt64, 2}) {
			t.Errorf("%v", got)
		}
	})
	t.Run("empty", func(t *testing.T) {
		if got := CriticalPaths(nil); len(got) != 0 {
			t.Errorf("%v", got)
		}
	})
}

func TestCriticalPathsCycleSafe(t *testing.T) {
	// a → b → c → a, plus c → d. The FSM forbids this; CriticalPaths must
	// still terminate and give the same answer for any input order.
	work := dag(map[string]int64{"a": 1, "b": 2, "c": 4, "d": 8},
		[2]string{"a", "b"}, [2]string{"b", "c"}, [2]string{"c", "a"}, [2]string{"c", "d"})
	want := CriticalPaths(work)
	// Visiting a first skips the edge c → a: a = 1+2+4+8.
	if want["a"] != (Path{15, 4}) || want["d"] != (Path{8, 1}) {
		t.Errorf("paths %v", want)
	}
	rng := rand.New(rand.NewSource(1))
	for range 20 {
		shuffled := append([]Candidate(nil), work...)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if got := CriticalPaths(shuffled); !reflect.DeepEqual(got, want) {
			t.Fatalf("order changed the answer: %v vs %v", got, want)
		}
	}
}

func TestCriticalPathsDeepChain(t *testing.T) {
	// A chain far deeper than a recursive walk could take on a goroutine
	// stack of modest size.
	const n = 200_000
	work := make([]Candidate, n)
	for i := range work {
		work[i] = Candidate{ID: fmt.Sprintf("WO-%d", i), EffortSeconds: 1}
		if i+1 < n {
			work[i].Dependents = []string{fmt.Sprintf("WO-%d", i+1)}
		}
	}
	got := CriticalPaths(work)
	if got["WO-0"] != (Path{n, n}) || got[fmt.Sprintf("WO-%d", n-1)] != (Path{1, 1}) {
		t.Errorf("head %v tail %v", got["WO-0"], got[fmt.Sprintf("WO-%d", n-1)])
	}
}

func TestCriticalPathStrategyUsesPaths(t *testing.T) {
	// Work: x(1) heads a chain x → y(100); z(50) stands alone. Only x and z
	// are queued; y is blocked on x.
	all := dag(map[string]int64{"x": 1, "y": 100, "z": 50}, [2]string{"x", "y"})
	paths := CriticalPaths(all)
	queued := []Candidate{cand("z", 1, effort(50)), cand("x", 2, effort(1))}
	for i := range queued {
		queued[i].CriticalPath = paths[queued[i].ID]
	}
	nodes := []NodeInfo{node("n", 0, map[string]int{"shell": 1})}
	p := mustScheduler(t, unlimited(StrategyCriticalPath)).Plan(t0, queued, nodes, Running{})
	if len(p.Assignments) != 1 || p.Assignments[0].ID != "x" {
		t.Errorf("assigned %v, want x (chain of 101s)", assignedIDs(p))
	}
}
