package cluster

import (
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/hive-swarm/hive/fsm"
)

// Circuit breaker defaults.
const (
	DefaultBreakerThreshold = 5
	DefaultBreakerCoolDown  = 30 * time.Second
)

// CircuitState is the state of one (node, agent type) circuit.
type CircuitState string

// The circuit states.
const (
	CircuitClosed   CircuitState = "closed"    // work is placed as usual
	CircuitOpen     CircuitState = "open"      // no work is placed until the cool-down ends
	CircuitHalfOpen CircuitState = "half_open" // one probe may be placed; its outcome closes or reopens
)

// BreakerConfig configures a Breaker; zero fields take the defaults.
type BreakerConfig struct {
	// Threshold is the number of consecutive failed attempts of one agent
	// type on one node that opens its circuit; default 5.
	Threshold int
	// CoolDown is how long a circuit stays open before one probe is
	// placed; default 30s.
	CoolDown time.Duration
}

// Circuit is the state of one (node, agent type) circuit, for explain and
// the API.
type Circuit struct {
	Node, AgentType string
	State           CircuitState
	Failures        int       // consecutive failures
	OpenedAt        time.Time // when it last opened; zero when closed
}

type circuitKey struct{ node, agent string }

type circuit struct {
	fails    int
	openedAt time.Time // zero: closed
	probeAt  time.Time // half-open: when the probe was placed; zero when none
}

// Breaker is the leader's circuit breaker per (node, agent type): after
// Threshold consecutive failed attempts of a type on a node, placement
// stops sending that type there; after CoolDown one probe is placed (half
// open), whose success closes the circuit and whose failure opens it for
// another CoolDown. A requeue (the node died) counts neither way.
//
// It is not replicated: it is fed from the receipt chain (Observe) as
// the leader applies it, starting at the chain's head when the Breaker is
// made, so a new leader starts with every circuit closed. Failures before
// the leader change are forgotten on purpose: the breaker protects the
// cluster from a node that fails now, and a node that keeps failing
// trips the new leader's breaker within Threshold attempts. A Breaker is
// safe for concurrent use.
type Breaker struct {
	cfg BreakerConfig

	mu       sync.Mutex
	next     uint64 // the next receipt sequence to observe; 0 before the first Observe
	circuits map[circuitKey]*circuit
}

// NewBreaker returns a Breaker with every circuit closed.
func NewBreaker(cfg BreakerConfig) *Breaker {
	if cfg.Threshold <= 0 {
		cfg.Threshold = DefaultBreakerThreshold
	}
	if cfg.CoolDown <= 0 {
		cfg.CoolDown = DefaultBreakerCoolDown
	}
	return &Breaker{cfg: cfg, circuits: make(map[circuitKey]*circuit)}
}

// Observe feeds the receipts appended since the last call (on the first
// call: none; the breaker starts at the chain's head) into the circuits:
// a completion is a success of the attempt's node and agent type, a
// retry_scheduled or failed receipt of an assigned attempt a failure.
// The node and type are those of the attempt's assigned receipt.
func (b *Breaker) Observe(v *fsm.View, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	head := v.ReceiptCount()
	if b.next == 0 {
		b.next = head + 1
		return
	}
	for b.next <= head {
		rs := v.Receipts(fsm.ReceiptQuery{FromSeq: b.next, Limit: fsm.MaxReceiptLimit})
		if len(rs) == 0 {
			break
		}
		for _, r := range rs {
			b.next = r.Seq + 1
			var ok bool
			switch r.Event {
			case fsm.EventCompleted:
				ok = true
			case fsm.EventRetryScheduled, fsm.EventFailed:
			default:
				continue
			}
			if r.Attempt == 0 {
				continue
			}
			node, agent, assigned := v.AttemptStart(r.WorkOrder, r.Attempt)
			if !assigned {
				continue
			}
			b.recordLocked(node, agent, ok, now)
		}
	}
}

