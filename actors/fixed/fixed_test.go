package fixed_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/holiman/uint256"
	"github.com/shopspring/decimal"
)

func u256(t testing.TB, s string) uint256.Int {
	t.Helper()
	u, err := uint256.FromDecimal(s)
	if err != nil {
		t.Fatalf("uint256.FromDecimal(%q): %v", s, err)
	}
	return *u
}

func TestParse(t *testing.T) {
	tests := []struct {
		in    string
		scale int
		want  string // units, decimal
		neg   bool
		err   error
	}{
		// plain
		{"0", 8, "0", false, nil},
		{"1", 8, "100000000", false, nil},
		{"12.5", 4, "125000", false, nil},
		{"0.00000001", 8, "1", false, nil},
		{"+5", 2, "500", false, nil},
		{".5", 1, "5", false, nil},
		{"5.", 1, "50", false, nil},
		{"-.5", 1, "5", true, nil},
		{"007.10", 2, "710", false, nil},
		{"100", 0, "100", false, nil},
		// scientific
		{"1e2", 8, "10000000000", false, nil},
		{"1E2", 0, "100", false, nil},
		{"1E-8", 8, "1", false, nil},
		{"1e-9", 8, "0", false, nil},
		{"1.25e1", 2, "1250", false, nil},
		{"1.25E+1", 2, "1250", false, nil},
		{"125e-2", 2, "125", false, nil},
		{"-2.5e-1", 2, "25", true, nil},
		{"0e5", 8, "0", false, nil},
		{"0e-5", 8, "0", false, nil},
		// negative
		{"-1", 8, "100000000", true, nil},
		{"-0", 8, "0", false, nil},
		{"-0.000", 8, "0", false, nil},
		// truncation toward zero
		{"1.999999999", 8, "199999999", false, nil},
		{"-1.999999999", 8, "199999999", true, nil},
		{"0.000000009", 8, "0", false, nil},
		{"-0.000000009", 8, "0", false, nil}, // truncates to 0: not negative
		{"99.999", 0, "99", false, nil},
		// range: at most MaxDigits (30) integer digits
		{strings.Repeat("9", 30), 0, strings.Repeat("9", 30), false, nil},
		{strings.Repeat("9", 30) + ".99", 2, strings.Repeat("9", 32), false, nil},
		{"1" + strings.Repeat("0", 30), 0, "0", false, fixed.ErrRange},
		{"1e30", 8, "0", false, fixed.ErrRange},
		{"9.99e29", 36, "999" + strings.Repeat("0", 27+36), false, nil},
		{"-1e30", 8, "0", false, fixed.ErrRange},
		{"0.1e31", 0, "0", false, fixed.ErrRange},
		// huge and tiny exponents: decided without big-number work
		{"1e10001", 8, "0", false, fixed.ErrRange},
		{"1e2147483648", 8, "0", false, fixed.ErrRange},
		{"1e99999999999999999999999999", 8, "0", false, fixed.ErrRange},
		{"1e-10001", 8, "0", false, nil},
		{"-1e-99999999999999999999999", 8, "0", false, nil},
		{"0e99999999999999999999", 8, "0", false, nil},
		{"1" + strings.Repeat("0", 100) + "e-120", 36, "1" + strings.Repeat("0", 16), false, nil},
		{"1" + strings.Repeat("0", 100) + "e-137", 36, "0", false, nil},
		{"1" + strings.Repeat("0", 100) + "e-80", 36, "1" + strings.Repeat("0", 56), false, nil},
		// junk
		{"", 8, "0", false, fixed.ErrSyntax},
		{"abc", 8, "0", false, fixed.ErrSyntax},
		{"1e", 8, "0", false, fixed.ErrSyntax},
		{"1e+", 8, "0", false, fixed.ErrSyntax},
		{"e5", 8, "0", false, fixed.ErrSyntax},
		{".", 8, "0", false, fixed.ErrSyntax},
		{".e1", 8, "0", false, fixed.ErrSyntax},
		{"-", 8, "0", false, fixed.ErrSyntax},
		{"--1", 8, "0", false, fixed.ErrSyntax},
		{"+-1", 8, "0", false, fixed.ErrSyntax},
		{"1.2.3", 8, "0", false, fixed.ErrSyntax},
		{"1e2e3", 8, "0", false, fixed.ErrSyntax},
		{"1e2.5", 8, "0", false, fixed.ErrSyntax},
		{" 1", 8, "0", false, fixed.ErrSyntax},
		{"1 ", 8, "0", false, fixed.ErrSyntax},
		{"1_000", 8, "0", false, fixed.ErrSyntax},
		{"0x10", 8, "0", false, fixed.ErrSyntax},
		{"NaN", 8, "0", false, fixed.ErrSyntax},
		{"Inf", 8, "0", false, fixed.ErrSyntax},
		{"-Infinity", 8, "0", false, fixed.ErrSyntax},
		{"\u22125", 8, "0", false, fixed.ErrSyntax},                      // Unicode minus
		{"１", 8, "0", false, fixed.ErrSyntax},                            // full-width digit
		{"1" + strings.Repeat("0", 128), 0, "0", false, fixed.ErrSyntax}, // > 128 bytes
	}
	for _, tt := range tests {
		u, neg, err := fixed.Parse(tt.in, tt.scale)
		if !errors.Is(err, tt.err) {
			t.Errorf("Parse(%q, %d) error = %v; want %v", tt.in, tt.scale, err, tt.err)
			continue
		}
		if got := u.Dec(); got != tt.want || neg != tt.neg {
			t.Errorf("Parse(%q, %d) = %s, neg %v; want %s, neg %v", tt.in, tt.scale, got, neg, tt.want, tt.neg)
		}
	}
}

