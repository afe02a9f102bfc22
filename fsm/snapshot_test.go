package fsm

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"reflect"
	"testing"
	"time"
)

func restoreFrom(t testing.TB, snap []byte) *FSM {
	t.Helper()
	f := New(DefaultConfig())
	if err := f.Restore(io.NopCloser(bytes.NewReader(snap))); err != nil {
		t.Fatal(err)
	}
	return f
}

// randomLog returns n mixed commands from a seeded source. It must keep
// returning the same log for a seed: testdata/snapshot-v1.bin was written
// from randomLog(11, 1500).
func randomLog(seed int64, n int) []Command { return genLog(seed, n, logBasic) }

// schedLog is randomLog with scheduling commands too: scheduler configs
// with small limits, assignments, pipeline runs, and work orders with
// stages that progress moves between. It must keep returning the same log
// for a seed: testdata/snapshot-v2.bin was written from schedLog(12, 2000).
func schedLog(seed int64, n int) []Command { return genLog(seed, n, logSched) }

// failLog is schedLog with failure handling too: retried fenced fails,
// retry policies, andons, SLA events and stale records.
func failLog(seed int64, n int) []Command { return genLog(seed, n, logFailure) }

// timeoutLog is failLog with run timeouts on some created work orders.
// failLog must keep returning the same log for a seed:
// testdata/snapshot-v3.bin was written from failLog(13, 2500).
func timeoutLog(seed int64, n int) []Command { return genLog(seed, n, logTimeout) }

// The command mixes of genLog.
const (
	logBasic = iota
	logSched
	logFailure
	logTimeout
)

func genLog(seed int64, n int, mode int) []Command {
	sched := mode >= logSched
	rng := rand.New(rand.NewSource(seed))
	var cmds []Command
	var assigned []string // failure mode: recently assigned work orders
	created := 0
	id := func() string { return FormatID(uint64(rng.Intn(created+2) + 1)) }
	actions := []Action{ActionStart, ActionAdvance, ActionProgress, ActionComplete, ActionFail, ActionRequeue, ActionCancel}
	labels := []string{"bug", "security", "critical", "enhancement", "refactor"}
	for i := 0; len(cmds) < n; i++ {
		hdr := Header{Time: t0 + int64(i)*int64(rng.Intn(3))*1e9, Node: fmt.Sprintf("n%d", rng.Intn(3))}
		if rng.Intn(4) == 0 {
			hdr.RequestID = fmt.Sprintf("r%d", rng.Intn(n))
		}
		kinds := 20
		if sched {
			kinds = 26
		}
		if mode >= logFailure {
			kinds = 32
		}
		switch k := rng.Intn(kinds); {
		case k >= 26:
			cmds = append(cmds, randomFailureCommand(rng, hdr, id, &created, &assigned))
		case k >= 20:
			cmds = append(cmds, randomSchedCommand(rng, hdr, id, &created))
		case k < 6:
			spec := WorkOrderSpec{Title: fmt.Sprintf("wo %d", i), Effort: int64(rng.Intn(5)), Labels: []string{labels[rng.Intn(5)]}}
			if created > 0 && rng.Intn(2) == 0 {
				spec.DependsOn = []string{id()}
			}
			if created > 0 && rng.Intn(5) == 0 {
				spec.Parent = id()
			}
			if mode >= logTimeout && i%2 == 0 {
				// From i, not rng: the log is failLog's, plus timeouts.
				spec.RunTimeout = time.Duration(i%5+1) * time.Minute
			}
			cmds = append(cmds, &CreateWorkOrder{Header: hdr, Spec: spec})
			created++
		case k < 14:
			tr := &Transition{Header: hdr, ID: id(), Action: actions[rng.Intn(len(actions))], Cascade: rng.Intn(4) == 0}
			if tr.Action != ActionCancel {
				tr.Cascade = false
			}
			// Before failure handling every fail was final; the logs
			// that the testdata snapshots were written from say so.
			tr.NoRetry = tr.Action == ActionFail && mode < logFailure
			if tr.Action != ActionStart && rng.Intn(3) == 0 {
				tr.Attempt = uint64(rng.Intn(3))
			}
			if rng.Intn(3) == 0 {
				tr.Evidence = &Evidence{ExitCode: rng.Intn(2), Outputs: map[string]string{"o": "x", "p": "y"}}
			}
			cmds = append(cmds, tr)
		case k < 16:
			cmds = append(cmds, &AddDependency{Header: hdr, ID: id(), DependsOn: []string{id(), id()}})
		case k < 17:
			cmds = append(cmds, &RemoveDependency{Header: hdr, ID: id(), DependsOn: []string{id()}})
		case k < 19:
			cmds = append(cmds, &MemoryPut{Header: hdr, Namespace: "ns", Key: fmt.Sprintf("k%d", rng.Intn(50)),
				Value: []byte("v"), ExpiresAt: hdr.Time + int64(rng.Intn(3))*5e9})
		default:
			cmds = append(cmds, &Tick{Header: hdr})
		}
	}
	// Coalesce some commands into batches.
	var out []Command
	for i := 0; i < len(cmds); {
		if rng.Intn(10) == 0 && i+5 < len(cmds) {
			out = append(out, &Batch{Commands: cmds[i : i+5]})
			i += 5
			continue
		}
		out = append(out, cmds[i])
		i++
	}
	return out
}

