package wire

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/holiman/uint256"
)

// The tests below gather the cases of the encoders this package replaced
// (the HTTP edge's, the event publisher's and market data's copies).

func TestAppendRaw(t *testing.T) {
	big := new(uint256.Int).Lsh(uint256.NewInt(1), 200)
	for _, c := range []struct {
		v     *uint256.Int
		scale int
		want  string
	}{
		{uint256.NewInt(0), 0, "0"},
		{uint256.NewInt(0), 2, "0.00"},
		{uint256.NewInt(7), 0, "7"},
		{uint256.NewInt(1), 8, "0.00000001"},
		{uint256.NewInt(1500), 3, "1.500"},
		{uint256.NewInt(123456789), 4, "12345.6789"},
		{uint256.NewInt(math.MaxUint64), 20, "0.18446744073709551615"},
		{big, 36, "1606938044258990275541962.092341162602522202993782792835301376"}, // 2^200
	} {
		if got := string(AppendRaw(nil, c.v, c.scale)); got != c.want {
			t.Errorf("AppendRaw(%s, %d) = %s; want %s", c.v.Dec(), c.scale, got, c.want)
		}
		if c.v.IsUint64() && c.v.Uint64() <= math.MaxInt64 {
			v := int64(c.v.Uint64())
			if got := string(AppendRawUnits(nil, v, c.scale)); got != c.want {
				t.Errorf("AppendRawUnits(%d, %d) = %s; want %s", v, c.scale, got, c.want)
			}
			if v != 0 {
				if got := string(AppendRawUnits(nil, -v, c.scale)); got != "-"+c.want {
					t.Errorf("AppendRawUnits(%d, %d) = %s; want -%s", -v, c.scale, got, c.want)
				}
			}
		}
	}
}

// The stripped writers print exactly what package fixed prints.
func TestAppendUnitsMatchesFixed(t *testing.T) {
	values := []int64{0, 1, 5, 9, 10, 11, 100, 101, 12345, 1000000, 1234567, 30000120000000000,
		999999999999999999, math.MaxInt64, -1, -10, -12345, -1000000, math.MinInt64 + 1}
	for scale := 0; scale <= 20; scale++ {
		for _, v := range values {
			got := string(AppendUnits(nil, v, scale))
			if want := `"` + fixed.FormatInt(v, scale) + `"`; got != want {
				t.Errorf("AppendUnits(%d, %d) = %s; want %s", v, scale, got, want)
			}
			if v >= 0 {
				u := uint256.NewInt(uint64(v))
				if got, want := string(AppendAmount(nil, u, scale)), `"`+fixed.Format(u, scale)+`"`; got != want {
					t.Errorf("AppendAmount(%d, %d) = %s; want %s", v, scale, got, want)
				}
			}
		}
	}
	for _, big := range []*uint256.Int{
		new(uint256.Int).Lsh(uint256.NewInt(1), 200),
		new(uint256.Int).Lsh(uint256.NewInt(10), 190),
	} {
		if got, want := string(AppendAmount(nil, big, 36)), `"`+fixed.Format(big, 36)+`"`; got != want {
			t.Errorf("AppendAmount(%s, 36) = %s; want %s", big.Dec(), got, want)
		}
	}
}

func FuzzAppendStripped(f *testing.F) {
	f.Add(uint64(1234500), uint8(4))
	f.Add(uint64(0), uint8(0))
	f.Add(uint64(math.MaxUint64), uint8(36))
	f.Fuzz(func(t *testing.T, v uint64, scale uint8) {
		s := int(scale % 37)
		if got, want := string(appendStripped(nil, v, s)), fixed.FormatUint(v, s); got != want {
			t.Errorf("appendStripped(%d, %d) = %s; want %s", v, s, got, want)
		}
	})
}

func TestAppendPrice(t *testing.T) {
	for _, tt := range []struct {
		v     int64
		scale int
		want  string
	}{
		{800000, 2, `"8000.00"`}, {5, 8, `"0.00000005"`}, {100000000, 8, `"1.00000000"`},
		{123, 3, `"0.123"`}, {1230, 3, `"1.230"`}, {0, 8, `"0"`}, {7, 0, `"7"`},
		{9223372036854775807, 18, `"9.223372036854775807"`},
		{800001, 2, `"8000.01"`}, {800010, 2, `"8000.10"`}, {42, 0, `"42"`},
	} {
		if got := string(AppendPrice(nil, tt.v, tt.scale)); got != tt.want {
			t.Errorf("AppendPrice(%d, %d) = %s; want %s", tt.v, tt.scale, got, tt.want)
		}
		if got := `"` + FormatPrice(tt.v, tt.scale) + `"`; got != tt.want {
			t.Errorf("FormatPrice(%d, %d) = %s; want %s", tt.v, tt.scale, got, tt.want)
		}
	}
}

func TestAppendTime(t *testing.T) {
	for _, c := range []struct {
		us   int64
		want string
	}{
		{0, "0.0"},
		{1, "0.000001"},
		{1700000000123456, "1700000000.123456"},
		{1700000000000000, "1700000000.0"},
		{1700000000100000, "1700000000.1"},
		{1700000000123450, "1700000000.12345"},
		{1700000000000001, "1700000000.000001"},
		{-1500000, "-1.5"},
		{-9223372036854775808, "-9223372036854.775808"},
	} {
		if got := string(AppendTime(nil, c.us)); got != c.want {
			t.Errorf("AppendTime(%d) = %s; want %s", c.us, got, c.want)
		}
	}
}

func TestAppendString(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", `""`},
		{"web", `"web"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"\n\r\t\x01", `"\n\r\t\u0001"`},
		{"\n\r\t\x00\x1f", `"\n\r\t\u0000\u001f"`},
		{"é€😀", `"é€😀"`},
		{"\xff", `"\ufffd"`},
		{"a\xffb", `"a\ufffdb"`},
	} {
		got := AppendString(nil, c.in)
		if string(got) != c.want {
			t.Errorf("AppendString(%q) = %s; want %s", c.in, got, c.want)
		}
		var back string
		if err := json.Unmarshal(got, &back); err != nil || !strings.HasPrefix(c.want, `"`) {
			t.Errorf("AppendString(%q) = %s: not a JSON string: %v", c.in, got, err)
		}
	}
}
