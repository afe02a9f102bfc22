package events

import (
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hive-swarm/hive/fsm"
)

// Topic groups event types; subscribers filter by topic.
type Topic string

// The topics.
const (
	TopicWorkOrder Topic = "workorder" // derived from receipts: every receipt of a work order
	TopicReceipt   Topic = "receipt"   // derived from receipts: every receipt, one event each
	TopicMember    Topic = "member"    // node-local: gossip membership
	TopicLeader    Topic = "leader"    // node-local: raft leadership
	TopicAndon     Topic = "andon"     // derived from receipts: an andon triggered, updated or resolved
	TopicSLA       Topic = "sla"       // derived from receipts: an SLA warning or breach
	// TopicStream carries the stream's own control events (gap, cutoff);
	// every subscriber receives them, whatever its filter.
	TopicStream Topic = "stream"
)

// Topics lists every topic a filter may name.
var Topics = []Topic{TopicWorkOrder, TopicReceipt, TopicMember, TopicLeader, TopicAndon, TopicSLA}

// Event types. Work-order event types are "workorder." followed by the
// receipt's event name (fsm.EventCreated, …); the constants below name
// the ones clients usually test.
const (
	TypeWorkOrderCreated   = "workorder.created"
	TypeWorkOrderAssigned  = "workorder.assigned"
	TypeWorkOrderStarted   = "workorder.started"
	TypeWorkOrderProgress  = "workorder.progressed"
	TypeWorkOrderCompleted = "workorder.completed"
	TypeWorkOrderFailed    = "workorder.failed"
	TypeWorkOrderCancelled = "workorder.cancelled"
	TypeWorkOrderUnblocked = "workorder.unblocked"
	TypeReceiptAppended    = "receipt.appended"
	TypeMemberJoined       = "member.joined"
	TypeMemberFailed       = "member.failed"
	TypeMemberLeft         = "member.left"
	TypeLeaderChanged      = "leader.changed"
	TypeAndonTriggered     = "andon.triggered"
	TypeAndonUpdated       = "andon.updated"
	TypeAndonResolved      = "andon.resolved"
	TypeSLAWarning         = "sla.warning"
	TypeSLABreached        = "sla.breached"
	TypeGap                = "gap"
	TypeCutoff             = "cutoff"
)

// Codes of cutoff events.
const (
	CutoffSlowConsumer = "slow_consumer" // fell more than its buffer behind
	CutoffShutdown     = "shutdown"      // the broker (node) is stopping
)

// Event is one entry of a stream. Fields that do not apply to its type
// are zero and omitted from JSON.
type Event struct {
	// ID is the cursor to resume after this event; empty in the middle
	// of a raft index (see the package doc).
	ID string `json:"id,omitempty"`
	// Index is the raft index of a receipt-derived event; for a
	// node-local event, the index applied when it happened; for a gap,
	// the first index from which the stream is complete.
	Index uint64 `json:"index"`
	// Topic is the event's own topic, the prefix of its Type; a
	// receipt-derived event belongs to more (see InTopic).
	Topic Topic     `json:"topic"`
	Type  string    `json:"type"`
	Time  time.Time `json:"time,omitzero"`

	// Receipt-derived events.
	WorkOrder string `json:"workorder,omitempty"`
	Event     string `json:"event,omitempty"` // the receipt's event name
	From      string `json:"from,omitempty"`
	To        string `json:"to,omitempty"`
	Attempt   uint64 `json:"attempt,omitempty"`
	Node      string `json:"node,omitempty"`
	Agent     string `json:"agent,omitempty"`
	Receipt   uint64 `json:"receipt,omitempty"` // receipt sequence number
	Hash      string `json:"hash,omitempty"`    // receipt hash, hex

	// Node-local events.
	LocalSeq uint64 `json:"local_seq,omitempty"`
	Member   string `json:"member,omitempty"`
	Status   string `json:"status,omitempty"`
	Addr     string `json:"addr,omitempty"`
	Leader   string `json:"leader,omitempty"`
	Observer string `json:"observer,omitempty"` // node that saw a node-local event

	// Stream control events.
	Code   string  `json:"code,omitempty"`
	Reason string  `json:"reason,omitempty"`
	Resume string  `json:"resume,omitempty"` // cutoff: the cursor to resume after
	Topics []Topic `json:"topics,omitempty"` // gap: the topics it concerns

	enc *encoding // shared JSON of the payload; nil: encode on each use
}

// local reports whether e is a node-local event.
func (e *Event) local() bool { return e.Topic == TopicMember || e.Topic == TopicLeader }

