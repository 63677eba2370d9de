package marketdata

import (
	"time"

	"github.com/bourse-exchange/bourse/messages"
)

var (
	errArg      = &messages.ErrorReply{Err: messages.ErrInvalidArgument}
	errInternal = &messages.ErrorReply{Err: messages.ErrInternal}
)

// Query answers a market data command (messages/marketdata.go) from the
// model: its reply, or an *messages.ErrorReply with ErrInvalidArgument for
// an unknown market or a parameter out of range (ErrInternal for a command
// that is not market data). It only reads the model.
func (m *Model) Query(cmd messages.Command) messages.Reply {
	switch c := cmd.(type) {
	case *messages.MarketLast:
		mk := m.market(c.Market)
		if mk == nil {
			return errArg
		}
		return &messages.MarketLastReply{Price: mk.last}
	case *messages.MarketDeals:
		mk := m.market(c.Market)
		if mk == nil || c.Limit < 1 || c.Limit > MaxDealsLimit {
			return errArg
		}
		return &messages.MarketDealsReply{Deals: m.recent(mk, c.Limit, c.LastID)}
	case *messages.MarketKline:
		mk := m.market(c.Market)
		if mk == nil {
			return errArg
		}
		return m.kline(mk, c)
	case *messages.MarketStatus:
		mk := m.market(c.Market)
		if mk == nil || c.Period <= 0 || c.Period > m.secMax {
			return errArg
		}
		w, _ := m.window(mk, c.Now-c.Period, c.Now)
		return &messages.MarketStatusReply{
			Period: c.Period, Last: mk.last,
			Open: w.Open, Close: w.Close, High: w.High, Low: w.Low, Volume: w.Volume, Deal: w.Deal,
		}
	case *messages.MarketStatusToday:
		mk := m.market(c.Market)
		if mk == nil {
			return errArg
		}
		return m.today(mk, c.Now)
	}
	return errInternal
}

func (m *Model) market(id messages.MarketID) *market {
	if int(id) >= len(m.markets) {
		return nil
	}
	return m.markets[id]
}

// recent lists up to limit deals newest first, stopping at the first whose
// id is not above lastID (ids grow within a market).
func (m *Model) recent(mk *market, limit int, lastID uint64) []messages.MarketDeal {
	ds := mk.deals
	if len(ds) > m.dealsMax {
		ds = ds[len(ds)-m.dealsMax:]
	}
	out := make([]messages.MarketDeal, 0, min(limit, len(ds)))
	for i := len(ds) - 1; i >= 0 && len(out) < limit; i-- {
		if ds[i].ID <= lastID {
			break
		}
		out = append(out, ds[i])
	}
	return out
}

// window merges the 1 s buckets from start up to the next whole minute and
// then the minute buckets up to now (exclusive), as viabtc's market.status
// does, leaving out buckets past their retention at now (so that the
// answer does not depend on when Trim ran). found is false (and w zero)
// when no bucket lies there.
func (m *Model) window(mk *market, start, now int64) (w messages.Candle, found bool) {
	startMin := floorTo(start, 60) + 60
	s := mk.series[Sec]
	for j := s.search(max(start, m.cutoff(Sec, now))); j < len(s) && s[j].Time < startMin; j++ {
		merge(&w, &s[j], !found)
		found = true
	}
	s = mk.series[Min]
	for j := s.search(max(startMin, m.cutoff(Min, now))); j < len(s) && s[j].Time < now; j++ {
		merge(&w, &s[j], !found)
		found = true
	}
	return w, found
}

// today answers market.status_today at now.
func (m *Model) today(mk *market, now int64) *messages.MarketStatusTodayReply {
	r := &messages.MarketStatusTodayReply{}
	start := dayStart(now, m.loc)
	days := mk.series[Day]
	j := days.search(start)
	switch {
	case j < len(days) && days[j].Time == start:
		c := &days[j]
		r.Open, r.Last, r.High, r.Low = c.Open, c.Close, c.High, c.Low
	case j > 0 && days[j-1].Time >= start-lookBackDays*day:
		p := days[j-1].Close
		r.Open, r.Last, r.High, r.Low = p, p, p, p
	}
	w, _ := m.window(mk, now-day, now)
	r.Volume, r.Deal = w.Volume, w.Deal
	return r
}

// merge folds sub-bucket s into c; first starts c from s.
func merge(c, s *messages.Candle, first bool) {
	if first {
		*c = *s
		return
	}
	c.Close = s.Close
	c.High = max(c.High, s.High)
	c.Low = min(c.Low, s.Low)
	c.Volume.Add(&c.Volume, &s.Volume)
	c.Deal.Add(&c.Deal, &s.Deal)
}

