package runtime_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/bourse-exchange/bourse/actors"
	"github.com/bourse-exchange/bourse/actors/journal"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/testnode"
	"github.com/bourse-exchange/bourse/messages"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
	"github.com/bourse-exchange/bourse/runtime"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// tunedDefault parses the default configuration with key (YAML, indented
// for the tuning mapping) added to its tuning section.
func tunedDefault(t *testing.T, key string) *config.Config {
	t.Helper()
	doc := string(config.Default)
	if !strings.Contains(doc, "\ntuning:\n") {
		t.Fatal("the default configuration has no tuning section")
	}
	if key != "" {
		doc = strings.Replace(doc, "\ntuning:\n", "\ntuning:\n  "+key+"\n", 1)
	}
	cfg, err := config.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// gather returns the node's metrics as family name → label value (the
// first label's, "" without labels) → metric.
func gather(t *testing.T, n *runtime.Node) map[string]map[string]*dto.Metric {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(n.Metrics())
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]*dto.Metric{}
	for _, f := range families {
		byLabel := map[string]*dto.Metric{}
		for _, m := range f.GetMetric() {
			label := ""
			if l := m.GetLabel(); len(l) > 0 {
				label = l[0].GetValue()
			}
			byLabel[label] = m
		}
		out[f.GetName()] = byLabel
	}
	return out
}

