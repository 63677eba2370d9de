package marketdata

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/persistence/derive"
	"github.com/bourse-exchange/bourse/persistence/journal"
	"github.com/redis/go-redis/v9"
)

// Name is the store's follower name.
const Name = "marketdata"

// Defaults of Options.
const (
	DefaultCheckpointInterval = 10 * time.Second
	DefaultTrimInterval       = time.Minute
)

// Options configure a Store.
type Options struct {
	// Redis, when set, keeps the market data in Redis: "host:port" or a
	// redis:// URL (the configuration's marketdata.redis). Empty: memory.
	Redis string
	// KeyPrefix is put before every Redis key (default ""; tests use a
	// unique one).
	KeyPrefix string
	// Dir is where the memory store keeps its checkpoint (the node passes
	// <data-dir>/marketdata). Empty: no checkpoint, the journal is replayed
	// from the start at every start. Unused with Redis.
	Dir string
	// CheckpointInterval is how often the memory store writes its
	// checkpoint when it changed (it also does at Close). Default
	// DefaultCheckpointInterval.
	CheckpointInterval time.Duration
	// TrimInterval is how often (at most) Apply drops buckets past their
	// retention. Default DefaultTrimInterval.
	TrimInterval time.Duration
	// Now is the clock retention is measured against (with the newest deal
	// time, whichever is later). Default time.Now.
	Now func() time.Time
	// Logger receives warnings (a checkpoint ignored, a gap skipped).
	// Default slog.Default().
	Logger *slog.Logger
	// Journal, if set, is the identity of the journal the store follows,
	// and JournalEnd that journal's last LSN when the node opened it. The
	// store keeps the journal's mark with its cursor (in the checkpoint;
	// k:journal in Redis) and, when it first loads, checks them
	// (Identity.Check): market data that does not fit the journal — of
	// another journal, or ahead of it on a discarded timeline — is
	// dropped and rebuilt from the journal (from its first record, or from
	// the oldest snapshot when the journal no longer starts at LSN 1; the
	// deals and buckets before it are then lost). A later reload of Redis
	// (after ErrConflict) that finds another journal's mark fails instead:
	// two nodes write the same keys.
	Journal    *journal.Identity
	JournalEnd uint64
}

// Store is the market data follower and querier. Its Model is written by
// Apply (one follower feeds it) and read by Query, under a RWMutex; all
// methods are safe for concurrent use.
type Store struct {
	cfg  *config.Config
	opts Options
	log  *slog.Logger

	mu    sync.RWMutex
	model *Model // guarded by mu; nil until a Redis store loaded

	// Writer side, guarded by wmu (held by Apply, Cursor and Close).
	wmu      sync.Mutex
	rdb      *redis.Client // nil: memory store
	keys     *keys
	pending  *changes // Redis: changes not yet written
	written  uint64   // Redis: the LSN k:lsn holds as far as the store knows
	reload   bool     // Redis: load the state again before the next Apply
	checked  bool     // Redis: the first load checked the journal mark
	lastTrim int64    // the time of the last Trim (Unix seconds)
	closed   bool

	// Memory store checkpoints.
	ckMu   sync.Mutex // serialises checkpoint writes
	ckLSN  uint64     // guarded by ckMu: the LSN of the checkpoint on disk
	stop   chan struct{}
	done   chan struct{}
	closer sync.Once
}

