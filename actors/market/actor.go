// Package market is the market actor: it owns one market's order book
// (package book), matches the orders its balance shards forward, journals
// the outcome, settles it with the shards of every user involved and answers
// book queries.
package market

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/bourse-exchange/bourse/actors"
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/persistence/snapshot"
)

// Env is what a market actor needs besides its book.
type Env struct {
	Journal actors.Journal
	Durable actors.Durable // nil: a failed actor keeps its in-memory book
	Dir     *actors.Directory
	FeeUser uint32
	Faults  actors.Faults
	// Metrics, if set, are this market's instruments: give each market
	// its own Env copy.
	Metrics *Metrics
}

// holder keeps the book across restarts of the actor instance: protoactor
// makes a new instance on restart, and the new one replaces the book with
// one rebuilt from the journal before it takes any message.
type holder struct {
	book    *book.Book
	started int
}

// Actor is one market actor incarnation.
type Actor struct {
	*holder
	env    *Env
	name   string
	shards []bool // scratch: which shards a settlement goes to
}

// Props returns the props of a market actor owning b.
func Props(b *book.Book, env *Env, opts ...actor.PropsOption) *actor.Props {
	h := &holder{book: b}
	name := fmt.Sprintf("market-%d", b.Config().Market)
	return actor.PropsFromProducer(func() actor.Actor {
		return &Actor{holder: h, env: env, name: name, shards: make([]bool, len(env.Dir.Shards))}
	}, opts...)
}

// Receive implements actor.Actor.
//
// Order commands (PutLimit, PutMarket) arrive from the user's shard with the
// funds already reserved. Accepted: the events are appended to the journal
// as one record, then sent to every involved shard (Settle), then the reply
// is handed to the journal, which releases it once the record is durable.
// Rejected: the reservation goes back to the shard (Unreserve), then the
// error reply (nothing changed, so nothing to journal). Messages to shards
// are sent before the reply, so a client that reads its balance after the
// reply sees the outcome. While the journal is failed, write commands get
// code 3. A command whose handling panics is answered with code 2.
func (a *Actor) Receive(ctx actor.Context) {
	switch cmd := ctx.Message().(type) {
	case *actor.Started:
		a.started++
		if a.started > 1 {
			a.rebuild(ctx)
		}
		a.env.Dir.SetHalted(a.book.Config().Market, a.book.Halted())
	case *messages.PutLimit:
		a.order(ctx, cmd, cmd.ReplyTo, cmd.User, cmd.Reservation, messages.Limit, cmd.Side, cmd.Amount, cmd.Price)
	case *messages.PutMarket:
		a.order(ctx, cmd, cmd.ReplyTo, cmd.User, cmd.Reservation, messages.Market, cmd.Side, cmd.Amount, 0)
	case *messages.Cancel:
		a.cancel(ctx, cmd, cmd.ReplyTo)
	case *messages.CancelAll:
		a.cancel(ctx, cmd, cmd.ReplyTo)
	case *messages.Amend:
		a.cancel(ctx, cmd, cmd.ReplyTo)
	case *messages.CancelAfter:
		a.cancel(ctx, cmd, cmd.ReplyTo)
	case *messages.MarketHalt:
		a.cancel(ctx, cmd, cmd.ReplyTo)
	case *messages.Tick:
		a.tick(ctx, cmd.Time)
	case *messages.OrderBook:
		if cmd.Side != messages.Ask && cmd.Side != messages.Bid {
			ctx.Send(cmd.ReplyTo, &messages.ErrorReply{Err: messages.ErrInvalidArgument})
			return
		}
		total, orders := a.book.Orders(cmd.Side, cmd.Offset, cmd.Limit)
		ctx.Send(cmd.ReplyTo, &messages.OrderListReply{Total: total, Orders: orders})
	case *messages.OrderPending:
		total, orders := a.book.Pending(cmd.User, cmd.Offset, cmd.Limit)
		ctx.Send(cmd.ReplyTo, &messages.OrderListReply{Total: total, Orders: orders})
	case *messages.OrderPendingDetail:
		var o *messages.Order
		if cmd.ClientID != "" {
			o = a.book.OrderByClientID(cmd.User, cmd.ClientID)
		} else {
			o = a.book.Order(cmd.OrderID)
		}
		ctx.Send(cmd.ReplyTo, &messages.OrderDetailReply{Order: o})
	case *messages.OrderDepth:
		asks, bids := a.book.Depth(cmd.Limit, cmd.Interval)
		ctx.Send(cmd.ReplyTo, &messages.DepthReply{Asks: asks, Bids: bids})
	case *messages.StateQuery:
		ctx.Send(cmd.ReplyTo, &messages.StateReply{Data: snapshot.AppendBook(nil, a.book)})
	case *messages.MarketSummary:
		s := a.book.Summary()
		ctx.Send(cmd.ReplyTo, &s)
	}
}

