package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/persistence/history"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
	"github.com/bourse-exchange/bourse/persistence/marketdata"
	"github.com/bourse-exchange/bourse/persistence/snapshot"
)

// BackupResult is what Backup copied.
type BackupResult struct {
	// LSN is the last record the backup holds; Hash the state hash there.
	LSN  uint64
	Hash string
	// Records is how many journal records were copied (segment files; 0
	// for a MySQL journal, whose records stay in MySQL).
	Records  int
	Identity pj.Identity
	// History and MarketData tell whether the SQLite history database and
	// the market data checkpoint were copied.
	History, MarketData bool
}

// Backup copies the data directory dataDir of a node — running or not; it
// changes nothing there nor in the journal — into out, a new data
// directory: the state now, as a snapshot at the journal's last whole
// record (taken by this call, so it works before the node's first
// scheduled snapshot), the segment files' records up to that LSN (for a
// segment-file journal; a MySQL journal's records stay in MySQL), the
// journal identity, and — when present — a consistent copy of the SQLite
// history database and the market data checkpoint, brought up to the
// backup's LSN when they were behind it (catchUpStores; their cursors may
// be ahead of it: the restored node rolls back or rebuilds them). The binding file marks out as restored: its first start gives the
// journal a new timeline, so that stores that saw records after the
// backup's LSN are not taken as following it. The backup is checked: for
// segment files out is recovered and must give the same state hash.
func Backup(ctx context.Context, cfg *config.Config, dataDir, journalDSN, out string) (*BackupResult, error) {
	if entries, err := os.ReadDir(out); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("backup: %s is not empty", out)
	}
	var res *BackupResult
	var err error
	// The node may remove a snapshot or segment while they are read (a
	// snapshot of its own made them obsolete): start again.
	for try := 0; try < 5; try++ {
		if err = os.RemoveAll(out); err != nil {
			return nil, err
		}
		res, err = backup(ctx, cfg, dataDir, journalDSN, out)
		if !errors.Is(err, os.ErrNotExist) {
			break
		}
	}
	if err != nil {
		os.RemoveAll(out)
		return nil, fmt.Errorf("backup: %w", err)
	}
	return res, nil
}

// backup is one attempt of Backup.
func backup(ctx context.Context, cfg *config.Config, dataDir, journalDSN, out string) (*BackupResult, error) {
	bind, err := ReadBinding(dataDir)
	if err != nil {
		return nil, err
	}
	kind := backendKind(journalDSN)
	if bind == nil {
		return nil, fmt.Errorf("%s has no %s file: start the node on it with this version first", dataDir, BindingFile)
	}
	if bind.Backend != kind {
		return nil, fmt.Errorf("data directory %s belongs to the %s journal %s; -journal names a %s journal", dataDir, bind.Backend, bind.Journal, kind)
	}
	s, err := loadSnapshot(cfg, dataDir)
	if err != nil {
		return nil, err
	}
	res := &BackupResult{}
	var id *pj.Identity
	if journalDSN != "" {
		id, err = catchUpMySQL(journalDSN, s)
	} else {
		id, err = copyJournalFiles(dataDir, out, s, res)
	}
	if err != nil {
		return nil, err
	}
	if id == nil || id.ID != bind.Identity.ID {
		return nil, fmt.Errorf("the journal %s is not the one data directory %s belongs to (%s)", JournalName(dataDir, journalDSN), dataDir, bind.Identity)
	}
	res.LSN, res.Hash, res.Identity = s.LastLSN, s.Hash(), *id
	if _, err := snapshot.Write(SnapshotDir(out), s.File()); err != nil {
		return nil, err
	}
	if journalDSN == "" {
		if err := pj.WriteIdentityFile(JournalDir(out), *id); err != nil {
			return nil, err
		}
	}
	if err := copyFollowers(ctx, cfg, dataDir, out, res); err != nil {
		return nil, err
	}
	if err := catchUpStores(ctx, cfg, s.Config(), dataDir, journalDSN, out, res); err != nil {
		return nil, err
	}
	if err := WriteBinding(out, &Binding{Backend: kind, Journal: bind.Journal, Identity: *id, Restored: true, RestoredAt: res.LSN}); err != nil {
		return nil, err
	}
	if journalDSN == "" {
		back, err := Scan(cfg, out, "")
		if err != nil {
			return nil, fmt.Errorf("the copy does not recover: %w", err)
		}
		if back.LastLSN != res.LSN || back.Hash() != res.Hash {
			return nil, fmt.Errorf("the copy recovers to LSN %d hash %s, not LSN %d hash %s", back.LastLSN, back.Hash(), res.LSN, res.Hash)
		}
	}
	return res, nil
}

// catchUpMySQL applies to s the MySQL journal's records after s and
// returns the journal's identity.
func catchUpMySQL(journalDSN string, s *State) (*pj.Identity, error) {
	r, err := pj.OpenMySQLReader(journalDSN)
	if err != nil {
		return nil, err
	}
	id, err := r.Identity()
	r.Close()
	if err != nil {
		return nil, err
	}
	if _, err := pj.ScanMySQL(journalDSN, s.LastLSN, s.Apply); err != nil {
		return nil, err
	}
	return id, nil
}

// copyJournalFiles copies dataDir's journal segments into out, applying to
// s the records after it and counting them all in res.Records, and returns
// the journal's identity.
func copyJournalFiles(dataDir, out string, s *State, res *BackupResult) (*pj.Identity, error) {
	jdir := JournalDir(dataDir)
	id, err := pj.ReadIdentityFile(jdir)
	if err != nil {
		return nil, err
	}
	var w *pj.Files
	var batch []pj.Record
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if w == nil {
			var err error
			if w, _, err = pj.OpenFiles(JournalDir(out), 0, batch[0].LSN-1, nil); err != nil {
				return err
			}
		}
		err := w.Write(batch)
		clear(batch)
		batch = batch[:0]
		return err
	}
	// Read-only: a record the node is still writing at the end is
	// left out (a torn tail to this reader).
	_, err = pj.ScanFiles(jdir, 0, func(r pj.Record) error {
		batch = append(batch, r)
		res.Records++
		if r.LSN > s.LastLSN {
			if err := s.Apply(r); err != nil {
				return err
			}
		}
		if len(batch) == 1000 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if w != nil {
		if cerr := w.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return nil, err
	}
	return id, nil
}

// copyFollowers copies the followers' local stores, taken after the
// journal: their cursors are at or ahead of res.LSN only if they had
// caught up (catchUpStores brings them there). History in MySQL and market data in Redis are not copied.
func copyFollowers(ctx context.Context, cfg *config.Config, dataDir, out string, res *BackupResult) error {
	if src := HistoryPath(dataDir); cfg.History.DSN == "" && exists(src) {
		if err := history.CopySQLite(ctx, src, HistoryPath(out)); err != nil {
			return err
		}
		res.History = true
	}
	if cfg.MarketData.Redis == "" {
		data, err := marketdata.ReadCheckpoint(MarketDataDir(dataDir))
		if err != nil {
			return err
		}
		if data != nil {
			if err := marketdata.WriteCheckpoint(MarketDataDir(out), data); err != nil {
				return err
			}
			res.MarketData = true
		}
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
