package httprpc

import (
	"math"
	"testing"

	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/holiman/uint256"
)

// The append-based decimal writers print exactly what package fixed prints.
func TestAppendDecMatchesFixed(t *testing.T) {
	values := []int64{0, 1, 5, 9, 10, 11, 100, 101, 12345, 1000000, 1234567, 30000120000000000,
		999999999999999999, math.MaxInt64, -1, -10, -12345, -1000000, math.MinInt64 + 1}
	for scale := 0; scale <= 20; scale++ {
		for _, v := range values {
			got := string(appendInt64Dec(nil, v, scale))
			if want := `"` + fixed.FormatInt(v, scale) + `"`; got != want {
				t.Errorf("appendInt64Dec(%d, %d) = %s; want %s", v, scale, got, want)
			}
			if v >= 0 {
				u := uint256.NewInt(uint64(v))
				if got, want := string(appendU256Dec(nil, u, scale)), `"`+fixed.Format(u, scale)+`"`; got != want {
					t.Errorf("appendU256Dec(%d, %d) = %s; want %s", v, scale, got, want)
				}
			}
		}
	}
	big := new(uint256.Int).Lsh(uint256.NewInt(1), 200)
	if got, want := string(appendU256Dec(nil, big, 36)), `"`+fixed.Format(big, 36)+`"`; got != want {
		t.Errorf("appendU256Dec(2^200, 36) = %s; want %s", got, want)
	}
}

func FuzzAppendUnits(f *testing.F) {
	f.Add(uint64(1234500), uint8(4))
	f.Add(uint64(0), uint8(0))
	f.Add(uint64(math.MaxUint64), uint8(36))
	f.Fuzz(func(t *testing.T, v uint64, scale uint8) {
		s := int(scale % 37)
		if got, want := string(appendUnits(nil, v, s)), fixed.FormatUint(v, s); got != want {
			t.Errorf("appendUnits(%d, %d) = %s; want %s", v, s, got, want)
		}
	})
}

// Encoding an order whose amounts fit in uint64 does not allocate.
func TestAppendOrderAllocs(t *testing.T) {
	cfg := loadTestConfig(t)
	buf := make([]byte, 0, 1024)
	for _, o := range []*messages.Order{&limitBid, &limitAsk, &marketBid, &marketAsk} {
		if n := testing.AllocsPerRun(100, func() { appendOrder(buf[:0], cfg, o) }); n != 0 {
			t.Errorf("appendOrder(order %d) allocates %.0f times; want 0", o.ID, n)
		}
	}
}
