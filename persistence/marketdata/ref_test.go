package marketdata_test

import (
	"fmt"
	"sort"
	"time"

	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/shopspring/decimal"
)

// reference is a slow market data model written differently from Model:
// it keeps the raw deals (decimals, in journal order) and answers every
// query by scanning them, with bucket boundaries computed by time.Time
// arithmetic. Tests compare Model's answers with it.
type reference struct {
	cfg                     *config.Config
	loc                     *time.Location
	secMax, minMax, hourMax int64
	markets                 [][]refDeal
	cache                   map[[2]int][]keyed // byKey's
}

type refDeal struct {
	idx           int // journal order
	id            uint64
	us            int64
	sell          bool // taker side
	price, amount decimal.Decimal
}

func newReference(cfg *config.Config) *reference {
	md := cfg.MarketData
	return &reference{
		cfg: cfg, loc: md.Location,
		secMax: int64(md.SecMax.Seconds()), minMax: int64(md.MinMax.Seconds()), hourMax: int64(md.HourMax.Seconds()),
		markets: make([][]refDeal, len(cfg.Markets)),
	}
}

// add records a journal Trade.
func (r *reference) add(t *messages.Trade) {
	m := r.cfg.Markets[t.Market]
	r.cache = nil
	ds := r.markets[t.Market]
	r.markets[t.Market] = append(ds, refDeal{
		idx: len(ds), id: t.DealID, us: t.Time, sell: t.TakerSide == messages.Ask,
		price:  decimal.New(t.Price, int32(-m.MoneyPrec)),
		amount: decimal.New(t.Amount, int32(-m.StockPrec)),
	})
}

// mod is the non-negative remainder.
func mod(a, b int64) int64 { return ((a % b) + b) % b }

func secOf(us int64) int64 { return (us - mod(us, 1e6)) / 1e6 }

// key is the start of the bucket of resolution res ("s", "m", "h", "d")
// holding the deal.
func (r *reference) key(res byte, d *refDeal) int64 {
	s := secOf(d.us)
	switch res {
	case 's':
		return s
	case 'm':
		return s - mod(s, 60)
	case 'h':
		return s - mod(s, 3600)
	}
	t := time.Unix(s, 0).In(r.loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, r.loc).Unix()
}

// byKey lists a market's deals keyed by resolution res, in merge order
// (computed once per market and resolution until the next add).
func (r *reference) byKey(market int, res byte) []keyed {
	if r.cache == nil {
		r.cache = make(map[[2]int][]keyed)
	}
	ck := [2]int{market, int(res)}
	if ks, ok := r.cache[ck]; ok {
		return ks
	}
	var ks []keyed
	for i := range r.markets[market] {
		d := &r.markets[market][i]
		ks = append(ks, keyed{r.key(res, d), d})
	}
	ks = sorted(ks)
	r.cache[ck] = ks
	return ks
}

// refCandle is a candle in decimals.
type refCandle struct {
	t                                      int64
	open, close, high, low, volume, amount decimal.Decimal
}

func (c refCandle) String() string {
	return fmt.Sprintf("%d %s %s %s %s %s %s", c.t, c.open, c.close, c.high, c.low, c.volume, c.amount)
}

// keyed is a deal with the key it is ordered by.
type keyed struct {
	k int64
	d *refDeal
}

// sorted orders deals by bucket, then journal order: the order in which
// merging buckets sees them (a bucket's open is its first deal applied,
// its close its last).
func sorted(ks []keyed) []keyed {
	sort.SliceStable(ks, func(i, j int) bool {
		if ks[i].k != ks[j].k {
			return ks[i].k < ks[j].k
		}
		return ks[i].d.idx < ks[j].d.idx
	})
	return ks
}

// fold aggregates deals (in merge order); ok is false for none.
func fold(ks []keyed) (c refCandle, ok bool) {
	for i, k := range ks {
		p := k.d.price
		if i == 0 {
			c.open, c.high, c.low = p, p, p
		}
		c.close = p
		if p.GreaterThan(c.high) {
			c.high = p
		}
		if p.LessThan(c.low) {
			c.low = p
		}
		c.volume = c.volume.Add(k.d.amount)
		c.amount = c.amount.Add(p.Mul(k.d.amount))
	}
	return c, len(ks) > 0
}

