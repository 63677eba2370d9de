package marketdata_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/persistence/derive"
	"github.com/bourse-exchange/bourse/persistence/marketdata"
)

// refConfig: New York time (the clocks change on 2024-03-10 and
// 2024-11-03), short retention, precisions that differ everywhere.
const refConfig = `
assets:
  - { name: BTC,  prec_save: 12 }
  - { name: ETH,  prec_save: 11 }
  - { name: USDT, prec_save: 10 }
markets:
  - { name: BTCUSDT, stock: BTC, money: USDT, stock_prec: 6, money_prec: 2 }
  - { name: ETHUSDT, stock: ETH, money: USDT, stock_prec: 5, money_prec: 3 }
marketdata: { timezone: America/New_York, sec_max: 3h, min_max: 72h, hour_max: 2400h, deals: 50 }
`

func parseConfig(t testing.TB, doc string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// randomTrades makes n trades over about six weeks from start (Unix
// seconds): bursts within a second, minutes and hours apart, sometimes a
// day or more; one in ten out of time order.
func randomTrades(cfg *config.Config, rng *rand.Rand, start int64, n int) []*messages.Trade {
	us := start * 1e6
	var out []*messages.Trade
	ids := make([]uint64, len(cfg.Markets))
	for i := 0; i < n; i++ {
		switch k := rng.IntN(20); {
		case k < 8:
			us += rng.Int64N(1e6)
		case k < 13:
			us += rng.Int64N(300e6)
		case k < 18:
			us += rng.Int64N(4 * 3600e6)
		default:
			us += rng.Int64N(3 * 86400e6)
		}
		at := us
		if rng.IntN(10) == 0 {
			at -= rng.Int64N(2 * 3600e6)
		}
		id := messages.MarketID(rng.IntN(len(cfg.Markets)))
		m := cfg.Markets[id]
		ids[id]++
		price := int64(90+rng.IntN(20)) * pow10(m.MoneyPrec) / int64(1+rng.IntN(3))
		amount := int64(1+rng.IntN(5000)) * pow10(m.StockPrec) / 1000
		d := fixed.Mul64(price, amount)
		out = append(out, &messages.Trade{
			Market: id, DealID: ids[id]<<10 | uint64(id), Time: at, TakerSide: messages.Side(1 + rng.IntN(2)),
			Price: price, Amount: amount,
			Deal: fixed.Rescale(&d, m.MoneyPrec+m.StockPrec, m.MoneyAsset.PrecSave),
		})
	}
	return out
}

func pow10(n int) int64 { return int64(fixed.Pow10(n).Uint64()) }

// TestModelAgainstReference: seeded random deals (out of order ones too),
// every query kind compared with the reference; a second model trimmed
// along the way answers the same for any now at or after its trims.
func TestModelAgainstReference(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			cfg := parseConfig(t, refConfig)
			rng := rand.New(rand.NewPCG(seed, 7))
			start := int64(1709600000) // 2024-03-04, before the change to summer time
			if seed%2 == 0 {
				start = 1730000000 // 2024-10-27, before the change back
			}
			trades := randomTrades(cfg, rng, start, 400)
			ref := newReference(cfg)
			m, trimmed := marketdata.NewModel(cfg), marketdata.NewModel(cfg)
			var end int64
			for i, tr := range trades {
				ref.add(tr)
				rec := derive.Record{LSN: uint64(i + 1), Deals: []*messages.Trade{tr}}
				if err := m.Apply(&rec); err != nil {
					t.Fatal(err)
				}
				if err := trimmed.Apply(&rec); err != nil {
					t.Fatal(err)
				}
				end = max(end, tr.Time/1e6+1)
				if rng.IntN(25) == 0 {
					trimmed.Trim(end)
				}
			}
			for _, now := range []int64{end, end + 1800, end + 86400, end + 40*86400} {
				trimmed.Trim(now - 1800)
				for _, q := range []func(messages.Command) messages.Reply{m.Query, trimmed.Query} {
					compareAll(t, cfg, ref, q, now, rng, start)
				}
			}
		})
	}
}

