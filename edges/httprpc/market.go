package httprpc

import (
	"strconv"
	"time"

	"github.com/bourse-exchange/bourse/actors"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/wire"
	"github.com/bourse-exchange/bourse/messages"
)

// The market methods. market.list and market.summary are answered from
// configuration and the market actors; the marketprice methods
// (docs/protocol.md "Market data") by the market data follower, the edge
// checking each param's JSON type and the ranges that need no clock
// (market known, limit, period, start, end and interval positive). The
// follower clamps end to the command's Now, checks start ≤ end and the
// rules of docs/protocol.md "K-line intervals", and answers code 1
// otherwise.

// MaxDealsLimit is market.deals' largest limit (viabtc's MARKET_DEALS_MAX).
const MaxDealsLimit = 10000

// argInt64 parses a JSON integer that fits in int64 (negative allowed).
func argInt64(raw []byte) (int64, bool) {
	if !isInteger(raw) {
		return 0, false
	}
	return parseInt64(raw)
}

// argPositiveInt parses a JSON integer from 1 to max.
func argPositiveInt(raw []byte, max int64) (int64, bool) {
	v, ok := argInt64(raw)
	if !ok || v < 1 || v > max {
		return 0, false
	}
	return v, true
}

func nowSeconds() int64 { return time.Now().Unix() }

// market.last [market] (docs/protocol.md): the last price as a raw string, all
// money_prec decimals kept ("8000.00"); "0" if never traded.
func (c *call) marketLast() error {
	p := c.params
	if len(p) != 1 {
		return errCount("1 param", p, "market")
	}
	m, ok := argMarket(c.cfg, p[0])
	if !ok {
		return errMarket
	}
	rep, err := c.do(&messages.MarketLast{Market: m.ID})
	if err != nil {
		return err
	}
	r, ok := rep.(*messages.MarketLastReply)
	if !ok || r == nil || r.Price < 0 {
		return errInternal
	}
	c.out = wire.AppendPrice(c.out, r.Price, m.MoneyPrec)
	return nil
}

// market.deals [market, limit, last_id] (docs/protocol.md): up to limit (1..10000)
// deals newer than last_id, newest first. A negative last_id reads as
// viabtc's unsigned cast of it.
func (c *call) marketDeals() error {
	p := c.params
	if len(p) != 3 {
		return errCount("3 params", p, "market", "limit", "last_id")
	}
	m, ok := argMarket(c.cfg, p[0])
	if !ok {
		return errMarket
	}
	limit, ok := argPositiveInt(p[1], MaxDealsLimit)
	if !ok {
		return badParam("limit", "must be an integer from 1 to "+strconv.Itoa(MaxDealsLimit))
	}
	lastID, ok := argInt64(p[2])
	if !ok {
		return badParam("last_id", "must be an integer")
	}
	rep, err := c.do(&messages.MarketDeals{Market: m.ID, Limit: int(limit), LastID: uint64(lastID)})
	if err != nil {
		return err
	}
	r, ok := rep.(*messages.MarketDealsReply)
	if !ok || r == nil {
		return errInternal
	}
	wm := m.Wire()
	c.out = wire.AppendMarketDeals(c.out, &wm, r.Deals)
	return nil
}

// market.kline [market, start, end, interval] (docs/protocol.md): candles
// [time, open, close, high, low, volume, deal, market], oldest first.
func (c *call) marketKline() error {
	p := c.params
	if len(p) != 4 {
		return errCount("4 params", p, "market", "start", "end", "interval")
	}
	m, ok := argMarket(c.cfg, p[0])
	if !ok {
		return errMarket
	}
	start, ok := argInt64(p[1])
	if !ok || start <= 0 {
		return badParam("start", "must be an integer > 0 (Unix seconds)")
	}
	end, ok := argInt64(p[2])
	if !ok || end <= 0 {
		return badParam("end", "must be an integer > 0 (Unix seconds)")
	}
	interval, ok := argInt64(p[3])
	if !ok || interval <= 0 {
		return badParam("interval", "must be an integer > 0 (seconds)")
	}
	rep, err := c.do(&messages.MarketKline{Market: m.ID, Start: start, End: end, Interval: interval, Now: nowSeconds()})
	if err != nil {
		return err
	}
	r, ok := rep.(*messages.MarketKlineReply)
	if !ok || r == nil {
		return errInternal
	}
	wm := m.Wire()
	c.out = wire.AppendCandles(c.out, &wm, r.Candles)
	return nil
}

