// Package derive turns durable journal records into what the followers
// store and publish (history rows, market data, events): every change of a
// balance with the balance it left, every order change with the order as it
// then stood, every deal. The journal holds outcomes only; the order states
// and balance totals those outcomes imply are tracked here.
//
// A Deriver is a pure state machine like the cores it follows: no I/O, no
// clock, no goroutines. The runtime's derive stage runs one for every
// follower (runtime/stage.go); a follower far behind it runs its own.
package derive

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
	"github.com/holiman/uint256"
)

// Record is one durable journal record as followers see it.
type Record struct {
	LSN uint64
	// Balances lists every change of a balance's total (available +
	// frozen), in order: a balance.update, or per deal the taker's then
	// the maker's legs (paid, received, fee) and then the fee account's.
	// Freezing and releasing funds leave the total alone and are not
	// listed.
	Balances []BalanceChange
	// Orders lists order changes in viabtc's emission order (docs/protocol.md
	// "Kafka events"): per fill the maker's UPDATE or FINISH, then the taker's PUT
	// or FINISH.
	Orders []OrderChange
	// Deals lists the record's trades, in order.
	Deals []*messages.Trade
	// Config, when the record holds a ConfigSet (the operator listed an
	// asset or a market, or changed a market's rules), is the
	// configuration in force from this record on: a follower takes it
	// before the record's other effects (none, so far: a ConfigSet is a
	// record of its own) and sizes what it keeps per asset or market by
	// it. Nil otherwise.
	Config *config.Config
}

// BalanceChange is one row of balance history.
type BalanceChange struct {
	Time     int64 // Unix µs
	User     uint32
	Asset    messages.AssetID
	Business string // "trade" for deal legs and fees
	// Change is signed by Negative, Balance is the total after it; both at
	// the asset's prec_save.
	Change   uint256.Int
	Negative bool
	Balance  uint256.Int
	// Detail is a JSON object: balance.update's detail with "id" (the
	// business id) set; for deal legs {"a","i","m","p"} (amount, order
	// id, market, price) and "f" (fee rate) on fee rows.
	Detail []byte
	// Update is true for a balance.update (the Kafka balances topic).
	Update bool
}

// OrderEvent is viabtc's order event code (docs/protocol.md "Kafka events").
type OrderEvent uint8

// Order events.
const (
	OrderPut    OrderEvent = 1 // the taker rests after its taker pass, or a stop order is held
	OrderUpdate OrderEvent = 2 // a maker was partly filled; a stop triggered (and rests after trading); an order was amended
	OrderFinish OrderEvent = 3 // filled, cancelled, or a market order done
)

// OrderChange is an order event with the order as it stood after it. A
// FINISH's Order is the finished order (MTime is the finish time).
type OrderChange struct {
	Event OrderEvent
	Order messages.Order
}

// Deriver tracks open orders and balance totals from a position in the
// journal.
type Deriver struct {
	cfg    *config.Config
	lsn    uint64
	orders map[uint64]*messages.Order
	totals map[uint32][]uint256.Int
	// triggered holds, from a stop's trigger to its rest or finish (one
	// record), what it had dealt when its UPDATE was emitted: a stop that
	// rests without trading gets no second, identical UPDATE.
	triggered map[uint64]int64
}

// New returns a Deriver positioned after record lsn, with no open orders and
// no balances: fill them in with AddOrder and SetTotal.
func New(cfg *config.Config, lsn uint64) *Deriver {
	return &Deriver{cfg: cfg, lsn: lsn, orders: make(map[uint64]*messages.Order), totals: make(map[uint32][]uint256.Int),
		triggered: make(map[uint64]int64)}
}

// configure takes the configuration a ConfigSet puts in force (the file's,
// adopted to it) and hands it on with the record.
func (d *Deriver) configure(out *Record, e *messages.ConfigSet) error {
	next, _, err := d.cfg.Adopt(e, false)
	if err != nil {
		return err
	}
	d.cfg, out.Config = next, next
	return nil
}

// Config is the configuration in force after the last record derived.
func (d *Deriver) Config() *config.Config { return d.cfg }

// LSN is the last record derived.
func (d *Deriver) LSN() uint64 { return d.lsn }

// AddOrder restores an open order.
func (d *Deriver) AddOrder(o messages.Order) { d.orders[o.ID] = &o }

// SetTotal restores a balance total (available + frozen).
func (d *Deriver) SetTotal(user uint32, asset messages.AssetID, total uint256.Int) {
	d.account(user)[asset] = total
}

// Open is the number of open orders tracked.
func (d *Deriver) Open() int { return len(d.orders) }

