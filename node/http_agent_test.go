package node

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/hive-swarm/hive/api"
)

func TestHTTPMembersAndStatus(t *testing.T) {
	a := newTestAPI(t)
	a.create(&api.CreateWorkOrderRequest{Title: "x"})
	var ml api.MemberList
	r := a.do("GET", "/v1/members", nil)
	r.ok(t, 200, &ml)
	if len(ml.Members) != 1 || ml.Members[0].Name != "n1" || r.header.Get(headerKnownLeader) != "true" {
		t.Fatalf("members %+v", ml)
	}
	var st api.Status
	r = a.do("GET", "/v1/status", nil)
	r.ok(t, 200, &st)
	if st.Node != "n1" || st.WorkOrders != 1 || st.Receipts != 1 || len(st.ChainHead) != 64 || r.header.Get(headerIndex) != "1" {
		t.Fatalf("status %+v, headers %v", st, r.header)
	}
}

func TestHTTPAgentJoin(t *testing.T) {
	a := newTestAPI(t)
	var res joinResult
	a.do("PUT", "/v1/agent/join?address=10.0.0.1:7072&address=10.0.0.2:7072", nil).ok(t, 200, &res)
	if res.Joined != 2 || !slices.Equal(a.b.joinedAddrs(), []string{"10.0.0.1:7072", "10.0.0.2:7072"}) {
		t.Fatalf("joined %+v %v", res, a.b.joinedAddrs())
	}
	a.do("PUT", "/v1/agent/join", nil).apiErr(t, 400, "invalid_argument")
	a.do("PUT", "/v1/agent/join?address=", nil).apiErr(t, 400, "invalid_argument")
	a.do("PUT", "/v1/agent/join?addr=x:1", nil).apiErr(t, 400, "invalid_argument")
}

func TestHTTPAgentLeave(t *testing.T) {
	b := newFSMBackend(t, "n1")
	b.leaveC = make(chan struct{})
	a := newTestAPIWith(t, b)
	a.do("PUT", "/v1/agent/leave", nil).ok(t, 200, nil) // answered before the leave finishes
	a.do("PUT", "/v1/agent/leave", nil).ok(t, 200, nil) // a second request starts nothing
	deadline := time.Now().Add(5 * time.Second)
	for b.leaves.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("leave never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(b.leaveC)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.s.stop(ctx); err != nil {
		t.Fatal(err)
	}
	if n := b.leaves.Load(); n != 1 {
		t.Fatalf("Leave called %d times", n)
	}
}

// TestHTTPStopCancelsLeave: a shutdown while a leave hangs cancels it and
// still waits for its goroutine.
func TestHTTPStopCancelsLeave(t *testing.T) {
	b := newFSMBackend(t, "n1")
	b.leaveC = make(chan struct{}) // never closed
	a := newTestAPIWith(t, b)
	a.do("PUT", "/v1/agent/leave", nil).ok(t, 200, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.s.stop(ctx); err != nil {
		t.Fatal(err)
	}
	if b.leaves.Load() != 1 {
		t.Fatal("leave did not run")
	}
}
