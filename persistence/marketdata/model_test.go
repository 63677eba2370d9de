package marketdata

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"

	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/wire"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/persistence/derive"
)

// modelConfig: New York time (days of 23 and 25 hours), short retention,
// three deals kept, precisions that differ everywhere.
const modelConfig = `
assets:
  - { name: BTC,  prec_save: 12 }
  - { name: ETH,  prec_save: 11 }
  - { name: USDT, prec_save: 10 }
markets:
  - { name: BTCUSDT, stock: BTC, money: USDT, stock_prec: 6, money_prec: 2 }
  - { name: ETHUSDT, stock: ETH, money: USDT, stock_prec: 5, money_prec: 3 }
marketdata: { timezone: America/New_York, sec_max: 2h, min_max: 48h, hour_max: 720h, deals: 3 }
`

func testConfig(t testing.TB, doc string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// deal builds a trade of market id at Unix µs us; Deal = price × amount at
// the money asset's prec_save, as the book computes it.
func deal(cfg *config.Config, id messages.MarketID, dealID uint64, us int64, price, amount string, side messages.Side) *messages.Trade {
	m := cfg.Markets[id]
	p, _, err := fixed.ParseInt64(price, m.MoneyPrec)
	if err != nil {
		panic(err)
	}
	a, _, err := fixed.ParseInt64(amount, m.StockPrec)
	if err != nil {
		panic(err)
	}
	d := fixed.Mul64(p, a)
	return &messages.Trade{
		Market: id, DealID: dealID, Time: us, TakerSide: side, Price: p, Amount: a,
		Deal: fixed.Rescale(&d, m.MoneyPrec+m.StockPrec, m.MoneyAsset.PrecSave),
	}
}

// feed applies each trade as a record of its own.
func feed(t testing.TB, m *Model, trades ...*messages.Trade) {
	t.Helper()
	for _, tr := range trades {
		if err := m.Apply(&derive.Record{LSN: m.LSN() + 1, Deals: []*messages.Trade{tr}}); err != nil {
			t.Fatal(err)
		}
	}
}

// showCandle prints a candle as "time open close high low volume deal".
func showCandle(cfg *config.Config, id messages.MarketID, c *messages.Candle) string {
	m := cfg.Markets[id]
	return fmt.Sprintf("%d %s %s %s %s %s %s", c.Time,
		fixed.FormatInt(c.Open, m.MoneyPrec), fixed.FormatInt(c.Close, m.MoneyPrec),
		fixed.FormatInt(c.High, m.MoneyPrec), fixed.FormatInt(c.Low, m.MoneyPrec),
		fixed.Format(&c.Volume, m.StockPrec), fixed.Format(&c.Deal, m.MoneyAsset.PrecSave))
}

func showCandles(cfg *config.Config, id messages.MarketID, cs []messages.Candle) []string {
	out := make([]string, len(cs))
	for i := range cs {
		out[i] = showCandle(cfg, id, &cs[i])
	}
	return out
}

// Times of the BTCUSDT scenario: t0 is Monday 2024-03-04 00:00 in New
// York (05:00 UTC).
const t0 = 1709528400

// scenario applies six BTCUSDT deals, the last one out of time order.
func scenario(t testing.TB) (*config.Config, *Model) {
	cfg := testConfig(t, modelConfig)
	m := NewModel(cfg)
	us := func(sec int64, frac int64) int64 { return sec*1e6 + frac }
	feed(t, m,
		deal(cfg, 0, 1, us(t0+10, 200000), "100", "1", messages.Bid),
		deal(cfg, 0, 2, us(t0+10, 900000), "101", "0.5", messages.Ask),
		deal(cfg, 0, 3, us(t0+59, 0), "99.5", "2", messages.Bid),
		deal(cfg, 0, 4, us(t0+75, 0), "102", "1", messages.Ask),
		deal(cfg, 0, 5, us(t0+7205, 0), "98", "1", messages.Bid),
		deal(cfg, 0, 6, us(t0+3, 500000), "100.5", "0.1", messages.Bid),
	)
	return cfg, m
}

func TestBuckets(t *testing.T) {
	cfg, m := scenario(t)
	want := map[Resolution][]string{
		Sec: {
			fmt.Sprintf("%d 100.5 100.5 100.5 100.5 0.1 10.05", t0+3),
			fmt.Sprintf("%d 100 101 101 100 1.5 150.5", t0+10),
			fmt.Sprintf("%d 99.5 99.5 99.5 99.5 2 199", t0+59),
			fmt.Sprintf("%d 102 102 102 102 1 102", t0+75),
			fmt.Sprintf("%d 98 98 98 98 1 98", t0+7205),
		},
		Min: {
			// d6 (t0+3) was applied last: it is this minute's close.
			fmt.Sprintf("%d 100 100.5 101 99.5 3.6 359.55", t0),
			fmt.Sprintf("%d 102 102 102 102 1 102", t0+60),
			fmt.Sprintf("%d 98 98 98 98 1 98", t0+7200),
		},
		Hour: {
			fmt.Sprintf("%d 100 100.5 102 99.5 4.6 461.55", t0),
			fmt.Sprintf("%d 98 98 98 98 1 98", t0+7200),
		},
		Day: {fmt.Sprintf("%d 100 100.5 102 98 5.6 559.55", t0)},
	}
	for r := Sec; r < numRes; r++ {
		got := showCandles(cfg, 0, m.markets[0].series[r])
		if strings.Join(got, "\n") != strings.Join(want[r], "\n") {
			t.Errorf("%s buckets =\n%s\nwant\n%s", r, strings.Join(got, "\n"), strings.Join(want[r], "\n"))
		}
	}
	if got := m.Query(&messages.MarketLast{Market: 0}).(*messages.MarketLastReply).Price; got != 10050 {
		t.Errorf("last = %d; want 10050 (the last deal applied)", got)
	}
	if got := m.Query(&messages.MarketLast{Market: 1}).(*messages.MarketLastReply).Price; got != 0 {
		t.Errorf("last of a market never traded = %d; want 0", got)
	}
	if m.LSN() != 6 {
		t.Errorf("LSN = %d; want 6", m.LSN())
	}
}

// flat is a flat candle line.
func flat(t int64, p string) string { return fmt.Sprintf("%d %s %s %s %s 0 0", t, p, p, p, p) }

func TestKline(t *testing.T) {
	cfg, m := scenario(t)
	minute0 := fmt.Sprintf("%d 100 100.5 101 99.5 3.6 359.55", t0)
	var hourly []string // interval 60 from t0 to t0+7260
	hourly = append(hourly, minute0, fmt.Sprintf("%d 102 102 102 102 1 102", t0+60))
	for s := int64(t0 + 120); s < t0+7200; s += 60 {
		hourly = append(hourly, flat(s, "102"))
	}
	hourly = append(hourly, fmt.Sprintf("%d 98 98 98 98 1 98", t0+7200), flat(t0+7260, "98"))
	tests := []struct {
		name                      string
		start, end, interval, now int64
		want                      []string
	}{
		{"5s from t0", t0, t0 + 20, 5, t0 + 100, []string{
			fmt.Sprintf("%d 100.5 100.5 100.5 100.5 0.1 10.05", t0),
			flat(t0+5, "100.5"),
			fmt.Sprintf("%d 100 101 101 100 1.5 150.5", t0+10),
			flat(t0+15, "101"), flat(t0+20, "101"),
		}},
		{"5s starting after a candle: flat from its close", t0 + 31, t0 + 60, 5, t0 + 100, []string{
			flat(t0+30, "101"), flat(t0+35, "101"), flat(t0+40, "101"), flat(t0+45, "101"), flat(t0+50, "101"),
			fmt.Sprintf("%d 99.5 99.5 99.5 99.5 2 199", t0+55),
			flat(t0+60, "99.5"),
		}},
		{"1s start clamped to now-sec_max", t0, t0 + 12, 1, t0 + 7206, []string{
			// now-sec_max = t0+6: the candle at t0+3 is out of reach,
			// and so is a close to start from.
			fmt.Sprintf("%d 100 101 101 100 1.5 150.5", t0+10),
			flat(t0+11, "101"), flat(t0+12, "101"),
		}},
		{"end clamped to now; the last bucket whole", t0 + 8, t0 + 99999, 30, t0 + 70, []string{
			fmt.Sprintf("%d 100.5 101 101 100 1.6 160.55", t0),
			fmt.Sprintf("%d 99.5 99.5 99.5 99.5 2 199", t0+30),
			fmt.Sprintf("%d 102 102 102 102 1 102", t0+60),
		}},
		{"nothing before the first candle", t0 - 600, t0 + 2, 1, t0 + 100, nil},
		{"1m", t0 + 1, t0 + 7300, 60, t0 + 7300, hourly},
		{"1h aligned to local midnight", t0 + 1800, t0 + 7300, 3600, t0 + 7300, []string{
			fmt.Sprintf("%d 100 100.5 102 99.5 4.6 461.55", t0),
			flat(t0+3600, "100.5"),
			fmt.Sprintf("%d 98 98 98 98 1 98", t0+7200),
		}},
		{"2h", t0 + 3600, t0 + 7300, 7200, t0 + 7300, []string{
			fmt.Sprintf("%d 100 100.5 102 99.5 4.6 461.55", t0),
			fmt.Sprintf("%d 98 98 98 98 1 98", t0+7200),
		}},
		{"8h from the day before", t0 - 20000, t0 + 7300, 28800, t0 + 7300, []string{
			fmt.Sprintf("%d 100 98 102 98 5.6 559.55", t0),
		}},
		{"1d", t0 + 5, t0 + 7300, 86400, t0 + 7300, []string{
			fmt.Sprintf("%d 100 100.5 102 98 5.6 559.55", t0),
		}},
		{"1d, days after: flat", t0 + 5, t0 + 2*86400, 86400, t0 + 3*86400, []string{
			fmt.Sprintf("%d 100 100.5 102 98 5.6 559.55", t0),
			flat(t0+86400, "100.5"), flat(t0+2*86400, "100.5"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := m.Query(&messages.MarketKline{Market: 0, Start: tt.start, End: tt.end, Interval: tt.interval, Now: tt.now})
			r, ok := rep.(*messages.MarketKlineReply)
			if !ok {
				t.Fatalf("kline = %#v", rep)
			}
			got := showCandles(cfg, 0, r.Candles)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("kline(%d, %d, %d, now %d) =\n%s\nwant\n%s", tt.start, tt.end, tt.interval, tt.now,
					strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestKlineCalendar: day, week and month candles in New York, across the
// 23-hour day of 2024-03-10.
func TestKlineCalendar(t *testing.T) {
	cfg := testConfig(t, modelConfig)
	m := NewModel(cfg)
	const (
		feb1     = 1706763600
		feb15    = 1707973200
		feb26    = 1708923600
		feb28    = 1709139600 // 12:00
		mar1     = 1709269200
		mar4     = t0
		mar5     = 1709658000 // 12:00
		mar8     = 1709874000
		mar9     = 1709960400
		mar10    = 1710046800
		mar11    = 1710129600 // 23 hours after mar10
		mar12    = 1710216000
		mar18    = 1710734400
		mar25    = 1711339200
		apr1     = 1711944000
		apr1noon = 1711987200
		apr2     = 1712059200 // 08:00
		apr8     = 1712548800
		apr10    = 1712721600
	)
	feed(t, m,
		deal(cfg, 1, 1, feb28*1e6, "10", "1", messages.Bid),
		deal(cfg, 1, 2, (mar4+9*3600)*1e6, "11", "1", messages.Bid),
		deal(cfg, 1, 3, (mar10+22*3600+1800)*1e6, "12", "1", messages.Ask), // 23:30 (a 23-hour day); UTC: already 03-11
		deal(cfg, 1, 4, (mar11+1800)*1e6, "13", "2", messages.Bid),
		deal(cfg, 1, 5, apr2*1e6, "9", "1", messages.Ask),
	)
	days := showCandles(cfg, 1, m.markets[1].series[Day])
	wantDays := []string{
		fmt.Sprintf("%d 10 10 10 10 1 10", feb28-12*3600),
		fmt.Sprintf("%d 11 11 11 11 1 11", mar4),
		fmt.Sprintf("%d 12 12 12 12 1 12", mar10),
		fmt.Sprintf("%d 13 13 13 13 2 26", mar11),
		fmt.Sprintf("%d 9 9 9 9 1 9", apr2-8*3600),
	}
	if strings.Join(days, "\n") != strings.Join(wantDays, "\n") {
		t.Fatalf("day buckets =\n%s\nwant\n%s", strings.Join(days, "\n"), strings.Join(wantDays, "\n"))
	}
	tests := []struct {
		name                 string
		start, end, interval int64
		want                 []string
	}{
		{"week: Mondays, a close found before", mar5, apr10, 604800, []string{
			fmt.Sprintf("%d 11 12 12 11 2 23", mar4),
			fmt.Sprintf("%d 13 13 13 13 2 26", mar11),
			flat(mar18, "13"), flat(mar25, "13"),
			fmt.Sprintf("%d 9 9 9 9 1 9", apr1),
			flat(apr8, "9"),
		}},
		{"month", feb15, apr10, 2592000, []string{
			fmt.Sprintf("%d 10 10 10 10 1 10", feb1),
			fmt.Sprintf("%d 11 13 13 11 4 49", mar1),
			fmt.Sprintf("%d 9 9 9 9 1 9", apr1),
		}},
		{"month: days after end left out", feb15, apr1noon, 2592000, []string{
			fmt.Sprintf("%d 10 10 10 10 1 10", feb1),
			fmt.Sprintf("%d 11 13 13 11 4 49", mar1),
			flat(apr1, "13"),
		}},
		{"1d across the short day", mar9, mar12, 86400, []string{
			flat(mar9, "11"),
			fmt.Sprintf("%d 12 12 12 12 1 12", mar10),
			fmt.Sprintf("%d 13 13 13 13 2 26", mar11),
			flat(mar12, "13"),
		}},
		{"2d aligned to even local days", mar9, mar12, 172800, []string{
			flat(mar8, "11"),
			fmt.Sprintf("%d 12 13 13 12 3 38", mar10),
			flat(mar12, "13"),
		}},
		{"week: empty weeks skipped until the first candle", feb1, mar12, 604800, []string{
			fmt.Sprintf("%d 10 10 10 10 1 10", feb26),
			fmt.Sprintf("%d 11 12 12 11 2 23", mar4),
			fmt.Sprintf("%d 13 13 13 13 2 26", mar11),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := m.Query(&messages.MarketKline{Market: 1, Start: tt.start, End: tt.end, Interval: tt.interval, Now: apr10 + 3600})
			r, ok := rep.(*messages.MarketKlineReply)
			if !ok {
				t.Fatalf("kline = %#v", rep)
			}
			got := showCandles(cfg, 1, r.Candles)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("kline(%d, %d, %d) =\n%s\nwant\n%s", tt.start, tt.end, tt.interval,
					strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func showStatus(cfg *config.Config, r *messages.MarketStatusReply) string {
	m := cfg.Markets[0]
	p := func(v int64) string { return fixed.FormatInt(v, m.MoneyPrec) }
	return fmt.Sprintf("period %d last %s open %s close %s high %s low %s volume %s deal %s", r.Period,
		p(r.Last), p(r.Open), p(r.Close), p(r.High), p(r.Low),
		fixed.Format(&r.Volume, m.StockPrec), fixed.Format(&r.Deal, m.MoneyAsset.PrecSave))
}

func showToday(cfg *config.Config, r *messages.MarketStatusTodayReply) string {
	m := cfg.Markets[0]
	p := func(v int64) string { return fixed.FormatInt(v, m.MoneyPrec) }
	return fmt.Sprintf("open %s last %s high %s low %s volume %s deal %s",
		p(r.Open), p(r.Last), p(r.High), p(r.Low),
		fixed.Format(&r.Volume, m.StockPrec), fixed.Format(&r.Deal, m.MoneyAsset.PrecSave))
}

func TestStatus(t *testing.T) {
	cfg, m := scenario(t)
	tests := []struct {
		period, now int64
		want        string
	}{
		// 1 s buckets from t0+5 to t0+60, then minute buckets to now.
		{95, t0 + 100, "period 95 last 100.5 open 100 close 102 high 102 low 99.5 volume 4.5 deal 451.5"},
		{100, t0 + 100, "period 100 last 100.5 open 100.5 close 102 high 102 low 99.5 volume 4.6 deal 461.55"},
		{30, t0 + 100, "period 30 last 100.5 open 102 close 102 high 102 low 102 volume 1 deal 102"},
		{10, t0 + 100, "period 10 last 100.5 open 0 close 0 high 0 low 0 volume 0 deal 0"},
		// The minute bucket starting at now is not included.
		{40, t0 + 60, "period 40 last 100.5 open 99.5 close 99.5 high 99.5 low 99.5 volume 2 deal 199"},
		{7200, t0 + 7206, "period 7200 last 100.5 open 100 close 98 high 102 low 98 volume 5.5 deal 549.5"},
	}
	for _, tt := range tests {
		rep := m.Query(&messages.MarketStatus{Market: 0, Period: tt.period, Now: tt.now})
		r, ok := rep.(*messages.MarketStatusReply)
		if !ok {
			t.Fatalf("status(%d) = %#v", tt.period, rep)
		}
		if got := showStatus(cfg, r); got != tt.want {
			t.Errorf("status(%d, now t0+%d) = %s; want %s", tt.period, tt.now-t0, got, tt.want)
		}
	}
}

func TestStatusToday(t *testing.T) {
	cfg, m := scenario(t)
	tests := []struct {
		name string
		now  int64
		want string
	}{
		{"today", t0 + 12*3600, "open 100 last 100.5 high 102 low 98 volume 5.6 deal 559.55"},
		{"tomorrow: yesterday's close; 24 h volume", t0 + 86400 + 3600, "open 100.5 last 100.5 high 100.5 low 100.5 volume 1 deal 98"},
		// t0+30×86400 is 01:00 (summer time): its day starts 30 days
		// and 23 hours after t0.
		{"30 days later", t0 + 30*86400, "open 100.5 last 100.5 high 100.5 low 100.5 volume 0 deal 0"},
		{"31 days later", t0 + 31*86400, "open 0 last 0 high 0 low 0 volume 0 deal 0"},
		{"the day before", t0 - 3600, "open 0 last 0 high 0 low 0 volume 0 deal 0"},
	}
	for _, tt := range tests {
		rep := m.Query(&messages.MarketStatusToday{Market: 0, Now: tt.now})
		r, ok := rep.(*messages.MarketStatusTodayReply)
		if !ok {
			t.Fatalf("%s: status_today = %#v", tt.name, rep)
		}
		if got := showToday(cfg, r); got != tt.want {
			t.Errorf("%s: status_today = %s; want %s", tt.name, got, tt.want)
		}
	}
}

func TestDeals(t *testing.T) {
	_, m := scenario(t) // keeps 3 deals
	tests := []struct {
		limit  int
		lastID uint64
		want   string
	}{
		{10, 0, "6@1709528403.5:bid:10050x100000 5@1709535605.0:bid:9800x1000000 4@1709528475.0:ask:10200x1000000"},
		{2, 0, "6@1709528403.5:bid:10050x100000 5@1709535605.0:bid:9800x1000000"},
		{10, 4, "6@1709528403.5:bid:10050x100000 5@1709535605.0:bid:9800x1000000"},
		{10, 5, "6@1709528403.5:bid:10050x100000"},
		{10, 6, ""},
		{10000, 1, "6@1709528403.5:bid:10050x100000 5@1709535605.0:bid:9800x1000000 4@1709528475.0:ask:10200x1000000"},
	}
	for _, tt := range tests {
		r := m.Query(&messages.MarketDeals{Market: 0, Limit: tt.limit, LastID: tt.lastID}).(*messages.MarketDealsReply)
		var parts []string
		for _, d := range r.Deals {
			side := "bid"
			if d.Side == messages.Ask {
				side = "ask"
			}
			parts = append(parts, fmt.Sprintf("%d@%s:%s:%dx%d", d.ID, wire.AppendTime(nil, d.Time), side, d.Price, d.Amount))
		}
		if got := strings.Join(parts, " "); got != tt.want {
			t.Errorf("deals(%d, %d) = %s; want %s", tt.limit, tt.lastID, got, tt.want)
		}
	}
	// Far more deals than kept: memory stays bounded.
	cfg := testConfig(t, modelConfig)
	m = NewModel(cfg)
	for i := 1; i <= 100; i++ {
		feed(t, m, deal(cfg, 0, uint64(i), int64(t0+i)*1e6, "1", "1", messages.Bid))
	}
	if n := len(m.markets[0].deals); n >= 2*3 {
		t.Errorf("%d deals held; want fewer than %d", n, 2*3)
	}
	if r := m.Query(&messages.MarketDeals{Market: 0, Limit: 100}).(*messages.MarketDealsReply); len(r.Deals) != 3 || r.Deals[0].ID != 100 {
		t.Errorf("deals = %+v; want the newest 3", r.Deals)
	}
}

func TestInvalidQueries(t *testing.T) {
	_, m := scenario(t)
	now := int64(t0 + 7300)
	k := func(start, end, interval int64) messages.Command {
		return &messages.MarketKline{Market: 0, Start: start, End: end, Interval: interval, Now: now}
	}
	cmds := []messages.Command{
		&messages.MarketLast{Market: 2},
		&messages.MarketDeals{Market: 2, Limit: 1},
		&messages.MarketDeals{Market: 0, Limit: 0},
		&messages.MarketDeals{Market: 0, Limit: 10001},
		&messages.MarketDeals{Market: 0, Limit: -1},
		&messages.MarketStatus{Market: 0, Period: 0, Now: now},
		&messages.MarketStatus{Market: 0, Period: -5, Now: now},
		&messages.MarketStatus{Market: 0, Period: 7201, Now: now}, // sec_max is 2h
		&messages.MarketStatus{Market: 2, Period: 60, Now: now},
		&messages.MarketStatusToday{Market: 2, Now: now},
		&messages.MarketKline{Market: 2, Start: 1, End: now, Interval: 60, Now: now},
		k(0, now, 60), k(-1, now, 60), k(1, 0, 60), k(1, -1, 60), k(now-10, now-20, 60),
		k(now+10, now+20, 60), // end clamped to now, before start
		k(1, now, 0), k(1, now, -60),
	}
	for _, iv := range []int64{7, 8, 9, 11, 13, 25, 45, 50, 59, 61, 90, 150, 420, 3000, 3601, 5400, 18000, 25200, 36000, 50400, 86399, 86401, 90000, 129600, 604799, 604801, 691200, 1209600, 2591999, 2592001, 2678400, 31536000} {
		cmds = append(cmds, k(1, now, iv))
	}
	for _, c := range cmds {
		rep := m.Query(c)
		if e, ok := rep.(*messages.ErrorReply); !ok || e.Err != messages.ErrInvalidArgument {
			t.Errorf("Query(%T %+v) = %#v; want invalid argument", c, c, rep)
		}
	}
	for _, iv := range []int64{1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60, 120, 180, 240, 300, 360, 600, 720, 900, 1200, 1800,
		3600, 7200, 10800, 14400, 21600, 28800, 43200, 86400, 172800, 259200, 518400, 604800, 2592000} {
		if rep := m.Query(k(1, now, iv)); !isKline(rep) {
			t.Errorf("kline interval %d = %#v; want candles", iv, rep)
		}
	}
	if rep := m.Query(&messages.MarketSummary{}); rep != errInternal {
		t.Errorf("Query(MarketSummary) = %#v; want internal error", rep)
	}
}

func isKline(r messages.Reply) bool { _, ok := r.(*messages.MarketKlineReply); return ok }

func TestApplyRefusesOldRecords(t *testing.T) {
	cfg, m := scenario(t)
	before := m.Encode()
	for _, lsn := range []uint64{0, 1, 6} {
		if err := m.Apply(&derive.Record{LSN: lsn, Deals: []*messages.Trade{deal(cfg, 0, 9, t0*1e6, "1", "1", messages.Bid)}}); err == nil {
			t.Errorf("Apply(LSN %d) after LSN 6 succeeded", lsn)
		}
	}
	bad := deal(cfg, 0, 9, t0*1e6, "1", "1", messages.Bid)
	bad.Market = 7
	good := deal(cfg, 0, 10, t0*1e6, "1", "1", messages.Bid)
	if err := m.Apply(&derive.Record{LSN: 7, Deals: []*messages.Trade{good, bad}}); err == nil {
		t.Error("Apply with a deal of an unknown market succeeded")
	}
	if string(m.Encode()) != string(before) {
		t.Error("a refused Apply changed the model")
	}
	// A gap is accepted (the journal may no longer hold what the feed skipped).
	if err := m.Apply(&derive.Record{LSN: 10}); err != nil || m.LSN() != 10 {
		t.Errorf("Apply(LSN 10) = %v, LSN %d; want nil, 10", err, m.LSN())
	}
}

func TestTrim(t *testing.T) {
	cfg, m := scenario(t)
	queries := func(now int64) []string {
		var out []string
		for _, c := range []messages.Command{
			&messages.MarketKline{Market: 0, Start: 1, End: now, Interval: 1, Now: now},
			&messages.MarketKline{Market: 0, Start: 1, End: now, Interval: 60, Now: now},
			&messages.MarketKline{Market: 0, Start: 1, End: now, Interval: 3600, Now: now},
			&messages.MarketStatus{Market: 0, Period: 7200, Now: now},
			&messages.MarketStatusToday{Market: 0, Now: now},
		} {
			out = append(out, fmt.Sprintf("%+v", m.Query(c)))
		}
		return out
	}
	now := int64(t0 + 7300)
	before := queries(now)
	m.Trim(now)
	if got := len(m.markets[0].series[Sec]); got != 1 {
		t.Errorf("1 s buckets after Trim(t0+7300) = %d; want 1 (older than t0+100 dropped)", got)
	}
	if got := len(m.markets[0].series[Min]); got != 3 {
		t.Errorf("minute buckets = %d; want 3 (kept 48 h)", got)
	}
	if after := queries(now); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("answers changed by Trim:\n%s\nwant\n%s", strings.Join(after, "\n"), strings.Join(before, "\n"))
	}
	// A deal too old for 1 s buckets still counts in the others.
	feed(t, m, deal(cfg, 0, 7, (t0+50)*1e6, "200", "1", messages.Bid))
	if got := len(m.markets[0].series[Sec]); got != 1 {
		t.Errorf("1 s buckets after an old deal = %d; want 1", got)
	}
	if got := showCandle(cfg, 0, &m.markets[0].series[Min][0]); got != fmt.Sprintf("%d 100 200 200 99.5 4.6 559.55", t0) {
		t.Errorf("minute bucket = %s", got)
	}
	// Two days later the minute buckets go too; hour and day buckets stay.
	m.Trim(t0 + 3*86400)
	if n := len(m.markets[0].series[Min]); n != 0 {
		t.Errorf("minute buckets 3 days later = %d; want 0", n)
	}
	if n, d := len(m.markets[0].series[Hour]), len(m.markets[0].series[Day]); n != 2 || d != 1 {
		t.Errorf("hour, day buckets = %d, %d; want 2, 1", n, d)
	}
	m.Trim(t0) // earlier: ignored
	if m.Horizon() != t0+3*86400 {
		t.Errorf("Horizon = %d; want %d", m.Horizon(), t0+3*86400)
	}
}

func TestCheckpointCodec(t *testing.T) {
	cfg, m := scenario(t)
	m.Trim(t0 + 7300)
	data := m.Encode()
	m2 := NewModel(cfg)
	if err := m2.Decode(data); err != nil {
		t.Fatal(err)
	}
	if string(m2.Encode()) != string(data) {
		t.Error("Decode(Encode(m)) encodes differently")
	}
	if m2.LSN() != m.LSN() || m2.Horizon() != m.Horizon() {
		t.Errorf("LSN, horizon = %d, %d; want %d, %d", m2.LSN(), m2.Horizon(), m.LSN(), m.Horizon())
	}
	for _, c := range []messages.Command{
		&messages.MarketKline{Market: 0, Start: 1, End: t0 + 7300, Interval: 60, Now: t0 + 7300},
		&messages.MarketDeals{Market: 0, Limit: 10},
		&messages.MarketStatusToday{Market: 0, Now: t0 + 7300},
		&messages.MarketLast{Market: 0},
	} {
		if a, b := fmt.Sprintf("%+v", m.Query(c)), fmt.Sprintf("%+v", m2.Query(c)); a != b {
			t.Errorf("%T: restored %s; want %s", c, b, a)
		}
	}
	for i := 0; i < len(data); i += 7 {
		bad := []byte(string(data))
		bad[i] ^= 0x10
		if err := NewModel(cfg).Decode(bad); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Decode with byte %d flipped = %v; want ErrCorrupt", i, err)
		}
	}
	for _, n := range []int{0, 3, len(data) / 2, len(data) - 1} {
		if err := NewModel(cfg).Decode(data[:n]); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Decode of %d bytes = %v; want ErrCorrupt", n, err)
		}
	}
	other := testConfig(t, strings.Replace(modelConfig, "stock_prec: 6, money_prec: 2", "stock_prec: 6, money_prec: 3", 1))
	m3 := NewModel(other)
	if err := m3.Decode(data); !errors.Is(err, errLayout) || m3.LSN() != 0 {
		t.Errorf("Decode with other precisions = %v (LSN %d); want errLayout, nothing loaded", err, m3.LSN())
	}
	renamed := testConfig(t, strings.Replace(modelConfig, "name: BTCUSDT", "name: XBTUSDT", 1))
	m4 := NewModel(renamed)
	if err := m4.Decode(data); err != nil || m4.LSN() != 6 || len(m4.markets[0].deals) != 0 {
		t.Errorf("Decode with a renamed market = %v, LSN %d, %d deals; want nil, 6, 0 (it starts empty)", err, m4.LSN(), len(m4.markets[0].deals))
	}
}

// TestModelIsPure: the model reads no clock and does no I/O.
func TestModelIsPure(t *testing.T) {
	forbiddenImports := map[string]bool{"os": true, "net": true, "math/rand": true, "math/rand/v2": true, "log": true, "log/slog": true, "io": true, "sync": true}
	for _, file := range []string{"model.go", "query.go"} {
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); forbiddenImports[p] || strings.HasPrefix(p, "github.com/redis") {
				t.Errorf("%s imports %s", file, p)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == "time" && (sel.Sel.Name == "Now" || sel.Sel.Name == "Since" || sel.Sel.Name == "Until") {
					t.Errorf("%s calls time.%s", file, sel.Sel.Name)
				}
			}
			if g, ok := n.(*ast.GoStmt); ok {
				t.Errorf("%s starts a goroutine at %v", file, g.Pos())
			}
			return true
		})
	}
}

// TestKlineMax: a range longer than marketdata.kline_max candles answers
// the newest kline_max.
func TestKlineMax(t *testing.T) {
	cfg, m := scenario(t)
	m.klineMax = 4 // marketdata.kline_max
	for _, tt := range []struct {
		name                      string
		start, end, interval, now int64
		want                      []string
	}{
		{"5s, 5 buckets asked", t0, t0 + 20, 5, t0 + 100, []string{
			flat(t0+5, "100.5"),
			fmt.Sprintf("%d 100 101 101 100 1.5 150.5", t0+10),
			flat(t0+15, "101"), flat(t0+20, "101"),
		}},
		{"1m, 123 buckets asked", t0 + 1, t0 + 7300, 60, t0 + 7300, []string{
			flat(t0+7080, "102"), flat(t0+7140, "102"),
			fmt.Sprintf("%d 98 98 98 98 1 98", t0+7200), flat(t0+7260, "98"),
		}},
		{"exactly 4 buckets: unchanged", t0 + 10, t0 + 25, 5, t0 + 100, []string{
			fmt.Sprintf("%d 100 101 101 100 1.5 150.5", t0+10),
			flat(t0+15, "101"), flat(t0+20, "101"), flat(t0+25, "101"),
		}},
	} {
		rep := m.Query(&messages.MarketKline{Market: 0, Start: tt.start, End: tt.end, Interval: tt.interval, Now: tt.now})
		r, ok := rep.(*messages.MarketKlineReply)
		if !ok {
			t.Fatalf("%s: kline = %#v", tt.name, rep)
		}
		if got := showCandles(cfg, 0, r.Candles); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("%s =\n%s\nwant\n%s", tt.name, strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
		}
	}
}
