package fsm

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/rand"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"
)

// viewSnapshot serialises a view the way Persist would.
func viewSnapshot(t testing.TB, v *View) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := writeSnapshot(&buf, v.s); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestViewsDoNotSeeLaterApplies takes views between applies of a random
// log, with a small idempotency limit so records are forgotten too, and
// checks at the end that every view still serialises to what it did when
// it was taken: copy-on-write must keep each one at its point in time.
func TestViewsDoNotSeeLaterApplies(t *testing.T) {
	cfg := DefaultConfig()
	cfg.IdempotencyMax = 7
	h := newHarness(t)
	h.f = New(cfg)
	var views []*View
	var snaps [][]byte
	var counts []ActiveCounts
	for i, c := range schedLog(3, 3000) {
		h.applyRaw(c)
		if i%37 == 0 {
			v := h.f.View()
			views = append(views, v)
			snaps = append(snaps, viewSnapshot(t, v))
			counts = append(counts, v.ActiveCounts())
		}
	}
	for i, v := range views {
		if !bytes.Equal(viewSnapshot(t, v), snaps[i]) {
			t.Fatalf("view %d (index %d) changed after later applies", i, v.Index())
		}
		if !reflect.DeepEqual(v.ActiveCounts(), counts[i]) {
			t.Fatalf("view %d (index %d): WIP counters changed after later applies", i, v.Index())
		}
	}
}

// TestViewsConcurrentWithApply reads views while Apply runs (meant for
// -race): the writer must never write memory a view can reach.
func TestViewsConcurrentWithApply(t *testing.T) {
	h := newHarness(t)
	cmds := schedLog(4, 3000)
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			v := h.f.View()
			v.Queue("", 10)
			v.WorkOrders(WorkOrderFilter{State: StateQueued})
			v.ActiveCounts()
			v.Assigned("n1")
			v.Unfinished()
			v.SchedulerConfig()
			if n := v.ReceiptCount(); n > 0 {
				r, _ := v.Receipt(n)
				v.Receipts(ReceiptQuery{Hash: hex.EncodeToString(r.Hash[:4])})
				v.Verify(0, 0)
			}
			var buf bytes.Buffer
			if err := writeSnapshot(&buf, v.s); err != nil {
				t.Error(err)
			}
		}
	}()
	for _, c := range cmds {
		h.applyRaw(c)
	}
	close(done)
	wg.Wait()
}

func TestSeqVec(t *testing.T) {
	v := newSeqVec[*int]()
	vals := make([]int, 10_000)
	for i := range vals {
		vals[i] = i
	}
	// Sparse writes first, so growth and gaps are covered.
	for _, i := range []uint64{5, 64, 4095, 4096, 1} {
		v.set(i, &vals[i])
	}
	old := v.Clone()
	for i := uint64(1); i < uint64(len(vals)); i++ {
		v.set(i, &vals[i])
	}
	if v.Len() != len(vals)-1 || old.Len() != 5 {
		t.Fatalf("Len = %d, clone %d", v.Len(), old.Len())
	}
	for i := uint64(0); i < uint64(len(vals))+100; i++ {
		p := v.get(i)
		if (p == nil) != (i == 0 || i >= uint64(len(vals))) || p != nil && *p != int(i) {
			t.Fatalf("get(%d) = %v", i, p)
		}
	}
	var got []int
	old.ascend(6, func(p *int) bool { got = append(got, *p); return true })
	if !slices.Equal(got, []int{64, 4095, 4096}) {
		t.Fatalf("clone ascend(6) = %v", got)
	}
	got = got[:0]
	v.ascend(4090, func(p *int) bool { got = append(got, *p); return len(got) < 8 })
	if !slices.Equal(got, []int{4090, 4091, 4092, 4093, 4094, 4095, 4096, 4097}) {
		t.Fatalf("ascend(4090) = %v", got)
	}
	x := 7
	v.set(1<<62, &x)
	if p := v.get(1 << 62); p == nil || *p != 7 || v.get(1<<62+1) != nil || *v.get(9999) != 9999 {
		t.Fatal("far index")
	}
}

func TestFIFO(t *testing.T) {
	var q fifo[int]
	var clones []fifo[int]
	var wants [][]int
	var model []int
	rng := rand.New(rand.NewSource(1))
	next := 0
	for step := 0; step < 5000; step++ {
		if len(model) > 0 && rng.Intn(3) == 0 {
			if v, _ := q.front(); v != model[0] {
				t.Fatalf("front = %d, want %d", v, model[0])
			}
			q.pop()
			model = model[1:]
		} else {
			q.push(next)
			model = append(model, next)
			next++
		}
		if b, ok := q.back(); ok != (len(model) > 0) || ok && b != model[len(model)-1] {
			t.Fatalf("back = %d, %v", b, ok)
		}
		if step%50 == 0 {
			clones = append(clones, q)
			wants = append(wants, slices.Clone(model))
		}
	}
	for i, c := range clones {
		var got []int
		c.ascend(func(v int) bool { got = append(got, v); return true })
		if c.Len() != len(wants[i]) || !slices.Equal(got, wants[i]) {
			t.Fatalf("clone %d = %v, want %v", i, got, wants[i])
		}
	}
}

