package events

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hive-swarm/hive/fsm"
)

var onlyWO = Filter{Topics: []Topic{TopicWorkOrder}}

func TestReplayOrderAndIDs(t *testing.T) {
	h := newHarness(t, Config{})
	h.apply(create("a"))                     // index 1: WO-1 created
	h.apply(create("b"), create("c"))        // index 2: WO-2, WO-3 in one batch
	h.apply(act("WO-1", fsm.ActionStart))    // index 3
	h.apply(act("WO-1", fsm.ActionComplete)) // index 4
	h.apply(&fsm.SetSchedulerConfig{})       // index 5: a receipt of no work order
	// Both topics admit every work-order event: each receipt comes once.
	s := subscribe(t, h.b, Filter{Topics: []Topic{TopicWorkOrder, TopicReceipt}}, &Cursor{})
	got := take(t, s, 6)
	want := []string{
		"workorder.created", "workorder.created", "workorder.created",
		"workorder.started", "workorder.completed", TypeReceiptAppended,
	}
	if !slices.Equal(types(got), want) {
		t.Fatalf("types = %v, want %v", types(got), want)
	}
	wantIdx := []uint64{1, 2, 2, 3, 4, 5}
	wantID := []string{"1", "", "2", "3", "4", "5"}
	for i, e := range got {
		if e.Index != wantIdx[i] || e.ID != wantID[i] {
			t.Errorf("event %d (%s): index %d id %q, want index %d id %q", i, e.Type, e.Index, e.ID, wantIdx[i], wantID[i])
		}
		if e.Receipt != uint64(i+1) || len(e.Hash) != 64 {
			t.Errorf("event %d (%s): receipt %d hash %q, want receipt %d and a hash", i, e.Type, e.Receipt, e.Hash, i+1)
		}
	}
	if got[1].WorkOrder != "WO-2" || got[2].WorkOrder != "WO-3" || got[4].To != "completed" || got[4].From != "in_progress" {
		t.Errorf("unexpected payloads: %+v / %+v / %+v", got[1], got[2], got[4])
	}
	if e := got[5]; e.Topic != TopicReceipt || e.Event != fsm.EventSchedulerConfigured || e.WorkOrder != "" {
		t.Errorf("scheduler receipt: %+v", e)
	}
}

func TestLiveFollowAndFilters(t *testing.T) {
	h := newHarness(t, Config{})
	h.apply(create("old")) // before the subscription: not delivered live
	all := subscribe(t, h.b, Filter{}, nil)
	wo := subscribe(t, h.b, onlyWO, nil)
	one := subscribe(t, h.b, Filter{WorkOrder: "WO-2"}, nil)
	rc := subscribe(t, h.b, Filter{Topics: []Topic{TopicReceipt}}, nil)
	h.apply(create("x"))                    // WO-2
	h.apply(create("y"))                    // WO-3
	h.apply(act("WO-2", fsm.ActionStart))   // 4
	h.apply(act("WO-3", fsm.ActionCancel))  // 5
	h.apply(act("WO-2", fsm.ActionAdvance)) // 6

	if got := types(take(t, wo, 5)); !slices.Equal(got, []string{"workorder.created", "workorder.created",
		"workorder.started", "workorder.cancelled", "workorder.advanced"}) {
		t.Errorf("workorder topic: %v", got)
	}
	ones := take(t, one, 3)
	for _, e := range ones {
		if e.WorkOrder != "WO-2" {
			t.Errorf("workorder filter let through %+v", e)
		}
	}
	if got := types(ones); !slices.Equal(got, []string{"workorder.created",
		"workorder.started", "workorder.advanced"}) {
		t.Errorf("WO-2 filter: %v", got)
	}
	h.apply(&fsm.SetSchedulerConfig{}) // 7: no work order
	// The receipt topic is the whole chain, one event per receipt.
	for i, e := range take(t, rc, 6) {
		if e.Receipt != uint64(i+2) || !e.InTopic(TopicReceipt) {
			t.Errorf("receipt topic event %d: %+v, want receipt %d", i, e, i+2)
		}
		if i == 5 && e.Type != TypeReceiptAppended {
			t.Errorf("receipt of no work order typed %s, want %s", e.Type, TypeReceiptAppended)
		}
	}
	h.apply(create("z"))
	if e := next(t, wo); e.Type != TypeWorkOrderCreated || e.Index != 8 {
		t.Errorf("workorder topic let through %+v, want only WO-4's creation", e)
	}
	if e := next(t, all); e.WorkOrder != "WO-2" || e.Index != 2 {
		t.Errorf("live stream began with %+v, want WO-2 at index 2", e)
	}
}

