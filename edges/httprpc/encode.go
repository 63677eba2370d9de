package httprpc

import (
	"strconv"
	"unicode/utf8"

	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/persistence/events"
	"github.com/bourse-exchange/bourse/runtime/config"
	"github.com/holiman/uint256"
)

// Result encoding: an append-based JSON writer. Decimals are JSON strings
// in plain notation with trailing zeros stripped (fixed.Format*); times are
// JSON reals of Unix seconds with microsecond resolution.

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Control characters, '"' and '\'
// are escaped; invalid UTF-8 is replaced by U+FFFD.
func appendString(b []byte, s string) []byte {
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

// appendDecimal appends a decimal string produced by package fixed (digits,
// '.', '-': nothing to escape).
func appendDecimal(b []byte, s string) []byte {
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendInt64Dec appends v units of 10^-scale as a JSON string, exactly as
// fixed.FormatInt prints it, without allocating.
func appendInt64Dec(b []byte, v int64, scale int) []byte {
	u := uint64(v)
	b = append(b, '"')
	if v < 0 {
		b = append(b, '-')
		u = -u
	}
	return append(appendUnits(b, u, scale), '"')
}

// appendU256Dec appends u units of 10^-scale as a JSON string, exactly as
// fixed.Format prints it; without allocating when u fits in uint64.
func appendU256Dec(b []byte, u *uint256.Int, scale int) []byte {
	if !u.IsUint64() {
		return appendDecimal(b, fixed.Format(u, scale))
	}
	b = append(b, '"')
	return append(appendUnits(b, u.Uint64(), scale), '"')
}

// appendUnits appends v units of 10^-scale in plain notation, trailing
// fractional zeros and a trailing point removed (fixed.FormatUint's format).
func appendUnits(b []byte, v uint64, scale int) []byte {
	var buf [20]byte
	d := strconv.AppendUint(buf[:0], v, 10)
	if scale <= 0 {
		return append(b, d...)
	}
	if len(d) > scale {
		b = append(b, d[:len(d)-scale]...)
		d = d[len(d)-scale:]
	} else {
		b = append(b, '0')
	}
	end := len(d)
	for end > 0 && d[end-1] == '0' {
		end--
	}
	if end == 0 {
		return b // fraction is zero
	}
	b = append(b, '.')
	for i := len(d); i < scale; i++ {
		b = append(b, '0')
	}
	return append(b, d[:end]...)
}

// appendTime appends Unix microseconds us as a JSON real number of seconds:
// 1700000000123456 → 1700000000.123456, 1700000000000000 → 1700000000.0
// (trailing zeros stripped, at least one fractional digit so that it reads
// as a real, like viabtc's).
func appendTime(b []byte, us int64) []byte {
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

// appendOrder appends the order info object (docs/protocol.md "Order object") for o —
// events.AppendOrder, shared with the Kafka orders topic and the websocket
// pushes. ok is false when o names a market not in cfg (a backend bug: the
// caller answers internal error).
func appendOrder(b []byte, cfg *config.Config, o *messages.Order) (_ []byte, ok bool) {
	if int(o.Market) >= len(cfg.Markets) {
		return b, false
	}
	return events.AppendOrder(b, cfg.Markets[o.Market], o), true
}

// appendOrders appends a JSON array of order info objects.
func appendOrders(b []byte, cfg *config.Config, orders []messages.Order) (_ []byte, ok bool) {
	b = append(b, '[')
	for i := range orders {
		if i > 0 {
			b = append(b, ',')
		}
		if b, ok = appendOrder(b, cfg, &orders[i]); !ok {
			return b, false
		}
	}
	return append(b, ']'), true
}

// appendAssetList appends asset.list's result (docs/protocol.md "asset.list").
func appendAssetList(b []byte, cfg *config.Config) []byte {
	b = append(b, '[')
	for i, a := range cfg.Assets {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendString(b, a.Name)
		b = append(b, `,"prec":`...)
		b = strconv.AppendInt(b, int64(a.Show()), 10)
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendMarketList appends market.list's result (docs/protocol.md "market.list").
func appendMarketList(b []byte, cfg *config.Config) []byte {
	b = append(b, '[')
	for i, m := range cfg.Markets {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendString(b, m.Name)
		b = append(b, `,"stock":`...)
		b = appendString(b, m.Stock)
		b = append(b, `,"money":`...)
		b = appendString(b, m.Money)
		b = append(b, `,"fee_prec":`...)
		b = strconv.AppendInt(b, int64(m.Fee), 10)
		b = append(b, `,"stock_prec":`...)
		b = strconv.AppendInt(b, int64(m.StockPrec), 10)
		b = append(b, `,"money_prec":`...)
		b = strconv.AppendInt(b, int64(m.MoneyPrec), 10)
		b = append(b, `,"min_amount":`...)
		b = appendInt64Dec(b, m.MinUnits, m.StockPrec)
		b = append(b, '}')
	}
	return append(b, ']')
}
