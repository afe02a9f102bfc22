package fsm

import (
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// Retries. A work order carries a RetryPolicy (WorkOrderSpec.Retry, zero
// fields filled from DefaultRetryPolicy at creation and stored in
// WorkOrder.Retry). What a fail does depends on who reports it:
//
//   - A fenced fail (Transition.Attempt ≠ 0: an executor reporting that
//     its attempt failed, timed out or crashed) while retries remain
//     (WorkOrder.Retries+1 < MaxAttempts) schedules a retry: the work
//     order goes back to queued, Retries+1, the assignee cleared,
//     LastReason = Transition.Reason, Result = the evidence (when given),
//     and NotBefore = now + Delay(...). The receipt is retry_scheduled
//     (from the in-flight state to queued), and its evidence digest is
//     RetryDigest, which seals the failure's evidence digest, the retry
//     number, the delay, NotBefore and the reason.
//   - The last attempt's fenced fail, a fail with NoRetry (the caller
//     knows a retry cannot help: bad input, a policy refusal), and an
//     unfenced fail (Attempt 0: an operator failing the work order, not
//     an attempt) fail the work order for good: state failed, receipt
//     failed, whose evidence digest is EvidenceDigest of the evidence.
//
// Requeue (ActionRequeue: the leader moves a dead or departed node's work
// elsewhere) consumes no retry: the attempt did not fail, its node did,
// and counting it would let a flapping node exhaust a healthy work
// order's retries. It records the reason (LastReason), clears NotBefore,
// and the next start or Assign increments the attempt, which fences the
// old holder out. The control loop bounds requeues if it must.
//
// NotBefore is advisory for Apply: a manual start or an Assign is not
// refused during a backoff (an operator may override it). The control
// loop (package cluster) must not pick a queued work order whose
// NotBefore is after its clock; View.Explain reports it as "backoff".

// EventRetryScheduled is the receipt event of a failure that is retried.
const EventRetryScheduled = "retry_scheduled"

// RetryPolicy says how often and how fast a failed attempt is retried.
// Durations are nanoseconds. Factor is fixed-point so that Apply never
// does floating-point arithmetic (whose results a compiler may fuse
// differently on different architectures).
type RetryPolicy struct {
	MaxAttempts  uint32        // attempts that may fail before the work order fails; 1 = never retry
	InitialDelay time.Duration // backoff before the first retry
	Factor       uint32        // backoff growth per retry, in hundredths: 200 = ×2, 150 = ×1.5 (100..1000)
	MaxDelay     time.Duration // backoff cap
}

// Retry policy defaults and limits.
const (
	DefaultMaxAttempts  = 3
	DefaultInitialDelay = time.Second
	DefaultFactor       = 200 // ×2
	DefaultMaxDelay     = time.Minute

	MaxRetryAttempts = 100
	MaxRetryDelay    = 7 * 24 * time.Hour
	MinRetryFactor   = 100 // ×1: constant backoff
	MaxRetryFactor   = 1000

	// JitterPercent is how much of a backoff the deterministic jitter may
	// take away: the delay is in (Backoff·(1-JitterPercent/100), Backoff].
	JitterPercent = 20
)

// DefaultRetryPolicy returns 3 attempts, 1s initial backoff, ×2 per retry,
// at most 1 minute.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: DefaultMaxAttempts, InitialDelay: DefaultInitialDelay, Factor: DefaultFactor, MaxDelay: DefaultMaxDelay}
}

// WithDefaults returns p with every zero field set from
// DefaultRetryPolicy. An unset MaxDelay is at least InitialDelay.
func (p RetryPolicy) WithDefaults() RetryPolicy {
	if p.MaxAttempts == 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.InitialDelay == 0 {
		p.InitialDelay = DefaultInitialDelay
	}
	if p.Factor == 0 {
		p.Factor = DefaultFactor
	}
	if p.MaxDelay == 0 {
		p.MaxDelay = max(DefaultMaxDelay, p.InitialDelay)
	}
	return p
}

// Validate reports the first problem of p (zero fields are unset and
// valid) as an *Error with code invalid_argument naming the field.
func (p RetryPolicy) Validate() error {
	if err := validateRetry(&p); err != nil {
		return err
	}
	return nil
}

