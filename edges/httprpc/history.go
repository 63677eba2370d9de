package httprpc

import (
	"math"
	"strconv"

	"github.com/bourse-exchange/bourse/internal/wire"
	"github.com/bourse-exchange/bourse/messages"
)

// The readhistory methods (docs/protocol.md "History"), answered by the
// history store. Their params follow viabtc's readhistory, which reads
// every number with jansson's json_integer_value: a param that is not a
// JSON integer (a string, a real, true, null…) counts as 0 — so it is
// refused only where 0 is (user_id, order_id, limit). Where viabtc would
// wrap an integer out of its C type (a negative offset, a user_id above
// 2^32), Bourse answers code 1. Markets, assets and business names are
// matched exactly against the stored history, not against configuration,
// so history outlives a market removed from it; an unknown name finds
// nothing.

// argLenient reads a readhistory number: a JSON integer in 0..max, or 0
// for a param that is not a JSON integer. ok is false for an integer out
// of range.
func argLenient(raw []byte, max uint64) (uint64, bool) {
	if !isInteger(raw) {
		return 0, true
	}
	return argUint(raw, max)
}

// historyArgs holds the params the readhistory methods share.
type historyArgs struct {
	user       uint32
	start, end int64
	offset     int
	limit      int
}

// argHistoryUser reads a user_id: 1..2^32-1.
func argHistoryUser(raw []byte) (uint32, bool) {
	v, ok := argLenient(raw, math.MaxUint32)
	return uint32(v), ok && v != 0
}

// argTimes reads start_time and end_time (Unix seconds, 0 = unbounded);
// start > end with end ≠ 0 is invalid.
func argTimes(rawStart, rawEnd []byte) (start, end int64, ok bool) {
	s, ok1 := argLenient(rawStart, math.MaxInt64)
	e, ok2 := argLenient(rawEnd, math.MaxInt64)
	if !ok1 || !ok2 || e != 0 && s > e {
		return 0, 0, false
	}
	return int64(s), int64(e), true
}

// The code 1 answers of the readhistory params shared by several methods.
var (
	errTimes = badParam("start_time", "and end_time must be integers ≥ 0 (Unix seconds, 0: unbounded) with start_time ≤ end_time unless end_time is 0")
	errPage  = badParam("offset", "must be an integer ≥ 0 and limit one from 1 to "+strconv.Itoa(messages.HistoryMaxLimit))
)

// argPage reads offset and limit (1..messages.HistoryMaxLimit).
func argPage(rawOffset, rawLimit []byte) (offset, limit int, ok bool) {
	o, ok1 := argLenient(rawOffset, math.MaxInt64)
	l, ok2 := argLenient(rawLimit, messages.HistoryMaxLimit)
	if !ok1 || !ok2 || l == 0 {
		return 0, 0, false
	}
	return int(o), int(l), true
}

// balance.history [user_id, asset, business, start_time, end_time,
// offset, limit] (docs/protocol.md): asset and business "" mean any.
func (c *call) balanceHistory() error {
	p := c.params
	if len(p) != 7 {
		return errCount("7 params", p, "user_id", "asset", "business", "start_time", "end_time", "offset", "limit")
	}
	var a historyArgs
	var ok bool
	if a.user, ok = argHistoryUser(p[0]); !ok {
		return errUserID
	}
	asset, ok := unquote(p[1])
	if !ok {
		return badParam("asset", `must be a string ("" for any)`)
	}
	business, ok := unquote(p[2])
	if !ok {
		return badParam("business", `must be a string ("" for any)`)
	}
	if a.start, a.end, ok = argTimes(p[3], p[4]); !ok {
		return errTimes
	}
	if a.offset, a.limit, ok = argPage(p[5], p[6]); !ok {
		return errPage
	}
	rep, err := c.do(&messages.BalanceHistory{User: a.user, Asset: asset, Business: business,
		Start: a.start, End: a.end, Offset: a.offset, Limit: a.limit})
	if err != nil {
		return err
	}
	r, ok := rep.(*messages.BalanceHistoryReply)
	if !ok || r == nil {
		return errInternal
	}
	b := wire.AppendPage(c.out, a.offset, a.limit)
	for i := range r.Records {
		if i > 0 {
			b = append(b, ',')
		}
		b = wire.AppendBalanceRecord(b, &r.Records[i])
	}
	c.out = append(b, "]}"...)
	return nil
}

