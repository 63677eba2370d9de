package coretest

import (
	"fmt"

	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/runtime/config"
	"github.com/holiman/uint256"
	"github.com/shopspring/decimal"
)

// Diff runs up to steps generated commands against both the fixed-point
// engine (with the given number of balance shards and the replay shadow) and
// the decimal reference, and returns how many ran. After every command it
// compares the answers (errors, order fields, trades, depth, listings) and
// every balance of users 0..users and of the fee account, and checks the
// engine's invariants. The error names the step and the command.
func Diff(cfg *config.Config, shards, users int, src Source, steps int, extreme bool) (int, error) {
	eng := NewEngine(cfg, shards, true)
	ref := NewRef(cfg)
	gen := NewGen(cfg, src, ref, users)
	gen.Extreme = extreme
	for i := range steps {
		c := gen.Next()
		if c == nil {
			return i, nil
		}
		got := eng.Do(c)
		want := ref.Do(c)
		err := compare(cfg, c, &got, &want)
		if err == nil {
			err = compareBalances(cfg, eng, ref, users)
		}
		if err == nil {
			err = eng.Check()
		}
		if err != nil {
			return i, fmt.Errorf("step %d: %s:\n%w\nevents:\n%s", i, c, err, FormatEvents(cfg, got.Events))
		}
	}
	return steps, nil
}

func dI(v int64, prec int) decimal.Decimal { return decimal.New(v, -int32(prec)) }

func dU(u *uint256.Int, prec int) decimal.Decimal {
	if u.IsUint64() && u.Uint64() <= 1<<62 {
		return decimal.New(int64(u.Uint64()), -int32(prec))
	}
	return decimal.NewFromBigInt(u.ToBig(), -int32(prec))
}

func sameErr(a, b *messages.Error) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Code == b.Code && a.Message == b.Message
}

func compare(cfg *config.Config, c *Cmd, got *Result, want *RefResult) error {
	if !sameErr(got.Err, want.Err) {
		return fmt.Errorf("error %v; reference %v", got.Err, want.Err)
	}
	if got.Err != nil {
		if len(got.Events) > 0 {
			return fmt.Errorf("error %v with %d events", got.Err, len(got.Events))
		}
		return nil
	}
	switch c.Op {
	case OpPutLimit, OpPutMarket, OpCancel:
		if err := compareOrder(cfg, &got.Order, &want.Order); err != nil {
			return fmt.Errorf("reply: %w", err)
		}
		var trades []*messages.Trade
		for _, ev := range got.Events {
			if t, ok := ev.(*messages.Trade); ok {
				trades = append(trades, t)
			}
		}
		if len(trades) != len(want.Deals) {
			return fmt.Errorf("%d trades; reference %d", len(trades), len(want.Deals))
		}
		for i, t := range trades {
			if err := compareTrade(cfg, t, &want.Deals[i]); err != nil {
				return fmt.Errorf("trade %d: %w", i, err)
			}
		}
	case OpDepth:
		mc := cfg.Markets[c.Market].BookConfig()
		for _, s := range []struct {
			name string
			got  []messages.DepthLevel
			want []RefLevel
		}{{"asks", got.Asks, want.Asks}, {"bids", got.Bids, want.Bids}} {
			if len(s.got) != len(s.want) {
				return fmt.Errorf("depth %s: %d levels %v; reference %d %v", s.name, len(s.got), s.got, len(s.want), s.want)
			}
			for i := range s.got {
				if !dI(s.got[i].Price, mc.MoneyPrec).Equal(s.want[i].Price) || !dI(s.got[i].Amount, mc.StockPrec).Equal(s.want[i].Amount) {
					return fmt.Errorf("depth %s level %d: %v; reference %v", s.name, i, s.got[i], s.want[i])
				}
			}
		}
	case OpBook, OpPending:
		if got.Total != want.Total || len(got.Orders) != len(want.Orders) {
			return fmt.Errorf("%d of %d orders; reference %d of %d", len(got.Orders), got.Total, len(want.Orders), want.Total)
		}
		for i := range got.Orders {
			if err := compareOrder(cfg, &got.Orders[i], &want.Orders[i]); err != nil {
				return fmt.Errorf("order %d: %w", i, err)
			}
		}
	case OpSummary:
		mc := cfg.Markets[c.Market].BookConfig()
		s := got.Summary
		if s.AskCount != want.AskCount || s.BidCount != want.BidCount ||
			!dI(s.AskAmount, mc.StockPrec).Equal(want.AskAmount) || !dI(s.BidAmount, mc.StockPrec).Equal(want.BidAmount) {
			return fmt.Errorf("summary %+v; reference %d %s %d %s", s, want.AskCount, want.AskAmount, want.BidCount, want.BidAmount)
		}
	}
	return nil
}

