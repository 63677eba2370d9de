package book

import (
	"cmp"
	"math"
	"slices"

	"github.com/bourse-exchange/bourse/messages"
)

// This file holds what Bourse adds to viabtc's book: stop orders, client
// order ids, amend and the dead-man's switch. None of it costs an order
// that does not use it more than a map lookup skipped on an empty id and a
// comparison of the command's trade prices with the nearest stop.

// clientKey names an open order by its user's client order id.
type clientKey struct {
	user uint32
	id   string
}

// stp resolves an order's self-trade prevention mode against the market's.
func (c *Config) stp(s messages.STP) messages.STP {
	if s == messages.STPDefault {
		return c.STP
	}
	return s
}

// checkClientID refuses (code 14) a client order id that one of the user's
// open orders in this market already has.
func (b *Book) checkClientID(user uint32, id string) *messages.Error {
	if id != "" && b.byClient[clientKey{user, id}] != nil {
		return messages.ErrClientIDInUse
	}
	return nil
}

// checkOpen refuses (code 8) a new open order of a user who has the
// market's limit of open orders already.
func (b *Book) checkOpen(user uint32) *messages.Error {
	if b.cfg.MaxOpenOrders > 0 {
		if u := b.byUser[user]; u != nil && u.count >= b.cfg.MaxOpenOrders {
			return messages.ErrLimitExceeded
		}
	}
	return nil
}

// open returns the open order named by id or, if clientID is not empty, by
// the user's client order id: code 10 if there is none, 11 if it is
// another user's.
func (b *Book) open(user uint32, id uint64, clientID string) (*order, *messages.Error) {
	var o *order
	if clientID != "" {
		o = b.byClient[clientKey{user, clientID}]
	} else {
		o = b.orders[id]
	}
	if o == nil {
		return nil, messages.ErrOrderNotFound
	}
	if o.User != user {
		return nil, messages.ErrUserNotMatch
	}
	return o, nil
}

// hold decides the placement of stop order t: refused with code 15 if the
// last price already reached its stop price (a buy stop triggers at or
// above it, a sell stop at or below), or code 8 past the user's limit of
// open orders; otherwise placed and held (OrderPlaced, OrderRested), its
// funds reserved as for an order of its type.
func (b *Book) hold(t *messages.Order) ([]messages.Event, *messages.Error) {
	c := &b.cfg
	if b.lastPrice != 0 && reached(t.Side, t.StopPrice, b.lastPrice, b.lastPrice) {
		return nil, messages.ErrStopWouldTrigger
	}
	if err := b.checkOpen(t.User); err != nil {
		return nil, err
	}
	asset, frozen := c.Reservation(t.Type, t.Side, t.Amount, t.Price)
	t.Frozen = frozen
	r := b.slab.orderRested()
	*r = messages.OrderRested{Market: c.Market, OrderID: t.ID, Time: t.CTime}
	events := append(b.scratch[:0], b.placed(t, asset), r)
	b.scratch = events[:0]
	return b.slab.seal(events), nil
}

// reached reports whether trades printed between lo and hi reach a stop at
// stop on side s.
func reached(s messages.Side, stop, lo, hi int64) bool {
	if s == messages.Bid {
		return hi >= stop
	}
	return lo <= stop
}

// open1 makes order o open: resting in its side, or held if it is a stop
// order waiting for its trigger.
func (b *Book) open1(o *order) {
	b.orders[o.ID] = o
	b.addUser(o)
	if o.ClientID != "" {
		b.byClient[clientKey{o.User, o.ClientID}] = o
	}
	if o.Held() {
		list := b.stops(o.Side)
		i, _ := slices.BinarySearchFunc(*list, o, b.stopOrder(o.Side))
		*list = slices.Insert(*list, i, o)
		return
	}
	b.sideOf(o.Side).insert(o)
}

// close undoes open1.
func (b *Book) close(o *order) {
	if o.Held() {
		list := b.stops(o.Side)
		if i, ok := slices.BinarySearchFunc(*list, o, b.stopOrder(o.Side)); ok {
			*list = slices.Delete(*list, i, i+1)
		}
	} else {
		b.sideOf(o.Side).remove(o)
	}
	if o.ClientID != "" {
		delete(b.byClient, clientKey{o.User, o.ClientID})
	}
	delete(b.orders, o.ID)
	b.removeUser(o)
}

// stops returns the held stops of side s, nearest to triggering first: buy
// stops by stop price ascending, sell stops descending, then by id.
func (b *Book) stops(s messages.Side) *[]*order {
	if s == messages.Bid {
		return &b.buyStops
	}
	return &b.sellStops
}

