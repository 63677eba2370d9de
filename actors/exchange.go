package actors

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/bourse-exchange/bourse/actors/balance/ledger"
	"github.com/bourse-exchange/bourse/actors/market/book"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
)

// Exchange is what edges talk to: it routes a command to the actor that owns
// the state it touches, fills in ReplyTo, and waits for the reply.
//
// Do returns the reply (which may be a *messages.ErrorReply) or, when ctx ends
// first, messages.ErrServiceTimeout. It is safe for concurrent use. Do never
// blocks an actor: only the calling goroutine waits.
//
// Routing: BalanceQuery, BalanceUpdate, PutLimit, PutMarket go to the user's
// balance shard; Cancel, OrderBook, OrderDepth, OrderPending,
// OrderPendingDetail, MarketSummary go to the market; AssetSummary goes to
// every shard and the replies are summed.
type Exchange interface {
	Config() *config.Config
	Do(ctx context.Context, cmd messages.Command) (messages.Reply, error)
}

// Journal is what market and shard actors need of the journal writer
// (actors/journal.Journal): append the events of a step as one record; have
// a reply released once what was appended before it is durable; wait for
// everything appended so far to be committed (before rebuilding from the
// journal).
type Journal interface {
	Append(events []messages.Event) (lsn uint64)
	Reply(replyTo *actor.PID, reply messages.Reply)
	Barrier() (upto uint64, err error)
	Failed() bool
}

// Durable rebuilds one actor's core from durable state — the journal's
// records up to and including LSN upto — after that actor failed.
type Durable interface {
	Book(market messages.MarketID, upto uint64) (*book.Book, error)
	Ledger(shard int, upto uint64) (*ledger.Ledger, error)
}

// Faults, when set (tests only), is asked at fault points while an actor
// handles a command; true makes the actor panic there, as a bug would.
// Points: "decide" (before anything changed) and, in markets, "apply" (the
// book has changed but nothing is journaled or sent yet: the rebuilt actor
// must forget that change).
type Faults func(actor, point string, msg messages.Command) bool

// HaltReporter is implemented by an Exchange that knows which markets are
// halted (market.halt); market.list and market.summary show it.
type HaltReporter interface {
	Halted(messages.MarketID) bool
}

// StateReporter is implemented by an Exchange that can report where its
// journal stands and the hash of its state (the server.state method).
type StateReporter interface {
	State(ctx context.Context) (lsn uint64, hash string, err error)
}

// FollowerStatus is where one journal follower (history, market data,
// events) stands: the LSN of the last record its sink holds, how many
// durable records it has not stored yet, and its failed attempts so far.
type FollowerStatus struct {
	Name   string
	Cursor uint64
	Lag    uint64
	Errors int64
}

// FollowerReporter is implemented by an Exchange that runs journal
// followers (the server.state method lists them).
type FollowerReporter interface {
	Followers() []FollowerStatus
}