// kline answers market.kline; ok is false for parameters it refuses.
func (r *reference) kline(market int, start, end, iv, now int64) (out []refCandle, ok bool) {
	if start <= 0 || iv <= 0 {
		return nil, false
	}
	if end > now {
		end = now
	}
	if end <= 0 || start > end {
		return nil, false
	}
	var (
		res      byte
		boundary func(i int64) int64
		before   int64
		capEnd   bool
	)
	switch {
	case iv < 60 && 60%iv == 0:
		res, before = 's', now-r.secMax
		s := max(start, before)
		s -= mod(s, iv)
		boundary = func(i int64) int64 { return s + i*iv }
	case iv >= 60 && iv < 3600 && iv%60 == 0 && 3600%iv == 0:
		res, before = 'm', now-mod(now, 60)-r.minMax
		s := max(start, before)
		s -= mod(s, iv)
		boundary = func(i int64) int64 { return s + i*iv }
	case iv >= 3600 && iv < 86400 && iv%3600 == 0 && 86400%iv == 0:
		res, before = 'h', now-mod(now, 3600)-r.hourMax
		s := max(start, before)
		lt := time.Unix(s, 0).In(r.loc)
		base := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, r.loc).Unix()
		for base+iv <= s {
			base += iv
		}
		boundary = func(i int64) int64 { return base + i*iv }
	case iv >= 86400 && iv < 7*86400 && iv%86400 == 0:
		res = 'd'
		k := iv / 86400
		lt := time.Unix(start, 0).In(r.loc)
		noon := time.Date(lt.Year(), lt.Month(), lt.Day(), 12, 0, 0, 0, time.UTC)
		n := int64(noon.Sub(time.Date(1970, 1, 1, 12, 0, 0, 0, time.UTC)).Hours()) / 24
		n -= mod(n, k)
		boundary = func(i int64) int64 {
			return time.Date(1970, 1, 1+int(n+i*k), 0, 0, 0, 0, r.loc).Unix()
		}
		before = boundary(0) - 30*86400
	case iv == 7*86400:
		res = 'd'
		lt := time.Unix(start, 0).In(r.loc)
		for lt.Weekday() != time.Monday {
			lt = lt.AddDate(0, 0, -1)
		}
		y, mo, d := lt.Date()
		boundary = func(i int64) int64 { return time.Date(y, mo, d+7*int(i), 0, 0, 0, 0, r.loc).Unix() }
		before = boundary(0) - 30*86400
	case iv == 30*86400:
		res, capEnd = 'd', true
		lt := time.Unix(start, 0).In(r.loc)
		first := time.Date(lt.Year(), lt.Month(), 1, 0, 0, 0, 0, r.loc)
		boundary = func(i int64) int64 { return first.AddDate(0, int(i), 0).Unix() }
		before = start - 30*86400
	default:
		return nil, false
	}
	all := r.byKey(market, res)
	between := func(lo, hi int64) []keyed {
		if hi <= lo {
			return nil
		}
		i := sort.Search(len(all), func(i int) bool { return all[i].k >= lo })
		j := sort.Search(len(all), func(i int) bool { return all[i].k >= hi })
		return all[i:j]
	}
	var prev decimal.Decimal
	have := false
	if b := between(before, boundary(0)); len(b) > 0 {
		prev, have = b[len(b)-1].d.price, true
	}
	for i := int64(0); boundary(i) <= end; i++ {
		lo, hi := boundary(i), boundary(i+1)
		if capEnd && hi > end+1 {
			hi = end + 1
		}
		c, found := fold(between(lo, hi))
		if !found {
			if !have {
				continue
			}
			c = refCandle{open: prev, close: prev, high: prev, low: prev}
		}
		c.t = lo
		out = append(out, c)
		prev, have = c.close, true
	}
	return out, true
}

// window merges the deals of 1 s buckets from start to the next whole
// minute and of minute buckets from there to now, within retention.
func (r *reference) window(market int, start, now int64) (refCandle, bool) {
	startMin := start - mod(start, 60) + 60
	// Buckets past their retention at now do not count.
	secFrom, minFrom := max(start, now-r.secMax), max(startMin, now-mod(now, 60)-r.minMax)
	var ks []keyed
	for i := range r.markets[market] {
		d := &r.markets[market][i]
		if s := r.key('s', d); s >= secFrom && s < startMin {
			ks = append(ks, keyed{s, d})
		} else if m := r.key('m', d); m >= minFrom && m < now {
			ks = append(ks, keyed{m, d})
		}
	}
	return fold(sorted(ks))
}

