package fsm

import (
	"encoding/binary"

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
// store below keeps each table and index in a copy-on-write B-tree
// (github.com/google/btree, already in the module graph through
// memberlist). Clone is O(1) and later writes copy only the nodes they
// touch, so a point-in-time View or Snapshot costs a few pointer copies,
// and when nobody holds a view, writes mutate in place. We give up
// memdb's watch channels; WaitForIndex covers blocking reads.

// btreeDegree trades node copy cost after a clone against tree depth.
const btreeDegree = 32

// woStateKey orders work orders by state, then Seq.
type woStateKey struct {
	state uint8
	seq   uint64
}

// woReceiptKey orders receipts by work order, then receipt Seq.
type woReceiptKey struct{ wo, seq uint64 }

// hashKey orders receipts by the first 8 bytes of their hash (enough for
// the shortest accepted prefix, 8 hex digits), then Seq.
type hashKey struct{ h, seq uint64 }

// expiryKey orders memory entries by expiry time, then namespace and key.
type expiryKey struct {
	at      int64
	ns, key string
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
	wos       *btree.BTreeG[*WorkOrder]
	byState   *btree.BTreeG[woStateKey]
	queue     *btree.BTreeG[*WorkOrder] // queued, by bucket then lessQueue
	queueAll  *btree.BTreeG[*WorkOrder] // queued, by lessQueue
	receipts  *btree.BTreeG[*Receipt]
	rcptByWO  *btree.BTreeG[woReceiptKey]
	rcptByH   *btree.BTreeG[hashKey]
	mem       *btree.BTreeG[*MemoryEntry]
	memExpiry *btree.BTreeG[expiryKey]
	idem      *btree.BTreeG[*idemRecord]
	idemOrder *btree.BTreeG[*idemRecord] // by Order
}

// lessQueue is the queue order: priority descending, CreatedAt ascending
// (FIFO), Effort ascending with 0 (unknown) last, then Seq.
func lessQueue(a, b *WorkOrder) bool {
	if a.Priority != b.Priority {
		return a.Priority > b.Priority
	}
	if a.CreatedAt != b.CreatedAt {
		return a.CreatedAt < b.CreatedAt
	}
	if ea, eb := effortKey(a.Effort), effortKey(b.Effort); ea != eb {
		return ea < eb
	}
	return a.Seq < b.Seq
}

// effortKey sorts an unknown (0) effort after every known one.
func effortKey(e int64) uint64 {
	if e <= 0 {
		return ^uint64(0)
	}
	return uint64(e)
}

func newState() *state {
	return &state{
		wos: btree.NewG(btreeDegree, func(a, b *WorkOrder) bool { return a.Seq < b.Seq }),
		byState: btree.NewG(btreeDegree, func(a, b woStateKey) bool {
			return a.state < b.state || a.state == b.state && a.seq < b.seq
		}),
		queue: btree.NewG(btreeDegree, func(a, b *WorkOrder) bool {
			if a.Bucket != b.Bucket {
				return a.Bucket < b.Bucket
			}
			return lessQueue(a, b)
		}),
		queueAll: btree.NewG(btreeDegree, lessQueue),
		receipts: btree.NewG(btreeDegree, func(a, b *Receipt) bool { return a.Seq < b.Seq }),
		rcptByWO: btree.NewG(btreeDegree, func(a, b woReceiptKey) bool {
			return a.wo < b.wo || a.wo == b.wo && a.seq < b.seq
		}),
		rcptByH: btree.NewG(btreeDegree, func(a, b hashKey) bool {
			return a.h < b.h || a.h == b.h && a.seq < b.seq
		}),
		mem: btree.NewG(btreeDegree, func(a, b *MemoryEntry) bool {
			return a.Namespace < b.Namespace || a.Namespace == b.Namespace && a.Key < b.Key
		}),
		memExpiry: btree.NewG(btreeDegree, func(a, b expiryKey) bool {
			if a.at != b.at {
				return a.at < b.at
			}
			return a.ns < b.ns || a.ns == b.ns && a.key < b.key
		}),
		idem:      btree.NewG(btreeDegree, func(a, b *idemRecord) bool { return a.RequestID < b.RequestID }),
		idemOrder: btree.NewG(btreeDegree, func(a, b *idemRecord) bool { return a.Order < b.Order }),
	}
}

// clone returns an immutable point-in-time copy. It must not run
// concurrently with writes to s.
func (s *state) clone() *state {
	c := *s
	c.wos = s.wos.Clone()
	c.byState = s.byState.Clone()
	c.queue = s.queue.Clone()
	c.queueAll = s.queueAll.Clone()
	c.receipts = s.receipts.Clone()
	c.rcptByWO = s.rcptByWO.Clone()
	c.rcptByH = s.rcptByH.Clone()
	c.mem = s.mem.Clone()
	c.memExpiry = s.memExpiry.Clone()
	c.idem = s.idem.Clone()
	c.idemOrder = s.idemOrder.Clone()
	return &c
}

func (s *state) getWO(seq uint64) *WorkOrder {
	wo, _ := s.wos.Get(&WorkOrder{Seq: seq})
	return wo
}

func (s *state) getReceipt(seq uint64) *Receipt {
	r, _ := s.receipts.Get(&Receipt{Seq: seq})
	return r
}

// putWO stores wo (a new object, never one already stored) and keeps the
// indexes and per-state counters in step with old (nil for a new order).
func (s *state) putWO(old, wo *WorkOrder) {
	s.wos.ReplaceOrInsert(wo)
	ni, _ := stateIndex(wo.State)
	if old != nil {
		oi, _ := stateIndex(old.State)
		if oi != ni {
			s.byState.Delete(woStateKey{uint8(oi), old.Seq})
			s.byState.ReplaceOrInsert(woStateKey{uint8(ni), wo.Seq})
			s.counts[oi]--
			s.counts[ni]++
		}
		if old.State == StateQueued {
			s.queue.Delete(old)
			s.queueAll.Delete(old)
		}
	} else {
		s.byState.ReplaceOrInsert(woStateKey{uint8(ni), wo.Seq})
		s.counts[ni]++
	}
	if wo.State == StateQueued {
		s.queue.ReplaceOrInsert(wo)
		s.queueAll.ReplaceOrInsert(wo)
	}
}

// putReceipt appends a sealed receipt and indexes it.
func (s *state) putReceipt(r *Receipt) {
	s.receipts.ReplaceOrInsert(r)
	wo, _ := ParseID(r.WorkOrder)
	s.rcptByWO.ReplaceOrInsert(woReceiptKey{wo, r.Seq})
	s.rcptByH.ReplaceOrInsert(hashKey{binary.BigEndian.Uint64(r.Hash[:8]), r.Seq})
	s.rcptSeq = r.Seq
	s.head = r.Hash
}
