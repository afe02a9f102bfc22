package fsm

import (
	"fmt"
	"time"
)

// Config holds the rules Apply depends on. It is part of the replicated
// state machine's definition: every node of a cluster must run with an
// identical Config (same SLAs, same idempotency window and limit), or their
// states diverge. Change it only with a rolling restart of every node
// between log entries that it could affect.
type Config struct {
	// SLA maps a bucket to the time allowed from creation to completion;
	// 0 means best effort (no deadline). Buckets missing from the map are
	// best effort.
	SLA map[string]time.Duration
	// IdempotencyWindow is how long (in command time, not wall time) a
	// request ID is remembered.
	IdempotencyWindow time.Duration
	// IdempotencyMax bounds the remembered request IDs; the oldest are
	// forgotten first.
	IdempotencyMax int
}

// Bucket names. Buckets() lists them sorted.
const (
	BucketCompliance    = "compliance"
	BucketCost          = "cost"
	BucketFeatures      = "features"
	BucketReliability   = "reliability"
	BucketSecurity      = "security"
	BucketTechnicalDebt = "technical_debt"
)

// DefaultConfig returns the SLAs of DESIGN.md (security 24h, reliability
// and compliance 7d, cost and features 30d, technical debt best effort), a
// 10 minute idempotency window and at most 100,000 remembered request IDs.
func DefaultConfig() Config {
	const day = 24 * time.Hour
	return Config{
		SLA: map[string]time.Duration{
			BucketSecurity:      day,
			BucketReliability:   7 * day,
			BucketCompliance:    7 * day,
			BucketCost:          30 * day,
			BucketFeatures:      30 * day,
			BucketTechnicalDebt: 0,
		},
		IdempotencyWindow: 10 * time.Minute,
		IdempotencyMax:    100_000,
	}
}

// Validate reports a Config that New would refuse: an SLA for an unknown
// bucket, a negative duration, or a non-positive IdempotencyMax.
func (c Config) Validate() error {
	for b, d := range c.SLA {
		if !validBucket(b) {
			return fmt.Errorf("fsm: config: SLA for unknown bucket %q", b)
		}
		if d < 0 {
			return fmt.Errorf("fsm: config: negative SLA for bucket %q", b)
		}
	}
	if c.IdempotencyWindow < 0 {
		return fmt.Errorf("fsm: config: negative IdempotencyWindow")
	}
	if c.IdempotencyMax <= 0 {
		return fmt.Errorf("fsm: config: IdempotencyMax must be positive")
	}
	return nil
}

// clone copies the SLA map so a caller cannot change a running FSM's rules.
func (c Config) clone() Config {
	sla := make(map[string]time.Duration, len(c.SLA))
	for k, v := range c.SLA {
		sla[k] = v
	}
	c.SLA = sla
	return c
}