func (r *reference) last(market int) decimal.Decimal {
	ds := r.markets[market]
	if len(ds) == 0 {
		return decimal.Zero
	}
	return ds[len(ds)-1].price
}

// status answers market.status as "period last open close high low volume deal".
func (r *reference) status(market int, period, now int64) string {
	c, _ := r.window(market, now-period, now)
	return fmt.Sprintf("%d %s %s %s %s %s %s %s", period, r.last(market), c.open, c.close, c.high, c.low, c.volume, c.amount)
}

// today answers market.status_today as "open last high low volume deal".
func (r *reference) today(market int, now int64) string {
	lt := time.Unix(now, 0).In(r.loc)
	start := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, r.loc).Unix()
	var todays, earlier []keyed
	for i := range r.markets[market] {
		d := &r.markets[market][i]
		switch k := r.key('d', d); {
		case k == start:
			todays = append(todays, keyed{k, d})
		case k < start && k >= start-30*86400:
			earlier = append(earlier, keyed{k, d})
		}
	}
	var open, last, high, low decimal.Decimal
	if c, ok := fold(todays); ok {
		open, last, high, low = c.open, c.close, c.high, c.low
	} else if e := sorted(earlier); len(e) > 0 {
		p := e[len(e)-1].d.price
		open, last, high, low = p, p, p, p
	}
	w, _ := r.window(market, now-86400, now)
	return fmt.Sprintf("%s %s %s %s %s %s", open, last, high, low, w.volume, w.amount)
}

// deals answers market.deals as "id time price amount type" lines.
func (r *reference) deals(market, limit, keep int, lastID uint64) []string {
	ds := r.markets[market]
	var out []string
	for i := len(ds) - 1; i >= 0 && i >= len(ds)-keep && len(out) < limit; i-- {
		d := ds[i]
		if d.id <= lastID {
			break
		}
		typ := "buy"
		if d.sell {
			typ = "sell"
		}
		out = append(out, fmt.Sprintf("%d %s %s %s %s", d.id, decimal.New(d.us, -6), d.price, d.amount, typ))
	}
	return out
}

// The same renderings of Model's replies.

func showCandles(cfg *config.Config, market int, cs []messages.Candle) []string {
	m := cfg.Markets[market]
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = fmt.Sprintf("%d %s %s %s %s %s %s", c.Time,
			fixed.FormatInt(c.Open, m.MoneyPrec), fixed.FormatInt(c.Close, m.MoneyPrec),
			fixed.FormatInt(c.High, m.MoneyPrec), fixed.FormatInt(c.Low, m.MoneyPrec),
			fixed.Format(&c.Volume, m.StockPrec), fixed.Format(&c.Deal, m.MoneyAsset.PrecSave))
	}
	return out
}

func showRef(cs []refCandle) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.String()
	}
	return out
}

func showStatus(cfg *config.Config, market int, r *messages.MarketStatusReply) string {
	m := cfg.Markets[market]
	p := func(v int64) string { return fixed.FormatInt(v, m.MoneyPrec) }
	return fmt.Sprintf("%d %s %s %s %s %s %s %s", r.Period, p(r.Last), p(r.Open), p(r.Close), p(r.High), p(r.Low),
		fixed.Format(&r.Volume, m.StockPrec), fixed.Format(&r.Deal, m.MoneyAsset.PrecSave))
}

func showToday(cfg *config.Config, market int, r *messages.MarketStatusTodayReply) string {
	m := cfg.Markets[market]
	p := func(v int64) string { return fixed.FormatInt(v, m.MoneyPrec) }
	return fmt.Sprintf("%s %s %s %s %s %s", p(r.Open), p(r.Last), p(r.High), p(r.Low),
		fixed.Format(&r.Volume, m.StockPrec), fixed.Format(&r.Deal, m.MoneyAsset.PrecSave))
}

func showDeals(cfg *config.Config, market int, ds []messages.MarketDeal) []string {
	m := cfg.Markets[market]
	var out []string
	for _, d := range ds {
		typ := "buy"
		if d.Side == messages.Ask {
			typ = "sell"
		}
		out = append(out, fmt.Sprintf("%d %s %s %s %s", d.ID, fixed.FormatInt(d.Time, 6),
			fixed.FormatInt(d.Price, m.MoneyPrec), fixed.FormatInt(d.Amount, m.StockPrec), typ))
	}
	return out
}
