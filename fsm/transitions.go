package fsm

import (
	"strconv"
	"strings"
)

// ActionRequeue returns a started work order to the queue (a dead node's
// work, or a retry). The next start increments the attempt, which fences
// the old holder out.
const ActionRequeue Action = "requeue"

// The transition table. Every action is legal only from the listed states;
// anything else is refused with ErrInvalidTransition (start has the more
// precise ErrBlockedByDependencies and ErrAlreadyStarted) and changes
// nothing.
//
//	action    from                          to                 receipt
//	start     queued                        in_progress        started (attempt+1, assignee = header node + agent)
//	(Assign)  queued                        in_progress        assigned (attempt+1, assignee = Assign.Node + agent)
//	advance   in_progress                   review             advanced
//	          review                        testing            advanced
//	          testing                       completed          completed
//	progress  in_progress, review, testing  (unchanged)        progressed (stage, progress note)
//	complete  in_progress, review, testing  completed          completed (evidence → Result)
//	fail      in_progress, review, testing  failed             failed (evidence → Result)
//	          (fenced, retries left)        queued             retry_scheduled (NotBefore set; see retry.go)
//	requeue   in_progress, review, testing  queued             requeued (assignee cleared, no retry consumed)
//	cancel    any non-terminal              cancelled          cancelled
//
// Start and Assign also respect open andons (ErrLineStopped, checked
// after the state; see andon.go) and the WIP limits of the
// SchedulerConfig (ErrWIPLimit, checked last; see wip.go).
//
// Attempt fencing: a non-zero Transition.Attempt must equal the work
// order's attempt, else ErrStaleAttempt (checked before the state, so a
// stale holder learns it is stale). Start takes no attempt.
//
// Completing (by complete or advance) needs every child terminal, else
// ErrChildrenUnfinished; it unblocks dependents whose dependencies are now
// all completed. Failing or cancelling leaves not-yet-started dependents
// blocked with BlockedReason "dependency_failed:WO-n" or
// "dependency_cancelled:WO-n" and a receipt each; nothing is destroyed: an
// operator removes the edge (which unblocks when nothing else is
// unfinished) or cancels the dependent. Cancel with Cascade also cancels
// every unfinished transitive dependent, and cancelling a work order always
// cancels its unfinished children (recursively); each gets a receipt.
// Failing a parent leaves its children alone.
var transitions = map[Action]transitionRule{
	ActionStart:    {from: mask(StateQueued)},
	ActionAdvance:  {from: mask(StateInProgress, StateReview, StateTesting), fenced: true},
	ActionProgress: {from: mask(StateInProgress, StateReview, StateTesting), fenced: true},
	ActionComplete: {from: mask(StateInProgress, StateReview, StateTesting), fenced: true},
	ActionFail:     {from: mask(StateInProgress, StateReview, StateTesting), fenced: true},
	ActionRequeue:  {from: mask(StateInProgress, StateReview, StateTesting), fenced: true},
	ActionCancel:   {from: mask(StateBlocked, StateQueued, StateInProgress, StateReview, StateTesting), fenced: true},
}

type transitionRule struct {
	from   uint16 // bit per stateIndex
	fenced bool   // a non-zero Attempt must match
}

func mask(ss ...State) uint16 {
	var m uint16
	for _, s := range ss {
		i, _ := stateIndex(s)
		m |= 1 << i
	}
	return m
}

func (r transitionRule) allows(s State) bool {
	i, ok := stateIndex(s)
	return ok && r.from&(1<<i) != 0
}

func (r transitionRule) allowed() string {
	var names []string
	for i, s := range states {
		if r.from&(1<<i) != 0 {
			names = append(names, string(s))
		}
	}
	return strings.Join(names, ", ")
}

func applyTransition(t *tx, c Command) *Error {
	tr := c.(*Transition)
	wo, err := t.lookup(tr.ID)
	if err != nil {
		return err
	}
	rule := transitions[tr.Action]
	if rule.fenced && tr.Attempt != 0 && tr.Attempt != wo.Attempt {
		return Errorf(ErrStaleAttempt, "attempt %d of %s is stale (current attempt %d)", tr.Attempt, wo.ID, wo.Attempt)
	}
	if !rule.allows(wo.State) {
		return refuse(wo, tr.Action, rule)
	}
	from := wo.State
	switch tr.Action {
	case ActionStart:
		if err := t.checkLine(wo, "start"); err != nil {
			return err
		}
		if err := t.checkWIP(wo, "start"); err != nil {
			return err
		}
		t.start(wo, tr.Node, tr.Agent, EventStarted)
	case ActionAdvance:
		switch from {
		case StateInProgress, StateReview:
			m := t.mutOf(wo)
			m.State = StateReview
			if from == StateReview {
				m.State = StateTesting
			}
			t.receipt(m, EventAdvanced, from, tr.Agent, tr.Evidence)
		default:
			if err := t.complete(wo, tr); err != nil {
				return err
			}
		}
	case ActionProgress:
		m := t.mutOf(wo)
		if tr.Stage != "" {
			m.Stage = tr.Stage
		}
		m.Progress = tr.Progress
		t.receipt(m, EventProgressed, from, tr.Agent, tr.Evidence)
	case ActionComplete:
		if err := t.complete(wo, tr); err != nil {
			return err
		}
	case ActionFail:
		t.fail(wo, tr)
	case ActionRequeue:
		m := t.mutOf(wo)
		m.State = StateQueued
		m.Assignee = Assignee{}
		m.LastReason = tr.Reason
		m.NotBefore = 0
		t.receipt(m, EventRequeued, from, tr.Agent, tr.Evidence)
	case ActionCancel:
		t.cancel(wo, tr)
	}
	t.resWO = t.get(wo.Seq)
	return nil
}

