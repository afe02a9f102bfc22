package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hive-swarm/hive/api"
)

// TestLevelingHoldsAcrossLeaderKill runs three `hive agent` processes with
// 12 test-agent slots between them and the leveling mix reliability 75,
// features 25 (no WIP limits), queues a backlog of 96 sleeping work
// orders at once (72 reliability, 24 features, the features ones of
// higher priority and older), and kills (SIGKILL) the leader once some
// have completed. It then replays the receipt chain of a survivor in
// order and checks, for the old leader's passes and the new one's:
//
//   - the mix: a pass is one entry of assigned receipts. The leader
//     plans it on a view taken after its previous pass and shares the
//     free slots by the Sainte-Laguë divisor method, counting the slots
//     in flight (see cluster.Scheduler.level). Whenever both
//     buckets have more queued work than the pass starts (so the pool is
//     short and no share is capped by demand), a bucket X given the last
//     of its slots still had the least (2·held+1)/weight, so after the
//     pass, for every other bucket Y, (2·h_X − 1)/w_X ≤ (2·h_Y + 1)/w_Y,
//     h counting the work in flight at that view plus the pass's own
//     starts. For 3:1 that is h_rel ≤ 3·h_feat + 2 when reliability got a
//     slot and 3·h_feat ≤ h_rel + 2 when features did: a pass that
//     starts both and fills 8 slots leaves exactly 6:2 in flight, 12
//     slots 9:3. The view is not in the chain: a pass is accepted when
//     one of the states between the previous pass and it that it may
//     have planned on (all of its work orders queued, as many slots free
//     as it starts) satisfies the bound; a pass that no such state
//     explains is an error too;
//   - that no work order was assigned while in flight, and each attempt
//     number was assigned once, in sequence;
//   - that every work order completed exactly once.
func TestLevelingHoldsAcrossLeaderKill(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test; run without -short")
	}
	agents := newAgents(t, 3)
	leader := startWithTestAgent(t, agents, 4, fastFailover...)
	// Reliability 3 to features 1. Features is the urgent bucket (priority
	// high, created first): any order but leveling gives it every slot.
	mix := map[string]int{"reliability": 75, "features": 25}
	agents[leader].cli("scheduler", "set", "--mix", "reliability=75,features=25",
		"--bucket-wip", "reliability=0,features=0")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bucketOf := submitGatedBacklog(ctx, t, agents, map[string]int{"features": 24, "reliability": 72})
	count := func(a *agent, query string) (int, error) {
		var l api.WorkOrderList
		if err := getJSON(a.addr()+"/v1/workorders?type=test&limit=1000&"+query, &l); err != nil {
			return 0, err
		}
		n := 0
		for _, wo := range l.WorkOrders {
			if _, ok := bucketOf[wo.ID]; ok {
				n++
			}
		}
		return n, nil
	}

	// Kill the leader once a wave has completed and the next is running,
	// with most of the backlog still queued: the new leader inherits work
	// in flight.
	waitFor(t, 30*time.Second, "a wave completed and the next running", func() error {
		done, err := count(agents[leader], "state=completed")
		if err != nil {
			return err
		}
		running, err := count(agents[leader], "state=in_progress")
		if err == nil && (done < 12 || running < 8) {
			err = fmt.Errorf("%d of %d completed, %d in progress", done, len(bucketOf), running)
		}
		return err
	})
	// The leader may have changed meanwhile: kill the current one.
	waitFor(t, 30*time.Second, "a leader all nodes agree on", func() (err error) {
		leader, err = leaderOf(agents)
		return err
	})
	oldLeader := agents[leader].name
	agents[leader].kill()
	killedAt := time.Now()
	var survivors []*agent
	for i, a := range agents {
		if i != leader {
			survivors = append(survivors, a)
		}
	}
	waitAllCompleted(t, 90*time.Second, survivors[0].addr(), slices.Collect(maps.Keys(bucketOf)), true)
	t.Logf("killed leader %s; all %d completed %s after the kill", oldLeader, len(bucketOf), time.Since(killedAt).Round(time.Millisecond))

	export := sameVerifiedChain(t, survivors, 60*time.Second)
	capacity := make(map[string]int)
	for _, a := range agents {
		capacity[a.name] = 4
	}
	rep := checkLeveling(t, parseReceipts(t, export), bucketOf, mix, capacity, killedAt)
	for _, ph := range []*levelPhase{&rep.old, &rep.new} {
		t.Logf("%s leader: %d passes, %d checked against the mix (%v started), %d not leveled (a bucket's queue ran short); in flight after the checked passes: %v",
			ph.name, ph.passes, ph.checked, ph.checkedStarts, ph.unleveled, ph.inFlight)
	}
	t.Logf("%d work orders completed once each; %d attempts requeued", len(bucketOf), rep.requeues)
	// Not vacuous: both leaders were checked while the mix mattered.
	if rep.old.checked == 0 {
		t.Errorf("no pass of the old leader was made under shortage")
	}
	if rep.new.checked < 3 || rep.new.checkedStarts["features"] == 0 || rep.new.checkedStarts["reliability"] == 0 {
		t.Errorf("the new leader made %d passes under shortage starting %v; want at least 3 starting both buckets",
			rep.new.checked, rep.new.checkedStarts)
	}
}

