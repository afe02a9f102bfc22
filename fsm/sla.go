package fsm

import (
	"crypto/sha256"
	"encoding/binary"
)

// SLA events. The leader's control loop watches deadlines (it has the
// clock; Apply has none) and proposes SLAEvent:
//
//   - warning: receipt sla_warning; the work order records the deadline
//     warned for (SLAWarned) and the predicted finish. Priority unchanged.
//   - breach: the command time must be past the deadline (else
//     ErrInvalidTransition). Priority escalates one level (low → medium →
//     high → critical; critical stays), receipt sla_breach; the work order
//     records SLABreached and the predicted finish.
//
// Each is recorded once per work order and deadline: a repeat for a
// deadline already recorded succeeds and changes nothing (no receipt), so
// a new leader may propose again without double escalation. A terminal
// work order, or one without a deadline (best effort), is refused with
// ErrInvalidTransition. Pulling the Andon cord on a breach (security
// always, reliability past 24 h overdue, others past 48 h) is the
// control loop's decision: it proposes an AndonTrigger.

// SLAKind is the kind of an SLA event.
type SLAKind string

// The SLA event kinds.
const (
	SLAWarning SLAKind = "warning"
	SLABreach  SLAKind = "breach"
)

// SLA receipt events.
const (
	EventSLAWarning = "sla_warning"
	EventSLABreach  = "sla_breach"
)

// SLAEvent records an SLA warning or breach of work order ID.
// PredictedFinish is the control loop's estimate of the finish time (Unix
// ns; 0 when unknown).
type SLAEvent struct {
	Header
	ID              string
	Kind            SLAKind
	PredictedFinish int64
}

// Type implements Command.
func (*SLAEvent) Type() MessageType { return SLAEventType }

func applySLAEvent(t *tx, c Command) *Error {
	e := c.(*SLAEvent)
	wo, err := t.lookup(e.ID)
	if err != nil {
		return err
	}
	switch {
	case wo.State.Terminal():
		return Errorf(ErrInvalidTransition, "cannot record an SLA %s for %s: state is %s", e.Kind, wo.ID, wo.State)
	case wo.Deadline == 0:
		return Errorf(ErrInvalidTransition, "cannot record an SLA %s for %s: it has no deadline (best effort)", e.Kind, wo.ID)
	case e.Kind == SLABreach && t.now <= wo.Deadline:
		return Errorf(ErrInvalidTransition, "cannot record an SLA breach for %s: its deadline %d is not past (now %d)", wo.ID, wo.Deadline, t.now)
	}
	t.resWO = wo
	if e.Kind == SLAWarning && wo.SLAWarned == wo.Deadline || e.Kind == SLABreach && wo.SLABreached == wo.Deadline {
		return nil // already recorded for this deadline
	}
	m := t.mutOf(wo)
	before := m.Priority
	m.PredictedFinish = e.PredictedFinish
	event := EventSLAWarning
	if e.Kind == SLABreach {
		event = EventSLABreach
		m.SLABreached = m.Deadline
		if m.Priority < PriorityCritical {
			m.Priority++
		}
	} else {
		m.SLAWarned = m.Deadline
	}
	t.receipt(m, event, m.State, "", nil).EvidenceDigest = SLADigest(e.Kind, m.Deadline, e.PredictedFinish, before, m.Priority)
	t.resWO = m
	return nil
}

func validateSLAEvent(e *SLAEvent) *Error {
	switch {
	case !validID(e.ID):
		return Errorf(ErrInvalidArgument, "id: malformed work order ID %q", e.ID)
	case e.Kind != SLAWarning && e.Kind != SLABreach:
		return Errorf(ErrInvalidArgument, "kind: unknown SLA event kind %q (want warning or breach)", e.Kind)
	case e.PredictedFinish < 0:
		return Errorf(ErrInvalidArgument, "predicted_finish: negative")
	}
	return nil
}

// SLADomain prefixes the layout SLADigest hashes.
const SLADomain = "hive-sla-v1"

// SLADigest is the evidence digest of sla_warning and sla_breach
// receipts: SHA-256 over (integers big-endian)
//
//	"hive-sla-v1"       11 bytes, no length prefix
//	kind                string (u32 length + bytes): warning or breach
//	deadline            i64
//	predicted_finish    i64
//	priority_before     u8
//	priority_after      u8
func SLADigest(kind SLAKind, deadline, predicted int64, before, after Priority) [32]byte {
	b := make([]byte, 0, 64)
	b = append(b, SLADomain...)
	b = appendString32(b, string(kind))
	b = binary.BigEndian.AppendUint64(b, uint64(deadline))
	b = binary.BigEndian.AppendUint64(b, uint64(predicted))
	b = append(b, byte(before), byte(after))
	return sha256.Sum256(b)
}
