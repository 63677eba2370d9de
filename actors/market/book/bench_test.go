package book_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/actors"
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/internal/coretest"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/holiman/uint256"
)

// Benchmarks of the order book on BTCUSDT of the default configuration
// (stock_prec 8, money_prec 2), run with
//
//	go test -run XXX -bench . -benchmem ./actors/market/book
//
// Every benchmark starts from the same pre-filled book: 1,000 resting orders
// of 10 users over 750 price levels (asks at even ticks from 200.00, bids at
// even ticks down from 99.98; 250 levels hold two orders). Prices between
// 100.00 and 199.99 are free for the makers and takers of the crossing
// benchmarks. Sub-benchmarks: core=book runs book.Execute alone; core=engine
// adds what a balance shard does around it (reserve, then apply every event
// to the ledger), through coretest.Engine with one shard.

const (
	prefillLevels = 375 // per side
	prefillOrders = 1000
	benchUsers    = 10
	askBase       = 20000 // 200.00
	bidBase       = 9998  // 99.98
	gapBase       = 10001 // 100.01: the crossing benchmarks trade here
	btcUnit       = 100000000
)

// core is the thing under test: a bare book, or book + ledger glue.
type core interface {
	exec(cmd messages.Command) (messages.Order, *messages.Error)
}

type bareBook struct{ b *book.Book }

func (c bareBook) exec(cmd messages.Command) (messages.Order, *messages.Error) {
	_, o, err := c.b.Execute(cmd)
	if err != nil {
		return messages.Order{}, err
	}
	return *o, nil
}

type engineCore struct{ e *coretest.Engine }

func (c engineCore) exec(cmd messages.Command) (messages.Order, *messages.Error) {
	var (
		o   messages.Order
		err *messages.Error
	)
	switch m := cmd.(type) {
	case *messages.PutLimit:
		_, o, err = c.e.PutLimit(m)
	case *messages.PutMarket:
		_, o, err = c.e.PutMarket(m)
	case *messages.Cancel:
		_, o, err = c.e.Cancel(m)
	}
	return o, err
}

// bench reuses one command struct per kind, as a caller of the book owns
// its message: the allocations reported are the core's own.
type bench struct {
	core
	now    int64
	putCmd messages.PutLimit
	canCmd messages.Cancel
}

func (bn *bench) limit(b *testing.B, user uint32, side messages.Side, price, amount int64) messages.Order {
	bn.now++
	bn.putCmd = messages.PutLimit{User: user, Side: side, Amount: amount, Price: price, TakerFee: 20, MakerFee: 10, Time: bn.now}
	o, err := bn.exec(&bn.putCmd)
	if err != nil {
		b.Fatalf("put_limit: %v", err)
	}
	return o
}

func (bn *bench) cancel(b *testing.B, user uint32, id uint64) {
	bn.now++
	bn.canCmd = messages.Cancel{User: user, OrderID: id, Time: bn.now}
	if _, err := bn.exec(&bn.canCmd); err != nil {
		b.Fatalf("cancel: %v", err)
	}
}

// newBench returns the pre-filled book in the named core.
func newBench(b *testing.B, kind string) *bench {
	cfg := coretest.DefaultConfig()
	bn := &bench{}
	switch kind {
	case "book":
		bn.core = bareBook{book.New(actors.BookConfig(cfg.Markets[0]))}
	case "engine":
		e := coretest.NewEngine(cfg, 1, false)
		big := uint256.NewInt(1)
		big.Lsh(big, 120)
		for u := uint32(1); u <= 1000; u++ {
			for a := range cfg.Assets {
				if _, err := e.Update(&messages.BalanceUpdate{User: u, Asset: messages.AssetID(a), Business: "deposit", BusinessID: 1, Change: *big}); err != nil {
					b.Fatal(err)
				}
			}
		}
		bn.core = engineCore{e}
	}
	for i := range prefillOrders {
		lvl := int64(i % prefillLevels)
		if i >= 2*prefillLevels {
			lvl = int64(i*7) % prefillLevels // a second order on 250 levels
		}
		user := uint32(1 + i%benchUsers)
		if i%2 == 0 {
			bn.limit(b, user, messages.Ask, askBase+2*lvl, btcUnit)
		} else {
			bn.limit(b, user, messages.Bid, bidBase-2*lvl, btcUnit)
		}
	}
	return bn
}

