package book

import (
	"fmt"
	"math"
	"sort"

	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/holiman/uint256"
)

// order is a book entry: the public record plus its place in a level's FIFO.
type order struct {
	messages.Order
	prev, next *order
	lvl        *level
}

// level is one price on one side: a FIFO of orders (oldest first).
type level struct {
	price      int64
	head, tail *order
	count      int
	total      int64 // Σ left
}

// side holds levels sorted so that the best price is last: asks by price
// descending, bids by price ascending. Matching pops from the end.
type side struct {
	bid    bool
	levels []*level
	count  int
	total  int64
}

// better reports whether price a has priority over price b on this side.
func (s *side) better(a, b int64) bool {
	if s.bid {
		return a > b
	}
	return a < b
}

// find returns the index where a level at price is or would be inserted.
func (s *side) find(price int64) int {
	// levels are sorted worst..best; find first index whose price is not
	// worse than price.
	return sort.Search(len(s.levels), func(i int) bool {
		return !s.better(price, s.levels[i].price)
	})
}

func (s *side) best() *level {
	if len(s.levels) == 0 {
		return nil
	}
	return s.levels[len(s.levels)-1]
}

func (s *side) insert(o *order) {
	i := s.find(o.Price)
	var l *level
	if i < len(s.levels) && s.levels[i].price == o.Price {
		l = s.levels[i]
	} else {
		l = &level{price: o.Price}
		s.levels = append(s.levels, nil)
		copy(s.levels[i+1:], s.levels[i:])
		s.levels[i] = l
	}
	o.lvl = l
	o.prev = l.tail
	if l.tail != nil {
		l.tail.next = o
	} else {
		l.head = o
	}
	l.tail = o
	l.count++
	l.total += o.Left
	s.count++
	s.total += o.Left
}

func (s *side) remove(o *order) {
	l := o.lvl
	if o.prev != nil {
		o.prev.next = o.next
	} else {
		l.head = o.next
	}
	if o.next != nil {
		o.next.prev = o.prev
	} else {
		l.tail = o.prev
	}
	l.count--
	l.total -= o.Left
	s.count--
	s.total -= o.Left
	o.prev, o.next, o.lvl = nil, nil, nil
	if l.count == 0 {
		i := s.find(l.price)
		copy(s.levels[i:], s.levels[i+1:])
		s.levels[len(s.levels)-1] = nil
		s.levels = s.levels[:len(s.levels)-1]
	}
}

// filled keeps level and side totals when a resting order fills qty (the
// order's own Left is reduced by applyFill).
func (s *side) filled(o *order, qty int64) {
	o.lvl.total -= qty
	s.total -= qty
}

// Book is one market's order book. It is not safe for concurrent use: one
// market actor owns it.
type Book struct {
	cfg     Config
	asks    side
	bids    side
	orders  map[uint64]*order   // resting orders by id
	byUser  map[uint32][]*order // resting orders per user, id ascending
	taker   *order              // the order of the command being applied
	last    messages.Order      // the order most recently finished
	lastID  uint64              // order seq
	lastDID uint64              // deal seq
}

// New returns an empty book.
func New(cfg Config) *Book {
	return &Book{
		cfg:    cfg,
		asks:   side{},
		bids:   side{bid: true},
		orders: make(map[uint64]*order),
		byUser: make(map[uint32][]*order),
	}
}

// Config returns the book's market configuration.
func (b *Book) Config() *Config { return &b.cfg }

func (b *Book) sideOf(s messages.Side) *side {
	if s == messages.Bid {
		return &b.bids
	}
	return &b.asks
}

// crosses reports whether a taker at price on side s trades with a maker at
// makerPrice.
func crosses(s messages.Side, price, makerPrice int64) bool {
	if s == messages.Bid {
		return price >= makerPrice
	}
	return price <= makerPrice
}

