package coretest

import (
	"fmt"

	"github.com/bourse-exchange/bourse/actors"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/holiman/uint256"
	"github.com/shopspring/decimal"
)

// DiffStats is what a differential run did: commands compared and what
// the reference counted (RefStats).
type DiffStats struct {
	Commands int
	RefStats
}

// Add adds o's counts to s.
func (s *DiffStats) Add(o DiffStats) {
	s.Commands += o.Commands
	s.Triggers += o.Triggers
	s.Cascades += o.Cascades
	s.TriggerCancels += o.TriggerCancels
	s.Amends += o.Amends
	s.Fired += o.Fired
	s.STPMakers += o.STPMakers
	s.STPTakers += o.STPTakers
	if s.Codes == nil {
		s.Codes = map[int]int{}
	}
	for c, n := range o.Codes {
		s.Codes[c] += n
	}
}

func (s DiffStats) String() string {
	return fmt.Sprintf("%d commands: %d stops triggered (%d cancelled at trigger), %d cascades, %d amends, %d dead-man's switches fired, "+
		"self-trade prevention cancelled %d makers and %d takers; refusals by code %v",
		s.Commands, s.Triggers, s.TriggerCancels, s.Cascades, s.Amends, s.Fired, s.STPMakers, s.STPTakers, s.Codes)
}

// Stream yields commands: a Gen, or a Replay of an op log. Next returns
// nil at the end.
type Stream interface{ Next() *Cmd }

// DiffError is a failed differential run: the step, the error and the
// commands played up to the failing one (for an op log).
type DiffError struct {
	Step int
	Cmds []*Cmd
	Err  error
}

func (e *DiffError) Error() string { return fmt.Sprintf("step %d: %v", e.Step, e.Err) }

func (e *DiffError) Unwrap() error { return e.Err }

// Diff runs up to steps generated commands against both the fixed-point
// engine (with the given number of balance shards and the replay shadow) and
// the decimal reference, and returns how many ran and what they reached.
// After every command it compares the answers (errors, every event, order
// fields, depth, listings), every balance of users 0..users and of the
// fee account, and, after one that changed something, every open order
// (held stops included), last price and armed dead-man's switch; and it
// checks the engine's invariants (Engine.Check:
// conservation, frozen = reservations, replay = live). The error, a
// *DiffError, names the step and the command.
func Diff(cfg *config.Config, shards, users int, src Source, steps int, extreme bool) (DiffStats, error) {
	return DiffStream(cfg, shards, users, steps, func(ref *Ref) Stream {
		gen := NewGen(cfg, src, ref, users)
		gen.Extreme = extreme
		return gen
	})
}

// DiffStream is Diff on the commands of the stream that open returns for
// the run's reference (a Gen draws its targets from it).
func DiffStream(cfg *config.Config, shards, users, steps int, open func(*Ref) Stream) (DiffStats, error) {
	eng := NewEngine(cfg, shards, true)
	ref := NewRef(cfg)
	stream := open(ref)
	stats := func(n int) DiffStats { return DiffStats{Commands: n, RefStats: ref.Stats} }
	var played []*Cmd
	for i := range steps {
		c := stream.Next()
		if c == nil {
			return stats(i), nil
		}
		played = append(played, c)
		got := eng.Do(c)
		want := ref.Do(c)
		err := compare(cfg, c, &got, &want)
		if err == nil {
			err = compareBalances(cfg, eng, ref, users)
		}
		if err == nil && len(got.Events) > 0 {
			err = compareState(cfg, eng, ref)
		}
		if err == nil {
			err = eng.Check()
		}
		if err != nil {
			return stats(i), &DiffError{Step: i, Cmds: played,
				Err: fmt.Errorf("%s:\n%w\nevents:\n%s", c, err, FormatEvents(cfg, got.Events))}
		}
	}
	return stats(steps), nil
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
	if err := compareEvents(cfg, got.Events, want.Events); err != nil {
		return err
	}
	switch c.Op {
	case OpPutLimit, OpPutMarket, OpCancel, OpAmend:
		if err := compareOrder(cfg, &got.Order, &want.Order); err != nil {
			return fmt.Errorf("reply: %w", err)
		}
	case OpCancelAll:
		if got.Count != want.Count {
			return fmt.Errorf("cancel_all count %d; reference %d", got.Count, want.Count)
		}
	case OpCancelAfter:
		if got.Deadline != want.Deadline {
			return fmt.Errorf("cancel_after deadline %d; reference %d", got.Deadline, want.Deadline)
		}
	case OpDetail:
		if (got.Detail == nil) != (want.Detail == nil) {
			return fmt.Errorf("detail %v; reference %v", got.Detail, want.Detail)
		}
		if got.Detail != nil {
			if err := compareOrder(cfg, got.Detail, want.Detail); err != nil {
				return fmt.Errorf("detail: %w", err)
			}
		}
	case OpDepth:
		mc := actors.BookConfig(cfg.Markets[c.Market])
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
		mc := actors.BookConfig(cfg.Markets[c.Market])
		s := got.Summary
		if s.AskCount != want.AskCount || s.BidCount != want.BidCount ||
			!dI(s.AskAmount, mc.StockPrec).Equal(want.AskAmount) || !dI(s.BidAmount, mc.StockPrec).Equal(want.BidAmount) {
			return fmt.Errorf("summary %+v; reference %d %s %d %s", s, want.AskCount, want.AskAmount, want.BidCount, want.BidAmount)
		}
	}
	return nil
}

