package fsm

// Receipt events of the scheduling commands.
const (
	EventSchedulerConfigured = "scheduler_configured"
	EventAssigned            = "assigned"
)

// applySetSchedulerConfig replaces the scheduler config (validated, like
// every command, before it gets here) and appends a scheduler_configured
// receipt. That receipt belongs to no work order: its WorkOrder, From and
// To are empty, Node is the proposer, and its evidence digest is
// SchedulerConfigDigest of the new config.
func applySetSchedulerConfig(t *tx, c Command) *Error {
	cfg := c.(*SetSchedulerConfig).Config.Clone()
	t.sched = newSchedState(cfg)
	t.receipts = append(t.receipts, pendingReceipt{r: Receipt{
		Index:          t.index,
		Time:           t.now,
		Event:          EventSchedulerConfigured,
		Node:           t.hdr.Node,
		EvidenceDigest: SchedulerConfigDigest(&cfg),
	}})
	return nil
}

// applyAssign starts a queued work order on the node the leader chose:
// state in_progress, attempt + 1, assignee {Node, AgentType or the work
// order's Kind}, StartedAt now, receipt assigned (naming that node and
// agent). Like start, it is refused with ErrBlockedByDependencies,
// ErrAlreadyStarted or ErrInvalidTransition by the state, then with
// ErrLineStopped when an open andon stops its line, then with ErrWIPLimit
// when the work order's stage or bucket is at its limit.
func applyAssign(t *tx, c Command) *Error {
	a := c.(*Assign)
	wo, err := t.lookup(a.ID)
	if err != nil {
		return err
	}
	if wo.State != StateQueued {
		if err := refuseStart(wo, "assign"); err != nil {
			return err
		}
		return Errorf(ErrInvalidTransition, "cannot assign %s: state is %s (allowed from %s)", wo.ID, wo.State, StateQueued)
	}
	if err := t.checkLine(wo, "assign"); err != nil {
		return err
	}
	if err := t.checkWIP(wo, "assign"); err != nil {
		return err
	}
	agent := a.AgentType
	if agent == "" {
		agent = wo.Kind
	}
	t.resWO = t.start(wo, a.Node, agent, EventAssigned)
	return nil
}

// validateAssign checks an Assign without the state.
func validateAssign(a *Assign) *Error {
	switch {
	case !validID(a.ID):
		return Errorf(ErrInvalidArgument, "id: malformed work order ID %q", a.ID)
	case a.Node == "":
		return Errorf(ErrInvalidArgument, "node: empty (the node that runs the work order)")
	case len(a.Node) > MaxNameLen:
		return Errorf(ErrInvalidArgument, "node: longer than %d bytes", MaxNameLen)
	case len(a.AgentType) > MaxNameLen:
		return Errorf(ErrInvalidArgument, "agent_type: longer than %d bytes", MaxNameLen)
	}
	return nil
}
