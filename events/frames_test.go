package events

import (
	"context"
	"testing"

	"github.com/hive-swarm/hive/fsm"
)

// TestFramesSharedLive follows the live stream with several subscribers
// of one shape and one of another: the frames are each event's own,
// byte for byte, with each stream's IDs, and streams of one shape share
// one encoding of each batch.
func TestFramesSharedLive(t *testing.T) {
	h := newHarness(t, Config{})
	ref := subscribe(t, h.b, Filter{}, nil)
	refWO := subscribe(t, h.b, onlyWO, nil)
	var subs []*Subscription
	for _, f := range []Filter{{}, {}, onlyWO} {
		s, err := h.b.Subscribe(context.Background(), f, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		subs = append(subs, s)
	}
	h.apply(create("a"), create("b"))
	h.b.Publish(Event{Topic: TopicMember, Type: TypeMemberJoined, Member: "n2"})
	h.apply(act("WO-1", fsm.ActionStart))
	h.apply(act("WO-1", fsm.ActionComplete))
	sse := func(es []Event) []byte {
		var b []byte
		for i := range es {
			b = es[i].AppendFrame(b, FormatSSE)
		}
		return b
	}
	all := sse(take(t, ref, 5))
	want := map[*Subscription][]byte{subs[0]: all, subs[1]: all, subs[2]: sse(take(t, refWO, 4))}
	got := map[*Subscription][][]byte{}
	for _, s := range subs {
		var joined []byte
		waitFor(t, "the frames", func() bool {
			var ok bool
			var fs [][]byte
			fs, _, ok = s.Frames(nil, FormatSSE)
			got[s] = append(got[s], fs...)
			for _, f := range fs {
				joined = append(joined, f...)
			}
			return !ok || len(joined) >= len(want[s])
		})
		if string(joined) != string(want[s]) {
			t.Errorf("frames:\n got %s\nwant %s", joined, want[s])
		}
	}
	a, b := got[subs[0]], got[subs[1]]
	if len(a) == 0 || len(a) != len(b) || &a[0][0] != &b[0][0] {
		t.Errorf("two streams of one shape do not share their frames")
	}
}