func TestDeterminism(t *testing.T) {
	log := timeoutLog(42, 5000)
	run := func() *harness {
		h := newHarness(t)
		for _, c := range log {
			h.applyRaw(c)
		}
		return h
	}
	a, b := run(), run()
	sa, sb := a.snapshot(), b.snapshot()
	if !bytes.Equal(sa, sb) || a.f.View().ChainHead() != b.f.View().ChainHead() {
		t.Fatal("two FSMs fed the same log diverged")
	}
	v := a.f.View()
	if v.ReceiptCount() < 1000 || !v.Verify(0, 0).OK {
		t.Fatalf("chain: %d receipts, verify %+v", v.ReceiptCount(), v.Verify(0, 0))
	}
	timed := 0
	for _, wo := range v.Unfinished() {
		if wo.RunTimeout != 0 {
			timed++
		}
	}
	if timed == 0 {
		t.Error("the log has no work order with a run timeout")
	}
	counts := v.CountsByState()
	t.Logf("work orders %d, receipts %d, states %v, in flight %v", v.WorkOrderCount(), v.ReceiptCount(), counts, v.ActiveCounts())
	var events = map[string]int{}
	for _, r := range v.Receipts(ReceiptQuery{Limit: MaxReceiptLimit}) {
		events[r.Event]++
	}
	for _, e := range []string{EventAssigned, EventSchedulerConfigured, EventStarted, EventCompleted,
		EventRetryScheduled, EventFailed, EventAndonTriggered, EventAndonUpdated, EventAndonResolved,
		EventSLAWarning, EventSLABreach, EventStaleRejected} {
		if events[e] == 0 {
			t.Errorf("the log has no %s receipt: %v", e, events)
		}
	}
	// Snapshot, restore, continue: same chain as the uninterrupted FSM.
	c := &harness{t: t, f: restoreFrom(t, sa), index: a.index, now: a.now}
	if !bytes.Equal(c.snapshot(), sa) {
		t.Fatal("restore + snapshot is not byte-identical")
	}
	checkCounters(t, c.f.View())
	more := timeoutLog(7, 500)
	for _, cmd := range more {
		a.applyRaw(cmd)
		c.applyRaw(cmd)
	}
	if !bytes.Equal(a.snapshot(), c.snapshot()) || a.f.View().ChainHead() != c.f.View().ChainHead() {
		t.Fatal("restored FSM diverged after applying more commands")
	}
	if !reflect.DeepEqual(a.f.View().ActiveCounts(), c.f.View().ActiveCounts()) {
		t.Fatal("restored FSM's WIP counters diverged")
	}
}

// TestRestoreVersion1 restores a snapshot written by the format before
// scheduling (testdata/snapshot-v1.bin, from randomLog(11, 1500)): it must
// equal replaying that log now, with the default scheduler config, the WIP
// counters rebuilt, and no pipeline fields.
func TestRestoreVersion1(t *testing.T) {
	h, v := restoreOldSnapshot(t, "testdata/snapshot-v1.bin", snapVersionV1, randomLog(11, 1500))
	if !reflect.DeepEqual(v.SchedulerConfig(), DefaultSchedulerConfig()) {
		t.Fatal("version 1 restores without the default scheduler config")
	}
	if len(v.Active()) == 0 {
		t.Fatal("testdata has no work in flight")
	}
	// Version 1 with a scheduler config record is refused.
	refusedAsVersion(t, h.snapshot(), snapVersionV1)
}

