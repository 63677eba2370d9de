package book_test

import (
	"testing"

	"github.com/bourse-exchange/bourse/actors/corestate"
	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/persistence/snapshot"
	"github.com/holiman/uint256"
)

// Stop orders, client order ids, amend and the dead-man's switch, on the
// same engine as options_test.go: every command is followed by the
// invariant check (conservation, frozen = reservations of the open orders,
// held stops included; listings; the replayed state equals the live one).

func (o *optEnv) price(p string) int64 {
	o.t.Helper()
	v, _, err := fixed.ParseInt64(p, o.cfg.Markets[0].MoneyPrec)
	if err != nil {
		o.t.Fatal(err)
	}
	return v
}

func (o *optEnv) amount(a string) int64 {
	o.t.Helper()
	v, _, err := fixed.ParseInt64(a, o.cfg.Markets[0].StockPrec)
	if err != nil {
		o.t.Fatal(err)
	}
	return v
}

// trade prints a trade at price between users 3 (ask) and 4 (bid).
func (o *optEnv) trade(amount, price string) []messages.Event {
	o.t.Helper()
	o.rest(3, messages.Ask, amount, price)
	_, events, e := o.limit(4, messages.Bid, amount, price, nil)
	if e != nil {
		o.t.Fatal(e)
	}
	return events
}

func stopAt(price string, o *optEnv) func(*messages.PutLimit) {
	return func(c *messages.PutLimit) { c.StopPrice = o.price(price) }
}

// stopMarket places a stop-market order; amount is stock for a sell, money
// for a buy.
func (o *optEnv) stopMarket(user uint32, side messages.Side, amount int64, stop string) (messages.Order, []messages.Event, *messages.Error) {
	o.t.Helper()
	o.now++
	events, ord, e := o.e.PutMarket(&messages.PutMarket{User: user, Market: 0, Side: side, Amount: amount, TakerFee: 20, Source: "t",
		Time: o.now, StopPrice: o.price(stop)})
	o.check("put_stop_market")
	return ord, events, e
}

func (o *optEnv) open(id uint64) *messages.Order { return o.e.Books[0].Order(id) }

func TestStopLimit(t *testing.T) {
	o := newOptEnv(t, "")
	o.trade("1", "100") // last price 100
	m := o.cfg.Markets[0]
	if _, _, e := o.limit(1, messages.Bid, "1", "101", stopAt("100", o)); e != messages.ErrStopWouldTrigger {
		t.Fatalf("buy stop at the last price: %v; want code 15", e)
	}
	if _, _, e := o.limit(1, messages.Ask, "1", "99", stopAt("100.01", o)); e != messages.ErrStopWouldTrigger {
		t.Fatalf("sell stop above the last price: %v; want code 15", e)
	}
	before := o.e.Balance(1, m.MoneyAsset.ID)
	ord, events, e := o.limit(1, messages.Bid, "1", "106", stopAt("105", o))
	if e != nil || summary(events) != "P R " || !ord.Held() {
		t.Fatalf("buy stop: %s %v %+v", summary(events), e, ord)
	}
	after := o.e.Balance(1, m.MoneyAsset.ID)
	var reserved, want = after.Frozen, before.Frozen
	want.Add(&want, fixedU(t, "106", m.MoneyAsset.PrecSave))
	if reserved != want {
		t.Fatalf("a held buy stop reserves price × amount: frozen %s; want %s", reserved.Dec(), want.Dec())
	}
	if n, list := o.e.Books[0].Pending(1, 0, 10); n != 1 || list[0].ID != ord.ID {
		t.Fatalf("pending: %d %v", n, list)
	}
	if n, _ := o.e.Books[0].Orders(messages.Bid, 0, 10); n != 0 {
		t.Fatalf("a held stop is not in the book: order.book lists %d bids", n)
	}
	o.trade("0.1", "104.99") // below the stop: held
	if !o.open(ord.ID).Held() {
		t.Fatal("a trade below a buy stop triggered it")
	}
	o.rest(3, messages.Ask, "0.1", "105")
	o.rest(2, messages.Ask, "0.4", "105.5")
	o.rest(2, messages.Ask, "0.3", "106")
	o.rest(2, messages.Ask, "5", "107")
	// A trade at 105 triggers it: it takes 0.4 at 105.5 and 0.3 at 106, and
	// its remaining 0.3 rests at 106.
	_, events, e = o.limit(4, messages.Bid, "0.1", "105", nil)
	if e != nil || summary(events) != "P T F F S T F T F R " {
		t.Fatalf("trigger: %s %v", summary(events), e)
	}
	got := o.open(ord.ID)
	if got == nil || got.Held() || !got.Triggered || got.Left != o.amount("0.3") || got.DealStock != o.amount("0.7") || o.e.Books[0].LastPrice() != o.price("106") {
		t.Fatalf("after the trigger: %+v, last price %d", got, o.e.Books[0].LastPrice())
	}
	if n, _ := o.e.Books[0].Orders(messages.Bid, 0, 10); n != 1 {
		t.Fatalf("the triggered remainder rests: order.book lists %d bids", n)
	}
}

