package node

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/hive-swarm/hive/fsm"
)

// reconcileHarness drives an FSM directly and two executors of the same
// node: one that reconciles incrementally and one that always scans in
// full. Tasks are not run: launches are recorded, and the test ends them.
type reconcileHarness struct {
	t     *testing.T
	f     *fsm.FSM
	index uint64
	now   int64
	ids   []string
	inc   *executor
	full  *executor
	ctxs  map[*execTask]context.Context
	log   map[*executor][]string // launches by the last reconcile
}

func newReconcileHarness(t *testing.T) *reconcileHarness {
	h := &reconcileHarness{t: t, f: fsm.New(fsm.Config{}), now: 1e18, ctxs: map[*execTask]context.Context{}, log: map[*executor][]string{}}
	n := &Node{}
	n.cfg.Name = "me"
	for _, e := range []**executor{&h.inc, &h.full} {
		x := newExecutor(n)
		x.launch = func(_, ctx context.Context, t *execTask, wo *fsm.WorkOrder) {
			h.ctxs[t] = ctx
			h.log[x] = append(h.log[x], fmt.Sprintf("%s/%d", wo.ID, wo.Attempt))
		}
		*e = x
	}
	cfg := fsm.DefaultSchedulerConfig()
	cfg.StageWIP, cfg.BucketWIP, cfg.Mix = nil, nil, nil
	h.apply(&fsm.SetSchedulerConfig{Config: cfg}, "leader")
	return h
}

func (h *reconcileHarness) apply(c fsm.Command, by string) *fsm.Result {
	h.t.Helper()
	h.now += 1e9
	hdr := c.(interface{ CommandHeader() *fsm.Header }).CommandHeader()
	hdr.Time, hdr.Node = h.now, by
	data, err := fsm.Encode(c)
	if err != nil {
		h.t.Fatalf("encode %T: %v", c, err)
	}
	h.index++
	return h.f.Apply(&raft.Log{Index: h.index, Type: raft.LogCommand, Data: data}).(*fsm.Result)
}

// reconcile has both executors look at the current state: inc through
// its incremental path (which must be possible), full through a scan.
func (h *reconcileHarness) reconcile(ctx context.Context) {
	h.t.Helper()
	v := h.f.View()
	if !h.inc.incremental(v) {
		h.t.Fatalf("incremental reconcile not possible at index %d (cursor %+v)", v.Index(), h.inc.cur)
	}
	h.inc.reconcileChanged(ctx, v)
	h.inc.cur.index, h.inc.cur.receipts = v.Index(), v.ReceiptCount()
	h.full.reconcileFull(ctx, v)
}

// tasks describes an executor's tasks: ID, attempt, done, cancelled.
func (h *reconcileHarness) tasks(e *executor) []string {
	var out []string
	for _, id := range slices.Sorted(maps.Keys(e.tasks)) {
		t := e.tasks[id]
		cancelled := false
		if ctx := h.ctxs[t]; ctx != nil {
			cancelled = context.Cause(ctx) == errMoved
		}
		out = append(out, fmt.Sprintf("%s/%d done=%v cancelled=%v", id, t.attempt, t.done, cancelled))
	}
	return out
}

// endSome ends the running tasks picked by pick, on both executors.
func (h *reconcileHarness) endSome(pick func() bool) {
	for _, id := range slices.Sorted(maps.Keys(h.inc.tasks)) {
		ti, tf := h.inc.tasks[id], h.full.tasks[id]
		if ti.done || tf == nil || tf.done || !pick() {
			continue
		}
		for _, p := range []struct {
			e *executor
			t *execTask
		}{{h.inc, ti}, {h.full, tf}} {
			p.t.cancel(nil)
			p.e.taskEnded(p.t)
		}
	}
}

// TestReconcileIncrementalMatchesFull runs random histories of creates,
// assigns (to this node and another), hand starts, requeues, advances,
// completions, fenced and unfenced failures, cancels and task ends, and
// checks after each batch of entries that the incremental reconcile
// started, cancelled and forgot exactly what a full scan did.
func TestReconcileIncrementalMatchesFull(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			rng := rand.New(rand.NewPCG(seed, 42))
			h := newReconcileHarness(t)
			// The first reconcile of each is a full scan.
			v := h.f.View()
			h.inc.reconcileFull(ctx, v)
			h.inc.cur = reconcileCursor{index: v.Index(), receipts: v.ReceiptCount(), full: time.Now()}
			h.full.reconcileFull(ctx, v)
			launched := 0
			for step := range 400 {
				for range 1 + rng.IntN(4) {
					h.randomCommand(rng)
				}
				if rng.IntN(3) == 0 {
					h.endSome(func() bool { return rng.IntN(3) == 0 })
				}
				launched += len(h.log[h.inc])
				h.log[h.inc], h.log[h.full] = nil, nil
				h.reconcile(ctx)
				if a, b := h.tasks(h.inc), h.tasks(h.full); !slices.Equal(a, b) {
					t.Fatalf("step %d: incremental tasks\n%v\nfull-scan tasks\n%v", step, a, b)
				}
				// Within one reconcile the order of launches is not defined.
				a, b := slices.Sorted(slices.Values(h.log[h.inc])), slices.Sorted(slices.Values(h.log[h.full]))
				if !slices.Equal(a, b) {
					t.Fatalf("step %d: incremental launches\n%v\nfull-scan launches\n%v", step, a, b)
				}
			}
			cancelled := 0
			for _, ctx := range h.ctxs {
				if context.Cause(ctx) == errMoved {
					cancelled++
				}
			}
			if launched == 0 || cancelled == 0 {
				t.Fatalf("the history started %d tasks and cancelled %d: it tests too little", launched, cancelled)
			}
		})
	}
}

// randomCommand applies one random command; refusals are part of the
// history too.
func (h *reconcileHarness) randomCommand(rng *rand.Rand) {
	if len(h.ids) < 4 || rng.IntN(6) == 0 {
		res := h.apply(&fsm.CreateWorkOrder{Spec: fsm.WorkOrderSpec{Title: "wo", Kind: "test"}}, "leader")
		if res.Err != nil {
			h.t.Fatalf("create: %v", res.Err)
		}
		h.ids = append(h.ids, res.WorkOrder.ID)
		return
	}
	id := h.ids[rng.IntN(len(h.ids))]
	wo, err := h.f.View().WorkOrder(id)
	if err != nil {
		h.t.Fatal(err)
	}
	node := []string{"me", "other"}[rng.IntN(2)]
	attempt := wo.Attempt
	if rng.IntN(8) == 0 {
		attempt = 0 // unfenced
	}
	switch rng.IntN(8) {
	case 0, 1:
		h.apply(&fsm.Assign{ID: id, Node: node}, "leader")
	case 2:
		h.apply(&fsm.Transition{ID: id, Action: fsm.ActionStart, Agent: "test"}, node)
	case 3:
		h.apply(&fsm.Transition{ID: id, Action: fsm.ActionRequeue, Attempt: attempt}, "leader")
	case 4:
		h.apply(&fsm.Transition{ID: id, Action: fsm.ActionComplete, Attempt: attempt}, node)
	case 5:
		h.apply(&fsm.Transition{ID: id, Action: fsm.ActionFail, Attempt: attempt, Reason: "boom"}, node)
	case 6:
		h.apply(&fsm.Transition{ID: id, Action: fsm.ActionAdvance, Attempt: attempt}, node)
	case 7:
		h.apply(&fsm.Transition{ID: id, Action: fsm.ActionCancel}, "leader")
	}
}
