package marketdata

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/persistence/derive"
	"github.com/holiman/uint256"
)

// Resolution names one of a market's bucket series.
type Resolution uint8

// The four bucket series: 1 second, 1 minute and 1 hour buckets start at
// multiples of their length in Unix time; day buckets start at midnight in
// the configured time zone (docs/protocol.md D10).
const (
	Sec Resolution = iota
	Min
	Hour
	Day
	numRes
)

var resNames = [numRes]string{"1s", "1m", "1h", "1d"}

// String is the resolution's name in Redis keys: 1s, 1m, 1h, 1d.
func (r Resolution) String() string {
	if r < numRes {
		return resNames[r]
	}
	return fmt.Sprintf("Resolution(%d)", uint8(r))
}

// MaxDealsLimit is the largest market.deals limit (viabtc's
// MARKET_DEALS_MAX).
const MaxDealsLimit = 10000

const (
	day          = 86400
	lookBackDays = 30 // how far before a day-based query (and today) a close is looked for
)

// Model is the market data of every configured market as of journal record
// LSN. It is a pure state machine: Apply folds in a record's deals, Trim
// drops buckets past their retention as of a time it is given, Query
// answers the market data commands. A Model is not safe for concurrent use;
// Store guards one with a RWMutex (Query only reads).
type Model struct {
	cfg                     *config.Config
	loc                     *time.Location
	secMax, minMax, hourMax int64 // retention in seconds
	dealsMax                int
	klineMax                int64 // candles per market.kline answer; 0: no bound

	lsn uint64
	// mark is the journal mark (journal.Identity.Mark) the LSN belongs to
	// ("" when unknown: made before journal identities, or by a store
	// given none).
	mark string
	// horizon is the latest time Trim was given (Unix seconds), 0 if none:
	// buckets older than its retention are dropped and no longer created.
	horizon int64
	markets []*market

	// The local day last computed by dayKey: [dayLo, dayHi).
	dayLo, dayHi int64
}

// market is one market's data.
type market struct {
	last   int64 // money_prec; 0: never traded
	series [numRes]series
	// deals holds the newest deals, oldest first; only the last
	// Model.dealsMax count (the slice is compacted at twice that).
	deals []messages.MarketDeal
}

// NewModel returns an empty model (cursor 0) for cfg's markets, with the
// time zone, retention and deals limit of cfg.MarketData.
func NewModel(cfg *config.Config) *Model {
	md := &cfg.MarketData
	m := &Model{
		cfg:      cfg,
		loc:      md.Location,
		secMax:   int64(md.SecMax / time.Second),
		minMax:   int64(md.MinMax / time.Second),
		hourMax:  int64(md.HourMax / time.Second),
		dealsMax: md.Deals,
		klineMax: int64(md.KlineMax),
		markets:  make([]*market, len(cfg.Markets)),
	}
	if m.loc == nil {
		m.loc = time.UTC
	}
	if m.dealsMax <= 0 {
		m.dealsMax = MaxDealsLimit
	}
	for i := range m.markets {
		m.markets[i] = &market{}
	}
	return m
}

// configure takes cfg, the configuration in force from a record on (an
// operator listed a market at run time): new markets start empty.
func (m *Model) configure(cfg *config.Config) {
	m.cfg = cfg
	for len(m.markets) < len(cfg.Markets) {
		m.markets = append(m.markets, &market{})
	}
}

// LSN is the last journal record applied (0: none).
func (m *Model) LSN() uint64 { return m.lsn }

// Mark is the journal mark of the model's LSN ("" when unknown).
func (m *Model) Mark() string { return m.mark }

// Horizon is the latest time given to Trim (Unix seconds; 0: never).
func (m *Model) Horizon() int64 { return m.horizon }

// Apply folds the deals of r into the model; r.LSN must be above LSN (a
// gap is allowed: the feed skips records the journal no longer holds). An
// error (a record not after LSN, a deal of an unknown market) changes
// nothing.
func (m *Model) Apply(r *derive.Record) error { return m.apply(r, nil) }

