package httprpc

import (
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/holiman/uint256"
)

// Param decoders. Each takes one raw JSON param (valid JSON, trimmed) and
// reports ok false for any violation of its type or range; the method then
// answers code 1 without sending anything, with a message naming the param
// and the rule it broke (the errors below). viabtc answers a bare "invalid
// argument"; clients that compare the code only see no difference.

// badParam is code 1 naming a param and the rule it broke:
// "invalid argument: <param> <rule>".
func badParam(param, rule string) *messages.Error {
	return &messages.Error{Code: messages.ErrInvalidArgument.Code, Message: "invalid argument: " + param + " " + rule}
}

// The code 1 answers of the params every method shares.
var (
	errUserID     = badParam("user_id", "must be an integer from 1 to 4294967295")
	errUserIDZero = badParam("user_id", "must be an integer from 0 to 4294967295")
	errAsset      = badParam("asset", "must be the name of a listed asset (asset.list; case-sensitive)")
	errMarket     = badParam("market", "must be the name of a listed market (market.list; case-sensitive)")
	errSide       = badParam("side", "must be 1 (sell) or 2 (buy)")
	errSideOrBoth = badParam("side", "must be 0 (both), 1 (sell) or 2 (buy)")
	errBusiness   = badParam("business", "must be a string of at most "+strconv.Itoa(MaxBusinessLen)+" bytes")
	errBusinessID = badParam("business_id", "must be an integer from 0 to 18446744073709551615")
	errDetail     = badParam("detail", "must be a JSON object of at most "+strconv.Itoa(MaxDetailLen)+" bytes")
	errSource     = badParam("source", "must be a string of at most "+strconv.Itoa(MaxSourceLen)+" bytes")
	errOrderID    = badParam("order_id", "must be an integer from 0 to 18446744073709551615")
	errClientID   = badParam("client_id", "must be a string of 1 to "+strconv.Itoa(book.MaxClientID)+" ASCII letters, digits or . _ : -")
	errOffset     = badParam("offset", "must be an integer ≥ 0")
	errLimit      = badParam("limit", "must be an integer from 0 to "+strconv.Itoa(MaxLimit))
	errTimeout    = badParam("timeout", "must be an integer from 0 to "+strconv.FormatInt(book.MaxCancelAfter/1e6, 10)+" (seconds)")
)

// decimalRule describes a decimal param truncated at prec decimals.
func decimalRule(prec int) string {
	return "must be a decimal string (e.g. \"1.5\"; at most " + strconv.Itoa(prec) + " decimals count, more are truncated)"
}

// errPositive is the answer to an amount or price that is not a decimal
// string > 0 once truncated at prec.
func errPositive(param string, prec int) *messages.Error {
	return badParam(param, decimalRule(prec)+" > 0 once truncated")
}

// errFeeRate is the answer to a fee rate not in [0, 1) at feePrec.
func errFeeRate(param string, feePrec int) *messages.Error {
	return badParam(param, decimalRule(feePrec)+" from 0 to less than 1")
}

// errInterval is the answer to a depth interval that is not a decimal ≥ 0.
func errInterval(prec int) *messages.Error {
	return badParam("interval", decimalRule(prec)+" ≥ 0")
}

// errChange is the answer to a balance.update change that does not parse
// at the asset's prec_show or is out of range.
func errChange(a *config.Asset) *messages.Error {
	return badParam("change", decimalRule(a.Show())+", negative to withdraw, within ±2^256 units of prec_save")
}

// errCount is the answer to a wrong number of params: "invalid argument:
// expected <want> [names…], got N".
func errCount(want string, p [][]byte, names ...string) *messages.Error {
	list := ""
	if len(names) > 0 {
		list = " [" + strings.Join(names, ", ") + "]"
	}
	return &messages.Error{Code: messages.ErrInvalidArgument.Code,
		Message: "invalid argument: expected " + want + list + ", got " + strconv.Itoa(len(p))}
}

// Limits enforced on params (docs/protocol.md "Limits" and D16).
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
// zeroOK (docs/protocol.md D9: 0 is the fee account, readable but not tradeable).
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
// is refused with code 1 naming the key.
func argOptions(raw []byte, limit bool) (options, error) {
	var o options
	var fields map[string]json.RawMessage
	keys := `"stp", "client_id"`
	if limit {
		keys = `"time_in_force", "post_only", "stp", "client_id"`
	}
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &fields) != nil {
		return o, badParam("options", "must be an object of "+keys)
	}
	for _, key := range slices.Sorted(maps.Keys(fields)) { // the first bad key in a fixed order
		v := fields[key]
		if string(v) == "null" {
			continue
		}
		var ok bool
		var rule string
		switch key {
		case "time_in_force":
			s, _ := argString(v, 3) // "" if not a string: no such name
			o.tif, ok = timesInForce[s]
			ok = ok && limit
			rule = `must be "GTC", "IOC" or "FOK" (limit orders only)`
		case "post_only":
			ok = limit && (string(v) == "true" || string(v) == "false")
			o.postOnly = string(v) == "true"
			rule = "must be true or false (limit orders only)"
		case "stp":
			var s string
			if s, ok = argString(v, 12); ok {
				o.stp, ok = config.ParseSTP(s)
				ok = ok && o.stp != messages.STPDefault
			}
			rule = `must be "none", "cancel_taker", "cancel_maker" or "cancel_both"`
		case "client_id":
			o.clientID, ok = argClientID(v)
			rule = errClientID.Message[len("invalid argument: client_id "):]
		default:
			return options{}, badParam("options", "has an unknown key "+strconv.Quote(key)+"; known: "+keys)
		}
		if !ok {
			return options{}, badParam("options."+key, rule)
		}
	}
	if o.postOnly && o.tif != messages.GTC {
		return options{}, badParam("options.post_only", `needs time_in_force "GTC"`) // it could never trade nor rest
	}
	return o, nil
}
