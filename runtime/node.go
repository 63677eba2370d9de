package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/bourse-exchange/bourse/actors"
	"github.com/bourse-exchange/bourse/actors/balance"
	"github.com/bourse-exchange/bourse/actors/journal"
	"github.com/bourse-exchange/bourse/actors/market"
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/persistence/dirlock"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
)

// Node is one running exchange: the actor system, its supervisors and the
// Router that edges call.
type Node struct {
	// Config is the configuration the node started with; Router.Config
	// is the one in force (the operator may change it at run time:
	// asset.add, market.add, market.update).
	Config  *config.Config
	System  *actor.ActorSystem
	Router  *actors.Router
	Journal *journal.Journal
	// Snapshots is the snapshot follower (nil without a data directory).
	Snapshots *Snapshotter
	// Feed hands durable records to journal followers (nil without a
	// journal).
	Feed *Feed
	// Recovered is what start-up found in the journal.
	Recovered pj.Recovery
	// Identity is the journal's identity (zero without a journal), and
	// Opened the LSN of its last record when the node opened it: the
	// journal followers check what they hold against both at start.
	Identity pj.Identity
	Opened   uint64
	ident    identified // the journal backend, to give it a new timeline
	dataDir  string
	dsn      string
	log      *slog.Logger

	followMu   sync.Mutex
	followCtx  context.Context // guarded by followMu
	followStop func()          // guarded by followMu
	followers  []Follower      // guarded by followMu

	jmetrics *journalMetrics
	mmetrics *marketMetrics
	tuning   *tuning
	stopTick chan struct{}
	tickDone chan struct{}

	lock         *dirlock.Lock   // the data directory's (nil without one)
	backend      journal.Backend // closed after the writer and the followers
	stopping     atomic.Bool     // Shutdown was called
	shutdownOnce sync.Once
	shutdownErr  error
}

// Options tune a node beyond its configuration file.
type Options struct {
	// Logger receives the node's and protoactor's records; nil: slog.Default().
	Logger *slog.Logger
	// MarketProps are extra props options for every market actor (mailbox,
	// dispatcher), applied after those of the configuration's tuning
	// section, which they override. A mailbox given here is not observed:
	// the mailbox depth metric then reads 0 and a bounded market's
	// admission limit is not enforced.
	MarketProps []actor.PropsOption
	// ShardProps likewise for balance shards.
	ShardProps []actor.PropsOption
	// DataDir holds the journal. Empty: nothing is stored (journal.Discard),
	// for benchmarks and tests only. The node locks it (persistence/dirlock)
	// from Start to the end of Shutdown: Start fails, naming the directory
	// and the holder's pid, while another process or node holds it.
	DataDir string
	// Lock, if set, is DataDir's lock, taken by the caller before Start
	// (cmd/bourse takes it before it opens a listener); the node releases
	// it at the end of Shutdown, or when Start fails.
	Lock *dirlock.Lock
	// JournalDSN, if set, keeps the journal in a MySQL table instead of
	// under DataDir: a go-sql-driver DSN, optionally prefixed with
	// mysql://, with an optional table= parameter (pj.ParseMySQLDSN).
	JournalDSN string
	// Journal tunes the journal writer (durability mode, batch size);
	// MaxBatch, SyncInterval and Queue left zero come from the
	// configuration's tuning.journal.
	Journal journal.Options
	// Faults injects panics into actors (tests only; see actors.Faults).
	Faults actors.Faults
	// WrapBackend, if set, wraps the journal backend the writer appends
	// to (tests only: storage fault injection).
	WrapBackend func(journal.Backend) journal.Backend
	// TickInterval is how often markets are told the time, which fires
	// the dead-man's switches due (order.cancel_all_after); zero: every
	// second; negative: never (tests that call Node.Tick).
	TickInterval time.Duration
}

