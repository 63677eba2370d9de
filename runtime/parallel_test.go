package runtime_test

import (
	"context"
	"strings"
	"testing"

	"github.com/bourse-exchange/bourse/actors/balance/ledger"
	"github.com/bourse-exchange/bourse/actors/journal"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
	"github.com/bourse-exchange/bourse/runtime"
)

// journalOf runs the seeded workload on a node and returns the journal it
// wrote and the live state hash.
func journalOf(t *testing.T, cfg *config.Config, seed uint64, steps int) ([]pj.Record, string) {
	t.Helper()
	dir := t.TempDir()
	n := startAt(t, cfg, dir, "", journal.Sync)
	workload(t, n, seed, steps)
	live, err := n.Router.StateHash(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	var records []pj.Record
	if _, _, err := pj.OpenFiles(runtime.JournalDir(dir), 0, 0, func(r pj.Record) error {
		records = append(records, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return records, live
}

// applyEverywhere is the reference replay: every event to its book and to
// every ledger, record by record, on one goroutine.
func applyEverywhere(s *runtime.State, records []pj.Record) {
	for _, r := range records {
		for _, ev := range r.Events {
			for _, b := range s.Books {
				b.Apply(ev)
			}
			for _, l := range s.Ledgers {
				l.Apply(ev, ledger.Replay)
			}
		}
		s.LastLSN = r.LSN
	}
}

// TestParallelReplay: applying a journal on several goroutines (as Recover
// does), or record by record with State.Apply (which hands each event only
// to the ledgers of its users), gives the state of the reference replay and
// of the live node, for 1 to 5 workers.
func TestParallelReplay(t *testing.T) {
	cfg, err := config.Parse(config.Default)
	if err != nil {
		t.Fatal(err)
	}
	for seed := uint64(31); seed <= 32; seed++ {
		records, live := journalOf(t, cfg, seed, 1500)
		ref := runtime.NewState(cfg)
		applyEverywhere(ref, records)
		if got := ref.Hash(); got != live {
			t.Fatalf("seed %d: reference replay hash %s != live %s", seed, got, live)
		}
		seq := runtime.NewState(cfg)
		for _, r := range records {
			if err := seq.Apply(r); err != nil {
				t.Fatal(err)
			}
		}
		if got := seq.Hash(); got != live {
			t.Fatalf("seed %d: State.Apply hash %s != live %s", seed, got, live)
		}
		for workers := 1; workers <= 5; workers++ {
			par := runtime.NewState(cfg)
			if err := runtime.ReplayOn(par, workers, records); err != nil {
				t.Fatal(err)
			}
			if got := par.Hash(); got != live || par.LastLSN != seq.LastLSN {
				t.Fatalf("seed %d, %d workers: hash %s at LSN %d; want %s at %d", seed, workers, got, par.LastLSN, live, seq.LastLSN)
			}
			for a := range par.Deposits {
				if !par.Deposits[a].Eq(&seq.Deposits[a]) || !par.Withdrawals[a].Eq(&seq.Withdrawals[a]) {
					t.Fatalf("seed %d, %d workers: asset %d sums differ", seed, workers, a)
				}
			}
			if bad := par.Check(); len(bad) > 0 {
				t.Fatalf("seed %d, %d workers: invariants: %v", seed, workers, bad)
			}
		}
	}
}

// TestParallelReplayErrors: a gap or an unconfigured market is reported at
// the record that has it, and a panic in a core (an event that does not fit
// the state) reaches the caller, as with State.Apply.
func TestParallelReplayErrors(t *testing.T) {
	cfg, err := config.Parse(config.Default)
	if err != nil {
		t.Fatal(err)
	}
	records, _ := journalOf(t, cfg, 33, 900)

	gap := append(append([]pj.Record(nil), records[:100]...), records[101:]...)
	err = runtime.ReplayOn(runtime.NewState(cfg), 2, gap)
	if err == nil || !strings.Contains(err.Error(), "journal gap: record 102 follows 100") {
		t.Fatalf("gap: %v", err)
	}

	bad := append([]pj.Record(nil), records[:50]...)
	bad = append(bad, pj.Record{LSN: 51, Events: []messages.Event{&messages.OrderRested{Market: 99, OrderID: 1}}})
	err = runtime.ReplayOn(runtime.NewState(cfg), 2, bad)
	if err == nil || !strings.Contains(err.Error(), "LSN 51: market 99 is not configured") {
		t.Fatalf("unconfigured market: %v", err)
	}

	orphan := append([]pj.Record(nil), records[:50]...)
	orphan = append(orphan, pj.Record{LSN: 51, Events: []messages.Event{&messages.OrderFinished{Market: 0, OrderID: 1 << 40}}})
	func() {
		defer func() {
			p := recover()
			if p == nil || !strings.Contains(p.(string), "finish of unknown order") {
				t.Fatalf("panic %v; want the book's", p)
			}
		}()
		runtime.ReplayOn(runtime.NewState(cfg), 2, orphan)
	}()
}