// Open returns a store for cfg's markets. A memory store loads the
// checkpoint in opts.Dir if there is one (a damaged checkpoint, or one
// made for other market precisions, is ignored with a warning: the feed
// then replays the journal from the start); a Redis store loads its state
// at the first Cursor call, so an unreachable Redis delays market data but
// not the node. Close releases it.
func Open(cfg *config.Config, opts Options) (*Store, error) {
	if opts.CheckpointInterval <= 0 {
		opts.CheckpointInterval = DefaultCheckpointInterval
	}
	if opts.TrimInterval <= 0 {
		opts.TrimInterval = DefaultTrimInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Store{cfg: cfg, opts: opts, log: opts.Logger}
	if s.log == nil {
		s.log = slog.Default()
	}
	if opts.Redis != "" {
		ro, err := parseRedisAddr(opts.Redis)
		if err != nil {
			return nil, err
		}
		// The LSN guard decides what happens after a failure; a command
		// must not be retried behind its back.
		ro.MaxRetries = -1
		s.rdb = redis.NewClient(ro)
		s.keys = newKeys(opts.KeyPrefix, cfg)
		s.pending = newChanges()
		s.reload = true
		return s, nil
	}
	s.model = NewModel(cfg)
	if opts.Dir != "" {
		defer func() { s.model.mark = s.mark() }()
		data, err := ReadCheckpoint(opts.Dir)
		if err != nil {
			return nil, fmt.Errorf("marketdata: read checkpoint: %w", err)
		}
		if data != nil {
			if err := s.model.Decode(data); err != nil {
				s.log.Warn("market data checkpoint ignored: the journal is replayed from the start", "dir", opts.Dir, "err", err)
			} else if v, ok := s.fits(s.model); !ok {
				s.log.Warn("market data checkpoint does not fit the journal: ignored, rebuilt from the journal", "dir", opts.Dir, "why", v.Why)
				s.model = NewModel(cfg)
			} else {
				s.ckLSN = s.model.LSN()
			}
		}
		s.lastTrim = s.model.Horizon()
		s.stop, s.done = make(chan struct{}), make(chan struct{})
		go s.checkpoints()
	}
	return s, nil
}

// Name implements runtime.Follower.
func (s *Store) Name() string { return Name }

// Cursor implements runtime.Follower: the LSN of the last record whose
// deals the store holds — the model's for the memory store, k:lsn for
// Redis (loading the state from Redis first when needed).
func (s *Store) Cursor(ctx context.Context) (uint64, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed {
		return 0, errClosed
	}
	if s.rdb == nil {
		s.mu.RLock()
		defer s.mu.RUnlock()
		return s.model.LSN(), nil
	}
	if s.reload {
		if err := s.loadLocked(ctx); err != nil {
			return 0, err
		}
	}
	return s.written, nil
}

var errClosed = errors.New("marketdata: store closed")

// mark is the journal mark the store writes ("" without Options.Journal).
func (s *Store) mark() string {
	if s.opts.Journal == nil {
		return ""
	}
	return s.opts.Journal.Mark()
}

// fits checks a loaded model against Options.Journal (true without one).
func (s *Store) fits(m *Model) (journal.Verdict, bool) {
	if s.opts.Journal == nil {
		return journal.Verdict{}, true
	}
	v := s.opts.Journal.Check(m.mark, m.lsn, s.opts.JournalEnd)
	return v, v.Fit == journal.Fits
}

// loadLocked replaces the model with Redis's state. s.wmu must be held.
func (s *Store) loadLocked(ctx context.Context) error {
	s.pending.reset()
	now := s.opts.Now().Unix()
	m, err := load(ctx, s.rdb, s.keys, s.cfg, now, s.pending)
	if err != nil {
		s.pending.reset()
		return fmt.Errorf("marketdata: load from redis: %w", err)
	}
	if mark := s.mark(); mark != "" {
		if !s.checked {
			v, ok := s.fits(m)
			if !ok {
				s.log.Warn("market data in redis does not fit the journal: deleting it, rebuilt from the journal", "redis", s.opts.Redis, "why", v.Why)
			}
			if !ok || m.mark != mark {
				if err := claim(ctx, s.rdb, s.keys, m.lsn, mark, !ok); err != nil {
					s.pending.reset()
					return fmt.Errorf("marketdata: store the journal mark in redis: %w", err)
				}
			}
			if !ok {
				s.pending.reset()
				m = NewModel(s.cfg)
			}
			s.checked = true
		} else if m.mark != mark {
			s.pending.reset()
			return fmt.Errorf("marketdata: redis %s now holds market data of journal mark %q, not of this node's %s: another node writes the same keys (use another redis database or key prefix)",
				s.opts.Redis, m.mark, s.opts.Journal)
		}
		m.mark = mark
	}
	s.mu.Lock()
	s.model = m
	s.mu.Unlock()
	s.written, s.reload, s.lastTrim = m.LSN(), false, now
	return nil
}

// Apply implements runtime.Follower. Records the model already holds are
// skipped (a repeated or stale batch changes nothing); a gap after the
// cursor is logged and accepted (the feed skips only what the journal no
// longer holds). With Redis, everything changed since the last successful
// write goes to Redis with the new cursor in one transaction guarded by
// k:lsn (ErrConflict when it moved); on failure the model keeps the records
// and the next Apply writes them.
func (s *Store) Apply(ctx context.Context, records []derive.Record) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed {
		return errClosed
	}
	if s.rdb != nil && s.reload {
		return errors.New("marketdata: state not loaded from redis yet")
	}
	s.mu.Lock()
	m := s.model
	newest := int64(0)
	for i := range records {
		r := &records[i]
		if r.LSN <= m.LSN() {
			continue
		}
		if m.LSN() != 0 && r.LSN != m.LSN()+1 {
			s.log.Warn("market data: records skipped", "after", m.LSN(), "next", r.LSN)
		}
		if err := m.apply(r, s.pending); err != nil {
			s.mu.Unlock()
			return err
		}
		if r.Config != nil { // a market listed at run time: its keys too
			s.cfg = r.Config
			if s.keys != nil {
				s.keys = newKeys(s.opts.KeyPrefix, r.Config)
			}
		}
		for _, t := range r.Deals {
			newest = max(newest, floorDiv(t.Time, 1e6))
		}
	}
	if now := max(s.opts.Now().Unix(), newest); now-s.lastTrim >= int64(s.opts.TrimInterval/time.Second) {
		m.trim(now, s.pending)
		s.lastTrim = now
	}
	var b *batch
	if s.rdb != nil && (m.LSN() != s.written || !s.pending.empty()) {
		b = buildBatch(m, s.keys, s.pending)
	}
	s.mu.Unlock()
	if b == nil {
		return nil
	}
	if err := b.write(ctx, s.rdb, s.keys, s.written, s.model.dealsMax); err != nil {
		if errors.Is(err, ErrConflict) {
			s.reload = true
		}
		return err
	}
	s.written = b.lsn
	s.pending.reset()
	return nil
}

