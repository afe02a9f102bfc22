package fsm

import (
	"cmp"
	"encoding/binary"
	"slices"

	"github.com/google/btree"
)

// Why not go-memdb. DESIGN.md names go-memdb "or a written reason for
// something better". A prototype with this package's indexes (4 on work
// orders, 3 on receipts) measured on the target machine:
//
//	one memdb txn per command:      104-132 µs/cmd, ~80 KB and ~320 allocs per command (~9k cmd/s)
//	one memdb txn per 128 commands:  26-32  µs/cmd, ~8 KB and ~55 allocs per command (~35k cmd/s)
//
// The cost is go-immutable-radix path copying (every copied node allocates
// a watch channel) and the GC work it causes; the goal is 200k cmd/s. The
// store below keeps each table and index in a copy-on-write structure:
// Clone is O(1) and later writes copy only the nodes they touch, so a
// point-in-time View or Snapshot costs a few pointer copies, and when
// nobody holds a view, writes mutate in place. We give up memdb's watch
// channels; WaitForIndex covers blocking reads.
//
// The ordered indexes are B-trees (github.com/google/btree, already in
// the module graph through memberlist) of small pointer-free keys. Where
// the access pattern allows something cheaper, a table uses it (each says
// why): work orders and receipts, numbered densely and never deleted,
// live in a radix array (seqvec.go), which also chains each work order's
// receipts (woReceipts); the receipt hash index, whose keys are random, is
// log-structured (hashindex.go); idempotency records, forgotten oldest
// first, are a queue (fifo.go) with a request-ID map that only the live
// state has (idempotency.go). Measured in bench_test.go: about 2.5 µs per
// create or transition on one core, receipt hashing included.

// btreeDegree trades node copy cost after a clone against tree depth.
const btreeDegree = 32

// Tree items are small values that hold their whole sort key: a lookup
// builds its key on the stack instead of allocating a probe object, a
// comparison never dereferences a pointer (a cache miss per step of the
// binary search), and pointer-free nodes are neither scanned by the GC nor
// shifted with write barriers.

// woStateKey orders work orders by state, then Seq.
type woStateKey struct {
	state uint8
	seq   uint64
}

// queueKey orders queued work orders by bucket, then as cmpQueue does.
// bucket is the index in buckets, which is sorted, so index order is name
// order.
type queueKey struct {
	created int64
	effort  uint64 // effortKey(Effort)
	seq     uint64
	bucket  uint8
	prio    Priority
}

// hashKey orders receipts by the first 8 bytes of their hash (enough for
// the shortest accepted prefix, 8 hex digits), then Seq.
type hashKey struct{ h, seq uint64 }

// expiryKey orders memory entries by expiry time, then namespace and key.
type expiryKey struct {
	at      int64
	ns, key string
}

// idemItem is an idempotency record in the idem queue. At and the request
// ID's hash are copied next to it, so that pruning need not read the
// (long cold) record.
type idemItem struct {
	order uint64
	at    int64
	h     uint64 // idemHash(rec.RequestID)
	rec   *idemRecord
}

// state is one version of the whole replicated state. The live state is
// owned by the applying goroutine; clone() makes an immutable copy for
// readers. Objects stored in the trees are never modified after insertion
// (copy-on-write), so readers may hold them indefinitely.
type state struct {
	index     uint64   // last applied raft index
	clock     int64    // state clock: the largest command time applied so far
	woSeq     uint64   // last assigned work order sequence number
	rcptSeq   uint64   // last receipt sequence number (= receipt count)
	head      [32]byte // hash of the last receipt
	idemSeq   uint64   // last idempotency record order number
	counts    [len(states)]int
	wos       *seqVec[*WorkOrder] // by Seq
	byState   *btree.BTreeG[woStateKey]
	queue     *btree.BTreeG[queueKey] // queued, by lessBucketQueue
	receipts  *seqVec[*Receipt]       // by Seq
	lastRcpt  *seqVec[uint64]         // work order Seq → its last receipt's Seq (see woReceipts)
	prevRcpt  *seqVec[uint64]         // receipt Seq → the Seq of its work order's receipt before it
	rcptByH   hashIndex               // a value: copying it is cloning it
	mem       *btree.BTreeG[*MemoryEntry]
	memExpiry *btree.BTreeG[expiryKey]
	idem      fifo[idemItem]  // idempotency records by Order; a value, as rcptByH
	idemByID  *idemIndex      // live state only; nil in clones
	sched     *schedState     // the scheduler config in force; never nil, replaced, never modified
	wip       wipCounts       // in-flight work orders per bucket and stage (wip.go)
	andons    *seqVec[*Andon] // by Seq (andon.go)
	andonOpen []uint64        // Seqs of the open andons, ascending; replaced, never modified
}

// cmpQueue is the queue order: priority descending, CreatedAt ascending
// (FIFO), Effort ascending with 0 (unknown) last, then Seq.
func cmpQueue(a, b queueKey) int {
	if a.prio != b.prio {
		return cmp.Compare(b.prio, a.prio)
	}
	if a.created != b.created {
		return cmp.Compare(a.created, b.created)
	}
	if a.effort != b.effort {
		return cmp.Compare(a.effort, b.effort)
	}
	return cmp.Compare(a.seq, b.seq)
}

// lessBucketQueue orders the queue index: by bucket, then cmpQueue.
func lessBucketQueue(a, b queueKey) bool {
	if a.bucket != b.bucket {
		return a.bucket < b.bucket
	}
	return cmpQueue(a, b) < 0
}

