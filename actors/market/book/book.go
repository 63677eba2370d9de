package book

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/holiman/uint256"
)

// order is a book entry: the public record plus its place in a level's FIFO
// and in its user's list. Nothing outside the book keeps a pointer to an
// order (queries copy the record out), so finished orders are recycled.
type order struct {
	messages.Order
	prev, next   *order // the level's FIFO
	lvl          *level
	uprev, unext *order // the user's list
	user         *userOrders
}

// level is one price on one side: a FIFO of orders (oldest first).
type level struct {
	price      int64
	head, tail *order
	count      int
	total      int64 // Σ left
	free       *level
}

// side holds levels sorted so that the best price is last: asks by price
// descending, bids by price ascending. Matching pops from the end. prices
// mirrors levels (prices[i] == levels[i].price) so that the binary search
// does not chase pointers.
type side struct {
	bid    bool
	levels []*level
	prices []int64
	count  int
	total  int64
	free   *level // recycled levels, at most maxFreeLevels
	nfree  int
}

// Bounds on the recycled structs a book keeps (the rest go to the GC), so a
// book that once was large does not hold its peak memory.
const (
	maxFreeOrders = 4096
	maxFreeLevels = 1024
)

// find returns the index where a level at price is or would be inserted:
// the first index whose price is not worse than price (levels are sorted
// worst..best).
func (s *side) find(price int64) int {
	ps := s.prices
	lo, hi := 0, len(ps)
	if s.bid {
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if price <= ps[m] {
				hi = m
			} else {
				lo = m + 1
			}
		}
		return lo
	}
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if price >= ps[m] {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

func (s *side) best() *level {
	if len(s.levels) == 0 {
		return nil
	}
	return s.levels[len(s.levels)-1]
}

func (s *side) insert(o *order) {
	n := len(s.levels)
	var l *level
	// Most orders rest at or near the best price: try the end first.
	if n > 0 && s.prices[n-1] == o.Price {
		l = s.levels[n-1]
	} else if i := s.find(o.Price); i < n && s.prices[i] == o.Price {
		l = s.levels[i]
	} else {
		l = s.newLevel(o.Price)
		s.levels = append(s.levels, nil)
		copy(s.levels[i+1:], s.levels[i:])
		s.levels[i] = l
		s.prices = append(s.prices, 0)
		copy(s.prices[i+1:], s.prices[i:])
		s.prices[i] = o.Price
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

func (s *side) newLevel(price int64) *level {
	l := s.free
	if l == nil {
		return &level{price: price}
	}
	s.free, s.nfree = l.free, s.nfree-1
	*l = level{price: price}
	return l
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
		n := len(s.levels) - 1
		i := n // the best level, where matching empties levels
		if s.levels[n] != l {
			i = s.find(l.price)
			copy(s.levels[i:], s.levels[i+1:])
			copy(s.prices[i:], s.prices[i+1:])
		}
		s.levels[n] = nil
		s.levels, s.prices = s.levels[:n], s.prices[:n]
		if s.nfree < maxFreeLevels {
			*l = level{free: s.free}
			s.free = l
			s.nfree++
		}
	}
}

// filled keeps level and side totals when a resting order fills qty (the
// order's own Left is reduced by applyFill).
func (s *side) filled(o *order, qty int64) {
	o.lvl.total -= qty
	s.total -= qty
}

// userOrders is one user's resting orders, id ascending (oldest first).
type userOrders struct {
	head, tail *order
	count      int
	// unsorted: Restore appended an order older than the tail; Pending
	// sorts the list before walking it.
	unsorted bool
}

// Book is one market's order book. It is not safe for concurrent use: one
// market actor owns it.
type Book struct {
	cfg     Config
	asks    side
	bids    side
	orders  map[uint64]*order      // resting orders by id
	byUser  map[uint32]*userOrders // resting orders per user
	taker   *order                 // the order of the command being applied
	rested  *order                 // the order most recently rested
	last    *order                 // the order most recently finished (recycled at the next finish)
	lastID  uint64                 // order seq
	lastDID uint64                 // deal seq

	// Bourse's order options (options.go): held stop orders, open orders by
	// client order id, armed dead-man's switches, the last trade price, and
	// the range of trade prices of the command being executed (0: none).
	buyStops, sellStops []*order
	byClient            map[clientKey]*order
	deadlines           map[uint32]int64
	lastPrice           int64
	halted              bool // market.halt: new orders are refused
	lo, hi              int64
	due                 []*order       // scratch: stops a command triggered
	own                 messages.Order // Execute's order when stops triggered after it

	slab       slab
	scratch    []messages.Event // events of the command being decided
	freeOrders *order           // recycled orders, linked by next
	nfree      int
	freeUsers  []*userOrders // recycled user lists
}

// New returns an empty book.
func New(cfg Config) *Book {
	return &Book{
		cfg:       cfg,
		asks:      side{},
		bids:      side{bid: true},
		orders:    make(map[uint64]*order, 1024),
		byUser:    make(map[uint32]*userOrders, 256),
		byClient:  map[clientKey]*order{},
		deadlines: map[uint32]int64{},
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

func (b *Book) newOrder(o *messages.Order) *order {
	r := b.freeOrders
	if r == nil {
		return &order{Order: *o}
	}
	b.freeOrders, b.nfree = r.next, b.nfree-1
	r.next = nil
	r.Order = *o
	return r
}

// freeOrder recycles o, which no index, level or list refers to any more.
func (b *Book) freeOrder(o *order) {
	if b.nfree < maxFreeOrders {
		*o = order{next: b.freeOrders}
		b.freeOrders = o
		b.nfree++
	}
}

// retire keeps finished order o as the last one (Execute returns it) and
// recycles the previous last one.
func (b *Book) retire(o *order) {
	if b.last != nil {
		b.freeOrder(b.last)
	}
	b.last = o
}

// addUser appends o to its user's list.
func (b *Book) addUser(o *order) {
	u := b.byUser[o.User]
	if u == nil {
		if n := len(b.freeUsers); n > 0 {
			u = b.freeUsers[n-1]
			b.freeUsers[n-1] = nil
			b.freeUsers = b.freeUsers[:n-1]
		} else {
			u = &userOrders{}
		}
		b.byUser[o.User] = u
	}
	o.user = u
	o.uprev = u.tail
	if u.tail != nil {
		if u.tail.ID > o.ID {
			u.unsorted = true
		}
		u.tail.unext = o
	} else {
		u.head = o
	}
	u.tail = o
	u.count++
}

func (b *Book) removeUser(o *order) {
	u := o.user
	if o.uprev != nil {
		o.uprev.unext = o.unext
	} else {
		u.head = o.unext
	}
	if o.unext != nil {
		o.unext.uprev = o.uprev
	} else {
		u.tail = o.uprev
	}
	o.uprev, o.unext, o.user = nil, nil, nil
	u.count--
	if u.count == 0 {
		delete(b.byUser, o.User)
		if len(b.freeUsers) < maxFreeLevels {
			*u = userOrders{}
			b.freeUsers = append(b.freeUsers, u)
		}
	}
}

// sort puts a list that Restore filled out of order in id order.
func (u *userOrders) sort() {
	list := make([]*order, 0, u.count)
	for o := u.head; o != nil; o = o.unext {
		list = append(list, o)
	}
	slices.SortFunc(list, func(a, b *order) int { return cmp.Compare(a.ID, b.ID) })
	var prev *order
	for _, o := range list {
		o.uprev = prev
		if prev != nil {
			prev.unext = o
		} else {
			u.head = o
		}
		prev = o
	}
	prev.unext = nil
	u.tail = prev
	u.unsorted = false
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
	if err := b.checkClientID(cmd.User, cmd.ClientID); err != nil {
		return nil, err
	}
	t := messages.Order{
		ID: c.id(b.lastID + 1), Market: c.Market, Type: messages.Limit, Side: cmd.Side,
		User: cmd.User, CTime: cmd.Time, MTime: cmd.Time, Price: cmd.Price,
		Amount: cmd.Amount, TakerFee: cmd.TakerFee, MakerFee: cmd.MakerFee,
		Left: cmd.Amount, Source: cmd.Source,
		ClientID: cmd.ClientID, StopPrice: cmd.StopPrice, TIF: cmd.TIF, PostOnly: cmd.PostOnly, STP: cmd.STP,
	}
	if cmd.StopPrice != 0 {
		return b.hold(&t)
	}
	stp := c.stp(cmd.STP)
	if cmd.PostOnly {
		if best := b.sideOf(cmd.Side.Opposite()).best(); best != nil && crosses(cmd.Side, cmd.Price, best.price) {
			return nil, messages.ErrWouldTake
		}
	}
	if cmd.TIF == messages.FOK && !b.fillable(cmd.Side, cmd.User, cmd.Price, cmd.Amount, stp) {
		return nil, messages.ErrNoEnoughTrader
	}
	asset, frozen := c.Reservation(messages.Limit, cmd.Side, cmd.Amount, cmd.Price)
	t.Frozen = frozen
	events := append(b.scratch[:0], b.placed(&t, asset))
	events, left, stopped := b.match(events, &t, cmd.Time, stp)
	if left > 0 && (stopped || cmd.TIF != messages.GTC) {
		// IOC, or self-trade prevention cancelled the taker: what is
		// left is cancelled, not rested.
		events = append(events, b.finished(&t, cmd.Time, true, &t.Frozen))
	} else if left > 0 {
		// Level and side totals (depth, market.summary) are int64: a
		// remainder that would overflow them is refused (docs/design.md "Money").
		if left > math.MaxInt64-b.sideOf(cmd.Side).total {
			clear(events)
			b.scratch = events[:0]
			return nil, messages.ErrInvalidArgument
		}
		// A remainder may rest only below the user's limit of open orders
		// in this market (counted before matching).
		if err := b.checkOpen(cmd.User); err != nil {
			clear(events)
			b.scratch = events[:0]
			return nil, err
		}
		r := b.slab.orderRested()
		*r = messages.OrderRested{Market: c.Market, OrderID: t.ID, Time: cmd.Time}
		events = append(events, r)
	} else {
		events = append(events, b.finished(&t, cmd.Time, false, &t.Frozen))
	}
	b.scratch = events[:0]
	return b.slab.seal(events), nil
}

// enoughMoney reports whether a market buy of amount (money_prec) buys at
// least min_amount at the best ask's price: both at money_prec+stock_prec.
func (c *Config) enoughMoney(amount, bestAsk int64) bool {
	have := fixed.FromInt64(amount, c.MoneyPrec, c.MoneyPrec+c.StockPrec)
	need := fixed.Mul64(bestAsk, c.MinAmount)
	return !have.Lt(&need)
}

// placed returns the OrderPlaced event of order t.
func (b *Book) placed(t *messages.Order, asset messages.AssetID) *messages.OrderPlaced {
	p := b.slab.orderPlaced()
	p.Order, p.FrozenAsset = *t, asset
	return p
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
	if err := b.checkClientID(cmd.User, cmd.ClientID); err != nil {
		return nil, err
	}
	t := messages.Order{
		ID: c.id(b.lastID + 1), Market: c.Market, Type: messages.Market, Side: cmd.Side,
		User: cmd.User, CTime: cmd.Time, MTime: cmd.Time, Amount: cmd.Amount,
		TakerFee: cmd.TakerFee, Left: cmd.Amount, Source: cmd.Source,
		ClientID: cmd.ClientID, StopPrice: cmd.StopPrice, STP: cmd.STP,
	}
	if cmd.StopPrice != 0 {
		// A stop-market sell's amount is stock, checked now; a buy's
		// money is checked against the book when it triggers.
		if cmd.Side == messages.Ask && cmd.Amount < c.MinAmount {
			return nil, messages.ErrAmountTooSmall
		}
		return b.hold(&t)
	}
	best := b.sideOf(cmd.Side.Opposite()).best()
	if best == nil {
		return nil, messages.ErrNoEnoughTrader
	}
	if cmd.Side == messages.Ask {
		if cmd.Amount < c.MinAmount {
			return nil, messages.ErrAmountTooSmall
		}
	} else if !c.enoughMoney(cmd.Amount, best.price) {
		return nil, messages.ErrAmountTooSmall
	}
	asset, frozen := c.Reservation(messages.Market, cmd.Side, cmd.Amount, 0)
	t.Frozen = frozen
	events := append(b.scratch[:0], b.placed(&t, asset))
	events, _, stopped := b.match(events, &t, cmd.Time, c.stp(cmd.STP))
	events = append(events, b.finished(&t, cmd.Time, stopped, &t.Frozen))
	b.scratch = events[:0]
	return b.slab.seal(events), nil
}

// match walks the opposite side best-first and appends a Trade (and a maker
// OrderFinished where a maker is filled completely) per fill. It updates the
// local copy t of the taker so the caller knows what is left, but never
// touches the book. A maker of the taker's own user is handled by stp: a
// cancelled maker gets an OrderFinished (cancelled) and matching goes on;
// stopped reports that the taker's remainder is to be cancelled.
func (b *Book) match(events []messages.Event, t *messages.Order, now int64, stp messages.STP) (_ []messages.Event, left int64, stopped bool) {
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
				// stock the unspent money buys at this price, truncated:
				// none, and the order is done (before self-trade
				// prevention: a maker it cannot trade with is no
				// self-trade).
				if qty = maxQty(&t.Frozen, l.price, c); qty == 0 {
					return events, 0, false
				}
			}
			if stp > messages.STPNone && m.User == t.User {
				switch stp {
				case messages.STPCancelTaker:
					return events, t.Left, true
				case messages.STPCancelMaker, messages.STPCancelBoth:
					events = append(events, b.finished(&m.Order, now, true, &m.Frozen))
					if stp == messages.STPCancelBoth {
						return events, t.Left, true
					}
					continue
				}
			}
			if marketBuy {
				qty = min(qty, m.Left)
			} else {
				qty = min(t.Left, m.Left)
			}
			dealSeq++
			tr := b.trade(t, &m.Order, l.price, qty, dealSeq, now)
			events = append(events, tr)
			if m.Left == qty {
				// What the maker still has frozen after this fill
				// (applyFill's change to Frozen; makers are limit orders).
				release := m.Frozen
				if m.Side == messages.Ask {
					mustSub(&release, &tr.StockQty, m.ID)
				} else {
					mustSub(&release, &tr.BidFrozen, m.ID)
				}
				events = append(events, b.finished(&m.Order, now, false, &release))
			}
			applyFill(t, tr, now)
			if !marketBuy && t.Left == 0 {
				return events, 0, false
			}
		}
	}
	return events, t.Left, false
}

// fillable reports whether a fill-or-kill limit order finds its whole
// amount at prices it accepts, counting what self-trade prevention lets it
// trade with: a maker of its own user that stp cancels is no liquidity, and
// one that stops the taker ends the count.
func (b *Book) fillable(s messages.Side, user uint32, price, need int64, stp messages.STP) bool {
	opp := b.sideOf(s.Opposite())
	for li := len(opp.levels) - 1; li >= 0; li-- {
		l := opp.levels[li]
		if !crosses(s, price, l.price) {
			return false
		}
		if stp <= messages.STPNone && l.total >= need {
			return true
		}
		for m := l.head; m != nil; m = m.next {
			if stp > messages.STPNone && m.User == user {
				if stp == messages.STPCancelMaker {
					continue
				}
				return false
			}
			if m.Left >= need {
				return true
			}
			need -= m.Left
		}
	}
	return false
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
	tr := b.slab.trade()
	tr.Market, tr.DealID, tr.Time, tr.TakerSide = c.Market, c.id(dealSeq), now, t.Side
	tr.Price, tr.Amount, tr.Stock, tr.Money = price, qty, c.Stock, c.Money
	tr.StockQty, tr.Deal = c.stockSave(qty), c.dealMoney(price, qty)
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
		if bid.Price == price {
			tr.BidFrozen = tr.Deal // the same product
		} else {
			tr.BidFrozen = c.dealMoney(bid.Price, qty)
		}
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

func (b *Book) finished(o *messages.Order, now int64, cancelled bool, release *uint256.Int) *messages.OrderFinished {
	asset := b.cfg.Stock
	if o.Side == messages.Bid {
		asset = b.cfg.Money
	}
	f := b.slab.orderFinished()
	f.Market, f.OrderID, f.User, f.Time = b.cfg.Market, o.ID, o.User, now
	f.Cancelled, f.Asset, f.Release = cancelled, asset, *release
	return f
}

// Cancel decides the cancellation of an open order (resting or a held
// stop): code 10 if it is not open in this market, 11 if it belongs to
// another user.
func (b *Book) Cancel(cmd *messages.Cancel) ([]messages.Event, *messages.Error) {
	if cmd.Market != b.cfg.Market {
		return nil, messages.ErrInvalidArgument
	}
	o, err := b.open(cmd.User, cmd.OrderID, cmd.ClientID)
	if err != nil {
		return nil, err
	}
	events := append(b.scratch[:0], b.finished(&o.Order, cmd.Time, true, &o.Frozen))
	b.scratch = events[:0]
	return b.slab.seal(events), nil
}

// CancelAll decides the cancellation of every open order (resting or held
// stop) of the user in this market on cmd.Side (0: both), oldest first: no
// events when there is none. Code 1 for another market or a bad side.
func (b *Book) CancelAll(cmd *messages.CancelAll) ([]messages.Event, *messages.Error) {
	if cmd.Market != b.cfg.Market || (cmd.Side != 0 && cmd.Side != messages.Ask && cmd.Side != messages.Bid) {
		return nil, messages.ErrInvalidArgument
	}
	events := b.cancelUser(b.scratch[:0], cmd.User, cmd.Side, cmd.Time)
	b.scratch = events[:0]
	if len(events) == 0 {
		return nil, nil
	}
	return b.slab.seal(events), nil
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
		b.taker = b.newOrder(&e.Order)
		if s := e.Order.ID >> IDShift; s > b.lastID {
			b.lastID = s
		}
	case *messages.Trade:
		if e.Market == b.cfg.Market {
			b.applyTrade(e)
		}
	case *messages.OrderRested:
		if e.Market == b.cfg.Market {
			b.applyRested()
		}
	case *messages.OrderFinished:
		if e.Market == b.cfg.Market {
			b.applyFinished(e)
		}
	case *messages.StopTriggered:
		if e.Market != b.cfg.Market {
			return
		}
		o := b.orders[e.OrderID]
		if o == nil || !o.Held() {
			panic(fmt.Sprintf("book: trigger of order %d, not a held stop", e.OrderID))
		}
		b.close(o)
		o.Triggered, o.MTime = true, e.Time
		b.taker = o
	case *messages.OrderAmended:
		if e.Market == b.cfg.Market {
			b.applyAmended(e)
		}
	case *messages.MarketHalted:
		if e.Market == b.cfg.Market {
			b.halted = e.Halted
		}
	case *messages.CancelAfterSet:
		if e.Market != b.cfg.Market {
			return
		}
		if e.Deadline == 0 {
			delete(b.deadlines, e.User)
		} else {
			b.deadlines[e.User] = e.Deadline
		}
	}
}

// applyTrade fills the maker and the taker of a trade in this market.
func (b *Book) applyTrade(e *messages.Trade) {
	if s := e.DealID >> IDShift; s > b.lastDID {
		b.lastDID = s
	}
	b.traded(e.Price)
	t := b.taker
	makerID, makers := e.AskOrder, &b.asks
	if e.TakerSide == messages.Ask {
		makerID, makers = e.BidOrder, &b.bids
	}
	m := makers.head(makerID)
	if m == nil {
		m = b.orders[makerID]
	}
	if t == nil || m == nil {
		panic(fmt.Sprintf("book: trade %d without its orders", e.DealID))
	}
	b.sideOf(m.Side).filled(m, e.Amount)
	applyFill(&m.Order, e, e.Time)
	applyFill(&t.Order, e, e.Time)
}

// applyRested rests the taker (an OrderRested in this market).
func (b *Book) applyRested() {
	t := b.taker
	b.taker = nil
	b.rested = t
	if t.StopPrice == 0 && t.ClientID == "" {
		// a plain order rests (open1's common case, inline)
		b.orders[t.ID] = t
		b.addUser(t)
		b.sideOf(t.Side).insert(t)
	} else {
		b.open1(t)
	}
}

// applyFinished retires a finished order, the taker or one on the book.
func (b *Book) applyFinished(e *messages.OrderFinished) {
	if t := b.taker; t != nil && t.ID == e.OrderID {
		b.taker = nil
		b.retire(t)
		return
	}
	o := b.asks.head(e.OrderID)
	if o == nil {
		if o = b.bids.head(e.OrderID); o == nil {
			o = b.orders[e.OrderID]
		}
	}
	if o == nil {
		panic(fmt.Sprintf("book: finish of unknown order %d", e.OrderID))
	}
	if e.Cancelled {
		o.MTime = e.Time
	}
	if b.rested == o {
		b.rested = nil
	}
	if o.StopPrice == 0 && o.ClientID == "" {
		// a plain resting order leaves (close's common case, inline)
		b.sideOf(o.Side).remove(o)
		delete(b.orders, o.ID)
		b.removeUser(o)
	} else {
		b.close(o)
	}
	b.retire(o)
}

// applyAmended sets an order's new amount and remainder, and lowers its
// reservation by the release.
func (b *Book) applyAmended(e *messages.OrderAmended) {
	o := b.orders[e.OrderID]
	if o == nil {
		panic(fmt.Sprintf("book: amend of unknown order %d", e.OrderID))
	}
	if o.lvl != nil {
		b.sideOf(o.Side).filled(o, o.Left-e.Left)
	}
	o.Amount, o.Left, o.MTime = e.Amount, e.Left, e.Time
	mustSub(&o.Frozen, &e.Release, o.ID)
}

// head returns the first order of the best level if its id is id: the maker
// of a trade, and the maker a trade filled, always are.
func (s *side) head(id uint64) *order {
	if n := len(s.levels); n > 0 {
		if o := s.levels[n-1].head; o.ID == id {
			return o
		}
	}
	return nil
}
