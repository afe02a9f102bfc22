package bench

import (
	"math"
	"math/bits"
	"time"
)

// Histogram buckets durations on a log-linear scale: values below
// 2^subBucketBits nanoseconds are exact, larger ones fall into one of
// 2^(subBucketBits-1) linear sub-buckets per power of two, so a reported
// percentile is within 1/64 (1.6 %) of the true value. Count, min, max and
// mean are exact. Memory is fixed (about 30 KiB) whatever the sample count.
//
// A Histogram is not safe for concurrent use: give each worker its own and
// Merge them afterwards.
type Histogram struct {
	counts [numBuckets]uint64
	n      uint64
	sum    time.Duration
	min    time.Duration
	max    time.Duration
}

const (
	subBucketBits = 7
	subBuckets    = 1 << subBucketBits // exact values below this
	halfBuckets   = subBuckets / 2     // linear sub-buckets per power of two above it
	numBuckets    = subBuckets + (64-subBucketBits)*halfBuckets
)

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram { return &Histogram{} }

// bucketOf returns the bucket a non-negative value falls into.
func bucketOf(v uint64) int {
	if v < subBuckets {
		return int(v)
	}
	shift := bits.Len64(v) - subBucketBits // v>>shift is in [halfBuckets, subBuckets)
	return subBuckets + (shift-1)*halfBuckets + int(v>>uint(shift)) - halfBuckets
}

// bucketRange returns the lowest and highest value that fall into bucket i.
func bucketRange(i int) (lo, hi uint64) {
	if i < subBuckets {
		return uint64(i), uint64(i)
	}
	shift := uint((i-subBuckets)/halfBuckets + 1)
	sub := uint64((i-subBuckets)%halfBuckets + halfBuckets)
	lo = sub << shift
	return lo, lo + (1 << shift) - 1
}

// Record adds one duration. Negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))]++
	if h.n == 0 || d < h.min {
		h.min = d
	}
	if d > h.max {
		h.max = d
	}
	h.n++
	h.sum += d
}

// Merge adds every sample of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil || o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
}

// Count returns the number of samples recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Min returns the smallest sample, or 0 when there is none.
func (h *Histogram) Min() time.Duration { return h.min }

// Max returns the largest sample, or 0 when there is none.
func (h *Histogram) Max() time.Duration { return h.max }

// Mean returns the average sample, or 0 when there is none.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return h.sum / time.Duration(h.n)
}

// Percentile returns the sample at quantile q (0 < q ≤ 1, e.g. 0.99): the
// smallest value that at least q of the samples do not exceed, reported as
// the midpoint of its bucket and clamped to [Min, Max]. It returns 0 when
// the histogram is empty.
func (h *Histogram) Percentile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	if q <= 0 {
		return h.min
	}
	if q >= 1 {
		return h.max
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	if rank == 0 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, hi := bucketRange(i)
			v := time.Duration(lo + (hi-lo)/2)
			return min(max(v, h.min), h.max)
		}
	}
	return h.max
}

// Summary returns the usual figures of the histogram.
func (h *Histogram) Summary() Latency {
	return Latency{
		Min:  h.Min(),
		Mean: h.Mean(),
		P50:  h.Percentile(0.50),
		P95:  h.Percentile(0.95),
		P99:  h.Percentile(0.99),
		Max:  h.Max(),
	}
}

// Latency is a summary of a latency histogram.
type Latency struct {
	Min  time.Duration `json:"min_ns"`
	Mean time.Duration `json:"mean_ns"`
	P50  time.Duration `json:"p50_ns"`
	P95  time.Duration `json:"p95_ns"`
	P99  time.Duration `json:"p99_ns"`
	Max  time.Duration `json:"max_ns"`
}