// PutLimit decides a limit order: the events it causes, or an error with the
// book unchanged. It does not mutate the book. Codes: 1 for bad arguments or
// a remainder that would push its side's total past int64; 11 below
// min_amount.
func (b *Book) PutLimit(cmd *messages.PutLimit) ([]messages.Event, *messages.Error) {
	c := &b.cfg
	if cmd.Market != c.Market {
		return nil, messages.ErrInvalidArgument
	}
	if err := c.CheckLimit(cmd); err != nil {
		return nil, err
	}
	if err := c.CheckMinAmount(cmd.Amount); err != nil {
		return nil, err
	}
	t := messages.Order{
		ID: c.id(b.lastID + 1), Market: c.Market, Type: messages.Limit, Side: cmd.Side,
		User: cmd.User, CTime: cmd.Time, MTime: cmd.Time, Price: cmd.Price,
		Amount: cmd.Amount, TakerFee: cmd.TakerFee, MakerFee: cmd.MakerFee,
		Left: cmd.Amount, Source: cmd.Source,
	}
	asset, frozen := c.Reservation(messages.Limit, cmd.Side, cmd.Amount, cmd.Price)
	t.Frozen = frozen
	events := []messages.Event{&messages.OrderPlaced{Order: t, FrozenAsset: asset}}
	events, left, _ := b.match(events, &t, cmd.Time)
	if left > 0 {
		// Level and side totals (depth, market.summary) are int64: a
		// remainder that would overflow them is refused (DESIGN §2).
		if left > math.MaxInt64-b.sideOf(cmd.Side).total {
			return nil, messages.ErrInvalidArgument
		}
		events = append(events, &messages.OrderRested{Market: c.Market, OrderID: t.ID, Time: cmd.Time})
	} else {
		events = append(events, b.finished(&t, cmd.Time, false, t.Frozen))
	}
	return events, nil
}

// PutMarket decides a market order. Checks after the arguments, in viabtc's
// order: an empty opposite book is code 12, then min_amount code 11 (for a
// buy: amount ≥ best ask × min_amount).
func (b *Book) PutMarket(cmd *messages.PutMarket) ([]messages.Event, *messages.Error) {
	c := &b.cfg
	if cmd.Market != c.Market {
		return nil, messages.ErrInvalidArgument
	}
	if err := c.CheckMarket(cmd); err != nil {
		return nil, err
	}
	best := b.sideOf(cmd.Side.Opposite()).best()
	if best == nil {
		return nil, messages.ErrNoEnoughTrader
	}
	if cmd.Side == messages.Ask {
		if cmd.Amount < c.MinAmount {
			return nil, messages.ErrAmountTooSmall
		}
	} else {
		// amount (money_prec) vs best ask × min_amount, both at
		// money_prec+stock_prec.
		have := fixed.FromInt64(cmd.Amount, c.MoneyPrec, c.MoneyPrec+c.StockPrec)
		need := fixed.Mul64(best.price, c.MinAmount)
		if have.Lt(&need) {
			return nil, messages.ErrAmountTooSmall
		}
	}
	t := messages.Order{
		ID: c.id(b.lastID + 1), Market: c.Market, Type: messages.Market, Side: cmd.Side,
		User: cmd.User, CTime: cmd.Time, MTime: cmd.Time, Amount: cmd.Amount,
		TakerFee: cmd.TakerFee, Left: cmd.Amount, Source: cmd.Source,
	}
	asset, frozen := c.Reservation(messages.Market, cmd.Side, cmd.Amount, 0)
	t.Frozen = frozen
	events := []messages.Event{&messages.OrderPlaced{Order: t, FrozenAsset: asset}}
	events, _, _ = b.match(events, &t, cmd.Time)
	events = append(events, b.finished(&t, cmd.Time, false, t.Frozen))
	return events, nil
}

