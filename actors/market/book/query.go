package book

import (
	"cmp"
	"math"
	"slices"

	"github.com/bourse-exchange/bourse/messages"
)

// Execute decides cmd (a *PutLimit, *PutMarket, *Cancel, *Amend, *CancelAll,
// *CancelAfter or *MarketHalt) and applies the resulting events, then decides and
// applies those of the stop orders the command's trades triggered. It
// returns the events, in journal order, and the command's order as it stood
// after its own events (nil for CancelAll and CancelAfter). The order is the
// book's own record, valid until the book's next Execute, Apply or Expire:
// copy it to keep it. On error nothing changed.
//
// I/O order for the caller: append the events to the journal before sending
// any settlement or reply they cause.
func (b *Book) Execute(cmd messages.Command) ([]messages.Event, *messages.Order, *messages.Error) {
	var (
		events []messages.Event
		err    *messages.Error
		now    int64
	)
	b.lo, b.hi = 0, 0
	switch c := cmd.(type) {
	case *messages.PutLimit:
		if b.halted {
			return nil, nil, messages.ErrMarketHalted
		}
		events, err = b.PutLimit(c)
		now = c.Time
	case *messages.PutMarket:
		if b.halted {
			return nil, nil, messages.ErrMarketHalted
		}
		events, err = b.PutMarket(c)
		now = c.Time
	case *messages.MarketHalt:
		if c.Halt == b.halted {
			return nil, nil, nil
		}
		ev := &messages.MarketHalted{Market: b.cfg.Market, Halted: c.Halt, Time: c.Time}
		b.Apply(ev)
		events := append(b.scratch[:0], ev)
		b.scratch = events[:0]
		return b.slab.seal(events), nil, nil
	case *messages.Cancel:
		events, err = b.Cancel(c)
	case *messages.Amend:
		events, err = b.Amend(c)
		if err == nil {
			b.Apply(events[0])
			return events, &b.orders[events[0].(*messages.OrderAmended).OrderID].Order, nil
		}
	case *messages.CancelAll:
		events, err = b.CancelAll(c)
		for _, ev := range events {
			b.Apply(ev)
		}
		return events, nil, err
	case *messages.CancelAfter:
		events, err = b.CancelAfter(c)
		for _, ev := range events {
			b.Apply(ev)
		}
		return events, nil, err
	default:
		return nil, nil, messages.ErrInvalidArgument
	}
	if err != nil {
		return nil, nil, err
	}
	for _, ev := range events {
		b.Apply(ev)
	}
	// The command's order either rested or was held (the last event) or
	// finished (placed and done, or cancelled).
	o := b.last
	if _, ok := events[len(events)-1].(*messages.OrderRested); ok {
		o = b.rested
	}
	if !b.triggered() {
		return events, &o.Order, nil
	}
	b.own = o.Order // before the stops' events recycle o
	return b.cascade(events, now), &b.own, nil
}

// Orders lists one side in matching priority (best price first, then oldest
// first), skipping offset and returning at most limit, plus the side's total.
func (b *Book) Orders(s messages.Side, offset, limit int) (int, []messages.Order) {
	offset, limit = max(offset, 0), max(limit, 0)
	sd := b.sideOf(s)
	out := make([]messages.Order, 0, min(limit, sd.count))
	i := 0
	for li := len(sd.levels) - 1; li >= 0 && len(out) < limit; li-- {
		l := sd.levels[li]
		if i+l.count <= offset {
			i += l.count
			continue
		}
		for o := l.head; o != nil && len(out) < limit; o = o.next {
			if i >= offset {
				out = append(out, o.Order)
			}
			i++
		}
	}
	return sd.count, out
}

