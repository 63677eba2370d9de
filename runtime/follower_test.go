package runtime_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/bourse-exchange/bourse/internal/testnode"

	"github.com/bourse-exchange/bourse/internal/testenv"

	"github.com/bourse-exchange/bourse/actors/journal"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/persistence/derive"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
	"github.com/bourse-exchange/bourse/persistence/snapshot"
	"github.com/bourse-exchange/bourse/runtime"
)

// recorder is a follower that keeps the derived records it stored and can
// be switched off (its sink "down").
type recorder struct {
	mu      sync.Mutex
	cursor  uint64
	records []derive.Record
	down    bool
}

func (r *recorder) Name() string { return "recorder" }

func (r *recorder) Cursor(context.Context) (uint64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down {
		return 0, errors.New("sink down")
	}
	return r.cursor, nil
}

func (r *recorder) Apply(_ context.Context, rs []derive.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down {
		return errors.New("sink down")
	}
	if rs[0].LSN != r.cursor+1 && r.cursor != 0 {
		// A follower told to skip (its journal is gone) starts later.
		r.records = append(r.records, derive.Record{LSN: 0})
	}
	r.records = append(r.records, rs...)
	r.cursor = rs[len(rs)-1].LSN
	return nil
}

func (r *recorder) set(down bool) {
	r.mu.Lock()
	r.down = down
	r.mu.Unlock()
}

func (r *recorder) at() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cursor
}

// TestFollowerAcrossSnapshots: while a follower's sink is down, snapshots
// are written and old segments removed, but the newest snapshot at or
// before the follower's cursor and the journal after it are kept; the
// follower, restarted, rebuilds its state there and stores every record
// once: the balance changes it derived sum, per account and asset, to the
// ledgers' totals. A follower lagging by more than max_follower_lag loses
// that hold and skips to the oldest snapshot kept.
func TestFollowerAcrossSnapshots(t *testing.T) {
	old := pj.SegmentSize
	pj.SegmentSize = 8 << 10
	t.Cleanup(func() { pj.SegmentSize = old })
	for _, tc := range []struct {
		name   string
		maxLag uint64
	}{{"held", 10_000_000}, {"lagging too far", 50}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse(config.Default)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Snapshot.MaxFollowerLag = tc.maxLag
			dir := t.TempDir()
			n := startAt(t, cfg, dir, "", journal.Sync)
			// Past the derive stage's window, so the restarted follower
			// rebuilds its state from the snapshot and the journal.
			n.Feed.SetDeriveWindow(16)
			log := testenv.Quiet()
			rec := &recorder{}
			ctx, cancel := context.WithCancel(context.Background())
			n.Feed.Follow(ctx, rec, 64, log)
			workload(t, n, 51, 400)
			testnode.WaitCursor(t, "follower", n.Journal.LastLSN(), rec.at)
			stalled := rec.at()
			if err := n.Snapshots.Now(); err != nil { // a snapshot at the cursor
				t.Fatal(err)
			}
			rec.set(true)
			for i := 0; i < 3; i++ {
				workload(t, n, uint64(52+i), 400)
				if err := n.Snapshots.Now(); err != nil {
					t.Fatal(err)
				}
			}
			lsns, _ := snapshot.List(runtime.SnapshotDir(dir))
			held := false
			for _, l := range lsns {
				held = held || l <= stalled
			}
			if want := tc.maxLag > 1000; held != want {
				t.Fatalf("snapshots %v with the follower at %d: one at or before it kept = %v; want %v", lsns, stalled, held, want)
			}
			cancel()
			n.Feed.Wait(rec.Name())
			rec.set(false)
			n.Feed.Follow(context.Background(), rec, 64, log)
			workload(t, n, 60, 200)
			last := n.Journal.LastLSN()
			testnode.WaitCursor(t, "follower", last, rec.at)
			if err := n.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}

			rec.mu.Lock()
			defer rec.mu.Unlock()
			skipped := false
			var prev uint64
			for _, r := range rec.records {
				if r.LSN == 0 {
					skipped, prev = true, 0
					continue
				}
				if prev != 0 && r.LSN != prev+1 {
					t.Fatalf("record %d stored after %d", r.LSN, prev)
				}
				prev = r.LSN
			}
			if skipped != (tc.maxLag <= 1000) {
				t.Fatalf("follower skipped records = %v with max_follower_lag %d", skipped, tc.maxLag)
			}
			if skipped {
				return
			}
			state, b, err := runtime.Recover(cfg, dir, "")
			if err != nil {
				t.Fatal(err)
			}
			b.Close()
			checkChangesSumToLedgers(t, state, rec.records)
		})
	}
}

// TestFollowerStartsAfterRemovedJournal: a new follower (cursor 0) on a
// node whose journal before its snapshot was removed starts from that
// snapshot and stores every record after it.
func TestFollowerStartsAfterRemovedJournal(t *testing.T) {
	old := pj.SegmentSize
	pj.SegmentSize = 8 << 10
	t.Cleanup(func() { pj.SegmentSize = old })
	cfg, err := config.Parse(config.Default)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	n := startAt(t, cfg, dir, "", journal.Sync)
	workload(t, n, 71, 600)
	if err := n.Snapshots.Now(); err != nil {
		t.Fatal(err)
	}
	snap := n.Journal.LastLSN()
	if err := pj.ReadFiles(runtime.JournalDir(dir), 0, 1, func(pj.Record) error { return nil }); err == nil {
		t.Fatal("record 1 is still in the journal: the test needs it removed")
	}
	rec := &recorder{}
	n.Follow(rec, 64)
	workload(t, n, 72, 300)
	last := n.Journal.LastLSN()
	testnode.WaitCursor(t, "follower", last, rec.at)
	n.Shutdown(context.Background())
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if first := rec.records[0].LSN; first != snap+1 {
		t.Fatalf("first record stored: %d; want %d (the one after the snapshot)", first, snap+1)
	}
	if got := uint64(len(rec.records)); got != last-snap {
		t.Fatalf("%d records stored; want %d", got, last-snap)
	}
}