// Start locks opts.DataDir, recovers the state from the journal
// (opts.JournalDSN, else opts.DataDir), then builds and starts a node for
// cfg that journals every change there.
func Start(cfg *config.Config, opts Options) (n *Node, err error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	lock := opts.Lock
	if opts.DataDir != "" {
		if lock == nil {
			if lock, err = dirlock.Acquire(opts.DataDir); err != nil {
				return nil, err
			}
		}
		defer func() {
			if err != nil {
				lock.Release()
			}
		}()
		if err := removeTemp(opts.DataDir, log); err != nil {
			return nil, err
		}
	}
	var store sync.RWMutex // snapshots and segments: rebuilds read, pruning writes
	r, err := recoverJournal(cfg, opts, &store, log)
	if err != nil {
		return nil, err
	}
	cfg = r.cfg
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return log.With("component", "protoactor")
	}))
	w, err := startWriter(cfg, opts, r, system, &store, log)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(cfg.Markets))
	for i, m := range cfg.Markets {
		names[i] = m.Name
	}
	dir := actors.NewDirectory(system, names, cfg.BalanceShards)
	for i, b := range r.state.Books {
		dir.SetHalted(messages.MarketID(i), b.Halted())
	}
	tn := &tuning{}
	mm := newMarketMetrics()
	if err := spawnActors(cfg, opts, system, w.jw, r, dir, tn, mm, log); err != nil {
		system.Shutdown()
		w.jw.Close()
		r.backend.Close()
		tn.close()
		return nil, err
	}
	n = &Node{Config: cfg, System: system, Journal: w.jw, Snapshots: w.snaps, Feed: w.feed, Recovered: r.state.Recovery, log: log,
		Identity: r.identity, Opened: r.state.LastLSN, dataDir: opts.DataDir, dsn: opts.JournalDSN, ident: r.ident,
		jmetrics: w.jm, mmetrics: mm, tuning: tn, lock: lock, backend: r.backend}
	n.Router = actors.NewRouter(cfg, system, dir, cfg.HTTP.Timeout)
	n.Router.LastLSN = w.jw.LastLSN
	n.Router.Failed = w.jw.Failed
	if w.feed != nil {
		n.Router.FollowerStatus = w.feed.Followers
	}
	cf := &configurator{n: n, opts: opts, rebuild: r.rebuild}
	n.Router.Configure = cf.configure
	n.startTicks(opts.TickInterval)
	log.Info("exchange started", "markets", len(cfg.Markets), "assets", len(cfg.Assets), "balance_shards", cfg.BalanceShards)
	return n, nil
}

// removeTemp removes the temporary files of a snapshot or market-data
// checkpoint that a crash interrupted: only this node writes there, and it
// holds the data directory's lock.
func removeTemp(dataDir string, log *slog.Logger) error {
	for _, dir := range []string{SnapshotDir(dataDir), MarketDataDir(dataDir)} {
		removed, err := pj.RemoveTemp(dir)
		if len(removed) > 0 {
			log.Info("removed the temporary files of an interrupted write", "files", removed)
		}
		if err != nil {
			return fmt.Errorf("runtime: %w", err)
		}
	}
	return nil
}

// recovered is what Start recovers before any actor starts.
type recovered struct {
	cfg      *config.Config // the configuration the node runs
	state    *State
	backend  journal.Backend
	rebuild  *durable // nil without a journal
	identity pj.Identity
	ident    identified
}

// recoverJournal recovers the state from the journal (opts.JournalDSN,
// else opts.DataDir), binds the journal's identity and makes cfg's durable
// part the journal's. Without either it returns cfg's empty state on a
// journal that keeps nothing.
func recoverJournal(cfg *config.Config, opts Options, store *sync.RWMutex, log *slog.Logger) (*recovered, error) {
	r := &recovered{cfg: cfg, state: NewState(cfg), backend: &pj.Discard{}}
	if opts.DataDir == "" && opts.JournalDSN == "" {
		return r, nil
	}
	t0 := time.Now()
	s, b, err := Recover(cfg, opts.DataDir, opts.JournalDSN)
	if err != nil {
		return nil, err
	}
	if r.identity, err = bindJournal(opts.DataDir, opts.JournalDSN, b, s.Recovery.Records, s.LastLSN); err != nil {
		b.Close()
		return nil, err
	}
	log.Info("journal identity", "identity", r.identity.String())
	if err := journalConfig(cfg, s, b, log); err != nil {
		b.Close()
		return nil, err
	}
	r.ident, _ = b.(identified)
	r.state, r.backend, r.cfg = s, b, s.Config()
	r.rebuild = &durable{cfg: r.cfg, dataDir: opts.DataDir, read: b.Read, store: store}
	for _, why := range s.SkippedSnapshots {
		log.Warn("snapshot not usable: skipped", "why", why)
	}
	if s.Snapshot > 0 {
		log.Info("restored snapshot", "lsn", s.Snapshot, "dir", SnapshotDir(opts.DataDir))
	}
	if rec := s.Recovery; rec.TornBytes > 0 {
		log.Warn("journal had a torn tail: cut", "bytes", rec.TornBytes, "where", rec.TornReason)
	}
	log.Info("recovered from journal", "journal", JournalName(opts.DataDir, opts.JournalDSN), "segments", s.Recovery.Segments,
		"records", s.Recovery.Records, "last_lsn", s.LastLSN, "took", time.Since(t0).Round(time.Millisecond))
	return r, nil
}

