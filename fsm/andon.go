package fsm

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// The Andon cord. AndonTrigger, in one Apply:
//
//   - records an andon AN-<n> (open): the work order, the scope and line it
//     stops, class, reason, the 5 whys, the proposer and times;
//   - quarantines the work order unless it is terminal: it becomes
//     blocked with Andon = "AN-n" and BlockedReason "andon:AN-n" whatever
//     its dependencies, until the andon is resolved. A quarantined
//     in-flight work order is stopped: its assignee is cleared and its
//     attempt number is incremented, so every later report of the attempt
//     that was running is refused with ErrStaleAttempt (the next start
//     increments it again). A terminal work order (typically one that
//     failed its last attempt) has nothing to stop: the andon records,
//     stops the line and creates the fix, and Andon.Quarantined is false;
//   - stops the line: the work order's bucket (scope bucket, the default)
//     or its pipeline template (scope pipeline; the work order must belong
//     to a pipeline run). While an andon is open, Transition start and
//     Assign of a work order on its line are refused with ErrLineStopped
//     naming the andon, except for fix work (a fix work order, or a
//     descendant of one), which is what the stopped line waits for. Work
//     already in flight on the line goes on;
//   - creates the fix work order: title "Fix AN-n: <title>", the same
//     bucket, priority at least high, label "andon", signal "andon",
//     Kind = AndonTrigger.FixKind, FixFor = "AN-n"; the quarantined work
//     order depends on it;
//   - receipts: andon_triggered on the work order (from its old state; the
//     evidence digest is AndonDigest of the new record), created on the
//     fix work order, dependency_added on the work order.
//
// AndonUpdate edits the whys and the root cause (open or resolved; receipt
// andon_updated). AndonResolve resolves an open andon with a resolution:
// its line resumes unless another open andon stops it, and its quarantined
// work order leaves quarantine (receipt andon_resolved), then is queued
// when its dependencies allow (receipt unblocked; the fix work order is
// one of them) or stays blocked by them. Cancelling a quarantined work
// order ends its quarantine; the andon stays open until resolved.
//
// A work order has at most one open andon quarantining it: a second
// trigger is refused with ErrInvalidTransition.

// AndonScope is what an andon stops.
type AndonScope string

// The andon scopes.
const (
	ScopeBucket   AndonScope = "bucket"   // the work order's bucket
	ScopePipeline AndonScope = "pipeline" // the work order's pipeline template (WorkOrder.Pipeline)
)

// AndonState is an andon's lifecycle state.
type AndonState string

// The andon states.
const (
	AndonOpen     AndonState = "open"
	AndonResolved AndonState = "resolved"
)

// Andon receipt events.
const (
	EventAndonTriggered = "andon_triggered"
	EventAndonUpdated   = "andon_updated"
	EventAndonResolved  = "andon_resolved"
)

// Andon limits and names.
const (
	MaxWhys        = 10 // entries of Whys (the method asks for five)
	AndonLabel     = "andon"
	AndonSignal    = "andon"
	fixTitlePrefix = "Fix "
)

// Andon is one pull of the cord: a root-cause record that stops a line
// until it is resolved. Times are Unix nanoseconds from the commands.
type Andon struct {
	ID           string // "AN-<Seq>"
	Seq          uint64
	WorkOrder    string // the work order it was pulled on
	Scope        AndonScope
	Line         string // the bucket or pipeline template name the scope names
	Class        string // failure class (agent_failure, sla_breach, cve, manual, ...)
	Reason       string
	Whys         []string
	RootCause    string
	Resolution   string
	FixWorkOrder string // the fix work order created with it
	Quarantined  bool   // whether the trigger quarantined the work order (false: it was terminal)
	State        AndonState
	Node         string // proposer of the trigger
	TriggeredAt  int64
	UpdatedAt    int64
	ResolvedAt   int64
	CreateIndex  uint64
	ModifyIndex  uint64
}

// LineName returns the stopped line as "<scope>:<line>", e.g.
// "bucket:security" or "pipeline:default".
func (a *Andon) LineName() string { return string(a.Scope) + ":" + a.Line }

// AndonTrigger pulls the cord on WorkOrder (see above).
type AndonTrigger struct {
	Header
	WorkOrder string
	Scope     AndonScope // "" means ScopeBucket
	Class     string
	Reason    string
	Whys      []string
	FixKind   string // agent type of the fix work order; "" leaves it to the delegation rules
}