// Query implements actors.Querier: the answer to a market data command
// (messages/marketdata.go). Before a Redis store has loaded its state it
// answers ErrUnavailable.
func (s *Store) Query(ctx context.Context, cmd messages.Command) (messages.Reply, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.model == nil {
		return &messages.ErrorReply{Err: messages.ErrUnavailable}, nil
	}
	return s.model.Query(cmd), nil
}

// checkpoints writes the memory store's checkpoint every interval until
// Close.
func (s *Store) checkpoints() {
	defer close(s.done)
	t := time.NewTicker(s.opts.CheckpointInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := s.Checkpoint(); err != nil {
				s.log.Error("market data checkpoint failed", "dir", s.opts.Dir, "err", err)
			}
		case <-s.stop:
			return
		}
	}
}

// Checkpoint writes the memory store's checkpoint now if the model changed
// since the last one (nothing for a Redis store or without Dir).
func (s *Store) Checkpoint() error {
	if s.rdb != nil || s.opts.Dir == "" {
		return nil
	}
	s.ckMu.Lock()
	defer s.ckMu.Unlock()
	s.mu.RLock()
	lsn := s.model.LSN()
	if lsn == s.ckLSN {
		s.mu.RUnlock()
		return nil
	}
	data := s.model.Encode()
	s.mu.RUnlock()
	if err := WriteCheckpoint(s.opts.Dir, data); err != nil {
		return err
	}
	s.ckLSN = lsn
	return nil
}

// Close stops the store: the memory store writes a last checkpoint, the
// Redis store closes its connections. Later calls of Cursor and Apply
// fail; Query keeps answering from memory. Close is idempotent.
func (s *Store) Close() error {
	var err error
	s.closer.Do(func() {
		if s.stop != nil {
			close(s.stop)
			<-s.done
		}
		err = s.Checkpoint()
		s.wmu.Lock()
		defer s.wmu.Unlock()
		s.closed = true
		if s.rdb != nil {
			if cerr := s.rdb.Close(); err == nil {
				err = cerr
			}
		}
	})
	return err
}
