package fsm

// fifo is a persistent queue: the idempotency records, which are made in
// Order and forgotten oldest first. Pushing writes the next slot of the
// last chunk and popping advances head, so neither searches, shifts nor
// allocates (beyond a chunk every fifoChunk pushes), where a B-tree
// descended and shifted a node for both.
//
// A clone is a copy of the struct and shares the chunks. The writer only
// writes at the tail (the slot after the last item, and the chunk pointer
// after the last chunk), which lies past everything any earlier clone can
// reach, since popping moves the head and never the tail; so a clone keeps
// seeing exactly its items, and no memory is written while shared.
type fifo[T any] struct {
	chunks []*[fifoChunk]T
	head   int // position of the first item in chunks[0]
	n      int
}

const fifoChunk = 256

// Len returns the number of items.
func (q *fifo[T]) Len() int { return q.n }

func (q *fifo[T]) push(v T) {
	i := q.head + q.n
	if i == len(q.chunks)*fifoChunk {
		q.chunks = append(q.chunks, new([fifoChunk]T))
	}
	q.chunks[i/fifoChunk][i%fifoChunk] = v
	q.n++
}

// at returns the i-th item from the front (0 ≤ i < Len).
func (q *fifo[T]) at(i int) T {
	i += q.head
	return q.chunks[i/fifoChunk][i%fifoChunk]
}

// front returns the oldest item; ok is false when q is empty.
func (q *fifo[T]) front() (v T, ok bool) {
	if q.n == 0 {
		return v, false
	}
	return q.at(0), true
}

// back returns the newest item; ok is false when q is empty.
func (q *fifo[T]) back() (v T, ok bool) {
	if q.n == 0 {
		return v, false
	}
	return q.at(q.n - 1), true
}

// pop removes the oldest item; q must not be empty. A chunk is dropped
// once all its items are popped (its slots are left as they are: a clone
// may still read them).
func (q *fifo[T]) pop() {
	q.head++
	q.n--
	if q.head == fifoChunk {
		q.chunks = q.chunks[1:]
		q.head = 0
	}
}

// ascend calls fn for each item from the oldest until fn returns false.
func (q *fifo[T]) ascend(fn func(T) bool) {
	for i := 0; i < q.n; i++ {
		if !fn(q.at(i)) {
			return
		}
	}
}