// writer is the journal writer and what follows it.
type writer struct {
	jw    *journal.Journal
	jm    *journalMetrics
	feed  *Feed        // nil without a journal
	snaps *Snapshotter // nil without a data directory
}

// startWriter starts the journal writer on r's backend; the journal feed
// and the snapshotter, when there are, follow each commit. On failure it
// closes the backend.
func startWriter(cfg *config.Config, opts Options, r *recovered, system *actor.ActorSystem, store *sync.RWMutex, log *slog.Logger) (*writer, error) {
	jopts := journalOptions(opts.Journal, cfg.Tuning.Journal)
	if jopts.Log == nil {
		jopts.Log = log
	}
	w := &writer{jm: newJournalMetrics()}
	if next := jopts.OnCommit; next != nil {
		jopts.OnCommit = func(records int, took time.Duration) { w.jm.observe(records, took); next(records, took) }
	} else {
		jopts.OnCommit = w.jm.observe
	}
	var retain func() (uint64, bool)
	if r.rebuild != nil {
		w.feed = NewFeed(r.state.LastLSN, 0, r.rebuild.read, r.rebuild.Deriver)
		// The derive stage starts from the recovered state: followers at
		// the journal's end rebuild nothing.
		w.feed.Seed(r.state.Deriver(cfg))
		retain = w.feed.MinCursor
	}
	if opts.DataDir != "" {
		jdir := ""
		if opts.JournalDSN == "" {
			jdir = JournalDir(opts.DataDir)
		}
		var err error
		if w.snaps, err = NewSnapshotter(cfg, r.state, opts.DataDir, jdir, store, retain, log); err != nil {
			r.backend.Close() // releases a MySQL journal's claim
			return nil, err
		}
	}
	if feed, snaps := w.feed, w.snaps; snaps != nil || feed != nil {
		jopts.Follow = func(records []pj.Record) {
			if feed != nil {
				feed.Publish(records)
			}
			if snaps != nil {
				snaps.Follow(records)
			}
		}
	}
	// The writer does not close the backend: followers still read it
	// while they drain at shutdown, which closes it after them.
	var wb journal.Backend = closeLater{r.backend}
	if opts.WrapBackend != nil {
		wb = opts.WrapBackend(wb)
	}
	w.jw = journal.Start(wb, system.Root, jopts)
	return w, nil
}

// spawnActors spawns the balance shards' and the markets' supervisors with
// their actors on r's state, and waits until each is ready.
func spawnActors(cfg *config.Config, opts Options, system *actor.ActorSystem, jw *journal.Journal, r *recovered, dir *actors.Directory, tn *tuning, mm *marketMetrics, log *slog.Logger) error {
	var rebuild actors.Durable // a nil interface without a journal
	if r.rebuild != nil {
		rebuild = r.rebuild
	}
	books := make([]book.Config, len(cfg.Markets))
	marketChildren := make([]child, len(cfg.Markets))
	for i, m := range cfg.Markets {
		books[i] = actors.BookConfig(m)
		menv := &market.Env{Journal: jw, Durable: rebuild, Dir: dir, FeeUser: cfg.FeeUserID, Faults: opts.Faults, Metrics: mm.market(m.Name)}
		marketChildren[i] = child{m.Name, market.Props(r.state.Books[i], menv, tn.marketProps(m.Tuning, opts.MarketProps)...)}
		if m.Tuning != cfg.Tuning.Market {
			log.Info("market tuning", "market", m.Name, "tuning", m.Tuning.String())
		}
	}
	senv := &balance.Env{Journal: jw, Durable: rebuild, Markets: books, Dir: dir, Faults: opts.Faults, MarketFull: tn.marketFull}
	shardChildren := make([]child, cfg.BalanceShards)
	for i := range shardChildren {
		shardChildren[i] = child{actors.ShardName(i), balance.Props(r.state.Ledgers[i], i, senv, tn.shardProps(cfg.Tuning.Shard, opts.ShardProps)...)}
	}
	for _, sup := range []struct {
		name     string
		children []child
	}{{actors.ShardsSupervisor, shardChildren}, {actors.MarketsSupervisor, marketChildren}} {
		pid, err := system.Root.SpawnNamed(supervisorProps(sup.children), sup.name)
		if err != nil {
			return fmt.Errorf("runtime: spawn %s: %w", sup.name, err)
		}
		if _, err := system.Root.RequestFuture(pid, &awaitReady{}, 5*time.Second).Result(); err != nil {
			return fmt.Errorf("runtime: %s did not start: %w", sup.name, err)
		}
	}
	return nil
}

