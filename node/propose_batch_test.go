package node_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/hive-swarm/hive/fsm"
	"github.com/hive-swarm/hive/node/nodetest"
)

func createCmd(title, reqID string) *fsm.CreateWorkOrder {
	return &fsm.CreateWorkOrder{
		Header: fsm.Header{RequestID: reqID},
		Spec:   fsm.WorkOrderSpec{Title: title, Bucket: "features"},
	}
}

// TestProposeBatchOneEntry checks that ProposeBatch commits its valid
// commands in one log entry, refuses an invalid one alone, and answers a
// retry with the first outcomes.
func TestProposeBatchOneEntry(t *testing.T) {
	c := nodetest.NewCluster(t, 3)
	leader := c.Node(c.WaitForLeader())
	waitConfig(t, c, 3, 0)
	batch := func() []fsm.Command {
		var cmds []fsm.Command
		for i := range 40 {
			cmds = append(cmds, createCmd(fmt.Sprintf("wo %d", i), fmt.Sprintf("req-%d", i)))
		}
		cmds[7] = createCmd("", "req-bad") // no title
		return cmds
	}
	results, errs := leader.ProposeBatch(ctxT(t), batch())
	ids := map[string]int{}
	var index uint64
	for i := range results {
		if i == 7 {
			var fe *fsm.Error
			if !errors.As(errs[i], &fe) || fe.Code != fsm.ErrInvalidArgument.Code || results[i] != nil {
				t.Fatalf("invalid command: %v, %+v", errs[i], results[i])
			}
			continue
		}
		if errs[i] != nil || results[i] == nil || results[i].WorkOrder == nil {
			t.Fatalf("command %d: %v, %+v", i, errs[i], results[i])
		}
		if index == 0 {
			index = results[i].Index
		}
		if results[i].Index != index {
			t.Fatalf("command %d committed at index %d, the first at %d: the batch was split", i, results[i].Index, index)
		}
		if want := fmt.Sprintf("wo %d", i); results[i].WorkOrder.Title != want {
			t.Fatalf("command %d got %q's answer", i, results[i].WorkOrder.Title)
		}
		ids[results[i].WorkOrder.ID] = i
	}
	if len(ids) != 39 {
		t.Fatalf("%d distinct work orders, want 39", len(ids))
	}
	// The same request IDs again: the same work orders, nothing new.
	again, errs := leader.ProposeBatch(ctxT(t), batch())
	for i, r := range again {
		if i == 7 {
			continue
		}
		if errs[i] != nil || ids[r.WorkOrder.ID] != i {
			t.Fatalf("retry of command %d: %v, %+v", i, errs[i], r.WorkOrder)
		}
	}
}

// TestForwardedCreates sends creates to a follower at once: each gets its
// own work order, they share few log entries, and a refused create gets
// the very answer the leader gives.
func TestForwardedCreates(t *testing.T) {
	c := nodetest.NewCluster(t, 3)
	li := c.WaitForLeader()
	waitConfig(t, c, 3, 0)
	leader, follower := c.Node(li), c.Node((li+1)%3)
	post := func(addr, body, key string) (int, http.Header, []byte) {
		req, err := http.NewRequestWithContext(ctxT(t), http.MethodPost, "http://"+addr+"/v1/workorders", bytes.NewReader([]byte(body)))
		if err != nil {
			t.Error(err)
			return 0, nil, nil
		}
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return 0, nil, nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, b
	}
	const n = 60
	var mu sync.Mutex
	bodies, indexes := map[string]bool{}, map[string]bool{}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, h, b := post(follower.HTTPAddr(), fmt.Sprintf(`{"title":"fwd %d"}`, i), fmt.Sprintf("fwd-%d", i))
			mu.Lock()
			defer mu.Unlock()
			if status != http.StatusCreated || h.Get("X-Hive-Index") == "" || !bytes.Contains(b, fmt.Appendf(nil, `"title":"fwd %d"`, i)) {
				t.Errorf("create %d: %d %s", i, status, b)
			}
			bodies[string(b)], indexes[h.Get("X-Hive-Index")] = true, true
		}()
	}
	wg.Wait()
	if len(bodies) != n {
		t.Fatalf("%d distinct answers to %d creates", len(bodies), n)
	}
	t.Logf("%d forwarded creates took %d log entries", n, len(indexes))

	// A retry through the follower answers with the same work order.
	_, _, first := post(leader.HTTPAddr(), `{"title":"once"}`, "once")
	status, _, again := post(follower.HTTPAddr(), `{"title":"once"}`, "once")
	if status != http.StatusCreated || !bytes.Equal(first, again) {
		t.Fatalf("retry via the follower: %d %s, first %s", status, again, first)
	}
	// Refusals read the same from the follower as from the leader.
	for _, body := range []string{`{"title":`, `{"title":""}`, `{"title":"x","bucket":"nope"}`, `{"title":"x","nope":1}`} {
		ls, lh, lb := post(leader.HTTPAddr(), body, "")
		fs, fh, fb := post(follower.HTTPAddr(), body, "")
		if ls != fs || !bytes.Equal(lb, fb) || lh.Get("Content-Type") != fh.Get("Content-Type") || ls < 400 {
			t.Fatalf("%s: leader %d %s, follower %d %s", body, ls, lb, fs, fb)
		}
	}
}
