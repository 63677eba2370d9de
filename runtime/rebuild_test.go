package runtime_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/actors/journal"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/testnode"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/runtime"
)

// TestShardRebuildWithJournaledReservation: a shard panics while the Settle
// of an order it reserved for is still in its mailbox although the order's
// record is already journaled. The rebuilt ledger holds that order's freeze
// (from the replayed OrderPlaced); the shard must not freeze it a second
// time, must keep answering, and must end equal to the journal.
func TestShardRebuildWithJournaledReservation(t *testing.T) {
	cfg, err := config.Parse(config.Default)
	if err != nil {
		t.Fatal(err)
	}
	var n *runtime.Node
	putSeen := make(chan struct{}, 1)
	var armed atomic.Bool
	armed.Store(true)
	faults := func(actor, point string, msg messages.Command) bool {
		if actor != "shard-1" || !armed.Load() {
			return false
		}
		switch m := msg.(type) {
		case *messages.PutLimit:
			putSeen <- struct{}{}
			time.Sleep(50 * time.Millisecond) // let the deposit queue behind the order
		case *messages.BalanceUpdate:
			if m.User == 5 {
				// Panic once the order's record is committed: its Settle
				// then waits behind this message.
				for n.Journal.LastLSN() < 2 {
					time.Sleep(time.Millisecond)
				}
				time.Sleep(20 * time.Millisecond)
				armed.Store(false)
				return true
			}
		}
		return false
	}
	dir := t.TempDir()
	n = testnode.Start(t, cfg, runtime.Options{DataDir: dir,
		Journal: journal.Options{Mode: journal.Sync}, Faults: faults})
	usdt := cfg.Asset("USDT").ID
	do(t, n, &messages.BalanceUpdate{User: 1, Asset: usdt, Business: "deposit", BusinessID: 1, Change: save("100"), Time: 1})
	done := make(chan messages.Reply, 1)
	go func() {
		r, _ := n.Router.Do(context.Background(), &messages.PutLimit{User: 1, Market: 0, Side: messages.Bid,
			Amount: units("1", 8), Price: units("100", 2), Time: 2}) // reserves all 100 USDT
		done <- r
	}()
	<-putSeen
	go n.Router.Do(context.Background(), &messages.BalanceUpdate{User: 5, Asset: usdt, Business: "deposit", BusinessID: 2, Change: save("1"), Time: 3})
	if _, ok := (<-done).(*messages.OrderReply); !ok {
		t.Fatal("the order was not acknowledged")
	}
	var b messages.Balance
	deadline := time.Now().Add(5 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		r, err := n.Router.Do(ctx, &messages.BalanceQuery{User: 1, Assets: []messages.AssetID{usdt}})
		cancel()
		if err == nil {
			b = r.(*messages.BalanceQueryReply).Balances[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("shard-1 stopped answering after its restart")
		}
	}
	if !b.Available.IsZero() || b.Frozen != save("100") {
		t.Fatalf("user 1 USDT after the rebuild: available %s frozen %s; want 0 and 100e12", b.Available.Dec(), b.Frozen.Dec())
	}
	live, err := n.Router.StateHash(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n.Shutdown(context.Background())
	s, back, err := runtime.Recover(cfg, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	back.Close()
	if s.Hash() != live {
		t.Fatal("live state differs from the journal after the rebuild")
	}
	if bad := s.Check(); len(bad) > 0 {
		t.Fatalf("invariants: %v", bad)
	}
}
