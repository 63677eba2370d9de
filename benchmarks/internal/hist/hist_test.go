package hist

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestIndexBounds(t *testing.T) {
	for _, v := range []uint64{0, 1, 255, 256, 257, 511, 512, 1000, 1 << 20, 123456789, 1 << 62, math.MaxInt64, math.MaxUint64} {
		i := index(v)
		if i < 0 || i >= nBuckets {
			t.Fatalf("index(%d) = %d; want in [0,%d)", v, i, nBuckets)
		}
		lo, hi := bounds(i)
		if v < lo || v > hi {
			t.Errorf("index(%d) = %d with bounds [%d,%d]; want v inside", v, i, lo, hi)
		}
		if lo > 0 && float64(hi-lo)/float64(lo) > 1.0/128 {
			t.Errorf("bucket %d [%d,%d] wider than 1/128", i, lo, hi)
		}
	}
	// Buckets tile the value range without gaps.
	for i := 1; i < nBuckets; i++ {
		_, prevHi := bounds(i - 1)
		lo, _ := bounds(i)
		if lo != prevHi+1 {
			t.Fatalf("bucket %d starts at %d; want %d", i, lo, prevHi+1)
		}
	}
}

func TestQuantileAgainstSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	h := New()
	var vs []int64
	for range 100000 {
		v := int64(rng.ExpFloat64() * 50000)
		vs = append(vs, v)
		h.Record(v)
	}
	slices.Sort(vs)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
		want := vs[int(math.Ceil(q*float64(len(vs))))-1]
		got := h.Quantile(q)
		if float64(got) < float64(want) || float64(got-want) > float64(want)/128+1 {
			t.Errorf("Quantile(%v) = %d; want %d within 1/128 above", q, got, want)
		}
	}
	if h.Max() != vs[len(vs)-1] || h.Min() != vs[0] {
		t.Errorf("min/max = %d/%d; want %d/%d", h.Min(), h.Max(), vs[0], vs[len(vs)-1])
	}
}

func TestMergeAndEmpty(t *testing.T) {
	a, b := New(), New()
	if a.Quantile(0.5) != 0 || a.Max() != 0 || a.Mean() != 0 {
		t.Fatal("empty histogram reports non-zero values")
	}
	a.Record(10)
	b.Record(1000)
	b.Record(-5)
	a.Merge(b)
	if a.Count() != 3 || a.Min() != 0 || a.Max() != 1000 {
		t.Errorf("merged: count %d min %d max %d; want 3 0 1000", a.Count(), a.Min(), a.Max())
	}
}

func TestRecordAllocs(t *testing.T) {
	h := New()
	if n := testing.AllocsPerRun(1000, func() { h.Record(12345) }); n != 0 {
		t.Errorf("Record allocates %v times; want 0", n)
	}
}