// AndonUpdate edits an andon: a non-empty Whys replaces the whys, a
// non-empty RootCause the root cause; at least one must be given.
type AndonUpdate struct {
	Header
	ID        string
	Whys      []string
	RootCause string
}

// AndonResolve resolves the open andon ID.
type AndonResolve struct {
	Header
	ID         string
	Resolution string
}

// Type implements Command.
func (*AndonTrigger) Type() MessageType { return AndonTriggerType }

// Type implements Command.
func (*AndonUpdate) Type() MessageType { return AndonUpdateType }

// Type implements Command.
func (*AndonResolve) Type() MessageType { return AndonResolveType }

// FormatAndonID returns the andon ID for sequence number seq.
func FormatAndonID(seq uint64) string { return "AN-" + strconv.FormatUint(seq, 10) }

// ParseAndonID returns the sequence number of an andon ID "AN-<n>" (n ≥ 1,
// decimal, no leading zeros).
func ParseAndonID(id string) (uint64, bool) {
	if len(id) < 4 || len(id) > 23 || id[:3] != "AN-" || id[3] == '0' {
		return 0, false
	}
	n, err := strconv.ParseUint(id[3:], 10, 64)
	return n, err == nil
}

// getAndon returns the andon as this command sees it, or nil.
func (t *tx) getAndon(seq uint64) *Andon {
	if t.andon != nil && t.andon.Seq == seq {
		return t.andon
	}
	return t.s.andons.get(seq)
}

func (t *tx) lookupAndon(id string) (*Andon, *Error) {
	if seq, ok := ParseAndonID(id); ok {
		if a := t.getAndon(seq); a != nil {
			return a, nil
		}
	}
	return nil, Errorf(ErrNotFound, "andon %s not found", id)
}

// mutAndon returns a writable copy of a, stamped with this command.
func (t *tx) mutAndon(a *Andon) *Andon {
	if t.andon == a {
		return a
	}
	cp := *a
	cp.UpdatedAt, cp.ModifyIndex = t.now, t.index
	t.andon = &cp
	return &cp
}

// andonReceipt appends event for wo (which reflects it, from state from)
// with AndonDigest(a) as the evidence digest.
func (t *tx) andonReceipt(wo *WorkOrder, event string, from State, a *Andon) {
	t.receipt(wo, event, from, "", nil).EvidenceDigest = AndonDigest(a)
}

// lineOf returns the line an andon of scope sc on wo stops.
func lineOf(wo *WorkOrder, sc AndonScope) string {
	if sc == ScopePipeline {
		return wo.Pipeline
	}
	return wo.Bucket
}

func applyAndonTrigger(t *tx, c Command) *Error {
	at := c.(*AndonTrigger)
	wo, err := t.lookup(at.WorkOrder)
	if err != nil {
		return err
	}
	scope := at.Scope
	if scope == "" {
		scope = ScopeBucket
	}
	if scope == ScopePipeline && wo.Pipeline == "" {
		return Errorf(ErrInvalidArgument, "scope: %s belongs to no pipeline run, so its pipeline cannot be stopped (use scope bucket)", wo.ID)
	}
	if wo.Andon != "" {
		return Errorf(ErrInvalidTransition, "cannot pull the andon cord on %s: already quarantined by %s", wo.ID, wo.Andon)
	}
	seq := t.s.andons.Len() + 1
	a := &Andon{
		ID: FormatAndonID(uint64(seq)), Seq: uint64(seq), WorkOrder: wo.ID, Scope: scope, Line: lineOf(wo, scope),
		Class: at.Class, Reason: at.Reason, Whys: at.Whys, State: AndonOpen, Node: t.hdr.Node,
		TriggeredAt: t.now, UpdatedAt: t.now, CreateIndex: t.index, ModifyIndex: t.index,
		Quarantined: !wo.State.Terminal(),
	}
	fix := t.createFix(wo, a, at.FixKind)
	a.FixWorkOrder = fix.ID
	t.andon = a
	t.open = append(append(make([]uint64, 0, len(t.s.andonOpen)+1), t.s.andonOpen...), a.Seq)
	t.openSet = true

	m, from := wo, wo.State // a terminal work order is left as it is
	if a.Quarantined {
		m = t.mutOf(wo)
		if i, _ := stateIndex(from); inFlight(i) {
			m.Attempt++ // fences the running attempt off
			m.Assignee = Assignee{}
		}
		m.Andon = a.ID
		m.NotBefore = 0
		m.DependsOn = withID(m.DependsOn, fix.ID)
		fix.Dependents = []string{m.ID}
		m.State, m.BlockedReason = StateBlocked, ReasonAndon+a.ID
	}
	t.andonReceipt(m, EventAndonTriggered, from, a)
	t.create(fix)
	t.receipt(fix, EventCreated, "", "", nil)
	if a.Quarantined {
		t.receipt(m, EventDependencyAdded, m.State, "", nil)
	}
	t.resWO = m
	t.resIDs = []string{fix.ID}
	return nil
}