func TestStopMarket(t *testing.T) {
	t.Run("sell stop triggers at or below and sells into the bids", func(t *testing.T) {
		o := newOptEnv(t, "")
		o.trade("1", "100")
		ord, events, e := o.stopMarket(1, messages.Ask, o.amount("1"), "95")
		if e != nil || summary(events) != "P R " {
			t.Fatalf("sell stop: %s %v", summary(events), e)
		}
		o.rest(2, messages.Bid, "0.6", "94")
		o.rest(2, messages.Bid, "2", "90")
		o.rest(4, messages.Bid, "0.1", "95")
		_, events, e = o.limit(3, messages.Ask, "0.1", "95", nil)
		if e != nil || summary(events) != "P T F F S T F T F " {
			t.Fatalf("trigger: %s %v", summary(events), e)
		}
		if o.open(ord.ID) != nil || o.pending(2) != 1 {
			t.Fatalf("the stop sold 0.6 at 94 and 0.4 at 90: pending %d", o.pending(2))
		}
	})
	t.Run("a stop-market that triggers into an empty book is cancelled", func(t *testing.T) {
		o := newOptEnv(t, "")
		o.trade("1", "100")
		ord, _, e := o.stopMarket(1, messages.Bid, o.price("50"), "101") // buy 50 USDT worth
		if e != nil {
			t.Fatal(e)
		}
		events := o.trade("1", "101")
		if summary(events) != "P T F F S Fc " || o.open(ord.ID) != nil {
			t.Fatalf("trigger into no asks: %s", summary(events))
		}
		if b := o.e.Balance(1, o.cfg.Markets[0].MoneyAsset.ID); !b.Frozen.IsZero() {
			t.Fatalf("frozen %s after the cancel", b.Frozen.Dec())
		}
	})
	t.Run("a stop-market sell below min_amount is refused at placement", func(t *testing.T) {
		o := newOptEnv(t, "")
		if _, _, e := o.stopMarket(1, messages.Ask, 1, "95"); e != messages.ErrAmountTooSmall {
			t.Fatalf("%v; want code 11", e)
		}
	})
	t.Run("with no trade yet any stop may be placed", func(t *testing.T) {
		o := newOptEnv(t, "")
		if _, _, e := o.stopMarket(1, messages.Ask, o.amount("1"), "95"); e != nil {
			t.Fatal(e)
		}
		if _, _, e := o.limit(1, messages.Bid, "1", "101", stopAt("100", o)); e != nil {
			t.Fatal(e)
		}
	})
}

