package runtime

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/bourse-exchange/bourse/actors"
	"github.com/bourse-exchange/bourse/actors/balance/ledger"
	"github.com/bourse-exchange/bourse/actors/corestate"
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/messages/codec"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
	"github.com/bourse-exchange/bourse/persistence/snapshot"
	"github.com/holiman/uint256"
)

// SnapshotDir is where snapshots live under a data directory.
func SnapshotDir(dataDir string) string { return filepath.Join(dataDir, "snapshots") }

// Fingerprint identifies the parts of a configuration that a snapshot's
// state depends on: assets and markets (names, order, precisions), the fee
// account and the shard count. Snapshots written before the configuration
// was durable carry only this; newer ones carry the configuration itself
// (snapshot.File.Config) as well.
func Fingerprint(cfg *config.Config) [32]byte {
	return fingerprint(cfg, len(cfg.Assets), len(cfg.Markets))
}

// fingerprint is the Fingerprint of cfg with only its first assets assets
// and markets markets: that of a configuration cfg appended to.
func fingerprint(cfg *config.Config, assets, markets int) [32]byte {
	h := sha256.New()
	fmt.Fprintf(h, "fee=%d shards=%d\n", cfg.FeeUserID, cfg.BalanceShards)
	for _, a := range cfg.Assets[:assets] {
		fmt.Fprintf(h, "asset %s %d\n", a.Name, a.PrecSave)
	}
	for _, m := range cfg.Markets[:markets] {
		fmt.Fprintf(h, "market %s %s %s %d %d %d\n", m.Name, m.Stock, m.Money, m.StockPrec, m.MoneyPrec, m.Fee)
	}
	var fp [32]byte
	copy(fp[:], h.Sum(nil))
	return fp
}

// snapshotUsable accepts the snapshots a state under cfg can be restored
// from: those that carry their configuration (StateFromFile checks it
// against cfg and refuses a contradiction), and older ones made under cfg
// or under a configuration cfg only appends assets or markets to.
func snapshotUsable(cfg *config.Config) snapshot.Usable {
	return func(f *snapshot.File) error {
		if len(f.Config) > 0 {
			return nil
		}
		assets, markets := len(f.Deposits), len(f.Books)
		if assets > len(cfg.Assets) || markets > len(cfg.Markets) || f.Fingerprint != fingerprint(cfg, assets, markets) {
			return errors.New("made with another configuration (a snapshot from before the configuration was kept in the journal)")
		}
		return nil
	}
}

// File captures the state, under the configuration it is under
// (State.Config), as a snapshot.
func (s *State) File() *snapshot.File {
	cfg := s.cfg
	f := &snapshot.File{
		LSN: s.LastLSN, Fingerprint: Fingerprint(cfg), Config: codec.Append(nil, cfg.Spec()),
		Deposits:    append([]uint256.Int(nil), s.Deposits...),
		Withdrawals: append([]uint256.Int(nil), s.Withdrawals...),
	}
	f.Books = make([][]byte, len(s.Books))
	f.Ledgers = make([][]byte, len(s.Ledgers))
	parallel(len(s.Ledgers)+len(s.Books), func(i int) {
		if i < len(s.Ledgers) {
			f.Ledgers[i] = corestate.AppendLedger(nil, s.Ledgers[i])
		} else {
			f.Books[i-len(s.Ledgers)] = corestate.AppendBook(nil, s.Books[i-len(s.Ledgers)])
		}
	})
	return f
}

