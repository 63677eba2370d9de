package book_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/coretest"
	"github.com/bourse-exchange/bourse/messages"
)

// Order options beyond viabtc (order.put_limit_ex, order.cancel_all): time
// in force, post-only, self-trade prevention and cancel-all, each on an
// engine (book + ledgers, with the replay shadow) whose invariants —
// conservation, frozen = reservations, replay decides the same — are
// checked after every command.

type optEnv struct {
	t   *testing.T
	e   *coretest.Engine
	cfg *config.Config
	now int64
}

func newOptEnv(t *testing.T, doc string) *optEnv {
	cfg := coretest.DefaultConfig()
	if doc != "" {
		cfg = coretest.MustConfig(doc)
	}
	o := &optEnv{t: t, e: coretest.NewEngine(cfg, 2, true), cfg: cfg}
	for user := uint32(1); user <= 4; user++ {
		for _, a := range cfg.Assets {
			o.now++
			u, _, err := fixed.Parse("1000000", a.PrecSave)
			if err != nil {
				t.Fatal(err)
			}
			if _, e := o.e.Update(&messages.BalanceUpdate{User: user, Asset: a.ID, Business: "deposit", BusinessID: uint64(o.now), Change: u, Time: o.now}); e != nil {
				t.Fatal(e)
			}
		}
	}
	return o
}

func (o *optEnv) check(what string) {
	o.t.Helper()
	if err := o.e.Check(); err != nil {
		o.t.Fatalf("%s: %v", what, err)
	}
}

// limit places a limit order on BTCUSDT: amount and price as decimals.
func (o *optEnv) limit(user uint32, side messages.Side, amount, price string, mod func(*messages.PutLimit)) (messages.Order, []messages.Event, *messages.Error) {
	o.t.Helper()
	m := o.cfg.Markets[0]
	a, _, err1 := fixed.ParseInt64(amount, m.StockPrec)
	p, _, err2 := fixed.ParseInt64(price, m.MoneyPrec)
	if err1 != nil || err2 != nil {
		o.t.Fatalf("bad amount %q or price %q", amount, price)
	}
	o.now++
	cmd := &messages.PutLimit{User: user, Market: m.ID, Side: side, Amount: a, Price: p, TakerFee: 20, MakerFee: 10, Source: "t", Time: o.now}
	if mod != nil {
		mod(cmd)
	}
	events, ord, e := o.e.PutLimit(cmd)
	o.check(fmt.Sprintf("put_limit %d %v %s@%s", user, side, amount, price))
	return ord, events, e
}

func (o *optEnv) rest(user uint32, side messages.Side, amount, price string) uint64 {
	o.t.Helper()
	ord, _, e := o.limit(user, side, amount, price, nil)
	if e != nil || ord.Left != ord.Amount {
		o.t.Fatalf("resting order %d %s@%s: %+v %v", user, amount, price, ord, e)
	}
	return ord.ID
}

// summary describes events as "T" (trade), "F" (finished), "Fc" (finished,
// cancelled), "P" (placed), "R" (rested or held), "S" (stop triggered), "A"
// (amended), "D" (dead-man's switch set).
func summary(events []messages.Event) string {
	s := ""
	for _, ev := range events {
		switch e := ev.(type) {
		case *messages.StopTriggered:
			s += "S"
		case *messages.OrderAmended:
			s += "A"
		case *messages.CancelAfterSet:
			s += "D"
		case *messages.OrderPlaced:
			s += "P"
		case *messages.Trade:
			s += "T"
		case *messages.OrderRested:
			s += "R"
		case *messages.OrderFinished:
			if e.Cancelled {
				s += "Fc"
			} else {
				s += "F"
			}
		}
		s += " "
	}
	return s
}

func (o *optEnv) pending(user uint32) int {
	n, _ := o.e.Books[0].Pending(user, 0, 1000)
	return n
}

func tif(v messages.TimeInForce) func(*messages.PutLimit) {
	return func(c *messages.PutLimit) { c.TIF = v }
}

func stp(v messages.STP) func(*messages.PutLimit) {
	return func(c *messages.PutLimit) { c.STP = v }
}

