package cluster

import (
	"fmt"
	"slices"
	"strconv"
	"time"
)

// entry is a candidate prepared for ordering and placement: its sort keys
// are flattened into integers once, so sorting a large queue is cheap.
type entry struct {
	c         *Candidate
	id        string
	agentType string // resolved: the candidate's own or a delegation rule's
	rule      int    // the delegation rule that chose agentType, or -1
	bucket    string
	stage     string
	priority  int
	score     int
	seq       uint64
	created   int64 // Unix ns (saturated), 0 when unknown
	deadline  int64 // Unix ns (saturated), 0 when none
	effort    int64 // seconds, 0 when unknown
	path      Path
	pool      *pool
}

var epoch = time.Unix(0, 0)

// unixNanos maps t to saturated Unix nanoseconds, 0 for the zero time
// and 1 for the epoch itself (so 0 can mean "none").
func unixNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	if ns := int64(t.Sub(epoch)); ns != 0 {
		return ns
	}
	return 1
}

func newEntry(c *Candidate) entry {
	e := entry{
		c:         c,
		id:        c.ID,
		agentType: c.AgentType,
		rule:      -1,
		bucket:    c.Bucket,
		stage:     c.Stage,
		priority:  c.Priority,
		score:     effectiveScore(c.Priority, c.Score),
		seq:       c.Seq,
		created:   unixNanos(c.Created),
		deadline:  unixNanos(c.Deadline),
		effort:    min(max(c.EffortSeconds, 0), maxEffort),
		path:      c.CriticalPath,
	}
	if e.path == (Path{}) {
		e.path = Path{Seconds: e.effort, Length: 1}
	}
	return e
}

// Plan decides which candidates start now and where. It is a pure
// function of its arguments and the scheduler's config: it reads no clock
// (now is only used by the adaptive rule), no randomness and no map order,
// and the order of candidates and nodes does not change the result.
//
// Candidates are the queued work orders (not blocked, not in flight);
// nodes are every known node, healthy or not; running is the work already
// in flight. Plan:
//
//  1. resolves each candidate's agent type (its own, else the first
//     matching delegation rule) and sets aside those with no ID or a
//     repeated one, no type, or no healthy node offering the type;
//  2. orders the rest by the strategy (resolving adaptive);
//  3. computes leveling shares for agent types whose free slots are fewer
//     than the candidates that could use them (see the level method);
//  4. walks the order and starts each candidate unless its stage or
//     bucket WIP limit is reached (running plus this plan), no slot of its
//     type is free, or its bucket has used its leveling share;
//  5. walks the candidates held only by a leveling share again, in order,
//     and starts them on the slots that shares left unused.
//
// Limits are never exceeded, and no candidate is left waiting while its
// stage and bucket have room and a slot of its type is free. Plan does not
// modify its arguments and may run concurrently with other plans.
func (s *Scheduler) Plan(now time.Time, candidates []Candidate, nodes []NodeInfo, running Running) Plan {
	plan := Plan{
		Requested:   s.cfg.Strategy.orElseDefault(),
		Assignments: []Assignment{},
		Deferred:    make(map[string]Reason, len(candidates)),
	}
	pools := buildPools(nodes, running)
	seen := make(map[string]int, len(candidates))
	for i := range candidates {
		seen[candidates[i].ID]++
	}
	entries := make([]entry, 0, len(candidates))
	for i := range candidates {
		c := &candidates[i]
		switch n := seen[c.ID]; {
		case c.ID == "":
			plan.Deferred[""] = Reason{Code: ReasonInvalidCandidate, Detail: "candidate without an ID"}
			continue
		case n > 1:
			plan.Deferred[c.ID] = Reason{Code: ReasonInvalidCandidate, Detail: "ID " + strconv.Quote(c.ID) + " given " + strconv.Itoa(n) + " times"}
			continue
		}
		e := newEntry(c)
		if e.agentType == "" {
			t, rule, ok := s.Delegate(c.Title, c.Description)
			if !ok {
				plan.Deferred[c.ID] = Reason{Code: ReasonNoAgentType}
				continue
			}
			e.agentType, e.rule = t, rule
		}
		if e.pool = pools[e.agentType]; e.pool == nil {
			plan.Deferred[c.ID] = Reason{Code: ReasonNoNodeForType, AgentType: e.agentType}
			continue
		}
		entries = append(entries, e)
	}
	free := 0
	for _, p := range pools {
		free += p.free
	}
	plan.Strategy, plan.StrategyReason = s.resolve(now, entries, free)

	order := make([]*entry, len(entries))
	for i := range entries {
		order[i] = &entries[i]
	}
	slices.SortFunc(order, plan.Strategy.compareFunc())

	w := newWIP(&s.cfg, running)
	s.level(pools, order, running, w)
	leastLoaded := plan.Strategy == StrategyResourceAware
	start := func(rank int, e *entry, leftover bool) {
		slot, why := e.pool.take(leastLoaded)
		w.add(e)
		reason := fmt.Sprintf("%s rank %d", plan.Strategy, rank+1)
		if e.rule >= 0 {
			reason += fmt.Sprintf("; delegated to %s by rule %d (%s)", e.agentType, e.rule, s.cfg.Delegation[e.rule].Pattern)
		}
		if leftover {
			reason += "; a slot other buckets' leveling shares left unused"
		}
		plan.Assignments = append(plan.Assignments, Assignment{
			ID: e.id, Node: slot.node.name, AgentType: e.agentType, Reason: reason + "; " + why,
		})
	}
	var held []int // ranks of candidates held only by their leveling share
	for rank, e := range order {
		if r, blocked := w.blocked(e); blocked {
			plan.Deferred[e.id] = r
			continue
		}
		p := e.pool
		if p.free == 0 {
			plan.Deferred[e.id] = Reason{Code: ReasonNoCapacity, AgentType: e.agentType}
			continue
		}
		if p.quota != nil {
			if p.quota[e.bucket] <= 0 {
				plan.Deferred[e.id] = Reason{Code: ReasonLevelingQuota, Bucket: e.bucket, AgentType: e.agentType,
					Limit: p.shares[e.bucket], Count: p.sharedOut}
				held = append(held, rank)
				continue
			}
			p.quota[e.bucket]--
		}
		start(rank, e, false)
	}
	for _, rank := range held {
		e := order[rank]
		if r, blocked := w.blocked(e); blocked {
			plan.Deferred[e.id] = r
			continue
		}
		if e.pool.free == 0 {
			continue // the share held it while a slot was free: keep leveling_quota
		}
		delete(plan.Deferred, e.id)
		start(rank, e, true)
	}
	return plan
}