// apply is Apply recording what changed in ch (if not nil).
func (m *Model) apply(r *derive.Record, ch *changes) error {
	if r.LSN <= m.lsn {
		return fmt.Errorf("marketdata: record %d is not after %d", r.LSN, m.lsn)
	}
	if r.Config != nil {
		m.configure(r.Config)
	}
	for _, t := range r.Deals {
		if int(t.Market) >= len(m.markets) || t.Price <= 0 || t.Amount <= 0 {
			return fmt.Errorf("marketdata: record %d: deal %d of market %d is not valid here", r.LSN, t.DealID, t.Market)
		}
	}
	for _, t := range r.Deals {
		m.addDeal(t, ch)
	}
	m.lsn = r.LSN
	return nil
}

// addDeal updates the four buckets of t, the last price and the deals.
func (m *Model) addDeal(t *messages.Trade, ch *changes) {
	mk := m.markets[t.Market]
	sec := floorDiv(t.Time, 1e6)
	keys := [numRes]int64{sec, floorTo(sec, 60), floorTo(sec, 3600), m.dayKey(sec)}
	for r := Sec; r < numRes; r++ {
		k := keys[r]
		if m.horizon != 0 && r != Day && k < m.cutoff(r, m.horizon) {
			continue // already past its retention
		}
		mk.series[r].add(k, t.Price, t.Amount, &t.Deal)
		ch.touch(t.Market, r, k)
	}
	mk.last = t.Price
	d := messages.MarketDeal{ID: t.DealID, Time: t.Time, Side: t.TakerSide, Price: t.Price, Amount: t.Amount}
	mk.deals = append(mk.deals, d)
	if len(mk.deals) >= 2*m.dealsMax {
		mk.deals = append(mk.deals[:0:0], mk.deals[len(mk.deals)-m.dealsMax:]...)
	}
	ch.deal(t.Market, d, m.dealsMax)
}

// cutoff is the oldest bucket start of resolution r kept at time now
// (viabtc's rules: 1 s buckets within sec_max of now; minute and hour
// buckets within min_max and hour_max of now's minute and hour).
func (m *Model) cutoff(r Resolution, now int64) int64 {
	switch r {
	case Sec:
		return now - m.secMax
	case Min:
		return floorTo(now, 60) - m.minMax
	case Hour:
		return floorTo(now, 3600) - m.hourMax
	}
	return math.MinInt64
}

// Trim drops the 1 s, 1 min and 1 h buckets older than their retention as
// of now (Unix seconds); deals for buckets that old are no longer bucketed
// afterwards. A now not after the latest one given does nothing. Day
// buckets are kept forever. Queries never look past the retention of their
// own now, so trimming changes no answer for a now at or after it.
func (m *Model) Trim(now int64) { m.trim(now, nil) }

// trim is Trim recording the dropped keys in ch (if not nil).
func (m *Model) trim(now int64, ch *changes) {
	if now <= m.horizon {
		return
	}
	m.horizon = now
	for id, mk := range m.markets {
		for r := Sec; r < Day; r++ {
			mk.series[r].trimBefore(m.cutoff(r, now), func(t int64) {
				ch.touch(messages.MarketID(id), r, t)
			})
		}
	}
}

// dayKey is dayStart(sec), remembering the last day computed (deals mostly
// arrive in time order).
func (m *Model) dayKey(sec int64) int64 {
	if sec >= m.dayLo && sec < m.dayHi {
		return m.dayLo
	}
	d := localDay(sec, m.loc)
	lo, hi := midnight(d, m.loc), midnight(d+1, m.loc)
	if sec >= lo && sec < hi {
		m.dayLo, m.dayHi = lo, hi
	}
	return lo
}

// localDay is the number of the calendar day (days since 1970-01-01) that
// holds Unix second t in loc.
func localDay(t int64, loc *time.Location) int64 {
	y, mo, d := time.Unix(t, 0).In(loc).Date()
	return time.Date(y, mo, d, 0, 0, 0, 0, time.UTC).Unix() / day
}

