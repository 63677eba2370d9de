package benchmarks

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/bourse-exchange/bourse/actors/journal"
	"github.com/bourse-exchange/bourse/actors/market"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/testenv"
	"github.com/bourse-exchange/bourse/internal/testnode"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/persistence/snapshot"
	"github.com/bourse-exchange/bourse/runtime"
	"github.com/holiman/uint256"
)

// Per-market tuning benchmarks: the pipeline of pipeline_test.go (same
// generated configuration, funded users, ladder, workload, sender and
// collector) on nodes whose configuration carries a tuning section, so each
// knob of README "Tuning" is measured on the same order stream.

// tuningKnob is one configuration measured: YAML appended to the pipeline
// configuration (a tuning section), a balance_shards value (0: the
// pipeline's 4), or extra market props.
type tuningKnob struct {
	name   string
	yaml   string
	shards int
	props  func() ([]actor.PropsOption, func())
}

// tuningKnobs are the actor knobs, one at a time against the defaults.
var tuningKnobs = []tuningKnob{
	{name: "default"},
	{name: "mailbox=lockfree", yaml: "tuning: {market: {mailbox: lockfree}, shard: {mailbox: lockfree}}"},
	{name: "mailbox=bounded", yaml: "tuning: {market: {mailbox: bounded, mailbox_size: 100000}}"},
	{name: "throughput=10", yaml: "tuning: {market: {throughput: 10}, shard: {throughput: 10}}"},
	{name: "throughput=3000", yaml: "tuning: {market: {throughput: 3000}, shard: {throughput: 3000}}"},
	{name: "dispatcher=dedicated", yaml: "tuning: {market: {dispatcher: dedicated}}"},
	{name: "dispatcher=dedicated-locked", props: func() ([]actor.PropsOption, func()) {
		// One market only: a dispatcher is shared by every actor given it.
		d := market.NewDedicated(config.DefaultThroughput, true)
		return []actor.PropsOption{actor.WithDispatcher(d)}, d.Close
	}},
	{name: "dispatcher=synchronized", yaml: "tuning: {market: {dispatcher: synchronized}}"},
	{name: "shards=1", shards: 1},
	{name: "shards=2", shards: 2},
	{name: "shards=8", shards: 8},
	{name: "shards=16", shards: 16},
}

