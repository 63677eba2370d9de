package httprpc

import (
	"encoding/json"
	"math"

	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/runtime/config"
	"github.com/holiman/uint256"
)

// Param decoders. Each takes one raw JSON param (valid JSON, trimmed) and
// reports ok false for any violation of its type or range; the method then
// answers code 1 without sending anything.

// Limits enforced on params (PROTOCOL §3, §10.1 and D16).
const (
	MaxLimit       = 101  // order.book, order.depth, order.pending
	MaxSourceLen   = 30   // bytes, order.put_*
	MaxBusinessLen = 30   // bytes, balance.update
	MaxDetailLen   = 1024 // bytes of raw JSON, balance.update
)

// argUint parses a non-negative JSON integer not above max. "1.0", "1e0",
// "\"1\"", true and negative numbers are refused; "-0" is 0.
func argUint(raw []byte, max uint64) (uint64, bool) {
	if !isInteger(raw) {
		return 0, false
	}
	neg := raw[0] == '-'
	if neg {
		raw = raw[1:]
	}
	var v uint64
	for _, c := range raw {
		d := uint64(c - '0')
		if d > max || v > (max-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	if neg && v != 0 {
		return 0, false
	}
	return v, true
}

// argUser parses a user_id: a JSON integer in uint32 range, and ≥ 1 unless
// zeroOK (PROTOCOL D9: 0 is the fee account, readable but not tradeable).
func argUser(raw []byte, zeroOK bool) (uint32, bool) {
	v, ok := argUint(raw, math.MaxUint32)
	if !ok || (v == 0 && !zeroOK) {
		return 0, false
	}
	return uint32(v), true
}

// argInt parses a non-negative JSON integer that fits in int (offsets).
func argInt(raw []byte) (int, bool) {
	v, ok := argUint(raw, math.MaxInt)
	return int(v), ok
}

// argLimit parses a page or depth limit, 0 to MaxLimit.
func argLimit(raw []byte) (int, bool) {
	v, ok := argUint(raw, MaxLimit)
	return int(v), ok
}

// argSide parses an order side, 1 (ask) or 2 (bid).
func argSide(raw []byte) (uint8, bool) {
	v, ok := argUint(raw, 2)
	if !ok || v == 0 {
		return 0, false
	}
	return uint8(v), true
}

// argString parses a JSON string of at most max bytes (after unescaping).
func argString(raw []byte, max int) (string, bool) {
	s, ok := unquote(raw)
	if !ok || len(s) > max {
		return "", false
	}
	return s, true
}

// argName returns the contents of a JSON string param, unescaped, without
// copying when it has no escapes (for name lookups).
func argName(raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return nil, false
	}
	inner := raw[1 : len(raw)-1]
	for _, c := range inner {
		if c == '\\' {
			s, ok := unquote(raw)
			return []byte(s), ok
		}
	}
	return inner, true
}

// argMarket resolves a market name (exact, case-sensitive).
func argMarket(cfg *config.Config, raw []byte) (*config.Market, bool) {
	name, ok := argName(raw)
	if !ok {
		return nil, false
	}
	m := cfg.Market(string(name))
	return m, m != nil
}

// argAsset resolves an asset name (exact, case-sensitive).
func argAsset(cfg *config.Config, raw []byte) (*config.Asset, bool) {
	name, ok := argName(raw)
	if !ok {
		return nil, false
	}
	a := cfg.Asset(string(name))
	return a, a != nil
}

// argDecimal parses a decimal JSON string into int64 units at scale,
// truncating toward zero; neg reports a negative (non-zero) value.
func argDecimal(raw []byte, scale int) (v int64, neg, ok bool) {
	name, ok := argName(raw)
	if !ok {
		return 0, false, false
	}
	v, neg, err := fixed.ParseInt64(string(name), scale)
	return v, neg, err == nil
}

// argPositive parses a decimal that must be > 0 after truncation at scale
// (amounts and prices).
func argPositive(raw []byte, scale int) (int64, bool) {
	v, neg, ok := argDecimal(raw, scale)
	if !ok || neg || v == 0 {
		return 0, false
	}
	return v, true
}

// argNonNegative parses a decimal that must be ≥ 0 after truncation at
// scale (depth interval).
func argNonNegative(raw []byte, scale int) (int64, bool) {
	v, neg, ok := argDecimal(raw, scale)
	if !ok || neg {
		return 0, false
	}
	return v, true
}

// argFeeRate parses a fee rate at the market's fee_prec: 0 ≤ rate < 1.
func argFeeRate(raw []byte, feePrec int) (int64, bool) {
	v, ok := argNonNegative(raw, feePrec)
	if !ok || uint64(v) >= fixed.Pow10(feePrec).Uint64() {
		return 0, false
	}
	return v, true
}

// argChange parses balance.update's change: a decimal at the asset's
// prec_show (truncated), returned as a magnitude at prec_save and a sign.
func argChange(raw []byte, a *config.Asset) (u uint256.Int, neg, ok bool) {
	s, ok := argName(raw)
	if !ok {
		return u, false, false
	}
	show, neg, err := fixed.Parse(string(s), a.Show())
	if err != nil {
		return u, false, false
	}
	return fixed.Rescale(&show, a.Show(), a.PrecSave), neg, true
}

// argDetail checks balance.update's detail: a JSON object (null refused) of
// at most MaxDetailLen bytes as sent.
func argDetail(raw []byte) ([]byte, bool) {
	if len(raw) == 0 || raw[0] != '{' || len(raw) > MaxDetailLen {
		return nil, false
	}
	return raw, true
}

// argClientID parses a client order id: a JSON string of 1 to 32 bytes of
// ASCII letters, digits and . _ : - (book.ValidClientID).
func argClientID(raw []byte) (string, bool) {
	s, ok := argString(raw, book.MaxClientID)
	if !ok || !book.ValidClientID(s) {
		return "", false
	}
	return s, true
}

// options are the order options of order.put_limit_ex, order.put_market_ex
// and the stop methods (README "Order options"); zero values are viabtc's
// behaviour.
type options struct {
	tif      messages.TimeInForce
	postOnly bool
	stp      messages.STP
	clientID string
}

// timesInForce are the names of "time_in_force".
var timesInForce = map[string]messages.TimeInForce{"GTC": messages.GTC, "IOC": messages.IOC, "FOK": messages.FOK}

// argOptions parses an options object. Every order may name "stp" ("none",
// "cancel_taker", "cancel_maker" or "cancel_both"; absent: the market's)
// and "client_id" (argClientID); a limit order also "time_in_force"
// ("GTC", "IOC" or "FOK") and "post_only" (a boolean; GTC only). Keys are
// exact; a null value is the same as an absent key. Anything else — another
// key, a value of the wrong type or name, a param that is not an object —
// is refused.
func argOptions(raw []byte, limit bool) (options, bool) {
	var o options
	var fields map[string]json.RawMessage
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &fields) != nil {
		return o, false
	}
	for key, v := range fields {
		if string(v) == "null" {
			continue
		}
		var ok bool
		switch key {
		case "time_in_force":
			s, _ := argString(v, 3) // "" if not a string: no such name
			o.tif, ok = timesInForce[s]
			ok = ok && limit
		case "post_only":
			ok = limit && (string(v) == "true" || string(v) == "false")
			o.postOnly = string(v) == "true"
		case "stp":
			var s string
			if s, ok = argString(v, 12); ok {
				o.stp, ok = config.ParseSTP(s)
				ok = ok && o.stp != messages.STPDefault
			}
		case "client_id":
			o.clientID, ok = argClientID(v)
		}
		if !ok {
			return options{}, false
		}
	}
	if o.postOnly && o.tif != messages.GTC {
		return options{}, false // it could never trade nor rest
	}
	return o, true
}
