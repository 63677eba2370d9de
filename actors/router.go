package actors

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/bourse-exchange/bourse/actors/corestate"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
)

// Router is the Exchange of a running actor system. It owns no state: it
// reads the Directory and the configuration in force (each immutable, and
// replaced whole when the operator changes it at run time: SetConfig), and
// each Do waits on a future of its own.
type Router struct {
	// LastLSN, when set, reports the journal's last committed LSN.
	LastLSN func() uint64
	// History answers messages.HistoryCommand and MarketData answers
	// messages.MarketDataCommand; without them those commands get code 3.
	History, MarketData Querier
	// FollowerStatus, when set, reports the journal followers.
	FollowerStatus func() []FollowerStatus
	// Failed, when set, reports whether the journal has failed: then every
	// command the actors answer — queries of the live state included, which
	// may show effects that never became durable — gets code 3. History
	// and market data, which hold only durable records, still answer.
	Failed func() bool
	// Configure, when set, answers messages.ConfigCommand (asset.add,
	// market.add, market.update: runtime/configure.go); without it they
	// get code 3.
	Configure func(ctx context.Context, cmd messages.ConfigCommand) (messages.Reply, error)

	cfg     atomic.Pointer[config.Config]
	system  *actor.ActorSystem
	dir     *Directory
	timeout time.Duration
}

// NewRouter returns the Exchange for system's actors. Requests without a
// context deadline wait at most timeout.
func NewRouter(cfg *config.Config, system *actor.ActorSystem, dir *Directory, timeout time.Duration) *Router {
	r := &Router{system: system, dir: dir, timeout: timeout}
	r.cfg.Store(cfg)
	return r
}

// Config implements Exchange: the configuration in force, which a caller
// reads once per request (a run-time change replaces it whole).
func (r *Router) Config() *config.Config { return r.cfg.Load() }

// SetConfig puts cfg in force (runtime/configure.go, once the change is
// durable and every actor has it).
func (r *Router) SetConfig(cfg *config.Config) { r.cfg.Store(cfg) }

// Directory returns the actors' PIDs.
func (r *Router) Directory() *Directory { return r.dir }

// Halted reports whether a market is halted (market.halt).
func (r *Router) Halted(id messages.MarketID) bool { return r.dir.Halted(id) }

// Do implements Exchange.
func (r *Router) Do(ctx context.Context, cmd messages.Command) (messages.Reply, error) {
	switch c := cmd.(type) {
	case messages.HistoryCommand:
		return query(ctx, r.History, c)
	case messages.MarketDataCommand:
		return query(ctx, r.MarketData, c)
	}
	if r.Failed != nil && r.Failed() {
		return &messages.ErrorReply{Err: messages.ErrUnavailable}, nil
	}
	if c, ok := cmd.(messages.ConfigCommand); ok {
		if r.Configure == nil {
			return &messages.ErrorReply{Err: messages.ErrUnavailable}, nil
		}
		return r.Configure(ctx, c)
	}
	if c, ok := cmd.(*messages.AssetSummary); ok {
		return r.assetSummary(ctx, c)
	}
	fut := actor.NewFuture(r.system, r.wait(ctx))
	target := r.route(cmd, Addr(fut.PID()))
	if target == nil {
		return &messages.ErrorReply{Err: messages.ErrInvalidArgument}, nil
	}
	r.system.Root.Send(target, cmd)
	return result(fut)
}

// Querier answers read-only commands from a follower's store (history,
// market data). Query is safe for concurrent use; it returns a reply (maybe
// an *messages.ErrorReply) or, when ctx ends first, an error.
type Querier interface {
	Query(ctx context.Context, cmd messages.Command) (messages.Reply, error)
}

func query(ctx context.Context, q Querier, cmd messages.Command) (messages.Reply, error) {
	if q == nil {
		return &messages.ErrorReply{Err: messages.ErrUnavailable}, nil
	}
	rep, err := q.Query(ctx, cmd)
	if err != nil && ctx.Err() != nil {
		return nil, messages.ErrServiceTimeout
	}
	if err != nil {
		return &messages.ErrorReply{Err: messages.ErrInternal}, nil
	}
	return rep, nil
}