// rebuild replaces the book with one rebuilt from the journal, after
// waiting for every record appended so far to be committed.
func (a *Actor) rebuild(ctx actor.Context) {
	if a.env.Durable == nil {
		return
	}
	id := a.book.Config().Market
	upto, err := a.env.Journal.Barrier()
	if err != nil {
		ctx.Logger().Error("market not rebuilt: journal failed", "market", id, "err", err)
		return
	}
	b, err := a.env.Durable.Book(id, upto)
	if err != nil {
		ctx.Logger().Error("market rebuild failed", "market", id, "err", err)
		panic(err)
	}
	a.book = b
	ctx.Logger().Warn("market rebuilt from the journal after a failure", "market", id, "lsn", upto)
}

// step tracks how far an order command got, for the panic handler.
type step struct {
	accepted bool
	settled  bool
	lsn      uint64
	events   []messages.Event
}

func (a *Actor) order(ctx actor.Context, cmd messages.Command, replyTo *actor.PID, user uint32, reservation uint64,
	typ messages.OrderType, side messages.Side, amount, price int64) {
	var st step
	defer func() {
		if r := recover(); r != nil {
			// Not accepted: nothing changed; give the funds back. Accepted:
			// the outcome is journaled; make sure the shards get it.
			if !st.accepted {
				a.unreserve(ctx, reservation, user, typ, side, amount, price)
			} else if !st.settled {
				a.settle(ctx, st.lsn, reservation, st.events)
			}
			ctx.Send(replyTo, &messages.ErrorReply{Err: messages.ErrInternal})
			panic(r)
		}
	}()
	m := a.env.Metrics
	if a.env.Journal.Failed() {
		a.unreserve(ctx, reservation, user, typ, side, amount, price)
		ctx.Send(replyTo, &messages.ErrorReply{Err: messages.ErrUnavailable})
		if m != nil {
			m.Rejected.Inc()
		}
		return
	}
	a.fault("decide", cmd)
	var t0 time.Time
	if m != nil {
		t0 = time.Now()
	}
	events, o, err := a.book.Execute(cmd)
	if err != nil {
		if m != nil {
			m.Match.Observe(time.Since(t0).Seconds())
			m.Rejected.Inc()
		}
		a.unreserve(ctx, reservation, user, typ, side, amount, price)
		a.env.Journal.Reply(replyTo, &messages.ErrorReply{Err: err})
		return
	}
	reply := &messages.OrderReply{Order: *o} // o is the book's: copy it now
	a.fault("apply", cmd)
	st.lsn = a.env.Journal.Append(events)
	if m != nil {
		m.Match.Observe(time.Since(t0).Seconds())
	}
	st.accepted, st.events = true, events
	trades, triggers := a.settle(ctx, st.lsn, reservation, events)
	st.settled = true
	if m != nil {
		m.Orders.Inc()
		m.Trades.Add(float64(trades))
		m.Triggers.Add(float64(triggers))
	}
	a.env.Journal.Reply(replyTo, reply)
}