func compareOrder(cfg *config.Config, g *messages.Order, w *RefOrder) error {
	c := actors.BookConfig(cfg.Markets[g.Market])
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
		g.CTime != w.CTime || g.MTime != w.MTime || g.ClientID != w.ClientID || !dI(g.StopPrice, c.MoneyPrec).Equal(w.StopPrice) ||
		g.Triggered != w.Triggered || g.TIF != w.TIF || g.PostOnly != w.PostOnly || g.STP != w.STP {
		return fmt.Errorf("order %+v; reference %+v", *g, *w)
	}
	return nil
}

// compareState compares every market's open orders (resting and held),
// last price and armed dead-man's switches.
func compareState(cfg *config.Config, eng *Engine, ref *Ref) error {
	for mi, b := range eng.Books {
		rm := ref.markets[mi]
		want := map[uint64]*RefOrder{}
		for _, o := range rm.open() {
			want[o.ID] = o
		}
		n := 0
		var err error
		b.EachOrder(func(o *messages.Order) {
			n++
			w := want[o.ID]
			switch {
			case err != nil:
			case w == nil:
				err = fmt.Errorf("market %d: order %d is open; not in the reference", mi, o.ID)
			case o.Held() != w.held():
				err = fmt.Errorf("market %d: order %d held %v; reference %v", mi, o.ID, o.Held(), w.held())
			default:
				err = compareOrder(cfg, o, w)
			}
		})
		if err != nil {
			return err
		}
		if n != len(want) {
			return fmt.Errorf("market %d: %d open orders; reference %d", mi, n, len(want))
		}
		if last := dI(b.LastPrice(), cfg.Markets[mi].MoneyPrec); !last.Equal(rm.last) {
			return fmt.Errorf("market %d: last price %s; reference %s", mi, last, rm.last)
		}
		armed := 0
		b.EachDeadline(func(user uint32, deadline int64) {
			armed++
			if d, ok := rm.deadlines[user]; (!ok || d != deadline) && err == nil {
				err = fmt.Errorf("market %d: user %d's switch at %d; reference %d", mi, user, deadline, d)
			}
		})
		if err == nil && armed != len(rm.deadlines) {
			err = fmt.Errorf("market %d: %d switches armed; reference %d", mi, armed, len(rm.deadlines))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// compareEvents compares the engine's events with the reference's, one by
// one and field by field.
func compareEvents(cfg *config.Config, got []messages.Event, want []RefEvent) error {
	for i := range max(len(got), len(want)) {
		if i >= len(got) || i >= len(want) {
			g, w := "none", "none"
			if i < len(got) {
				g = FormatEvent(cfg, got[i])
			}
			if i < len(want) {
				w = fmt.Sprintf("%s %+v", want[i].Kind, want[i])
			}
			return fmt.Errorf("%d events, reference %d: event %d is %s; reference %s", len(got), len(want), i, g, w)
		}
		if err := compareEvent(cfg, got[i], &want[i]); err != nil {
			return fmt.Errorf("event %d: %w", i, err)
		}
	}
	return nil
}

func compareEvent(cfg *config.Config, ev messages.Event, w *RefEvent) error {
	save := func(a messages.AssetID) int { return cfg.Assets[a].PrecSave }
	ok := false
	switch e := ev.(type) {
	case *messages.BalanceUpdated:
		change := dU(&e.Change, save(e.Asset))
		if e.Negative {
			change = change.Neg()
		}
		ok = w.Kind == RefBalanceUpdated && e.User == w.User && e.Asset == w.Asset && e.Business == w.Business &&
			change.Equal(w.Amount) && e.Time == w.Time
	case *messages.OrderPlaced:
		if w.Kind != RefPlaced {
			break
		}
		if err := compareOrder(cfg, &e.Order, &w.Order); err != nil {
			return fmt.Errorf("placed: %w", err)
		}
		asset := cfg.Markets[e.Order.Market].StockAsset.ID
		if e.Order.Side == messages.Bid {
			asset = cfg.Markets[e.Order.Market].MoneyAsset.ID
		}
		ok = e.FrozenAsset == asset && same(&e.Order.Frozen, save(asset), w.Frozen)
	case *messages.Trade:
		if w.Kind != RefTrade {
			break
		}
		if err := compareTrade(cfg, e, &w.Deal); err != nil {
			return err
		}
		ok = e.Time == w.Time
	case *messages.OrderRested:
		ok = w.Kind == RefRested && e.OrderID == w.OrderID && e.Time == w.Time
	case *messages.OrderFinished:
		ok = w.Kind == RefFinished && e.OrderID == w.OrderID && e.User == w.User && e.Cancelled == w.Cancelled &&
			e.Asset == w.Asset && same(&e.Release, save(e.Asset), w.Release) && e.Time == w.Time
	case *messages.StopTriggered:
		mc := cfg.Markets[e.Market]
		ok = w.Kind == RefTriggered && e.OrderID == w.OrderID && dI(e.Price, mc.MoneyPrec).Equal(w.Price) && e.Time == w.Time
	case *messages.OrderAmended:
		mc := cfg.Markets[e.Market]
		ok = w.Kind == RefAmended && e.OrderID == w.OrderID && e.User == w.User && e.Asset == w.Asset &&
			dI(e.Amount, mc.StockPrec).Equal(w.Amount) && dI(e.Left, mc.StockPrec).Equal(w.Left) &&
			same(&e.Release, save(e.Asset), w.Release) && e.Time == w.Time
	case *messages.CancelAfterSet:
		ok = w.Kind == RefSwitch && e.User == w.User && e.Deadline == w.Deadline && e.Time == w.Time
	}
	if !ok {
		return fmt.Errorf("%s; reference %s %+v", FormatEvent(cfg, ev), w.Kind, *w)
	}
	return nil
}

func compareTrade(cfg *config.Config, t *messages.Trade, w *RefDeal) error {
	c := actors.BookConfig(cfg.Markets[t.Market])
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