// restoreOldSnapshot restores the snapshot in file, written in an older
// format version, and checks that it equals replaying log now; it returns
// the replaying harness and the restored view.
func restoreOldSnapshot(t *testing.T, file string, version byte, log []Command) (*harness, *View) {
	t.Helper()
	old, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if old[8] != version {
		t.Fatalf("%s is version %d, want %d", file, old[8], version)
	}
	f := restoreFrom(t, old)
	h := newHarness(t)
	for _, c := range log {
		h.applyRaw(c)
	}
	v := f.View()
	if !bytes.Equal(viewSnapshot(t, v), h.snapshot()) {
		t.Fatalf("a version %d snapshot restores to a different state than replaying its log", version)
	}
	checkCounters(t, v)
	return h, v
}

// refusedAsVersion checks that snap, written in the current format with
// records an older version lacks, is refused when labelled as version.
func refusedAsVersion(t *testing.T, snap []byte, version byte) {
	t.Helper()
	bad := bytes.Clone(snap)
	bad[8] = version
	if err := New(DefaultConfig()).Restore(io.NopCloser(bytes.NewReader(bad))); !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("version %d with newer records: %v", version, err)
	}
}

func TestSnapshotPersistRestore(t *testing.T) {
	h := chainHarness(t)
	h.apply(&MemoryPut{Header: Header{RequestID: "m1"}, Namespace: "n", Key: "k", Value: []byte("v"), ExpiresAt: h.now + 1e12})
	snap, err := h.f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	want := h.snapshot()
	h.create("after the snapshot") // must not appear in the persisted snapshot
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	snap.Release()
	if !bytes.Equal(sink.Bytes(), want) || !sink.closed {
		t.Fatal("Persist did not write the point-in-time state")
	}
	f := restoreFrom(t, want)
	if f.AppliedIndex() != h.index-1 {
		t.Fatalf("applied index %d", f.AppliedIndex())
	}
	if _, err := f.View().Memory("n", "k"); err != nil {
		t.Fatal(err)
	}
	// Every truncation and a corrupted byte fail cleanly, keeping the state.
	for i := 0; i < len(want); i += 7 {
		if err := f.Restore(io.NopCloser(bytes.NewReader(want[:i]))); !errors.Is(err, ErrBadSnapshot) {
			t.Fatalf("truncated at %d: %v", i, err)
		}
	}
	bad := bytes.Clone(want)
	bad[len(bad)/2] ^= 0x55
	if err := f.Restore(io.NopCloser(bytes.NewReader(bad))); err == nil {
		t.Fatal("corrupted snapshot accepted")
	}
	if f.View().WorkOrderCount() != 2 {
		t.Fatal("failed restore changed the state")
	}
}

type memSink struct {
	bytes.Buffer
	closed bool
}

func (s *memSink) ID() string    { return "mem" }
func (s *memSink) Cancel() error { return nil }
func (s *memSink) Close() error  { s.closed = true; return nil }

func TestIdempotentRetry(t *testing.T) {
	h := newHarness(t)
	hdr := Header{RequestID: "req-1", Time: t0 + 1e9, Node: "n1"}
	first := h.apply(&CreateWorkOrder{Header: hdr, Spec: WorkOrderSpec{Title: "once"}})
	before := h.tables()
	hdr.Time += 5e9
	again := h.apply(&CreateWorkOrder{Header: hdr, Spec: WorkOrderSpec{Title: "once"}})
	if again.Err != nil || again.WorkOrder.ID != first.WorkOrder.ID || again.Index != first.Index ||
		len(again.Receipts) != 1 || again.Receipts[0] != first.Receipts[0] {
		t.Fatalf("retry: %+v", again)
	}
	if !bytes.Equal(before, h.tables()) || h.f.View().WorkOrderCount() != 1 {
		t.Fatal("retry changed the state")
	}
	// A failed command is remembered with its error.
	e1 := h.apply(&Transition{Header: Header{RequestID: "req-2"}, ID: "WO-1", Action: ActionComplete})
	e2 := h.apply(&Transition{Header: Header{RequestID: "req-2"}, ID: "WO-1", Action: ActionComplete})
	if !errors.Is(e1.Err, ErrInvalidTransition) || e2.Err.Error() != e1.Err.Error() {
		t.Fatalf("error replay: %v / %v", e1.Err, e2.Err)
	}
	// The same ID on another kind of command is refused.
	if r := h.apply(&Tick{Header: Header{RequestID: "req-1"}}); !errors.Is(r.Err, ErrInvalidArgument) {
		t.Fatalf("reuse: %v", r.Err)
	}
	// After the window the ID is forgotten.
	late := Header{RequestID: "req-1", Time: t0 + int64(DefaultConfig().IdempotencyWindow) + 10e9}
	if r := h.apply(&CreateWorkOrder{Header: late, Spec: WorkOrderSpec{Title: "once"}}); r.WorkOrder.ID != "WO-2" {
		t.Fatalf("after window: %v", r.WorkOrder.ID)
	}
}

