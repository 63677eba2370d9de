package runtime_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/bourse-exchange/bourse/internal/testnode"

	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/runtime"
	"github.com/holiman/uint256"
)

func do(t testing.TB, n *runtime.Node, cmd messages.Command) messages.Reply {
	t.Helper()
	r, err := n.Router.Do(context.Background(), cmd)
	if err != nil {
		t.Fatalf("%T: %v", cmd, err)
	}
	return r
}

func units(s string, scale int) int64 {
	v, _, err := fixed.ParseInt64(s, scale)
	if err != nil {
		panic(err)
	}
	return v
}

func save(s string) uint256.Int {
	u, _, err := fixed.Parse(s, 12)
	if err != nil {
		panic(err)
	}
	return u
}

func TestPipelineTrade(t *testing.T) {
	n := testnode.Start(t, testnode.Config(t), runtime.Options{})
	cfg := n.Config
	m := cfg.Market("BTCUSDT")
	btc, usdt := cfg.Asset("BTC").ID, cfg.Asset("USDT").ID
	for _, u := range []struct {
		user  uint32
		asset messages.AssetID
		amt   string
	}{{1, usdt, "1000"}, {2, btc, "10"}} {
		if r := do(t, n, &messages.BalanceUpdate{User: u.user, Asset: u.asset, Business: "deposit", BusinessID: 1, Change: save(u.amt), Time: 1}); fmt.Sprintf("%T", r) != "*messages.StatusReply" {
			t.Fatalf("deposit: %#v", r)
		}
	}
	r := do(t, n, &messages.PutLimit{User: 2, Market: m.ID, Side: messages.Ask, Amount: units("2", 8), Price: units("100", 2), TakerFee: 20, MakerFee: 10, Time: 2})
	if _, ok := r.(*messages.OrderReply); !ok {
		t.Fatalf("put ask: %#v", r)
	}
	r = do(t, n, &messages.PutLimit{User: 1, Market: m.ID, Side: messages.Bid, Amount: units("1.5", 8), Price: units("101", 2), TakerFee: 20, MakerFee: 10, Time: 3})
	o, ok := r.(*messages.OrderReply)
	if !ok || o.Order.Left != 0 {
		t.Fatalf("put bid: %#v", r)
	}
	r = do(t, n, &messages.BalanceQuery{User: 1})
	q := r.(*messages.BalanceQueryReply)
	if got := fixed.Format(&q.Balances[usdt].Available, 12); got != "850" {
		t.Errorf("user 1 USDT = %s; want 850", got)
	}
	if got := fixed.Format(&q.Balances[btc].Available, 12); got != "1.497" {
		t.Errorf("user 1 BTC = %s; want 1.497", got)
	}
	r = do(t, n, &messages.BalanceQuery{User: 0, Assets: []messages.AssetID{usdt}})
	q = r.(*messages.BalanceQueryReply)
	if got := fixed.Format(&q.Balances[0].Available, 12); got != "0.15" {
		t.Errorf("fee USDT = %s; want 0.15", got)
	}
	// A rejected order changes nothing and gets the right code.
	r = do(t, n, &messages.PutLimit{User: 1, Market: m.ID, Side: messages.Bid, Amount: units("100", 8), Price: units("100", 2), Time: 4})
	if e, ok := r.(*messages.ErrorReply); !ok || e.Err != messages.ErrBalanceNotEnough {
		t.Fatalf("overspend: %#v", r)
	}
	r = do(t, n, &messages.PutMarket{User: 1, Market: cfg.Market("ETHUSDT").ID, Side: messages.Bid, Amount: units("10", 2), Time: 5})
	if e, ok := r.(*messages.ErrorReply); !ok || e.Err != messages.ErrNoEnoughTrader {
		t.Fatalf("market on empty book: %#v", r)
	}
	r = do(t, n, &messages.BalanceQuery{User: 1, Assets: []messages.AssetID{usdt}})
	q = r.(*messages.BalanceQueryReply)
	if got := fixed.Format(&q.Balances[0].Available, 12); got != "850" || !q.Balances[0].Frozen.IsZero() {
		t.Errorf("after rejections user 1 USDT = %s frozen %s; want 850, 0", got, q.Balances[0].Frozen.Dec())
	}
}

