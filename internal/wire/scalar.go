package wire

import (
	"strconv"
	"unicode/utf8"

	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/holiman/uint256"
)

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string: '"', '\' and control
// characters escaped, invalid UTF-8 replaced by U+FFFD.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendTime appends Unix microseconds us as a JSON real of seconds,
// trailing fractional zeros removed but one fractional digit kept, as
// viabtc prints times: 1700000000123450 → 1700000000.12345,
// 1700000000000000 → 1700000000.0.
func AppendTime(b []byte, us int64) []byte {
	u := uint64(us)
	if us < 0 {
		b = append(b, '-')
		u = -u
	}
	b = strconv.AppendUint(b, u/1e6, 10)
	frac := u % 1e6
	var d [6]byte
	for i := 5; i >= 0; i-- {
		d[i] = byte('0' + frac%10)
		frac /= 10
	}
	n := 6
	for n > 1 && d[n-1] == '0' {
		n--
	}
	b = append(b, '.')
	return append(b, d[:n]...)
}

// AppendUnits appends v units of 10^-scale as a JSON string, stripped
// (fixed.FormatInt's format): 150 at scale 2 is "1.5", 0 is "0".
func AppendUnits(b []byte, v int64, scale int) []byte {
	u := uint64(v)
	b = append(b, '"')
	if v < 0 {
		b = append(b, '-')
		u = -u
	}
	return append(appendStripped(b, u, scale), '"')
}

// AppendAmount appends u units of 10^-scale as a JSON string, stripped
// (fixed.Format's format).
func AppendAmount(b []byte, u *uint256.Int, scale int) []byte {
	b = append(b, '"')
	if !u.IsUint64() {
		b = append(b, fixed.Format(u, scale)...)
	} else {
		b = appendStripped(b, u.Uint64(), scale)
	}
	return append(b, '"')
}

// appendStripped appends v units of 10^-scale in plain notation, trailing
// fractional zeros and a trailing point removed.
func appendStripped(b []byte, v uint64, scale int) []byte {
	if v == 0 {
		return append(b, '0')
	}
	var buf [20]byte
	d := strconv.AppendUint(buf[:0], v, 10)
	for scale > 0 && d[len(d)-1] == '0' {
		d, scale = d[:len(d)-1], scale-1 // a zero less, a digit less to place
	}
	return appendRawDigits(b, d, scale)
}

// AppendRaw appends u units of 10^-scale, unquoted, in plain notation
// with exactly scale fractional digits: 1500 at scale 3 is 1.500, 0 at
// scale 2 is 0.00, 7 at scale 0 is 7.
func AppendRaw(b []byte, u *uint256.Int, scale int) []byte {
	var tmp [80]byte
	var d []byte
	if u.IsUint64() {
		d = strconv.AppendUint(tmp[:0], u.Uint64(), 10)
	} else {
		d = append(tmp[:0], u.Dec()...)
	}
	return appendRawDigits(b, d, scale)
}

// AppendRawUnits is AppendRaw for an int64.
func AppendRawUnits(b []byte, v int64, scale int) []byte {
	u := uint64(v)
	if v < 0 {
		b = append(b, '-')
		u = -u
	}
	var tmp [20]byte
	return appendRawDigits(b, strconv.AppendUint(tmp[:0], u, 10), scale)
}

func appendRawDigits(b, d []byte, scale int) []byte {
	if scale <= 0 {
		return append(b, d...)
	}
	if len(d) > scale {
		b = append(b, d[:len(d)-scale]...)
		d = d[len(d)-scale:]
	} else {
		b = append(b, '0')
	}
	b = append(b, '.')
	for i := len(d); i < scale; i++ {
		b = append(b, '0')
	}
	return append(b, d...)
}

// AppendPrice appends a last price as market.last answers it and market
// data keeps it: a JSON string, raw at scale ("8000.00"), but "0" for 0.
func AppendPrice(b []byte, v int64, scale int) []byte {
	b = append(b, '"')
	return append(appendPrice(b, v, scale), '"')
}

// FormatPrice is AppendPrice without the quotes.
func FormatPrice(v int64, scale int) string {
	var buf [32]byte
	return string(appendPrice(buf[:0], v, scale))
}

func appendPrice(b []byte, v int64, scale int) []byte {
	if v == 0 {
		return append(b, '0')
	}
	return AppendRawUnits(b, v, scale)
}