func (r *Router) wait(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return time.Until(dl)
	}
	return r.timeout
}

func result(fut *actor.Future) (messages.Reply, error) {
	res, err := fut.Result()
	if err != nil {
		return nil, messages.ErrServiceTimeout
	}
	reply, ok := res.(messages.Reply)
	if !ok {
		return &messages.ErrorReply{Err: messages.ErrInternal}, nil
	}
	return reply, nil
}

// route sets cmd's ReplyTo and returns the PID of the actor that owns it
// (messages.Routed says which), or nil for a command naming no existing
// market or one the router does not send to a single actor.
func (r *Router) route(cmd messages.Command, reply messages.Address) *actor.PID {
	c, ok := cmd.(messages.Routed)
	if !ok {
		return nil
	}
	c.SetReplyTo(reply)
	to := c.Route()
	switch {
	case to.HasMarket && r.dir.Market(to.Market) == nil:
		return nil
	case to.Owner == messages.ToMarket:
		return r.dir.Market(to.Market)
	}
	return r.dir.Shard(to.User)
}

// assetSummary asks every shard and sums their rows.
func (r *Router) assetSummary(ctx context.Context, c *messages.AssetSummary) (messages.Reply, error) {
	for _, a := range c.Assets {
		if int(a) >= len(r.Config().Assets) {
			return &messages.ErrorReply{Err: messages.ErrInvalidArgument}, nil
		}
	}
	d := r.wait(ctx)
	futs := make([]*actor.Future, len(r.dir.Shards))
	for i, pid := range r.dir.Shards {
		futs[i] = actor.NewFuture(r.system, d)
		r.system.Root.Send(pid, &messages.AssetSummary{ReplyTo: Addr(futs[i].PID()), Assets: c.Assets})
	}
	var sum *messages.AssetSummaryReply
	for _, f := range futs {
		reply, err := result(f)
		if err != nil {
			return nil, err
		}
		part, ok := reply.(*messages.AssetSummaryReply)
		if !ok {
			return reply, nil
		}
		if sum == nil {
			sum = part
			continue
		}
		for i := range sum.Rows {
			s, p := &sum.Rows[i], &part.Rows[i]
			s.AvailableCount += p.AvailableCount
			s.FrozenCount += p.FrozenCount
			s.Available.Add(&s.Available, &p.Available)
			s.Frozen.Add(&s.Frozen, &p.Frozen)
		}
	}
	return sum, nil
}

// StateHash asks every market and shard for its state and returns the state
// hash (persistence/corestate.Hash). Under load the actors answer at slightly
// different moments; on a quiescent node the hash is exact.
func (r *Router) StateHash(ctx context.Context) (string, error) {
	d := r.wait(ctx)
	all := r.dir.AllMarkets()
	pids := append(append([]*actor.PID{}, all...), r.dir.Shards...)
	futs := make([]*actor.Future, len(pids))
	for i, pid := range pids {
		futs[i] = actor.NewFuture(r.system, d)
		r.system.Root.Send(pid, &messages.StateQuery{ReplyTo: Addr(futs[i].PID())})
	}
	parts := make([][]byte, len(pids))
	for i, f := range futs {
		reply, err := result(f)
		if err != nil {
			return "", err
		}
		s, ok := reply.(*messages.StateReply)
		if !ok {
			return "", messages.ErrInternal
		}
		parts[i] = s.Data
	}
	return corestate.Hash(parts[:len(all)], parts[len(all):]), nil
}

// State implements StateReporter: the journal's last committed LSN (read
// first) and the state hash.
func (r *Router) State(ctx context.Context) (uint64, string, error) {
	var lsn uint64
	if r.LastLSN != nil {
		lsn = r.LastLSN()
	}
	h, err := r.StateHash(ctx)
	return lsn, h, err
}

// Followers implements FollowerReporter (none without FollowerStatus).
func (r *Router) Followers() []FollowerStatus {
	if r.FollowerStatus == nil {
		return nil
	}
	return r.FollowerStatus()
}