func refuse(wo *WorkOrder, a Action, rule transitionRule) *Error {
	if a == ActionStart {
		if err := refuseStart(wo, "start"); err != nil {
			return err
		}
	}
	return Errorf(ErrInvalidTransition, "cannot %s %s: state is %s (allowed from %s)", a, wo.ID, wo.State, rule.allowed())
}

// refuseStart returns the precise refusal to start (verb: start or assign)
// a blocked or already started work order, nil for other states.
func refuseStart(wo *WorkOrder, verb string) *Error {
	switch wo.State {
	case StateBlocked:
		return Errorf(ErrBlockedByDependencies, "cannot %s %s: blocked (%s)", verb, wo.ID, wo.BlockedReason)
	case StateInProgress, StateReview, StateTesting:
		return Errorf(ErrAlreadyStarted, "cannot %s %s: already started (state %s, attempt %d)", verb, wo.ID, wo.State, wo.Attempt)
	}
	return nil
}

// start moves the queued wo to in_progress with the next attempt, held by
// agent on node, and appends the receipt event (started or assigned)
// naming that node and agent. The caller has checked the state and WIP.
func (t *tx) start(wo *WorkOrder, node, agent, event string) *WorkOrder {
	m := t.mutOf(wo)
	m.State = StateInProgress
	m.Attempt++
	m.Assignee = Assignee{Node: node, Agent: agent}
	m.StartedAt = t.now
	m.NotBefore = 0
	t.receipt(m, event, StateQueued, agent, nil).Node = node
	return m
}

// complete checks the children, then completes wo and unblocks dependents.
func (t *tx) complete(wo *WorkOrder, tr *Transition) *Error {
	var open []string
	for _, id := range wo.Children {
		seq, _ := ParseID(id)
		if ch := t.get(seq); ch != nil && !ch.State.Terminal() {
			open = append(open, id)
		}
	}
	if len(open) > 0 {
		return Errorf(ErrChildrenUnfinished, "cannot complete %s: %d unfinished children (%s)", wo.ID, len(open), strings.Join(head(open, 10), ", "))
	}
	m := t.mutOf(wo)
	from := m.State
	m.State = StateCompleted
	m.CompletedAt = t.now
	if tr.Evidence != nil {
		m.Result = tr.Evidence
	}
	t.receipt(m, EventCompleted, from, tr.Agent, tr.Evidence)
	t.settle(m)
	return nil
}

// cancel cancels root, its unfinished children (recursively) and, with
// Cascade, every unfinished transitive dependent, breadth first in ID
// order; then settles the dependents left blocked.
func (t *tx) cancel(root *WorkOrder, tr *Transition) {
	work := []uint64{root.Seq}
	var done []*WorkOrder
	for len(work) > 0 {
		seq := work[0]
		work = work[1:]
		w := t.get(seq)
		if w == nil || w.State.Terminal() {
			continue
		}
		m := t.mutOf(w)
		from := m.State
		m.State = StateCancelled
		m.BlockedReason = ""
		m.Andon = "" // no longer quarantined; the andon stays open until resolved
		m.CompletedAt = t.now
		agent, ev := "", (*Evidence)(nil)
		if seq == root.Seq {
			agent, ev = tr.Agent, tr.Evidence
		}
		t.receipt(m, EventCancelled, from, agent, ev)
		done = append(done, m)
		work = appendSeqs(work, m.Children)
		if tr.Cascade {
			work = appendSeqs(work, m.Dependents)
		}
	}
	for _, m := range done {
		t.settle(m)
	}
}

func appendSeqs(dst []uint64, ids []string) []uint64 {
	for _, id := range ids {
		seq, _ := ParseID(id)
		dst = append(dst, seq)
	}
	return dst
}

func head(ids []string, n int) []string {
	if len(ids) <= n {
		return ids
	}
	return append(ids[:n:n], "… "+strconv.Itoa(len(ids)-n)+" more")
}
