package cluster

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// nodeState is one usable node during a plan.
type nodeState struct {
	name     string
	load     float64 // NaN replaced by +Inf
	capacity int     // total slots over the types it offers
	planned  int     // assignments made to it by this plan
}

// projectedLoad estimates the node's load after this plan's assignments,
// counting each one as 1/capacity of the node.
func (n *nodeState) projectedLoad() float64 {
	return n.load + float64(n.planned)/float64(n.capacity)
}

// poolSlot is one node's slots of one agent type.
type poolSlot struct {
	node     *nodeState
	capacity int
	used     int // running (the larger of gossip's and the FSM's count) + planned
}

func (s *poolSlot) free() int { return max(s.capacity-s.used, 0) }

// pool is every healthy node's slots of one agent type.
type pool struct {
	agentType string
	slots     []poolSlot // sorted by node name
	free      int        // free slots left in the whole pool
	// Leveling, set by level when the pool is short: the share of each
	// bucket still unused (nil when the pool is not short or leveling is
	// off), the original shares, and the free slots they divided.
	quota     map[string]int
	shares    map[string]int
	sharedOut int
	demand    map[string]int // candidates per bucket that could use the pool
}

// buildPools groups the healthy nodes' slots by agent type. A node given
// more than once is ambiguous and left out. The slots already held are
// the larger of the node's report and running.Slots.
func buildPools(nodes []NodeInfo, running Running) map[string]*pool {
	order := make([]int, len(nodes))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(nodes[a].Name, nodes[b].Name) })
	pools := make(map[string]*pool)
	for k, i := range order {
		n := &nodes[i]
		dup := (k > 0 && nodes[order[k-1]].Name == n.Name) ||
			(k+1 < len(order) && nodes[order[k+1]].Name == n.Name)
		if dup || !n.Healthy || n.Name == "" {
			continue
		}
		ns := &nodeState{name: n.Name, load: n.Load}
		if math.IsNaN(ns.load) {
			ns.load = math.Inf(1)
		}
		for _, t := range slices.Sorted(maps.Keys(n.Slots)) {
			sl := n.Slots[t]
			if sl.Capacity <= 0 || t == "" {
				continue
			}
			used := max(sl.Running, running.Slots[n.Name][t], 0)
			p := pools[t]
			if p == nil {
				p = &pool{agentType: t}
				pools[t] = p
			}
			p.slots = append(p.slots, poolSlot{node: ns, capacity: sl.Capacity, used: used})
			p.free += max(sl.Capacity-used, 0)
			ns.capacity += sl.Capacity
		}
	}
	return pools
}

// take reserves one slot of p and returns it with the reason for the
// choice. By default it picks the node with the most free slots of the
// type; leastLoaded picks the lowest projected load instead, then the most
// free slots. Remaining ties go to the first node by name. p must have a
// free slot.
func (p *pool) take(leastLoaded bool) (*poolSlot, string) {
	var best *poolSlot
	for i := range p.slots {
		s := &p.slots[i]
		if s.free() == 0 {
			continue
		}
		if best == nil || better(s, best, leastLoaded) {
			best = s
		}
	}
	var why string
	if leastLoaded {
		why = fmt.Sprintf("node %s is the least loaded (%.2f) with a free %s slot", best.node.name, best.node.projectedLoad(), p.agentType)
	} else {
		why = fmt.Sprintf("node %s has the most free %s slots (%d of %d)", best.node.name, p.agentType, best.free(), best.capacity)
	}
	best.used++
	best.node.planned++
	p.free--
	return best, why
}

// better reports whether slot a beats b; on a full tie the earlier one
// (by node name) stays.
func better(a, b *poolSlot, leastLoaded bool) bool {
	if leastLoaded {
		la, lb := a.node.projectedLoad(), b.node.projectedLoad()
		if la != lb {
			return la < lb
		}
	}
	return a.free() > b.free()
}