func TestBadFilter(t *testing.T) {
	h := newHarness(t, Config{})
	_, err := h.b.Subscribe(context.Background(), Filter{Topics: []Topic{"bogus"}}, nil)
	if !errors.Is(err, ErrUnknownTopic) {
		t.Fatalf("err = %v, want ErrUnknownTopic", err)
	}
	if _, err := ParseCursor("x.1"); !errors.Is(err, ErrBadCursor) {
		t.Fatalf("ParseCursor: %v", err)
	}
	if c, err := ParseCursor("12.3"); err != nil || c != (Cursor{Index: 12, Local: 3, HasLocal: true}) {
		t.Fatalf("ParseCursor(12.3) = %+v, %v", c, err)
	}
}

// TestResumeExactly consumes part of a stream that mixes receipts and
// node-local events, drops the subscriber, and resumes from the last ID
// seen: the resumed stream continues with exactly the next event.
func TestResumeExactly(t *testing.T) {
	h := newHarness(t, Config{})
	h.apply(create("a"))
	h.b.Publish(Event{Topic: TopicMember, Type: TypeMemberJoined, Member: "n2"})
	h.apply(create("b"), create("c"))
	h.b.Publish(Event{Topic: TopicLeader, Type: TypeLeaderChanged, Leader: "n2"})
	h.apply(act("WO-1", fsm.ActionStart))

	full := subscribe(t, h.b, Filter{}, &Cursor{})
	all := take(t, full, 6)
	want := []string{"workorder.created", "member.joined",
		"workorder.created", "workorder.created", "leader.changed",
		"workorder.started"}
	if !slices.Equal(types(all), want) {
		t.Fatalf("types = %v\nwant %v", types(all), want)
	}
	if all[1].ID != "1.1" || all[2].ID != "" || all[4].ID != "2.2" || all[5].ID != "3.2" {
		t.Fatalf("ids: %q %q %q %q", all[1].ID, all[2].ID, all[4].ID, all[5].ID)
	}
	// Resume after every ID in turn: each resumed stream starts right after it.
	for i, e := range all {
		if e.ID == "" {
			continue
		}
		c, err := ParseCursor(e.ID)
		if err != nil {
			t.Fatal(err)
		}
		s := subscribe(t, h.b, Filter{}, &c)
		rest := take(t, s, len(all)-i-1)
		if !slices.Equal(types(rest), want[i+1:]) {
			t.Errorf("after %q: %v, want %v", e.ID, types(rest), want[i+1:])
		}
		s.Close()
	}
	// And the live stream goes on after a resume.
	c, _ := ParseCursor(all[5].ID)
	s := subscribe(t, h.b, Filter{}, &c)
	h.apply(act("WO-1", fsm.ActionComplete))
	if e := next(t, s); e.Type != TypeWorkOrderCompleted || e.Index != 4 {
		t.Fatalf("after resume: %+v", e)
	}
}

// TestResumeFromIndex starts at a raft index (the ?index= form): events of
// lower indexes are skipped, node-local events stamped at or after it kept.
func TestResumeFromIndex(t *testing.T) {
	h := newHarness(t, Config{})
	h.apply(create("a"))
	h.apply(create("b"))
	h.b.Publish(Event{Topic: TopicMember, Type: TypeMemberFailed, Member: "n3"}) // stamped 2
	h.apply(create("c"))
	s := subscribe(t, h.b, Filter{}, &Cursor{Index: 1}) // from index 2
	got := take(t, s, 3)
	if !slices.Equal(types(got), []string{"workorder.created", "member.failed", "workorder.created"}) {
		t.Fatalf("got %v", types(got))
	}
	if got[0].WorkOrder != "WO-2" || got[1].Index != 2 {
		t.Fatalf("got %+v / %+v", got[0], got[1])
	}
}