func TestTimeInForce(t *testing.T) {
	t.Run("IOC trades what it can, the rest is cancelled", func(t *testing.T) {
		o := newOptEnv(t, "")
		o.rest(2, messages.Ask, "1", "100")
		ord, events, e := o.limit(1, messages.Bid, "1.5", "100", tif(messages.IOC))
		if e != nil || summary(events) != "P T F Fc " || ord.Left != 50000000 || o.pending(1) != 0 {
			t.Fatalf("IOC: %s left %d err %v pending %d", summary(events), ord.Left, e, o.pending(1))
		}
	})
	t.Run("IOC with nothing to take is cancelled at once", func(t *testing.T) {
		o := newOptEnv(t, "")
		o.rest(2, messages.Ask, "1", "100")
		_, events, e := o.limit(1, messages.Bid, "1", "99", tif(messages.IOC))
		if e != nil || summary(events) != "P Fc " || o.pending(1) != 0 || o.pending(2) != 1 {
			t.Fatalf("IOC: %s err %v", summary(events), e)
		}
	})
	t.Run("FOK against exactly sufficient liquidity fills", func(t *testing.T) {
		o := newOptEnv(t, "")
		o.rest(2, messages.Ask, "0.4", "100")
		o.rest(3, messages.Ask, "0.6", "101")
		o.rest(4, messages.Ask, "5", "102") // beyond the limit price
		ord, events, e := o.limit(1, messages.Bid, "1", "101", tif(messages.FOK))
		if e != nil || summary(events) != "P T F T F F " || ord.Left != 0 {
			t.Fatalf("FOK: %s left %d err %v", summary(events), ord.Left, e)
		}
	})
	t.Run("FOK one unit short is refused and changes nothing", func(t *testing.T) {
		o := newOptEnv(t, "")
		o.rest(2, messages.Ask, "0.4", "100")
		o.rest(3, messages.Ask, "0.59999999", "101")
		before := o.e.Balance(1, o.cfg.Markets[0].MoneyAsset.ID)
		_, _, e := o.limit(1, messages.Bid, "1", "101", tif(messages.FOK))
		after := o.e.Balance(1, o.cfg.Markets[0].MoneyAsset.ID)
		if e != messages.ErrNoEnoughTrader || o.pending(2) != 1 || o.pending(3) != 1 || before != after {
			t.Fatalf("FOK short: err %v; balance %v → %v", e, before, after)
		}
	})
	t.Run("post-only at the touch is refused; one tick off rests", func(t *testing.T) {
		o := newOptEnv(t, "")
		o.rest(2, messages.Ask, "1", "100")
		o.rest(3, messages.Bid, "1", "99")
		post := func(c *messages.PutLimit) { c.PostOnly = true }
		if _, _, e := o.limit(1, messages.Bid, "1", "100", post); e != messages.ErrWouldTake {
			t.Fatalf("post-only bid at the best ask: %v; want code 13", e)
		}
		if _, _, e := o.limit(1, messages.Ask, "1", "99", post); e != messages.ErrWouldTake {
			t.Fatalf("post-only ask at the best bid: %v; want code 13", e)
		}
		if ord, events, e := o.limit(1, messages.Bid, "1", "99.99", post); e != nil || summary(events) != "P R " || ord.Left != ord.Amount {
			t.Fatalf("post-only bid one tick below: %s %v", summary(events), e)
		}
		if _, events, e := o.limit(1, messages.Ask, "1", "100", post); e != nil || summary(events) != "P R " {
			t.Fatalf("post-only ask at the best ask: %s %v", summary(events), e)
		}
	})
}