func (d *Deriver) account(user uint32) []uint256.Int {
	a := d.totals[user]
	if len(a) < len(d.cfg.Assets) { // a new account, or assets listed since
		a = append(a, make([]uint256.Int, len(d.cfg.Assets)-len(a))...)
		d.totals[user] = a
	}
	return a
}

// Derive derives record r, which must follow the last one derived. An error
// means the journal does not match the state the Deriver was built from;
// the Deriver is then unusable.
func (d *Deriver) Derive(r pj.Record) (Record, error) {
	if r.LSN != d.lsn+1 {
		return Record{}, fmt.Errorf("derive: record %d follows %d", r.LSN, d.lsn)
	}
	out := Record{LSN: r.LSN}
	for _, ev := range r.Events {
		if err := d.event(&out, ev); err != nil {
			return Record{}, fmt.Errorf("derive: LSN %d: %w", r.LSN, err)
		}
	}
	d.lsn = r.LSN
	return out, nil
}

func (d *Deriver) event(out *Record, ev messages.Event) error {
	switch e := ev.(type) {
	case *messages.BalanceUpdated:
		if int(e.Asset) >= len(d.cfg.Assets) {
			return fmt.Errorf("asset %d is not configured", e.Asset)
		}
		ch := BalanceChange{
			Time: e.Time, User: e.User, Asset: e.Asset, Business: e.Business,
			Change: e.Change, Negative: e.Negative, Detail: updateDetail(e.Detail, e.BusinessID), Update: true,
		}
		if err := d.move(&ch); err != nil {
			return err
		}
		out.Balances = append(out.Balances, ch)
	case *messages.OrderPlaced:
		o := e.Order
		d.orders[o.ID] = &o
	case *messages.Trade:
		return d.trade(out, e)
	case *messages.OrderRested:
		o := d.orders[e.OrderID]
		if o == nil {
			return fmt.Errorf("order %d rests but was never placed", e.OrderID)
		}
		ev := OrderPut
		if o.Triggered {
			ev = OrderUpdate // a triggered stop was PUT when it was held
			dealt, ok := d.triggered[e.OrderID]
			delete(d.triggered, e.OrderID)
			if ok && dealt == o.DealStock {
				break // it rests as its trigger's UPDATE showed it
			}
		}
		out.Orders = append(out.Orders, OrderChange{Event: ev, Order: *o})
	case *messages.StopTriggered:
		o := d.orders[e.OrderID]
		if o == nil || !o.Held() {
			return fmt.Errorf("order %d triggers but is not a held stop", e.OrderID)
		}
		o.Triggered, o.MTime = true, e.Time
		d.triggered[e.OrderID] = o.DealStock
		out.Orders = append(out.Orders, OrderChange{Event: OrderUpdate, Order: *o})
	case *messages.OrderAmended:
		o := d.orders[e.OrderID]
		if o == nil || o.Frozen.Lt(&e.Release) {
			return fmt.Errorf("order %d amended but is not open", e.OrderID)
		}
		o.Amount, o.Left, o.MTime = e.Amount, e.Left, e.Time
		o.Frozen.Sub(&o.Frozen, &e.Release)
		out.Orders = append(out.Orders, OrderChange{Event: OrderUpdate, Order: *o})
	case *messages.ConfigSet:
		return d.configure(out, e)
	case *messages.CancelAfterSet, *messages.MarketHalted:
	case *messages.OrderFinished:
		o := d.orders[e.OrderID]
		if o == nil {
			return fmt.Errorf("order %d finishes but is not open", e.OrderID)
		}
		if e.Cancelled {
			o.MTime = e.Time
		}
		out.Orders = append(out.Orders, OrderChange{Event: OrderFinish, Order: *o})
		delete(d.orders, e.OrderID)
		delete(d.triggered, e.OrderID)
	default:
		return fmt.Errorf("unknown event %T", ev)
	}
	return nil
}

// move applies ch.Change to the total of (ch.User, ch.Asset) and records the
// total after it in ch.Balance. A total that would go below zero or wrap
// means the journal does not match the state the Deriver was built from.
func (d *Deriver) move(ch *BalanceChange) error {
	t := &d.account(ch.User)[ch.Asset]
	var overflow bool
	if ch.Negative {
		if t.Lt(&ch.Change) {
			return fmt.Errorf("user %d asset %d: total %s less than the change -%s", ch.User, ch.Asset, t.Dec(), ch.Change.Dec())
		}
		t.Sub(t, &ch.Change)
	} else if _, overflow = t.AddOverflow(t, &ch.Change); overflow {
		return fmt.Errorf("user %d asset %d: total overflows", ch.User, ch.Asset)
	}
	ch.Balance = *t
	return nil
}

