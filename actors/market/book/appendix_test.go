package book_test

import (
	"testing"

	"github.com/bourse-exchange/bourse/actors"
	"github.com/bourse-exchange/bourse/actors/balance/ledger"
	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/holiman/uint256"
)

func dec(t *testing.T, s string, scale int) int64 {
	t.Helper()
	v, neg, err := fixed.ParseInt64(s, scale)
	if err != nil || neg {
		t.Fatalf("parse %q: %v", s, err)
	}
	return v
}

func save(t *testing.T, s string) uint256.Int {
	t.Helper()
	u, _, err := fixed.Parse(s, 12)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestAppendixA re-expresses docs/protocol.md "Worked example" in the default config
// (BTCUSDT: stock_prec 8, money_prec 2, fee_prec 4; prec_save 12).
func TestAppendixA(t *testing.T) {
	cfg, err := config.Parse(config.Default)
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Market("BTCUSDT")
	bc := actors.BookConfig(m)
	b := book.New(bc)
	l := ledger.New(ledger.Config{Assets: len(cfg.Assets), FeeUser: 0, WindowMicros: 1e12, Shards: 1})
	btc, usdt := cfg.Asset("BTC").ID, cfg.Asset("USDT").ID
	deposit := func(user uint32, a messages.AssetID, amt string) {
		ev, e := l.DecideUpdate(&messages.BalanceUpdate{User: user, Asset: a, Business: "deposit", BusinessID: 1, Change: save(t, amt), Time: 1})
		if e != nil {
			t.Fatal(e)
		}
		l.Apply(ev, ledger.Live)
	}
	deposit(1, usdt, "1000")
	deposit(2, btc, "10")
	if _, e := l.DecideUpdate(&messages.BalanceUpdate{User: 1, Asset: usdt, Business: "deposit", BusinessID: 1, Change: save(t, "1000"), Time: 2}); e != messages.ErrRepeatUpdate {
		t.Fatalf("repeat deposit = %v; want repeat update", e)
	}
	put := func(cmd *messages.PutLimit) messages.Order {
		t.Helper()
		asset, res := bc.Reservation(messages.Limit, cmd.Side, cmd.Amount, cmd.Price)
		if e := l.Reserve(cmd.User, asset, &res); e != nil {
			t.Fatal(e)
		}
		evs, o, e := b.Execute(cmd)
		if e != nil {
			t.Fatal(e)
		}
		for _, ev := range evs {
			l.Apply(ev, ledger.Live)
		}
		return *o
	}
	o1 := put(&messages.PutLimit{User: 2, Market: m.ID, Side: messages.Ask, Amount: dec(t, "2", 8), Price: dec(t, "100", 2), TakerFee: 20, MakerFee: 10, Source: "web", Time: 10})
	if got := fixed.FormatInt(o1.Left, 8); got != "2" {
		t.Errorf("order 1 left = %s; want 2", got)
	}
	o2 := put(&messages.PutLimit{User: 1, Market: m.ID, Side: messages.Bid, Amount: dec(t, "1.5", 8), Price: dec(t, "101", 2), TakerFee: 20, MakerFee: 10, Source: "web", Time: 20})
	check := func(name string, got *uint256.Int, want string) {
		t.Helper()
		if s := fixed.Format(got, 12); s != want {
			t.Errorf("%s = %s; want %s", name, s, want)
		}
	}
	if o2.Left != 0 || fixed.FormatInt(o2.DealStock, 8) != "1.5" {
		t.Errorf("order 2 left %d deal_stock %d", o2.Left, o2.DealStock)
	}
	check("order 2 deal_money", &o2.DealMoney, "150")
	check("order 2 deal_fee", &o2.DealFee, "0.003")
	b1, b2, f := l.Balance(1, usdt), l.Balance(1, btc), l.Balance(0, usdt)
	check("user 1 USDT available", &b1.Available, "850")
	check("user 1 USDT frozen", &b1.Frozen, "0")
	check("user 1 BTC available", &b2.Available, "1.497")
	check("fee USDT", &f.Available, "0.15")
	f = l.Balance(0, btc)
	check("fee BTC", &f.Available, "0.003")
	u2b, u2u := l.Balance(2, btc), l.Balance(2, usdt)
	check("user 2 BTC available", &u2b.Available, "8")
	check("user 2 BTC frozen", &u2b.Frozen, "0.5")
	check("user 2 USDT available", &u2u.Available, "149.85")
	asks, bids := b.Depth(10, 0)
	if len(asks) != 1 || asks[0].Price != 10000 || asks[0].Amount != 50000000 || len(bids) != 0 {
		t.Errorf("depth = %v %v; want asks [[100 0.5]]", asks, bids)
	}
	evs, cancelled, e := b.Execute(&messages.Cancel{User: 2, Market: m.ID, OrderID: o1.ID, Time: 30})
	if e != nil {
		t.Fatal(e)
	}
	o := *cancelled
	for _, ev := range evs {
		l.Apply(ev, ledger.Live)
	}
	if o.MTime != 30 || fixed.FormatInt(o.Left, 8) != "0.5" {
		t.Errorf("cancelled order mtime %d left %d", o.MTime, o.Left)
	}
	u2b = l.Balance(2, btc)
	check("user 2 BTC available after cancel", &u2b.Available, "8.5")
	check("user 2 BTC frozen after cancel", &u2b.Frozen, "0")
}