// midnight is the Unix second at which calendar day d starts in loc.
func midnight(d int64, loc *time.Location) int64 {
	y, mo, dd := time.Unix(d*day, 0).UTC().Date()
	return time.Date(y, mo, dd, 0, 0, 0, 0, loc).Unix()
}

// dayStart is the start of the local day holding Unix second t.
func dayStart(t int64, loc *time.Location) int64 { return midnight(localDay(t, loc), loc) }

// floorDiv is a/b rounded toward minus infinity (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

// floorTo rounds a down to a multiple of b (b > 0).
func floorTo(a, b int64) int64 { return floorDiv(a, b) * b }

// series is one resolution's buckets, by ascending start time.
type series []messages.Candle

// search returns the index of the first bucket starting at or after t.
func (s series) search(t int64) int {
	return sort.Search(len(s), func(i int) bool { return s[i].Time >= t })
}

// add folds a deal into the bucket starting at t, creating it seeded with
// the deal's own price (docs/protocol.md D10) when it does not exist.
func (s *series) add(t, price, amount int64, deal *uint256.Int) {
	a := *s
	n := len(a)
	var i int
	switch {
	case n == 0 || a[n-1].Time < t:
		*s = append(a, messages.Candle{Time: t, Open: price, Close: price, High: price, Low: price, Deal: *deal})
		(*s)[n].Volume.SetUint64(uint64(amount))
		return
	case a[n-1].Time == t:
		i = n - 1
	default:
		i = a.search(t)
		if a[i].Time != t {
			a = append(a, messages.Candle{})
			copy(a[i+1:], a[i:])
			a[i] = messages.Candle{Time: t, Open: price, Close: price, High: price, Low: price, Deal: *deal}
			a[i].Volume.SetUint64(uint64(amount))
			*s = a
			return
		}
	}
	c := &a[i]
	c.Close = price
	c.High = max(c.High, price)
	c.Low = min(c.Low, price)
	var v uint256.Int
	v.SetUint64(uint64(amount))
	c.Volume.Add(&c.Volume, &v)
	c.Deal.Add(&c.Deal, deal)
}

// trimBefore drops the buckets starting before t, calling removed for each.
func (s *series) trimBefore(t int64, removed func(int64)) {
	a := *s
	i := a.search(t)
	for _, c := range a[:i] {
		removed(c.Time)
	}
	*s = a[i:]
}

// bucketKey names one bucket of one market.
type bucketKey struct {
	market messages.MarketID
	res    Resolution
	time   int64
}

// changes accumulates what Apply and Trim changed since the last write to
// an external store. A nil *changes records nothing.
type changes struct {
	buckets map[bucketKey]struct{} // created, updated or dropped
	deals   map[messages.MarketID][]messages.MarketDeal
	last    map[messages.MarketID]struct{}
}

func newChanges() *changes {
	return &changes{
		buckets: make(map[bucketKey]struct{}),
		deals:   make(map[messages.MarketID][]messages.MarketDeal),
		last:    make(map[messages.MarketID]struct{}),
	}
}

func (c *changes) touch(id messages.MarketID, r Resolution, t int64) {
	if c != nil {
		c.buckets[bucketKey{id, r, t}] = struct{}{}
	}
}

// deal records a new deal (and so a new last price); only the newest
// limit deals per market are kept.
func (c *changes) deal(id messages.MarketID, d messages.MarketDeal, limit int) {
	if c == nil {
		return
	}
	ds := append(c.deals[id], d)
	if len(ds) >= 2*limit {
		ds = append(ds[:0:0], ds[len(ds)-limit:]...)
	}
	c.deals[id] = ds
	c.last[id] = struct{}{}
}

func (c *changes) empty() bool {
	return len(c.buckets) == 0 && len(c.deals) == 0 && len(c.last) == 0
}

func (c *changes) reset() {
	clear(c.buckets)
	clear(c.deals)
	clear(c.last)
}
