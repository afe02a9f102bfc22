package cluster

// wip tracks the stage and bucket WIP limits during a plan: what is
// running plus what this plan has assigned so far.
type wip struct {
	stageLimit, bucketLimit map[string]int
	running                 Running
	stages, buckets         map[string]int // planned by this plan
}

func newWIP(cfg *Config, running Running) *wip {
	return &wip{
		stageLimit:  cfg.StageWIP,
		bucketLimit: cfg.BucketWIP,
		running:     running,
		stages:      make(map[string]int),
		buckets:     make(map[string]int),
	}
}

// blocked returns the wip_limit reason when starting e would take its
// stage or bucket past its limit. The stage is checked first.
func (w *wip) blocked(e *entry) (Reason, bool) {
	if e.stage != "" {
		if limit, ok := w.stageLimit[e.stage]; ok {
			if n := w.running.Stages[e.stage] + w.stages[e.stage]; n >= limit {
				return Reason{Code: ReasonWIPLimit, Stage: e.stage, Limit: limit, Count: n}, true
			}
		}
	}
	if e.bucket != "" {
		if limit, ok := w.bucketLimit[e.bucket]; ok {
			if n := w.running.Buckets[e.bucket] + w.buckets[e.bucket]; n >= limit {
				return Reason{Code: ReasonWIPLimit, Bucket: e.bucket, Limit: limit, Count: n}, true
			}
		}
	}
	return Reason{}, false
}

// full reports whether running work alone already fills e's stage or
// bucket, so e cannot start in this plan whatever else happens.
func (w *wip) full(e *entry) bool {
	if limit, ok := w.stageLimit[e.stage]; ok && e.stage != "" && w.running.Stages[e.stage] >= limit {
		return true
	}
	if limit, ok := w.bucketLimit[e.bucket]; ok && e.bucket != "" && w.running.Buckets[e.bucket] >= limit {
		return true
	}
	return false
}

// add counts e as started.
func (w *wip) add(e *entry) {
	if e.stage != "" {
		w.stages[e.stage]++
	}
	if e.bucket != "" {
		w.buckets[e.bucket]++
	}
}