// Pending lists a user's resting orders, newest first.
func (b *Book) Pending(user uint32, offset, limit int) (int, []messages.Order) {
	offset, limit = max(offset, 0), max(limit, 0)
	u := b.byUser[user]
	if u == nil {
		return 0, []messages.Order{}
	}
	if u.unsorted {
		u.sort()
	}
	out := make([]messages.Order, 0, min(limit, u.count))
	i := 0
	for o := u.tail; o != nil && len(out) < limit; o = o.uprev {
		if i >= offset {
			out = append(out, o.Order)
		}
		i++
	}
	return u.count, out
}

// Order returns an open order (resting or a held stop), or nil.
func (b *Book) Order(id uint64) *messages.Order {
	if o := b.orders[id]; o != nil {
		c := o.Order
		return &c
	}
	return nil
}

// OrderByClientID returns a user's open order with client order id id, or
// nil.
func (b *Book) OrderByClientID(user uint32, id string) *messages.Order {
	if o := b.byClient[clientKey{user, id}]; o != nil {
		c := o.Order
		return &c
	}
	return nil
}

// Depth aggregates up to limit price levels per side, best first. With
// interval > 0 an ask's price is rounded up and a bid's down to a multiple
// of interval, and levels landing in one bucket are summed. An ask bucket
// that would exceed MaxInt64 is MaxInt64.
func (b *Book) Depth(limit int, interval int64) (asks, bids []messages.DepthLevel) {
	return depth(&b.asks, limit, interval), depth(&b.bids, limit, interval)
}

func depth(s *side, limit int, interval int64) []messages.DepthLevel {
	limit = max(limit, 0)
	out := make([]messages.DepthLevel, 0, min(limit, len(s.levels)))
	for li := len(s.levels) - 1; li >= 0; li-- {
		l := s.levels[li]
		p := l.price
		if interval > 0 {
			if r := p % interval; r != 0 {
				p -= r
				if !s.bid {
					// Round up; a bucket beyond int64 (a huge price and
					// interval) is clamped rather than wrapped negative.
					if p > math.MaxInt64-interval {
						p = math.MaxInt64
					} else {
						p += interval
					}
				}
			}
		}
		if n := len(out); n > 0 && out[n-1].Price == p {
			out[n-1].Amount += l.total
			continue
		}
		if len(out) == limit {
			break
		}
		out = append(out, messages.DepthLevel{Price: p, Amount: l.total})
	}
	return out
}

// Summary counts resting orders and sums their left per side.
func (b *Book) Summary() messages.MarketSummaryReply {
	return messages.MarketSummaryReply{
		Market:   b.cfg.Market,
		AskCount: b.asks.count, AskAmount: b.asks.total,
		BidCount: b.bids.count, BidAmount: b.bids.total,
		Halted: b.halted,
	}
}

// EachOrder calls f for every open order: the resting ones (side, then
// priority order), then the held stops, oldest first. Tests use it to check
// that frozen balances equal reservations.
func (b *Book) EachOrder(f func(*messages.Order)) {
	for _, sd := range []*side{&b.asks, &b.bids} {
		for li := len(sd.levels) - 1; li >= 0; li-- {
			for o := sd.levels[li].head; o != nil; o = o.next {
				f(&o.Order)
			}
		}
	}
	if len(b.buyStops)+len(b.sellStops) == 0 {
		return
	}
	held := append(slices.Clone(b.buyStops), b.sellStops...)
	slices.SortFunc(held, func(x, y *order) int { return cmp.Compare(x.ID, y.ID) })
	for _, o := range held {
		f(&o.Order)
	}
}

// Seqs returns the book's id counters: the last order and deal sequence
// numbers handed out (ids are seq<<IDShift | market).
func (b *Book) Seqs() (order, deal uint64) { return b.lastID, b.lastDID }

// Restore puts a resting order back into an empty or partly restored book,
// as a snapshot recorded it; orders of one price level must come oldest
// first (EachOrder's order). SetSeqs restores the id counters.
func (b *Book) Restore(o messages.Order) {
	b.open1(b.newOrder(&o))
}

// SetSeqs restores the id counters (see Seqs).
func (b *Book) SetSeqs(order, deal uint64) { b.lastID, b.lastDID = order, deal }
