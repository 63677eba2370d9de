package httprpc

import (
	"strconv"

	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/wire"
	"github.com/bourse-exchange/bourse/messages"
)

// The order methods (docs/protocol.md "HTTP methods", with Bourse's order
// options), answered by the market actors.

// order.put_limit [user_id, market, side, amount, price, taker_fee_rate,
// maker_fee_rate, source] (docs/protocol.md).
func (c *call) putLimit() error {
	if len(c.params) != 8 {
		return errCount("8 params", c.params, limitParams...)
	}
	cmd, err := c.limitArgs(c.params)
	if err != nil {
		return err
	}
	return c.place(cmd)
}

// place sends an order command and appends the order it answers.
func (c *call) place(cmd messages.Command) error {
	rep, err := c.do(cmd)
	if err != nil {
		return err
	}
	return c.order(rep)
}

// limitParams names put_limit's eight params.
var limitParams = []string{"user_id", "market", "side", "amount", "price", "taker_fee_rate", "maker_fee_rate", "source"}

// limitArgs reads put_limit's eight params into a command, or returns the
// code 1 error naming the first bad one.
func (c *call) limitArgs(p [][]byte) (*messages.PutLimit, error) {
	user, ok := c.userArg(p[0])
	if !ok {
		return nil, errUserID
	}
	m, ok := argMarket(c.cfg, p[1])
	if !ok {
		return nil, errMarket
	}
	side, ok := argSide(p[2])
	if !ok {
		return nil, errSide
	}
	amount, ok := argPositive(p[3], m.StockPrec)
	if !ok {
		return nil, errPositive("amount", m.StockPrec)
	}
	price, ok := argPositive(p[4], m.MoneyPrec)
	if !ok {
		return nil, errPositive("price", m.MoneyPrec)
	}
	takerFee, ok := c.feeArg(p[5], m.Fee, m.TakerUnits)
	if !ok {
		return nil, errFeeRate("taker_fee_rate", m.Fee)
	}
	makerFee, ok := c.feeArg(p[6], m.Fee, m.MakerUnits)
	if !ok {
		return nil, errFeeRate("maker_fee_rate", m.Fee)
	}
	source, ok := argString(p[7], MaxSourceLen)
	if !ok {
		return nil, errSource
	}
	return &messages.PutLimit{
		User:     user,
		Market:   m.ID,
		Side:     messages.Side(side),
		Amount:   amount,
		Price:    price,
		TakerFee: takerFee,
		MakerFee: makerFee,
		Source:   source,
		Time:     now(),
	}, nil
}

// order.put_limit_ex [user_id, market, side, amount, price, taker_fee_rate,
// maker_fee_rate, source, options] (Bourse): put_limit with an options
// object (argOptions: time_in_force, post_only, stp, client_id). A FOK
// order that cannot be filled entirely at once is code 12, a post-only
// order that would take liquidity code 13, a client id one of the user's
// open orders in the market has code 14; none changes anything.
func (c *call) putLimitEx() error {
	p := c.params
	if len(p) != 9 {
		return errCount("9 params", p, append(limitParams, "options")...)
	}
	cmd, err := c.limitArgs(p[:8])
	if err != nil {
		return err
	}
	if err := setLimitOptions(cmd, p[8]); err != nil {
		return err
	}
	return c.place(cmd)
}

// order.put_stop_limit [user_id, market, side, amount, stop_price, price,
// taker_fee_rate, maker_fee_rate, source, options?] (Bourse): a limit order
// held until a trade prints at or above stop_price (buy) or at or below it
// (sell), then matched as a new limit order. stop_price is a price (> 0 at
// money_prec); options as put_limit_ex. Code 15 if the market's last price
// has reached stop_price already.
func (c *call) putStopLimit() error {
	p := c.params
	if len(p) != 9 && len(p) != 10 {
		return errCount("9 or 10 params", p, stopLimitParams...)
	}
	cmd, err := c.limitArgs([][]byte{p[0], p[1], p[2], p[3], p[5], p[6], p[7], p[8]})
	if err != nil {
		return err
	}
	var ok bool
	if cmd.StopPrice, ok = argPositive(p[4], c.cfg.Markets[cmd.Market].MoneyPrec); !ok {
		return errPositive("stop_price", c.cfg.Markets[cmd.Market].MoneyPrec)
	}
	if len(p) == 10 {
		return c.placeWith(cmd, setLimitOptions(cmd, p[9]))
	}
	return c.place(cmd)
}