func TestStopCascade(t *testing.T) {
	// Three sell stops: A (oldest) at 95, B at 97, C at 93. A trade at 96
	// reaches B only; B sells into the bid at 95, reaching A; A sells into
	// the bid at 93, reaching C; C finds the book empty and is cancelled.
	o := newOptEnv(t, "")
	o.trade("1", "100")
	a, _, _ := o.stopMarket(1, messages.Ask, o.amount("1"), "95")
	b, _, _ := o.stopMarket(2, messages.Ask, o.amount("1"), "97")
	c, _, _ := o.stopMarket(1, messages.Ask, o.amount("1"), "93")
	o.rest(4, messages.Bid, "1", "95")
	o.rest(4, messages.Bid, "1", "93")
	o.rest(4, messages.Bid, "0.1", "96")
	_, events, e := o.limit(3, messages.Ask, "0.1", "96", nil)
	var order []uint64
	for _, ev := range events {
		if s, ok := ev.(*messages.StopTriggered); ok {
			order = append(order, s.OrderID)
		}
	}
	if e != nil || len(order) != 3 || order[0] != b.ID || order[1] != a.ID || order[2] != c.ID {
		t.Fatalf("cascade: %s %v; triggered %v, want B %d, A %d, C %d", summary(events), e, order, b.ID, a.ID, c.ID)
	}
	if summary(events) != "P T F F S T F F S T F F S Fc " {
		t.Fatalf("cascade events: %s", summary(events))
	}
	t.Run("stops reached by one trade trigger oldest first", func(t *testing.T) {
		o := newOptEnv(t, "")
		o.trade("1", "100")
		x, _, _ := o.limit(1, messages.Bid, "0.1", "200", stopAt("102", o))
		y, _, _ := o.limit(2, messages.Bid, "0.1", "200", stopAt("101", o))
		o.rest(3, messages.Ask, "10", "103")
		events := o.trade("0.1", "102")
		var order []uint64
		for _, ev := range events {
			if s, ok := ev.(*messages.StopTriggered); ok {
				order = append(order, s.OrderID)
			}
		}
		if len(order) != 2 || order[0] != x.ID || order[1] != y.ID {
			t.Fatalf("triggered %v; want %d then %d (placement order)", order, x.ID, y.ID)
		}
	})
}