func TestHashIndex(t *testing.T) {
	var x hashIndex
	var all []hashKey
	var clones []hashIndex
	var counts []int
	rng := rand.New(rand.NewSource(2))
	for seq := uint64(1); seq <= 20_000; seq++ {
		// Few distinct top halves, so prefixes have several matches.
		k := hashKey{h: uint64(rng.Intn(50))<<32 | uint64(rng.Uint32()), seq: seq}
		x.add(k)
		all = append(all, k)
		if seq%1500 == 0 {
			clones = append(clones, x)
			counts = append(counts, len(all))
		}
	}
	check := func(x *hashIndex, keys []hashKey) {
		t.Helper()
		for top := uint32(0); top < 52; top++ {
			var want []hashKey
			for _, k := range keys {
				if uint32(k.h>>32) == top {
					want = append(want, k)
				}
			}
			slices.SortFunc(want, cmpHashKey)
			if got := x.prefix32(top); !slices.Equal(got, want) {
				t.Fatalf("prefix32(%d): %d keys, want %d", top, len(got), len(want))
			}
		}
	}
	check(&x, all)
	for i := range clones {
		check(&clones[i], all[:counts[i]])
	}
	// Uniform keys, as receipt hashes are: sortHashKeys's usual case.
	keys := make([]hashKey, hashTail)
	for i := range keys {
		keys[i] = hashKey{h: rng.Uint64(), seq: uint64(i)}
	}
	keys[7].h = keys[3].h // a tie, broken by seq
	want := slices.Clone(keys)
	slices.SortFunc(want, cmpHashKey)
	if got := sortHashKeys(keys); !slices.Equal(got, want) {
		t.Fatal("sortHashKeys")
	}
}

func TestIdemIndexCollisions(t *testing.T) {
	s := newState()
	cfg := &Config{IdempotencyWindow: time.Hour, IdempotencyMax: 2}
	// Three request IDs forced onto one hash, then forgotten oldest first.
	for i, id := range []string{"a", "b", "c"} {
		s.putIdem(&idemRecord{RequestID: id, Order: uint64(i + 1)}, 42)
	}
	for _, id := range []string{"a", "b", "c"} {
		if rec := s.getIdem(id, 42); rec == nil || rec.RequestID != id {
			t.Fatalf("getIdem(%q) = %v", id, rec)
		}
	}
	if s.getIdem("d", 42) != nil || s.getIdem("a", 43) != nil {
		t.Fatal("found a record that was never stored")
	}
	pruneIdempotency(s, cfg)
	if s.getIdem("a", 42) != nil || s.getIdem("b", 42) == nil || s.getIdem("c", 42) == nil {
		t.Fatal("prune forgot the wrong record")
	}
	s.putIdem(&idemRecord{RequestID: "e", Order: 4}, 42)
	pruneIdempotency(s, cfg)
	for id, want := range map[string]bool{"b": false, "c": true, "e": true} {
		if got := s.getIdem(id, 42) != nil; got != want {
			t.Fatalf("after prune, %q present = %v", id, got)
		}
	}
	if x := s.idemByID; len(x.byHash)+len(x.collided) != s.idem.Len() {
		t.Fatalf("index holds %d+%d records, queue %d", len(x.byHash), len(x.collided), s.idem.Len())
	}
}

func TestQueueAcrossBuckets(t *testing.T) {
	h := newHarness(t)
	var want []string
	for i := 0; i < 40; i++ {
		b := buckets[i%len(buckets)]
		h.mustCreate(WorkOrderSpec{Title: fmt.Sprint(i), Bucket: b, Priority: Priority(1 + i%4)})
	}
	// The reference order: every queued work order sorted by the queue rule.
	v := h.f.View()
	items, _ := v.WorkOrders(WorkOrderFilter{State: StateQueued, Limit: MaxListLimit})
	slices.SortFunc(items, func(a, b *WorkOrder) int { return cmpQueue(queueKeyOf(a), queueKeyOf(b)) })
	for _, wo := range items {
		want = append(want, wo.ID)
	}
	for _, limit := range []int{0, 1, 7, 40, 100} {
		var got []string
		for _, wo := range v.Queue("", limit) {
			got = append(got, wo.ID)
		}
		w := want
		if limit > 0 && limit < len(w) {
			w = w[:limit]
		}
		if !slices.Equal(got, w) {
			t.Fatalf("Queue(\"\", %d) = %v, want %v", limit, got, w)
		}
	}
	if v.Queue("no-such-bucket", 0) != nil {
		t.Fatal("unknown bucket")
	}
}