// market.status [market, period] (docs/protocol.md): period 1..sec_max seconds.
func (c *call) marketStatus() error {
	p := c.params
	if len(p) != 2 {
		return errCount("2 params", p, "market", "period")
	}
	m, ok := argMarket(c.cfg, p[0])
	if !ok {
		return errMarket
	}
	period, ok := argPositiveInt(p[1], int64(c.cfg.MarketData.SecMax/time.Second))
	if !ok {
		return badParam("period", "must be an integer from 1 to "+strconv.FormatInt(int64(c.cfg.MarketData.SecMax/time.Second), 10)+" (seconds)")
	}
	rep, err := c.do(&messages.MarketStatus{Market: m.ID, Period: period, Now: nowSeconds()})
	if err != nil {
		return err
	}
	r, ok := rep.(*messages.MarketStatusReply)
	if !ok || r == nil {
		return errInternal
	}
	wm := m.Wire()
	c.out = wire.AppendStatus(c.out, &wm, r)
	return nil
}

// market.status_today [market] (docs/protocol.md).
func (c *call) marketStatusToday() error {
	p := c.params
	if len(p) != 1 {
		return errCount("1 param", p, "market")
	}
	m, ok := argMarket(c.cfg, p[0])
	if !ok {
		return errMarket
	}
	rep, err := c.do(&messages.MarketStatusToday{Market: m.ID, Now: nowSeconds()})
	if err != nil {
		return err
	}
	r, ok := rep.(*messages.MarketStatusTodayReply)
	if !ok || r == nil {
		return errInternal
	}
	wm := m.Wire()
	c.out = wire.AppendStatusToday(c.out, &wm, r)
	return nil
}

// market.list (docs/protocol.md): params ignored, answered from the
// configuration; each market also says whether it is halted (market.halt).
func (c *call) marketList() error {
	halted := func(messages.MarketID) bool { return false }
	if h, ok := c.s.ex.(actors.HaltReporter); ok {
		halted = h.Halted
	}
	c.out = appendMarketList(c.out, c.cfg, halted)
	return nil
}

// market.summary [] or [market…] (docs/protocol.md): one MarketSummary per market, in
// the order asked (configuration order for []), sharing the request's
// deadline.
func (c *call) marketSummary() error {
	var markets []*config.Market
	if len(c.params) == 0 {
		markets = c.cfg.Markets
	} else {
		seen := newNameSet(len(c.cfg.Markets))
		for _, raw := range c.params {
			m, ok := argMarket(c.cfg, raw)
			if !ok {
				return errMarket
			}
			if seen.add(int(m.ID)) {
				markets = append(markets, m)
			}
		}
	}
	b := append(c.out, '[')
	for i, m := range markets {
		rep, err := c.do(&messages.MarketSummary{Market: m.ID})
		if err != nil {
			return err
		}
		r, ok := rep.(*messages.MarketSummaryReply)
		if !ok || r == nil {
			return errInternal
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = wire.AppendString(b, m.Name)
		b = append(b, `,"ask_count":`...)
		b = strconv.AppendInt(b, int64(r.AskCount), 10)
		b = append(b, `,"ask_amount":`...)
		b = wire.AppendUnits(b, r.AskAmount, m.StockPrec)
		b = append(b, `,"bid_count":`...)
		b = strconv.AppendInt(b, int64(r.BidCount), 10)
		b = append(b, `,"bid_amount":`...)
		b = wire.AppendUnits(b, r.BidAmount, m.StockPrec)
		b = append(b, `,"halted":`...)
		b = strconv.AppendBool(b, r.Halted)
		b = append(b, '}')
	}
	c.out = append(b, ']')
	return nil
}