// StateFromFile restores the state a snapshot holds under cfg. The snapshot
// may have been made before assets or markets were appended to the
// configuration: they start empty. A snapshot whose configuration cfg
// contradicts is an error naming the field (config.CheckSpec).
func StateFromFile(cfg *config.Config, f *snapshot.File) (*State, error) {
	s := NewState(cfg)
	assets, markets := len(f.Deposits), len(f.Books)
	if len(f.Config) > 0 {
		spec, err := fileSpec(f)
		if err != nil {
			return nil, err
		}
		adopted, _, err := cfg.Adopt(spec, false)
		if err != nil {
			return nil, fmt.Errorf("snapshot at LSN %d: %w", f.LSN, err)
		}
		s = NewState(adopted)
		s.file, cfg = cfg, adopted
		if len(spec.Assets) != assets || len(spec.Markets) != markets || len(f.Ledgers) != len(s.Ledgers) {
			return nil, fmt.Errorf("snapshot at LSN %d: its parts do not match its configuration", f.LSN)
		}
		s.Spec = spec
	} else if err := snapshotUsable(cfg)(f); err != nil || len(f.Ledgers) != len(s.Ledgers) {
		return nil, fmt.Errorf("snapshot at LSN %d: made with another configuration", f.LSN)
	}
	// Books and ledgers are independent: restore them on every core, the
	// ledgers (the largest parts) first. Errors are reported as a restore
	// in market then shard order would meet them.
	errs := make([]error, markets+len(s.Ledgers))
	parallel(len(errs), func(i int) {
		if i < len(s.Ledgers) {
			l, err := ledgerFromFile(cfg, f, i)
			if err != nil {
				errs[markets+i] = fmt.Errorf("snapshot at LSN %d: shard %d: %w", f.LSN, i, err)
				return
			}
			s.Ledgers[i] = l
			return
		}
		i -= len(s.Ledgers)
		if err := snapshot.LoadBookVersion(f.Books[i], f.CodecVersion(), s.Books[i]); err != nil {
			errs[i] = fmt.Errorf("snapshot at LSN %d: market %d: %w", f.LSN, i, err)
		}
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	copy(s.Deposits, f.Deposits)
	copy(s.Withdrawals, f.Withdrawals)
	s.LastLSN = f.LSN
	return s, nil
}

// fileSpec decodes the configuration a snapshot carries.
func fileSpec(f *snapshot.File) (*messages.ConfigSet, error) {
	ev, err := codec.DecodeVersion(f.Config, f.CodecVersion())
	spec, ok := ev.(*messages.ConfigSet)
	if err != nil || !ok {
		return nil, fmt.Errorf("snapshot at LSN %d: its configuration does not decode (%v)", f.LSN, err)
	}
	return spec, nil
}

// ledgerFromFile restores one shard's ledger from a snapshot, with the
// assets appended since at zero.
func ledgerFromFile(cfg *config.Config, f *snapshot.File, shard int) (*ledger.Ledger, error) {
	l := newLedger(cfg, shard)
	l.Config().Assets = len(f.Deposits)
	if err := snapshot.LoadLedger(f.Ledgers[shard], l); err != nil {
		return nil, err
	}
	l.AddAssets(len(cfg.Assets))
	return l, nil
}

// bookFromFile restores one market's book from a snapshot (empty for a
// market appended since).
func bookFromFile(cfg *config.Config, f *snapshot.File, market int) (*book.Book, error) {
	b := book.New(actors.BookConfig(cfg.Markets[market]))
	if market >= len(f.Books) {
		return b, nil
	}
	return b, snapshot.LoadBookVersion(f.Books[market], f.CodecVersion(), b)
}

// Snapshotter is the snapshot follower: it applies every durable journal
// record to a shadow copy of the whole state — the live actors never pause —
// and every Interval writes that copy as a snapshot, keeps the newest Keep,
// and removes the journal segments the oldest kept one covers.
type Snapshotter struct {
	cfg        *config.Config
	dir        string
	journalDir string // "" for a journal that is not segment files
	keep       int
	interval   time.Duration
	log        *slog.Logger

	// retain, if set, reports the smallest cursor of the journal's other
	// followers: segments after it are kept, unless it lags the oldest kept
	// snapshot by more than cfg.Snapshot.MaxFollowerLag records.
	retain func() (uint64, bool)

	// store is held for reading by actor rebuilds while they read a
	// snapshot and the journal after it, and for writing while old
	// snapshots and segments are removed.
	store *sync.RWMutex

	mu     sync.Mutex
	queue  []pj.Record // guarded by mu
	broken bool        // guarded by mu: the shadow could not apply a record
	wake   chan struct{}
	now    chan chan error
	stop   chan struct{}
	done   chan struct{}
	shadow *State
	last   uint64 // LSN of the last snapshot written
}

// NewSnapshotter starts a snapshot follower from a copy of state: state is
// encoded before NewSnapshotter returns (the caller may then hand it to the
// actors), and the shadow is decoded from that copy on the follower's
// goroutine, off the start-up path; records that arrive meanwhile queue.
func NewSnapshotter(cfg *config.Config, state *State, dataDir, journalDir string, store *sync.RWMutex,
	retain func() (uint64, bool), log *slog.Logger) (*Snapshotter, error) {
	s := &Snapshotter{
		cfg: cfg, dir: SnapshotDir(dataDir), journalDir: journalDir,
		keep: cfg.Snapshot.Keep, interval: cfg.Snapshot.Interval, log: log, store: store, retain: retain,
		wake: make(chan struct{}, 1), now: make(chan chan error), stop: make(chan struct{}), done: make(chan struct{}),
		last: state.LastLSN,
	}
	go s.run(state.File())
	return s, nil
}

// Follow receives durable records from the journal writer (journal.Options
// .Follow). It never blocks on the snapshotter's work.
func (s *Snapshotter) Follow(records []pj.Record) {
	s.mu.Lock()
	if s.broken {
		s.mu.Unlock()
		return
	}
	s.queue = append(s.queue, records...)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Lag is how many durable records the shadow has not applied yet.
func (s *Snapshotter) Lag() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// Now applies everything received so far and writes a snapshot at once.
func (s *Snapshotter) Now() error {
	reply := make(chan error, 1)
	select {
	case s.now <- reply:
		return <-reply
	case <-s.done:
		return fmt.Errorf("snapshotter stopped")
	}
}

// Close stops the follower (without a final snapshot).
func (s *Snapshotter) Close() {
	close(s.stop)
	<-s.done
}

func (s *Snapshotter) run(start *snapshot.File) {
	defer close(s.done)
	shadow, err := StateFromFile(s.cfg, start)
	if err != nil {
		s.stopBroken(err)
		return
	}
	s.shadow = shadow
	tick := time.NewTicker(s.interval)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-s.wake:
			if err := s.drain(); err != nil {
				s.stopBroken(err)
				return
			}
		case <-tick.C:
			if err := s.drain(); err != nil {
				s.stopBroken(err)
				return
			}
			if s.shadow.LastLSN > s.last {
				if err := s.write(); err != nil {
					s.log.Error("snapshot failed", "err", err)
				}
			}
		case reply := <-s.now:
			err := s.drain()
			if err == nil {
				err = s.write()
			}
			reply <- err
		}
	}
}

// stopBroken stops the follower for good after the shadow failed to apply a
// record: no more snapshots until restart (start-up replays the journal,
// which is kept since no snapshot covers it).
func (s *Snapshotter) stopBroken(err error) {
	s.mu.Lock()
	s.broken, s.queue = true, nil
	s.mu.Unlock()
	s.log.Error("snapshot follower stopped: no snapshots until restart", "err", err)
}

func (s *Snapshotter) drain() error {
	s.mu.Lock()
	batch := s.queue
	s.queue = nil
	s.mu.Unlock()
	for _, r := range batch {
		if err := s.shadow.Apply(r); err != nil {
			return err
		}
	}
	return nil
}

// write stores the shadow as a snapshot, verifies it restores to the same
// state hash, prunes old snapshots and the segments they covered.
func (s *Snapshotter) write() error {
	t0 := time.Now()
	f := s.shadow.File()
	back, err := StateFromFile(s.cfg, f)
	if err != nil || back.Hash() != s.shadow.Hash() {
		return fmt.Errorf("snapshot at LSN %d does not restore to the state it was made from (%v): not written", f.LSN, err)
	}
	path, err := snapshot.Write(s.dir, f)
	if err != nil {
		return err
	}
	s.last = f.LSN
	s.store.Lock()
	defer s.store.Unlock()
	// A follower's cursor holds the newest snapshot at or before it (to
	// rebuild its state from) and the journal after that snapshot, unless
	// it lags the newest snapshot by more than max_follower_lag records.
	var hold uint64
	if s.retain != nil {
		if c, ok := s.retain(); ok && c < f.LSN {
			if f.LSN-c > s.cfg.Snapshot.MaxFollowerLag {
				s.log.Error("a journal follower lags too far: removing the journal it still needs; it will skip to the oldest snapshot kept",
					"cursor", c, "snapshot", f.LSN, "max_follower_lag", s.cfg.Snapshot.MaxFollowerLag)
			} else {
				hold = max(c, 1)
			}
		}
	}
	oldest, err := snapshot.Prune(s.dir, s.keep, hold)
	if err != nil {
		return err
	}
	if hold > 0 && hold < oldest {
		oldest = 0 // no snapshot at or before the cursor: keep the whole journal
	}
	removed := 0
	if s.journalDir != "" && oldest > 0 {
		if removed, err = pj.RemoveCovered(s.journalDir, oldest); err != nil {
			return err
		}
	}
	s.log.Info("snapshot written", "path", path, "lsn", f.LSN, "took", time.Since(t0).Round(time.Millisecond), "segments_removed", removed)
	return nil
}
