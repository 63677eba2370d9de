package runtime_test

import (
	"context"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/testnode"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/runtime"
)

// TestDeadMansSwitchSurvivesRestart: a switch armed before a restart is
// restored from the journal and fires at its deadline after it, cancelling
// the user's resting and held stop orders and releasing their funds; the
// node's clock reaches the markets only as Tick messages (Node.Tick here).
func TestDeadMansSwitchSurvivesRestart(t *testing.T) {
	cfg, err := config.Parse(config.Default)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	start := func() *runtime.Node {
		return testnode.Start(t, cfg, runtime.Options{DataDir: dir, TickInterval: -1})
	}
	m := cfg.Markets[0]
	const t0 = int64(1_700_000_000_000_000)
	n := start()
	for _, a := range []messages.AssetID{m.StockAsset.ID, m.MoneyAsset.ID} {
		do(t, n, &messages.BalanceUpdate{User: 1, Asset: a, Business: "deposit", BusinessID: uint64(a) + 1, Change: save("1000"), Time: t0})
	}
	put := func(cmd *messages.PutLimit) {
		t.Helper()
		if r, ok := do(t, n, cmd).(*messages.OrderReply); !ok {
			t.Fatalf("put: %+v", r)
		}
	}
	put(&messages.PutLimit{User: 1, Market: m.ID, Side: messages.Bid, Amount: units("1", m.StockPrec), Price: units("90", m.MoneyPrec), Source: "t", Time: t0, ClientID: "bid"})
	put(&messages.PutLimit{User: 1, Market: m.ID, Side: messages.Ask, Amount: units("1", m.StockPrec), Price: units("120", m.MoneyPrec), Source: "t", Time: t0,
		StopPrice: units("80", m.MoneyPrec)})
	r, ok := do(t, n, &messages.CancelAfter{User: 1, Market: m.ID, Timeout: 10e6, Time: t0}).(*messages.CancelAfterReply)
	if !ok || r.Deadline != t0+10e6 {
		t.Fatalf("cancel_all_after: %+v", r)
	}
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	n = start()
	defer n.Shutdown(context.Background())
	pending := func() int {
		t.Helper()
		l, ok := do(t, n, &messages.OrderPending{User: 1, Market: m.ID, Limit: 10}).(*messages.OrderListReply)
		if !ok {
			t.Fatal("order.pending failed")
		}
		return l.Total
	}
	n.Tick(time.UnixMicro(t0 + 10e6 - 1))
	if got := pending(); got != 2 {
		t.Fatalf("before the deadline, after a restart: %d open orders; want 2", got)
	}
	n.Tick(time.UnixMicro(t0 + 10e6))
	if got := pending(); got != 0 {
		t.Fatalf("at the deadline: %d open orders; want 0", got)
	}
	b, ok := do(t, n, &messages.BalanceQuery{User: 1}).(*messages.BalanceQueryReply)
	if !ok {
		t.Fatal("balance.query failed")
	}
	for i, bal := range b.Balances {
		if !bal.Frozen.IsZero() {
			t.Errorf("asset %d: frozen %s after the switch fired", b.Assets[i], bal.Frozen.Dec())
		}
	}
	if r, ok := do(t, n, &messages.CancelAfter{User: 1, Market: m.ID, Time: t0 + 11e6}).(*messages.CancelAfterReply); !ok || r.Deadline != 0 {
		t.Fatalf("the switch is off after firing: %+v", r)
	}
}

// TestShutdownTwice: a second Shutdown returns the first one's result.
func TestShutdownTwice(t *testing.T) {
	cfg, err := config.Parse(config.Default)
	if err != nil {
		t.Fatal(err)
	}
	n := testnode.Start(t, cfg, runtime.Options{DataDir: t.TempDir()})
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}