func TestGapWhenLocalEventsEvicted(t *testing.T) {
	h := newHarness(t, Config{RingSize: 3})
	h.apply(create("a"))
	for i := range 5 {
		h.b.Publish(Event{Topic: TopicMember, Type: TypeMemberJoined, Member: fmt.Sprint("n", i)})
		h.apply(create("x"))
	}
	s := subscribe(t, h.b, Filter{Topics: []Topic{TopicMember}}, &Cursor{})
	gap := next(t, s)
	if gap.Type != TypeGap || gap.Topic != TopicStream || gap.Index != 3 || gap.Reason == "" {
		t.Fatalf("first event = %+v, want a gap naming index 3", gap)
	}
	got := take(t, s, 3)
	for i, e := range got {
		if e.Member != fmt.Sprint("n", i+2) {
			t.Errorf("event %d = %+v, want member n%d", i, e, i+2)
		}
	}
	// A stream of work-order topics only never reports node-local gaps.
	w := subscribe(t, h.b, onlyWO, &Cursor{})
	if e := next(t, w); e.Type != TypeWorkOrderCreated {
		t.Fatalf("work-order stream began with %+v", e)
	}
}

func TestGapBeforeProcessStart(t *testing.T) {
	h := newHarness(t, Config{StartIndex: 5})
	for range 5 {
		h.apply(create("a"))
	}
	s := subscribe(t, h.b, Filter{}, &Cursor{Index: 2})
	if e := next(t, s); e.Type != TypeGap || e.Index != 5 {
		t.Fatalf("first event = %+v, want a gap at 5", e)
	}
	// From the start index on there is nothing to report.
	s2 := subscribe(t, h.b, Filter{}, &Cursor{Index: 5})
	h.apply(create("b"))
	if e := next(t, s2); e.Type != TypeWorkOrderCreated || e.Index != 6 {
		t.Fatalf("got %+v", e)
	}
}

func TestSlowConsumerCutOff(t *testing.T) {
	h := newHarness(t, Config{Buffer: 4})
	s := subscribe(t, h.b, onlyWO, nil)
	waitFor(t, "the subscriber to go live", func() bool { return h.b.Stats().Live == 1 })
	// Commits never wait for the subscriber, which reads nothing: it is
	// cut off once it has left more than 4 events unread for a round.
	waitFor(t, "the cutoff", func() bool {
		h.apply(create("w"))
		return h.b.Stats().Cutoffs == 1
	})
	fin := waitClosed(t, s)
	if fin == nil || fin.Type != TypeCutoff || fin.Code != CutoffSlowConsumer || fin.Resume == "" {
		t.Fatalf("final = %+v, want a slow_consumer cutoff with a resume cursor", fin)
	}
	if h.b.Stats().Cutoffs != 1 {
		t.Fatalf("stats: %+v", h.b.Stats())
	}
	// Resuming from the cutoff's cursor loses nothing.
	c, err := ParseCursor(fin.Resume)
	if err != nil {
		t.Fatal(err)
	}
	r := subscribe(t, h.b, onlyWO, &c)
	e := next(t, r)
	if want := fmt.Sprint("WO-", c.Index+1); e.WorkOrder != want {
		t.Fatalf("resumed at %s, want %s", e.WorkOrder, want)
	}
}

// TestLongReplaySmallBuffer replays far more than the buffer: a
// catching-up subscriber is paced, never cut off.
func TestLongReplaySmallBuffer(t *testing.T) {
	h := newHarness(t, Config{Buffer: 2})
	for range 600 {
		h.apply(create("w"))
	}
	s := subscribe(t, h.b, onlyWO, &Cursor{})
	for i := range 600 {
		if e := next(t, s); e.WorkOrder != fmt.Sprint("WO-", i+1) {
			t.Fatalf("event %d = %+v", i, e)
		}
	}
	h.apply(create("live"))
	if e := next(t, s); e.WorkOrder != "WO-601" {
		t.Fatalf("live event %+v", e)
	}
}