// stopLimitParams names put_stop_limit's params, the last optional.
var stopLimitParams = []string{"user_id", "market", "side", "amount", "stop_price", "price", "taker_fee_rate", "maker_fee_rate", "source", "options?"}

// stopMarketParams names put_stop_market's params, the last optional.
var stopMarketParams = []string{"user_id", "market", "side", "amount", "stop_price", "taker_fee_rate", "source", "options?"}

// placeWith places cmd unless err (a bad param) is set.
func (c *call) placeWith(cmd messages.Command, err error) error {
	if err != nil {
		return err
	}
	return c.place(cmd)
}

// setLimitOptions applies an options object to a limit order.
func setLimitOptions(cmd *messages.PutLimit, raw []byte) error {
	o, err := argOptions(raw, true)
	if err != nil {
		return err
	}
	cmd.TIF, cmd.PostOnly, cmd.STP, cmd.ClientID = o.tif, o.postOnly, o.stp, o.clientID
	return nil
}

// setMarketOptions applies an options object to a market order: stp and
// client_id only.
func setMarketOptions(cmd *messages.PutMarket, raw []byte) error {
	o, err := argOptions(raw, false)
	if err != nil {
		return err
	}
	cmd.STP, cmd.ClientID = o.stp, o.clientID
	return nil
}

// cancelAllParams names cancel_all's three params.
var cancelAllParams = []string{"user_id", "market", "side"}

// order.cancel_all [user_id, market, side] (Bourse): cancels every resting
// order of the user in the market, on one side (1 ask, 2 bid) or both (0),
// as one journal record; result {"count": N}.
func (c *call) cancelAll() error {
	p := c.params
	if len(p) != 3 {
		return errCount("3 params", p, cancelAllParams...)
	}
	user, ok := c.userArg(p[0])
	if !ok {
		return errUserID
	}
	m, ok := argMarket(c.cfg, p[1])
	if !ok {
		return errMarket
	}
	side, ok := argUint(p[2], 2)
	if !ok {
		return errSideOrBoth
	}
	rep, err := c.do(&messages.CancelAll{User: user, Market: m.ID, Side: messages.Side(side), Time: now()})
	if err != nil {
		return err
	}
	r, ok := rep.(*messages.CancelAllReply)
	if !ok || r == nil {
		return errInternal
	}
	b := append(c.out, `{"count":`...)
	b = strconv.AppendInt(b, int64(r.Count), 10)
	c.out = append(b, '}')
	return nil
}

// order.put_market [user_id, market, side, amount, taker_fee_rate, source]
// (docs/protocol.md). A buy's amount is money, at money_prec (docs/protocol.md D8).
func (c *call) putMarket() error {
	if len(c.params) != 6 {
		return errCount("6 params", c.params, marketParams...)
	}
	cmd, err := c.marketArgs(c.params)
	if err != nil {
		return err
	}
	return c.place(cmd)
}

// marketParams names put_market's six params.
var marketParams = []string{"user_id", "market", "side", "amount", "taker_fee_rate", "source"}

// marketArgs reads put_market's six params into a command, or returns the
// code 1 error naming the first bad one.
func (c *call) marketArgs(p [][]byte) (*messages.PutMarket, error) {
	user, ok := c.userArg(p[0])
	if !ok {
		return nil, errUserID
	}
	m, ok := argMarket(c.cfg, p[1])
	if !ok {
		return nil, errMarket
	}
	side, ok := argSide(p[2])
	if !ok {
		return nil, errSide
	}
	prec := m.StockPrec
	if messages.Side(side) == messages.Bid {
		prec = m.MoneyPrec
	}
	amount, ok := argPositive(p[3], prec)
	if !ok {
		return nil, errPositive("amount", prec)
	}
	takerFee, ok := c.feeArg(p[4], m.Fee, m.TakerUnits)
	if !ok {
		return nil, errFeeRate("taker_fee_rate", m.Fee)
	}
	source, ok := argString(p[5], MaxSourceLen)
	if !ok {
		return nil, errSource
	}
	return &messages.PutMarket{
		User:     user,
		Market:   m.ID,
		Side:     messages.Side(side),
		Amount:   amount,
		TakerFee: takerFee,
		Source:   source,
		Time:     now(),
	}, nil
}