// createFix builds (without storing) the fix work order of andon a on wo.
func (t *tx) createFix(wo *WorkOrder, a *Andon, kind string) *WorkOrder {
	seq := t.woSeq + 1
	t.woSeq = seq
	title := fixTitlePrefix + a.ID + ": " + wo.Title
	if utf8.RuneCountInString(title) > MaxTitleLen {
		title = string([]rune(title)[:MaxTitleLen-1]) + "…"
	}
	var desc strings.Builder
	desc.WriteString("Root-cause fix for andon " + a.ID + " (class " + a.Class + ") pulled on " + wo.ID + ".")
	if a.Reason != "" {
		desc.WriteString("\nReason: " + a.Reason)
	}
	for i, w := range a.Whys {
		desc.WriteString("\nWhy " + strconv.Itoa(i+1) + ": " + w)
	}
	fix := &WorkOrder{
		ID: FormatID(seq), Seq: seq, Title: title, Description: desc.String(), Kind: kind,
		Bucket: wo.Bucket, Priority: max(PriorityHigh, wo.Priority), Labels: []string{AndonLabel},
		Signal: AndonSignal, State: StateQueued, FixFor: a.ID,
		CreatedAt: t.now, UpdatedAt: t.now, CreateIndex: t.index, ModifyIndex: t.index,
		Retry: DefaultRetryPolicy(),
	}
	fix.Deadline = t.slaDeadline(fix.Bucket)
	return fix
}

func applyAndonUpdate(t *tx, c Command) *Error {
	u := c.(*AndonUpdate)
	old, err := t.lookupAndon(u.ID)
	if err != nil {
		return err
	}
	wo, err := t.lookup(old.WorkOrder)
	if err != nil {
		return err
	}
	a := t.mutAndon(old)
	if len(u.Whys) > 0 {
		a.Whys = u.Whys
	}
	if u.RootCause != "" {
		a.RootCause = u.RootCause
	}
	t.andonReceipt(wo, EventAndonUpdated, wo.State, a)
	return nil
}

func applyAndonResolve(t *tx, c Command) *Error {
	r := c.(*AndonResolve)
	old, err := t.lookupAndon(r.ID)
	if err != nil {
		return err
	}
	if old.State != AndonOpen {
		return Errorf(ErrInvalidTransition, "cannot resolve %s: already resolved", old.ID)
	}
	wo, err := t.lookup(old.WorkOrder)
	if err != nil {
		return err
	}
	a := t.mutAndon(old)
	a.State, a.Resolution, a.ResolvedAt = AndonResolved, r.Resolution, t.now
	open := make([]uint64, 0, len(t.s.andonOpen))
	for _, seq := range t.s.andonOpen {
		if seq != a.Seq {
			open = append(open, seq)
		}
	}
	if len(open) == 0 {
		open = nil
	}
	t.open, t.openSet = open, true
	if wo.Andon != a.ID {
		t.andonReceipt(wo, EventAndonResolved, wo.State, a)
		t.resWO = wo
		return nil
	}
	m := t.mutOf(wo)
	m.Andon = ""
	st, reason := t.blockState(m)
	m.BlockedReason = reason
	t.andonReceipt(m, EventAndonResolved, StateBlocked, a)
	if st == StateQueued {
		t.unblock(m, reason)
	}
	t.resWO = t.get(m.Seq)
	return nil
}