// submitGatedBacklog creates a work order nobody runs (no agent type),
// then perBucket sleeping test work orders depending on it, from
// concurrent clients on every agent, and finally starts and completes it
// by hand so that the whole backlog is queued by one entry. Features
// work orders are high priority, the others medium, and features are
// created first. It returns the bucket of each work order.
func submitGatedBacklog(ctx context.Context, t *testing.T, agents []*agent, perBucket map[string]int) map[string]string {
	t.Helper()
	clients := make([]*api.Client, len(agents))
	for i, a := range agents {
		clients[i] = a.client()
	}
	gate, err := clients[0].WorkOrders().Create(ctx, &api.CreateWorkOrderRequest{Title: "leveling gate"})
	if err != nil {
		t.Fatal(err)
	}
	bucketOf := make(map[string]string)
	var mu sync.Mutex
	for _, b := range []string{"features", "reliability"} {
		prio := map[string]string{"features": "high"}[b]
		if prio == "" {
			prio = "medium"
		}
		jobs := make(chan int)
		errs := make(chan error, perBucket[b])
		var wg sync.WaitGroup
		for w := range 2 * len(clients) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range jobs {
					wo, err := clients[w%len(clients)].WorkOrders().Create(ctx, &api.CreateWorkOrderRequest{
						Title: fmt.Sprintf("level %s %d", b, j), Type: "test", Bucket: b, Priority: prio,
						DependsOn: []string{gate.ID},
						Payload:   json.RawMessage(`{"mode":"sleep","duration":"400ms"}`),
					})
					if err != nil {
						errs <- fmt.Errorf("create %s %d: %w", b, j, err)
						continue
					}
					mu.Lock()
					bucketOf[wo.ID] = b
					mu.Unlock()
				}
			}()
		}
		for j := range perBucket[b] {
			jobs <- j
		}
		close(jobs)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	if _, err := clients[0].WorkOrders().Start(ctx, gate.ID, &api.TransitionRequest{Agent: "person"}); err != nil {
		t.Fatalf("start the gate: %v", err)
	}
	if _, err := clients[0].WorkOrders().Complete(ctx, gate.ID, &api.TransitionRequest{}); err != nil {
		t.Fatalf("complete the gate: %v", err)
	}
	return bucketOf
}

// levelPhase sums up one leader's passes.
type levelPhase struct {
	name      string
	passes    int // entries with assignments
	checked   int // of those, made under shortage with every bucket's queue longer than its starts
	unleveled int // made when a bucket's queue could run short
	// checkedStarts counts the checked passes' starts per bucket;
	// inFlight counts the in-flight mixes they left ("features=2,
	// reliability=6"), as of the state they planned on.
	checkedStarts map[string]int
	inFlight      map[string]int
}