// order.put_market_ex [user_id, market, side, amount, taker_fee_rate,
// source, options] (Bourse): put_market with an options object of stp and
// client_id only (argOptions).
func (c *call) putMarketEx() error {
	p := c.params
	if len(p) != 7 {
		return errCount("7 params", p, append(marketParams, "options")...)
	}
	cmd, err := c.marketArgs(p[:6])
	if err != nil {
		return err
	}
	if err := setMarketOptions(cmd, p[6]); err != nil {
		return err
	}
	return c.place(cmd)
}

// order.put_stop_market [user_id, market, side, amount, stop_price,
// taker_fee_rate, source, options?] (Bourse): a market order held until a
// trade reaches stop_price (as put_stop_limit), then matched as a new
// market order; if the book cannot take it then, it is cancelled. amount
// as put_market; options as put_market_ex.
func (c *call) putStopMarket() error {
	p := c.params
	if len(p) != 7 && len(p) != 8 {
		return errCount("7 or 8 params", p, stopMarketParams...)
	}
	cmd, err := c.marketArgs([][]byte{p[0], p[1], p[2], p[3], p[5], p[6]})
	if err != nil {
		return err
	}
	var ok bool
	if cmd.StopPrice, ok = argPositive(p[4], c.cfg.Markets[cmd.Market].MoneyPrec); !ok {
		return errPositive("stop_price", c.cfg.Markets[cmd.Market].MoneyPrec)
	}
	if len(p) == 8 {
		return c.placeWith(cmd, setMarketOptions(cmd, p[7]))
	}
	return c.place(cmd)
}

// order.cancel [user_id, market, order_id] (docs/protocol.md).
func (c *call) cancel() error { return c.cancelBy(false) }

// order.cancel_by_client_id [user_id, market, client_id] (Bourse): the
// user's open order with that client id, as order.cancel.
func (c *call) cancelByClientID() error { return c.cancelBy(true) }

func (c *call) cancelBy(byClient bool) error {
	p := c.params
	if len(p) != 3 {
		return errCount("3 params", p, orderRefNames(byClient)...)
	}
	user, m, id, clientID, err := c.orderRef(p, false, byClient)
	if err != nil {
		return err
	}
	return c.place(&messages.Cancel{User: user, Market: m.ID, OrderID: id, ClientID: clientID, Time: now()})
}

// orderRefNames names the params that name an order, for a count error.
func orderRefNames(byClient bool, more ...string) []string {
	if byClient {
		return append([]string{"user_id", "market", "client_id"}, more...)
	}
	return append([]string{"user_id", "market", "order_id"}, more...)
}

// orderRef reads the [user_id, market, order_id or client_id] that name an
// order (user_id 0 only if zeroOK), or returns the code 1 error naming the
// first bad one.
func (c *call) orderRef(p [][]byte, zeroOK, byClient bool) (user uint32, m *config.Market, id uint64, clientID string, err error) {
	var ok bool
	if zeroOK {
		user, ok = argUser(p[0], true)
	} else {
		user, ok = c.userArg(p[0])
	}
	if !ok {
		if zeroOK {
			return 0, nil, 0, "", errUserIDZero
		}
		return 0, nil, 0, "", errUserID
	}
	if m, ok = argMarket(c.cfg, p[1]); !ok {
		return 0, nil, 0, "", errMarket
	}
	if byClient {
		if clientID, ok = argClientID(p[2]); !ok {
			return 0, nil, 0, "", errClientID
		}
	} else if id, ok = argUint(p[2], ^uint64(0)); !ok {
		return 0, nil, 0, "", errOrderID
	}
	return user, m, id, clientID, nil
}

