package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/persistence/events"
	"github.com/bourse-exchange/bourse/persistence/history"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
	"github.com/bourse-exchange/bourse/persistence/marketdata"
)

// FollowerBatch is how many journal records a follower takes at once.
const FollowerBatch = 1000

// Services are the node's journal followers (docs/design.md "Followers") and what they
// answer: the history store (the readhistory methods), market data (the
// marketprice methods), the Kafka publisher and the in-process event bus.
// A follower the configuration switches off (config.Followers) is nil.
type Services struct {
	History    *history.Store
	MarketData *marketdata.Store
	// Events is nil when kafka.brokers is empty.
	Events *events.Publisher
	Bus    *events.Bus
}

// HistoryPath is the SQLite history database under a data directory.
func HistoryPath(dataDir string) string { return filepath.Join(dataDir, "history.db") }

// MarketDataDir is where in-memory market data keeps its checkpoint.
func MarketDataDir(dataDir string) string { return filepath.Join(dataDir, "marketdata") }

// StartServices opens the followers the node's configuration asks for
// (followers.*) — history in MySQL (history.dsn) or SQLite under dataDir,
// market data in Redis (marketdata.redis) or in memory with a checkpoint
// under dataDir, Kafka if kafka.brokers is set, the event bus — runs them
// on the journal feed until Shutdown, and routes the history and market
// data commands to them (code 3 for a follower switched off). The
// matching path never waits for any of them.
func (n *Node) StartServices(ctx context.Context, dataDir string) (*Services, error) {
	if n.Feed == nil {
		return nil, errors.New("runtime: services need a journal (a data directory or a journal DSN)")
	}
	s, err := n.openServices(ctx, dataDir)
	if err != nil {
		return nil, err
	}
	var run []Follower
	if s.History != nil {
		run = append(run, s.History)
		n.Router.History = s.History
	}
	if s.MarketData != nil {
		run = append(run, s.MarketData)
		n.Router.MarketData = s.MarketData
	}
	if s.Events != nil {
		run = append(run, s.Events)
	}
	if s.Bus != nil {
		run = append(run, s.Bus)
	}
	for _, fl := range run {
		n.Follow(fl, FollowerBatch)
	}
	if len(run) == 0 {
		n.Feed.Seed(nil) // the derive stage will not run: drop its state
	}
	return s, nil
}

// openServices opens the followers the configuration switches on.
func (n *Node) openServices(ctx context.Context, dataDir string) (*Services, error) {
	cfg := n.Config
	on := cfg.Followers
	s := &Services{}
	var opened []io.Closer
	fail := func(err error) (*Services, error) {
		for _, c := range opened {
			c.Close()
		}
		return nil, err
	}
	// Each store keeps the journal's identity with its cursor and checks
	// it now (history, the memory market data) or when it connects
	// (Redis, Kafka): see their Options.Journal.
	id, end := &n.Identity, n.Opened
	if id.ID == "" {
		id = nil
	}
	var err error
	if on.History {
		if s.History, err = n.openHistory(ctx, dataDir, id, end); err != nil {
			return fail(err)
		}
		opened = append(opened, s.History)
	}
	if on.MarketData {
		if s.MarketData, err = openMarketData(cfg, dataDir, n.log, id, end); err != nil {
			return fail(err)
		}
		opened = append(opened, s.MarketData)
	}
	if on.Kafka && len(cfg.Kafka.Brokers) > 0 {
		if s.Events, err = events.NewPublisher(cfg, events.PublisherOptions{Logger: n.log, Journal: id, JournalEnd: end}); err != nil {
			return fail(fmt.Errorf("kafka: %w", err))
		}
	}
	if on.Bus {
		s.Bus = events.NewBus(cfg, n.Feed.Durable())
	}
	return s, nil
}

// openHistory opens the history store: in MySQL if history.dsn is set,
// else in SQLite under dataDir. When the journal was cut back under it,
// the node starts a new timeline and the store takes its identity.
func (n *Node) openHistory(ctx context.Context, dataDir string, id *pj.Identity, end uint64) (*history.Store, error) {
	cfg := n.Config
	// AllowSkips: when the journal no longer holds what follows the
	// cursor (a follower lagging beyond snapshot.max_follower_lag), the
	// feed skips ahead; the store records the skip instead of stalling.
	hopts := history.Options{Config: cfg, DSN: cfg.History.DSN, AllowSkips: true, Logger: n.log, Journal: id, JournalEnd: end}
	if hopts.DSN == "" {
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return nil, err
		}
		hopts.Path = HistoryPath(dataDir)
	}
	h, err := history.Open(ctx, hopts)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	if id != nil && h.Truncated() {
		// The journal was cut back under the history: a new timeline, so
		// that market data and Kafka, checked when they connect, do not
		// take the records written from now on for those they hold.
		if err := n.newTimeline(); err != nil {
			h.Close()
			return nil, err
		}
		if err := h.Rebind(ctx, n.Identity, end); err != nil {
			h.Close()
			return nil, fmt.Errorf("history: %w", err)
		}
	}
	return h, nil
}

// openMarketData opens the market data store: in Redis if
// marketdata.redis is set, else in memory with its checkpoint under
// dataDir.
func openMarketData(cfg *config.Config, dataDir string, log *slog.Logger, id *pj.Identity, end uint64) (*marketdata.Store, error) {
	mopts := marketdata.Options{Redis: cfg.MarketData.Redis, Logger: log, Journal: id, JournalEnd: end}
	if mopts.Redis == "" {
		mopts.Dir = MarketDataDir(dataDir)
		if err := os.MkdirAll(mopts.Dir, 0o755); err != nil {
			return nil, err
		}
	}
	m, err := marketdata.Open(cfg, mopts)
	if err != nil {
		return nil, fmt.Errorf("market data: %w", err)
	}
	return m, nil
}
