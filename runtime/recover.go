package runtime

import (
	"fmt"
	"path/filepath"

	"github.com/bourse-exchange/bourse/actors"
	"github.com/bourse-exchange/bourse/actors/balance/ledger"
	"github.com/bourse-exchange/bourse/actors/corestate"
	"github.com/bourse-exchange/bourse/actors/journal"
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
	"github.com/bourse-exchange/bourse/persistence/snapshot"
	"github.com/holiman/uint256"
)

// State is the recovered state of every core, before actors own it.
type State struct {
	Books   []*book.Book
	Ledgers []*ledger.Ledger
	// Deposits and Withdrawals sum the journal's balance updates per asset
	// (at prec_save), for the conservation check.
	Deposits, Withdrawals []uint256.Int
	LastLSN               uint64
	Recovery              pj.Recovery
	// Snapshot is the LSN of the snapshot recovery started from (0: none);
	// SkippedSnapshots lists newer ones that were not usable, and why.
	Snapshot         uint64
	SkippedSnapshots []string
	// Spec is the newest durable configuration the snapshot and the
	// journal records applied hold; nil if none does (a journal written
	// before the configuration was durable, or an empty one).
	Spec *messages.ConfigSet

	cfg  *config.Config // file adopted to Spec (config.Adopt)
	file *config.Config
}

// NewState returns the empty state of cfg.
func NewState(cfg *config.Config) *State {
	s := &State{
		cfg: cfg, file: cfg,
		Deposits:    make([]uint256.Int, len(cfg.Assets)),
		Withdrawals: make([]uint256.Int, len(cfg.Assets)),
	}
	for _, m := range cfg.Markets {
		s.Books = append(s.Books, book.New(actors.BookConfig(m)))
	}
	for i := 0; i < cfg.BalanceShards; i++ {
		s.Ledgers = append(s.Ledgers, newLedger(cfg, i))
	}
	return s
}

// Config is the configuration the state is under: the file's, adopted to
// the newest ConfigSet applied (config.Adopt, without the file's new
// entries).
func (s *State) Config() *config.Config { return s.cfg }

// Apply replays one journal record into the cores its events concern. An
// event naming a market or asset the configuration does not have is an
// error, and so is a ConfigSet the configuration contradicts
// (config.CheckSpec): the configuration no longer matches the journal.
func (s *State) Apply(r pj.Record) error {
	if err := s.admit(r); err != nil {
		return err
	}
	for _, ev := range r.Events {
		if market := marketOf(ev); market >= 0 {
			s.Books[market].Apply(ev)
		}
		s.eachLedger(ev, func(l *ledger.Ledger) { l.Apply(ev, ledger.Replay) })
	}
	return nil
}

// admit checks that r follows the state and names only configured markets
// and assets, adds its balance updates to Deposits and Withdrawals and
// advances LastLSN: everything of Apply but the cores. On error nothing is
// changed.
func (s *State) admit(r pj.Record) error {
	if r.LSN != s.LastLSN+1 {
		return fmt.Errorf("journal gap: record %d follows %d (a segment or snapshot is missing)", r.LSN, s.LastLSN)
	}
	var next *config.Config
	for _, ev := range r.Events {
		if e, ok := ev.(*messages.BalanceUpdated); ok && int(e.Asset) >= len(s.Deposits) {
			return fmt.Errorf("LSN %d: asset %d is not configured", r.LSN, e.Asset)
		}
		if market := marketOf(ev); market >= len(s.Books) {
			return fmt.Errorf("LSN %d: market %d is not configured", r.LSN, market)
		}
		if e, ok := ev.(*messages.ConfigSet); ok {
			var err error
			if next, _, err = s.file.Adopt(e, false); err != nil {
				return fmt.Errorf("LSN %d: %w", r.LSN, err)
			}
		}
	}
	for _, ev := range r.Events {
		if e, ok := ev.(*messages.ConfigSet); ok {
			s.Spec = e
			s.configure(next)
		}
		if e, ok := ev.(*messages.BalanceUpdated); ok {
			if e.Negative {
				s.Withdrawals[e.Asset].Add(&s.Withdrawals[e.Asset], &e.Change)
			} else {
				s.Deposits[e.Asset].Add(&s.Deposits[e.Asset], &e.Change)
			}
		}
	}
	s.LastLSN = r.LSN
	return nil
}

// configure puts the state under next, the configuration of a ConfigSet
// it applies: books for the markets next adds (on a state nothing was
// applied to yet, everything anew), ledgers and sums for its assets, and
// next's rules for the markets it keeps.
func (s *State) configure(next *config.Config) {
	old := s.cfg
	s.cfg = next
	if s.LastLSN == 0 {
		fresh := NewState(next)
		s.Books, s.Ledgers, s.Deposits, s.Withdrawals = fresh.Books, fresh.Ledgers, fresh.Deposits, fresh.Withdrawals
		return
	}
	for i, m := range next.Markets {
		switch {
		case i >= len(s.Books):
			s.Books = append(s.Books, book.New(actors.BookConfig(m)))
		case i >= len(old.Markets) || old.Markets[i].Name != m.Name:
			s.Books[i] = book.New(actors.BookConfig(m)) // a market of the file the journal never had
		default:
			SetRules(s.Books[i], m)
		}
	}
	s.Books = s.Books[:len(next.Markets)]
	for len(s.Deposits) < len(next.Assets) {
		s.Deposits = append(s.Deposits, uint256.Int{})
		s.Withdrawals = append(s.Withdrawals, uint256.Int{})
	}
	for _, l := range s.Ledgers {
		l.AddAssets(len(next.Assets))
	}
}

