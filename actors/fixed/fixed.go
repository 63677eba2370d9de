package fixed

import (
	"errors"
	"math"
	"math/bits"
	"strconv"

	"github.com/holiman/uint256"
	"github.com/shopspring/decimal"
)

// MaxScale is the largest scale (number of fractional digits) the package
// handles. Configuration validation keeps every precision and every sum of
// precisions used in a product at or below it.
const MaxScale = 36

// MaxDigits bounds the number of integer digits accepted by Parse, so that no
// parsed value times any other parsed value times a scale factor can approach
// 2^256.
const MaxDigits = 30

var pow10 [2*MaxScale + 1]uint256.Int

func init() {
	pow10[0].SetOne()
	ten := uint256.NewInt(10)
	for i := 1; i < len(pow10); i++ {
		pow10[i].Mul(&pow10[i-1], ten)
	}
}

// Pow10 returns 10^n. It panics if n is outside [0, 2*MaxScale]; callers pass
// differences of validated precisions only.
func Pow10(n int) *uint256.Int { return &pow10[n] }

// ErrSyntax is returned by Parse for a string that is not a decimal number.
var ErrSyntax = errors.New("fixed: not a decimal number")

// ErrRange is returned by Parse for a value too large for its destination.
var ErrRange = errors.New("fixed: value out of range")

// Parse reads a decimal string (plain "12.5" or scientific "1.25e1") and
// returns its magnitude in units of 10^-scale, truncated toward zero, and
// whether it was negative. A value that truncates to zero is returned as zero
// and not negative. Values with more than MaxDigits integer digits are refused
// with ErrRange. The accepted syntax is an optional sign, digits with at most
// one point (at least one digit), and an optional exponent: e or E, an
// optional sign, digits. Any exponent is accepted and handled in constant
// time: a huge one is ErrRange (zero stays zero), a tiny one truncates to 0.
func Parse(s string, scale int) (u uint256.Int, neg bool, err error) {
	if len(s) == 0 || len(s) > 128 {
		return u, false, ErrSyntax
	}
	mant, exp, ok := splitExp(s)
	if !ok {
		return u, false, ErrSyntax
	}
	d, perr := decimal.NewFromString(mant)
	if perr != nil {
		return u, false, ErrSyntax
	}
	if d.IsZero() {
		return u, false, nil
	}
	// The mantissa has at most 128 digits, so its value is below 10^(e+128):
	// refuse it when it surely has more than MaxDigits integer digits and
	// treat it as zero when it is surely below 10^-scale, before any
	// big-number work is done.
	e := int64(d.Exponent()) + exp
	if e > MaxDigits {
		return u, false, ErrRange
	}
	if e < -(256 + MaxScale) {
		return u, false, nil
	}
	t := d.Shift(int32(exp) + int32(scale)).Truncate(0)
	bi := t.BigInt()
	neg = bi.Sign() < 0
	if neg {
		bi.Neg(bi)
	}
	if bi.BitLen() > 256 {
		return u, false, ErrRange
	}
	u.SetFromBig(bi)
	if u.Gt(&pow10[MaxDigits+scale]) || u.Eq(&pow10[MaxDigits+scale]) {
		return uint256.Int{}, false, ErrRange
	}
	if u.IsZero() {
		neg = false
	}
	return u, neg, nil
}

// splitExp checks the syntax of s and splits it into its mantissa and its
// exponent, which saturates at ±10^12 (far beyond any meaningful value).
func splitExp(s string) (mant string, exp int64, ok bool) {
	i := 0
	if s[0] == '+' || s[0] == '-' {
		i = 1
	}
	digits, point := 0, false
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !point:
			point = true
		case c == 'e' || c == 'E':
			if digits == 0 {
				return "", 0, false
			}
			mant, rest := s[:i], s[i+1:]
			expNeg := false
			if len(rest) > 0 && (rest[0] == '+' || rest[0] == '-') {
				expNeg = rest[0] == '-'
				rest = rest[1:]
			}
			if len(rest) == 0 {
				return "", 0, false
			}
			for j := 0; j < len(rest); j++ {
				c := rest[j]
				if c < '0' || c > '9' {
					return "", 0, false
				}
				if exp < 1e12 {
					exp = exp*10 + int64(c-'0')
				}
			}
			if expNeg {
				exp = -exp
			}
			return mant, exp, true
		default:
			return "", 0, false
		}
	}
	return s, 0, digits > 0
}

