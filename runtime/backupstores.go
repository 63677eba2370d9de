package runtime

import (
	"context"
	"fmt"
	"sync"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/persistence/derive"
	"github.com/bourse-exchange/bourse/persistence/history"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
	"github.com/bourse-exchange/bourse/persistence/marketdata"
)

// catchUpStores brings the local stores copied into out — the SQLite
// history and the market data checkpoint — up to the backup's LSN when
// they are behind it, with the journal's records between their cursor and
// res.LSN, derived as the node's followers derive them. The restored node
// may not be able to do it itself: a MySQL journal is restored on a new
// empty table, and the copied segment files need not reach back to the
// store's cursor. A store whose cursor is older than what the journal and
// the node's snapshots still hold fails the backup.
//
// The stores are opened under live, the configuration of the backup's state
// (the journal's, with the assets and markets it added at run time or an
// earlier file listed); cfg, the file's, only locates the snapshots.
func catchUpStores(ctx context.Context, cfg, live *config.Config, dataDir, journalDSN, out string, res *BackupResult) error {
	if !res.History && !res.MarketData {
		return nil
	}
	d := &durable{cfg: cfg, dataDir: dataDir, store: &sync.RWMutex{}}
	if journalDSN != "" {
		r, err := pj.OpenMySQLReader(journalDSN)
		if err != nil {
			return err
		}
		defer r.Close()
		d.read = r.Read
	} else {
		d.read = func(after, upto uint64, fn func(pj.Record) error) error {
			return pj.ReadFiles(JournalDir(out), after, upto, fn)
		}
	}
	if res.History {
		if err := catchUpHistory(ctx, live, d, HistoryPath(out), res.LSN); err != nil {
			return fmt.Errorf("history: %w", err)
		}
	}
	if res.MarketData {
		if err := catchUpMarketData(live, d, MarketDataDir(out), res.LSN); err != nil {
			return fmt.Errorf("market data: %w", err)
		}
	}
	return nil
}

// catchUpHistory applies to the SQLite history at path the records after
// its cursor up to upto (each batch with its cursor, in one transaction).
func catchUpHistory(ctx context.Context, cfg *config.Config, d *durable, path string, upto uint64) error {
	h, err := history.Open(ctx, history.Options{Config: cfg, Path: path})
	if err != nil {
		return err
	}
	cursor, err := h.Cursor(ctx)
	if err == nil && cursor < upto {
		err = derived(d, "history", cursor, upto, func(batch []derive.Record) error { return h.Apply(ctx, batch) })
	}
	if cerr := h.Close(); err == nil {
		err = cerr
	}
	return err
}

// catchUpMarketData applies to the market data checkpoint in dir the
// records after its LSN up to upto and writes it back.
func catchUpMarketData(cfg *config.Config, d *durable, dir string, upto uint64) error {
	data, err := marketdata.ReadCheckpoint(dir)
	if err != nil || data == nil {
		return err
	}
	m := marketdata.NewModel(cfg)
	if err := m.Decode(data); err != nil {
		return fmt.Errorf("the copied checkpoint cannot be brought up to the backup's LSN %d: %w", upto, err)
	}
	if m.LSN() >= upto {
		return nil
	}
	err = derived(d, "market data checkpoint", m.LSN(), upto, func(batch []derive.Record) error {
		for i := range batch {
			if err := m.Apply(&batch[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return marketdata.WriteCheckpoint(dir, m.Encode())
}

// derived passes fn, in batches of up to FollowerBatch, the derived
// records with cursor < LSN ≤ upto, from a Deriver built at cursor as the
// node's followers build theirs (durable.Deriver). It fails when the
// journal and the snapshots no longer hold what follows cursor.
func derived(d *durable, store string, cursor, upto uint64, fn func([]derive.Record) error) error {
	dv, err := d.Deriver(cursor)
	if err != nil {
		return fmt.Errorf("the copied %s holds records up to LSN %d, behind the backup's LSN %d, and cannot be brought up to it: %w", store, cursor, upto, err)
	}
	if dv.LSN() != cursor {
		return fmt.Errorf("the copied %s holds records up to LSN %d, behind the backup's LSN %d, and the journal and snapshots no longer hold the records after it (they go on after LSN %d): "+
			"the backup would lose them for good; let the node's followers catch up (or rebuild the store) and back up again", store, cursor, upto, dv.LSN())
	}
	batch := make([]derive.Record, 0, FollowerBatch)
	err = d.read(cursor, upto, func(r pj.Record) error {
		dr, err := dv.Derive(r)
		if err != nil {
			return err
		}
		if batch = append(batch, dr); len(batch) == FollowerBatch {
			err = fn(batch)
			batch = make([]derive.Record, 0, FollowerBatch)
		}
		return err
	})
	if err == nil && len(batch) > 0 {
		err = fn(batch)
	}
	return err
}