// checkLine refuses, with ErrLineStopped, to start wo (verb: start or
// assign) when an open andon stops its bucket or its pipeline, unless wo
// is fix work. It costs one comparison while no andon is open.
func (t *tx) checkLine(wo *WorkOrder, verb string) *Error {
	if len(t.s.andonOpen) == 0 {
		return nil
	}
	a := stoppedBy(t.s, wo)
	if a == nil || t.isFixWork(wo) {
		return nil
	}
	return Errorf(ErrLineStopped, "cannot %s %s: line %s is stopped by andon %s (%s on %s)", verb, wo.ID, a.LineName(), a.ID, a.Class, a.WorkOrder)
}

// stoppedBy returns the lowest-numbered open andon that stops wo's line,
// or nil. It does not exempt fix work.
func stoppedBy(s *state, wo *WorkOrder) *Andon {
	for _, seq := range s.andonOpen {
		a := s.andons.get(seq)
		if a.Scope == ScopeBucket && a.Line == wo.Bucket || a.Scope == ScopePipeline && wo.Pipeline != "" && a.Line == wo.Pipeline {
			return a
		}
	}
	return nil
}

// isFixWork reports whether wo or one of its ancestors is a fix work order.
func (t *tx) isFixWork(wo *WorkOrder) bool { return isFixWork(wo, t.get) }

func isFixWork(wo *WorkOrder, get func(uint64) *WorkOrder) bool {
	for wo != nil {
		if wo.FixFor != "" {
			return true
		}
		seq, ok := ParseID(wo.Parent)
		if !ok {
			return false
		}
		wo = get(seq)
	}
	return false
}

// validateAndonTrigger, validateAndonUpdate and validateAndonResolve check
// the andon commands without the state.
func validateAndonTrigger(a *AndonTrigger) *Error {
	switch {
	case !validID(a.WorkOrder):
		return Errorf(ErrInvalidArgument, "work_order: malformed work order ID %q", a.WorkOrder)
	case a.Scope != "" && a.Scope != ScopeBucket && a.Scope != ScopePipeline:
		return Errorf(ErrInvalidArgument, "scope: unknown scope %q (want bucket or pipeline)", a.Scope)
	case len(a.Reason) > MaxNoteLen:
		return Errorf(ErrInvalidArgument, "reason: longer than %d bytes", MaxNoteLen)
	}
	if msg := checkConfigName(a.Class); msg != "" {
		return Errorf(ErrInvalidArgument, "class: %s", msg)
	}
	if a.FixKind != "" {
		if msg := checkConfigName(a.FixKind); msg != "" {
			return Errorf(ErrInvalidArgument, "fix_kind: %s", msg)
		}
	}
	return validateWhys(a.Whys)
}

func validateWhys(whys []string) *Error {
	if len(whys) > MaxWhys {
		return Errorf(ErrInvalidArgument, "whys: %d entries (max %d)", len(whys), MaxWhys)
	}
	for i, w := range whys {
		if w == "" || len(w) > MaxNoteLen || !utf8.ValidString(w) {
			return Errorf(ErrInvalidArgument, "whys[%d]: want 1..%d bytes of UTF-8", i, MaxNoteLen)
		}
	}
	return nil
}

func validateAndonUpdate(u *AndonUpdate) *Error {
	if _, ok := ParseAndonID(u.ID); !ok {
		return Errorf(ErrInvalidArgument, "id: malformed andon ID %q", u.ID)
	}
	if len(u.Whys) == 0 && u.RootCause == "" {
		return Errorf(ErrInvalidArgument, "whys, root_cause: nothing to update")
	}
	if len(u.RootCause) > MaxNoteLen || !utf8.ValidString(u.RootCause) {
		return Errorf(ErrInvalidArgument, "root_cause: want at most %d bytes of UTF-8", MaxNoteLen)
	}
	return validateWhys(u.Whys)
}

func validateAndonResolve(r *AndonResolve) *Error {
	if _, ok := ParseAndonID(r.ID); !ok {
		return Errorf(ErrInvalidArgument, "id: malformed andon ID %q", r.ID)
	}
	if r.Resolution == "" || len(r.Resolution) > MaxNoteLen || !utf8.ValidString(r.Resolution) {
		return Errorf(ErrInvalidArgument, "resolution: want 1..%d bytes of UTF-8", MaxNoteLen)
	}
	return nil
}