func TestStopInteractions(t *testing.T) {
	t.Run("a stop triggering into its own user's order obeys its STP mode", func(t *testing.T) {
		for _, tc := range []struct {
			mode messages.STP
			want string // events after the trigger
		}{
			{messages.STPNone, "S T F F "},           // trades with itself
			{messages.STPCancelTaker, "S Fc "},       // the stop is cancelled, its own ask stays
			{messages.STPCancelMaker, "S Fc T F R "}, // its own ask cancelled, 0.5 from user 2, 0.5 rests
		} {
			o := newOptEnv(t, "")
			o.trade("1", "100")
			o.rest(1, messages.Ask, "1", "105")
			_, _, e := o.limit(1, messages.Bid, "1", "105", func(c *messages.PutLimit) { c.StopPrice, c.STP = o.price("101"), tc.mode })
			if e != nil {
				t.Fatal(e)
			}
			if tc.mode == messages.STPCancelMaker {
				o.rest(2, messages.Ask, "0.5", "105")
			}
			events := o.trade("0.1", "101")
			got := summary(events[4:]) // after the trade's own P T F F
			if got != tc.want {
				t.Errorf("STP %v: %s; want %s", tc.mode, got, tc.want)
			}
		}
	})
	t.Run("a post-only stop that would take when triggered is cancelled", func(t *testing.T) {
		o := newOptEnv(t, "")
		o.trade("1", "100")
		o.rest(2, messages.Ask, "1", "103")
		o.limit(1, messages.Bid, "1", "103", func(c *messages.PutLimit) { c.StopPrice, c.PostOnly = o.price("101"), true })
		events := o.trade("0.1", "101")
		if summary(events[4:]) != "S Fc " || o.pending(2) != 1 {
			t.Fatalf("%s", summary(events))
		}
	})
	t.Run("a fill-or-kill stop short of liquidity is cancelled; with enough it fills", func(t *testing.T) {
		o := newOptEnv(t, "")
		o.trade("1", "100")
		o.rest(2, messages.Ask, "0.5", "103")
		fok := func(c *messages.PutLimit) { c.StopPrice, c.TIF = o.price("101"), messages.FOK }
		o.limit(1, messages.Bid, "1", "103", fok)
		events := o.trade("0.1", "101")
		if summary(events[4:]) != "S Fc " {
			t.Fatalf("short: %s", summary(events))
		}
		o.rest(2, messages.Ask, "0.5", "103")
		o.limit(1, messages.Bid, "1", "103", func(c *messages.PutLimit) { c.StopPrice, c.TIF = o.price("102"), messages.FOK })
		events = o.trade("0.1", "102")
		if summary(events[4:]) != "S T F T F F " {
			t.Fatalf("exact: %s", summary(events))
		}
	})
	t.Run("held stops are cancelled by cancel, cancel_all and count as open orders", func(t *testing.T) {
		doc := replaceOnce(t, coretestDefault(), `min_amount: "0.0001" }`, `min_amount: "0.0001", max_open_orders: 2 }`)
		o := newOptEnv(t, doc)
		o.trade("1", "100")
		s1, _, e1 := o.limit(1, messages.Bid, "1", "110", stopAt("105", o))
		_, _, e2 := o.stopMarket(1, messages.Ask, o.amount("1"), "90")
		if e1 != nil || e2 != nil {
			t.Fatal(e1, e2)
		}
		if _, _, e := o.limit(1, messages.Bid, "1", "50", nil); e != messages.ErrLimitExceeded {
			t.Fatalf("third open order: %v; want code 8", e)
		}
		o.now++
		if _, _, e := o.e.Cancel(&messages.Cancel{User: 1, Market: 0, OrderID: s1.ID, Time: o.now}); e != nil {
			t.Fatal(e)
		}
		o.check("cancel")
		o.now++
		if events, e := o.e.CancelAll(&messages.CancelAll{User: 1, Market: 0, Time: o.now}); e != nil || summary(events) != "Fc " {
			t.Fatalf("cancel_all: %s %v", summary(events), e)
		}
		o.check("cancel_all")
		for _, a := range o.cfg.Assets {
			if b := o.e.Balance(1, a.ID); !b.Frozen.IsZero() {
				t.Errorf("%s frozen %s", a.Name, b.Frozen.Dec())
			}
		}
	})
}

func TestClientOrderID(t *testing.T) {
	o := newOptEnv(t, "")
	cid := func(id string) func(*messages.PutLimit) { return func(c *messages.PutLimit) { c.ClientID = id } }
	a, _, e := o.limit(1, messages.Bid, "1", "90", cid("my-order.1"))
	if e != nil || a.ClientID != "my-order.1" {
		t.Fatalf("%v %+v", e, a)
	}
	if _, _, e := o.limit(1, messages.Bid, "1", "91", cid("my-order.1")); e != messages.ErrClientIDInUse {
		t.Fatalf("the same id while open: %v; want code 14", e)
	}
	if _, _, e := o.limit(2, messages.Bid, "1", "91", cid("my-order.1")); e != nil {
		t.Fatalf("another user's id space: %v", e)
	}
	for _, bad := range []string{"has space", "é", "x\x00", "0123456789012345678901234567890123"} {
		if _, _, e := o.limit(1, messages.Bid, "1", "91", cid(bad)); e != messages.ErrInvalidArgument {
			t.Errorf("client id %q: %v; want code 1", bad, e)
		}
	}
	if got := o.e.Books[0].OrderByClientID(1, "my-order.1"); got == nil || got.ID != a.ID {
		t.Fatalf("by client id: %v", got)
	}
	o.now++
	if _, _, e := o.e.Cancel(&messages.Cancel{User: 3, Market: 0, ClientID: "my-order.1", Time: o.now}); e != messages.ErrOrderNotFound {
		t.Fatalf("another user cancelling by client id: %v; want code 10 (ids are per user)", e)
	}
	o.now++
	_, c, e := o.e.Cancel(&messages.Cancel{User: 1, Market: 0, ClientID: "my-order.1", Time: o.now})
	o.check("cancel by client id")
	if e != nil || c.ID != a.ID || o.e.Books[0].OrderByClientID(1, "my-order.1") != nil {
		t.Fatalf("cancel by client id: %v %+v", e, c)
	}
	if _, _, e := o.limit(1, messages.Bid, "1", "91", cid("my-order.1")); e != nil {
		t.Fatalf("reusing a finished order's id: %v", e)
	}
	// An order that never rests keeps its id in its record but does not
	// hold it.
	o.rest(2, messages.Ask, "1", "100")
	if ord, _, e := o.limit(1, messages.Bid, "1", "100", cid("ioc")); e != nil || ord.ClientID != "ioc" || ord.Left != 0 {
		t.Fatalf("%v %+v", e, ord)
	}
	if _, _, e := o.limit(1, messages.Bid, "1", "80", cid("ioc")); e != nil {
		t.Fatal(e)
	}
}

