package benchmarks

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/bourse-exchange/bourse/actors"
	"github.com/bourse-exchange/bourse/benchmarks/internal/hist"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/testenv"
	"github.com/bourse-exchange/bourse/internal/testnode"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/runtime"
	"github.com/holiman/uint256"
)

// Workload of the pipeline benchmarks. Every market uses stock_prec =
// money_prec = fee_prec = 4 and min_amount 0.001 (10 units); prices sit
// around a mid of 100.0000.
const (
	pipelineUsers  = 1000
	pipelineShards = 4 // balance_shards, as in the default bourse.yaml
	pipelinePrec   = 4
	pipelineMid    = 100 * 10000 // 100 at money_prec 4
	pipelineLevels = 20          // active band: ticks each side of the mid
	pipelineLadder = 25          // static depth: levels beyond the band, per side
	ladderOrders   = 4           // orders per ladder level
	depositWhole   = 1_000_000_000
	// pipelineAggressive is the percentage of aggressive orders (see
	// workload): a little above 50 so the active band cannot grow.
	pipelineAggressive = 52
)

// pipelineConfig returns a configuration document with n markets over the
// fewest assets A00, A01, … whose ordered pairs give n markets (11 assets for
// 100 markets). Precisions satisfy docs/protocol.md "Precision rules": 4+4 ≤ 12 for every rule.
func pipelineConfig(n int) []byte {
	assets := 2
	for assets*(assets-1) < n {
		assets++
	}
	var b strings.Builder
	fmt.Fprintf(&b, "fee_user_id: 0\nbalance_shards: %d\nassets:\n", pipelineShards)
	for i := range assets {
		fmt.Fprintf(&b, "  - { name: A%02d, prec_save: 12, prec_show: 8 }\n", i)
	}
	// max_open_orders: -1, no limit, as when these figures were first taken.
	b.WriteString("markets:\n")
	made := 0
	for s := 0; s < assets && made < n; s++ {
		for m := 0; m < assets && made < n; m++ {
			if s == m {
				continue
			}
			fmt.Fprintf(&b, "  - { name: A%02dA%02d, stock: A%02d, money: A%02d, stock_prec: %d, money_prec: %d, fee_prec: 4, min_amount: \"0.001\", max_open_orders: -1 }\n",
				s, m, s, m, pipelinePrec, pipelinePrec)
			made++
		}
	}
	return []byte(b.String())
}

// mailboxes names the mailbox of the node's market and shard actors and of
// the collector: protoactor's default (a mutex-guarded ring, goring) or its
// lock-free MPSC queue.
var mailboxes = []struct {
	name string
	opts []actor.PropsOption
}{
	{"default", nil},
	{"lockfree", []actor.PropsOption{actor.WithMailbox(actor.UnboundedLockfree())}},
}

// pipeline is a running node whose users are funded in every asset and whose
// books hold a static ladder of resting orders outside the active band.
type pipeline struct {
	node    *runtime.Node
	cfg     *config.Config
	dir     *actors.Directory
	mailbox []actor.PropsOption
	work    *workload // one stream per node, continued across runs
	ladder  int       // resting orders placed by startPipeline
}