// TestParseExponentsFast: no input makes Parse do work proportional to its
// exponent.
func TestParseExponentsFast(t *testing.T) {
	inputs := []string{
		"1e999999999", "1e-999999999", "0e999999999", "0e-999999999",
		"9" + strings.Repeat("9", 100) + "e-300", "9" + strings.Repeat("9", 100) + "e-100",
		"1e2147483647", "1e-2147483648", "0e2147483647", "1e30", "1e-292", "1e-291",
	}
	start := time.Now()
	for range 100 {
		for _, s := range inputs {
			for _, scale := range []int{0, 8, fixed.MaxScale} {
				fixed.Parse(s, scale)
			}
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("3,600 parses of extreme exponents took %v", d)
	}
}

func TestParseInt64(t *testing.T) {
	tests := []struct {
		in    string
		scale int
		want  int64
		neg   bool
		err   error
	}{
		{"1.5", 8, 150000000, false, nil},
		{"-1.5", 8, 150000000, true, nil},
		{"92233720368.54775807", 8, math.MaxInt64, false, nil},
		{"92233720368.54775808", 8, 0, false, fixed.ErrRange},
		{"9223372036854775807", 0, math.MaxInt64, false, nil},
		{"9223372036854775808", 0, 0, false, fixed.ErrRange},
		{"1e20", 0, 0, false, fixed.ErrRange},
		{"x", 0, 0, false, fixed.ErrSyntax},
	}
	for _, tt := range tests {
		v, neg, err := fixed.ParseInt64(tt.in, tt.scale)
		if v != tt.want || neg != tt.neg || !errors.Is(err, tt.err) {
			t.Errorf("ParseInt64(%q, %d) = %d, %v, %v; want %d, %v, %v", tt.in, tt.scale, v, neg, err, tt.want, tt.neg, tt.err)
		}
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		units string
		scale int
		want  string
	}{
		{"0", 0, "0"},
		{"0", 8, "0"},
		{"0", 36, "0"},
		{"1", 8, "0.00000001"},
		{"1", 12, "0.000000000001"},
		{"10", 8, "0.0000001"},
		{"1", 36, "0." + strings.Repeat("0", 35) + "1"},
		{"150000", 4, "15"},
		{"800000000000", 8, "8000"},
		{"110000000", 8, "1.1"},
		{"123", 0, "123"},
		{"123", 2, "1.23"},
		{"123", 3, "0.123"},
		{"1230", 3, "1.23"},
		{"100", 2, "1"},
		{"18446744073709551615", 0, "18446744073709551615"},
		{"18446744073709551616", 0, "18446744073709551616"},
		{"18446744073709551616", 20, "0.18446744073709551616"},
		{"1" + strings.Repeat("0", 40), 12, "1" + strings.Repeat("0", 28)},
		{"1" + strings.Repeat("0", 40) + "5", 12, "1" + strings.Repeat("0", 29) + ".000000000005"},
		{"115792089237316195423570985008687907853269984665640564039457584007913129639935", 36,
			"115792089237316195423570985008687907853269.984665640564039457584007913129639935"},
	}
	for _, tt := range tests {
		u := u256(t, tt.units)
		if got := fixed.Format(&u, tt.scale); got != tt.want {
			t.Errorf("Format(%s, %d) = %s; want %s", tt.units, tt.scale, got, tt.want)
		}
		if u.IsUint64() {
			if got := fixed.FormatUint(u.Uint64(), tt.scale); got != tt.want {
				t.Errorf("FormatUint(%s, %d) = %s; want %s", tt.units, tt.scale, got, tt.want)
			}
		}
		if u.IsUint64() && u.Uint64() <= math.MaxInt64 {
			if got := fixed.FormatInt(int64(u.Uint64()), tt.scale); got != tt.want {
				t.Errorf("FormatInt(%s, %d) = %s; want %s", tt.units, tt.scale, got, tt.want)
			}
			if tt.want != "0" {
				if got := fixed.FormatInt(-int64(u.Uint64()), tt.scale); got != "-"+tt.want {
					t.Errorf("FormatInt(-%s, %d) = %s; want -%s", tt.units, tt.scale, got, tt.want)
				}
				if got := fixed.FormatSigned(&u, true, tt.scale); got != "-"+tt.want {
					t.Errorf("FormatSigned(%s, true, %d) = %s; want -%s", tt.units, tt.scale, got, tt.want)
				}
			}
		}
	}
	if got := fixed.FormatInt(math.MinInt64, 8); got != "-92233720368.54775808" {
		t.Errorf("FormatInt(MinInt64, 8) = %s; want -92233720368.54775808", got)
	}
	if got := fixed.FormatInt(math.MaxInt64, 8); got != "92233720368.54775807" {
		t.Errorf("FormatInt(MaxInt64, 8) = %s; want 92233720368.54775807", got)
	}
	var zero uint256.Int
	if got := fixed.FormatSigned(&zero, true, 8); got != "0" {
		t.Errorf("FormatSigned(0, true, 8) = %s; want 0", got)
	}
}

// TestFormatNeverScientific: every small value at every scale prints in
// plain notation (docs/protocol.md D2), never "1E-8" or "0E-8".
func TestFormatNeverScientific(t *testing.T) {
	for scale := 0; scale <= fixed.MaxScale; scale++ {
		for _, v := range []uint64{0, 1, 5, 10, 100, 1000000, 1000001} {
			s := fixed.FormatUint(v, scale)
			if strings.ContainsAny(s, "eE") {
				t.Errorf("FormatUint(%d, %d) = %s; want plain notation", v, scale, s)
			}
			if strings.Contains(s, ".") && strings.HasSuffix(s, "0") {
				t.Errorf("FormatUint(%d, %d) = %s; want trailing zeros stripped", v, scale, s)
			}
			want := decimal.New(int64(v), int32(-scale))
			if got := decimal.RequireFromString(s); !got.Equal(want) {
				t.Errorf("FormatUint(%d, %d) = %s; want the value %s", v, scale, s, want)
			}
		}
	}
}

func TestRescale(t *testing.T) {
	tests := []struct {
		units    string
		from, to int
		want     string
	}{
		{"12345", 2, 2, "12345"},
		{"12345", 2, 5, "12345000"},
		{"12345", 0, 36, "12345" + strings.Repeat("0", 36)},
		{"12345", 5, 2, "12"}, // 0.12345 → 0.12: truncated
		{"12399", 5, 2, "12"}, // never rounded up
		{"12345", 5, 0, "0"},  // below one unit
		{"12345", 72, 0, "0"}, // 2*MaxScale
		{"1" + strings.Repeat("0", 50), 36, 0, "1" + strings.Repeat("0", 14)},
	}
	for _, tt := range tests {
		u := u256(t, tt.units)
		got := fixed.Rescale(&u, tt.from, tt.to)
		if got.Dec() != tt.want {
			t.Errorf("Rescale(%s, %d, %d) = %s; want %s", tt.units, tt.from, tt.to, got.Dec(), tt.want)
		}
		if u.Dec() != tt.units {
			t.Errorf("Rescale(%s, %d, %d) modified its argument to %s", tt.units, tt.from, tt.to, u.Dec())
		}
	}
	if got := fixed.FromInt64(15, 2, 12); got.Dec() != "15"+strings.Repeat("0", 10) {
		t.Errorf("FromInt64(15, 2, 12) = %s; want 15e10", got.Dec())
	}
	if got := fixed.Mul64(math.MaxInt64, math.MaxInt64); got.Dec() != "85070591730234615847396907784232501249" {
		t.Errorf("Mul64(MaxInt64, MaxInt64) = %s", got.Dec())
	}
	for n := 0; n <= 2*fixed.MaxScale; n++ {
		if got, want := fixed.Pow10(n).Dec(), "1"+strings.Repeat("0", n); got != want {
			t.Errorf("Pow10(%d) = %s; want %s", n, got, want)
		}
	}
}

// FuzzParse: Parse never panics; an accepted input formats to plain
// notation that parses back to the same units, and agrees with
// shopspring/decimal truncated toward zero.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"0", "1", "-1", "12.5", "1e2", "1E-8", "0.00000001", "-1.999999999",
		"999999999999999999999999999999", "1e30", "1e-10001", "0e99999", ".5",
		"5.", "+.5e+3", "1.2.3", "abc", "", "-0", "1e", "9.99e29",
	} {
		f.Add(s, uint8(8))
	}
	f.Fuzz(func(t *testing.T, s string, sc uint8) {
		scale := int(sc) % (fixed.MaxScale + 1)
		u, neg, err := fixed.Parse(s, scale)
		if err != nil {
			if !u.IsZero() || neg {
				t.Fatalf("Parse(%q, %d) = %s, %v with error %v", s, scale, u.Dec(), neg, err)
			}
			return
		}
		if neg && u.IsZero() {
			t.Fatalf("Parse(%q, %d) = negative zero", s, scale)
		}
		out := fixed.FormatSigned(&u, neg, scale)
		if strings.ContainsAny(out, "eE") || (strings.Contains(out, ".") && strings.HasSuffix(out, "0")) {
			t.Fatalf("Format of Parse(%q, %d) = %q: not plain and stripped", s, scale, out)
		}
		u2, neg2, err := fixed.Parse(out, scale)
		if err != nil || !u2.Eq(&u) || neg2 != neg {
			t.Fatalf("Parse(%q, %d) = %s %v, formatted %q, reparsed %s %v %v", s, scale, u.Dec(), neg, out, u2.Dec(), neg2, err)
		}
		// Reference: shopspring/decimal within its exponent limits.
		d, derr := decimal.NewFromString(s)
		if derr != nil || strings.ContainsRune(s, '\u2212') {
			return
		}
		want := d.Shift(int32(scale)).Truncate(0)
		if want.Sign() < 0 {
			want = want.Neg()
		}
		if got := decimal.NewFromBigInt(u.ToBig(), 0); !got.Equal(want) {
			t.Fatalf("Parse(%q, %d) = %s; decimal says %s", s, scale, got, want)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	for _, s := range []string{"12345.678", "1e-8", "123456789012345678901234567890"} {
		b.Run("in="+s, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				fixed.Parse(s, 8)
			}
		})
	}
}