// compareAll asks q every kind of market data query at now and compares
// the answers with the reference's. Deal times span from first on.
func compareAll(t *testing.T, cfg *config.Config, ref *reference, q func(messages.Command) messages.Reply, now int64, rng *rand.Rand, first int64) {
	t.Helper()
	fail := 0
	check := func(what string, got, want []string) {
		if fail > 5 {
			return
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			fail++
			t.Errorf("now %d: %s:\n%s\nwant\n%s", now, what, clip(got), clip(want))
		}
	}
	for mi := range cfg.Markets {
		id := messages.MarketID(mi)
		last := q(&messages.MarketLast{Market: id}).(*messages.MarketLastReply)
		check("last", []string{fixed.FormatInt(last.Price, cfg.Markets[mi].MoneyPrec)}, []string{ref.last(mi).String()})

		var mid uint64
		if ds := ref.markets[mi]; len(ds) > 0 {
			mid = ds[rng.IntN(len(ds))].id
		}
		for _, c := range []struct {
			limit  int
			lastID uint64
		}{{1, 0}, {10, 0}, {10000, 0}, {10000, mid}, {3, mid}} {
			r := q(&messages.MarketDeals{Market: id, Limit: c.limit, LastID: c.lastID}).(*messages.MarketDealsReply)
			check(fmt.Sprintf("deals(%d, %d)", c.limit, c.lastID), showDeals(cfg, mi, r.Deals), ref.deals(mi, c.limit, cfg.MarketData.Deals, c.lastID))
		}

		for _, p := range []int64{1, 30, 59, 60, 61, 3599, 3600, 86399, 86400, int64(cfg.MarketData.SecMax.Seconds())} {
			if p > int64(cfg.MarketData.SecMax.Seconds()) {
				continue
			}
			r := q(&messages.MarketStatus{Market: id, Period: p, Now: now}).(*messages.MarketStatusReply)
			check(fmt.Sprintf("status(%d)", p), []string{showStatus(cfg, mi, r)}, []string{ref.status(mi, p, now)})
		}
		today := q(&messages.MarketStatusToday{Market: id, Now: now}).(*messages.MarketStatusTodayReply)
		check("today", []string{showToday(cfg, mi, today)}, []string{ref.today(mi, now)})

		intervals := []int64{1, 5, 15, 60, 300, 900, 3600, 7200, 14400, 86400, 172800, 259200, 604800, 2592000, 7, 90, 5400, 90000, 1209600}
		for _, iv := range intervals {
			// Spans of at most ~500 candles, around random times.
			for k := 0; k < 3; k++ {
				s := first - 86400 + rng.Int64N(max(1, now-first+2*86400))
				e := s + rng.Int64N(500*iv)
				if k == 0 {
					s, e = max(1, now-500*iv), now+iv
				}
				want, ok := ref.kline(mi, s, e, iv, now)
				rep := q(&messages.MarketKline{Market: id, Start: s, End: e, Interval: iv, Now: now})
				what := fmt.Sprintf("kline(%d, %d, %d)", s, e, iv)
				r, isKline := rep.(*messages.MarketKlineReply)
				if !ok {
					if er, isErr := rep.(*messages.ErrorReply); !isErr || er.Err != messages.ErrInvalidArgument {
						t.Errorf("now %d: %s = %#v; want invalid argument", now, what, rep)
					}
					continue
				}
				if !isKline {
					t.Errorf("now %d: %s = %#v; want candles", now, what, rep)
					continue
				}
				check(what, showCandles(cfg, mi, r.Candles), showRef(want))
			}
		}
	}
}

// clip shortens a long listing for an error message.
func clip(lines []string) string {
	if len(lines) > 12 {
		lines = append(append(lines[:6:6], fmt.Sprintf("… %d more …", len(lines)-12)), lines[len(lines)-6:]...)
	}
	return strings.Join(lines, "\n")
}
