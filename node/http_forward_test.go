package node

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/hive-swarm/hive/api"
)

// newFollower returns a follower API whose leader is the given API.
func newFollower(t *testing.T, name string, leader *testAPI) *testAPI {
	t.Helper()
	b := newFSMBackend(t, name)
	b.notLeader = true
	if leader != nil {
		b.leaderName = leader.b.name
		b.leaderHTTP = leader.srv.Listener.Addr().String()
	} else {
		b.leaderName = ""
	}
	return newTestAPIWith(t, b)
}

func TestHTTPForwardToLeader(t *testing.T) {
	l := newTestAPI(t)
	f := newFollower(t, "n2", l)

	// A write on the follower is applied by the leader, once per key.
	var wo, again api.WorkOrder
	f.do("POST", "/v1/workorders", `{"title":"via follower"}`, headerIdempotencyKey, "fw-1").ok(t, http.StatusCreated, &wo)
	f.do("POST", "/v1/workorders", `{"title":"via follower"}`, headerIdempotencyKey, "fw-1").ok(t, http.StatusCreated, &again)
	if wo.ID != "WO-1" || again.ID != wo.ID || l.b.view().WorkOrderCount() != 1 || f.b.proposalCount() != 0 {
		t.Fatalf("forwarded write: %+v %+v, leader has %d", wo, again, l.b.view().WorkOrderCount())
	}
	// Business errors come back as the leader gave them.
	f.do("POST", "/v1/workorders/WO-1/complete", nil).apiErr(t, http.StatusConflict, "invalid_transition")
	// Bad input is refused: the follower forwards it undecoded, the leader
	// validates it before proposing anything.
	proposals := l.b.proposalCount()
	f.do("POST", "/v1/workorders", `{"title":""}`).apiErr(t, http.StatusBadRequest, "invalid_argument")
	if l.b.proposalCount() != proposals {
		t.Fatal("bad input was proposed")
	}

	// A linearizable read is answered by the leader; ?stale locally.
	var list api.WorkOrderList
	r := f.do("GET", "/v1/workorders", nil)
	r.ok(t, 200, &list)
	if len(list.WorkOrders) != 1 || r.header.Get(headerIndex) == "" {
		t.Fatalf("forwarded read: %+v %v", list, r.header)
	}
	f.do("GET", "/v1/workorders?stale", nil).ok(t, 200, &list)
	if len(list.WorkOrders) != 0 {
		t.Fatalf("stale read was forwarded: %+v", list)
	}
	// Streaming answers pass through.
	chain := parseExport(t, f.do("GET", "/v1/receipts/export", nil).body)
	if len(chain) != 1 {
		t.Fatalf("forwarded export: %d receipts", len(chain))
	}
}

func TestHTTPForwardRefusals(t *testing.T) {
	// No leader known.
	f := newFollower(t, "n2", nil)
	e := f.do("POST", "/v1/workorders", `{"title":"x"}`).apiErr(t, http.StatusServiceUnavailable, "no_leader")
	if !strings.Contains(e.Message, "no leader is known") {
		t.Fatalf("message %q", e.Message)
	}
	f.do("GET", "/v1/workorders", nil).apiErr(t, http.StatusServiceUnavailable, "no_leader")

	// Two nodes that each think the other leads: one hop, then refusal.
	a, b := newFollower(t, "a", nil), newFollower(t, "b", nil)
	a.b.set(func(x *fsmBackend) { x.leaderName, x.leaderHTTP = "b", b.srv.Listener.Addr().String() })
	b.b.set(func(x *fsmBackend) { x.leaderName, x.leaderHTTP = "a", a.srv.Listener.Addr().String() })
	e = a.do("POST", "/v1/workorders", `{"title":"x"}`).apiErr(t, http.StatusServiceUnavailable, "no_leader")
	if !strings.Contains(e.Message, "forwarded") {
		t.Fatalf("message %q", e.Message)
	}

	// A leader that hangs up: the outcome of a write is unknown. (A
	// closed port would do, but the kernel may hand it to another
	// listener of this test meanwhile.)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hungUp := make(chan struct{})
	go func() {
		defer close(hungUp)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			_ = conn.Close()
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); <-hungUp })
	dead := ln.Addr().String()
	c := newFollower(t, "c", nil)
	c.b.set(func(x *fsmBackend) { x.leaderName, x.leaderHTTP = "gone", dead })
	e = c.do("POST", "/v1/workorders", `{"title":"x"}`).apiErr(t, http.StatusServiceUnavailable, "no_leader")
	if !strings.Contains(e.Message, "Idempotency-Key") {
		t.Fatalf("message %q", e.Message)
	}
}
