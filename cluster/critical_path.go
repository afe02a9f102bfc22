package cluster

import (
	"cmp"
	"math"
	"slices"
)

// Path is the longest remaining chain of work that starts at a work order
// and runs through its dependents: the work that cannot finish before it
// does. Chains compare by Seconds, then by Length.
type Path struct {
	// Seconds is the sum of estimated effort along the chain, the start
	// included; unknown effort counts as 0.
	Seconds int64 `json:"seconds"`
	// Length is the number of work orders on the chain, the start included.
	Length int `json:"length"`
}

// longer reports whether p is a longer chain than q.
func (p Path) longer(q Path) bool {
	if p.Seconds != q.Seconds {
		return p.Seconds > q.Seconds
	}
	return p.Length > q.Length
}

// CriticalPaths returns, for every work order in work, the longest
// remaining chain through its dependents. work should hold every
// unfinished work order (queued, blocked and in flight); edges come from
// both Dependents and DependsOn, and an edge to an ID not in work (a
// finished work order) is ignored, since finished work adds nothing to what
// remains.
//
// Each chain is computed once (memoised), iteratively, so deep chains do not
// grow the stack. The FSM refuses cycles, but CriticalPaths does not rely
// on it: an edge that would close a cycle is skipped, visiting IDs and
// edges in sorted order so the answer is still deterministic. A repeated
// ID is merged: the larger effort and the union of the edges. Lengths
// saturate instead of overflowing.
func CriticalPaths(work []Candidate) map[string]Path {
	type node struct {
		id     string
		effort int64
		succ   []int
	}
	index := make(map[string]int, len(work))
	nodes := make([]node, 0, len(work))
	for i := range work {
		c := &work[i]
		j, ok := index[c.ID]
		if !ok {
			j = len(nodes)
			index[c.ID] = j
			nodes = append(nodes, node{id: c.ID})
		}
		nodes[j].effort = max(nodes[j].effort, c.EffortSeconds, 0)
	}
	for i := range work {
		c := &work[i]
		from := index[c.ID]
		for _, d := range c.Dependents {
			if to, ok := index[d]; ok && to != from {
				nodes[from].succ = append(nodes[from].succ, to)
			}
		}
		for _, d := range c.DependsOn {
			if pre, ok := index[d]; ok && pre != from {
				nodes[pre].succ = append(nodes[pre].succ, from)
			}
		}
	}
	byID := func(a, b int) int { return cmp.Compare(nodes[a].id, nodes[b].id) }
	for i := range nodes {
		s := nodes[i].succ
		slices.SortFunc(s, byID)
		nodes[i].succ = slices.Compact(s)
	}
	order := make([]int, len(nodes))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, byID)

	const (
		white = iota
		grey
		black
	)
	color := make([]uint8, len(nodes))
	paths := make([]Path, len(nodes))
	type frame struct{ n, next int }
	var stack []frame
	for _, root := range order {
		if color[root] != white {
			continue
		}
		color[root] = grey
		stack = append(stack[:0], frame{n: root})
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if succ := nodes[top.n].succ; top.next < len(succ) {
				s := succ[top.next]
				top.next++
				if color[s] == white { // grey: a back edge, skipped
					color[s] = grey
					stack = append(stack, frame{n: s})
				}
				continue
			}
			n := top.n
			var best Path
			for _, s := range nodes[n].succ {
				if color[s] == black && paths[s].longer(best) {
					best = paths[s]
				}
			}
			paths[n] = Path{Seconds: addSat(best.Seconds, nodes[n].effort), Length: best.Length + 1}
			color[n] = black
			stack = stack[:len(stack)-1]
		}
	}
	out := make(map[string]Path, len(nodes))
	for i := range nodes {
		out[nodes[i].id] = paths[i]
	}
	return out
}

// addSat adds two non-negative numbers, saturating at math.MaxInt64.
func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