// levelReport is what checkLeveling found.
type levelReport struct {
	old, new levelPhase
	requeues int
}

// levelView is the state after one entry: per bucket, the work in flight
// (holding a test slot) and the queued work a plan could start, and the
// test slots no work in flight holds.
type levelView struct {
	entry            int // position of the entry among the chain's entries
	inFlight, demand map[string]int
	free             int
}

// checkLeveling replays receipts (chain order) of the work orders in
// bucketOf and checks the leveling bound of every pass made under
// shortage (see TestLevelingHoldsAcrossLeaderKill), that no attempt was
// assigned twice, and that every work order completed exactly once.
// capacity is each node's test slots. Passes stamped after killedAt are
// the new leader's: a command is stamped by the node that proposes it,
// and the old leader proposed nothing after it was killed.
func checkLeveling(t *testing.T, receipts []api.Receipt, bucketOf map[string]string, mix, capacity map[string]int,
	killedAt time.Time) levelReport {
	t.Helper()
	rep := levelReport{
		old: levelPhase{name: "old", checkedStarts: map[string]int{}, inFlight: map[string]int{}},
		new: levelPhase{name: "new", checkedStarts: map[string]int{}, inFlight: map[string]int{}},
	}
	state := make(map[string]string)    // work order → state
	attempt := make(map[string]uint64)  // work order → last assigned attempt
	queuedAt := make(map[string]int)    // work order → entry after which it was last queued
	backoff := make(map[string]bool)    // queued by retry_scheduled: may be held by a backoff
	completions := make(map[string]int) // work order → completed receipts
	inFlight := make(map[string]int)    // bucket → in flight
	demand := make(map[string]int)      // bucket → queued, not backing off
	nodeOf := make(map[string]string)   // work order in flight → its node
	held := make(map[string]int)        // node → slots held
	var views []levelView               // states since the previous pass
	for entry, start := 0, 0; start < len(receipts); entry++ {
		end := start + 1
		for end < len(receipts) && receipts[end].Index == receipts[start].Index {
			end++
		}
		group := receipts[start:end]
		start = end
		starts := make(map[string]int)
		var assigned []string
		for _, r := range group {
			if _, ok := bucketOf[r.WorkOrder]; ok && r.Event == "assigned" {
				starts[bucketOf[r.WorkOrder]]++
				assigned = append(assigned, r.WorkOrder)
			}
		}
		if len(assigned) > 0 {
			ph := &rep.old
			if time.Unix(0, group[0].TimeUnixNano).After(killedAt) {
				ph = &rep.new
			}
			ph.passes++
			checkPass(t, ph, group[0].Index, assigned, starts, views, queuedAt, mix)
		}
		for _, r := range group {
			b, ok := bucketOf[r.WorkOrder]
			if !ok {
				if strings.HasPrefix(r.Event, "andon") {
					t.Errorf("receipt %d: %s: an andon changes what the leader may plan", r.Seq, r.Event)
				}
				continue
			}
			switch r.Event {
			case "assigned":
				if state[r.WorkOrder] != "queued" {
					t.Errorf("receipt %d: %s assigned in state %q", r.Seq, r.WorkOrder, state[r.WorkOrder])
				}
				if r.Attempt != attempt[r.WorkOrder]+1 {
					t.Errorf("receipt %d: %s attempt %d assigned after attempt %d", r.Seq, r.WorkOrder, r.Attempt, attempt[r.WorkOrder])
				}
				attempt[r.WorkOrder] = r.Attempt
			case "started":
				t.Errorf("receipt %d: %s started by hand", r.Seq, r.WorkOrder)
			case "completed":
				completions[r.WorkOrder]++
			case "requeued":
				rep.requeues++
			}
			if r.To == "" || r.To == state[r.WorkOrder] {
				continue
			}
			switch state[r.WorkOrder] {
			case "in_progress":
				inFlight[b]--
				held[nodeOf[r.WorkOrder]]--
			case "queued":
				if !backoff[r.WorkOrder] {
					demand[b]--
				}
			}
			state[r.WorkOrder] = r.To
			switch r.To {
			case "in_progress":
				inFlight[b]++
				nodeOf[r.WorkOrder] = r.Node
				held[r.Node]++
			case "queued":
				queuedAt[r.WorkOrder] = entry
				backoff[r.WorkOrder] = r.Event == "retry_scheduled"
				if !backoff[r.WorkOrder] {
					demand[b]++
				}
			}
		}
		v := levelView{entry: entry, inFlight: maps.Clone(inFlight), demand: maps.Clone(demand)}
		for n, c := range capacity {
			v.free += max(c-held[n], 0)
		}
		if len(assigned) > 0 {
			views = views[:0]
		}
		views = append(views, v)
	}
	for id := range bucketOf {
		if completions[id] != 1 {
			t.Errorf("%s: %d completions, want exactly 1", id, completions[id])
		}
	}
	return rep
}

