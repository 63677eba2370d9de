package runtime_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bourse-exchange/bourse/actors/journal"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/testnode"
	"github.com/bourse-exchange/bourse/messages"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
	"github.com/bourse-exchange/bourse/runtime"
	"github.com/prometheus/client_golang/prometheus"
)

// failingBackend refuses every write once fail is set, as a full disk
// does, writing nothing.
type failingBackend struct {
	journal.Backend
	fail *atomic.Bool
}

func (b failingBackend) Write(records []pj.Record) error {
	if b.fail.Load() {
		return errors.New("injected: no space left on device")
	}
	return b.Backend.Write(records)
}

// TestReadyAndJournalFailedGauge: the node is ready and
// bourse_journal_failed is 0 while writes succeed; once the journal fails
// (every write code 3), Ready says why and the gauge is 1.
func TestReadyAndJournalFailedGauge(t *testing.T) {
	cfg, err := config.Parse(config.Default)
	if err != nil {
		t.Fatal(err)
	}
	var fail atomic.Bool
	n := testnode.Start(t, cfg, runtime.Options{
		DataDir: t.TempDir(), TickInterval: -1,
		WrapBackend: func(b journal.Backend) journal.Backend { return failingBackend{b, &fail} },
	})
	defer n.Shutdown(context.Background())
	reg := prometheus.NewRegistry()
	reg.MustRegister(n.Metrics())
	gauge := func() float64 {
		t.Helper()
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			if f.GetName() == "bourse_journal_failed" {
				return f.GetMetric()[0].GetGauge().GetValue()
			}
		}
		t.Fatal("no bourse_journal_failed metric")
		return -1
	}
	usdt := cfg.Asset("USDT").ID
	deposit := func(id uint64) messages.Reply {
		return do(t, n, &messages.BalanceUpdate{User: 1, Asset: usdt, Business: "deposit", BusinessID: id, Change: save("1"), Time: 1})
	}
	if r := deposit(1); !isStatus(r) {
		t.Fatalf("deposit: %#v", r)
	}
	if err := n.Ready(); err != nil || gauge() != 0 {
		t.Fatalf("healthy node: Ready() = %v, bourse_journal_failed = %v; want nil and 0", err, gauge())
	}
	fail.Store(true)
	if r := deposit(2); isStatus(r) {
		t.Fatal("a deposit was acknowledged while the journal cannot write")
	}
	if !n.Journal.Failed() {
		t.Fatal("the journal did not fail")
	}
	if err := n.Ready(); err == nil || !strings.Contains(err.Error(), "journal failed") {
		t.Errorf("Ready() = %v; want the journal failure", err)
	}
	if g := gauge(); g != 1 {
		t.Errorf("bourse_journal_failed = %v; want 1", g)
	}
	n.Shutdown(context.Background())
	if err := n.Ready(); err == nil {
		t.Error("Ready() = nil after Shutdown")
	}
}

func isStatus(r messages.Reply) bool {
	_, ok := r.(*messages.StatusReply)
	return ok
}
