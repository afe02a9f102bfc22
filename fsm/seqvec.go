package fsm

// seqVec is a persistent array indexed by a sequence number: the work
// orders and the receipts by Seq, which are assigned densely from 1 and
// never deleted, and the per-work-order receipt chain (store.go). It is a
// 64-way radix tree, so a lookup is a few array indexings with no
// comparisons, appending the next number writes into the last leaf, and
// leaves are allocated full-sized once instead of growing.
//
// It is copy-on-write like the B-trees: clone is O(1), and a later write
// copies only the nodes on its path that a clone shares (each node records
// the vector that owns it). The zero value of V means "no value": slots
// never set read as zero, and zero is never stored.
type seqVec[V comparable] struct {
	root  *vecInner[V]
	level int // of the root; a level-l node covers 64^(l+1) numbers
	n     int // slots set
	owner *vecOwner
}

// vecOwner identifies the one vector that may write a node in place. It
// has a size so that distinct owners have distinct addresses.
type vecOwner struct{ _ byte }

const (
	vecBits = 6
	vecFan  = 1 << vecBits
	vecMask = vecFan - 1
)

// vecInner is a node of level ≥ 1: a level-1 node points to leaves, a
// higher one to nodes one level down.
type vecInner[V comparable] struct {
	owner  *vecOwner
	inner  [vecFan]*vecInner[V]
	leaves [vecFan]*vecLeaf[V]
}

type vecLeaf[V comparable] struct {
	owner *vecOwner
	vals  [vecFan]V
}

func newSeqVec[V comparable]() *seqVec[V] { return &seqVec[V]{owner: &vecOwner{}} }

// Len returns the number of slots set.
func (v *seqVec[V]) Len() int { return v.n }

// Clone returns an immutable copy of v; v stays writable.
func (v *seqVec[V]) Clone() *seqVec[V] {
	c := *v
	c.owner = &vecOwner{}
	v.owner = &vecOwner{}
	return &c
}

// covers reports whether a root of this level reaches number i.
func covers(i uint64, level int) bool { return i>>(vecBits*(level+1)) == 0 }

// get returns the value at i, or zero.
func (v *seqVec[V]) get(i uint64) (zero V) {
	n := v.root
	if n == nil || !covers(i, v.level) {
		return zero
	}
	for l := v.level; l > 1; l-- {
		if n = n.inner[(i>>(vecBits*l))&vecMask]; n == nil {
			return zero
		}
	}
	if lf := n.leaves[(i>>vecBits)&vecMask]; lf != nil {
		return lf.vals[i&vecMask]
	}
	return zero
}

// set stores x (not zero) at i.
func (v *seqVec[V]) set(i uint64, x V) {
	if v.root == nil {
		v.root, v.level = &vecInner[V]{owner: v.owner}, 1
	}
	for !covers(i, v.level) {
		v.root, v.level = &vecInner[V]{owner: v.owner, inner: [vecFan]*vecInner[V]{v.root}}, v.level+1
	}
	n := v.writableInner(&v.root)
	for l := v.level; l > 1; l-- {
		n = v.writableInner(&n.inner[(i>>(vecBits*l))&vecMask])
	}
	lp := &n.leaves[(i>>vecBits)&vecMask]
	lf := *lp
	switch {
	case lf == nil:
		lf = &vecLeaf[V]{owner: v.owner}
		*lp = lf
	case lf.owner != v.owner:
		lf = &vecLeaf[V]{owner: v.owner, vals: lf.vals}
		*lp = lf
	}
	var zero V
	if lf.vals[i&vecMask] == zero {
		v.n++
	}
	lf.vals[i&vecMask] = x
}

// writableInner makes *p (created if nil) a node v owns and returns it.
func (v *seqVec[V]) writableInner(p **vecInner[V]) *vecInner[V] {
	n := *p
	switch {
	case n == nil:
		n = &vecInner[V]{owner: v.owner}
		*p = n
	case n.owner != v.owner:
		c := *n
		c.owner = v.owner
		n = &c
		*p = n
	}
	return n
}

// ascend calls fn for each value at a number ≥ from, in order, until fn
// returns false.
func (v *seqVec[V]) ascend(from uint64, fn func(V) bool) {
	if v.root != nil && covers(from, v.level) {
		v.root.ascend(v.level, from, fn)
	}
}

// ascend visits the values under n (of level l) at numbers ≥ from, where
// from is taken modulo what n covers; it reports whether to continue.
func (n *vecInner[V]) ascend(l int, from uint64, fn func(V) bool) bool {
	shift := uint(vecBits * l)
	for j := int(from>>shift) & vecMask; j < vecFan; j, from = j+1, 0 {
		if l > 1 {
			if c := n.inner[j]; c != nil && !c.ascend(l-1, from, fn) {
				return false
			}
			continue
		}
		lf := n.leaves[j]
		if lf == nil {
			continue
		}
		var zero V
		for k := int(from & vecMask); k < vecFan; k++ {
			if x := lf.vals[k]; x != zero && !fn(x) {
				return false
			}
		}
	}
	return true
}