// order.amend [user_id, market, order_id, amount] (Bourse): reduces an
// open limit order (resting, or a stop-limit order not yet triggered) to
// the new total amount, at stock_prec, keeping its place in the queue; the
// funds no longer needed are released. Code 1 unless deal_stock < amount <
// the old amount and the order is a limit order; 10/11 as order.cancel.
func (c *call) amend() error { return c.amendBy(false) }

// order.amend_by_client_id [user_id, market, client_id, amount] (Bourse):
// order.amend naming the order by its client id.
func (c *call) amendByClientID() error { return c.amendBy(true) }

func (c *call) amendBy(byClient bool) error {
	p := c.params
	if len(p) != 4 {
		return errCount("4 params", p, orderRefNames(byClient, "amount")...)
	}
	user, m, id, clientID, err := c.orderRef(p, false, byClient)
	if err != nil {
		return err
	}
	amount, ok := argPositive(p[3], m.StockPrec)
	if !ok {
		return errPositive("amount", m.StockPrec)
	}
	return c.place(&messages.Amend{User: user, Market: m.ID, OrderID: id, ClientID: clientID, Amount: amount, Time: now()})
}

// order.cancel_all_after [user_id, market, timeout] (Bourse): the
// dead-man's switch. timeout in seconds, 1 to 86400, arms or re-arms it:
// unless called again within timeout, every open order of the user in the
// market is cancelled; 0 disarms it. Result {"deadline": Unix seconds, or
// 0 when disarmed}.
func (c *call) cancelAllAfter() error {
	p := c.params
	if len(p) != 3 {
		return errCount("3 params", p, "user_id", "market", "timeout")
	}
	user, ok := argUser(p[0], false)
	if !ok {
		return errUserID
	}
	m, ok := argMarket(c.cfg, p[1])
	if !ok {
		return errMarket
	}
	timeout, ok := argUint(p[2], book.MaxCancelAfter/1e6)
	if !ok {
		return errTimeout
	}
	rep, err := c.do(&messages.CancelAfter{User: user, Market: m.ID, Timeout: int64(timeout) * 1e6, Time: now()})
	if err != nil {
		return err
	}
	r, ok := rep.(*messages.CancelAfterReply)
	if !ok || r == nil || r.Deadline < 0 {
		return errInternal
	}
	b := append(c.out, `{"deadline":`...)
	if r.Deadline == 0 {
		b = append(b, '0')
	} else {
		b = wire.AppendTime(b, r.Deadline)
	}
	c.out = append(b, '}')
	return nil
}

// order appends the order info of a *messages.OrderReply.
func (c *call) order(rep messages.Reply) error {
	r, ok := rep.(*messages.OrderReply)
	if !ok || r == nil {
		return errInternal
	}
	b, ok := appendOrder(c.out, c.cfg, &r.Order)
	if !ok {
		return errInternal
	}
	c.out = b
	return nil
}

// orderList appends a *messages.OrderListReply: order.pending's
// {"limit","offset","total","records"} or order.book's
// {"offset","limit","total","orders"}, keys in viabtc's order.
func (c *call) orderList(rep messages.Reply, offset, limit int, pending bool) error {
	r, ok := rep.(*messages.OrderListReply)
	if !ok || r == nil {
		return errInternal
	}
	b := c.out
	if pending {
		b = append(b, `{"limit":`...)
		b = strconv.AppendInt(b, int64(limit), 10)
		b = append(b, `,"offset":`...)
		b = strconv.AppendInt(b, int64(offset), 10)
	} else {
		b = append(b, `{"offset":`...)
		b = strconv.AppendInt(b, int64(offset), 10)
		b = append(b, `,"limit":`...)
		b = strconv.AppendInt(b, int64(limit), 10)
	}
	b = append(b, `,"total":`...)
	b = strconv.AppendInt(b, int64(r.Total), 10)
	if pending {
		b = append(b, `,"records":`...)
	} else {
		b = append(b, `,"orders":`...)
	}
	if b, ok = appendOrders(b, c.cfg, r.Orders); !ok {
		return errInternal
	}
	c.out = append(b, '}')
	return nil
}