// tunedConfig returns the pipeline configuration for markets with k applied.
func tunedConfig(tb testing.TB, markets int, k tuningKnob) *config.Config {
	tb.Helper()
	doc := string(pipelineConfig(markets))
	if k.shards > 0 {
		doc = strings.Replace(doc, fmt.Sprintf("balance_shards: %d\n", pipelineShards), fmt.Sprintf("balance_shards: %d\n", k.shards), 1)
	}
	cfg, err := config.Parse([]byte(doc + k.yaml + "\n"))
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// startTuned starts a journal-less node for cfg and builds the state
// startPipeline builds: every user funded in every asset, the ladder
// resting in every book.
func startTuned(tb testing.TB, cfg *config.Config, props []actor.PropsOption) *pipeline {
	tb.Helper()
	node := testnode.Start(tb, cfg, runtime.Options{Logger: testenv.Quiet(), MarketProps: props})
	p := &pipeline{node: node, cfg: cfg, dir: node.Router.Directory(), work: newWorkload(cfg.Markets, uint64(len(cfg.Markets)))}
	var amount uint256.Int
	amount.Mul(uint256.NewInt(depositWhole), uint256.NewInt(1_000_000_000_000))
	for u := uint32(1); u <= pipelineUsers; u++ {
		for _, a := range cfg.Assets {
			r, err := node.Router.Do(context.Background(), &messages.BalanceUpdate{
				User: u, Asset: a.ID, Business: "deposit", BusinessID: uint64(u), Change: amount, Time: 1,
			})
			if _, ok := r.(*messages.StatusReply); err != nil || !ok {
				tb.Fatalf("deposit user %d %s: %#v, %v", u, a.Name, r, err)
			}
		}
	}
	// The same ladder as startPipeline: it comes from a node built by
	// startPipeline itself (seedLadder), so both harnesses see one book.
	ladder := seedLadder(tb, cfg)
	st := p.drive(len(ladder), 1000, func(i int, cmd *messages.PutLimit) { *cmd = ladder[i] })
	if st.errs > 0 || st.crossed > 0 {
		tb.Fatalf("ladder: %d errors (first %v), %d crossed; want none", st.errs, st.firstErr, st.crossed)
	}
	p.ladder = len(ladder)
	return p
}

// seedLadder returns the resting orders of the pipeline setup for cfg's
// markets (read back from the snapshot of a startPipeline node, so it is
// the very ladder BenchmarkPipeline uses), in price-time order per side.
func seedLadder(tb testing.TB, cfg *config.Config) []messages.PutLimit {
	tb.Helper()
	f := seedFile(tb, len(cfg.Markets))
	base, err := config.Parse(pipelineConfig(len(cfg.Markets)))
	if err != nil {
		tb.Fatal(err)
	}
	s, err := runtime.StateFromFile(base, f)
	if err != nil {
		tb.Fatal(err)
	}
	var ladder []messages.PutLimit
	for _, b := range s.Books {
		b.EachOrder(func(o *messages.Order) {
			ladder = append(ladder, messages.PutLimit{User: o.User, Market: o.Market, Side: o.Side, Amount: o.Amount,
				Price: o.Price, TakerFee: o.TakerFee, MakerFee: o.MakerFee, Source: "ladder"})
		})
	}
	return ladder
}

// BenchmarkTuning measures each actor knob of README "Tuning" on the
// journal-less pipeline of BenchmarkPipeline (§b): markets=1 (one hot
// market) and markets=100, knob=… (tuningKnobs: one change against the
// defaults), then inflight=10000 (throughput) and inflight=16 (latency of a
// lightly loaded node). Metrics as BenchmarkPipeline's, plus cpu-cores and
// cpu-µs/order.
func BenchmarkTuning(b *testing.B) {
	for _, markets := range []int{1, 100} {
		for _, k := range tuningKnobs {
			if k.props != nil && markets != 1 {
				continue
			}
			b.Run(fmt.Sprintf("markets=%d/knob=%s", markets, k.name), func(b *testing.B) {
				var props []actor.PropsOption
				if k.props != nil {
					var stop func()
					props, stop = k.props()
					defer stop()
				}
				p := startTuned(b, tunedConfig(b, markets, k), props)
				defer p.stop()
				for _, inflight := range []int{10000, 16} {
					b.Run(fmt.Sprintf("inflight=%d", inflight), func(b *testing.B) {
						withUsage(b, func() { p.run(b, inflight) })
					})
				}
			})
		}
	}
}

// journalKnobs are the journal writer's knobs, in the mode each matters in:
// max_batch bounds a sync-mode group commit; sync_interval is batch mode's
// fsync period.
var journalKnobs = []struct {
	mode journal.Mode
	name string
	yaml string
}{
	{journal.Sync, "max_batch=64", "tuning: {journal: {max_batch: 64}}"},
	{journal.Sync, "max_batch=512", "tuning: {journal: {max_batch: 512}}"},
	{journal.Sync, "max_batch=4096", ""},
	{journal.Batch, "sync_interval=1ms", "tuning: {journal: {sync_interval: 1ms}}"},
	{journal.Batch, "sync_interval=10ms", ""},
	{journal.Batch, "sync_interval=100ms", "tuning: {journal: {sync_interval: 100ms}}"},
}

// BenchmarkTuningJournal measures the journal knobs on the durable pipeline
// of BenchmarkDurable (segment files, markets=1, starting from the seed
// snapshot): mode=sync|batch, the knob, then inflight=10000 and
// inflight=16.
func BenchmarkTuningJournal(b *testing.B) {
	for _, k := range journalKnobs {
		b.Run(fmt.Sprintf("mode=%s/%s", k.mode, k.name), func(b *testing.B) {
			p := startDurableTuned(b, 1, k.mode, k.yaml)
			defer p.stop()
			for _, inflight := range []int{10000, 16} {
				b.Run(fmt.Sprintf("inflight=%d", inflight), func(b *testing.B) {
					withUsage(b, func() { p.run(b, inflight) })
				})
			}
		})
	}
}

// startDurableTuned is startDurable (segment files) with tuning YAML
// appended to the configuration; tuning is not part of the snapshot
// fingerprint, so the seed snapshot restores.
func startDurableTuned(tb testing.TB, markets int, mode journal.Mode, tuning string) *pipeline {
	tb.Helper()
	seed := seedFile(tb, markets)
	cfg, err := config.Parse([]byte(string(pipelineConfig(markets)) + tuning + "\n"))
	if err != nil {
		tb.Fatal(err)
	}
	dataDir := tb.TempDir()
	if _, err := snapshot.Write(runtime.SnapshotDir(dataDir), seed); err != nil {
		tb.Fatal(err)
	}
	node := testnode.Start(tb, cfg, runtime.Options{
		Logger: testenv.Quiet(), DataDir: dataDir, Journal: journal.Options{Mode: mode},
	})
	if node.Journal.LastLSN() != seed.LSN {
		tb.Fatalf("tuned node: journal at LSN %d; want the seed snapshot's %d", node.Journal.LastLSN(), seed.LSN)
	}
	return &pipeline{node: node, cfg: cfg, dir: node.Router.Directory(), work: newWorkload(cfg.Markets, uint64(markets))}
}

// TestTuningHarness runs every knob briefly on 3 markets: every order
// answered without error, and the books keep their ladder.
func TestTuningHarness(t *testing.T) {
	const n = 3000
	for _, k := range tuningKnobs {
		t.Run(k.name, func(t *testing.T) {
			var props []actor.PropsOption
			if k.props != nil {
				var stop func()
				props, stop = k.props()
				defer stop()
			}
			cfg := tunedConfig(t, 3, k)
			p := startTuned(t, cfg, props)
			defer p.stop()
			if k.shards > 0 && cfg.BalanceShards != k.shards {
				t.Fatalf("balance_shards = %d; want %d", cfg.BalanceShards, k.shards)
			}
			st := p.drive(n, 64, func(_ int, cmd *messages.PutLimit) { p.work.next(cmd) })
			if st.errs > 0 {
				t.Fatalf("%d orders failed; first error: %v", st.errs, st.firstErr)
			}
			if r := p.resting(t); r < p.ladder {
				t.Errorf("resting orders = %d; want at least the ladder (%d)", r, p.ladder)
			}
		})
	}
	for _, k := range journalKnobs {
		t.Run(k.mode.String()+"/"+k.name, func(t *testing.T) {
			p := startDurableTuned(t, 3, k.mode, k.yaml)
			defer p.stop()
			if st := p.drive(n, 64, func(_ int, cmd *messages.PutLimit) { p.work.next(cmd) }); st.errs > 0 {
				t.Fatalf("%d orders failed; first error: %v", st.errs, st.firstErr)
			}
		})
	}
}
