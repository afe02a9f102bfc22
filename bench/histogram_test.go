package bench

import (
	"math/rand/v2"
	"testing"
	"time"
)

// within reports whether got is within the histogram's precision of want.
func within(got, want time.Duration) bool {
	diff := got - want
	if diff < 0 {
		diff = -diff
	}
	return float64(diff) <= float64(want)/64+1
}

func TestHistogramPercentiles(t *testing.T) {
	tests := []struct {
		name          string
		samples       []time.Duration
		p50, p95, p99 time.Duration
		minV, maxV    time.Duration
		mean          time.Duration
	}{
		{
			name:    "1..1000us",
			samples: seq(1000, time.Microsecond),
			p50:     500 * time.Microsecond, p95: 950 * time.Microsecond, p99: 990 * time.Microsecond,
			minV: time.Microsecond, maxV: 1000 * time.Microsecond, mean: 500500 * time.Nanosecond,
		},
		{
			name:    "small values are exact",
			samples: seq(100, time.Nanosecond),
			p50:     50, p95: 95, p99: 99, minV: 1, maxV: 100, mean: 50,
		},
		{
			name:    "one sample",
			samples: []time.Duration{3 * time.Millisecond},
			p50:     3 * time.Millisecond, p95: 3 * time.Millisecond, p99: 3 * time.Millisecond,
			minV: 3 * time.Millisecond, maxV: 3 * time.Millisecond, mean: 3 * time.Millisecond,
		},
		{
			name: "outliers",
			samples: append(repeat(98, time.Millisecond),
				time.Second, 2*time.Second),
			p50: time.Millisecond, p95: time.Millisecond, p99: time.Second,
			minV: time.Millisecond, maxV: 2 * time.Second, mean: (98*time.Millisecond + 3*time.Second) / 100,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHistogram()
			// Record in random order: the result must not depend on it.
			for _, i := range rand.Perm(len(tt.samples)) {
				h.Record(tt.samples[i])
			}
			if h.Count() != uint64(len(tt.samples)) {
				t.Fatalf("count = %d, want %d", h.Count(), len(tt.samples))
			}
			for _, c := range []struct {
				name      string
				got, want time.Duration
			}{{"p50", h.Percentile(0.5), tt.p50}, {"p95", h.Percentile(0.95), tt.p95}, {"p99", h.Percentile(0.99), tt.p99}} {
				if !within(c.got, c.want) {
					t.Errorf("%s = %v, want %v ±1/64", c.name, c.got, c.want)
				}
			}
			if h.Min() != tt.minV || h.Max() != tt.maxV || h.Mean() != tt.mean {
				t.Errorf("min/max/mean = %v/%v/%v, want %v/%v/%v", h.Min(), h.Max(), h.Mean(), tt.minV, tt.maxV, tt.mean)
			}
			if h.Percentile(1) != tt.maxV || h.Percentile(0) != tt.minV {
				t.Errorf("p100/p0 = %v/%v, want max/min", h.Percentile(1), h.Percentile(0))
			}
		})
	}
}

func TestHistogramEmptyAndMerge(t *testing.T) {
	h := NewHistogram()
	if h.Percentile(0.99) != 0 || h.Mean() != 0 || h.Max() != 0 {
		t.Fatalf("empty histogram reports non-zero figures: %+v", h.Summary())
	}
	a, b := NewHistogram(), NewHistogram()
	for i := 1; i <= 500; i++ {
		a.Record(time.Duration(i) * time.Millisecond)
		b.Record(time.Duration(i+500) * time.Millisecond)
	}
	h.Merge(a)
	h.Merge(b)
	h.Merge(nil)
	h.Merge(NewHistogram())
	if h.Count() != 1000 || h.Min() != time.Millisecond || h.Max() != time.Second {
		t.Fatalf("merged count/min/max = %d/%v/%v", h.Count(), h.Min(), h.Max())
	}
	if got := h.Percentile(0.5); !within(got, 500*time.Millisecond) {
		t.Fatalf("merged p50 = %v, want 500ms", got)
	}
	h.Record(-time.Second) // clamps to zero
	if h.Min() != 0 {
		t.Fatalf("negative sample: min = %v, want 0", h.Min())
	}
}

func TestHistogramBuckets(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, v := range append([]uint64{0, 1, 127, 128, 129, 255, 256, 1<<63 - 1, 1<<64 - 1}, randomValues(r, 10000)...) {
		i := bucketOf(v)
		if i < 0 || i >= numBuckets {
			t.Fatalf("bucketOf(%d) = %d out of range", v, i)
		}
		lo, hi := bucketRange(i)
		if v < lo || v > hi {
			t.Fatalf("value %d in bucket %d = [%d, %d]", v, i, lo, hi)
		}
		if lo >= subBuckets && float64(hi-lo) > float64(lo)/64 {
			t.Fatalf("bucket %d = [%d, %d] wider than 1/64", i, lo, hi)
		}
	}
	// Buckets tile the value space without gaps.
	for i := 1; i < numBuckets; i++ {
		_, hiPrev := bucketRange(i - 1)
		lo, _ := bucketRange(i)
		if lo != hiPrev+1 {
			t.Fatalf("gap between bucket %d (hi %d) and %d (lo %d)", i-1, hiPrev, i, lo)
		}
	}
}

func seq(n int, unit time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(i+1) * unit
	}
	return out
}

func repeat(n int, d time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

func randomValues(r *rand.Rand, n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = r.Uint64() >> r.UintN(64)
	}
	return out
}
