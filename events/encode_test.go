package events

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/hive-swarm/hive/fsm"
)

// TestAppendJSONMatchesMarshal checks that the shared encoding gives the
// bytes json.Marshal gives, with each subscriber's own ID spliced in, and
// that every subscriber of an event shares one encoding.
func TestAppendJSONMatchesMarshal(t *testing.T) {
	h := newHarness(t, Config{})
	all := subscribe(t, h.b, Filter{}, nil)
	rc := subscribe(t, h.b, Filter{Topics: []Topic{TopicReceipt}}, nil)
	waitFor(t, "both subscribers live", func() bool { return h.b.Stats().Live == 2 })
	h.apply(create("a"), create("b")) // one index, two receipts: the first events carry no ID
	h.b.Publish(Event{Topic: TopicMember, Type: TypeMemberJoined, Member: "n2", Addr: "<&>"})
	h.apply(act("WO-1", fsm.ActionCancel))

	check := func(e Event) {
		t.Helper()
		want, err := json.Marshal(&e)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.AppendJSON([]byte("x")); string(got) != "x"+string(want) {
			t.Errorf("AppendJSON:\n got %s\nwant x%s", got, want)
		}
	}
	es := take(t, all, 4)
	for _, e := range es {
		if e.enc == nil {
			t.Errorf("%s has no shared encoding", e.Type)
		}
		check(e)
	}
	if es[0].ID != "" || es[1].ID == "" {
		t.Errorf("IDs %q %q: want none mid-index, one at its end", es[0].ID, es[1].ID)
	}
	rs := take(t, rc, 3)
	for _, e := range rs {
		check(e)
	}
	if rs[0].enc != es[0].enc || rs[1].enc != es[1].enc {
		t.Error("two subscribers of one event do not share its encoding")
	}
	check(Event{ID: `x"y`, Topic: TopicStream, Type: TypeCutoff, Reason: "<b>"}) // no shared encoding
	e := es[1]
	e.ID = `a"b` // not a cursor: encoded on its own
	check(e)
}

// TestAppendEventJSONMatchesMarshal checks the reflection-free encoder
// against json.Marshal, field by field and with strings that need
// escaping.
func TestAppendEventJSONMatchesMarshal(t *testing.T) {
	strs := []string{"", "plain", "WO-12", `q"uote`, `back\slash`, "<b>&amp;</b>", "tab\there", "nl\n", "\x01ctl",
		"héllo", "\u2028sep\u2029", "bad\xffutf8", "emoji 🐝", "del\x7f"}
	times := []time.Time{{}, time.Unix(1_700_000_000, 123456789).UTC(), time.Unix(1_700_000_000, 0).UTC(),
		time.Unix(1_700_000_000, 5000).In(time.FixedZone("x", -5*3600-30*60)), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	var evs []Event
	for i, s := range strs {
		e := Event{ID: s, Index: uint64(i), Topic: Topic(s), Type: s, Time: times[i%len(times)],
			WorkOrder: s, Event: s, From: s, To: s, Attempt: uint64(i % 2), Node: s, Agent: s, Receipt: uint64(i * 7 % 3),
			Hash: s, LocalSeq: uint64(i % 3), Member: s, Status: s, Addr: s, Leader: s, Observer: s, Code: s, Reason: s, Resume: s}
		if i%3 == 1 {
			e.Topics = []Topic{Topic(s), TopicMember}
		}
		evs = append(evs, e)
		evs = append(evs, Event{Index: uint64(i), Type: s, Time: times[(i+1)%len(times)], Reason: s})
	}
	for _, e := range evs {
		want, werr := json.Marshal(&e)
		got, ok := appendEventJSON([]byte("x"), &e)
		if !ok {
			if werr == nil {
				t.Errorf("appendEventJSON declined %+v, which json.Marshal encodes", e)
			}
			continue
		}
		if werr != nil || string(got) != "x"+string(want) {
			t.Errorf("appendEventJSON:\n got %s\nwant x%s (%v)", got, want, werr)
		}
	}
}

// TestAppendFramesMatchesEvents reads the same stream as events and as
// SSE and NDJSON frames: the frames are the events' own, byte for byte,
// with the JSON of json.Marshal and each subscriber's IDs.
func TestAppendFramesMatchesEvents(t *testing.T) {
	h := newHarness(t, Config{})
	h.apply(create("a"), create("b"))
	h.b.Publish(Event{Topic: TopicMember, Type: TypeMemberJoined, Member: "n2", Addr: "<&>"})
	h.apply(act("WO-1", fsm.ActionCancel))
	for _, f := range []Filter{{}, {Topics: []Topic{TopicReceipt}}, {WorkOrder: "WO-2"}} {
		evs := subscribe(t, h.b, f, &Cursor{})
		frames := map[Format]*Subscription{}
		for _, format := range []Format{FormatSSE, FormatNDJSON} {
			s, err := h.b.Subscribe(context.Background(), f, &Cursor{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			frames[format] = s
		}
		want := 4
		switch {
		case len(f.Topics) > 0:
			want = 3
		case f.WorkOrder != "":
			want = 1
		}
		es := take(t, evs, want)
		for format, s := range frames {
			var exp, got []byte
			for i := range es {
				exp = es[i].AppendFrame(exp, format)
				if format == FormatNDJSON {
					j, _ := json.Marshal(&es[i])
					if string(es[i].AppendFrame(nil, format)) != string(j)+"\n" {
						t.Errorf("NDJSON frame %s, want %s", es[i].AppendFrame(nil, format), j)
					}
				}
			}
			waitFor(t, "the frames", func() bool {
				var ok bool
				got, _, ok = s.AppendFrames(got, format)
				return !ok || len(got) >= len(exp)
			})
			if string(got) != string(exp) {
				t.Errorf("filter %+v format %d:\n got %s\nwant %s", f, format, got, exp)
			}
		}
	}
}