// checkPass checks one pass: the entry at index that started the work
// orders assigned, starts of them per bucket. views are the states the
// plan may have seen (after the previous pass and after every entry
// since) and queuedAt tells after which entry each work order was last
// queued. The plan's view is one in which every work order it started
// was queued and at least as many slots were free as it started (the
// leader counts a slot used when the FSM or the node's gossip says so,
// and the nodes it thinks healthy are at most all of them).
func checkPass(t *testing.T, ph *levelPhase, index uint64, assigned []string, starts map[string]int,
	views []levelView, queuedAt map[string]int, mix map[string]int) {
	t.Helper()
	first := 0
	for _, id := range assigned {
		first = max(first, queuedAt[id])
	}
	var seen []levelView
	for _, v := range views {
		if v.entry >= first && v.free >= len(assigned) {
			seen = append(seen, v)
		}
	}
	if len(seen) == 0 {
		t.Errorf("entry %d assigned %v: no state since the previous pass had them all queued and %d slots free",
			index, assigned, len(assigned))
		return
	}
	// Check only passes made under shortage with no share capped by
	// demand, whichever state the plan saw; otherwise leveling gives way
	// (no shortage, or slots a capped share left over) and the bound does
	// not apply.
	for _, v := range seen {
		for b := range mix {
			if v.demand[b] <= starts[b] {
				ph.unleveled++
				return
			}
		}
	}
	ph.checked++
	for b, n := range starts {
		ph.checkedStarts[b] += n
	}
	var why error
	for _, v := range slices.Backward(seen) { // the latest first: the likeliest view
		if why = levelBound(v.inFlight, starts, mix); why == nil {
			var parts []string
			for _, b := range slices.Sorted(maps.Keys(mix)) {
				parts = append(parts, fmt.Sprintf("%s=%d", b, v.inFlight[b]+starts[b]))
			}
			ph.inFlight[strings.Join(parts, ",")]++
			return
		}
	}
	t.Errorf("%s leader's entry %d started %v: the mix is off in every state it may have planned on (%d), e.g. %v",
		ph.name, index, starts, len(seen), why)
}

// levelBound checks the Sainte-Laguë bound after a pass that started
// starts on top of held: every bucket X that got a slot has
// (2·h_X − 1)·w_Y ≤ (2·h_Y + 1)·w_X against every other weighted bucket Y,
// with h = held + starts.
func levelBound(held, starts, mix map[string]int) error {
	for x, got := range starts {
		if got == 0 {
			continue
		}
		hx := held[x] + starts[x]
		for y, wy := range mix {
			if y == x {
				continue
			}
			hy := held[y] + starts[y]
			if (2*hx-1)*wy > (2*hy+1)*mix[x] {
				return fmt.Errorf("%s got a slot with %d in flight after the pass against %s's %d (weights %d:%d, from %v in flight)",
					x, hx, y, hy, mix[x], wy, held)
			}
		}
	}
	return nil
}
