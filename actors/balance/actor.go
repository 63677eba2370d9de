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
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/persistence/snapshot"
	"github.com/holiman/uint256"
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

// reservation is funds frozen for an order on its way to its market.
//
// A rebuild replaces the ledger with the journal's state, in which no
// reservation in flight exists: their orders' OrderPlaced is either in the
// replayed records (and froze the funds there) or still to come. Such a
// reservation is marked lost, and its user is blocked — write commands get
// code 3 — until the market's answer for it arrives: a Settle at or below
// the rebuilt LSN (already in the ledger), a later Settle (whose OrderPlaced
// then freezes the funds, as on replay) or an Unreserve (nothing to give
// back). While blocked, nothing can spend the funds the order needs.
type reservation struct {
	user   uint32
	asset  messages.AssetID
	amount uint256.Int
	lost   bool
}

// holder keeps the shard's state across restarts of the actor instance.
type holder struct {
	ledger   *ledger.Ledger
	inflight map[uint64]reservation // by reservation id
	blocked  map[uint32]int         // users with lost reservations: how many
	seq      uint64
	rebuilt  uint64 // Settles at or below this LSN are already in the ledger
	started  int
}

// Actor is one shard actor incarnation.
type Actor struct {
	*holder
	env   *Env
	index int
	name  string
}

// Props returns the props of shard index, owning l.
func Props(l *ledger.Ledger, index int, env *Env, opts ...actor.PropsOption) *actor.Props {
	h := &holder{ledger: l, inflight: make(map[uint64]reservation), blocked: make(map[uint32]int)}
	name := fmt.Sprintf("shard-%d", index)
	return actor.PropsFromProducer(func() actor.Actor {
		return &Actor{holder: h, env: env, index: index, name: name}
	}, opts...)
}

// Receive implements actor.Actor.
func (a *Actor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.started++
		if a.started > 1 {
			a.rebuild(ctx)
		}
	case *messages.Settle:
		r, ok := a.inflight[m.Reservation]
		a.forget(m.Reservation, r, ok) // first: a panic below must not leave it in flight
		if m.LSN != 0 && m.LSN <= a.rebuilt {
			return // the rebuilt ledger already holds this record
		}
		for _, ev := range m.Events {
			mode := ledger.Live
			if _, placed := ev.(*messages.OrderPlaced); placed && ok && r.lost {
				mode = ledger.Replay // the reservation was lost in a rebuild: freeze now
			}
			a.ledger.Apply(ev, mode)
		}
	case *messages.Unreserve:
		if r, ok := a.inflight[m.Reservation]; ok {
			a.forget(m.Reservation, r, ok)
			if !r.lost {
				a.ledger.Unreserve(m.User, m.Asset, &m.Amount)
			}
		}
	case *messages.PutLimit:
		defer a.recoverReply(ctx, m.ReplyTo)
		a.putLimit(ctx, m)
	case *messages.PutMarket:
		defer a.recoverReply(ctx, m.ReplyTo)
		a.putMarket(ctx, m)
	case *messages.BalanceUpdate:
		defer a.recoverReply(ctx, m.ReplyTo)
		if a.env.Journal.Failed() || a.blocked[m.User] > 0 {
			ctx.Send(m.ReplyTo, &messages.ErrorReply{Err: messages.ErrUnavailable})
			return
		}
		a.fault("decide", m)
		ev, err := a.ledger.DecideUpdate(m)
		if err != nil {
			a.reject(m.ReplyTo, err)
			return
		}
		a.env.Journal.Append([]messages.Event{ev})
		a.ledger.Apply(ev, ledger.Live)
		a.env.Journal.Reply(m.ReplyTo, &messages.StatusReply{})
	case *messages.BalanceQuery:
		a.query(ctx, m)
	case *messages.StateQuery:
		ctx.Send(m.ReplyTo, &messages.StateReply{Data: snapshot.AppendLedger(nil, a.ledger)})
	case *messages.AssetSummary:
		ctx.Send(m.ReplyTo, &messages.AssetSummaryReply{Rows: a.ledger.Summary(m.Assets)})
	}
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
			ctx.Send(m.ReplyTo, &messages.ErrorReply{Err: messages.ErrInvalidArgument})
			return
		}
		r.Balances[i] = a.ledger.Balance(m.User, as)
	}
	ctx.Send(m.ReplyTo, r)
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
	for id, r := range a.inflight {
		if !r.lost {
			r.lost = true
			a.inflight[id] = r
			a.blocked[r.user]++
		}
	}
	a.ledger, a.rebuilt = l, upto
	ctx.Logger().Warn("shard rebuilt from the journal after a failure", "shard", a.index, "lsn", upto, "in_flight", len(a.inflight))
}