// order.finished [user_id, market, start_time, end_time, offset, limit,
// side] (docs/protocol.md): side 0 (both), 1 or 2, optional; as in viabtc, params
// after the seventh are ignored. Times filter the creation time.
func (c *call) orderFinished() error {
	p := c.params
	if len(p) < 6 {
		return errCount("6 or 7 params", p, "user_id", "market", "start_time", "end_time", "offset", "limit", "side?")
	}
	var a historyArgs
	var ok bool
	if a.user, ok = argHistoryUser(p[0]); !ok {
		return errUserID
	}
	market, ok := unquote(p[1])
	if !ok {
		return badParam("market", "must be a string")
	}
	if a.start, a.end, ok = argTimes(p[2], p[3]); !ok {
		return errTimes
	}
	if a.offset, a.limit, ok = argPage(p[4], p[5]); !ok {
		return errPage
	}
	var side uint64
	if len(p) >= 7 {
		if side, ok = argLenient(p[6], uint64(messages.Bid)); !ok {
			return errSideOrBoth
		}
	}
	rep, err := c.do(&messages.FinishedOrders{User: a.user, Market: market, Side: messages.Side(side),
		Start: a.start, End: a.end, Offset: a.offset, Limit: a.limit})
	if err != nil {
		return err
	}
	r, ok := rep.(*messages.FinishedOrdersReply)
	if !ok || r == nil {
		return errInternal
	}
	b := wire.AppendPage(c.out, a.offset, a.limit)
	for i := range r.Records {
		if i > 0 {
			b = append(b, ',')
		}
		b = wire.AppendFinishedOrder(b, &r.Records[i])
	}
	c.out = append(b, "]}"...)
	return nil
}

// order.finished_detail [order_id] (docs/protocol.md): the finished order, or null.
func (c *call) orderFinishedDetail() error {
	p := c.params
	if len(p) != 1 {
		return errCount("1 param", p, "order_id")
	}
	id, ok := argLenient(p[0], math.MaxUint64)
	if !ok || id == 0 {
		return badParam("order_id", "must be an integer from 1 to 18446744073709551615")
	}
	rep, err := c.do(&messages.FinishedOrderDetail{OrderID: id})
	if err != nil {
		return err
	}
	r, ok := rep.(*messages.FinishedOrderDetailReply)
	if !ok || r == nil {
		return errInternal
	}
	if r.Order == nil {
		c.out = append(c.out, "null"...)
		return nil
	}
	c.out = wire.AppendFinishedOrder(c.out, r.Order)
	return nil
}

// order.deals [order_id, offset, limit] (docs/protocol.md): the order's side of each
// of its deals.
func (c *call) orderDeals() error {
	p := c.params
	if len(p) != 3 {
		return errCount("3 params", p, "order_id", "offset", "limit")
	}
	id, ok := argLenient(p[0], math.MaxUint64)
	if !ok || id == 0 {
		return badParam("order_id", "must be an integer from 1 to 18446744073709551615")
	}
	offset, limit, ok := argPage(p[1], p[2])
	if !ok {
		return errPage
	}
	rep, err := c.do(&messages.OrderDeals{OrderID: id, Offset: offset, Limit: limit})
	if err != nil {
		return err
	}
	return c.deals(rep, offset, limit, false)
}

// market.user_deals [user_id, market, offset, limit] (docs/protocol.md).
func (c *call) marketUserDeals() error {
	p := c.params
	if len(p) != 4 {
		return errCount("4 params", p, "user_id", "market", "offset", "limit")
	}
	user, ok := argHistoryUser(p[0])
	if !ok {
		return errUserID
	}
	market, ok := unquote(p[1])
	if !ok {
		return badParam("market", "must be a string")
	}
	offset, limit, ok := argPage(p[2], p[3])
	if !ok {
		return errPage
	}
	rep, err := c.do(&messages.UserDeals{User: user, Market: market, Offset: offset, Limit: limit})
	if err != nil {
		return err
	}
	return c.deals(rep, offset, limit, true)
}

// deals appends a page of deal records: order.deals' {"time", "user",
// "id", "role", "price", "amount", "deal", "fee", "deal_order_id"}, or with
// user (market.user_deals) "side" after "id" and "market" at the end.
func (c *call) deals(rep messages.Reply, offset, limit int, user bool) error {
	r, ok := rep.(*messages.DealHistoryReply)
	if !ok || r == nil {
		return errInternal
	}
	b := wire.AppendPage(c.out, offset, limit)
	for i := range r.Records {
		if i > 0 {
			b = append(b, ',')
		}
		b = wire.AppendDealRecord(b, &r.Records[i], user)
	}
	c.out = append(b, "]}"...)
	return nil
}
