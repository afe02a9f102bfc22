package cluster

import (
	"maps"
	"slices"
)

// level shares the free slots of every short pool among buckets by the
// leveling mix (heijunka). A pool is short when more candidates could use
// it than it has free slots; candidates whose stage or bucket is already
// at its WIP limit from running work alone are not counted, since they
// cannot start whatever the shares are.
//
// The shares come from a deficit round-robin, the Sainte-Laguë divisor
// method: each free slot in turn goes to the weighted bucket, among those
// with demand left, that is furthest below its share of the pool, i.e.
// with the least (2·held + 1) / weight, where held counts the bucket's
// slots of this type already running plus those shared out so far. Ties go
// to the larger weight, then the bucket name. Counting running work makes
// the in-flight mix converge on the target across plans without keeping
// state: a bucket that won the single free slot last time holds it now and
// yields the next one. Buckets without weight get no share. Slots that a
// share leaves unused (its candidates were held by WIP, or it had none)
// are handed out after every share has been used, in strategy order, so
// capacity is never idle while a candidate that fits waits.
func (s *Scheduler) level(pools map[string]*pool, order []*entry, running Running, w *wip) {
	if len(s.cfg.Mix) == 0 {
		return
	}
	for _, e := range order {
		if w.full(e) {
			continue
		}
		p := e.pool
		if p.demand == nil {
			p.demand = make(map[string]int)
		}
		p.demand[e.bucket]++
	}
	for _, t := range slices.Sorted(maps.Keys(pools)) {
		p := pools[t]
		total := 0
		for _, d := range p.demand {
			total += d
		}
		if total <= p.free {
			continue
		}
		p.shares = s.share(p.free, p.demand, running.Pools[t])
		p.quota = maps.Clone(p.shares)
		p.sharedOut = p.free
	}
}

// share divides free slots among the weighted buckets with demand, by the
// method level describes, never giving a bucket more than its demand.
func (s *Scheduler) share(free int, demand, held map[string]int) map[string]int {
	type claim struct {
		bucket         string
		weight         int64
		held, got, cap int64
	}
	var claims []claim
	for _, b := range slices.Sorted(maps.Keys(demand)) {
		if wt := s.cfg.Mix[b]; wt > 0 && demand[b] > 0 {
			claims = append(claims, claim{bucket: b, weight: int64(wt), held: int64(max(held[b], 0)), cap: int64(demand[b])})
		}
	}
	shares := make(map[string]int, len(claims))
	for range free {
		best := -1
		for i := range claims {
			c := &claims[i]
			if c.got >= c.cap {
				continue
			}
			if best < 0 {
				best = i
				continue
			}
			b := &claims[best]
			// c before b when (2c.held+1)/c.weight < (2b.held+1)/b.weight.
			l, r := (2*c.held+1)*b.weight, (2*b.held+1)*c.weight
			if l < r || (l == r && c.weight > b.weight) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		c := &claims[best]
		c.got++
		c.held++
		shares[c.bucket]++
	}
	return shares
}