func (b *Book) stopOrder(s messages.Side) func(x, y *order) int {
	if s == messages.Bid {
		return func(x, y *order) int { return cmp.Or(cmp.Compare(x.StopPrice, y.StopPrice), cmp.Compare(x.ID, y.ID)) }
	}
	return func(x, y *order) int { return cmp.Or(cmp.Compare(y.StopPrice, x.StopPrice), cmp.Compare(x.ID, y.ID)) }
}

// traded records a trade price: the market's last price and the range of
// the command being executed.
func (b *Book) traded(price int64) {
	b.lastPrice = price
	if b.lo == 0 || price < b.lo {
		b.lo = price
	}
	if price > b.hi {
		b.hi = price
	}
}

// triggered reports whether the trades so far in this command reached a
// held stop.
func (b *Book) triggered() bool {
	if b.hi == 0 {
		return false
	}
	return (len(b.buyStops) > 0 && b.buyStops[0].StopPrice <= b.hi) ||
		(len(b.sellStops) > 0 && b.sellStops[0].StopPrice >= b.lo)
}

// cascade appends to events (a command's, applied) the events of the stop
// orders its trades triggered, deciding and applying them one at a time:
// the stops reached by every trade so far, oldest first, then those reached
// by the trades of these, and so on.
func (b *Book) cascade(events []messages.Event, now int64) []messages.Event {
	all := append(make([]messages.Event, 0, 2*len(events)), events...)
	for b.triggered() {
		due := b.due[:0]
		for _, s := range []messages.Side{messages.Bid, messages.Ask} {
			for _, o := range *b.stops(s) {
				if !reached(s, o.StopPrice, b.lo, b.hi) {
					break
				}
				due = append(due, o)
			}
		}
		slices.SortFunc(due, func(x, y *order) int { return cmp.Compare(x.ID, y.ID) })
		for _, o := range due {
			evs := b.trigger(o, now)
			for _, ev := range evs {
				b.Apply(ev)
			}
			all = append(all, evs...)
		}
		clear(due)
		b.due = due[:0]
	}
	return all
}

// trigger decides held stop o's trigger and what follows: it is matched as
// a new order of its type placed now would be, except that what would refuse
// such an order (post-only that would take, fill-or-kill short of liquidity,
// an empty book or a buy below min_amount for a market order, a remainder
// too large to rest) cancels it instead, since it was accepted long ago.
func (b *Book) trigger(o *order, now int64) []messages.Event {
	c := &b.cfg
	events := append(b.scratch[:0], &messages.StopTriggered{Market: c.Market, OrderID: o.ID, Time: now, Price: b.lastPrice})
	t := o.Order
	t.Triggered, t.MTime = true, now
	stp := c.stp(t.STP)
	best := b.sideOf(t.Side.Opposite()).best()
	cancel := false
	if t.Type == messages.Limit {
		switch {
		case t.PostOnly && best != nil && crosses(t.Side, t.Price, best.price):
			cancel = true
		case t.TIF == messages.FOK && !b.fillable(t.Side, t.User, t.Price, t.Left, stp):
			cancel = true
		default:
			var left int64
			var stopped bool
			events, left, stopped = b.match(events, &t, now, stp)
			switch {
			case left == 0:
				events = append(events, b.finished(&t, now, false, &t.Frozen))
			case stopped || t.TIF != messages.GTC || left > math.MaxInt64-b.sideOf(t.Side).total:
				cancel = true
			default:
				r := b.slab.orderRested()
				*r = messages.OrderRested{Market: c.Market, OrderID: t.ID, Time: now}
				events = append(events, r)
			}
		}
	} else if best == nil || (t.Side == messages.Bid && !c.enoughMoney(t.Amount, best.price)) {
		cancel = true
	} else {
		var stopped bool
		events, _, stopped = b.match(events, &t, now, stp)
		events = append(events, b.finished(&t, now, stopped, &t.Frozen))
	}
	if cancel {
		events = append(events, b.finished(&t, now, true, &t.Frozen))
	}
	b.scratch = events[:0]
	return b.slab.seal(events)
}