// TestMarketMetrics: after a seeded session of limit orders, market orders
// (some refused by the market: nothing to trade with) and cancels, each
// market's counters equal what the replies and the journal say happened —
// orders accepted, orders refused, cancels, Trade events journaled — the
// match histogram counted every order the market decided, and the mailbox
// depth gauges are reported (0 once the node is quiet).
func TestMarketMetrics(t *testing.T) {
	cfg := tunedDefault(t, "markets:\n    ETHUSDT: {dispatcher: dedicated}\n    ETHBTC: {dispatcher: synchronized, mailbox: lockfree}")
	dir := t.TempDir()
	n := startAt(t, cfg, dir, "", journal.Sync)
	for u := uint32(1); u <= 6; u++ {
		for _, a := range cfg.Assets {
			if _, ok := do(t, n, &messages.BalanceUpdate{User: u, Asset: a.ID, Business: "deposit", BusinessID: 1, Change: save("1000000"), Time: 1}).(*messages.StatusReply); !ok {
				t.Fatal("deposit refused")
			}
		}
	}
	type counts struct{ orders, rejected, cancels, trades float64 }
	want := make([]counts, len(cfg.Markets))
	rng := rand.New(rand.NewPCG(6, 1))
	var resting []*messages.Order
	for i := range 400 {
		user := uint32(1 + rng.IntN(6))
		m := cfg.Markets[rng.IntN(len(cfg.Markets))]
		side := messages.Side(1 + rng.IntN(2))
		var cmd messages.Command
		switch k := rng.IntN(10); {
		case k < 6:
			cmd = &messages.PutLimit{User: user, Market: m.ID, Side: side, Amount: int64(1+rng.IntN(5)) * m.MinUnits,
				Price: int64(98+rng.IntN(5)) * pow(m.MoneyPrec), TakerFee: 20, MakerFee: 10, Time: int64(i)}
		case k < 8:
			cmd = &messages.PutMarket{User: user, Market: m.ID, Side: messages.Ask, Amount: int64(1+rng.IntN(3)) * m.MinUnits, TakerFee: 20, Time: int64(i)}
		default:
			if len(resting) == 0 {
				continue
			}
			j := rng.IntN(len(resting))
			o := resting[j]
			resting = append(resting[:j], resting[j+1:]...)
			cmd = &messages.Cancel{User: o.User, Market: o.Market, OrderID: o.ID, Time: int64(i)}
		}
		r := do(t, n, cmd)
		c := &want[m.ID]
		switch cmd := cmd.(type) {
		case *messages.Cancel:
			c := &want[cmd.Market]
			if _, ok := r.(*messages.OrderReply); ok {
				c.cancels++
			}
		default:
			switch r := r.(type) {
			case *messages.OrderReply:
				c.orders++
				if r.Order.Left > 0 && r.Order.Type == messages.Limit {
					o := r.Order
					resting = append(resting, &o)
				}
			case *messages.ErrorReply:
				if r.Err != messages.ErrNoEnoughTrader {
					t.Fatalf("%T refused with %v; want only code 12 (every user is funded)", cmd, r.Err)
				}
				c.rejected++
			}
		}
	}
	got := gather(t, n)
	last := n.Journal.LastLSN()
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	err := pj.ReadFiles(runtime.JournalDir(dir), 0, last, func(r pj.Record) error {
		for _, ev := range r.Events {
			if tr, ok := ev.(*messages.Trade); ok {
				want[tr.Market].trades++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range cfg.Markets {
		w := want[m.ID]
		if w.orders == 0 || w.rejected == 0 || w.trades == 0 {
			t.Fatalf("%s: session made %+v; want some of each", m.Name, w)
		}
		for name, v := range map[string]float64{
			"bourse_market_orders_total":   w.orders,
			"bourse_market_rejected_total": w.rejected,
			"bourse_market_cancels_total":  w.cancels,
			"bourse_market_trades_total":   w.trades,
		} {
			if g := got[name][m.Name].GetCounter().GetValue(); g != v {
				t.Errorf("%s{market=%q} = %v; want %v", name, m.Name, g, v)
			}
		}
		h := got["bourse_market_match_seconds"][m.Name].GetHistogram()
		if c := float64(h.GetSampleCount()); c != w.orders+w.rejected {
			t.Errorf("bourse_market_match_seconds_count{market=%q} = %v; want %v (orders decided)", m.Name, c, w.orders+w.rejected)
		}
		if s := h.GetSampleSum(); s <= 0 || s > 10 {
			t.Errorf("bourse_market_match_seconds_sum{market=%q} = %v; want a positive time", m.Name, s)
		}
		if d, ok := got["bourse_market_mailbox_depth"][m.Name]; !ok || d.GetGauge().GetValue() != 0 {
			t.Errorf("bourse_market_mailbox_depth{market=%q} = %v; want 0 on a quiet node", m.Name, d)
		}
	}
	if d := got["bourse_shard_mailbox_depth"]; len(d) != cfg.BalanceShards {
		t.Errorf("bourse_shard_mailbox_depth has %d shards; want %d", len(d), cfg.BalanceShards)
	}
}

// TestBoundedMailbox: while a market with a bounded mailbox has
// mailbox_size messages waiting, shards refuse its new orders with code 3
// and reserve nothing; the waiting orders are all answered, the depth gauge
// showed them, and once the market has caught up orders are taken again.
func TestBoundedMailbox(t *testing.T) {
	cfg := tunedDefault(t, "markets:\n    BTCUSDT: {mailbox: bounded, mailbox_size: 3}")
	m := cfg.Market("BTCUSDT")
	entered, release := make(chan struct{}), make(chan struct{})
	var once bool // touched only by the BTCUSDT actor
	n := testnode.Start(t, cfg, runtime.Options{
		Faults: func(actorName, point string, cmd messages.Command) bool {
			if actorName == "market-0" && point == "decide" && !once {
				once = true
				close(entered)
				<-release // the market is stuck in its first order
			}
			return false
		},
	})
	defer n.Shutdown(context.Background())
	usdt := cfg.Asset("USDT").ID
	do(t, n, &messages.BalanceUpdate{User: 1, Asset: usdt, Business: "deposit", BusinessID: 1, Change: save("100000"), Time: 1})
	order := func(i int) *messages.PutLimit {
		return &messages.PutLimit{User: 1, Market: m.ID, Side: messages.Bid, Amount: units("0.01", 8), Price: units("100", 2), Time: int64(i)}
	}
	sys := n.System
	replies := make(chan messages.Reply, 16)
	collector := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if r, ok := ctx.Message().(messages.Reply); ok {
			replies <- r
		}
	}))
	send := func(i int) {
		o := order(i)
		o.ReplyTo = actors.Addr(collector)
		sys.Root.Send(n.Router.Directory().Shard(o.User), o)
	}
	send(0)
	<-entered
	for i := 1; i <= 3; i++ { // these wait in the mailbox: depth 3 = mailbox_size
		send(i)
	}
	deadline := time.Now().Add(5 * time.Second)
	for depth(t, n, m.Name) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("market mailbox depth %v; want 3", depth(t, n, m.Name))
		}
		time.Sleep(time.Millisecond)
	}
	before := do(t, n, &messages.BalanceQuery{User: 1, Assets: []messages.AssetID{usdt}}).(*messages.BalanceQueryReply).Balances[0]
	r := do(t, n, order(4))
	if e, ok := r.(*messages.ErrorReply); !ok || e.Err != messages.ErrUnavailable {
		t.Fatalf("order to a full market: %#v; want code 3", r)
	}
	after := do(t, n, &messages.BalanceQuery{User: 1, Assets: []messages.AssetID{usdt}}).(*messages.BalanceQueryReply).Balances[0]
	if after != before {
		t.Errorf("refused order changed the balance: %+v -> %+v", before, after)
	}
	close(release)
	for range 4 {
		if r := <-replies; !isOrder(r) {
			t.Errorf("queued order answered %#v; want placed", r)
		}
	}
	if r := do(t, n, order(5)); !isOrder(r) {
		t.Errorf("order after the market caught up: %#v; want placed", r)
	}
}

func isOrder(r messages.Reply) bool { _, ok := r.(*messages.OrderReply); return ok }

func depth(t *testing.T, n *runtime.Node, market string) float64 {
	return gather(t, n)["bourse_market_mailbox_depth"][market].GetGauge().GetValue()
}

// TestTuningJournal: tuning.journal reaches the journal writer — with
// max_batch 1 every group commit holds one record.
func TestTuningJournal(t *testing.T) {
	cfg, err := config.Parse([]byte(strings.Replace(string(config.Default), "max_batch: 4096", "max_batch: 1", 1)))
	if err != nil || cfg.Tuning.Journal.MaxBatch != 1 {
		t.Fatalf("tuning.journal.max_batch = %d, %v; want 1", cfg.Tuning.Journal.MaxBatch, err)
	}
	n := startAt(t, cfg, t.TempDir(), "", journal.Batch)
	workload(t, n, 3, 200)
	got := gather(t, n)
	n.Shutdown(context.Background())
	h := got["bourse_journal_commit_records"][""].GetHistogram()
	if h.GetSampleCount() == 0 || float64(h.GetSampleCount()) != h.GetSampleSum() {
		t.Errorf("commits %d holding %v records; want one record each", h.GetSampleCount(), h.GetSampleSum())
	}
}