// Record records the outcome of one attempt of agent on node.
func (b *Breaker) Record(node, agent string, ok bool, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.recordLocked(node, agent, ok, now)
}

func (b *Breaker) recordLocked(node, agent string, ok bool, now time.Time) {
	k := circuitKey{node, agent}
	c := b.circuits[k]
	if ok {
		delete(b.circuits, k) // closed, no failures
		return
	}
	if c == nil {
		c = &circuit{}
		b.circuits[k] = c
	}
	c.fails++
	if !c.openedAt.IsZero() && !c.probeAt.IsZero() || c.fails >= b.cfg.Threshold {
		// A failed probe, or the threshold reached: (re)open.
		c.openedAt, c.probeAt = now, time.Time{}
	}
}

// stateLocked is the state of c at now.
func (b *Breaker) stateLocked(c *circuit, now time.Time) CircuitState {
	switch {
	case c == nil || c.openedAt.IsZero():
		return CircuitClosed
	case now.Sub(c.openedAt) < b.cfg.CoolDown:
		return CircuitOpen
	}
	return CircuitHalfOpen
}

// State returns the circuit of agent on node at now.
func (b *Breaker) State(node, agent string, now time.Time) Circuit {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.circuits[circuitKey{node, agent}]
	out := Circuit{Node: node, AgentType: agent, State: b.stateLocked(c, now)}
	if c != nil {
		out.Failures, out.OpenedAt = c.fails, c.openedAt
	}
	return out
}

// Tripped lists the circuits that are not closed at now.
func (b *Breaker) Tripped(now time.Time) []Circuit {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Circuit
	for k, c := range b.circuits {
		if st := b.stateLocked(c, now); st != CircuitClosed {
			out = append(out, Circuit{Node: k.node, AgentType: k.agent, State: st, Failures: c.fails, OpenedAt: c.openedAt})
		}
	}
	return out
}

// Filter returns nodes with the slots of open circuits removed and those
// of half-open circuits limited to one new work order (when no probe is
// already out). nodes is not modified.
func (b *Breaker) Filter(nodes []NodeInfo, now time.Time) []NodeInfo {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.circuits) == 0 {
		return nodes
	}
	out := make([]NodeInfo, len(nodes))
	for i, n := range nodes {
		out[i] = n
		var slots map[string]Slot
		for t, s := range n.Slots {
			c := b.circuits[circuitKey{n.Name, t}]
			switch b.stateLocked(c, now) {
			case CircuitOpen:
				s.Capacity = 0
			case CircuitHalfOpen:
				if !c.probeAt.IsZero() && now.Sub(c.probeAt) < b.cfg.CoolDown {
					s.Capacity = 0 // the probe is out
				} else {
					s.Capacity = min(s.Capacity, max(s.Running, 0)+1)
				}
			default:
				continue
			}
			if slots == nil {
				slots = maps.Clone(n.Slots)
			}
			slots[t] = s
		}
		if slots != nil {
			out[i].Slots = slots
		}
	}
	return out
}

// Placed tells the breaker which assignments a plan made, so that a
// half-open circuit sends one probe at a time.
func (b *Breaker) Placed(as []Assignment, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, a := range as {
		c := b.circuits[circuitKey{a.Node, a.AgentType}]
		if b.stateLocked(c, now) == CircuitHalfOpen {
			c.probeAt = now
		}
	}
}

// String describes c for people.
func (c Circuit) String() string {
	switch c.State {
	case CircuitOpen:
		return fmt.Sprintf("circuit of agent type %s on node %s is open after %d consecutive failures (since %s)",
			c.AgentType, c.Node, c.Failures, c.OpenedAt.UTC().Format(time.RFC3339))
	case CircuitHalfOpen:
		return fmt.Sprintf("circuit of agent type %s on node %s is half-open after %d consecutive failures: one probe at a time",
			c.AgentType, c.Node, c.Failures)
	}
	return fmt.Sprintf("circuit of agent type %s on node %s is closed", c.AgentType, c.Node)
}