func startPipeline(tb testing.TB, markets int, mailbox []actor.PropsOption) *pipeline {
	tb.Helper()
	cfg, err := config.Parse(pipelineConfig(markets))
	if err != nil {
		tb.Fatal(err)
	}
	if len(cfg.Markets) != markets {
		tb.Fatalf("config has %d markets; want %d", len(cfg.Markets), markets)
	}
	node := testnode.Start(tb, cfg, runtime.Options{
		Logger:      testenv.Quiet(),
		MarketProps: mailbox,
		ShardProps:  mailbox,
	})
	p := &pipeline{node: node, cfg: cfg, dir: node.Router.Directory(), mailbox: mailbox,
		work: newWorkload(cfg.Markets, uint64(markets))}
	// Deposits go through Router.Do (a future each): setup, not measured.
	var amount uint256.Int
	amount.Mul(uint256.NewInt(depositWhole), uint256.NewInt(1_000_000_000_000)) // prec_save 12
	for u := uint32(1); u <= pipelineUsers; u++ {
		for _, a := range cfg.Assets {
			r, err := node.Router.Do(context.Background(), &messages.BalanceUpdate{
				User: u, Asset: a.ID, Business: "deposit", BusinessID: uint64(u), Change: amount, Time: 1,
			})
			if err != nil {
				tb.Fatalf("deposit user %d %s: %v", u, a.Name, err)
			}
			if _, ok := r.(*messages.StatusReply); !ok {
				tb.Fatalf("deposit user %d %s: %#v", u, a.Name, r)
			}
		}
	}
	// The ladder: pipelineLadder levels per side just outside the active
	// band, ladderOrders orders each. The workload never prices through
	// them, so every book keeps this depth.
	var ladder []messages.PutLimit
	for _, m := range cfg.Markets {
		for k := int64(1); k <= pipelineLadder; k++ {
			for j := range int64(ladderOrders) {
				u := uint32(1 + (len(ladder) % pipelineUsers))
				for _, o := range []struct {
					side  messages.Side
					price int64
				}{{messages.Ask, pipelineMid + pipelineLevels + k}, {messages.Bid, pipelineMid - pipelineLevels - k}} {
					ladder = append(ladder, messages.PutLimit{User: u, Market: m.ID, Side: o.side,
						Amount: (1 + j) * m.MinUnits, Price: o.price, TakerFee: 20, MakerFee: 10, Source: "ladder"})
				}
			}
		}
	}
	st := p.drive(len(ladder), 1000, func(i int, cmd *messages.PutLimit) { *cmd = ladder[i] })
	if st.errs > 0 || st.crossed > 0 {
		tb.Fatalf("ladder: %d errors (first %v), %d crossed; want none", st.errs, st.firstErr, st.crossed)
	}
	p.ladder = len(ladder)
	return p
}

func (p *pipeline) stop() { p.node.Shutdown(context.Background()) }

// resting counts the orders resting in every book.
func (p *pipeline) resting(tb testing.TB) int {
	n := 0
	for _, m := range p.cfg.Markets {
		r, err := p.node.Router.Do(context.Background(), &messages.MarketSummary{Market: m.ID})
		if err != nil {
			tb.Fatal(err)
		}
		s, ok := r.(*messages.MarketSummaryReply)
		if !ok {
			tb.Fatalf("market.summary %s: %#v", m.Name, r)
		}
		n += s.AskCount + s.BidCount
	}
	return n
}

// collector is the actor every order reply goes to. Each PutLimit carries its
// send time (nanoseconds since start, monotonic) in Time, which the market
// copies into the reply's Order.CTime, so the collector computes the latency
// send → reply arrival without a shared table. completed is read by the
// sender to keep the in-flight window; wake is poked every wakeEvery replies
// (wakeEvery ≤ window, so a blocked sender is always woken); done is closed
// after the target-th reply. hist, crossed, errs and firstErr belong to the
// actor until done is closed.
type collector struct {
	start     time.Time
	target    int64
	wakeEvery int64
	completed atomic.Int64
	wake      chan struct{}
	done      chan struct{}

	hist     *hist.Histogram
	crossed  int64 // orders that traded on arrival (DealStock > 0)
	errs     int64
	firstErr *messages.Error
}