func TestIdempotencyMax(t *testing.T) {
	cfg := DefaultConfig()
	cfg.IdempotencyMax = 3
	h := &harness{t: t, f: New(cfg), now: t0}
	for i := 0; i < 5; i++ {
		h.apply(&Tick{Header: Header{RequestID: fmt.Sprint(i)}})
	}
	if n := h.f.View().s.idem.Len(); n != 3 {
		t.Fatalf("remembered %d IDs", n)
	}
}

func TestBadCommandsChangeNothing(t *testing.T) {
	h := chainHarness(t)
	long := string(make([]byte, 600))
	bad := []Command{
		&CreateWorkOrder{Spec: WorkOrderSpec{}},
		&CreateWorkOrder{Spec: WorkOrderSpec{Title: long}},
		&CreateWorkOrder{Spec: WorkOrderSpec{Title: "x", Bucket: "nope"}},
		&CreateWorkOrder{Spec: WorkOrderSpec{Title: "x", PriorityScore: 11}},
		&CreateWorkOrder{Spec: WorkOrderSpec{Title: "x", DependsOn: []string{"WO-1", "WO-404"}}},
		&Transition{ID: "WO-1", Action: "explode"},
		&Transition{ID: "WO-2", Action: ActionCancel, Cascade: true, Attempt: 9},
		&AddDependency{ID: "WO-2", DependsOn: []string{"WO-1"}},
		&MemoryPut{Namespace: "bad ns", Key: "k"},
		&MemoryDelete{Namespace: "n", Key: "missing"},
		&Assign{ID: "WO-404", Node: "n"},
		&Assign{ID: "WO-1", Node: "n"},
		&RunPipeline{Pipeline: "missing", Title: "x"},
		&RunPipeline{Pipeline: "default", Title: ""},
		&SetSchedulerConfig{Config: SchedulerConfig{Mix: map[string]int{"cost": 99}}},
		&SetSchedulerConfig{Config: SchedulerConfig{StageWIP: map[string]int{"code": -1}}},
	}
	for i, c := range bad {
		before := h.tables()
		if r := h.apply(c); r.Err == nil {
			t.Fatalf("bad command %d accepted", i)
		}
		if !bytes.Equal(before, h.tables()) {
			t.Fatalf("bad command %d changed the state", i)
		}
	}
}

// randomSchedCommand returns one scheduling command for genLog.
func randomSchedCommand(rng *rand.Rand, hdr Header, id func() string, created *int) Command {
	stages := []string{"design", "code", "test", ""}
	switch rng.Intn(7) {
	case 0:
		cfg := DefaultSchedulerConfig()
		cfg.StageWIP = map[string]int{"design": rng.Intn(4), "code": rng.Intn(4), "test": rng.Intn(5)}
		cfg.BucketWIP = map[string]int{}
		for _, b := range buckets {
			if rng.Intn(2) == 0 {
				cfg.BucketWIP[b] = rng.Intn(4)
			}
		}
		cfg.Pipelines = append(cfg.Pipelines, PipelineTemplate{Name: "short", Stages: []PipelineStage{
			{Name: "build", AgentType: "coder", Stage: "code", Effort: 5}, {Name: "check", Stage: "test"},
		}})
		return &SetSchedulerConfig{Header: hdr, Config: cfg}
	case 1, 2:
		return &Assign{Header: hdr, ID: id(), Node: fmt.Sprintf("n%d", rng.Intn(3)), AgentType: []string{"", "shell"}[rng.Intn(2)]}
	case 3:
		name := []string{DefaultPipelineName, "short", "missing"}[rng.Intn(3)]
		*created += 6
		return &RunPipeline{Header: hdr, Pipeline: name, Title: "run", Labels: []string{"bug"}}
	case 4:
		*created++
		return &CreateWorkOrder{Header: hdr, Spec: WorkOrderSpec{Title: "staged", Stage: stages[rng.Intn(4)],
			Bucket: buckets[rng.Intn(numBuckets)]}}
	case 5:
		return &Transition{Header: hdr, ID: id(), Action: ActionProgress, Stage: stages[rng.Intn(4)]}
	default:
		return &Transition{Header: hdr, ID: id(), Action: []Action{ActionAdvance, ActionComplete}[rng.Intn(2)]}
	}
}

