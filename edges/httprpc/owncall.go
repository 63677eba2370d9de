package httprpc

import (
	"context"
	"strconv"
	"strings"

	"github.com/bourse-exchange/bourse/messages"
)

// The order methods a websocket connection calls for its own user
// (docs/protocol.md "WebSocket methods" and D17): the HTTP methods'
// params without user_id, which is the connection's user, and without
// taker_fee_rate and maker_fee_rate, which are the market's maker_fee and
// taker_fee in force (the durable configuration of the newest ConfigSet:
// internal/config Spec, market.update). The rest is the HTTP method itself — the
// same decoders, rules, answers and codes — except that another user's
// order is code 10 "order not found" rather than 11 "user not match"
// (call.do). A request that sends the fee rates has too many params and is
// refused with code 1: a client never chooses its fee there.

// OwnCommand is one of the methods below: it decodes params (the raw JSON
// of each), sends the command for user to the exchange and appends its
// JSON result to dst, with the errors of Query. user 0 (no authenticated
// user) is code 6 and sends nothing.
type OwnCommand func(v *Invoker, ctx context.Context, dst []byte, user uint32, params [][]byte) ([]byte, error)

// own is how one such method maps its params onto the HTTP method's.
type own struct {
	run   method
	names []string // the HTTP method's params; "?" marks an optional last one
}

// ownBound are the HTTP params a connection's call does not send.
var ownBound = map[string]bool{"user_id": true, "taker_fee_rate": true, "maker_fee_rate": true}

var (
	ownPutLimit      = own{(*call).putLimit, limitParams}
	ownPutLimitEx    = own{(*call).putLimitEx, append(append([]string{}, limitParams...), "options")}
	ownPutMarket     = own{(*call).putMarket, marketParams}
	ownPutMarketEx   = own{(*call).putMarketEx, append(append([]string{}, marketParams...), "options")}
	ownPutStopLimit  = own{(*call).putStopLimit, stopLimitParams}
	ownPutStopMarket = own{(*call).putStopMarket, stopMarketParams}
	ownCancel        = own{(*call).cancel, orderRefNames(false)}
	ownCancelAll     = own{(*call).cancelAll, cancelAllParams}
	ownAmend         = own{(*call).amend, orderRefNames(false, "amount")}
)

// PutLimit answers order.put_limit [market, side, amount, price, source].
func (v *Invoker) PutLimit(ctx context.Context, dst []byte, user uint32, params [][]byte) ([]byte, error) {
	return v.runOwn(ctx, dst, user, params, ownPutLimit)
}

// PutLimitEx answers order.put_limit_ex [market, side, amount, price,
// source, options].
func (v *Invoker) PutLimitEx(ctx context.Context, dst []byte, user uint32, params [][]byte) ([]byte, error) {
	return v.runOwn(ctx, dst, user, params, ownPutLimitEx)
}

// PutMarket answers order.put_market [market, side, amount, source].
func (v *Invoker) PutMarket(ctx context.Context, dst []byte, user uint32, params [][]byte) ([]byte, error) {
	return v.runOwn(ctx, dst, user, params, ownPutMarket)
}

// PutMarketEx answers order.put_market_ex [market, side, amount, source,
// options].
func (v *Invoker) PutMarketEx(ctx context.Context, dst []byte, user uint32, params [][]byte) ([]byte, error) {
	return v.runOwn(ctx, dst, user, params, ownPutMarketEx)
}

// PutStopLimit answers order.put_stop_limit [market, side, amount,
// stop_price, price, source, options?].
func (v *Invoker) PutStopLimit(ctx context.Context, dst []byte, user uint32, params [][]byte) ([]byte, error) {
	return v.runOwn(ctx, dst, user, params, ownPutStopLimit)
}

// PutStopMarket answers order.put_stop_market [market, side, amount,
// stop_price, source, options?].
func (v *Invoker) PutStopMarket(ctx context.Context, dst []byte, user uint32, params [][]byte) ([]byte, error) {
	return v.runOwn(ctx, dst, user, params, ownPutStopMarket)
}

// Cancel answers order.cancel [market, order_id].
func (v *Invoker) Cancel(ctx context.Context, dst []byte, user uint32, params [][]byte) ([]byte, error) {
	return v.runOwn(ctx, dst, user, params, ownCancel)
}

// CancelAll answers order.cancel_all [market, side].
func (v *Invoker) CancelAll(ctx context.Context, dst []byte, user uint32, params [][]byte) ([]byte, error) {
	return v.runOwn(ctx, dst, user, params, ownCancelAll)
}

// Amend answers order.amend [market, order_id, amount].
func (v *Invoker) Amend(ctx context.Context, dst []byte, user uint32, params [][]byte) ([]byte, error) {
	return v.runOwn(ctx, dst, user, params, ownAmend)
}

func (v *Invoker) runOwn(ctx context.Context, dst []byte, user uint32, params [][]byte, o own) ([]byte, error) {
	if user == 0 {
		return dst, messages.ErrRequireAuth
	}
	full, err := o.expand(params)
	if err != nil {
		return dst, err
	}
	return v.exec(&call{s: v.s, cfg: v.s.ex.Config(), ctx: ctx, params: full, out: dst, user: user}, dst, o.run)
}

// OwnBound reports whether the HTTP param name is one a connection does not
// send: user_id and the fee rates.
func OwnBound(name string) bool { return ownBound[name] }

// OwnParams returns the params of the HTTP method's names that a
// connection sends (the bound ones left out), and how many are required.
func OwnParams(names []string) (sent []string, required int) {
	for _, n := range names {
		if ownBound[n] {
			continue
		}
		sent = append(sent, n)
		if !strings.HasSuffix(n, "?") {
			required++
		}
	}
	return sent, required
}

// expand lays the connection's params out as the HTTP method takes them: a
// bound param is nil (call.userArg, call.feeArg). A wrong count is code 1
// naming the params the connection sends.
func (o own) expand(p [][]byte) ([][]byte, error) {
	sent, required := OwnParams(o.names)
	if len(p) < required || len(p) > len(sent) {
		want := strconv.Itoa(required) + " params"
		if required < len(sent) {
			want = strconv.Itoa(required) + " or " + strconv.Itoa(len(sent)) + " params"
		}
		return nil, errCount(want, p, sent...)
	}
	full := make([][]byte, 0, len(o.names))
	for _, n := range o.names {
		switch {
		case ownBound[n]:
			full = append(full, nil)
		case len(p) > 0:
			full, p = append(full, p[0]), p[1:]
		}
	}
	return full, nil
}

// userArg is the user_id param: raw over HTTP; nil (expand) for the
// connection's user.
func (c *call) userArg(raw []byte) (uint32, bool) {
	if raw == nil && c.user != 0 {
		return c.user, true
	}
	return argUser(raw, false)
}

// feeArg is a fee rate param at feePrec: raw over HTTP; nil (expand) for
// the market's configured rate, configured (units at feePrec).
func (c *call) feeArg(raw []byte, feePrec int, configured int64) (int64, bool) {
	if raw == nil && c.user != 0 {
		return configured, true
	}
	return argFeeRate(raw, feePrec)
}
