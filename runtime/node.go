package runtime

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/bourse-exchange/bourse/actors"
	"github.com/bourse-exchange/bourse/actors/balance"
	"github.com/bourse-exchange/bourse/actors/balance/ledger"
	"github.com/bourse-exchange/bourse/actors/market"
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/runtime/config"
)

// Node is one running exchange: the actor system, its supervisors and the
// Router that edges call.
type Node struct {
	Config *config.Config
	System *actor.ActorSystem
	Router *actors.Router
	log    *slog.Logger
}

// Options tune a node beyond its configuration file.
type Options struct {
	// Logger receives the node's and protoactor's records; nil: slog.Default().
	Logger *slog.Logger
	// MarketProps are extra props options for every market actor (mailbox,
	// dispatcher); nil: protoactor's defaults.
	MarketProps []actor.PropsOption
	// ShardProps likewise for balance shards.
	ShardProps []actor.PropsOption
}

// Start builds and starts a node for cfg. State starts empty and lives in
// memory only (the durable journal is not built yet).
func Start(cfg *config.Config, opts Options) (*Node, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return log.With("component", "protoactor")
	}))
	names := make([]string, len(cfg.Markets))
	for i, m := range cfg.Markets {
		names[i] = m.Name
	}
	dir := actors.NewDirectory(system, names, cfg.BalanceShards)

	books := make([]book.Config, len(cfg.Markets))
	marketChildren := make([]child, len(cfg.Markets))
	for i, m := range cfg.Markets {
		books[i] = book.ConfigOf(m)
		marketChildren[i] = child{m.Name, market.Props(book.New(books[i]), dir, cfg.FeeUserID, opts.MarketProps...)}
	}
	shardChildren := make([]child, cfg.BalanceShards)
	for i := range shardChildren {
		l := ledger.New(ledger.Config{
			Assets: len(cfg.Assets), FeeUser: cfg.FeeUserID,
			WindowMicros: cfg.IdempotencyWindow.Microseconds(), Shard: i, Shards: cfg.BalanceShards,
		})
		shardChildren[i] = child{actors.ShardName(i), balance.Props(l, books, dir, opts.ShardProps...)}
	}
	n := &Node{Config: cfg, System: system, log: log}
	for _, sup := range []struct {
		name     string
		children []child
	}{{actors.ShardsSupervisor, shardChildren}, {actors.MarketsSupervisor, marketChildren}} {
		pid, err := system.Root.SpawnNamed(supervisorProps(sup.children), sup.name)
		if err != nil {
			system.Shutdown()
			return nil, fmt.Errorf("runtime: spawn %s: %w", sup.name, err)
		}
		if _, err := system.Root.RequestFuture(pid, &awaitReady{}, 5*time.Second).Result(); err != nil {
			system.Shutdown()
			return nil, fmt.Errorf("runtime: %s did not start: %w", sup.name, err)
		}
	}
	n.Router = actors.NewRouter(cfg, system, dir, cfg.HTTP.Timeout)
	log.Info("exchange started", "markets", len(cfg.Markets), "assets", len(cfg.Assets), "balance_shards", cfg.BalanceShards)
	return n, nil
}

// Shutdown stops the actors: markets first (no new settlements), then shards.
func (n *Node) Shutdown(ctx context.Context) error {
	for _, name := range []string{actors.MarketsSupervisor, actors.ShardsSupervisor} {
		pid := n.System.NewLocalPID(name)
		if err := n.System.Root.PoisonFuture(pid).Wait(); err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
	}
	n.System.Shutdown()
	return nil
}
