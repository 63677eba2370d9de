package runtime_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/bourse-exchange/bourse/persistence/dirlock"
	"github.com/bourse-exchange/bourse/runtime"
	"github.com/bourse-exchange/bourse/runtime/config"
)

// TestStartLocksDataDir: a second node on a data directory in use fails to
// start, naming it; once the first shuts down, a node starts there.
func TestStartLocksDataDir(t *testing.T) {
	cfg, err := config.Parse(config.Default)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	opts := runtime.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), DataDir: dir, TickInterval: -1}
	n, err := runtime.Start(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runtime.Start(cfg, opts); !errors.Is(err, dirlock.ErrLocked) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("second Start = %v; want ErrLocked naming %s", err, dir)
	}
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	n, err = runtime.Start(cfg, opts)
	if err != nil {
		t.Fatalf("Start after Shutdown: %v", err)
	}
	n.Shutdown(context.Background())
}