var cores = []string{"book", "engine"}

// clock wraps the benchmark timer and also sums the CPU time of the whole
// process (the benchmark goroutine, the GC's workers and sweeper) while the
// timer runs. report adds it as cpu-ns/op, a figure that other processes on
// a shared machine disturb much less than ns/op (wall time), and
// ops/cpu-s (= 1e9 / cpu-ns/op: operations per second of one core).
type clock struct {
	b     *testing.B
	since time.Duration
	cpu   time.Duration
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startClock(b *testing.B) *clock {
	b.ResetTimer()
	return &clock{b: b, since: processCPU()}
}

func (c *clock) stop() {
	c.b.StopTimer()
	c.cpu += processCPU() - c.since
}

func (c *clock) start() {
	c.since = processCPU()
	c.b.StartTimer()
}

func (c *clock) report() {
	c.stop()
	if c.b.N > 0 && c.cpu > 0 {
		ns := float64(c.cpu.Nanoseconds()) / float64(c.b.N)
		c.b.ReportMetric(ns, "cpu-ns/op")
		c.b.ReportMetric(1e9/ns, "ops/cpu-s")
	}
}

// BenchmarkPlaceResting places limit orders that rest without matching, on
// alternating sides: at an existing level (appended to its FIFO) or at a new
// level (inserted into the sorted side). Every 1,000 orders the timer stops
// and they are cancelled, so the book keeps its size.
func BenchmarkPlaceResting(b *testing.B) {
	for _, kind := range cores {
		for _, where := range []string{"existing", "new"} {
			b.Run(fmt.Sprintf("core=%s/level=%s", kind, where), func(b *testing.B) {
				bn := newBench(b, kind)
				placed := make([]messages.Order, 0, 1000)
				b.ReportAllocs()
				clk := startClock(b)
				defer clk.report()
				for i := 0; i < b.N; i++ {
					if len(placed) == cap(placed) {
						clk.stop()
						for _, o := range placed {
							bn.cancel(b, o.User, o.ID)
						}
						placed = placed[:0]
						clk.start()
					}
					lvl := int64(i % prefillLevels)
					off := int64(0)
					if where == "new" {
						off = 1 // odd ticks: no order there
					}
					user := uint32(1 + i%benchUsers)
					if i%2 == 0 {
						placed = append(placed, bn.limit(b, user, messages.Ask, askBase+2*lvl+off, btcUnit))
					} else {
						placed = append(placed, bn.limit(b, user, messages.Bid, bidBase-2*lvl-off, btcUnit))
					}
				}
			})
		}
	}
}

// BenchmarkCancel cancels resting orders of the pre-filled book's levels,
// 1,000 at a time placed with the timer stopped, oldest first; users=1 puts
// all of them in one user's list (the worst case for the per-user index).
func BenchmarkCancel(b *testing.B) {
	for _, kind := range cores {
		for _, users := range []int{1, 100} {
			b.Run(fmt.Sprintf("core=%s/users=%d", kind, users), func(b *testing.B) {
				bn := newBench(b, kind)
				placed := make([]messages.Order, 0, 1000)
				next := 0
				b.ReportAllocs()
				clk := startClock(b)
				defer clk.report()
				for i := 0; i < b.N; i++ {
					if next == len(placed) {
						clk.stop()
						placed, next = placed[:0], 0
						for j := range cap(placed) {
							user := uint32(100 + j%users)
							lvl := int64(j % prefillLevels)
							if j%2 == 0 {
								placed = append(placed, bn.limit(b, user, messages.Ask, askBase+2*lvl, btcUnit))
							} else {
								placed = append(placed, bn.limit(b, user, messages.Bid, bidBase-2*lvl, btcUnit))
							}
						}
						clk.start()
					}
					o := &placed[next]
					next++
					bn.cancel(b, o.User, o.ID)
				}
			})
		}
	}
}

// BenchmarkCrossing: a limit buy that fills exactly one resting ask (4
// events: placed, trade, two finished). The makers are replenished 1,000 at
// a time with the timer stopped, queued at one price inside the gap.
func BenchmarkCrossing(b *testing.B) {
	for _, kind := range cores {
		b.Run("core="+kind, func(b *testing.B) {
			crossing(b, newBench(b, kind))
		})
	}
}

func crossing(b *testing.B, bn *bench) {
	left := 0
	b.ReportAllocs()
	clk := startClock(b)
	defer clk.report()
	for i := 0; i < b.N; i++ {
		if left == 0 {
			clk.stop()
			for j := range 1000 {
				bn.limit(b, uint32(11+j%benchUsers), messages.Ask, gapBase, btcUnit)
			}
			left = 1000
			clk.start()
		}
		o := bn.limit(b, uint32(21+i%benchUsers), messages.Bid, gapBase, btcUnit)
		if o.Left != 0 {
			b.Fatalf("taker left %d", o.Left)
		}
		left--
	}
}

// BenchmarkCrossingWithStops is BenchmarkCrossing on a book that also
// holds 1,000 stop orders its trades never reach (buy stops from 500.00 up,
// sell stops from 10.00 down): what held stops cost orders that do not
// trigger them.
func BenchmarkCrossingWithStops(b *testing.B) {
	for _, kind := range cores {
		b.Run("core="+kind, func(b *testing.B) {
			bn := newBench(b, kind)
			for j := range int64(1000) {
				side, stop := messages.Bid, 50000+j
				if j%2 == 1 {
					side, stop = messages.Ask, 1000-j
				}
				bn.now++
				bn.putCmd = messages.PutLimit{User: uint32(31 + j%benchUsers), Side: side, Amount: btcUnit, Price: stop, TakerFee: 20, MakerFee: 10, Time: bn.now, StopPrice: stop}
				if o, err := bn.exec(&bn.putCmd); err != nil || !o.Held() {
					b.Fatalf("stop order: %v %+v", err, o)
				}
			}
			crossing(b, bn)
		})
	}
}

// BenchmarkMatchMany: a limit buy that sweeps 10 resting asks, queued at one
// price (levels=1) or one per price over 10 prices (levels=10): 22 events.
// Makers for 500 takers are placed at a time with the timer stopped; taker k
// of a batch finds its 10 makers at the best prices.
func BenchmarkMatchMany(b *testing.B) {
	const batch = 500
	for _, kind := range cores {
		for _, levels := range []int64{1, 10} {
			b.Run(fmt.Sprintf("core=%s/levels=%d", kind, levels), func(b *testing.B) {
				bn := newBench(b, kind)
				k := batch
				b.ReportAllocs()
				clk := startClock(b)
				defer clk.report()
				for i := 0; i < b.N; i++ {
					if k == batch {
						clk.stop()
						for t := range int64(batch) {
							for m := range int64(10) {
								price := gapBase + t*levels
								if levels > 1 {
									price += m
								}
								bn.limit(b, uint32(11+m), messages.Ask, price, btcUnit)
							}
						}
						k = 0
						clk.start()
					}
					price := gapBase + int64(k)*levels + levels - 1
					o := bn.limit(b, uint32(21+i%benchUsers), messages.Bid, price, 10*btcUnit)
					if o.Left != 0 || o.DealStock != 10*btcUnit {
						b.Fatalf("taker %d: left %d", k, o.Left)
					}
					k++
				}
			})
		}
	}
}