func TestAmend(t *testing.T) {
	o := newOptEnv(t, "")
	m := o.cfg.Markets[0]
	first := o.rest(1, messages.Ask, "2", "100")
	second := o.rest(2, messages.Ask, "1", "100")
	o.limit(4, messages.Bid, "0.5", "100", nil) // first: dealt 0.5, left 1.5
	amend := func(user uint32, id uint64, amount string) (messages.Order, []messages.Event, *messages.Error) {
		o.now++
		events, ord, e := o.e.Amend(&messages.Amend{User: user, Market: 0, OrderID: id, Amount: o.amount(amount), Time: o.now})
		o.check("amend")
		return ord, events, e
	}
	for _, tc := range []struct {
		user   uint32
		amount string
		err    *messages.Error
	}{
		{1, "2", messages.ErrInvalidArgument},   // not a reduction
		{1, "3", messages.ErrInvalidArgument},   // an increase
		{1, "0.5", messages.ErrInvalidArgument}, // not above what was dealt
		{1, "0.4", messages.ErrInvalidArgument},
		{2, "1", messages.ErrUserNotMatch},
	} {
		if _, _, e := amend(tc.user, first, tc.amount); e != tc.err {
			t.Errorf("amend user %d to %s: %v; want %v", tc.user, tc.amount, e, tc.err)
		}
	}
	before := o.e.Balance(1, m.StockAsset.ID)
	ord, events, e := amend(1, first, "1")
	if e != nil || summary(events) != "A " || ord.Amount != o.amount("1") || ord.Left != o.amount("0.5") || ord.DealStock != o.amount("0.5") {
		t.Fatalf("amend: %s %v %+v", summary(events), e, ord)
	}
	after := o.e.Balance(1, m.StockAsset.ID)
	var freed = after.Available
	freed.Sub(&freed, &before.Available)
	if want := fixedU(t, "1", m.StockAsset.PrecSave); freed != *want {
		t.Fatalf("amend from left 1.5 to 0.5 frees 1 BTC: freed %s", freed.Dec())
	}
	// Priority kept: the next bid fills the amended order first.
	_, events, _ = o.limit(4, messages.Bid, "0.6", "100", nil)
	tr := events[1].(*messages.Trade)
	if tr.AskOrder != first || tr.Amount != o.amount("0.5") || events[3].(*messages.Trade).AskOrder != second {
		t.Fatalf("after amend: %s; the amended order should fill first", summary(events))
	}
	if _, _, e := amend(1, first, "0.9"); e != messages.ErrOrderNotFound {
		t.Fatalf("amend of a filled order: %v", e)
	}
	t.Run("by client id, and a held stop-limit", func(t *testing.T) {
		o := newOptEnv(t, "")
		o.trade("1", "100")
		s, _, e := o.limit(1, messages.Bid, "2", "110", func(c *messages.PutLimit) { c.StopPrice, c.ClientID = o.price("105"), "stop-1" })
		if e != nil {
			t.Fatal(e)
		}
		o.now++
		events, ord, e := o.e.Amend(&messages.Amend{User: 1, Market: 0, ClientID: "stop-1", Amount: o.amount("1.5"), Time: o.now})
		o.check("amend held stop")
		if e != nil || summary(events) != "A " || ord.ID != s.ID || ord.Left != o.amount("1.5") || !ord.Held() {
			t.Fatalf("%s %v %+v", summary(events), e, ord)
		}
		sm, _, _ := o.stopMarket(1, messages.Ask, o.amount("1"), "90")
		o.now++
		if _, _, e := o.e.Amend(&messages.Amend{User: 1, Market: 0, OrderID: sm.ID, Amount: o.amount("0.5"), Time: o.now}); e != messages.ErrInvalidArgument {
			t.Fatalf("amend of a stop-market: %v; want code 1", e)
		}
	})
}