// ParseInt64 is Parse for quantities that the book keeps in int64 (amounts,
// prices, fee rates). A magnitude that does not fit in int64 is ErrRange.
func ParseInt64(s string, scale int) (v int64, neg bool, err error) {
	u, neg, err := Parse(s, scale)
	if err != nil {
		return 0, false, err
	}
	if !u.IsUint64() || u.Uint64() > math.MaxInt64 {
		return 0, false, ErrRange
	}
	return int64(u.Uint64()), neg, nil
}

// Format renders u units of 10^-scale as a plain decimal string with trailing
// fractional zeros and a trailing point removed: 150000 at scale 4 is "15",
// 1 at scale 8 is "0.00000001", 0 is "0".
func Format(u *uint256.Int, scale int) string {
	if u.IsUint64() {
		return FormatUint(u.Uint64(), scale)
	}
	return formatDigits(u.Dec(), false, scale)
}

// FormatUint is Format for a uint64 value.
func FormatUint(v uint64, scale int) string {
	var buf [24]byte
	return formatDigits(string(strconv.AppendUint(buf[:0], v, 10)), false, scale)
}

// FormatInt is Format for a signed int64 value.
func FormatInt(v int64, scale int) string {
	if v < 0 {
		var buf [24]byte
		return formatDigits(string(strconv.AppendUint(buf[:0], uint64(-v), 10)), true, scale)
	}
	return FormatUint(uint64(v), scale)
}

// AppendInt appends FormatInt(v, scale) to dst without allocating beyond
// dst's growth (the derived records' detail objects, persistence/derive).
func AppendInt(dst []byte, v int64, scale int) []byte {
	var buf [24]byte
	u := uint64(v)
	if v < 0 {
		u = uint64(-v)
	}
	digits := strconv.AppendUint(buf[:0], u, 10)
	if scale <= 0 {
		if v < 0 {
			dst = append(dst, '-')
		}
		return append(dst, digits...)
	}
	intPart, frac, lead := digits, digits[:0], 0
	if len(digits) > scale {
		intPart, frac = digits[:len(digits)-scale], digits[len(digits)-scale:]
	} else {
		intPart, frac, lead = []byte{'0'}, digits, scale-len(digits)
	}
	end := len(frac)
	for end > 0 && frac[end-1] == '0' {
		end--
	}
	if v < 0 && (end > 0 || intPart[0] != '0') {
		dst = append(dst, '-')
	}
	dst = append(dst, intPart...)
	if end > 0 {
		dst = append(dst, '.')
		dst = append(dst, zeros(lead)...)
		dst = append(dst, frac[:end]...)
	}
	return dst
}

// FormatSigned renders a magnitude with a sign.
func FormatSigned(u *uint256.Int, neg bool, scale int) string {
	if neg && !u.IsZero() {
		return "-" + Format(u, scale)
	}
	return Format(u, scale)
}

func formatDigits(digits string, neg bool, scale int) string {
	if scale <= 0 {
		if neg {
			return "-" + digits
		}
		return digits
	}
	var intPart, frac string
	if len(digits) > scale {
		intPart, frac = digits[:len(digits)-scale], digits[len(digits)-scale:]
	} else {
		intPart = "0"
		frac = zeros(scale-len(digits)) + digits
	}
	end := len(frac)
	for end > 0 && frac[end-1] == '0' {
		end--
	}
	out := intPart
	if end > 0 {
		out += "." + frac[:end]
	}
	if neg && out != "0" {
		out = "-" + out
	}
	return out
}

func zeros(n int) string {
	const z = "000000000000000000000000000000000000000000000000000000000000000000000000000000"
	if n <= len(z) {
		return z[:n]
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = '0'
	}
	return string(b)
}

// Mul64 returns a×b as a uint256 (a, b ≥ 0). It never overflows.
func Mul64(a, b int64) uint256.Int {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	return uint256.Int{lo, hi, 0, 0}
}

// Rescale converts u from scale from to scale to: multiplying by 10^(to-from)
// when to ≥ from (exact), otherwise dividing and truncating toward zero.
func Rescale(u *uint256.Int, from, to int) uint256.Int {
	var r uint256.Int
	switch {
	case to == from:
		r = *u
	case to > from:
		r.Mul(u, &pow10[to-from])
	default:
		r.Div(u, &pow10[from-to])
	}
	return r
}

// FromInt64 converts a non-negative int64 at scale from to a uint256 at scale to.
func FromInt64(v int64, from, to int) uint256.Int {
	u := uint256.Int{uint64(v), 0, 0, 0}
	return Rescale(&u, from, to)
}
