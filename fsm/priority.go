package fsm

import (
	"fmt"
	"strings"
)

var priorityNames = [...]string{
	PriorityLow:      "low",
	PriorityMedium:   "medium",
	PriorityHigh:     "high",
	PriorityCritical: "critical",
}

// String returns "low", "medium", "high" or "critical"; "" for 0 (unset)
// and "priority(N)" for anything else.
func (p Priority) String() string {
	if p == 0 {
		return ""
	}
	if p > PriorityCritical {
		return fmt.Sprintf("priority(%d)", uint8(p))
	}
	return priorityNames[p]
}

// Valid reports whether p is one of the four levels.
func (p Priority) Valid() bool { return p >= PriorityLow && p <= PriorityCritical }

// ParsePriority parses a level name (case-insensitive).
func ParsePriority(s string) (Priority, error) {
	for p := PriorityLow; p <= PriorityCritical; p++ {
		if strings.EqualFold(s, priorityNames[p]) {
			return p, nil
		}
	}
	return 0, Errorf(ErrInvalidArgument, "priority: unknown level %q (want critical, high, medium or low)", s)
}

// PriorityFromScore maps a 1-10 score to its level: critical 9-10,
// high 7-8, medium 5-6, low 1-4; 0 for a score out of range.
func PriorityFromScore(score int) Priority {
	switch {
	case score >= 9 && score <= 10:
		return PriorityCritical
	case score >= 7 && score <= 8:
		return PriorityHigh
	case score >= 5 && score <= 6:
		return PriorityMedium
	case score >= 1 && score <= 4:
		return PriorityLow
	}
	return 0
}

var buckets = [...]string{
	BucketCompliance, BucketCost, BucketFeatures,
	BucketReliability, BucketSecurity, BucketTechnicalDebt,
}

// Buckets returns the bucket names, sorted.
func Buckets() []string { return append([]string(nil), buckets[:]...) }

// numBuckets sizes the per-bucket counters.
const numBuckets = len(buckets)

func validBucket(b string) bool {
	for _, x := range buckets {
		if x == b {
			return true
		}
	}
	return false
}

// ValidState reports whether s names a work order state.
func ValidState(s string) bool {
	_, ok := stateIndex(State(s))
	return ok
}

var states = [...]State{
	StateBlocked, StateQueued, StateInProgress, StateReview,
	StateTesting, StateCompleted, StateFailed, StateCancelled,
}

// stateIndex numbers the states for compact keys and per-state counters.
func stateIndex(s State) (int, bool) {
	for i, x := range states {
		if x == s {
			return i, true
		}
	}
	return 0, false
}

func hasLabel(labels []string, want string) bool {
	for _, l := range labels {
		if strings.EqualFold(l, want) {
			return true
		}
	}
	return false
}

// DerivePriority returns the priority a spec gets: Signal "cve" is always
// critical; otherwise an explicit Priority, then PriorityScore, then the
// labels (critical+security → critical, critical → high, bug → medium,
// enhancement → low), else medium.
func DerivePriority(s *WorkOrderSpec) Priority {
	switch {
	case s.Signal == SignalCVE:
		return PriorityCritical
	case s.Priority != 0:
		return s.Priority
	case s.PriorityScore != 0:
		return PriorityFromScore(s.PriorityScore)
	case hasLabel(s.Labels, "critical") && hasLabel(s.Labels, "security"):
		return PriorityCritical
	case hasLabel(s.Labels, "critical"):
		return PriorityHigh
	case hasLabel(s.Labels, "bug"):
		return PriorityMedium
	case hasLabel(s.Labels, "enhancement"):
		return PriorityLow
	}
	return PriorityMedium
}

// SignalCVE is the pull signal that always routes to the security bucket
// at critical priority.
const SignalCVE = "cve"

// DeriveBucket returns the bucket a spec gets: Signal "cve" is always
// security; otherwise an explicit Bucket, then the first matching label in
// this order: security, bug → reliability, compliance, performance → cost,
// enhancement → features, refactor or tech-debt → technical_debt; else
// features.
func DeriveBucket(s *WorkOrderSpec) string {
	switch {
	case s.Signal == SignalCVE:
		return BucketSecurity
	case s.Bucket != "":
		return s.Bucket
	case hasLabel(s.Labels, "security"):
		return BucketSecurity
	case hasLabel(s.Labels, "bug"):
		return BucketReliability
	case hasLabel(s.Labels, "compliance"):
		return BucketCompliance
	case hasLabel(s.Labels, "performance"):
		return BucketCost
	case hasLabel(s.Labels, "enhancement"):
		return BucketFeatures
	case hasLabel(s.Labels, "refactor"), hasLabel(s.Labels, "tech-debt"):
		return BucketTechnicalDebt
	}
	return BucketFeatures
}
