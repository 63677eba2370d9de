// Package testnode starts Bourse nodes for tests and waits on what follows
// their journal. It imports runtime, so only external test packages
// (package runtime_test, history_test, …) and packages above runtime may
// use it; a package runtime imports cannot, from its internal tests.
package testnode

import (
	"context"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/testenv"
	"github.com/bourse-exchange/bourse/runtime"
)

// Timeout bounds every wait of this package.
const Timeout = 30 * time.Second

// Config parses the default configuration (bourse.yaml), or fails t.
func Config(t testing.TB) *config.Config {
	t.Helper()
	return Parse(t, config.Default)
}

// Parse parses a configuration document, or fails t.
func Parse(t testing.TB, doc []byte) *config.Config {
	t.Helper()
	cfg, err := config.Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Start starts a node for cfg, or fails t; a nil opts.Logger becomes a
// quiet one. The node is shut down when the test ends, unless the test
// did it first (Shutdown runs once).
func Start(t testing.TB, cfg *config.Config, opts runtime.Options) *runtime.Node {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testenv.Quiet()
	}
	n, err := runtime.Start(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Shutdown(context.Background()) })
	return n
}

// WaitCursor waits until cursor reports at least lsn and returns what it
// reported, or fails t after Timeout naming what is behind (e.g. "history
// store").
func WaitCursor(t testing.TB, what string, lsn uint64, cursor func() uint64) uint64 {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for {
		c := cursor()
		if c >= lsn {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s at LSN %d; want %d", what, c, lsn)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