// Amend decides the reduction of an open limit order's amount, in place:
// code 10/11 as Cancel; code 1 unless dealt < new amount < amount.
func (b *Book) Amend(cmd *messages.Amend) ([]messages.Event, *messages.Error) {
	c := &b.cfg
	if cmd.Market != c.Market {
		return nil, messages.ErrInvalidArgument
	}
	o, err := b.open(cmd.User, cmd.OrderID, cmd.ClientID)
	if err != nil {
		return nil, err
	}
	if o.Type != messages.Limit || cmd.Amount <= o.DealStock || cmd.Amount >= o.Amount {
		return nil, messages.ErrInvalidArgument
	}
	left := cmd.Amount - o.DealStock
	asset, release := c.Reservation(messages.Limit, o.Side, o.Left-left, o.Price)
	if o.Frozen.Lt(&release) {
		return nil, messages.ErrInternal // a reservation is exact: cannot happen
	}
	events := append(b.scratch[:0], &messages.OrderAmended{
		Market: c.Market, OrderID: o.ID, User: o.User, Time: cmd.Time,
		Amount: cmd.Amount, Left: left, Asset: asset, Release: release,
	})
	b.scratch = events[:0]
	return b.slab.seal(events), nil
}

// MaxCancelAfter is the longest dead-man's switch timeout, in microseconds
// (one day).
const MaxCancelAfter = 86400 * 1e6

// CancelAfter decides the arming (Timeout > 0) or disarming of a user's
// dead-man's switch: no events when disarming one that is off. Code 1 for a
// timeout out of range.
func (b *Book) CancelAfter(cmd *messages.CancelAfter) ([]messages.Event, *messages.Error) {
	if cmd.Market != b.cfg.Market || cmd.User == 0 || cmd.Timeout < 0 || cmd.Timeout > MaxCancelAfter {
		return nil, messages.ErrInvalidArgument
	}
	var deadline int64
	if cmd.Timeout > 0 {
		deadline = cmd.Time + cmd.Timeout
	} else if _, on := b.deadlines[cmd.User]; !on {
		return nil, nil
	}
	events := append(b.scratch[:0], &messages.CancelAfterSet{Market: b.cfg.Market, User: cmd.User, Deadline: deadline, Time: cmd.Time})
	b.scratch = events[:0]
	return b.slab.seal(events), nil
}

// Deadline returns a user's dead-man's switch deadline, 0 if it is off.
func (b *Book) Deadline(user uint32) int64 { return b.deadlines[user] }

// Expire decides and applies the firing of every dead-man's switch due at
// now, earliest first: per user the switch goes off (CancelAfterSet with
// deadline 0) and each of the user's open orders is cancelled, oldest
// first. Nil when none is due.
func (b *Book) Expire(now int64) []messages.Event {
	type due struct {
		user     uint32
		deadline int64
	}
	var users []due
	for u, d := range b.deadlines {
		if d <= now {
			users = append(users, due{u, d})
		}
	}
	if len(users) == 0 {
		return nil
	}
	slices.SortFunc(users, func(x, y due) int { return cmp.Or(cmp.Compare(x.deadline, y.deadline), cmp.Compare(x.user, y.user)) })
	var all []messages.Event
	for _, u := range users {
		events := append(b.scratch[:0], &messages.CancelAfterSet{Market: b.cfg.Market, User: u.user, Time: now})
		events = b.cancelUser(events, u.user, 0, now)
		b.scratch = events[:0]
		for _, ev := range b.slab.seal(events) {
			b.Apply(ev)
			all = append(all, ev)
		}
	}
	return all
}

// cancelUser appends the cancellation of every open order of user on side
// s (0: both), oldest first.
func (b *Book) cancelUser(events []messages.Event, user uint32, s messages.Side, now int64) []messages.Event {
	u := b.byUser[user]
	if u == nil {
		return events
	}
	if u.unsorted {
		u.sort()
	}
	for o := u.head; o != nil; o = o.unext {
		if s == 0 || o.Side == s {
			events = append(events, b.finished(&o.Order, now, true, &o.Frozen))
		}
	}
	return events
}

// LastPrice returns the price of the market's last trade (0: none yet).
func (b *Book) LastPrice() int64 { return b.lastPrice }

// SetLastPrice restores the last price (see LastPrice).
func (b *Book) SetLastPrice(p int64) { b.lastPrice = p }

// EachDeadline calls f for every armed dead-man's switch, by user.
func (b *Book) EachDeadline(f func(user uint32, deadline int64)) {
	users := make([]uint32, 0, len(b.deadlines))
	for u := range b.deadlines {
		users = append(users, u)
	}
	slices.Sort(users)
	for _, u := range users {
		f(u, b.deadlines[u])
	}
}

// RestoreDeadline restores one dead-man's switch (see EachDeadline).
func (b *Book) RestoreDeadline(user uint32, deadline int64) { b.deadlines[user] = deadline }