func BenchmarkFormat(b *testing.B) {
	u := uint256.NewInt(123456789012)
	b.ReportAllocs()
	for b.Loop() {
		fixed.Format(u, 8)
	}
}

// TestAppendInt: AppendInt appends exactly what FormatInt returns, for
// values around every power of ten, both signs, the int64 extremes and
// every scale, after any prefix.
func TestAppendInt(t *testing.T) {
	vals := []int64{0, 1, -1, 7, -7, math.MaxInt64, math.MinInt64, math.MinInt64 + 1}
	for p := int64(1); p <= math.MaxInt64/10; p *= 10 {
		for _, v := range []int64{p, p - 1, p + 1, 5 * p, 3*p + 4, 12 * p} {
			vals = append(vals, v, -v)
		}
	}
	for _, v := range vals {
		for scale := -1; scale <= 20; scale++ {
			want := fixed.FormatInt(v, scale)
			if got := string(fixed.AppendInt(nil, v, scale)); got != want {
				t.Fatalf("AppendInt(%d, %d) = %q; FormatInt = %q", v, scale, got, want)
			}
			if got := string(fixed.AppendInt([]byte(`{"a":"`), v, scale)); got != `{"a":"`+want {
				t.Fatalf("AppendInt after a prefix (%d, %d) = %q", v, scale, got)
			}
		}
	}
	buf := make([]byte, 0, 64)
	for _, v := range []int64{-123456789, 5, 0} {
		if n := testing.AllocsPerRun(100, func() { buf = fixed.AppendInt(buf[:0], v, 4) }); n != 0 {
			t.Fatalf("AppendInt(%d) into room enough allocates %v times; want 0", v, n)
		}
	}
}