// plan lays out the output buckets of a k-line query: bucket i starts at
// at(i) and ends where bucket i+1 starts; each aggregates the buckets of
// series src that start inside it (with capEnd, only those starting at or
// before the query's end).
type plan struct {
	src    Resolution
	at     func(i int64) int64
	first  int64 // at(0)
	step   int64 // fixed bucket length, 0 for calendar buckets
	before int64 // a close is looked for in src buckets from before to first
	capEnd bool
}

// Kline intervals with their own alignment (docs/protocol.md "K-line intervals").
const (
	week  = 7 * day
	month = 30 * day
)

// kline answers market.kline.
func (m *Model) kline(mk *market, c *messages.MarketKline) messages.Reply {
	start, end, iv, now := c.Start, c.End, c.Interval, c.Now
	if start <= 0 {
		return errArg
	}
	end = min(end, now)
	if end <= 0 || start > end || iv <= 0 {
		return errArg
	}
	if m.klineMax > 0 && iv < week && (end-start)/iv >= m.klineMax {
		// At most klineMax buckets: the newest (the bucket holding end
		// and the klineMax-1 before it).
		start = end - (m.klineMax-1)*iv
	}
	fixed := func(src Resolution, first, before int64) plan {
		return plan{src: src, first: first, step: iv, before: before, at: func(i int64) int64 { return first + i*iv }}
	}
	var p plan
	switch {
	case iv < 60:
		if 60%iv != 0 {
			return errArg
		}
		lower := now - m.secMax
		p = fixed(Sec, floorTo(max(start, lower), iv), lower)
	case iv < 3600:
		if iv%60 != 0 || 3600%iv != 0 {
			return errArg
		}
		lower := floorTo(now, 60) - m.minMax
		p = fixed(Min, floorTo(max(start, lower), iv), lower)
	case iv < day:
		if iv%3600 != 0 || day%iv != 0 {
			return errArg
		}
		lower := floorTo(now, 3600) - m.hourMax
		start = max(start, lower)
		base := dayStart(start, m.loc)
		for base+iv <= start {
			base += iv
		}
		p = fixed(Hour, base, lower)
	case iv < week:
		if iv%day != 0 {
			return errArg
		}
		k := iv / day
		p = m.days(floorTo(localDay(start, m.loc), k), k)
	case iv == week:
		d := localDay(start, m.loc)
		// Day 0 (1970-01-01) was a Thursday: Monday is day -3 mod 7.
		p = m.days(d-(d+3-floorTo(d+3, 7)), 7)
	case iv == month:
		y, mo, _ := time.Unix(start, 0).In(m.loc).Date()
		loc := m.loc
		at := func(i int64) int64 { return time.Date(y, mo+time.Month(i), 1, 0, 0, 0, 0, loc).Unix() }
		p = plan{src: Day, at: at, first: at(0), before: start - lookBackDays*day, capEnd: true}
	default:
		return errArg
	}
	return &messages.MarketKlineReply{Candles: p.run(mk.series[p.src], end)}
}

// days plans buckets of k local days from calendar day d0.
func (m *Model) days(d0, k int64) plan {
	loc := m.loc
	at := func(i int64) int64 { return midnight(d0+i*k, loc) }
	first := at(0)
	return plan{src: Day, at: at, first: first, before: first - lookBackDays*day}
}

// run builds the candles of buckets starting at or before end. Empty
// buckets are skipped until a first candle exists (or a close was found
// before the first bucket); after that each is a flat candle at the
// previous close.
func (p *plan) run(s series, end int64) []messages.Candle {
	var out []messages.Candle
	j := s.search(p.first)
	var prev int64 // previous close
	have := j > 0 && s[j-1].Time >= p.before
	if have {
		prev = s[j-1].Close
	}
	for i := int64(0); ; i++ {
		lo := p.at(i)
		if lo > end {
			break
		}
		hi := p.at(i + 1)
		if hi <= lo {
			continue // a calendar day the zone skipped
		}
		lim := hi
		if p.capEnd {
			lim = min(hi, end+1)
		}
		var c messages.Candle
		found := false
		for ; j < len(s) && s[j].Time < lim; j++ {
			merge(&c, &s[j], !found)
			found = true
		}
		if !found {
			if !have {
				if j == len(s) || s[j].Time > end {
					break // nothing to show
				}
				if p.step > 0 { // jump to the bucket holding the next data
					if k := (s[j].Time-p.first)/p.step - 1; k > i {
						i = k
					}
				}
				continue
			}
			c = messages.Candle{Open: prev, Close: prev, High: prev, Low: prev}
		}
		c.Time = lo
		out = append(out, c)
		prev, have = c.Close, true
	}
	return out
}
