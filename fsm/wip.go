package fsm

import "maps"

// WIP limits. A work order is in flight in in_progress, review and
// testing; those are what SchedulerConfig's StageWIP and BucketWIP limit.
// The state keeps a counter per bucket and per stage, maintained by putWO
// on every write (so they change in the same step as the work orders, and
// a refused command changes neither), and rebuilt the same way when a
// snapshot is restored, so checking a limit at a start is O(1).

// wipCounts counts in-flight work orders. buckets is a value, copied with
// the state; stages is a map shared with clones after a View and copied
// by the writer before its next change (shared says so).
type wipCounts struct {
	buckets [numBuckets]int
	stages  map[string]int // non-empty stages only; no zero entries
	shared  bool
}

// inFlight reports whether the state with index i (stateIndex; -1 for
// none) is in flight.
func inFlight(i int) bool { return i >= 2 && i <= 4 }

func init() {
	// inFlight relies on the order of states.
	for i, s := range states {
		if inFlight(i) != (s == StateInProgress || s == StateReview || s == StateTesting) {
			panic("fsm: inFlight does not match the order of states")
		}
	}
}

// share marks the stage map as shared with a clone.
func (w *wipCounts) share() { w.shared = true }

// update moves the counts from old (in flight when wasIn) to wo (in flight
// when isIn). Bucket and stage are compared, since progress may change a
// work order's stage while it runs.
func (w *wipCounts) update(old, wo *WorkOrder, wasIn, isIn bool) {
	if wasIn && isIn && old.Stage == wo.Stage && old.Bucket == wo.Bucket {
		return
	}
	if wasIn {
		w.add(old, -1)
	}
	if isIn {
		w.add(wo, 1)
	}
}

func (w *wipCounts) add(wo *WorkOrder, d int) {
	bi, _ := bucketIndex(wo.Bucket)
	w.buckets[bi] += d
	if wo.Stage == "" {
		return
	}
	if w.shared || w.stages == nil {
		w.stages = maps.Clone(w.stages)
		if w.stages == nil {
			w.stages = make(map[string]int)
		}
		w.shared = false
	}
	if n := w.stages[wo.Stage] + d; n != 0 {
		w.stages[wo.Stage] = n
	} else {
		delete(w.stages, wo.Stage)
	}
}

// checkWIP refuses, with ErrWIPLimit, to start wo (verb: "start" or
// "assign") when its stage or its bucket already has as many work orders
// in flight as its limit allows. The stage is checked first. It reads the
// counters as the previous command left them, which is exact: a start or
// assignment moves nothing else before this check.
func (t *tx) checkWIP(wo *WorkOrder, verb string) *Error {
	stage, bucket := t.s.wipFull(wo)
	if stage.full {
		return Errorf(ErrWIPLimit, "cannot %s %s: stage %s is at its WIP limit (%d of %d in flight)", verb, wo.ID, wo.Stage, stage.n, stage.limit)
	}
	if bucket.full {
		return Errorf(ErrWIPLimit, "cannot %s %s: bucket %s is at its WIP limit (%d of %d in flight)", verb, wo.ID, wo.Bucket, bucket.n, bucket.limit)
	}
	return nil
}

// wipUse is the work in flight against one WIP limit, and whether it is
// at the limit (never when the limit is 0: unlimited).
type wipUse struct {
	n, limit int
	full     bool
}

// wipFull reads the stage and bucket WIP of wo against their limits.
func (s *state) wipFull(wo *WorkOrder) (stage, bucket wipUse) {
	sc := s.sched
	if wo.Stage != "" && len(sc.cfg.StageWIP) > 0 {
		if limit := sc.cfg.StageWIP[wo.Stage]; limit > 0 {
			n := s.wip.stages[wo.Stage]
			stage = wipUse{n: n, limit: limit, full: n >= limit}
		}
	}
	bi, _ := bucketIndex(wo.Bucket)
	if limit := sc.bucketLimit[bi]; limit > 0 {
		n := s.wip.buckets[bi]
		bucket = wipUse{n: n, limit: limit, full: n >= limit}
	}
	return stage, bucket
}