func validateRetry(p *RetryPolicy) *Error {
	switch {
	case p.MaxAttempts > MaxRetryAttempts:
		return Errorf(ErrInvalidArgument, "retry.max_attempts: %d (max %d)", p.MaxAttempts, MaxRetryAttempts)
	case p.InitialDelay < 0 || p.InitialDelay > MaxRetryDelay:
		return Errorf(ErrInvalidArgument, "retry.initial_delay: %v outside 0..%v", p.InitialDelay, MaxRetryDelay)
	case p.Factor != 0 && (p.Factor < MinRetryFactor || p.Factor > MaxRetryFactor):
		return Errorf(ErrInvalidArgument, "retry.factor: %d outside %d..%d (hundredths: 200 = ×2)", p.Factor, MinRetryFactor, MaxRetryFactor)
	case p.MaxDelay < 0 || p.MaxDelay > MaxRetryDelay:
		return Errorf(ErrInvalidArgument, "retry.max_delay: %v outside 0..%v", p.MaxDelay, MaxRetryDelay)
	case p.MaxDelay != 0 && p.MaxDelay < p.WithDefaults().InitialDelay:
		return Errorf(ErrInvalidArgument, "retry.max_delay: %v is below the initial delay %v", p.MaxDelay, p.WithDefaults().InitialDelay)
	}
	return nil
}

// Backoff returns the backoff before retry number retry (1 for the first
// retry), without jitter: InitialDelay·(Factor/100)^(retry-1), capped at
// MaxDelay. Unset fields take their defaults. Integer arithmetic only.
func (p RetryPolicy) Backoff(retry uint32) time.Duration {
	p = p.WithDefaults()
	d := p.InitialDelay
	for i := uint32(1); i < retry && d < p.MaxDelay; i++ {
		d = d * time.Duration(p.Factor) / 100
	}
	return min(d, p.MaxDelay)
}

// Delay returns the backoff before retry number retry of work order id,
// whose attempt number attempt failed: Backoff(retry) less a jitter of up
// to JitterPercent of it. The jitter is deterministic (every node computes
// the same delay): the fraction (h mod 1024)/1024 of JitterPercent, where
// h is FNV-1a 64 over the ID's bytes and then the attempt as 8 big-endian
// bytes. Different work orders failing together thus spread out.
func (p RetryPolicy) Delay(id string, attempt uint64, retry uint32) time.Duration {
	b := p.Backoff(retry)
	return b - b/100*JitterPercent*time.Duration(jitterHash(id, attempt)%1024)/1024
}

func jitterHash(id string, attempt uint64) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h = (h ^ uint64(id[i])) * prime
	}
	for i := 7; i >= 0; i-- {
		h = (h ^ (attempt >> (8 * i) & 0xff)) * prime
	}
	return h
}

// retry schedules a retry of the in-flight wo after the fenced failure tr
// (see the package comment above).
func (t *tx) retry(wo *WorkOrder, pol RetryPolicy, tr *Transition) {
	m := t.mutOf(wo)
	from := m.State
	m.State = StateQueued
	m.Retries++
	delay := pol.Delay(m.ID, m.Attempt, m.Retries)
	m.NotBefore = t.now + int64(delay)
	m.Assignee = Assignee{}
	m.LastReason = tr.Reason
	if tr.Evidence != nil {
		m.Result = tr.Evidence
	}
	t.receipt(m, EventRetryScheduled, from, tr.Agent, nil).EvidenceDigest = RetryDigest(EvidenceDigest(tr.Evidence), m.Retries, delay, m.NotBefore, tr.Reason)
}

// fail applies a fail transition: a retry when tr is fenced, not NoRetry
// and retries remain, else the final failure.
func (t *tx) fail(wo *WorkOrder, tr *Transition) {
	if pol := wo.Retry.WithDefaults(); tr.Attempt != 0 && !tr.NoRetry && wo.Retries+1 < pol.MaxAttempts {
		t.retry(wo, pol, tr)
		return
	}
	m := t.mutOf(wo)
	from := m.State
	m.State = StateFailed
	m.CompletedAt = t.now
	m.LastReason = tr.Reason
	if tr.Evidence != nil {
		m.Result = tr.Evidence
	}
	t.receipt(m, EventFailed, from, tr.Agent, tr.Evidence)
	t.settle(m)
}

// RetryDomain prefixes the layout RetryDigest hashes.
const RetryDomain = "hive-retry-v1"

// RetryDigest is the evidence digest of a retry_scheduled receipt:
// SHA-256 over this layout (integers big-endian, the reason as a u32
// length and its bytes):
//
//	"hive-retry-v1"     13 bytes, no length prefix
//	evidence_digest     32 bytes: EvidenceDigest of the failed attempt's evidence
//	retry               u32  the retry number (WorkOrder.Retries after it)
//	delay               i64  nanoseconds of backoff
//	not_before          i64  WorkOrder.NotBefore
//	reason              string  Transition.Reason
func RetryDigest(evidence [32]byte, retry uint32, delay time.Duration, notBefore int64, reason string) [32]byte {
	b := make([]byte, 0, len(RetryDomain)+32+4+16+4+len(reason))
	b = append(b, RetryDomain...)
	b = append(b, evidence[:]...)
	b = binary.BigEndian.AppendUint32(b, retry)
	b = binary.BigEndian.AppendUint64(b, uint64(delay))
	b = binary.BigEndian.AppendUint64(b, uint64(notBefore))
	b = appendString32(b, reason)
	return sha256.Sum256(b)
}