func compareOrder(cfg *config.Config, g *messages.Order, w *RefOrder) error {
	c := cfg.Markets[g.Market].BookConfig()
	amountPrec := c.StockPrec
	marketBuy := g.Type == messages.Market && g.Side == messages.Bid
	if marketBuy {
		amountPrec = c.MoneyPrec
	}
	left := dI(g.Left, c.StockPrec)
	if marketBuy {
		left = dU(&g.Frozen, c.MoneySave) // the unspent money
	}
	feeSave := c.MoneySave
	if g.Side == messages.Bid {
		feeSave = c.StockSave
	}
	type field struct {
		name      string
		got, want decimal.Decimal
	}
	for _, f := range []field{
		{"price", dI(g.Price, c.MoneyPrec), w.Price},
		{"amount", dI(g.Amount, amountPrec), w.Amount},
		{"taker_fee", dI(g.TakerFee, c.FeePrec), w.TakerFee},
		{"maker_fee", dI(g.MakerFee, c.FeePrec), w.MakerFee},
		{"left", left, w.Left},
		{"deal_stock", dI(g.DealStock, c.StockPrec), w.DealStock},
		{"deal_money", dU(&g.DealMoney, c.MoneySave), w.DealMoney},
		{"deal_fee", dU(&g.DealFee, feeSave), w.DealFee},
	} {
		if !f.got.Equal(f.want) {
			return fmt.Errorf("order %d %s = %s; reference %s", Seq(g.ID), f.name, f.got, f.want)
		}
	}
	if g.ID != w.ID || g.Market != w.Market || g.Type != w.Type || g.Side != w.Side || g.User != w.User ||
		g.CTime != w.CTime || g.MTime != w.MTime {
		return fmt.Errorf("order %+v; reference %+v", *g, *w)
	}
	return nil
}

func compareTrade(cfg *config.Config, t *messages.Trade, w *RefDeal) error {
	c := cfg.Markets[t.Market].BookConfig()
	if t.DealID != w.ID || t.TakerSide != w.TakerSide || t.AskOrder != w.AskOrder || t.BidOrder != w.BidOrder ||
		t.AskUser != w.AskUser || t.BidUser != w.BidUser ||
		!dI(t.Price, c.MoneyPrec).Equal(w.Price) || !dI(t.Amount, c.StockPrec).Equal(w.Amount) ||
		!dU(&t.StockQty, c.StockSave).Equal(w.Amount) || !dU(&t.Deal, c.MoneySave).Equal(w.Deal) ||
		!dU(&t.AskFee, c.MoneySave).Equal(w.AskFee) || !dU(&t.BidFee, c.StockSave).Equal(w.BidFee) {
		return fmt.Errorf("%s; reference %+v", FormatEvent(cfg, t), *w)
	}
	return nil
}

// same reports whether u units at prec equal d.
func same(u *uint256.Int, prec int, d decimal.Decimal) bool {
	if d.IsZero() || u.IsZero() {
		return d.IsZero() && u.IsZero()
	}
	return dU(u, prec).Equal(d)
}

func compareBalances(cfg *config.Config, eng *Engine, ref *Ref, users int) error {
	check := func(u uint32) error {
		for a := range cfg.Assets {
			id := messages.AssetID(a)
			g, w := eng.Balance(u, id), ref.Balance(u, id)
			p := cfg.Assets[a].PrecSave
			if !same(&g.Available, p, w.Available) || !same(&g.Frozen, p, w.Frozen) {
				return fmt.Errorf("user %d %s: available %s frozen %s; reference %s %s", u, cfg.Assets[a].Name,
					dU(&g.Available, p), dU(&g.Frozen, p), w.Available, w.Frozen)
			}
		}
		return nil
	}
	for u := range uint32(users) + 1 {
		if err := check(u); err != nil {
			return err
		}
	}
	if int(cfg.FeeUserID) > users {
		return check(cfg.FeeUserID)
	}
	return nil
}
