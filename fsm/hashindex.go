package fsm

import (
	"cmp"
	"slices"
)

// hashIndex finds receipts by the first 8 bytes of their hash. Those keys
// are uniformly random, so a B-tree would insert each one on a cold path
// (a cache miss per level, then shifting a wide node); at 400k receipts
// that was an eighth of the cost of a command. This index is
// log-structured instead: new keys are appended to a short unsorted tail,
// a full tail is sorted into a run, and runs of equal size are merged, up
// to hashRunMax keys. Every write is sequential, and the work per key is
// a counting sort plus a few merges (log2(hashRunMax/hashTail)); the
// longest single step, a merge into a full run, copies 1 MiB. A lookup
// binary-searches each run (one per 64k receipts, plus a few) and scans
// the tail; lookups by hash are rare (a client verifying a receipt),
// appends happen on every receipt.
//
// It is persistent without copying: runs are never modified once made,
// and the tail only grows in place, so a clone (a copy of the struct)
// keeps seeing exactly the keys it had. A flush builds a new run and a new
// runs slice and starts a new tail rather than reusing one a clone may be
// reading.
type hashIndex struct {
	runs [][]hashKey // each sorted by (h, seq); sizes never increase along the slice
	tail []hashKey   // unsorted, in append order
}

const (
	hashTail   = 1024    // keys appended before the tail becomes a run
	hashRunMax = 1 << 16 // a merge never makes a run longer than this (1 MiB)
)

func cmpHashKey(a, b hashKey) int {
	if c := cmp.Compare(a.h, b.h); c != 0 {
		return c
	}
	return cmp.Compare(a.seq, b.seq)
}

func (x *hashIndex) add(k hashKey) {
	if x.tail == nil {
		x.tail = make([]hashKey, 0, hashTail)
	}
	x.tail = append(x.tail, k)
	if len(x.tail) == hashTail {
		x.flush()
	}
}

// flush turns the tail into a run, merging it with the runs no longer
// than itself while the result stays within hashRunMax.
func (x *hashIndex) flush() {
	run := sortHashKeys(x.tail)
	x.tail = nil
	runs := x.runs
	for len(runs) > 0 {
		last := runs[len(runs)-1]
		if len(last) > len(run) || len(last)+len(run) > hashRunMax {
			break
		}
		run = mergeHashKeys(last, run)
		runs = runs[:len(runs)-1]
	}
	x.runs = append(slices.Clip(runs), run)
}

// sortHashKeys returns keys sorted by (h, seq), in a new slice. The h are
// uniformly random, so a counting sort on their top bits leaves buckets
// of about one key, each then sorted on its own.
func sortHashKeys(keys []hashKey) []hashKey {
	const bits = 10
	var start [1<<bits + 1]int
	for _, k := range keys {
		start[k.h>>(64-bits)+1]++
	}
	for i := 1; i < len(start); i++ {
		start[i] += start[i-1]
	}
	out := make([]hashKey, len(keys))
	next := start
	for _, k := range keys {
		b := k.h >> (64 - bits)
		out[next[b]] = k
		next[b]++
	}
	for b := 0; b < 1<<bits; b++ {
		if bucket := out[start[b]:start[b+1]]; len(bucket) > 1 {
			slices.SortFunc(bucket, cmpHashKey)
		}
	}
	return out
}

func mergeHashKeys(a, b []hashKey) []hashKey {
	out := make([]hashKey, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if cmpHashKey(a[0], b[0]) <= 0 {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	out = append(out, a...)
	return append(out, b...)
}

// prefix32 returns, sorted by (h, seq), the keys whose h has the given top
// 32 bits.
func (x *hashIndex) prefix32(top uint32) []hashKey {
	var out []hashKey
	lo := hashKey{h: uint64(top) << 32}
	for _, run := range x.runs {
		i, _ := slices.BinarySearchFunc(run, lo, cmpHashKey)
		for ; i < len(run) && uint32(run[i].h>>32) == top; i++ {
			out = append(out, run[i])
		}
	}
	for _, k := range x.tail {
		if uint32(k.h>>32) == top {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, cmpHashKey)
	return out
}
