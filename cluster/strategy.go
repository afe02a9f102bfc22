package cluster

import (
	"cmp"
	"fmt"
	"strings"
)

// Strategy names how Plan orders the queue. It is chosen per cluster in
// Config.Strategy and may be changed at run time; the zero value means
// StrategyPriority.
type Strategy string

// The scheduling strategies. Every order is total: ties fall through to the
// priority order and finally to the work order ID, so a plan never depends
// on the order in which candidates were listed.
const (
	// StrategyPriority (the default) runs the highest priority level first,
	// then the highest priority score within a level (a candidate without a
	// score ranks as the lowest score of its level), then FIFO by sequence,
	// then the shorter estimated effort (unknown effort last).
	StrategyPriority Strategy = "priority"
	// StrategyFIFO runs work orders in the order they were created:
	// sequence, then creation time.
	StrategyFIFO Strategy = "fifo"
	// StrategyDeadline is earliest deadline first; work without a deadline
	// runs after all work with one.
	StrategyDeadline Strategy = "deadline"
	// StrategySJF is shortest job first by estimated effort; work of
	// unknown effort runs after all work with an estimate.
	StrategySJF Strategy = "sjf"
	// StrategyCriticalPath runs first the work order that heads the longest
	// remaining chain of estimated effort through its dependents (see
	// CriticalPaths), so that long pipelines are not starved by short work.
	StrategyCriticalPath Strategy = "critical_path"
	// StrategyResourceAware keeps the priority order but places each work
	// order on the least-loaded healthy node that has a free slot of its
	// agent type, instead of the node with the most free slots.
	StrategyResourceAware Strategy = "resource_aware"
	// StrategyAdaptive picks one of deadline, sjf or priority for each plan
	// from the state it is given; see AdaptiveConfig for the rule. The plan
	// reports the strategy it picked and why.
	StrategyAdaptive Strategy = "adaptive"
)

var strategies = [...]Strategy{
	StrategyPriority, StrategyFIFO, StrategyDeadline, StrategySJF,
	StrategyCriticalPath, StrategyResourceAware, StrategyAdaptive,
}

// Strategies returns every valid strategy, the default first.
func Strategies() []Strategy { return append([]Strategy(nil), strategies[:]...) }

// ParseStrategy parses a strategy name, ignoring case and surrounding space;
// "" is the default, StrategyPriority. An unknown name is an error wrapping
// ErrUnknownStrategy that lists the valid names.
func ParseStrategy(s string) (Strategy, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return StrategyPriority, nil
	}
	for _, x := range strategies {
		if strings.EqualFold(s, string(x)) {
			return x, nil
		}
	}
	return "", fmt.Errorf("%w %q (valid: %s)", ErrUnknownStrategy, s, strategyList())
}

func strategyList() string {
	names := make([]string, len(strategies))
	for i, x := range strategies {
		names[i] = string(x)
	}
	return strings.Join(names, ", ")
}

// Valid reports whether s is "" (the default) or one of the strategies.
func (s Strategy) Valid() bool {
	if s == "" {
		return true
	}
	for _, x := range strategies {
		if s == x {
			return true
		}
	}
	return false
}

// orElseDefault maps "" to StrategyPriority.
func (s Strategy) orElseDefault() Strategy {
	if s == "" {
		return StrategyPriority
	}
	return s
}

// compareFunc returns the ordering of s: negative when a runs before b.
// StrategyAdaptive must be resolved before calling it.
func (s Strategy) compareFunc() func(a, b *entry) int {
	switch s {
	case StrategyFIFO:
		return compareFIFO
	case StrategyDeadline:
		return compareDeadline
	case StrategySJF:
		return compareSJF
	case StrategyCriticalPath:
		return compareCriticalPath
	default: // priority, resource_aware
		return comparePriority
	}
}

// levelFloor is the lowest 1-10 score of each priority level (critical 9-10,
// high 7-8, medium 5-6, low 1-4); a candidate without a score ranks there.
var levelFloor = [...]int{0, 1, 5, 7, 9}

// effectiveScore is the score a candidate is ranked by within its level.
func effectiveScore(level, score int) int {
	floor := 0
	if level >= 1 && level < len(levelFloor) {
		floor = levelFloor[level]
	}
	ceil := 10
	if level >= 1 && level < len(levelFloor)-1 {
		ceil = levelFloor[level+1] - 1
	}
	if score >= floor && score <= ceil && score >= 1 {
		return score
	}
	return floor
}

// compareKnownFirst orders ascending with 0 (unknown) after every known
// value.
func compareKnownFirst(a, b int64) int {
	switch {
	case a == b:
		return 0
	case a == 0:
		return 1
	case b == 0:
		return -1
	}
	return cmp.Compare(a, b)
}

func comparePriority(a, b *entry) int {
	if c := cmp.Compare(b.priority, a.priority); c != 0 {
		return c
	}
	if c := cmp.Compare(b.score, a.score); c != 0 {
		return c
	}
	if c := cmp.Compare(a.seq, b.seq); c != 0 {
		return c
	}
	if c := compareKnownFirst(a.effort, b.effort); c != 0 {
		return c
	}
	return strings.Compare(a.id, b.id)
}

func compareFIFO(a, b *entry) int {
	if c := cmp.Compare(a.seq, b.seq); c != 0 {
		return c
	}
	if c := cmp.Compare(a.created, b.created); c != 0 {
		return c
	}
	return strings.Compare(a.id, b.id)
}

func compareDeadline(a, b *entry) int {
	if c := compareKnownFirst(a.deadline, b.deadline); c != 0 {
		return c
	}
	return comparePriority(a, b)
}

func compareSJF(a, b *entry) int {
	if c := compareKnownFirst(a.effort, b.effort); c != 0 {
		return c
	}
	return comparePriority(a, b)
}

func compareCriticalPath(a, b *entry) int {
	if c := cmp.Compare(b.path.Seconds, a.path.Seconds); c != 0 {
		return c
	}
	if c := cmp.Compare(b.path.Length, a.path.Length); c != 0 {
		return c
	}
	return comparePriority(a, b)
}
