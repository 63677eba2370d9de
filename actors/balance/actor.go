// Package balance is the balance shard actor: it owns the ledger of the users
// with user_id % shards == its index, answers their balance queries and
// updates, reserves funds for their orders before forwarding them to the
// market, and applies the settlements markets send back.
package balance

import (
	"github.com/asynkron/protoactor-go/actor"
	"github.com/bourse-exchange/bourse/actors"
	"github.com/bourse-exchange/bourse/actors/balance/ledger"
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/persistence/snapshot"
)

// Actor wraps a *ledger.Ledger. The ledger lives outside the actor instance
// so a supervised restart keeps it (until the journal exists).
type Actor struct {
	ledger  *ledger.Ledger
	journal actors.Journal
	markets []book.Config
	dir     *actors.Directory
}

// Props returns the props of a shard actor owning l.
func Props(l *ledger.Ledger, j actors.Journal, markets []book.Config, dir *actors.Directory, opts ...actor.PropsOption) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &Actor{ledger: l, journal: j, markets: markets, dir: dir}
	}, opts...)
}

// Receive implements actor.Actor.
func (a *Actor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *messages.Settle:
		for _, ev := range m.Events {
			a.ledger.Apply(ev, ledger.Live)
		}
	case *messages.Unreserve:
		a.ledger.Unreserve(m.User, m.Asset, &m.Amount)
	case *messages.PutLimit:
		defer recoverReply(ctx, m.ReplyTo)
		a.putLimit(ctx, m)
	case *messages.PutMarket:
		defer recoverReply(ctx, m.ReplyTo)
		a.putMarket(ctx, m)
	case *messages.BalanceUpdate:
		defer recoverReply(ctx, m.ReplyTo)
		if a.journal.Failed() {
			ctx.Send(m.ReplyTo, &messages.ErrorReply{Err: messages.ErrUnavailable})
			return
		}
		ev, err := a.ledger.DecideUpdate(m)
		if err != nil {
			ctx.Send(m.ReplyTo, &messages.ErrorReply{Err: err})
			return
		}
		a.journal.Append([]messages.Event{ev}, m.ReplyTo, &messages.StatusReply{})
		a.ledger.Apply(ev, ledger.Live)
	case *messages.BalanceQuery:
		assets := m.Assets
		if len(assets) == 0 {
			assets = make([]messages.AssetID, a.ledger.Config().Assets)
			for i := range assets {
				assets[i] = messages.AssetID(i)
			}
		}
		r := &messages.BalanceQueryReply{Assets: assets, Balances: make([]messages.Balance, len(assets))}
		for i, as := range assets {
			if int(as) >= a.ledger.Config().Assets {
				ctx.Send(m.ReplyTo, &messages.ErrorReply{Err: messages.ErrInvalidArgument})
				return
			}
			r.Balances[i] = a.ledger.Balance(m.User, as)
		}
		ctx.Send(m.ReplyTo, r)
	case *messages.StateQuery:
		ctx.Send(m.ReplyTo, &messages.StateReply{Data: snapshot.AppendLedger(nil, a.ledger)})
	case *messages.AssetSummary:
		ctx.Send(m.ReplyTo, &messages.AssetSummaryReply{Rows: a.ledger.Summary(m.Assets)})
	}
}

// putLimit runs the shard's checks in viabtc's order — arguments (1),
// balance (10), min_amount (11) — reserves the funds and forwards the order
// to its market, which replies.
func (a *Actor) putLimit(ctx actor.Context, m *messages.PutLimit) {
	if int(m.Market) >= len(a.markets) {
		ctx.Send(m.ReplyTo, &messages.ErrorReply{Err: messages.ErrInvalidArgument})
		return
	}
	c := &a.markets[m.Market]
	if a.journal.Failed() {
		ctx.Send(m.ReplyTo, &messages.ErrorReply{Err: messages.ErrUnavailable})
		return
	}
	if err := c.CheckLimit(m); err != nil {
		ctx.Send(m.ReplyTo, &messages.ErrorReply{Err: err})
		return
	}
	asset, res := c.Reservation(messages.Limit, m.Side, m.Amount, m.Price)
	if b := a.ledger.Balance(m.User, asset); b.Available.Lt(&res) {
		ctx.Send(m.ReplyTo, &messages.ErrorReply{Err: messages.ErrBalanceNotEnough})
		return
	}
	if err := c.CheckMinAmount(m.Amount); err != nil {
		ctx.Send(m.ReplyTo, &messages.ErrorReply{Err: err})
		return
	}
	if err := a.ledger.Reserve(m.User, asset, &res); err != nil {
		ctx.Send(m.ReplyTo, &messages.ErrorReply{Err: err})
		return
	}
	ctx.Send(a.dir.Markets[m.Market], m)
}

// putMarket checks arguments (1) and balance (10), reserves and forwards;
// the market checks the book (12) and min_amount (11).
func (a *Actor) putMarket(ctx actor.Context, m *messages.PutMarket) {
	if int(m.Market) >= len(a.markets) {
		ctx.Send(m.ReplyTo, &messages.ErrorReply{Err: messages.ErrInvalidArgument})
		return
	}
	c := &a.markets[m.Market]
	if a.journal.Failed() {
		ctx.Send(m.ReplyTo, &messages.ErrorReply{Err: messages.ErrUnavailable})
		return
	}
	if err := c.CheckMarket(m); err != nil {
		ctx.Send(m.ReplyTo, &messages.ErrorReply{Err: err})
		return
	}
	asset, res := c.Reservation(messages.Market, m.Side, m.Amount, 0)
	if err := a.ledger.Reserve(m.User, asset, &res); err != nil {
		ctx.Send(m.ReplyTo, &messages.ErrorReply{Err: err})
		return
	}
	ctx.Send(a.dir.Markets[m.Market], m)
}

func recoverReply(ctx actor.Context, replyTo *actor.PID) {
	if r := recover(); r != nil {
		ctx.Send(replyTo, &messages.ErrorReply{Err: messages.ErrInternal})
		panic(r)
	}
}
