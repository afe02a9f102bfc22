package node

import (
	"context"
	"time"

	"github.com/hive-swarm/hive/fsm"
)

// Reconciling is incremental. A full scan of the work orders assigned to
// this node after every applied entry costs O(work in flight) per entry,
// which under load is most of the executor's time. Every change of a work
// order's state, attempt or assignee appends a receipt naming it (the
// receipt chain is the FSM's record of every transition, and it is never
// pruned), so the work orders that may need a task started or cancelled
// since the last reconcile are those named by the receipts appended since,
// plus those whose task ended meanwhile. reconcile looks at these only,
// and falls back to a full scan when it cannot tell what changed (the
// first time, after the state went back, after a long gap) and, as a
// backstop, every fullReconcileEvery.
const (
	// maxIncrementalReceipts is the most new receipts reconcile reads one
	// by one; past it, a full scan is cheaper.
	maxIncrementalReceipts = 8192
	// fullReconcileEvery is how often reconcile does a full scan anyway.
	fullReconcileEvery = 10 * time.Second
)

// reconcileCursor is how far reconcile has looked.
type reconcileCursor struct {
	index    uint64    // view index of the last reconcile
	receipts uint64    // receipt count of that view
	full     time.Time // of the last full scan; zero before the first
}

// reconcile starts the attempts assigned to this node that it does not
// run yet, cancels those no longer assigned to it, and forgets finished
// attempts once the FSM no longer lists them; it looks only at what
// changed since the last call when it can tell (see above).
func (e *executor) reconcile(ctx context.Context, v *fsm.View) {
	now := time.Now()
	if e.incremental(v) && now.Sub(e.cur.full) < fullReconcileEvery {
		e.reconcileChanged(ctx, v)
	} else {
		e.reconcileFull(ctx, v)
		e.cur.full = now
	}
	e.cur.index, e.cur.receipts = v.Index(), v.ReceiptCount()
}

// incremental reports whether the changes between the last reconcile and
// v can be read from v's receipts.
func (e *executor) incremental(v *fsm.View) bool {
	c := e.cur
	return !c.full.IsZero() && v.Index() >= c.index && v.ReceiptCount() >= c.receipts &&
		v.ReceiptCount()-c.receipts <= maxIncrementalReceipts
}

// reconcileChanged reconciles the work orders named by v's receipts
// since the last reconcile and those whose task ended since.
func (e *executor) reconcileChanged(ctx context.Context, v *fsm.View) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ended := e.ended
	e.ended = nil
	for _, id := range ended {
		e.reconcileOne(ctx, v, id, e.wanted(v, id))
	}
	last := ""
	for seq := e.cur.receipts + 1; seq <= v.ReceiptCount(); seq++ {
		r, err := v.Receipt(seq)
		if err != nil || r.WorkOrder == "" || r.WorkOrder == last {
			continue
		}
		last = r.WorkOrder
		e.reconcileOne(ctx, v, r.WorkOrder, e.wanted(v, r.WorkOrder))
	}
}

// reconcileFull reconciles every task and every work order assigned to
// this node.
func (e *executor) reconcileFull(ctx context.Context, v *fsm.View) {
	want := make(map[string]*fsm.WorkOrder)
	for _, wo := range v.Assigned(e.n.cfg.Name) {
		if wo.State == fsm.StateInProgress {
			want[wo.ID] = wo
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ended = nil
	for id, t := range e.tasks {
		if t.done || want[id] == nil || want[id].Attempt != t.attempt {
			e.reconcileOne(ctx, v, id, want[id])
		}
	}
	for id, wo := range want {
		if _, ok := e.tasks[id]; !ok {
			e.reconcileOne(ctx, v, id, wo)
		}
	}
}

// wanted returns the work order id when this node should run it (in
// progress and assigned to this node), else nil.
func (e *executor) wanted(v *fsm.View, id string) *fsm.WorkOrder {
	wo, err := v.WorkOrder(id)
	if err != nil || wo.State != fsm.StateInProgress || wo.Assignee.Node != e.n.cfg.Name {
		return nil
	}
	return wo
}

// reconcileOne brings the task of work order id in line with wo, the
// work order when this node should run it (else nil): a task of another
// attempt is cancelled, and forgotten once ended; the wanted attempt is
// started once no task of an older one runs. Called with e.mu held.
func (e *executor) reconcileOne(ctx context.Context, v *fsm.View, id string, wo *fsm.WorkOrder) {
	if t, ok := e.tasks[id]; ok {
		if wo != nil && wo.Attempt == t.attempt {
			return
		}
		if !t.done {
			// Its end brings the work order back here (e.ended), when a
			// newer attempt may start.
			t.cancel(errMoved)
			return
		}
		delete(e.tasks, id)
	}
	if wo == nil {
		return
	}
	if !v.AssignedByLeader(wo) {
		// Started by hand (a transition start, not the leader's Assign):
		// whoever started it does the work and reports it. Remembered as
		// done, so it is checked once per attempt.
		e.tasks[id] = &execTask{id: id, attempt: wo.Attempt, cancel: func(error) {}, done: true}
		return
	}
	tctx, cancel := context.WithCancelCause(ctx)
	t := &execTask{id: id, attempt: wo.Attempt, cancel: cancel}
	e.tasks[id] = t
	e.launch(ctx, tctx, t, wo)
}

// launchTask runs t (the attempt wo) in a goroutine of the node.
func (e *executor) launchTask(nodeCtx, ctx context.Context, t *execTask, wo *fsm.WorkOrder) {
	e.n.goFunc(func() {
		e.execute(nodeCtx, ctx, wo)
		t.cancel(nil)
		e.taskEnded(t)
		e.n.notifyMeta()
	})
}

// taskEnded marks t done and has reconcile look at its work order again.
func (e *executor) taskEnded(t *execTask) {
	e.mu.Lock()
	t.done = true
	e.ended = append(e.ended, t.id)
	e.mu.Unlock()
	notify(e.wake)
}