func TestDeadMansSwitch(t *testing.T) {
	o := newOptEnv(t, "")
	o.trade("1", "100")
	o.rest(1, messages.Bid, "1", "90")
	o.rest(1, messages.Ask, "1", "110")
	o.stopMarket(1, messages.Ask, o.amount("1"), "95")
	o.rest(2, messages.Bid, "1", "91")
	arm := func(user uint32, timeout int64) ([]messages.Event, *messages.Error) {
		o.now++
		events, e := o.e.CancelAfter(&messages.CancelAfter{User: user, Market: 0, Timeout: timeout, Time: o.now})
		o.check("cancel_all_after")
		return events, e
	}
	tick := func(now int64) []messages.Event {
		events := o.e.Tick(now)
		o.check("tick")
		return events
	}
	if events, e := arm(1, 0); e != nil || len(events) != 0 {
		t.Fatalf("disarming a switch that is off: %s %v", summary(events), e)
	}
	if _, e := arm(1, book.MaxCancelAfter+1); e != messages.ErrInvalidArgument {
		t.Fatalf("a timeout over a day: %v", e)
	}
	if _, e := arm(1, -1); e != messages.ErrInvalidArgument {
		t.Fatalf("a negative timeout: %v", e)
	}
	events, e := arm(1, 1000)
	deadline := o.now + 1000
	if e != nil || summary(events) != "D " || o.e.Books[0].Deadline(1) != deadline {
		t.Fatalf("arm: %s %v deadline %d", summary(events), e, o.e.Books[0].Deadline(1))
	}
	if events := tick(deadline - 1); len(events) != 0 {
		t.Fatalf("before the deadline: %s", summary(events))
	}
	events, _ = arm(1, 1000) // refreshed
	deadline = o.now + 1000
	if events := tick(deadline - 1); len(events) != 0 {
		t.Fatalf("a refreshed switch fired early: %s", summary(events))
	}
	events = tick(deadline)
	if summary(events) != "D Fc Fc Fc " || o.pending(1) != 0 || o.pending(2) != 1 || o.e.Books[0].Deadline(1) != 0 {
		t.Fatalf("fire: %s; pending %d/%d", summary(events), o.pending(1), o.pending(2))
	}
	if events := tick(deadline + 5000); len(events) != 0 {
		t.Fatalf("a fired switch fires once: %s", summary(events))
	}
	arm(2, 10)
	if events, _ := arm(2, 0); summary(events) != "D " {
		t.Fatalf("disarm: %s", summary(events))
	}
	if events := tick(o.now + 100); len(events) != 0 {
		t.Fatalf("a disarmed switch fired: %s", summary(events))
	}
}