// SetRules gives b the rules of m that may change at run time.
func SetRules(b *book.Book, m *config.Market) {
	c := b.Config()
	c.MinAmount, c.MaxOpenOrders, c.STP = m.MinUnits, m.MaxOpenOrders, m.STPMode
}

// eachLedger calls fn with every ledger that owns a user ev touches, once
// each: applying ev to the other ledgers would change nothing (Ledger.Apply
// ignores users a shard does not own).
func (s *State) eachLedger(ev messages.Event, fn func(*ledger.Ledger)) {
	s.eachLedgerIndex(ev, func(i int) { fn(s.Ledgers[i]) })
}

// eachLedgerIndex is eachLedger by index in s.Ledgers (the shard).
func (s *State) eachLedgerIndex(ev messages.Event, fn func(int)) {
	n := uint32(len(s.Ledgers))
	if n == 0 {
		return
	}
	sc := ev.Scope()
	shards, k := sc.Shards(n, s.Ledgers[0].Config().FeeUser)
	for _, i := range shards[:k] {
		fn(i)
	}
}

// Hash is the state hash of the recovered cores.
func (s *State) Hash() string {
	books := make([][]byte, len(s.Books))
	for i, b := range s.Books {
		books[i] = corestate.AppendBook(nil, b)
	}
	ledgers := make([][]byte, len(s.Ledgers))
	for i, l := range s.Ledgers {
		ledgers[i] = corestate.AppendLedger(nil, l)
	}
	return corestate.Hash(books, ledgers)
}

// JournalDir is where the embedded journal lives under a data directory.
func JournalDir(dataDir string) string { return filepath.Join(dataDir, "journal") }

// JournalName names the journal Recover opens for dataDir and journalDSN,
// for messages (a MySQL DSN's password is left out).
func JournalName(dataDir, journalDSN string) string {
	if journalDSN != "" {
		return pj.MySQLName(journalDSN)
	}
	return JournalDir(dataDir)
}

// Backend is a recovered journal backend: what the writer needs, and Read
// for actors that rebuild their state while the writer appends.
type Backend interface {
	journal.Backend
	Read(after, upto uint64, fn func(pj.Record) error) error
}

// Recover rebuilds the state: the newest valid snapshot under dataDir (if
// any), then the journal after it — the MySQL table at journalDSN if it is
// set (see pj.ParseMySQLDSN), else the segment files under dataDir. It
// returns the state with the backend, ready to append after the last
// durable record. Both backends replay through State.Apply.
func Recover(cfg *config.Config, dataDir, journalDSN string) (*State, Backend, error) {
	s, err := loadSnapshot(cfg, dataDir)
	if err != nil {
		return nil, nil, fmt.Errorf("recover: %w", err)
	}
	var (
		backend Backend
		rec     pj.Recovery
	)
	apply := s.Apply
	var rp *replayer
	if w := replayWorkers(); w > 1 {
		rp = s.newReplayer(w)
		apply = rp.Apply
	}
	if journalDSN != "" {
		backend, rec, err = pj.OpenMySQL(journalDSN, s.LastLSN, apply)
	} else {
		backend, rec, err = pj.OpenFiles(JournalDir(dataDir), 0, s.LastLSN, apply)
	}
	if rp != nil {
		rp.Wait()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("recover: %w", err)
	}
	s.Recovery = rec
	return s, backend, nil
}

// Scan is Recover without changing anything: it reads the newest valid
// snapshot and the journal after it (pj.ScanFiles or pj.ScanMySQL), creates
// no directory, file or table, cuts no torn tail (State.Recovery reports
// it) and takes no lock, so it may read the data directory or journal
// table of a running node. bourse verify uses it.
func Scan(cfg *config.Config, dataDir, journalDSN string) (*State, error) {
	s, err := loadSnapshot(cfg, dataDir)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	var rec pj.Recovery
	if journalDSN != "" {
		rec, err = pj.ScanMySQL(journalDSN, s.LastLSN, s.Apply)
	} else {
		rec, err = pj.ScanFiles(JournalDir(dataDir), s.LastLSN, s.Apply)
	}
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	s.Recovery = rec
	return s, nil
}

// loadSnapshot restores the newest valid snapshot under dataDir, or returns
// the empty state when there is none.
func loadSnapshot(cfg *config.Config, dataDir string) (*State, error) {
	if dataDir == "" {
		return NewState(cfg), nil
	}
	f, skipped, err := snapshot.Latest(SnapshotDir(dataDir), snapshotUsable(cfg))
	if err != nil {
		return nil, err
	}
	if f == nil {
		s := NewState(cfg)
		s.SkippedSnapshots = skipped
		return s, nil
	}
	s, err := StateFromFile(cfg, f)
	if err != nil {
		return nil, err
	}
	s.Snapshot, s.SkippedSnapshots = f.LSN, skipped
	return s, nil
}
