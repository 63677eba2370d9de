package runtime_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/bourse-exchange/bourse/actors/journal"
	"github.com/bourse-exchange/bourse/internal/config"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
	"github.com/bourse-exchange/bourse/persistence/snapshot"
	"github.com/bourse-exchange/bourse/runtime"
)

// TestSnapshots: the follower writes snapshots of its shadow state while the
// node trades; journal segments covered by the oldest kept snapshot are
// removed; recovery starts from the newest valid snapshot (or the one
// before it, if the newest is damaged) and reaches exactly the live state.
func TestSnapshots(t *testing.T) {
	old := pj.SegmentSize
	pj.SegmentSize = 8 << 10
	t.Cleanup(func() { pj.SegmentSize = old })
	cfg, err := config.Parse(config.Default)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	n := startAt(t, cfg, dir, "", journal.Sync)
	workload(t, n, 21, 800)
	if err := n.Snapshots.Now(); err != nil {
		t.Fatal(err)
	}
	workload(t, n, 22, 800)
	if err := n.Snapshots.Now(); err != nil {
		t.Fatal(err)
	}
	workload(t, n, 23, 300)
	live, err := n.Router.StateHash(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	lsns, _ := snapshot.List(runtime.SnapshotDir(dir))
	if len(lsns) != 2 {
		t.Fatalf("snapshots kept: %v; want 2", lsns)
	}
	first, _ := filepath.Glob(filepath.Join(runtime.JournalDir(dir), "00000000000000000001.seg"))
	if len(first) != 0 {
		t.Fatalf("the first segment is still there although snapshot %d covers it", lsns[1])
	}
	recoverAndCompare := func(wantSnap uint64) {
		t.Helper()
		s, b, err := runtime.Recover(cfg, dir, "")
		if err != nil {
			t.Fatal(err)
		}
		b.Close()
		if s.Snapshot != wantSnap {
			t.Fatalf("recovered from snapshot %d; want %d", s.Snapshot, wantSnap)
		}
		if got := s.Hash(); got != live {
			t.Fatalf("recovered hash %s != live %s", got, live)
		}
		if bad := s.Check(); len(bad) > 0 {
			t.Fatalf("invariants: %v", bad)
		}
	}
	recoverAndCompare(lsns[0])
	// Damage the newest snapshot: recovery falls back to the older one.
	newest := filepath.Join(runtime.SnapshotDir(dir), snapshot.Name(lsns[0]))
	data, _ := os.ReadFile(newest)
	data[len(data)/3] ^= 0x10
	os.WriteFile(newest, data, 0o644)
	recoverAndCompare(lsns[1])
	// And the node starts from it and keeps working.
	n = startAt(t, cfg, dir, "", journal.Sync)
	if again, _ := n.Router.StateHash(context.Background()); again != live {
		t.Fatalf("restarted node hash %s != live %s", again, live)
	}
	workload(t, n, 24, 200)
	n.Shutdown(context.Background())
}