// match walks the opposite side best-first and appends a Trade (and a maker
// OrderFinished where a maker is filled completely) per fill. It updates the
// local copy t of the taker so the caller knows what is left, but never
// touches the book.
func (b *Book) match(events []messages.Event, t *messages.Order, now int64) ([]messages.Event, int64, bool) {
	c := &b.cfg
	opp := b.sideOf(t.Side.Opposite())
	dealSeq := b.lastDID
	marketBuy := t.Type == messages.Market && t.Side == messages.Bid
	for li := len(opp.levels) - 1; li >= 0; li-- {
		l := opp.levels[li]
		if t.Type == messages.Limit && !crosses(t.Side, t.Price, l.price) {
			break
		}
		for m := l.head; m != nil; m = m.next {
			var qty int64
			if marketBuy {
				// stock the unspent money buys at this price, truncated.
				qty = maxQty(&t.Frozen, l.price, c)
				if qty == 0 {
					return events, 0, true
				}
				if qty > m.Left {
					qty = m.Left
				}
			} else {
				qty = min(t.Left, m.Left)
			}
			dealSeq++
			tr := b.trade(t, &m.Order, l.price, qty, dealSeq, now)
			events = append(events, tr)
			if m.Left == qty {
				mo := m.Order
				applyFill(&mo, tr, now)
				events = append(events, b.finished(&mo, now, false, mo.Frozen))
			}
			applyFill(t, tr, now)
			if !marketBuy && t.Left == 0 {
				return events, 0, true
			}
		}
	}
	return events, t.Left, false
}

// maxQty is how much stock (stock_prec units) money (money prec_save units)
// buys at price, truncated.
func maxQty(money *uint256.Int, price int64, c *Config) int64 {
	// money at MoneySave → at StockPrec+MoneyPrec (exact: every reservation
	// and deal is a multiple of 10^(MoneySave-StockPrec-MoneyPrec)).
	var m uint256.Int
	m.Div(money, fixed.Pow10(c.MoneySave-c.StockPrec-c.MoneyPrec))
	m.Div(&m, uint256.NewInt(uint64(price)))
	// Saturate at MaxInt64, not lower: the caller caps the result at the
	// maker's left, which may be any int64.
	if !m.IsUint64() || m.Uint64() > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(m.Uint64())
}

// trade builds the Trade for taker t filling qty of maker m at price.
func (b *Book) trade(t, m *messages.Order, price, qty int64, dealSeq uint64, now int64) *messages.Trade {
	c := &b.cfg
	tr := &messages.Trade{
		Market: c.Market, DealID: c.id(dealSeq), Time: now, TakerSide: t.Side,
		Price: price, Amount: qty, Stock: c.Stock, Money: c.Money,
		StockQty: c.stockSave(qty), Deal: c.dealMoney(price, qty),
	}
	ask, bid := m, t
	if t.Side == messages.Ask {
		ask, bid = t, m
	}
	tr.AskOrder, tr.AskUser = ask.ID, ask.User
	tr.BidOrder, tr.BidUser = bid.ID, bid.User
	askRate, bidRate := ask.MakerFee, bid.TakerFee
	if t.Side == messages.Ask {
		askRate, bidRate = ask.TakerFee, bid.MakerFee
	}
	tr.AskFee = c.askFee(price, qty, askRate)
	tr.BidFee = c.bidFee(qty, bidRate)
	if bid.Type == messages.Limit {
		tr.BidFrozen = c.dealMoney(bid.Price, qty)
	} else {
		tr.BidFrozen = tr.Deal
	}
	return tr
}

// Fill updates order o, one side of trade tr, for that fill as the book
// does: followers use it to track orders from the journal.
func Fill(o *messages.Order, tr *messages.Trade) { applyFill(o, tr, tr.Time) }

// applyFill updates order o (one side of tr) for the fill.
func applyFill(o *messages.Order, tr *messages.Trade, now int64) {
	if !(o.Type == messages.Market && o.Side == messages.Bid) {
		o.Left -= tr.Amount
	}
	o.DealStock += tr.Amount
	o.DealMoney.Add(&o.DealMoney, &tr.Deal)
	o.MTime = now
	if o.Side == messages.Ask {
		o.DealFee.Add(&o.DealFee, &tr.AskFee)
		mustSub(&o.Frozen, &tr.StockQty, o.ID)
	} else {
		o.DealFee.Add(&o.DealFee, &tr.BidFee)
		mustSub(&o.Frozen, &tr.BidFrozen, o.ID)
	}
	if o.Type == messages.Market && o.Side == messages.Bid {
		o.Left = 0 // a market buy's remainder is its unspent money, in Frozen
	}
}

