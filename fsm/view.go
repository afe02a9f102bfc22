package fsm

import "slices"

// View is a read-only, point-in-time view of the state, taken by
// FSM.View. It never changes and is safe for concurrent use. Every object
// it returns is shared and immutable: callers must not modify it (copy it
// first).
type View struct{ s *state }

// Index returns the raft index of the last entry applied in this view.
func (v *View) Index() uint64 { return v.s.index }

// Now returns the state clock: the largest command time applied (Unix ns).
func (v *View) Now() int64 { return v.s.clock }

// WorkOrder returns the work order with the given ID, or ErrNotFound.
func (v *View) WorkOrder(id string) (*WorkOrder, error) {
	if seq, ok := ParseID(id); ok {
		if wo := v.s.getWO(seq); wo != nil {
			return wo, nil
		}
	}
	return nil, Errorf(ErrNotFound, "work order %s not found", id)
}

// WorkOrderFilter selects work orders for View.WorkOrders. Zero fields
// match everything.
type WorkOrderFilter struct {
	State    State
	Bucket   string
	Priority Priority
	Kind     string
	Label    string
	Parent   string
	After    uint64 // only Seq > After (pagination)
	Limit    int    // default 100, at most 1000
}

// Work order list limits.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

func (f *WorkOrderFilter) match(wo *WorkOrder) bool {
	return (f.Bucket == "" || wo.Bucket == f.Bucket) &&
		(f.Priority == 0 || wo.Priority == f.Priority) &&
		(f.Kind == "" || wo.Kind == f.Kind) &&
		(f.Parent == "" || wo.Parent == f.Parent) &&
		(f.Label == "" || hasLabel(wo.Labels, f.Label))
}

// WorkOrders returns the matching work orders in Seq order, at most Limit,
// and next: the Seq to pass as After for the next page, or 0 when there
// are no more.
func (v *View) WorkOrders(f WorkOrderFilter) (items []*WorkOrder, next uint64) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	}
	if limit > MaxListLimit {
		limit = MaxListLimit
	}
	take := func(wo *WorkOrder) bool {
		if !f.match(wo) {
			return true
		}
		if len(items) == limit {
			next = items[len(items)-1].Seq
			return false
		}
		items = append(items, wo)
		return true
	}
	if f.State != "" {
		si, ok := stateIndex(f.State)
		if !ok {
			return nil, 0
		}
		v.s.byState.AscendGreaterOrEqual(woStateKey{uint8(si), f.After + 1}, func(k woStateKey) bool {
			if k.state != uint8(si) {
				return false
			}
			return take(v.s.getWO(k.seq))
		})
		return items, next
	}
	v.s.wos.ascend(f.After+1, take)
	return items, next
}

// WorkOrderCount returns the number of work orders.
func (v *View) WorkOrderCount() int { return v.s.wos.Len() }

// CountsByState returns the number of work orders in each state (every
// state is present, possibly with 0).
func (v *View) CountsByState() map[State]int {
	m := make(map[State]int, len(states))
	for i, s := range states {
		m[s] = v.s.counts[i]
	}
	return m
}

// queueOf appends to dst up to limit (≤ 0: all) keys of bucket bi's queue,
// in queue order.
func (v *View) queueOf(bi uint8, limit int, dst []queueKey) []queueKey {
	n := 0
	v.s.queue.AscendGreaterOrEqual(queueKey{bucket: bi, prio: 255}, func(k queueKey) bool {
		if k.bucket != bi {
			return false
		}
		dst = append(dst, k)
		n++
		return limit <= 0 || n < limit
	})
	return dst
}

// Queue returns up to limit queued work orders of bucket ("" for every
// bucket) in the order they should start: priority descending, then
// CreatedAt ascending (FIFO), then Effort ascending with 0 (unknown) last,
// then Seq. limit ≤ 0 means all.
func (v *View) Queue(bucket string, limit int) []*WorkOrder {
	var keys []queueKey
	if bucket != "" {
		bi, ok := bucketIndex(bucket)
		if !ok {
			return nil
		}
		keys = v.queueOf(bi, limit, nil)
	} else {
		// Each bucket's first limit, merged: the queue is indexed per
		// bucket only, which saves Apply a second queue index.
		for bi := range buckets {
			keys = v.queueOf(uint8(bi), limit, keys)
		}
		slices.SortFunc(keys, cmpQueue)
		if limit > 0 && len(keys) > limit {
			keys = keys[:limit]
		}
	}
	var out []*WorkOrder
	for _, k := range keys {
		out = append(out, v.s.getWO(k.seq))
	}
	return out
}
