package actors

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/runtime/config"
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
// (actors/journal.Journal): append the events of a step, and have the reply
// released once they are durable.
type Journal interface {
	Append(events []messages.Event, replyTo *actor.PID, reply messages.Reply)
	Failed() bool
}

// StateReporter is implemented by an Exchange that can report where its
// journal stands and the hash of its state (the server.state method).
type StateReporter interface {
	State(ctx context.Context) (lsn uint64, hash string, err error)
}