func (d *Deriver) trade(out *Record, e *messages.Trade) error {
	if int(e.Market) >= len(d.cfg.Markets) {
		return fmt.Errorf("market %d is not configured", e.Market)
	}
	ask, bid := d.orders[e.AskOrder], d.orders[e.BidOrder]
	if ask == nil || bid == nil {
		return fmt.Errorf("deal %d between orders %d and %d that are not open", e.DealID, e.AskOrder, e.BidOrder)
	}
	m := d.cfg.Markets[e.Market]
	askRate, bidRate := ask.MakerFee, bid.TakerFee
	if e.TakerSide == messages.Ask {
		askRate, bidRate = ask.TakerFee, bid.MakerFee
	}
	var err error
	leg := func(user uint32, asset messages.AssetID, change *uint256.Int, negative bool, order uint64, rate int64, fee bool) {
		if err != nil {
			return
		}
		ch := BalanceChange{
			Time: e.Time, User: user, Asset: asset, Business: "trade", Change: *change, Negative: negative,
			Detail: tradeDetail(m, e, order, rate, fee),
		}
		if err = d.move(&ch); err == nil {
			out.Balances = append(out.Balances, ch)
		}
	}
	askLegs := func() {
		leg(e.AskUser, e.Stock, &e.StockQty, true, e.AskOrder, 0, false)
		leg(e.AskUser, e.Money, &e.Deal, false, e.AskOrder, 0, false)
		if !e.AskFee.IsZero() {
			leg(e.AskUser, e.Money, &e.AskFee, true, e.AskOrder, askRate, true)
		}
	}
	bidLegs := func() {
		leg(e.BidUser, e.Money, &e.Deal, true, e.BidOrder, 0, false)
		leg(e.BidUser, e.Stock, &e.StockQty, false, e.BidOrder, 0, false)
		if !e.BidFee.IsZero() {
			leg(e.BidUser, e.Stock, &e.BidFee, true, e.BidOrder, bidRate, true)
		}
	}
	if e.TakerSide == messages.Ask {
		askLegs()
		bidLegs()
	} else {
		bidLegs()
		askLegs()
	}
	if !e.AskFee.IsZero() {
		leg(d.cfg.FeeUserID, e.Money, &e.AskFee, false, e.AskOrder, askRate, true)
	}
	if !e.BidFee.IsZero() {
		leg(d.cfg.FeeUserID, e.Stock, &e.BidFee, false, e.BidOrder, bidRate, true)
	}
	if err != nil {
		return fmt.Errorf("deal %d: %w", e.DealID, err)
	}

	book.Fill(ask, e)
	book.Fill(bid, e)
	out.Deals = append(out.Deals, e)
	maker := ask
	if e.TakerSide == messages.Ask {
		maker = bid
	}
	if maker.Left > 0 {
		out.Orders = append(out.Orders, OrderChange{Event: OrderUpdate, Order: *maker})
	}
	return nil
}

// tradeDetail is the detail object of a deal leg: keys sorted, "f" (the fee
// rate the order paid) only on fee rows.
func tradeDetail(m *config.Market, e *messages.Trade, order uint64, rate int64, fee bool) []byte {
	b := make([]byte, 0, 96)
	b = append(b, `{"a":"`...)
	b = fixed.AppendInt(b, e.Amount, m.StockPrec)
	if fee {
		b = append(b, `","f":"`...)
		b = fixed.AppendInt(b, rate, m.Fee)
	}
	b = append(b, `","i":`...)
	b = strconv.AppendUint(b, order, 10)
	b = append(b, `,"m":`...)
	b = strconv.AppendQuote(b, m.Name)
	b = append(b, `,"p":"`...)
	b = fixed.AppendInt(b, e.Price, m.MoneyPrec)
	return append(b, `"}`...)
}

// updateDetail is balance.update's detail object with "id" set to the
// business id (keys sorted). A detail that is not a JSON object counts as {}.
func updateDetail(detail []byte, id uint64) []byte {
	var obj map[string]json.RawMessage
	if json.Unmarshal(detail, &obj) != nil || obj == nil {
		obj = make(map[string]json.RawMessage, 1)
	}
	obj["id"] = strconv.AppendUint(nil, id, 10)
	b, err := json.Marshal(obj)
	if err != nil {
		return strconv.AppendUint([]byte(`{"id":`), id, 10)
	}
	return append(b[:0:0], b...)
}