// ReceiptType returns the topic and type of the event a receipt
// produces: andon and SLA receipts have topics of their own, so that a
// subscriber can follow just those; other receipts of a work order are
// work-order events; the rest are receipt.appended.
func ReceiptType(r *fsm.Receipt) (Topic, string) {
	switch r.Event {
	case fsm.EventAndonTriggered:
		return TopicAndon, TypeAndonTriggered
	case fsm.EventAndonUpdated:
		return TopicAndon, TypeAndonUpdated
	case fsm.EventAndonResolved:
		return TopicAndon, TypeAndonResolved
	case fsm.EventSLAWarning:
		return TopicSLA, TypeSLAWarning
	case fsm.EventSLABreach:
		return TopicSLA, TypeSLABreached
	}
	if r.WorkOrder != "" {
		return TopicWorkOrder, "workorder." + r.Event
	}
	return TopicReceipt, TypeReceiptAppended
}

// fromReceipt returns the one event a receipt produces (see the package
// doc): every topic it belongs to follows from its fields, so a
// subscriber of several topics receives it once.
func fromReceipt(r *fsm.Receipt) Event {
	topic, typ := ReceiptType(r)
	return Event{
		Index:     r.Index,
		Topic:     topic,
		Type:      typ,
		Time:      time.Unix(0, r.Time).UTC(),
		WorkOrder: r.WorkOrder,
		Event:     r.Event,
		From:      string(r.From),
		To:        string(r.To),
		Attempt:   r.Attempt,
		Node:      r.Node,
		Agent:     r.Agent,
		Receipt:   r.Seq,
		Hash:      hex.EncodeToString(r.Hash[:]),
		enc:       new(encoding),
	}
}

// InTopic reports whether e belongs to topic t: its own topic (Topic);
// TopicReceipt for every event derived from a receipt; TopicWorkOrder for
// every receipt-derived event of a work order, andon and SLA events
// included.
func (e *Event) InTopic(t Topic) bool {
	switch {
	case t == e.Topic:
		return true
	case e.Receipt == 0: // node-local and stream control events carry none
		return false
	case t == TopicReceipt:
		return true
	case t == TopicWorkOrder:
		return e.WorkOrder != ""
	}
	return false
}

// ErrBadCursor is returned (wrapped) for a cursor that does not parse.
var ErrBadCursor = errors.New("events: bad cursor")

// Cursor is a resume point: every event up to and including Index has
// been delivered, and, when HasLocal, node-local events up to Local.
type Cursor struct {
	Index    uint64
	Local    uint64
	HasLocal bool
}

// String formats c as an event ID: "N" or "N.L".
func (c Cursor) String() string {
	if c.HasLocal {
		return strconv.FormatUint(c.Index, 10) + "." + strconv.FormatUint(c.Local, 10)
	}
	return strconv.FormatUint(c.Index, 10)
}

// ParseCursor parses an event ID ("N" or "N.L").
func ParseCursor(s string) (Cursor, error) {
	idx, loc, has := strings.Cut(strings.TrimSpace(s), ".")
	n, err := strconv.ParseUint(idx, 10, 64)
	if err != nil {
		return Cursor{}, fmt.Errorf("%w %q: want N or N.L with N a raft index", ErrBadCursor, s)
	}
	c := Cursor{Index: n}
	if has {
		if c.Local, err = strconv.ParseUint(loc, 10, 64); err != nil {
			return Cursor{}, fmt.Errorf("%w %q: local sequence: want a number", ErrBadCursor, s)
		}
		c.HasLocal = true
	}
	return c, nil
}

// Filter selects the events a subscriber receives. Stream control events
// (gap, cutoff) are always delivered.
type Filter struct {
	// Topics admits only these topics; empty admits every topic.
	Topics []Topic
	// WorkOrder admits only events of this work order (which excludes
	// node-local events).
	WorkOrder string
}

// ErrUnknownTopic is returned (wrapped) for a filter naming no topic.
var ErrUnknownTopic = errors.New("events: unknown topic")

// Validate checks the topic names.
func (f *Filter) Validate() error {
	for _, t := range f.Topics {
		if !slices.Contains(Topics, t) {
			known := make([]string, len(Topics))
			for i, k := range Topics {
				known[i] = string(k)
			}
			return fmt.Errorf("%w %q (known: %s)", ErrUnknownTopic, t, strings.Join(known, ", "))
		}
	}
	return nil
}

func (f *Filter) hasTopic(t Topic) bool {
	return len(f.Topics) == 0 || slices.Contains(f.Topics, t)
}

// match reports whether f admits e.
func (f *Filter) match(e *Event) bool {
	if e.Topic == TopicStream {
		return true
	}
	if f.WorkOrder != "" && e.WorkOrder != f.WorkOrder {
		return false
	}
	return len(f.Topics) == 0 || slices.ContainsFunc(f.Topics, e.InTopic)
}

// wantsLocal reports whether f admits any node-local event.
func (f *Filter) wantsLocal() bool {
	return f.WorkOrder == "" && (f.hasTopic(TopicMember) || f.hasTopic(TopicLeader))
}