// forget drops an in-flight reservation and unblocks its user once the
// last lost one is answered.
func (a *Actor) forget(id uint64, r reservation, ok bool) {
	if !ok {
		return
	}
	delete(a.inflight, id)
	if r.lost {
		if a.blocked[r.user]--; a.blocked[r.user] <= 0 {
			delete(a.blocked, r.user)
		}
	}
}

// reject answers a write command with a catalogue error through the
// journal, so the answer (e.g. "repeat update") is released only once the
// state it describes is durable.
func (a *Actor) reject(replyTo *actor.PID, err *messages.Error) {
	a.env.Journal.Reply(replyTo, &messages.ErrorReply{Err: err})
}

// reserve freezes funds for an order and returns the reservation's id,
// unique across shards (id = seq × MaxShards + shard).
func (a *Actor) reserve(user uint32, asset messages.AssetID, amount *uint256.Int) (uint64, *messages.Error) {
	if err := a.ledger.Reserve(user, asset, amount); err != nil {
		return 0, err
	}
	a.seq++
	id := a.seq*actors.MaxShards + uint64(a.index)
	a.inflight[id] = reservation{user: user, asset: asset, amount: *amount}
	return id, nil
}

// admit runs the checks every order command passes first — a known market
// (code 1), a journal that writes, a user not blocked by a rebuild and a
// market whose bounded mailbox is not full (code 3) — and returns the
// market's book configuration, or nil after answering.
func (a *Actor) admit(ctx actor.Context, cmd messages.Command, replyTo *actor.PID, user uint32, market messages.MarketID) *book.Config {
	if int(market) >= len(a.env.Markets) {
		ctx.Send(replyTo, &messages.ErrorReply{Err: messages.ErrInvalidArgument})
		return nil
	}
	if a.env.Journal.Failed() || a.blocked[user] > 0 || (a.env.MarketFull != nil && a.env.MarketFull(market)) {
		ctx.Send(replyTo, &messages.ErrorReply{Err: messages.ErrUnavailable})
		return nil
	}
	a.fault("decide", cmd)
	return &a.env.Markets[market]
}

// putLimit runs the shard's checks in viabtc's order — arguments (1),
// balance (10), min_amount (11) — reserves the funds and forwards the order
// to its market, which replies.
func (a *Actor) putLimit(ctx actor.Context, m *messages.PutLimit) {
	c := a.admit(ctx, m, m.ReplyTo, m.User, m.Market)
	if c == nil {
		return
	}
	if err := c.CheckLimit(m); err != nil {
		a.reject(m.ReplyTo, err)
		return
	}
	asset, res := c.Reservation(messages.Limit, m.Side, m.Amount, m.Price)
	if b := a.ledger.Balance(m.User, asset); b.Available.Lt(&res) {
		a.reject(m.ReplyTo, messages.ErrBalanceNotEnough)
		return
	}
	if err := c.CheckMinAmount(m.Amount); err != nil {
		a.reject(m.ReplyTo, err)
		return
	}
	id, err := a.reserve(m.User, asset, &res)
	if err != nil {
		a.reject(m.ReplyTo, err)
		return
	}
	m.Reservation = id
	ctx.Send(a.env.Dir.Markets[m.Market], m)
}

// putMarket checks arguments (1) and balance (10), reserves and forwards;
// the market checks the book (12) and min_amount (11).
func (a *Actor) putMarket(ctx actor.Context, m *messages.PutMarket) {
	c := a.admit(ctx, m, m.ReplyTo, m.User, m.Market)
	if c == nil {
		return
	}
	if err := c.CheckMarket(m); err != nil {
		a.reject(m.ReplyTo, err)
		return
	}
	asset, res := c.Reservation(messages.Market, m.Side, m.Amount, 0)
	id, err := a.reserve(m.User, asset, &res)
	if err != nil {
		a.reject(m.ReplyTo, err)
		return
	}
	m.Reservation = id
	ctx.Send(a.env.Dir.Markets[m.Market], m)
}

func (a *Actor) fault(point string, cmd messages.Command) {
	if f := a.env.Faults; f != nil && f(a.name, point, cmd) {
		panic("bourse: injected fault")
	}
}

// recoverReply answers a command whose handling panicked with code 2 (its
// state is rebuilt by the restart), then lets the panic reach the
// supervisor.
func (a *Actor) recoverReply(ctx actor.Context, replyTo *actor.PID) {
	if r := recover(); r != nil {
		ctx.Send(replyTo, &messages.ErrorReply{Err: messages.ErrInternal})
		panic(r)
	}
}
