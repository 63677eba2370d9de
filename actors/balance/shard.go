package balance

import (
	"github.com/bourse-exchange/bourse/actors"
	"github.com/bourse-exchange/bourse/actors/balance/ledger"
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/holiman/uint256"
)

// Shard is a balance shard's state and decisions without the actor around
// them: the ledger, the reservations in flight to markets, and what each
// write command decides (a Step the actor commits). The core tests drive
// it directly.
type Shard struct {
	ledger   *ledger.Ledger
	index    int
	inflight map[uint64]reservation // by reservation id
	blocked  map[uint32]int         // users with lost reservations: how many
	seq      uint64
	rebuilt  uint64 // Settles at or below this LSN are already in the ledger
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

// NewShard returns shard index owning l, with nothing in flight.
func NewShard(l *ledger.Ledger, index int) *Shard {
	return &Shard{ledger: l, index: index, inflight: make(map[uint64]reservation), blocked: make(map[uint32]int)}
}

// Ledger returns the shard's ledger.
func (a *Shard) Ledger() *ledger.Ledger { return a.ledger }

// Blocked reports whether user's write commands wait for a lost
// reservation's answer (see reservation).
func (a *Shard) Blocked(user uint32) bool { return a.blocked[user] > 0 }

// Decide decides a write command into s: a balance.update (c nil) or an
// order for the market c, whose funds it reserves before forwarding it.
func (a *Shard) Decide(cmd messages.Command, c *book.Config, s *actors.Step) {
	switch m := cmd.(type) {
	case *messages.PutLimit:
		a.putLimit(m, c, s)
	case *messages.PutMarket:
		a.putMarket(m, c, s)
	case *messages.BalanceUpdate:
		a.update(m, s)
	}
}

// Settle applies the events of a journal record to the ledger (their other
// users are other shards') and forgets the reservation it answers. It
// handles the Settles markets send and this shard's own balance updates.
func (a *Shard) Settle(m *messages.Settle) {
	r, ok := a.inflight[m.Reservation]
	a.forget(m.Reservation, r, ok) // first: a panic below must not leave it in flight
	if m.LSN != 0 && m.LSN <= a.rebuilt {
		return // the rebuilt ledger already holds this record
	}
	for _, ev := range m.Events {
		mode := ledger.Live
		if ok && r.lost && ev.Type() == messages.TypeOrderPlaced {
			mode = ledger.Replay // the reservation was lost in a rebuild: freeze now
		}
		a.ledger.Apply(ev, mode)
	}
}

// Unreserve gives back a reservation its market refused or rejected.
func (a *Shard) Unreserve(m *messages.Unreserve) {
	if r, ok := a.inflight[m.Reservation]; ok {
		a.forget(m.Reservation, r, ok)
		if !r.lost {
			a.ledger.Unreserve(r.user, r.asset, &r.amount)
		}
	}
}

// replace replaces the ledger with l, rebuilt from the journal up to LSN
// upto, and marks every reservation still in flight lost.
func (a *Shard) replace(l *ledger.Ledger, upto uint64) {
	for id, r := range a.inflight {
		if !r.lost {
			r.lost = true
			a.inflight[id] = r
			a.blocked[r.user]++
		}
	}
	a.ledger, a.rebuilt = l, upto
}

// update decides a balance.update.
func (a *Shard) update(m *messages.BalanceUpdate, s *actors.Step) {
	ev, err := a.ledger.DecideUpdate(m)
	if err != nil {
		s.Reject(err)
		return
	}
	s.Events, s.Reply = []messages.Event{ev}, &messages.StatusReply{}
}

// forget drops an in-flight reservation and unblocks its user once the
// last lost one is answered.
func (a *Shard) forget(id uint64, r reservation, ok bool) {
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

// reserve freezes funds for an order and returns the reservation's id,
// unique across shards (id = seq × MaxShards + shard).
func (a *Shard) reserve(user uint32, asset messages.AssetID, amount *uint256.Int) (uint64, *messages.Error) {
	if err := a.ledger.Reserve(user, asset, amount); err != nil {
		return 0, err
	}
	a.seq++
	id := a.seq*actors.MaxShards + uint64(a.index)
	a.inflight[id] = reservation{user: user, asset: asset, amount: *amount}
	return id, nil
}

// putLimit runs the shard's checks in viabtc's order — arguments (1),
// balance (10), min_amount (11) — reserves the funds and forwards the order
// to its market, which replies.
func (a *Shard) putLimit(m *messages.PutLimit, c *book.Config, s *actors.Step) {
	if err := c.CheckLimit(m); err != nil {
		s.Reject(err)
		return
	}
	asset, res := c.Reservation(messages.Limit, m.Side, m.Amount, m.Price)
	if b := a.ledger.Balance(m.User, asset); b.Available.Lt(&res) {
		s.Reject(messages.ErrBalanceNotEnough)
		return
	}
	if err := c.CheckMinAmount(m.Amount); err != nil {
		s.Reject(err)
		return
	}
	id, err := a.reserve(m.User, asset, &res)
	if err != nil {
		s.Reject(err)
		return
	}
	m.Reservation = id
	s.Forward, s.Market = m, m.Market
}

// putMarket checks arguments (1) and balance (10), reserves and forwards;
// the market checks the book (12) and min_amount (11).
func (a *Shard) putMarket(m *messages.PutMarket, c *book.Config, s *actors.Step) {
	if err := c.CheckMarket(m); err != nil {
		s.Reject(err)
		return
	}
	asset, res := c.Reservation(messages.Market, m.Side, m.Amount, 0)
	id, err := a.reserve(m.User, asset, &res)
	if err != nil {
		s.Reject(err)
		return
	}
	m.Reservation = id
	s.Forward, s.Market = m, m.Market
}
