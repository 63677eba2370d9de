package runtime_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/bourse-exchange/bourse/actors/journal"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/testnode"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/runtime"
)

// TestPanicRecovery injects panics into a market and a balance shard under a
// concurrent load. Each failed actor is restarted by its supervisor and
// rebuilds its state from the journal before its next message. The test
// checks that the service keeps answering, that the failed commands got
// code 2, that every acknowledged deposit survived, and that the live state
// hash equals the hash of an offline recovery of the journal, with money
// conserved.
func TestPanicRecovery(t *testing.T) {
	cfg, err := config.Parse(config.Default)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var marketHits, shardHits, injected atomic.Int64
	var armed atomic.Bool
	armed.Store(true)
	faults := func(actor, point string, msg messages.Command) bool {
		if !armed.Load() {
			return false
		}
		switch actor {
		case "market-0":
			// After the book changed: only a rebuild from the journal
			// brings the book back in line with the ledgers.
			if _, ok := msg.(*messages.PutLimit); ok && point == "apply" && marketHits.Add(1)%97 == 0 {
				injected.Add(1)
				return true
			}
		case "shard-1":
			if shardHits.Add(1)%89 == 0 {
				injected.Add(1)
				return true
			}
		}
		return false
	}
	n := testnode.Start(t, cfg, runtime.Options{
		DataDir: dir,
		Journal: journal.Options{Mode: journal.Sync}, Faults: faults,
	})
	var (
		mu    sync.Mutex
		acked []*messages.BalanceUpdate
		code2 atomic.Int64
		wg    sync.WaitGroup
	)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 3))
			for i := 0; i < 600; i++ {
				user := uint32(1 + rng.IntN(16))
				m := cfg.Markets[rng.IntN(len(cfg.Markets))]
				var cmd messages.Command
				if rng.IntN(4) == 0 {
					a := cfg.Assets[rng.IntN(len(cfg.Assets))]
					cmd = &messages.BalanceUpdate{User: user, Asset: a.ID, Business: "deposit", BusinessID: uint64(w<<20 | i), Change: save("500"), Time: int64(i)}
				} else {
					cmd = &messages.PutLimit{User: user, Market: m.ID, Side: messages.Side(1 + rng.IntN(2)),
						Amount: int64(1+rng.IntN(20)) * m.MinUnits, Price: int64(95+rng.IntN(10)) * pow(m.MoneyPrec),
						TakerFee: 20, MakerFee: 10, Time: int64(i)}
				}
				r, err := n.Router.Do(context.Background(), cmd)
				if err != nil {
					t.Errorf("no answer: %v", err)
					return
				}
				if e, ok := r.(*messages.ErrorReply); ok && e.Err == messages.ErrInternal {
					code2.Add(1)
				}
				if u, ok := cmd.(*messages.BalanceUpdate); ok {
					if _, ok := r.(*messages.StatusReply); ok {
						mu.Lock()
						acked = append(acked, u)
						mu.Unlock()
					}
				}
			}
		}(w)
	}
	wg.Wait()
	armed.Store(false)
	if injected.Load() == 0 || code2.Load() != injected.Load() {
		t.Fatalf("injected %d panics, %d commands answered code 2", injected.Load(), code2.Load())
	}
	// Every acknowledged deposit is there: re-sending it is a repeat.
	for _, u := range acked {
		again := *u
		again.ReplyTo = nil
		if e, ok := do(t, n, &again).(*messages.ErrorReply); !ok || e.Err != messages.ErrRepeatUpdate {
			t.Fatalf("acknowledged deposit %d of user %d lost after restarts", u.BusinessID, u.User)
		}
	}
	live, err := n.Router.StateHash(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	s, files, err := runtime.Recover(cfg, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	files.Close()
	if bad := s.Check(); len(bad) > 0 {
		t.Fatalf("invariants: %v", bad)
	}
	if got := s.Hash(); got != live {
		t.Fatalf("live state after %d panics differs from the journal: live %s, recovered %s", injected.Load(), live, got)
	}
	t.Logf("%d panics injected (market-0 and shard-1), %d deposits acknowledged, state hashes equal", injected.Load(), len(acked))
}