// TestRestoreVersion2 restores a snapshot written by the format before
// failure handling (testdata/snapshot-v2.bin, from schedLog(12, 2000)): it
// must equal replaying that log now (whose fails are final, as they were),
// with the default retry policy on every work order and no andons.
func TestRestoreVersion2(t *testing.T) {
	_, v := restoreOldSnapshot(t, "testdata/snapshot-v2.bin", snapVersionV2, schedLog(12, 2000))
	items, _ := v.WorkOrders(WorkOrderFilter{Limit: MaxListLimit})
	for _, wo := range items {
		if wo.Retry != DefaultRetryPolicy() || wo.Andon != "" || wo.Retries != 0 {
			t.Fatalf("%s restored with %+v", wo.ID, wo)
		}
	}
	if len(v.Andons(false)) != 0 || v.CountsByState()[StateFailed] == 0 {
		t.Fatal("testdata has andons, or no failed work order")
	}
	// Version 2 with andon records is refused.
	g := failureHarness(t)
	refusedAsVersion(t, g.snapshot(), snapVersionV2)
}

// TestRestoreVersion3 restores a snapshot written by the format before
// run timeouts (testdata/snapshot-v3.bin, from failLog(13, 2500)): it must
// equal replaying that log now, with no run timeout on any work order.
func TestRestoreVersion3(t *testing.T) {
	_, v := restoreOldSnapshot(t, "testdata/snapshot-v3.bin", snapVersionV3, failLog(13, 2500))
	items, _ := v.WorkOrders(WorkOrderFilter{Limit: MaxListLimit})
	retried := false
	for _, wo := range items {
		if wo.RunTimeout != 0 {
			t.Fatalf("%s restored with run timeout %v", wo.ID, wo.RunTimeout)
		}
		retried = retried || wo.Retry != DefaultRetryPolicy()
	}
	if !retried || len(v.Andons(true)) == 0 || len(v.Active()) == 0 {
		t.Fatal("testdata has no custom retry policy, no andon or no work in flight")
	}
	// Version 3 with version 4 work order records is refused.
	g := newHarness(t)
	g.mustCreate(WorkOrderSpec{Title: "timed", RunTimeout: time.Minute})
	refusedAsVersion(t, g.snapshot(), snapVersionV3)
}

// TestSnapshotRunTimeout checks that run timeouts survive a snapshot and
// restore, and that equal states give byte-identical snapshots.
func TestSnapshotRunTimeout(t *testing.T) {
	build := func() *harness {
		h := newHarness(t)
		h.mustCreate(WorkOrderSpec{Title: "default"})
		h.mustCreate(WorkOrderSpec{Title: "timed", RunTimeout: 90 * time.Second})
		h.mustCreate(WorkOrderSpec{Title: "longest", RunTimeout: MaxRunTimeout, Retry: RetryPolicy{MaxAttempts: 4}})
		h.ok(&Assign{ID: "WO-2", Node: "n1"})
		return h
	}
	a, b := build(), build()
	snap := a.snapshot()
	if !bytes.Equal(snap, b.snapshot()) {
		t.Fatal("equal states, different snapshots")
	}
	f := restoreFrom(t, snap)
	if !bytes.Equal(viewSnapshot(t, f.View()), snap) {
		t.Fatal("restore + snapshot is not byte-identical")
	}
	for id, want := range map[string]time.Duration{"WO-1": 0, "WO-2": 90 * time.Second, "WO-3": MaxRunTimeout} {
		wo, err := f.View().WorkOrder(id)
		if err != nil || wo.RunTimeout != want {
			t.Fatalf("%s: %v, run timeout %v, want %v", id, err, wo.RunTimeout, want)
		}
	}
}