// order.book [market, side, offset, limit] (docs/protocol.md).
func (c *call) orderBook() error {
	p := c.params
	if len(p) != 4 {
		return errCount("4 params", p, "market", "side", "offset", "limit")
	}
	m, ok := argMarket(c.cfg, p[0])
	if !ok {
		return errMarket
	}
	side, ok := argSide(p[1])
	if !ok {
		return errSide
	}
	offset, ok := argInt(p[2])
	if !ok {
		return errOffset
	}
	limit, ok := argLimit(p[3])
	if !ok {
		return errLimit
	}
	rep, err := c.do(&messages.OrderBook{Market: m.ID, Side: messages.Side(side), Offset: offset, Limit: limit})
	if err != nil {
		return err
	}
	return c.orderList(rep, offset, limit, false)
}

// order.pending [user_id, market, offset, limit] (docs/protocol.md). user_id 0 is
// allowed (a query).
func (c *call) orderPending() error {
	p := c.params
	if len(p) != 4 {
		return errCount("4 params", p, "user_id", "market", "offset", "limit")
	}
	user, ok := argUser(p[0], true)
	if !ok {
		return errUserIDZero
	}
	m, ok := argMarket(c.cfg, p[1])
	if !ok {
		return errMarket
	}
	offset, ok := argInt(p[2])
	if !ok {
		return errOffset
	}
	limit, ok := argLimit(p[3])
	if !ok {
		return errLimit
	}
	rep, err := c.do(&messages.OrderPending{User: user, Market: m.ID, Offset: offset, Limit: limit})
	if err != nil {
		return err
	}
	return c.orderList(rep, offset, limit, true)
}

// order.depth [market, limit, interval] (docs/protocol.md).
func (c *call) orderDepth() error {
	p := c.params
	if len(p) != 3 {
		return errCount("3 params", p, "market", "limit", "interval")
	}
	m, ok := argMarket(c.cfg, p[0])
	if !ok {
		return errMarket
	}
	limit, ok := argLimit(p[1])
	if !ok {
		return errLimit
	}
	interval, ok := argNonNegative(p[2], m.MoneyPrec)
	if !ok {
		return errInterval(m.MoneyPrec)
	}
	rep, err := c.do(&messages.OrderDepth{Market: m.ID, Limit: limit, Interval: interval})
	if err != nil {
		return err
	}
	r, ok := rep.(*messages.DepthReply)
	if !ok || r == nil {
		return errInternal
	}
	wm := m.Wire()
	c.out = wire.AppendDepth(c.out, &wm, r.Asks, r.Bids)
	return nil
}

// order.pending_detail [market, order_id] (docs/protocol.md): the order, or null.
func (c *call) orderPendingDetail() error {
	p := c.params
	if len(p) != 2 {
		return errCount("2 params", p, "market", "order_id")
	}
	m, ok := argMarket(c.cfg, p[0])
	if !ok {
		return errMarket
	}
	id, ok := argUint(p[1], ^uint64(0))
	if !ok {
		return errOrderID
	}
	return c.orderDetail(&messages.OrderPendingDetail{Market: m.ID, OrderID: id})
}

// order.pending_detail_by_client_id [user_id, market, client_id] (Bourse):
// the user's open order with that client id, or null. user_id 0 is allowed
// (a query).
func (c *call) orderPendingDetailByClientID() error {
	p := c.params
	if len(p) != 3 {
		return errCount("3 params", p, orderRefNames(true)...)
	}
	user, m, _, clientID, err := c.orderRef(p, true, true)
	if err != nil {
		return err
	}
	return c.orderDetail(&messages.OrderPendingDetail{Market: m.ID, User: user, ClientID: clientID})
}

// orderDetail sends an OrderPendingDetail and appends the order or null.
func (c *call) orderDetail(cmd *messages.OrderPendingDetail) error {
	rep, err := c.do(cmd)
	if err != nil {
		return err
	}
	r, ok := rep.(*messages.OrderDetailReply)
	if !ok || r == nil {
		return errInternal
	}
	if r.Order == nil {
		c.out = append(c.out, "null"...)
		return nil
	}
	b, ok := appendOrder(c.out, c.cfg, r.Order)
	if !ok {
		return errInternal
	}
	c.out = b
	return nil
}
