// Package market is the market actor: it owns one market's order book
// (package book), matches the orders its balance shards forward, settles the
// outcome with the shards of every user involved and answers book queries.
package market

import (
	"github.com/asynkron/protoactor-go/actor"
	"github.com/bourse-exchange/bourse/actors"
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/persistence/snapshot"
)

// Actor wraps a *book.Book. The book lives outside the actor instance so a
// supervised restart keeps it (until the journal exists, state is kept in
// memory only; see README).
type Actor struct {
	book    *book.Book
	journal actors.Journal
	dir     *actors.Directory
	feeUser uint32
	shards  []bool // scratch: which shards a settlement goes to
}

// Props returns the props of a market actor owning b.
func Props(b *book.Book, j actors.Journal, dir *actors.Directory, feeUser uint32, opts ...actor.PropsOption) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &Actor{book: b, journal: j, dir: dir, feeUser: feeUser, shards: make([]bool, len(dir.Shards))}
	}, opts...)
}

// Receive implements actor.Actor.
//
// Order commands (PutLimit, PutMarket) arrive from the user's shard with the
// funds already reserved. Accepted: the events are appended to the journal
// with the reply, which the journal releases once they are durable; then
// they go to every involved shard (Settle). Rejected: the reservation goes
// back to the shard (Unreserve), then the error reply (nothing changed, so
// nothing to journal). Messages to shards are sent before the reply can be,
// so a client that reads its balance after the reply sees the outcome.
// While the journal is failed, write commands get code 3.
func (a *Actor) Receive(ctx actor.Context) {
	switch cmd := ctx.Message().(type) {
	case *messages.PutLimit:
		defer a.recoverOrder(ctx, cmd.ReplyTo, cmd.User, messages.Limit, cmd.Side, cmd.Amount, cmd.Price)
		a.execute(ctx, cmd, cmd.ReplyTo, cmd.User, messages.Limit, cmd.Side, cmd.Amount, cmd.Price)
	case *messages.PutMarket:
		defer a.recoverOrder(ctx, cmd.ReplyTo, cmd.User, messages.Market, cmd.Side, cmd.Amount, 0)
		a.execute(ctx, cmd, cmd.ReplyTo, cmd.User, messages.Market, cmd.Side, cmd.Amount, 0)
	case *messages.Cancel:
		defer recoverReply(ctx, cmd.ReplyTo)
		if a.journal.Failed() {
			ctx.Send(cmd.ReplyTo, &messages.ErrorReply{Err: messages.ErrUnavailable})
			return
		}
		events, o, err := a.book.Execute(cmd)
		if err != nil {
			ctx.Send(cmd.ReplyTo, &messages.ErrorReply{Err: err})
			return
		}
		a.journal.Append(events, cmd.ReplyTo, &messages.OrderReply{Order: o})
		a.settle(ctx, events)
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
		ctx.Send(cmd.ReplyTo, &messages.OrderDetailReply{Order: a.book.Order(cmd.OrderID)})
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

func (a *Actor) execute(ctx actor.Context, cmd messages.Command, replyTo *actor.PID, user uint32,
	typ messages.OrderType, side messages.Side, amount, price int64) {
	if a.journal.Failed() {
		a.unreserve(ctx, user, typ, side, amount, price)
		ctx.Send(replyTo, &messages.ErrorReply{Err: messages.ErrUnavailable})
		return
	}
	events, o, err := a.book.Execute(cmd)
	if err != nil {
		a.unreserve(ctx, user, typ, side, amount, price)
		ctx.Send(replyTo, &messages.ErrorReply{Err: err})
		return
	}
	a.journal.Append(events, replyTo, &messages.OrderReply{Order: o})
	a.settle(ctx, events)
}

func (a *Actor) unreserve(ctx actor.Context, user uint32, typ messages.OrderType, side messages.Side, amount, price int64) {
	asset, res := a.book.Config().Reservation(typ, side, amount, price)
	ctx.Send(a.dir.Shard(user), &messages.Unreserve{User: user, Asset: asset, Amount: res})
}

// settle sends one Settle, sharing the events, to each shard owning a user
// the events touch.
func (a *Actor) settle(ctx actor.Context, events []messages.Event) {
	n := len(a.shards)
	mark := func(u uint32) { a.shards[int(u%uint32(n))] = true }
	for _, ev := range events {
		switch e := ev.(type) {
		case *messages.OrderPlaced:
			mark(e.Order.User)
		case *messages.Trade:
			mark(e.AskUser)
			mark(e.BidUser)
			mark(a.feeUser)
		case *messages.OrderFinished:
			mark(e.User)
		}
	}
	msg := &messages.Settle{Events: events}
	for i, on := range a.shards {
		if on {
			ctx.Send(a.dir.Shards[i], msg)
			a.shards[i] = false
		}
	}
}

// recoverOrder answers an order command whose handling panicked with code 2
// and returns its reservation if the book had not accepted it, then lets the
// panic reach the supervisor.
func (a *Actor) recoverOrder(ctx actor.Context, replyTo *actor.PID, user uint32,
	typ messages.OrderType, side messages.Side, amount, price int64) {
	if r := recover(); r != nil {
		a.unreserve(ctx, user, typ, side, amount, price)
		ctx.Send(replyTo, &messages.ErrorReply{Err: messages.ErrInternal})
		panic(r)
	}
}

func recoverReply(ctx actor.Context, replyTo *actor.PID) {
	if r := recover(); r != nil {
		ctx.Send(replyTo, &messages.ErrorReply{Err: messages.ErrInternal})
		panic(r)
	}
}