// TestConcurrentConservation runs many users trading on every market at once
// (run it with -race) and then checks, for each asset, that the sum of all
// balances equals deposits and that frozen funds equal the reservations of
// resting orders.
func TestConcurrentConservation(t *testing.T) {
	n := testnode.Start(t, testnode.Config(t), runtime.Options{})
	cfg := n.Config
	const users = 40
	const perUser = 150
	deposits := make([]uint256.Int, len(cfg.Assets))
	for u := uint32(1); u <= users; u++ {
		for _, a := range cfg.Assets {
			amt := save("100000")
			do(t, n, &messages.BalanceUpdate{User: u, Asset: a.ID, Business: "deposit", BusinessID: uint64(u), Change: amt, Time: 1})
			deposits[a.ID].Add(&deposits[a.ID], &amt)
		}
	}
	var wg sync.WaitGroup
	for u := uint32(1); u <= users; u++ {
		wg.Add(1)
		go func(u uint32) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(u), 7))
			var mine []struct {
				m  messages.MarketID
				id uint64
			}
			for i := 0; i < perUser; i++ {
				m := cfg.Markets[rng.IntN(len(cfg.Markets))]
				side := messages.Side(1 + rng.IntN(2))
				switch k := rng.IntN(10); {
				case k < 7:
					price := int64(9000+rng.IntN(2000)) * pow(m.MoneyPrec) / 1000
					amount := int64(1+rng.IntN(50)) * m.MinUnits
					r := do(t, n, &messages.PutLimit{User: u, Market: m.ID, Side: side, Amount: amount, Price: price, TakerFee: int64(rng.IntN(30)), MakerFee: int64(rng.IntN(20)), Time: int64(i)})
					if o, ok := r.(*messages.OrderReply); ok && o.Order.Left > 0 {
						mine = append(mine, struct {
							m  messages.MarketID
							id uint64
						}{m.ID, o.Order.ID})
					}
				case k < 8:
					amt := int64(1+rng.IntN(20)) * m.MinUnits
					if side == messages.Bid {
						amt = int64(1+rng.IntN(100)) * pow(m.MoneyPrec)
					}
					do(t, n, &messages.PutMarket{User: u, Market: m.ID, Side: side, Amount: amt, TakerFee: 10, Time: int64(i)})
				default:
					if len(mine) > 0 {
						j := rng.IntN(len(mine))
						do(t, n, &messages.Cancel{User: u, Market: mine[j].m, OrderID: mine[j].id, Time: int64(i)})
						mine = append(mine[:j], mine[j+1:]...)
					}
				}
			}
		}(u)
	}
	wg.Wait()
	// Σ balances (fee account 0 included) = deposits, per asset.
	r := do(t, n, &messages.AssetSummary{})
	rows := r.(*messages.AssetSummaryReply).Rows
	for _, row := range rows {
		var total uint256.Int
		total.Add(&row.Available, &row.Frozen)
		if !total.Eq(&deposits[row.Asset]) {
			t.Errorf("asset %s: Σ balances %s != deposits %s", cfg.Assets[row.Asset].Name, total.Dec(), deposits[row.Asset].Dec())
		}
	}
	// Trades happened: the fee account collected every asset.
	fees := do(t, n, &messages.BalanceQuery{User: 0}).(*messages.BalanceQueryReply)
	for i, b := range fees.Balances {
		if b.Available.IsZero() {
			t.Errorf("fee account holds no %s: no trades were made", cfg.Assets[i].Name)
		}
	}
	// frozen = Σ reservations of resting orders, per asset.
	reserved := make([]uint256.Int, len(cfg.Assets))
	for _, m := range cfg.Markets {
		for _, side := range []messages.Side{messages.Ask, messages.Bid} {
			r := do(t, n, &messages.OrderBook{Market: m.ID, Side: side, Limit: 1 << 30})
			for _, o := range r.(*messages.OrderListReply).Orders {
				a := m.StockAsset.ID
				if side == messages.Bid {
					a = m.MoneyAsset.ID
				}
				reserved[a].Add(&reserved[a], &o.Frozen)
			}
		}
	}
	for _, row := range rows {
		if !row.Frozen.Eq(&reserved[row.Asset]) {
			t.Errorf("asset %s: frozen %s != reservations %s", cfg.Assets[row.Asset].Name, row.Frozen.Dec(), reserved[row.Asset].Dec())
		}
	}
}

func pow(n int) int64 {
	v := int64(1)
	for ; n > 0; n-- {
		v *= 10
	}
	return v
}
