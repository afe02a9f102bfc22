package events

import (
	"encoding/json"
	"testing"

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
	es := take(t, all, 7)
	for _, e := range es {
		if e.enc == nil {
			t.Errorf("%s has no shared encoding", e.Type)
		}
		check(e)
	}
	if es[0].ID != "" || es[3].ID == "" {
		t.Errorf("IDs %q %q: want none mid-index, one at its end", es[0].ID, es[3].ID)
	}
	rs := take(t, rc, 3)
	for _, e := range rs {
		check(e)
	}
	if rs[0].enc != es[1].enc {
		t.Error("two subscribers of one event do not share its encoding")
	}
	check(Event{ID: `x"y`, Topic: TopicStream, Type: TypeCutoff, Reason: "<b>"}) // no shared encoding
	e := es[1]
	e.ID = `a"b` // not a cursor: encoded on its own
	check(e)
}
