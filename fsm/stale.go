package fsm

import (
	"crypto/sha256"
)

// Stale reports. A report (progress, advance, complete, fail, requeue,
// cancel) that names an attempt older than the work order's current one
// is refused with ErrStaleAttempt and changes nothing; it must never be
// counted. To keep it on record, the leader then proposes RecordStale,
// which appends a stale_rejected receipt and changes no work order field.
//
// Why a separate command rather than a refusal that appends the receipt:
// Apply's contract is that a command whose Result.Err is set changes
// nothing (every refusal is atomic, retried requests replay the same
// outcome, and tests compare whole snapshots around refusals). A refusal
// that wrote a receipt would break that for one error code, and would let
// a partitioned node grow the chain with every report it repeats; the
// leader instead decides what to record (typically once per stale attempt
// and action, with a request ID derived from the report's, e.g.
// "stale/<report request ID>", so that a retry records nothing twice).

// EventStaleRejected is the receipt event of RecordStale.
const EventStaleRejected = "stale_rejected"

// RecordStale records that a report from attempt Attempt of work order ID
// was refused as stale. Node and Agent are the reporter's; EvidenceDigest
// is EvidenceDigest of the report's evidence (zero when none).
type RecordStale struct {
	Header
	ID             string
	Attempt        uint64
	Node           string
	Agent          string
	Action         Action
	EvidenceDigest [32]byte
}

// Type implements Command.
func (*RecordStale) Type() MessageType { return RecordStaleType }

// applyRecordStale appends the stale_rejected receipt: work order ID, its
// current state as both from and to, the stale attempt, the reporting
// node and agent, and StaleDigest(Action, EvidenceDigest). Attempt must be
// older than the current attempt (ErrInvalidArgument otherwise: that
// report was not stale).
func applyRecordStale(t *tx, c Command) *Error {
	rs := c.(*RecordStale)
	wo, err := t.lookup(rs.ID)
	if err != nil {
		return err
	}
	if rs.Attempt >= wo.Attempt {
		return Errorf(ErrInvalidArgument, "attempt: %d of %s is not stale (current attempt %d)", rs.Attempt, wo.ID, wo.Attempt)
	}
	r := t.receipt(wo, EventStaleRejected, wo.State, rs.Agent, nil)
	r.Attempt = rs.Attempt
	if rs.Node != "" {
		r.Node = rs.Node
	}
	r.EvidenceDigest = StaleDigest(rs.Action, rs.EvidenceDigest)
	t.resWO = wo
	return nil
}

func validateRecordStale(rs *RecordStale) *Error {
	switch {
	case !validID(rs.ID):
		return Errorf(ErrInvalidArgument, "id: malformed work order ID %q", rs.ID)
	case rs.Attempt == 0:
		return Errorf(ErrInvalidArgument, "attempt: 0 (only a fenced report can be stale)")
	case !transitions[rs.Action].fenced:
		return Errorf(ErrInvalidArgument, "action: %q is not a fenced report", rs.Action)
	case len(rs.Node) > MaxNameLen:
		return Errorf(ErrInvalidArgument, "node: longer than %d bytes", MaxNameLen)
	case len(rs.Agent) > MaxNameLen:
		return Errorf(ErrInvalidArgument, "agent: longer than %d bytes", MaxNameLen)
	}
	return nil
}

// StaleDomain prefixes the layout StaleDigest hashes.
const StaleDomain = "hive-stale-v1"

// StaleDigest is the evidence digest of a stale_rejected receipt: SHA-256
// over "hive-stale-v1" (no length prefix), the action as a string (u32
// big-endian length + bytes), and the report's 32-byte evidence digest.
func StaleDigest(action Action, evidence [32]byte) [32]byte {
	b := make([]byte, 0, 64)
	b = append(b, StaleDomain...)
	b = appendString32(b, string(action))
	b = append(b, evidence[:]...)
	return sha256.Sum256(b)
}