// cancel decides a command that places no order (order.cancel,
// order.cancel_all, order.amend, order.cancel_all_after, market.halt and
// market.resume), journals its
// events as one record (none if there are none), settles them and answers.
func (a *Actor) cancel(ctx actor.Context, cmd messages.Command, replyTo *actor.PID) {
	defer func() {
		if r := recover(); r != nil {
			ctx.Send(replyTo, &messages.ErrorReply{Err: messages.ErrInternal})
			panic(r)
		}
	}()
	if a.env.Journal.Failed() {
		ctx.Send(replyTo, &messages.ErrorReply{Err: messages.ErrUnavailable})
		return
	}
	a.fault("decide", cmd)
	events, o, err := a.book.Execute(cmd)
	if err != nil {
		a.env.Journal.Reply(replyTo, &messages.ErrorReply{Err: err})
		return
	}
	var reply messages.Reply
	if o != nil {
		reply = &messages.OrderReply{Order: *o}
	}
	cancels := len(events) // one OrderFinished per order cancelled
	switch c := cmd.(type) {
	case *messages.CancelAll:
		reply = &messages.CancelAllReply{Count: len(events)}
	case *messages.Amend:
		cancels = 0
	case *messages.CancelAfter:
		reply = &messages.CancelAfterReply{Deadline: a.book.Deadline(c.User)}
		cancels = 0
	case *messages.MarketHalt:
		reply = &messages.StatusReply{}
		cancels = 0
		if len(events) > 0 {
			ctx.Logger().Warn("market halt changed", "market", c.Market, "halted", c.Halt)
		}
		a.env.Dir.SetHalted(c.Market, a.book.Halted())
	}
	if len(events) > 0 {
		lsn := a.env.Journal.Append(events)
		a.settle(ctx, lsn, 0, events)
	}
	if m := a.env.Metrics; m != nil {
		m.Cancels.Add(float64(cancels))
	}
	a.env.Journal.Reply(replyTo, reply)
}

// tick fires the dead-man's switches due at now: one journal record for
// all of them.
func (a *Actor) tick(ctx actor.Context, now int64) {
	if a.env.Journal.Failed() {
		return // they fire at the first tick after the journal recovers
	}
	events := a.book.Expire(now)
	if len(events) == 0 {
		return
	}
	lsn := a.env.Journal.Append(events)
	a.settle(ctx, lsn, 0, events)
	if m := a.env.Metrics; m != nil {
		fired := countSwitches(events)
		m.Switches.Add(float64(fired))
		m.Cancels.Add(float64(len(events) - fired))
	}
	ctx.Logger().Info("dead-man's switch fired", "market", a.book.Config().Market, "events", len(events))
}

func countSwitches(events []messages.Event) (n int) {
	for _, ev := range events {
		if _, ok := ev.(*messages.CancelAfterSet); ok {
			n++
		}
	}
	return n
}

func (a *Actor) fault(point string, cmd messages.Command) {
	if f := a.env.Faults; f != nil && f(a.name, point, cmd) {
		panic("bourse: injected fault")
	}
}

func (a *Actor) unreserve(ctx actor.Context, reservation uint64, user uint32, typ messages.OrderType, side messages.Side, amount, price int64) {
	asset, res := a.book.Config().Reservation(typ, side, amount, price)
	ctx.Send(a.env.Dir.Shard(user), &messages.Unreserve{Reservation: reservation, User: user, Asset: asset, Amount: res})
}

// settle sends one Settle, sharing the events, to each shard owning a user
// the events touch, and returns the number of trades and of stop triggers
// among the events.
func (a *Actor) settle(ctx actor.Context, lsn, reservation uint64, events []messages.Event) (trades, triggers int) {
	n := uint32(len(a.shards))
	for _, ev := range events {
		switch ev.Type() {
		case messages.TypeTrade:
			trades++
		case messages.TypeStopTriggered:
			triggers++
		}
		sc := ev.Scope()
		shards, k := sc.Shards(n, a.env.FeeUser)
		for _, i := range shards[:k] {
			a.shards[i] = true
		}
	}
	msg := &messages.Settle{LSN: lsn, Reservation: reservation, Events: events}
	for i, on := range a.shards {
		if on {
			ctx.Send(a.env.Dir.Shards[i], msg)
			a.shards[i] = false
		}
	}
	return trades, triggers
}