// effortKey sorts an unknown (0) effort after every known one.
func effortKey(e int64) uint64 {
	if e <= 0 {
		return ^uint64(0)
	}
	return uint64(e)
}

// bucketIndex returns b's position in buckets; stored work orders always
// have a known bucket (Apply derives it, Restore checks it).
func bucketIndex(b string) (uint8, bool) {
	for i, x := range buckets {
		if x == b {
			return uint8(i), true
		}
	}
	return 0, false
}

func queueKeyOf(wo *WorkOrder) queueKey {
	bi, _ := bucketIndex(wo.Bucket)
	return queueKey{bucket: bi, prio: wo.Priority, created: wo.CreatedAt, effort: effortKey(wo.Effort), seq: wo.Seq}
}

func newState() *state {
	return &state{
		wos: newSeqVec[*WorkOrder](),
		byState: btree.NewG(btreeDegree, func(a, b woStateKey) bool {
			return a.state < b.state || a.state == b.state && a.seq < b.seq
		}),
		queue:    btree.NewG(btreeDegree, lessBucketQueue),
		receipts: newSeqVec[*Receipt](),
		lastRcpt: newSeqVec[uint64](),
		prevRcpt: newSeqVec[uint64](),
		mem: btree.NewG(btreeDegree, func(a, b *MemoryEntry) bool {
			return a.Namespace < b.Namespace || a.Namespace == b.Namespace && a.Key < b.Key
		}),
		memExpiry: btree.NewG(btreeDegree, func(a, b expiryKey) bool {
			if a.at != b.at {
				return a.at < b.at
			}
			return a.ns < b.ns || a.ns == b.ns && a.key < b.key
		}),
		idemByID: newIdemIndex(),
		sched:    newSchedState(DefaultSchedulerConfig()),
		andons:   newSeqVec[*Andon](),
	}
}

// clone returns an immutable point-in-time copy. It must not run
// concurrently with writes to s.
func (s *state) clone() *state {
	c := *s
	c.wos = s.wos.Clone()
	c.byState = s.byState.Clone()
	c.queue = s.queue.Clone()
	c.receipts = s.receipts.Clone()
	c.lastRcpt = s.lastRcpt.Clone()
	c.prevRcpt = s.prevRcpt.Clone()
	c.mem = s.mem.Clone()
	c.memExpiry = s.memExpiry.Clone()
	c.andons = s.andons.Clone()
	c.idemByID = nil
	s.wip.share()
	return &c
}

func (s *state) getWO(seq uint64) *WorkOrder { return s.wos.get(seq) }

func (s *state) getReceipt(seq uint64) *Receipt { return s.receipts.get(seq) }

// woReceipts returns the Seqs of work order wo's receipts from from on, in
// order. Each work order's receipts form a chain, newest first, through
// lastRcpt and prevRcpt: appending a receipt writes two slots, where a
// (work order, seq) B-tree would insert at a random place for most
// transitions. Reading walks back from the newest.
func (s *state) woReceipts(wo, from uint64) []uint64 {
	var seqs []uint64
	for seq := s.lastRcpt.get(wo); seq != 0 && seq >= from; seq = s.prevRcpt.get(seq) {
		seqs = append(seqs, seq)
	}
	slices.Reverse(seqs)
	return seqs
}

// putWO stores wo (a new object, never one already stored) and keeps the
// indexes and per-state counters in step with old (nil for a new order).
func (s *state) putWO(old, wo *WorkOrder) {
	s.wos.set(wo.Seq, wo)
	ni, _ := stateIndex(wo.State)
	oi := -1
	if old == nil {
		s.byState.ReplaceOrInsert(woStateKey{uint8(ni), wo.Seq})
		s.counts[ni]++
	} else if oi, _ = stateIndex(old.State); oi != ni {
		s.byState.Delete(woStateKey{uint8(oi), old.Seq})
		s.byState.ReplaceOrInsert(woStateKey{uint8(ni), wo.Seq})
		s.counts[oi]--
		s.counts[ni]++
	}
	if inFlight(oi) || inFlight(ni) {
		s.wip.update(old, wo, inFlight(oi), inFlight(ni))
	}
	// The queue holds keys, not objects, so it changes only with the key.
	wasQueued, isQueued := old != nil && old.State == StateQueued, wo.State == StateQueued
	var oldKey, newKey queueKey
	if wasQueued {
		oldKey = queueKeyOf(old)
	}
	if isQueued {
		newKey = queueKeyOf(wo)
	}
	if wasQueued && isQueued && oldKey == newKey {
		return
	}
	if wasQueued {
		s.queue.Delete(oldKey)
	}
	if isQueued {
		s.queue.ReplaceOrInsert(newKey)
	}
}

// putReceipt appends a sealed receipt of work order wo (0 for none) and
// indexes it.
func (s *state) putReceipt(r *Receipt, wo uint64) {
	s.receipts.set(r.Seq, r)
	if wo != 0 { // 0: a receipt of no work order (scheduler_configured)
		if prev := s.lastRcpt.get(wo); prev != 0 {
			s.prevRcpt.set(r.Seq, prev)
		}
		s.lastRcpt.set(wo, r.Seq)
	}
	s.rcptByH.add(hashKey{binary.BigEndian.Uint64(r.Hash[:8]), r.Seq})
	s.rcptSeq = r.Seq
	s.head = r.Hash
}