func TestSelfTradePrevention(t *testing.T) {
	type result struct {
		events           string
		left             string // the taker's
		pending1, other2 int    // user 1's resting orders, user 2's
	}
	for _, tt := range []struct {
		mode messages.STP
		want result
	}{
		// User 1 rests an ask of 1 at 100 first, user 2 one of 1 at 100
		// after it; then user 1 bids 1.5 at 100.
		{messages.STPNone, result{"P T F T F ", "0", 0, 1}},           // 1 from itself, 0.5 from user 2
		{messages.STPDefault, result{"P T F T F ", "0", 0, 1}},        // the market's: none
		{messages.STPCancelTaker, result{"P Fc ", "1.5", 1, 1}},       // nothing trades; the bid is cancelled
		{messages.STPCancelMaker, result{"P Fc T F R ", "0.5", 1, 0}}, // own ask cancelled, 1 from user 2, 0.5 rests
		{messages.STPCancelBoth, result{"P Fc Fc ", "1.5", 0, 1}},     // own ask and the bid cancelled
	} {
		t.Run(fmt.Sprint(tt.mode), func(t *testing.T) {
			o := newOptEnv(t, "")
			o.rest(1, messages.Ask, "1", "100")
			o.rest(2, messages.Ask, "1", "100")
			ord, events, e := o.limit(1, messages.Bid, "1.5", "100", stp(tt.mode))
			if e != nil {
				t.Fatal(e)
			}
			m := o.cfg.Markets[0]
			got := result{summary(events), fixed.FormatInt(ord.Left, m.StockPrec), o.pending(1), o.pending(2)}
			if got != tt.want {
				t.Errorf("got %+v; want %+v", got, tt.want)
			}
		})
	}
	t.Run("market default applies to orders that choose none, and to market orders", func(t *testing.T) {
		doc := string(config.Default)
		doc = replaceOnce(t, doc, `min_amount: "0.0001" }`, `min_amount: "0.0001", stp: cancel_maker }`)
		o := newOptEnv(t, doc)
		o.rest(1, messages.Ask, "1", "100")
		o.rest(2, messages.Ask, "1", "101")
		_, events, e := o.limit(1, messages.Bid, "0.5", "101", nil)
		if e != nil || summary(events) != "P Fc T F " {
			t.Fatalf("put_limit under the market's cancel_maker: %s %v", summary(events), e)
		}
		o.rest(1, messages.Ask, "1", "100")
		o.now++
		events, _, e = o.e.PutMarket(&messages.PutMarket{User: 1, Market: 0, Side: messages.Bid, Amount: 1000, TakerFee: 20, Source: "t", Time: o.now})
		o.check("put_market")
		if e != nil || summary(events) != "P Fc T F " {
			t.Fatalf("put_market under the market's cancel_maker: %s %v", summary(events), e)
		}
	})
	t.Run("FOK counts only what self-trade prevention lets it take", func(t *testing.T) {
		for _, tc := range []struct {
			mode messages.STP
			err  *messages.Error
			ev   string
		}{
			{messages.STPNone, nil, "P T F T F F "},                   // both makers filled, then the taker
			{messages.STPCancelMaker, messages.ErrNoEnoughTrader, ""}, // 0.5 from user 2 is not 1
			{messages.STPCancelTaker, messages.ErrNoEnoughTrader, ""}, // own order first: stops
		} {
			o := newOptEnv(t, "")
			o.rest(1, messages.Ask, "0.5", "100")
			o.rest(2, messages.Ask, "0.5", "100")
			_, events, e := o.limit(1, messages.Bid, "1", "100", func(c *messages.PutLimit) { c.TIF, c.STP = messages.FOK, tc.mode })
			if e != tc.err || (e == nil && summary(events) != tc.ev) {
				t.Errorf("FOK, STP %d: %s %v; want %s %v", tc.mode, summary(events), e, tc.ev, tc.err)
			}
		}
	})
}

func TestCancelAll(t *testing.T) {
	o := newOptEnv(t, "")
	o.rest(1, messages.Bid, "1", "90")
	o.rest(1, messages.Ask, "1", "110")
	o.rest(1, messages.Bid, "2", "91")
	o.rest(2, messages.Bid, "1", "92")
	cancel := func(side messages.Side) ([]messages.Event, *messages.Error) {
		o.now++
		events, e := o.e.CancelAll(&messages.CancelAll{User: 1, Market: 0, Side: side, Time: o.now})
		o.check("cancel_all")
		return events, e
	}
	if events, e := cancel(messages.Bid); e != nil || summary(events) != "Fc Fc " || o.pending(1) != 1 || o.pending(2) != 1 {
		t.Fatalf("cancel_all bids: %s %v pending %d", summary(events), e, o.pending(1))
	}
	if events, e := cancel(0); e != nil || summary(events) != "Fc " || o.pending(1) != 0 || o.pending(2) != 1 {
		t.Fatalf("cancel_all: %s %v", summary(events), e)
	}
	if events, e := cancel(0); e != nil || len(events) != 0 {
		t.Fatalf("cancel_all with nothing left: %s %v", summary(events), e)
	}
	o.now++
	if _, e := o.e.CancelAll(&messages.CancelAll{User: 1, Market: 0, Side: 3, Time: o.now}); e != messages.ErrInvalidArgument {
		t.Fatalf("side 3: %v", e)
	}
	// Funds are all back: nothing frozen for user 1.
	for _, a := range o.cfg.Assets {
		if b := o.e.Balance(1, a.ID); !b.Frozen.IsZero() {
			t.Errorf("%s frozen %s after cancel_all", a.Name, b.Frozen.Dec())
		}
	}
}

func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if strings.Count(s, old) != 1 {
		t.Fatalf("%q occurs %d times", old, strings.Count(s, old))
	}
	return strings.Replace(s, old, new, 1)
}