// TestConcurrentSubscribers subscribes from many points while commits
// stream in: every subscriber sees each receipt exactly once, in order.
func TestConcurrentSubscribers(t *testing.T) {
	h := newHarness(t, Config{Buffer: 64})
	const total = 400
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for k := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from := &Cursor{Index: uint64(k * 20)}
			s, err := h.b.Subscribe(context.Background(), Filter{Topics: []Topic{TopicReceipt}}, from)
			if err != nil {
				errs <- err
				return
			}
			r := &sub{Subscription: s}
			defer func() { r.Close() }()
			want := uint64(k*20) + 1
			for want <= total {
				if !r.fill(t) {
					// Cut off: resume where it stopped, as a client would.
					fin := r.Final()
					if fin == nil || fin.Code != CutoffSlowConsumer {
						errs <- fmt.Errorf("subscriber %d ended: %+v", k, fin)
						return
					}
					c, _ := ParseCursor(fin.Resume)
					if s, err = h.b.Subscribe(context.Background(), Filter{Topics: []Topic{TopicReceipt}}, &c); err != nil {
						errs <- err
						return
					}
					r = &sub{Subscription: s}
					continue
				}
				e := r.q[0]
				r.q = r.q[1:]
				if e.Receipt != want {
					errs <- fmt.Errorf("subscriber %d: receipt %d, want %d", k, e.Receipt, want)
					return
				}
				want++
			}
		}()
	}
	for range total {
		h.apply(create("w"))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestShutdownEndsStreams(t *testing.T) {
	h := newHarness(t, Config{})
	live := subscribe(t, h.b, Filter{}, nil)
	h.apply(create("a"))
	next(t, live)
	h.stop()
	fin := waitClosed(t, live)
	if fin == nil || fin.Code != CutoffShutdown {
		t.Fatalf("final = %+v", fin)
	}
	if _, err := h.b.Subscribe(context.Background(), Filter{}, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("subscribe after stop: %v", err)
	}
}

func TestMaxSubscribers(t *testing.T) {
	h := newHarness(t, Config{MaxSubscribers: 2})
	a := subscribe(t, h.b, Filter{}, nil)
	subscribe(t, h.b, Filter{}, nil)
	if _, err := h.b.Subscribe(context.Background(), Filter{}, nil); !errors.Is(err, ErrTooManySubscribers) {
		t.Fatalf("third subscribe: %v", err)
	}
	a.Close()
	waitClosed(t, a)
	waitFor(t, "the slot to free", func() bool { return h.b.Stats().Subscribers == 1 })
	subscribe(t, h.b, Filter{}, nil)
}

// TestAndonAndSLATopics checks that andon and SLA receipts produce events
// of their own topics, which the work order's stream includes.
func TestAndonAndSLATopics(t *testing.T) {
	h := newHarness(t, Config{})
	andon := subscribe(t, h.b, Filter{Topics: []Topic{TopicAndon}}, nil)
	sla := subscribe(t, h.b, Filter{Topics: []Topic{TopicSLA}}, nil)
	all := subscribe(t, h.b, Filter{WorkOrder: "WO-1"}, nil)
	wo := subscribe(t, h.b, onlyWO, nil)
	c := create("late")
	c.Spec.Bucket = "security"
	h.apply(c)
	h.apply(&fsm.AndonTrigger{Header: fsm.Header{Time: h.now + 1e9, Node: "node-1"}, WorkOrder: "WO-1", Class: "agent_failure", Reason: "exit 137"})
	h.apply(&fsm.AndonResolve{Header: fsm.Header{Time: h.now + 2e9, Node: "node-1"}, ID: "AN-1", Resolution: "more memory"})
	year := int64(365 * 24 * time.Hour)
	h.apply(&fsm.SLAEvent{Header: fsm.Header{Time: h.now + year, Node: "node-1"}, ID: "WO-1", Kind: fsm.SLABreach})

	if got := types(take(t, andon, 2)); !slices.Equal(got, []string{TypeAndonTriggered, TypeAndonResolved}) {
		t.Errorf("andon topic: %v", got)
	}
	if e := next(t, sla); e.Type != TypeSLABreached || e.WorkOrder != "WO-1" || e.Topic != TopicSLA {
		t.Errorf("sla topic: %+v", e)
	}
	for name, s := range map[string]*sub{"WO-1 filter": all, "workorder topic": wo} {
		got := takeUntil(t, s, TypeSLABreached)
		if types(got)[0] != TypeWorkOrderCreated || !slices.Contains(types(got), TypeAndonTriggered) {
			t.Errorf("%s: %v, want the creation and the andon", name, types(got))
		}
		for i := 1; i < len(got); i++ {
			if got[i].Receipt <= got[i-1].Receipt {
				t.Errorf("%s: receipt %d after %d: each receipt once, in order", name, got[i].Receipt, got[i-1].Receipt)
			}
		}
	}
}

// takeUntil receives events up to and including the first of type typ.
func takeUntil(t *testing.T, s *sub, typ string) []Event {
	t.Helper()
	var out []Event
	for len(out) == 0 || out[len(out)-1].Type != typ {
		out = append(out, next(t, s))
	}
	return out
}
