package dashboard_test

import (
	"net/http"
	"regexp"
	"testing"

	"github.com/hive-swarm/hive/dashboard"
	"github.com/hive-swarm/hive/events"
	"github.com/hive-swarm/hive/fsm"
)

// receiptEvents are the receipt event names of package fsm; each one is
// streamed as the event type events.ReceiptType gives it. fsm has no
// exported list, so a new receipt event must be added here too.
var receiptEvents = []string{
	fsm.EventCreated, fsm.EventStarted, fsm.EventAdvanced, fsm.EventProgressed,
	fsm.EventCompleted, fsm.EventFailed, fsm.EventCancelled, fsm.EventRequeued,
	fsm.EventBlocked, fsm.EventUnblocked, fsm.EventDependencyAdded, fsm.EventDependencyRemoved,
	fsm.EventDependencyFailed, fsm.EventDependencyCancelled, fsm.EventChildAdded,
	fsm.EventSchedulerConfigured, fsm.EventAssigned, fsm.EventRetryScheduled, fsm.EventStaleRejected,
	fsm.EventAndonTriggered, fsm.EventAndonUpdated, fsm.EventAndonResolved,
	fsm.EventSLAWarning, fsm.EventSLABreach,
}

// TestStreamListensToEveryEventType checks that the page's eventTypes
// (stream.js) name every event type the node emits: EventSource only
// delivers a named SSE event to a listener for that name, so a missing
// type would be dropped silently.
func TestStreamListensToEveryEventType(t *testing.T) {
	res, body := get(t, dashboard.Handler(), http.MethodGet, "/ui/stream.js")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /ui/stream.js: status %d", res.StatusCode)
	}
	list := regexp.MustCompile(`(?s)export const eventTypes = \[(.*?)\];`).FindStringSubmatch(body)
	if list == nil {
		t.Fatal("stream.js: no `export const eventTypes = [...];`")
	}
	listened := map[string]bool{}
	for _, m := range regexp.MustCompile(`'([^']*)'`).FindAllStringSubmatch(list[1], -1) {
		if listened[m[1]] {
			t.Errorf("stream.js: %q is listed twice", m[1])
		}
		listened[m[1]] = true
	}

	emitted := []string{
		events.TypeReceiptAppended, events.TypeMemberJoined, events.TypeMemberFailed, events.TypeMemberLeft,
		events.TypeLeaderChanged, events.TypeAndonTriggered, events.TypeAndonUpdated, events.TypeAndonResolved,
		events.TypeSLAWarning, events.TypeSLABreached, events.TypeGap, events.TypeCutoff,
		events.TypeWorkOrderCreated, events.TypeWorkOrderAssigned, events.TypeWorkOrderStarted,
		events.TypeWorkOrderProgress, events.TypeWorkOrderCompleted, events.TypeWorkOrderFailed,
		events.TypeWorkOrderCancelled, events.TypeWorkOrderUnblocked,
	}
	for _, e := range receiptEvents {
		for _, wo := range []string{"", "WO-1"} {
			_, typ := events.ReceiptType(&fsm.Receipt{Event: e, WorkOrder: wo})
			emitted = append(emitted, typ)
		}
	}
	want := map[string]bool{}
	for _, typ := range emitted {
		want[typ] = true
		if !listened[typ] {
			t.Errorf("stream.js: eventTypes lacks %q", typ)
		}
	}
	for typ := range listened {
		if !want[typ] {
			t.Errorf("stream.js: eventTypes lists %q, which the node never emits", typ)
		}
	}
}
