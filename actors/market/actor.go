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
	"github.com/bourse-exchange/bourse/actors/corestate"
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/messages"
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
	env  *Env
	name string
	post actors.Post
	t0   time.Time // when the order being decided arrived (Metrics.Match)
}

// Props returns the props of a market actor owning b.
func Props(b *book.Book, env *Env, opts ...actor.PropsOption) *actor.Props {
	h := &holder{book: b}
	name := fmt.Sprintf("market-%d", b.Config().Market)
	return actor.PropsFromProducer(func() actor.Actor {
		a := &Actor{holder: h, env: env, name: name}
		a.post = actors.Post{Journal: env.Journal, Dir: env.Dir, Fee: env.FeeUser, Self: -1}
		if m := env.Metrics; m != nil {
			a.post.Appended = func() {
				if !a.t0.IsZero() {
					m.Match.Observe(time.Since(a.t0).Seconds())
					a.t0 = time.Time{}
				}
			}
		}
		return a
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
	a.post.Ctx = ctx
	switch cmd := ctx.Message().(type) {
	case *actor.Started:
		a.started++
		if a.started > 1 {
			a.rebuild(ctx)
		}
		a.env.Dir.SetHalted(a.book.Config().Market, a.book.Halted())
	case *messages.PutLimit:
		a.order(ctx, cmd, actors.PID(cmd.ReplyTo))
	case *messages.PutMarket:
		a.order(ctx, cmd, actors.PID(cmd.ReplyTo))
	case *messages.Cancel:
		a.cancel(ctx, cmd, actors.PID(cmd.ReplyTo))
	case *messages.CancelAll:
		a.cancel(ctx, cmd, actors.PID(cmd.ReplyTo))
	case *messages.Amend:
		a.cancel(ctx, cmd, actors.PID(cmd.ReplyTo))
	case *messages.CancelAfter:
		a.cancel(ctx, cmd, actors.PID(cmd.ReplyTo))
	case *messages.MarketHalt:
		a.cancel(ctx, cmd, actors.PID(cmd.ReplyTo))
	case *messages.Tick:
		a.tick(ctx, cmd.Time)
	case *actors.MarketRules:
		a.rules(ctx, cmd)
	case *messages.OrderBook:
		if cmd.Side != messages.Ask && cmd.Side != messages.Bid {
			ctx.Send(actors.PID(cmd.ReplyTo), &messages.ErrorReply{Err: messages.ErrInvalidArgument})
			return
		}
		total, orders := a.book.Orders(cmd.Side, cmd.Offset, cmd.Limit)
		ctx.Send(actors.PID(cmd.ReplyTo), &messages.OrderListReply{Total: total, Orders: orders})
	case *messages.OrderPending:
		total, orders := a.book.Pending(cmd.User, cmd.Offset, cmd.Limit)
		ctx.Send(actors.PID(cmd.ReplyTo), &messages.OrderListReply{Total: total, Orders: orders})
	case *messages.OrderPendingDetail:
		var o *messages.Order
		if cmd.ClientID != "" {
			o = a.book.OrderByClientID(cmd.User, cmd.ClientID)
		} else {
			o = a.book.Order(cmd.OrderID)
		}
		ctx.Send(actors.PID(cmd.ReplyTo), &messages.OrderDetailReply{Order: o})
	case *messages.OrderDepth:
		asks, bids := a.book.Depth(cmd.Limit, cmd.Interval)
		ctx.Send(actors.PID(cmd.ReplyTo), &messages.DepthReply{Asks: asks, Bids: bids})
	case *messages.StateQuery:
		ctx.Send(actors.PID(cmd.ReplyTo), &messages.StateReply{Data: corestate.AppendBook(nil, a.book)})
	case *messages.MarketSummary:
		s := a.book.Summary()
		ctx.Send(actors.PID(cmd.ReplyTo), &s)
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

// NewStep returns the step of cmd before it is decided: whom it answers
// and, for an order, the reservation a refusal or a panic gives back.
func NewStep(cmd messages.Command, replyTo *actor.PID) actors.Step {
	switch c := cmd.(type) {
	case *messages.PutLimit:
		return actors.Step{ReplyTo: replyTo, User: c.User, Reservation: c.Reservation}
	case *messages.PutMarket:
		return actors.Step{ReplyTo: replyTo, User: c.User, Reservation: c.Reservation}
	}
	return actors.Step{ReplyTo: replyTo}
}

// order decides an order command and commits the step (actors.Commit).
func (a *Actor) order(ctx actor.Context, cmd messages.Command, replyTo *actor.PID) {
	s := NewStep(cmd, replyTo)
	defer actors.Recover(&a.post, &s)
	m := a.env.Metrics
	if a.env.Journal.Failed() {
		s.Refuse(messages.ErrUnavailable)
		actors.Commit(&a.post, &s)
		if m != nil {
			m.Rejected.Inc()
		}
		return
	}
	a.fault("decide", cmd)
	if m != nil {
		a.t0 = time.Now()
	}
	Decide(a.book, cmd, &s)
	if len(s.Events) == 0 {
		if m != nil {
			m.Match.Observe(time.Since(a.t0).Seconds())
			m.Rejected.Inc()
			a.t0 = time.Time{}
		}
		actors.Commit(&a.post, &s)
		return
	}
	a.fault("apply", cmd)
	actors.Commit(&a.post, &s)
	if m != nil {
		trades, triggers := count(s.Events)
		m.Orders.Inc()
		m.Trades.Add(float64(trades))
		m.Triggers.Add(float64(triggers))
	}
}

// Decide runs cmd on the book and makes the step: the events with the
// answer, or the book's error.
func Decide(b *book.Book, cmd messages.Command, s *actors.Step) {
	events, o, err := b.Execute(cmd)
	if err != nil {
		s.Reject(err)
		return
	}
	s.Events = events
	switch c := cmd.(type) {
	case *messages.CancelAll:
		s.Reply = &messages.CancelAllReply{Count: len(events)}
	case *messages.CancelAfter:
		s.Reply = &messages.CancelAfterReply{Deadline: b.Deadline(c.User)}
	case *messages.MarketHalt:
		s.Reply = &messages.StatusReply{}
	default:
		if o != nil {
			s.Order, s.HasOrder = *o, true // o is the book's: copy it now
		}
	}
}

// cancel decides a command that places no order (order.cancel,
// order.cancel_all, order.amend, order.cancel_all_after, market.halt and
// market.resume) and commits the step: its events as one record (none if
// there are none), settled, then the answer.
func (a *Actor) cancel(ctx actor.Context, cmd messages.Command, replyTo *actor.PID) {
	s := NewStep(cmd, replyTo)
	defer actors.Recover(&a.post, &s)
	if a.env.Journal.Failed() {
		s.Refuse(messages.ErrUnavailable)
		actors.Commit(&a.post, &s)
		return
	}
	a.fault("decide", cmd)
	Decide(a.book, cmd, &s)
	if c, ok := cmd.(*messages.MarketHalt); ok && !rejected(&s) {
		if len(s.Events) > 0 {
			ctx.Logger().Warn("market halt changed", "market", c.Market, "halted", c.Halt)
		}
		a.env.Dir.SetHalted(c.Market, a.book.Halted())
	}
	actors.Commit(&a.post, &s)
	if m := a.env.Metrics; m != nil && s.Events != nil {
		switch cmd.(type) {
		case *messages.Cancel, *messages.CancelAll:
			m.Cancels.Add(float64(len(s.Events))) // one OrderFinished per order cancelled
		}
	}
}

// rules journals a change of the market's rules (market.update) as a step
// of its own and gives the book the new rules from there on.
func (a *Actor) rules(ctx actor.Context, m *actors.MarketRules) {
	s := actors.Step{ReplyTo: m.ReplyTo}
	defer actors.Recover(&a.post, &s)
	if a.env.Journal.Failed() {
		s.Refuse(messages.ErrUnavailable)
		actors.Commit(&a.post, &s)
		return
	}
	c := a.book.Config()
	c.MinAmount, c.MaxOpenOrders, c.STP = m.Config.MinAmount, m.Config.MaxOpenOrders, m.Config.STP
	s.Events, s.Reply = []messages.Event{m.Spec}, &messages.StatusReply{}
	actors.Commit(&a.post, &s)
	ctx.Logger().Warn("market rules changed", "market", c.Market, "min_amount", c.MinAmount,
		"max_open_orders", c.MaxOpenOrders, "stp", c.STP)
}

// rejected reports whether the step answers an error.
func rejected(s *actors.Step) bool {
	_, err := s.Reply.(*messages.ErrorReply)
	return err
}

// tick fires the dead-man's switches due at now: one journal record for
// all of them.
func (a *Actor) tick(ctx actor.Context, now int64) {
	if a.env.Journal.Failed() {
		return // they fire at the first tick after the journal recovers
	}
	s := actors.Step{Events: a.book.Expire(now)}
	if len(s.Events) == 0 {
		return
	}
	defer actors.Recover(&a.post, &s)
	actors.Commit(&a.post, &s)
	if m := a.env.Metrics; m != nil {
		fired := countSwitches(s.Events)
		m.Switches.Add(float64(fired))
		m.Cancels.Add(float64(len(s.Events) - fired))
	}
	ctx.Logger().Info("dead-man's switch fired", "market", a.book.Config().Market, "events", len(s.Events))
}

func countSwitches(events []messages.Event) (n int) {
	for _, ev := range events {
		if ev.Type() == messages.TypeCancelAfterSet {
			n++
		}
	}
	return n
}

// count returns the number of trades and of stop triggers among events.
func count(events []messages.Event) (trades, triggers int) {
	for _, ev := range events {
		switch ev.Type() {
		case messages.TypeTrade:
			trades++
		case messages.TypeStopTriggered:
			triggers++
		}
	}
	return trades, triggers
}

func (a *Actor) fault(point string, cmd messages.Command) {
	if f := a.env.Faults; f != nil && f(a.name, point, cmd) {
		panic("bourse: injected fault")
	}
}
