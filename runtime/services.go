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

// StartServices opens the followers the node's configuration asks for —
// history in MySQL (history.dsn) or SQLite under dataDir, market data in
// Redis (marketdata.redis) or in memory with a checkpoint under dataDir,
// Kafka (kafka.brokers) if configured, and always the event bus — runs them
// on the journal feed until Shutdown, and routes the history and market
// data commands to them. The matching path never waits for any of them.
func (n *Node) StartServices(ctx context.Context, dataDir string) (*Services, error) {
	if n.Feed == nil {
		return nil, errors.New("runtime: services need a journal (a data directory or a journal DSN)")
	}
	cfg := n.Config
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
	if s.History, err = n.openHistory(ctx, dataDir, id, end); err != nil {
		return fail(err)
	}
	opened = append(opened, s.History)
	if s.MarketData, err = openMarketData(cfg, dataDir, n.log, id, end); err != nil {
		return fail(err)
	}
	opened = append(opened, s.MarketData)
	if len(cfg.Kafka.Brokers) > 0 {
		if s.Events, err = events.NewPublisher(cfg, events.PublisherOptions{Logger: n.log, Journal: id, JournalEnd: end}); err != nil {
			return fail(fmt.Errorf("kafka: %w", err))
		}
	}
	s.Bus = events.NewBus(cfg, n.Feed.Durable())

	n.Follow(s.History, FollowerBatch)
	n.Follow(s.MarketData, FollowerBatch)
	if s.Events != nil {
		n.Follow(s.Events, FollowerBatch)
	}
	n.Follow(s.Bus, FollowerBatch)
	n.Router.History = s.History
	n.Router.MarketData = s.MarketData
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