// TestSnapshotOfOptions: a book with held stops, client ids, a last price
// and armed switches encodes, restores and re-encodes to the same bytes,
// and the restored book decides the same.
func TestSnapshotOfOptions(t *testing.T) {
	o := newOptEnv(t, "")
	o.trade("1", "100")
	o.limit(1, messages.Bid, "1", "110", func(c *messages.PutLimit) { c.StopPrice, c.ClientID = o.price("105"), "a" })
	o.stopMarket(2, messages.Ask, o.amount("1"), "95")
	o.limit(2, messages.Bid, "1", "90", func(c *messages.PutLimit) { c.ClientID, c.STP = "b", messages.STPCancelBoth })
	o.now++
	o.e.CancelAfter(&messages.CancelAfter{User: 2, Market: 0, Timeout: 5e6, Time: o.now})
	live := o.e.Books[0]
	data := corestate.AppendBook(nil, live)
	back := book.New(*live.Config())
	if len(data) == 0 {
		t.Fatal("empty state")
	}
	if err := snapshot.LoadBook(data, back); err != nil {
		t.Fatal(err)
	}
	if again := corestate.AppendBook(nil, back); string(again) != string(data) {
		t.Fatal("restored book encodes differently")
	}
	if back.LastPrice() != live.LastPrice() || back.Deadline(2) != live.Deadline(2) || back.OrderByClientID(1, "a") == nil || back.OrderByClientID(2, "b") == nil {
		t.Fatal("restored book lost options state")
	}
	cmd := &messages.PutLimit{User: 3, Market: 0, Side: messages.Bid, Amount: o.amount("0.1"), Price: o.price("120"), Source: "t", Time: o.now + 1}
	o.rest(4, messages.Ask, "0.1", "106")
	cp := *cmd
	// A copy of the book as it now stands (with user 4's ask) decides a bid
	// that triggers the buy stop exactly as the live book does.
	back2 := book.New(*live.Config())
	if err := snapshot.LoadBook(corestate.AppendBook(nil, live), back2); err != nil {
		t.Fatal(err)
	}
	e1, _, err1 := live.Execute(cmd)
	e2, _, err2 := back2.Execute(&cp)
	if err1 != nil || err2 != nil || summary(e1) != summary(e2) || summary(e1) != "P T F F S R " {
		t.Fatalf("live %s %v; restored %s %v", summary(e1), err1, summary(e2), err2)
	}
}

func fixedU(t *testing.T, s string, prec int) *uint256.Int {
	t.Helper()
	u, _, err := fixed.Parse(s, prec)
	if err != nil {
		t.Fatal(err)
	}
	return &u
}

func coretestDefault() string { return string(config.Default) }

// TestMarketBuySpentNoSelfTrade: a market buy whose money is spent does not
// meet the next maker, so self-trade prevention does not touch its user's
// resting order there (found by the differential reference).
func TestMarketBuySpentNoSelfTrade(t *testing.T) {
	for _, mode := range []messages.STP{messages.STPCancelMaker, messages.STPCancelBoth, messages.STPCancelTaker} {
		o := newOptEnv(t, "")
		o.rest(2, messages.Ask, "1", "100")
		own := o.rest(1, messages.Ask, "1", "101")
		o.now++
		events, ord, e := o.e.PutMarket(&messages.PutMarket{User: 1, Market: 0, Side: messages.Bid, Amount: o.price("100"), Source: "t", Time: o.now, STP: mode})
		o.check("put_market")
		if e != nil || summary(events) != "P T F F " || o.open(own) == nil {
			t.Errorf("STP %v: %s %v; own ask open: %v", mode, summary(events), e, o.open(own) != nil)
		}
		if fin := events[len(events)-1].(*messages.OrderFinished); fin.Cancelled || ord.DealStock != o.amount("1") {
			t.Errorf("STP %v: the market buy is done, not cancelled: %+v", mode, fin)
		}
	}
}
