package runtime_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/testenv"
	"github.com/bourse-exchange/bourse/internal/testnode"
	"github.com/bourse-exchange/bourse/persistence/dirlock"
	"github.com/bourse-exchange/bourse/runtime"
)

// TestStartLocksDataDir: a second node on a data directory in use fails to
// start, naming it; once the first shuts down, a node starts there.
func TestStartLocksDataDir(t *testing.T) {
	cfg, err := config.Parse(config.Default)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	opts := runtime.Options{Logger: testenv.Quiet(), DataDir: dir, TickInterval: -1}
	n := testnode.Start(t, cfg, opts)
	if _, err := runtime.Start(cfg, opts); !errors.Is(err, dirlock.ErrLocked) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("second Start = %v; want ErrLocked naming %s", err, dir)
	}
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	n = testnode.Start(t, cfg, opts) // after Shutdown
	n.Shutdown(context.Background())
}

// TestStartRemovesTempFiles: the temporary files of a snapshot or market
// data checkpoint whose write was interrupted are removed at start; other
// files stay.
func TestStartRemovesTempFiles(t *testing.T) {
	cfg, err := config.Parse(config.Default)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var tmps, keep []string
	for _, d := range []string{runtime.SnapshotDir(dir), runtime.MarketDataDir(dir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		tmps = append(tmps, filepath.Join(d, "tmp-1234567"), filepath.Join(d, "tmp-89"))
		keep = append(keep, filepath.Join(d, "notes.txt"))
	}
	for _, f := range append(append([]string{}, tmps...), keep...) {
		if err := os.WriteFile(f, []byte("half a snapshot"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	n := testnode.Start(t, cfg, runtime.Options{DataDir: dir, TickInterval: -1})
	defer n.Shutdown(context.Background())
	for _, f := range tmps {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s still there after start (%v)", f, err)
		}
	}
	for _, f := range keep {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
