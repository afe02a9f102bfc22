package fsm

import (
	"bytes"
	"testing"

	"github.com/hashicorp/raft"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// harness drives an FSM through Encode and Apply, as raft would.
type harness struct {
	t     testing.TB
	f     *FSM
	index uint64
	now   int64 // command time stamped on commands that carry none
}

const t0 = int64(1_700_000_000_000_000_000)

func newHarness(t testing.TB) *harness {
	return &harness{t: t, f: New(DefaultConfig()), now: t0}
}

// stamp gives c a time (advancing the harness clock by a second) and a
// node unless it has them.
func (h *harness) stamp(c Command) {
	if b, ok := c.(*Batch); ok {
		for _, sub := range b.Commands {
			h.stamp(sub)
		}
		return
	}
	hdr := headerOf(c)
	if hdr.Time == 0 {
		h.now += 1e9
		hdr.Time = h.now
	}
	if hdr.Node == "" {
		hdr.Node = "node-1"
	}
}

func (h *harness) applyRaw(c Command) interface{} {
	h.t.Helper()
	h.stamp(c)
	data, err := Encode(c)
	if err != nil {
		h.t.Fatalf("encode %T: %v", c, err)
	}
	h.index++
	return h.f.Apply(&raft.Log{Index: h.index, Type: raft.LogCommand, Data: data})
}

func (h *harness) apply(c Command) *Result {
	h.t.Helper()
	return h.applyRaw(c).(*Result)
}

func (h *harness) mustCreate(spec WorkOrderSpec) *WorkOrder {
	h.t.Helper()
	res := h.apply(&CreateWorkOrder{Spec: spec})
	if res.Err != nil {
		h.t.Fatalf("create %q: %v", spec.Title, res.Err)
	}
	return res.WorkOrder
}

func (h *harness) create(title string, deps ...string) *WorkOrder {
	h.t.Helper()
	return h.mustCreate(WorkOrderSpec{Title: title, DependsOn: deps})
}

func (h *harness) do(id string, a Action) *Result {
	h.t.Helper()
	return h.apply(&Transition{ID: id, Action: a})
}

func (h *harness) must(id string, a Action) *WorkOrder {
	h.t.Helper()
	res := h.do(id, a)
	if res.Err != nil {
		h.t.Fatalf("%s %s: %v", a, id, res.Err)
	}
	return res.WorkOrder
}

func (h *harness) wo(id string) *WorkOrder {
	h.t.Helper()
	wo, err := h.f.View().WorkOrder(id)
	if err != nil {
		h.t.Fatal(err)
	}
	return wo
}

func (h *harness) state(id string) State { return h.wo(id).State }

// snapshot returns the persisted snapshot bytes.
func (h *harness) snapshot() []byte {
	h.t.Helper()
	var buf bytes.Buffer
	if err := writeSnapshot(&buf, h.f.View().s); err != nil {
		h.t.Fatal(err)
	}
	return buf.Bytes()
}

// tables returns the snapshot without the header's raft index and clock,
// which move on every applied entry, so it compares business state.
func (h *harness) tables() []byte {
	b := h.snapshot()
	return append(append([]byte(nil), b[9+16:]...), b[:9]...)
}
