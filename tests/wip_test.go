package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hive-swarm/hive/api"
)

// TestWIPLimitsHoldAcrossLeaderKill runs three `hive agent` processes
// with 12 test-agent slots between them and stage WIP limits far below
// that (code 3, design 2), submits 36 sleeping work orders from
// concurrent clients, and kills (SIGKILL) the leader while work is in
// flight. From the receipt chain of a survivor, replayed in order, it
// checks that the number of work orders in flight per stage never
// exceeded its limit, before, during or after the leader change; that no
// work order was assigned while it was already in flight (no duplicate
// assignment); and that every work order completed exactly once.
func TestWIPLimitsHoldAcrossLeaderKill(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test; run without -short")
	}
	agents := newAgents(t, 3)
	leader := startWithTestAgent(t, agents, 4, fastFailover...)
	limits := map[string]int{"code": 3, "design": 2}
	agents[leader].cli("scheduler", "set", "--stage-wip", "code=3,design=2")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const perStage = 18
	stageOf := make(map[string]string)
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, 2*perStage)
	for i, a := range agents {
		c := a.client()
		for j := range 2 * perStage / len(agents) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				stage := "code"
				if j%2 == 1 {
					stage = "design"
				}
				wo, err := c.WorkOrders().Create(ctx, &api.CreateWorkOrderRequest{
					Title: fmt.Sprintf("wip %d-%d", i, j), Type: "test", Stage: stage,
					Payload: json.RawMessage(`{"mode":"sleep","duration":"400ms"}`),
				})
				if err != nil {
					errs <- fmt.Errorf("create on %s: %w", a.name, err)
					return
				}
				mu.Lock()
				stageOf[wo.ID] = stage
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total := len(stageOf)

	// Kill the leader once it has assigned some of the work.
	waitFor(t, 30*time.Second, "some work running", func() error {
		st, err := agents[leader].status()
		if err != nil {
			return err
		}
		var l api.WorkOrderList
		if err := getJSON(agents[leader].addr()+"/v1/workorders?state=completed&limit=1000", &l); err != nil {
			return err
		}
		if len(l.WorkOrders) < 4 {
			return fmt.Errorf("%d completed at index %d", len(l.WorkOrders), st.AppliedIndex)
		}
		return nil
	})
	agents[leader].kill()
	survivor := agents[(leader+1)%len(agents)]
	waitAllCompleted(t, 90*time.Second, survivor.addr(), slices.Collect(maps.Keys(stageOf)), true)

	export := survivor.cli("--stale", "receipt", "export")
	inFlight := make(map[string]bool)
	running := make(map[string]int)
	peak := make(map[string]int)
	completions := make(map[string]int)
	requeues := 0
	for _, r := range parseReceipts(t, export) {
		stage, ok := stageOf[r.WorkOrder]
		if !ok {
			continue
		}
		switch r.Event {
		case "assigned", "started":
			if inFlight[r.WorkOrder] {
				t.Errorf("receipt %d: %s %s while already in flight", r.Seq, r.WorkOrder, r.Event)
			}
			inFlight[r.WorkOrder] = true
			running[stage]++
			peak[stage] = max(peak[stage], running[stage])
			if running[stage] > limits[stage] {
				t.Errorf("receipt %d: %d work orders of stage %s in flight, limit %d", r.Seq, running[stage], stage, limits[stage])
			}
		default:
			if r.To == "" || r.To == "in_progress" || r.To == "review" || r.To == "testing" || !inFlight[r.WorkOrder] {
				break
			}
			// Any transition out of flight: completed, failed, queued
			// again (requeued, retry_scheduled), cancelled, blocked.
			inFlight[r.WorkOrder] = false
			running[stage]--
			switch r.Event {
			case "completed":
				completions[r.WorkOrder]++
			case "requeued":
				requeues++
			}
		}
	}
	for id := range stageOf {
		if completions[id] != 1 {
			t.Errorf("%s: %d completions, want exactly 1", id, completions[id])
		}
	}
	for stage, limit := range limits {
		if peak[stage] == 0 {
			t.Errorf("stage %s never ran", stage)
		}
		t.Logf("stage %s: peak %d in flight, limit %d", stage, peak[stage], limit)
	}
	t.Logf("%d work orders completed once each; %d attempts requeued from the killed leader", total, requeues)
}