// journalConfig makes the journal's configuration, with what the file cfg
// appends (config.Adopt), the recovered state's: it appends a ConfigSet
// record to the journal — and applies it to s — unless the newest one there
// already equals it. Recovery has checked that cfg contradicts no ConfigSet
// (State.Apply), so this record only starts a new journal, adopts cfg for a
// journal written before the configuration was durable, or records assets
// and markets the file appends and prec_show changes. A market rule the
// file sets differently from the journal is logged, not taken: the
// journal's is kept (market.update changes it).
func journalConfig(cfg *config.Config, s *State, b Backend, log *slog.Logger) error {
	prev := s.Spec
	if prev != nil {
		merged, notes, err := cfg.Adopt(prev, true)
		if err != nil {
			return err
		}
		for _, note := range notes {
			log.Warn("configuration: the file differs from the journal", "rule", note)
		}
		cfg = merged
	}
	spec := cfg.Spec()
	if prev != nil && config.SameSpec(prev, spec) {
		return nil
	}
	rec := pj.Record{LSN: s.LastLSN + 1, Events: []messages.Event{spec}}
	err := b.Write([]pj.Record{rec})
	if err == nil {
		err = b.Sync()
	}
	if err == nil {
		err = s.Apply(rec)
	}
	if err != nil {
		return fmt.Errorf("runtime: journal the configuration: %w", err)
	}
	switch {
	case rec.LSN == 1:
		log.Info("configuration journaled: a new journal starts with it", "lsn", rec.LSN)
	case prev == nil:
		log.Warn("configuration journaled: the journal had none (written before the configuration was durable); the file's is adopted from here on",
			"lsn", rec.LSN)
	default:
		log.Info("configuration journaled", "lsn", rec.LSN, "changes", strings.Join(cfg.DescribeSpecChange(prev), "; "))
	}
	return nil
}

// Ready reports whether the node takes writes: nil, or why not — the
// journal failed (every write is answered code 3 until a restart), or the
// node is shutting down. It is what GET /readyz answers; start-up recovery
// is over once Start returns.
func (n *Node) Ready() error {
	switch {
	case n.stopping.Load():
		return errors.New("shutting down")
	case n.Journal.Failed():
		return errors.New("journal failed: writes are refused until the node is restarted")
	}
	return nil
}

// Tick tells every market the time now, which fires the dead-man's
// switches due by then. The node does it every Options.TickInterval.
func (n *Node) Tick(now time.Time) {
	msg := &messages.Tick{Time: now.UnixMicro()}
	for _, pid := range n.Router.Directory().AllMarkets() {
		n.System.Root.Send(pid, msg)
	}
}

func (n *Node) startTicks(every time.Duration) {
	if every < 0 {
		return
	}
	if every == 0 {
		every = time.Second
	}
	n.stopTick, n.tickDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(n.tickDone)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case now := <-t.C:
				n.Tick(now)
			case <-n.stopTick:
				return
			}
		}
	}()
}

// Shutdown stops the actors — shards first (no new orders reach markets),
// then markets — and then closes the journal after its last commit. Calls
// after the first return its result.
func (n *Node) Shutdown(ctx context.Context) error {
	n.stopping.Store(true)
	n.shutdownOnce.Do(func() { n.shutdownErr = n.shutdown(ctx) })
	return n.shutdownErr
}

func (n *Node) shutdown(ctx context.Context) error {
	if n.stopTick != nil {
		close(n.stopTick)
		<-n.tickDone
	}
	for _, name := range []string{actors.ShardsSupervisor, actors.MarketsSupervisor} {
		pid := n.System.NewLocalPID(name)
		if err := n.System.Root.PoisonFuture(pid).Wait(); err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
	}
	err := n.Journal.Close()
	if ferr := n.stopFollowers(ctx); err == nil {
		err = ferr
	}
	if n.Feed != nil {
		n.Feed.Stop()
	}
	if berr := n.backend.Close(); err == nil {
		err = berr
	}
	if n.Snapshots != nil {
		n.Snapshots.Close()
	}
	n.System.Shutdown()
	n.tuning.close()
	if lerr := n.lock.Release(); err == nil {
		err = lerr
	}
	return err
}

// closeLater is a backend whose Close does nothing: the writer has synced
// it before it calls Close, and the node closes the backend itself once
// the followers, which read it, have stopped.
type closeLater struct{ journal.Backend }

func (closeLater) Close() error { return nil }
