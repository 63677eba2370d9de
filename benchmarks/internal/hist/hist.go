// Package hist is a small HDR-style latency histogram: log-linear buckets
// with 128 sub-buckets per power of two, so every recorded value is reported
// within 1/128 (< 0.8 %) of its true value, at any magnitude, in a fixed
// 58 KiB of counters. Recording is O(1) and allocation-free.
//
// A Histogram is not safe for concurrent use: give each goroutine its own and
// Merge them at the end.
package hist

import (
	"fmt"
	"math"
	"math/bits"
	"time"
)

const (
	subBits  = 8                  // values below 1<<subBits are exact
	half     = 1 << (subBits - 1) // sub-buckets per power of two above that
	nBuckets = 1<<subBits + (64-subBits)*half
)

// Histogram counts non-negative int64 values (nanoseconds, by convention).
type Histogram struct {
	counts [nBuckets]uint64
	n      uint64
	sum    float64
	min    int64
	max    int64
}

// New returns an empty histogram.
func New() *Histogram { return &Histogram{min: math.MaxInt64} }

func index(v uint64) int {
	if v < 1<<subBits {
		return int(v)
	}
	shift := bits.Len64(v) - subBits // ≥ 1
	top := v >> shift                // in [half, 2*half)
	return 1<<subBits + (shift-1)*half + int(top) - half
}

// bounds returns the smallest and largest value that map to bucket i.
func bounds(i int) (lo, hi uint64) {
	if i < 1<<subBits {
		return uint64(i), uint64(i)
	}
	j := i - 1<<subBits
	shift := j/half + 1
	top := uint64(j%half + half)
	lo = top << shift
	return lo, lo + (1 << shift) - 1
}

// Record counts v; negative values count as 0.
func (h *Histogram) Record(v int64) {
	if v < 0 {
		v = 0
	}
	h.counts[index(uint64(v))]++
	h.n++
	h.sum += float64(v)
	if v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
}

// Reset empties h.
func (h *Histogram) Reset() { *h = Histogram{min: math.MaxInt64} }

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.min = min(h.min, o.min)
	h.max = max(h.max, o.max)
}

// Count is the number of recorded values.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest recorded value (exact), 0 if empty.
func (h *Histogram) Max() int64 {
	if h.n == 0 {
		return 0
	}
	return h.max
}

// Min is the smallest recorded value (exact), 0 if empty.
func (h *Histogram) Min() int64 {
	if h.n == 0 {
		return 0
	}
	return h.min
}

// Mean is the exact mean of the recorded values, 0 if empty.
func (h *Histogram) Mean() float64 {
	if h.n == 0 {
		return 0
	}
	return h.sum / float64(h.n)
}

// Quantile returns the value at quantile q (0 ≤ q ≤ 1): the upper bound of
// the bucket holding the ⌈q·n⌉-th smallest value, clamped to [Min, Max].
// It is 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			_, hi := bounds(i)
			v := int64(min(hi, uint64(h.max)))
			return max(v, h.min)
		}
	}
	return h.max
}

// Summary formats count, mean and the usual percentiles as durations.
func (h *Histogram) Summary() string {
	d := func(v int64) time.Duration { return time.Duration(v) }
	return fmt.Sprintf("n=%d mean=%v p50=%v p90=%v p99=%v p99.9=%v max=%v",
		h.n, time.Duration(h.Mean()).Round(time.Nanosecond), d(h.Quantile(0.5)), d(h.Quantile(0.9)),
		d(h.Quantile(0.99)), d(h.Quantile(0.999)), d(h.Max()))
}