func (c *collector) Receive(ctx actor.Context) {
	switch r := ctx.Message().(type) {
	case *messages.OrderReply:
		c.hist.Record(int64(time.Since(c.start)) - r.Order.CTime)
		if r.Order.DealStock > 0 {
			c.crossed++
		}
	case *messages.ErrorReply:
		c.errs++
		if c.firstErr == nil {
			c.firstErr = r.Err
		}
	default: // lifecycle messages
		return
	}
	n := c.completed.Add(1)
	if n%c.wakeEvery == 0 || n == c.target {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	if n == c.target {
		close(c.done)
	}
}

// BenchmarkPipeline measures the in-process actor pipeline for limit orders:
// sender → balance shard (checks, reserve) → market actor (match, settle to
// the shards) → collector actor. One op is one order answered; nothing is
// journaled (the journal does not exist yet). A single sender goroutine
// keeps at most `inflight` orders outstanding: inflight=10000 measures
// throughput (latency is then mostly queueing, Little's law: inflight ÷
// rate); inflight=16 the latency of a lightly loaded pipeline.
//
// Sub-benchmarks: markets=1|100 (4 balance shards either way);
// mailbox=default|lockfree, the mailbox of market, shard and collector
// actors (runtime.Options.MarketProps/ShardProps). Workload: see workload
// and startPipeline. Metrics: orders/s, p50/p99/max latency in µs,
// crossed/op (the share of orders that traded on arrival).
func BenchmarkPipeline(b *testing.B) {
	for _, markets := range []int{1, 100} {
		for _, mb := range mailboxes {
			b.Run(fmt.Sprintf("markets=%d/mailbox=%s", markets, mb.name), func(b *testing.B) {
				p := startPipeline(b, markets, mb.opts)
				defer p.stop()
				for _, inflight := range []int{10000, 16} {
					b.Run(fmt.Sprintf("inflight=%d", inflight), func(b *testing.B) {
						p.run(b, inflight)
					})
				}
				b.Logf("resting orders after the runs: %d in %d markets (ladder %d)", p.resting(b), markets, p.ladder)
			})
		}
	}
}

// stats is what one drive measured.
type stats struct {
	elapsed  time.Duration
	hist     *hist.Histogram
	crossed  int64
	errs     int64
	firstErr *messages.Error
}

func (p *pipeline) run(b *testing.B, inflight int) {
	b.ReportAllocs()
	b.ResetTimer()
	st := p.drive(b.N, inflight, func(_ int, cmd *messages.PutLimit) { p.work.next(cmd) })
	b.StopTimer()
	if st.errs > 0 {
		b.Fatalf("%d of %d orders failed; first error: %v", st.errs, b.N, st.firstErr)
	}
	us := func(ns int64) float64 { return float64(ns) / 1e3 }
	b.ReportMetric(float64(b.N)/st.elapsed.Seconds(), "orders/s")
	b.ReportMetric(us(st.hist.Quantile(0.50)), "p50-µs")
	b.ReportMetric(us(st.hist.Quantile(0.99)), "p99-µs")
	b.ReportMetric(us(st.hist.Max()), "max-µs")
	b.ReportMetric(float64(st.crossed)/float64(b.N), "crossed/op")
}

// workload generates the seeded order stream over a node's markets: 1000
// users (uniform), market uniform, amounts 1..10 × min_amount. Orders come
// in pairs on the same market with the same amount and opposite sides, so
// bought and sold volume are equal in every market. Each order is
// independently aggressive with probability pipelineAggressive % — priced
// pipelineLevels ticks through the mid, so it takes whatever rests in the
// band, best first, and rests only if that side of the band is empty — or
// else passive — 1..pipelineLevels ticks on its own side of the mid, so it
// rests unless it meets an aggressive remainder. With aggressive volume a
// little above passive volume the active band stays shallow (tens of
// orders); the ladder outside it gives the books their depth.
type workload struct {
	rng        *rand.Rand
	markets    []*config.Market
	aggressive int
	pair       bool // the next order is the second of a pair
	m          *config.Market
	side       messages.Side
	amount     int64
}

func newWorkload(markets []*config.Market, seed uint64) *workload {
	return &workload{rng: rand.New(rand.NewPCG(seed, 0x5eed)), markets: markets, aggressive: pipelineAggressive}
}

// next sets cmd to the next order (ReplyTo and Time are the sender's).
func (w *workload) next(cmd *messages.PutLimit) {
	rng := w.rng
	if w.pair {
		w.side = w.side.Opposite()
	} else {
		w.m = w.markets[rng.IntN(len(w.markets))]
		w.side = messages.Side(1 + rng.IntN(2))
		w.amount = int64(1+rng.IntN(10)) * w.m.MinUnits
	}
	w.pair = !w.pair
	price := int64(pipelineMid)
	off := 1 + int64(rng.IntN(pipelineLevels))
	switch aggressive := rng.IntN(100) < w.aggressive; {
	case w.side == messages.Bid && aggressive:
		price += pipelineLevels
	case w.side == messages.Bid:
		price -= off
	case aggressive:
		price -= pipelineLevels
	default:
		price += off
	}
	*cmd = messages.PutLimit{
		User: uint32(1 + rng.IntN(pipelineUsers)), Market: w.m.ID, Side: w.side,
		Amount: w.amount, Price: price, TakerFee: 20, MakerFee: 10, Source: "bench",
	}
}

// drive sends n limit orders, the i-th set by gen, with at most inflight
// outstanding, straight to the users' shards with Send (no future), and
// returns once every one is answered.
func (p *pipeline) drive(n, inflight int, gen func(i int, cmd *messages.PutLimit)) stats {
	c := &collector{
		target:    int64(n),
		wakeEvery: int64(max(1, inflight/8)),
		wake:      make(chan struct{}, 1),
		done:      make(chan struct{}),
		hist:      hist.New(),
	}
	root := p.node.System.Root
	window := int64(inflight)

	c.start = time.Now()
	pid := root.Spawn(actor.PropsFromProducer(func() actor.Actor { return c }, p.mailbox...))
	defer root.Stop(pid)
	for i := range n {
		for int64(i)-c.completed.Load() >= window {
			<-c.wake
		}
		cmd := new(messages.PutLimit)
		gen(i, cmd)
		cmd.ReplyTo = actors.Addr(pid)
		cmd.Time = int64(time.Since(c.start))
		root.Send(p.dir.Shard(cmd.User), cmd)
	}
	<-c.done
	return stats{elapsed: time.Since(c.start), hist: c.hist, crossed: c.crossed, errs: c.errs, firstErr: c.firstErr}
}

// TestPipelineConfig checks the generated configurations load with the asked
// number of markets.
func TestPipelineConfig(t *testing.T) {
	for _, n := range []int{1, 2, 100, 1000} {
		cfg, err := config.Parse(pipelineConfig(n))
		if err != nil {
			t.Fatalf("pipelineConfig(%d): %v", n, err)
		}
		if len(cfg.Markets) != n {
			t.Errorf("pipelineConfig(%d) has %d markets", n, len(cfg.Markets))
		}
	}
}

// TestPipelineHarness runs the benchmark's harness briefly with each mailbox:
// every order answered without error, a mix of crossing and resting orders,
// and books that keep their ladder and do not grow.
func TestPipelineHarness(t *testing.T) {
	const n = 20000
	for _, mb := range mailboxes {
		t.Run(mb.name, func(t *testing.T) {
			p := startPipeline(t, 3, mb.opts)
			defer p.stop()
			st := p.drive(n, 64, func(_ int, cmd *messages.PutLimit) { p.work.next(cmd) })
			if st.errs > 0 {
				t.Fatalf("%d orders failed; first error: %v", st.errs, st.firstErr)
			}
			if st.hist.Count() != n {
				t.Errorf("collector timed %d replies; want %d", st.hist.Count(), n)
			}
			if f := float64(st.crossed) / n; f < 0.3 || f > 0.7 {
				t.Errorf("crossed share = %.3f; want a mix of resting and crossing orders", f)
			}
			if r := p.resting(t); r < p.ladder || r > p.ladder+1000 {
				t.Errorf("resting orders = %d; want the ladder (%d) plus a shallow band", r, p.ladder)
			}
			t.Logf("%d orders in %v (%.0f/s), crossed %d; latency %s", n, st.elapsed,
				n/st.elapsed.Seconds(), st.crossed, st.hist.Summary())
		})
	}
}
