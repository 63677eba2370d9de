package runtime_test

import (
	"context"
	"os"
	"testing"

	"github.com/bourse-exchange/bourse/actors/journal"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/runtime"
)

// TestMarketHaltReplayed: market.halt is journaled and replayed exactly: a
// halted market refuses new orders (code 16, the reservation given back)
// and still cancels; other markets trade; the halt survives a restart from
// the journal and from a snapshot; market.resume lifts it, and that is
// replayed too. The state hash is the same live, recovered from the
// journal alone and from a snapshot.
func TestMarketHaltReplayed(t *testing.T) {
	cfg := edited(t)
	btc, eth := cfg.Market("BTCUSDT"), cfg.Market("ETHUSDT")
	dir := t.TempDir()
	n := startAt(t, cfg, dir, "", journal.Sync)
	do(t, n, &messages.BalanceUpdate{User: 1, Asset: cfg.Asset("USDT").ID, Business: "deposit", BusinessID: 1, Change: save("1000"), Time: 1})
	do(t, n, &messages.BalanceUpdate{User: 2, Asset: cfg.Asset("BTC").ID, Business: "deposit", BusinessID: 1, Change: save("10"), Time: 1})
	ask := do(t, n, &messages.PutLimit{User: 2, Market: btc.ID, Side: messages.Ask, Amount: units("1", 8), Price: units("100", 2), Time: 2}).(*messages.OrderReply)
	halt := func(m *messages.MarketHalt) {
		t.Helper()
		if r, ok := do(t, n, m).(*messages.StatusReply); !ok || r == nil {
			t.Fatalf("%+v: not a status reply", m)
		}
	}
	halt(&messages.MarketHalt{Market: btc.ID, Halt: true, Time: 3})
	lsn := n.Journal.LastLSN()
	halt(&messages.MarketHalt{Market: btc.ID, Halt: true, Time: 4}) // again: nothing to journal
	if n.Journal.LastLSN() != lsn {
		t.Fatalf("a second halt was journaled")
	}
	usdt := func() messages.Balance {
		return do(t, n, &messages.BalanceQuery{User: 1, Assets: []messages.AssetID{cfg.Asset("USDT").ID}}).(*messages.BalanceQueryReply).Balances[0]
	}
	refused := func(when string) {
		t.Helper()
		before := usdt()
		for _, cmd := range []messages.Command{
			&messages.PutLimit{User: 1, Market: btc.ID, Side: messages.Bid, Amount: units("1", 8), Price: units("100", 2), Time: 5},
			&messages.PutMarket{User: 1, Market: btc.ID, Side: messages.Bid, Amount: units("50", 2), Time: 5},
		} {
			if e, ok := do(t, n, cmd).(*messages.ErrorReply); !ok || e.Err != messages.ErrMarketHalted {
				t.Fatalf("%s: %T in a halted market: %+v", when, cmd, e)
			}
		}
		if after := usdt(); after != before {
			t.Fatalf("%s: user 1 USDT %v after refused orders; before %v", when, after, before)
		}
	}
	refused("live")
	if r, ok := do(t, n, &messages.PutLimit{User: 1, Market: eth.ID, Side: messages.Bid, Amount: units("1", 8), Price: units("1", 2), Time: 6}).(*messages.ErrorReply); ok {
		t.Fatalf("another market refused an order: %v", r.Err)
	}
	restart := func() string {
		t.Helper()
		live, err := n.Router.StateHash(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Snapshots.Now(); err != nil {
			t.Fatal(err)
		}
		if err := n.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		s, b, err := runtime.Recover(cfg, dir, "")
		if err != nil {
			t.Fatal(err)
		}
		b.Close()
		if s.Snapshot != s.LastLSN || s.Hash() != live {
			t.Fatalf("from snapshot %d (LSN %d): %s; live %s", s.Snapshot, s.LastLSN, s.Hash(), live)
		}
		// The journal alone (no snapshot).
		jonly := t.TempDir()
		if err := os.CopyFS(jonly, os.DirFS(runtime.JournalDir(dir))); err != nil {
			t.Fatal(err)
		}
		os.Rename(jonly, jonly+".j")
		os.MkdirAll(jonly, 0o755)
		os.Rename(jonly+".j", runtime.JournalDir(jonly))
		s, b, err = runtime.Recover(cfg, jonly, "")
		if err != nil {
			t.Fatal(err)
		}
		b.Close()
		if s.Snapshot != 0 || s.Hash() != live {
			t.Fatalf("from the journal: %s; live %s", s.Hash(), live)
		}
		n = startAt(t, cfg, dir, "", journal.Sync)
		return live
	}
	restart()
	refused("after a restart")
	if r, ok := do(t, n, &messages.Cancel{User: 2, Market: btc.ID, OrderID: ask.Order.ID, Time: 7}).(*messages.OrderReply); !ok || r.Order.ID != ask.Order.ID {
		t.Fatalf("cancel in a halted market refused")
	}
	halt(&messages.MarketHalt{Market: btc.ID, Halt: false, Time: 8})
	if r, ok := do(t, n, &messages.PutLimit{User: 1, Market: btc.ID, Side: messages.Bid, Amount: units("1", 8), Price: units("100", 2), Time: 9}).(*messages.OrderReply); !ok || r.Order.Left == 0 {
		t.Fatalf("order after market.resume refused")
	}
	restart()
	if r, ok := do(t, n, &messages.PutLimit{User: 1, Market: btc.ID, Side: messages.Bid, Amount: units("1", 8), Price: units("99", 2), Time: 10}).(*messages.OrderReply); !ok || r.Order.Left == 0 {
		t.Fatalf("order after resume and restart refused")
	}
	n.Shutdown(context.Background())
}
