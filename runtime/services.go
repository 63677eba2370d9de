package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/bourse-exchange/bourse/persistence/events"
	"github.com/bourse-exchange/bourse/persistence/history"
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
	// AllowSkips: when the journal no longer holds what follows the
	// cursor (a follower lagging beyond snapshot.max_follower_lag), the
	// feed skips ahead; the store records the skip instead of stalling.
	// Each store keeps the journal's identity with its cursor and checks
	// it now (history, the memory market data) or when it connects
	// (Redis, Kafka): see their Options.Journal.
	id, end := &n.Identity, n.Opened
	if id.ID == "" {
		id = nil
	}
	hopts := history.Options{Config: cfg, DSN: cfg.History.DSN, AllowSkips: true, Logger: n.log, Journal: id, JournalEnd: end}
	if hopts.DSN == "" {
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return fail(err)
		}
		hopts.Path = HistoryPath(dataDir)
	}
	var err error
	if s.History, err = history.Open(ctx, hopts); err != nil {
		return fail(fmt.Errorf("history: %w", err))
	}
	opened = append(opened, s.History)
	if id != nil && s.History.Truncated() {
		// The journal was cut back under the history: a new timeline, so
		// that market data and Kafka, checked when they connect, do not
		// take the records written from now on for those they hold.
		if err := n.newTimeline(); err != nil {
			return fail(err)
		}
		if err := s.History.Rebind(ctx, n.Identity, end); err != nil {
			return fail(fmt.Errorf("history: %w", err))
		}
	}
	mopts := marketdata.Options{Redis: cfg.MarketData.Redis, Logger: n.log, Journal: id, JournalEnd: end}
	if mopts.Redis == "" {
		mopts.Dir = MarketDataDir(dataDir)
		if err := os.MkdirAll(mopts.Dir, 0o755); err != nil {
			return fail(err)
		}
	}
	if s.MarketData, err = marketdata.Open(cfg, mopts); err != nil {
		return fail(fmt.Errorf("market data: %w", err))
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
