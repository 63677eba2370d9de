package book

import (
	"math/rand/v2"
	"testing"

	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/holiman/uint256"
)

// TestRescale checks the 128-bit fast path against fixed.Rescale on edge
// values and random ones of every width, for every pair of scales.
func TestRescale(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	max128 := uint256.Int{^uint64(0), ^uint64(0), 0, 0}
	values := []uint256.Int{{}, {1, 0, 0, 0}, {^uint64(0), 0, 0, 0}, {0, 1, 0, 0}, max128, {0, 0, 1, 0}, {^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0) >> 8}}
	for range 2000 {
		var u uint256.Int
		for i := range r.IntN(5) {
			u[i] = r.Uint64()
		}
		if r.IntN(2) == 0 {
			u.Rsh(&u, uint(r.IntN(256)))
		}
		values = append(values, u)
	}
	for _, u := range values {
		for from := 0; from <= 36; from++ {
			for to := 0; to <= 36; to++ {
				want := fixed.Rescale(&u, from, to)
				if got := rescale(&u, from, to); got != want {
					t.Fatalf("rescale(%s, %d, %d) = %s; want %s", u.Dec(), from, to, got.Dec(), want.Dec())
				}
			}
		}
	}
}