func mustSub(x, y *uint256.Int, id uint64) {
	if x.Lt(y) {
		panic(fmt.Sprintf("book: order %d frozen %s < %s", id, x.Dec(), y.Dec()))
	}
	x.Sub(x, y)
}

func (b *Book) finished(o *messages.Order, now int64, cancelled bool, release uint256.Int) *messages.OrderFinished {
	asset := b.cfg.Stock
	if o.Side == messages.Bid {
		asset = b.cfg.Money
	}
	return &messages.OrderFinished{
		Market: b.cfg.Market, OrderID: o.ID, User: o.User, Time: now,
		Cancelled: cancelled, Asset: asset, Release: release,
	}
}

// Cancel decides the cancellation of a resting order: code 10 if it is not
// resting in this market, 11 if it belongs to another user.
func (b *Book) Cancel(cmd *messages.Cancel) ([]messages.Event, *messages.Error) {
	if cmd.Market != b.cfg.Market {
		return nil, messages.ErrInvalidArgument
	}
	o := b.orders[cmd.OrderID]
	if o == nil {
		return nil, messages.ErrOrderNotFound
	}
	if o.User != cmd.User {
		return nil, messages.ErrUserNotMatch
	}
	return []messages.Event{b.finished(&o.Order, cmd.Time, true, o.Frozen)}, nil
}

// Apply mutates the book by one event of this market. Events of other
// markets and balance events are ignored. Apply trusts the event: it was
// decided against this very state (live) or journaled (replay).
func (b *Book) Apply(ev messages.Event) {
	switch e := ev.(type) {
	case *messages.OrderPlaced:
		if e.Order.Market != b.cfg.Market {
			return
		}
		o := &order{Order: e.Order}
		b.taker = o
		if s := e.Order.ID >> IDShift; s > b.lastID {
			b.lastID = s
		}
	case *messages.Trade:
		if e.Market != b.cfg.Market {
			return
		}
		if s := e.DealID >> IDShift; s > b.lastDID {
			b.lastDID = s
		}
		t := b.taker
		makerID := e.AskOrder
		if e.TakerSide == messages.Ask {
			makerID = e.BidOrder
		}
		m := b.orders[makerID]
		if t == nil || m == nil {
			panic(fmt.Sprintf("book: trade %d without its orders", e.DealID))
		}
		b.sideOf(m.Side).filled(m, e.Amount)
		applyFill(&m.Order, e, e.Time)
		applyFill(&t.Order, e, e.Time)
	case *messages.OrderRested:
		if e.Market != b.cfg.Market {
			return
		}
		t := b.taker
		b.taker = nil
		b.orders[t.ID] = t
		b.byUser[t.User] = append(b.byUser[t.User], t)
		b.sideOf(t.Side).insert(t)
	case *messages.OrderFinished:
		if e.Market != b.cfg.Market {
			return
		}
		if t := b.taker; t != nil && t.ID == e.OrderID {
			b.taker = nil
			b.last = t.Order
			return
		}
		o := b.orders[e.OrderID]
		if o == nil {
			panic(fmt.Sprintf("book: finish of unknown order %d", e.OrderID))
		}
		if e.Cancelled {
			o.MTime = e.Time
		}
		b.sideOf(o.Side).remove(o)
		delete(b.orders, o.ID)
		b.removeUser(o)
		b.last = o.Order
	}
}

func (b *Book) removeUser(o *order) {
	list := b.byUser[o.User]
	i := sort.Search(len(list), func(i int) bool { return list[i].ID >= o.ID })
	if i < len(list) && list[i] == o {
		copy(list[i:], list[i+1:])
		list[len(list)-1] = nil
		list = list[:len(list)-1]
	}
	if len(list) == 0 {
		delete(b.byUser, o.User)
	} else {
		b.byUser[o.User] = list
	}
}
