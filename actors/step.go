package actors

import (
	"math/bits"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/bourse-exchange/bourse/messages"
)

// Step is what deciding one command produced, as a value: what to append to
// the journal, whom to settle and what to answer. The market and shard
// actors decide a command into a Step and Commit carries it out; the core
// tests (internal/coretest) drive the same decisions and the same
// Commit through an Outbox of their own.
type Step struct {
	// Events are appended as one journal record (none: nothing is), then
	// settled: sent to every balance shard owning a user they touch
	// (messages.Scope).
	Events []messages.Event
	// Reservation is the in-flight reservation of User's order this step
	// decides (0: none). It is settled with the events; with none (the
	// order was refused or rejected) it goes back to User's shard.
	Reservation uint64
	User        uint32
	// Forward, if set, is an order sent on to Market with its funds
	// reserved (a shard's step).
	Forward messages.Command
	Market  messages.MarketID
	// Reply is the answer to ReplyTo; with Reply nil and HasOrder set it
	// is Order (an OrderReply, which the outbox builds); else none. The
	// journal releases it once everything appended before it is durable,
	// unless Now is set: a command refused before anything was decided
	// (code 1 or 3) is answered at once.
	ReplyTo  *actor.PID
	Reply    messages.Reply
	Order    messages.Order
	HasOrder bool
	Now      bool

	// How far Commit got, for Recover.
	lsn      uint64
	appended bool
	settled  bool
}

// Refuse makes the step answer err at once: nothing was decided.
func (s *Step) Refuse(err *messages.Error) {
	s.Reply, s.Now = &messages.ErrorReply{Err: err}, true
}

// Reject makes the step answer err once what was appended before is
// durable (the error may describe that state: "repeat update").
func (s *Step) Reject(err *messages.Error) {
	s.Reply, s.Now = &messages.ErrorReply{Err: err}, false
}

// Outbox is where Commit sends a step: the journal and the other actors.
// Post is the one actors use.
type Outbox interface {
	Append(events []messages.Event) (lsn uint64)
	// Settle sends the events of the record last appended to a shard
	// (messages.Settle are shared: values keep the core tests free of
	// allocations).
	Settle(shard int, m messages.Settle)
	Unreserve(shard int, m messages.Unreserve)
	Forward(market messages.MarketID, cmd messages.Command)
	Reply(replyTo *actor.PID, reply messages.Reply, now bool)
	ReplyOrder(replyTo *actor.PID, o messages.Order)
	// Shards is the number of balance shards; FeeUser the fee account.
	Shards() int
	FeeUser() uint32
}

// Commit carries out a decided step, in the order that keeps the journal a
// causally consistent cut ("append before send", actors/journal): append
// the events, settle them (or give the reservation back), forward, reply.
func Commit(o Outbox, s *Step) {
	if len(s.Events) > 0 {
		s.lsn = o.Append(s.Events)
		s.appended = true
		settle(o, s)
		s.settled = true
	} else if s.Reservation != 0 {
		unreserve(o, s)
	}
	if s.Forward != nil {
		o.Forward(s.Market, s.Forward)
	}
	switch {
	case s.ReplyTo == nil:
	case s.Reply != nil:
		o.Reply(s.ReplyTo, s.Reply, s.Now)
	case s.HasOrder:
		o.ReplyOrder(s.ReplyTo, s.Order)
	}
}

// Recover, deferred around deciding and committing a step, answers a
// panic there with code 2 after finishing what the state needs: a
// reservation not yet settled goes back, events appended but not settled
// are settled. Then the panic goes on to the supervisor, which restarts
// the actor from the journal.
func Recover(o Outbox, s *Step) {
	r := recover()
	if r == nil {
		return
	}
	if !s.appended {
		if s.Reservation != 0 {
			unreserve(o, s)
		}
	} else if !s.settled {
		settle(o, s)
	}
	if s.ReplyTo != nil {
		o.Reply(s.ReplyTo, &messages.ErrorReply{Err: messages.ErrInternal}, true)
	}
	panic(r)
}

func unreserve(o Outbox, s *Step) {
	shard := int(s.User % uint32(o.Shards()))
	o.Unreserve(shard, messages.Unreserve{Reservation: s.Reservation, User: s.User})
	s.Reservation = 0 // given back once
}

// settle sends one Settle, sharing the events, to each shard that owns a
// user the events touch, in shard order.
func settle(o Outbox, s *Step) {
	n, fee := uint32(o.Shards()), o.FeeUser()
	var on [MaxShards / 64]uint64
	for _, ev := range s.Events {
		sc := ev.Scope()
		shards, k := sc.Shards(n, fee)
		for _, i := range shards[:k] {
			on[i/64] |= 1 << (i % 64)
		}
	}
	m := messages.Settle{LSN: s.lsn, Reservation: s.Reservation, Events: s.Events}
	for w, word := range on[:(n+63)/64] {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			word &^= 1 << b
			o.Settle(w*64+b, m)
		}
	}
}

// Post is the Outbox of an actor: its journal, and the other actors
// through the context of the message it is handling (set Ctx first).
type Post struct {
	Ctx     actor.Context
	Journal Journal
	Dir     *Directory
	Fee     uint32
	// Self is the index of the shard whose actor this is (-1: a market);
	// its own Settle goes to Local at once instead of through its mailbox.
	Self  int
	Local func(*messages.Settle)
	// Appended, if set, is called after each append.
	Appended func()

	settle *messages.Settle // of the record last appended, shared by its shards
}

// Append implements Outbox.
func (p *Post) Append(events []messages.Event) uint64 {
	lsn := p.Journal.Append(events)
	p.settle = nil
	if p.Appended != nil {
		p.Appended()
	}
	return lsn
}

// Settle implements Outbox: one message per record, shared by its shards.
func (p *Post) Settle(shard int, m messages.Settle) {
	if p.settle == nil {
		msg := m
		p.settle = &msg
	}
	if shard == p.Self {
		p.Local(p.settle)
		return
	}
	p.Ctx.Send(p.Dir.Shards[shard], p.settle)
}

// Unreserve implements Outbox.
func (p *Post) Unreserve(shard int, m messages.Unreserve) { p.Ctx.Send(p.Dir.Shards[shard], &m) }

// Forward implements Outbox.
func (p *Post) Forward(market messages.MarketID, cmd messages.Command) {
	p.Ctx.Send(p.Dir.Market(market), cmd)
}

// Reply implements Outbox.
func (p *Post) Reply(replyTo *actor.PID, reply messages.Reply, now bool) {
	if now {
		p.Ctx.Send(replyTo, reply)
		return
	}
	p.Journal.Reply(replyTo, reply)
}

// ReplyOrder implements Outbox.
func (p *Post) ReplyOrder(replyTo *actor.PID, o messages.Order) {
	p.Journal.Reply(replyTo, &messages.OrderReply{Order: o})
}

// Shards implements Outbox.
func (p *Post) Shards() int { return len(p.Dir.Shards) }

// FeeUser implements Outbox.
func (p *Post) FeeUser() uint32 { return p.Fee }
