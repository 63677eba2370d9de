// Package balance is the balance shard actor: it owns the ledger of the users
// with user_id % shards == its index, answers their balance queries and
// updates, reserves funds for their orders before forwarding them to the
// market, and applies the settlements markets send back.
package balance

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/bourse-exchange/bourse/actors"
	"github.com/bourse-exchange/bourse/actors/balance/ledger"
	"github.com/bourse-exchange/bourse/actors/corestate"
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/messages"
)

// Env is what a shard actor needs besides its ledger.
type Env struct {
	Journal actors.Journal
	Durable actors.Durable // nil: a failed actor keeps its in-memory ledger
	Markets []book.Config
	Dir     *actors.Directory
	Faults  actors.Faults
	// MarketFull, if set, reports whether a market's bounded mailbox is
	// full (config tuning, mailbox: bounded): its new orders are then
	// refused with code 3 before anything is reserved.
	MarketFull func(messages.MarketID) bool
}

// holder keeps the shard's state across restarts of the actor instance.
type holder struct {
	*Shard
	started int
	// markets is Env.Markets until the node gives the shard a new
	// configuration (actors.ShardConfig).
	markets []book.Config
}

// Actor is one shard actor incarnation.
type Actor struct {
	*holder
	env  *Env
	name string
	post actors.Post
}

// Props returns the props of shard index, owning l.
func Props(l *ledger.Ledger, index int, env *Env, opts ...actor.PropsOption) *actor.Props {
	h := &holder{Shard: NewShard(l, index), markets: env.Markets}
	name := fmt.Sprintf("shard-%d", index)
	return actor.PropsFromProducer(func() actor.Actor {
		a := &Actor{holder: h, env: env, name: name}
		a.post = actors.Post{Journal: env.Journal, Dir: env.Dir, Self: index, Local: a.Settle}
		return a
	}, opts...)
}

// Receive implements actor.Actor.
func (a *Actor) Receive(ctx actor.Context) {
	a.post.Ctx = ctx
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.started++
		if a.started > 1 {
			a.rebuild(ctx)
		}
	case *messages.Settle:
		a.Settle(m)
	case *messages.Unreserve:
		a.Unreserve(m)
	case *messages.PutLimit:
		a.step(m, actors.PID(m.ReplyTo), m.User, int(m.Market))
	case *messages.PutMarket:
		a.step(m, actors.PID(m.ReplyTo), m.User, int(m.Market))
	case *messages.BalanceUpdate:
		a.step(m, actors.PID(m.ReplyTo), m.User, -1)
	case *messages.BalanceQuery:
		a.query(ctx, m)
	case *messages.StateQuery:
		ctx.Send(actors.PID(m.ReplyTo), &messages.StateReply{Data: corestate.AppendLedger(nil, a.ledger)})
	case *actors.ShardConfig:
		a.ledger.AddAssets(m.Assets)
		a.markets = m.Markets
		ctx.Respond(m)
	case *messages.AssetSummary:
		ctx.Send(actors.PID(m.ReplyTo), &messages.AssetSummaryReply{Rows: a.ledger.Summary(m.Assets)})
	}
}

// step decides a write command, after the checks every one
// passes first — an order's market is known (code 1), the journal writes,
// the user is not blocked by a rebuild and an order's market has room in
// its bounded mailbox (code 3) — and commits the step (actors.Commit).
// market is -1 for a command that names none.
func (a *Actor) step(cmd messages.Command, replyTo *actor.PID, user uint32, market int) {
	s := actors.Step{ReplyTo: replyTo}
	defer actors.Recover(&a.post, &s)
	switch {
	case market >= len(a.markets):
		s.Refuse(messages.ErrInvalidArgument)
	case a.env.Journal.Failed() || a.Blocked(user) || a.full(market):
		s.Refuse(messages.ErrUnavailable)
	default:
		a.fault("decide", cmd)
		var c *book.Config
		if market >= 0 {
			c = &a.markets[market]
		}
		a.Decide(cmd, c, &s)
	}
	actors.Commit(&a.post, &s)
}

// full reports whether market's bounded mailbox is full (-1: no market).
func (a *Actor) full(market int) bool {
	return market >= 0 && a.env.MarketFull != nil && a.env.MarketFull(messages.MarketID(market))
}

func (a *Actor) query(ctx actor.Context, m *messages.BalanceQuery) {
	n := a.ledger.Config().Assets
	assets := m.Assets
	if len(assets) == 0 {
		assets = make([]messages.AssetID, n)
		for i := range assets {
			assets[i] = messages.AssetID(i)
		}
	}
	r := &messages.BalanceQueryReply{Assets: assets, Balances: make([]messages.Balance, len(assets))}
	for i, as := range assets {
		if int(as) >= n {
			ctx.Send(actors.PID(m.ReplyTo), &messages.ErrorReply{Err: messages.ErrInvalidArgument})
			return
		}
		r.Balances[i] = a.ledger.Balance(m.User, as)
	}
	ctx.Send(actors.PID(m.ReplyTo), r)
}

// rebuild replaces the ledger with one rebuilt from the journal, after
// waiting for every record appended so far to be committed, and marks every
// reservation still in flight lost (see reservation). Settles for records it
// replayed are then skipped.
func (a *Actor) rebuild(ctx actor.Context) {
	if a.env.Durable == nil {
		return
	}
	upto, err := a.env.Journal.Barrier()
	if err != nil {
		// The journal cannot write: every write is refused until restart,
		// which recovers the durable state. Keep serving reads.
		ctx.Logger().Error("shard not rebuilt: journal failed", "shard", a.index, "err", err)
		return
	}
	l, err := a.env.Durable.Ledger(a.index, upto)
	if err != nil {
		ctx.Logger().Error("shard rebuild failed", "shard", a.index, "err", err)
		panic(err)
	}
	a.replace(l, upto)
	ctx.Logger().Warn("shard rebuilt from the journal after a failure", "shard", a.index, "lsn", upto, "in_flight", len(a.inflight))
}

func (a *Actor) fault(point string, cmd messages.Command) {
	if f := a.env.Faults; f != nil && f(a.name, point, cmd) {
		panic("bourse: injected fault")
	}
}
