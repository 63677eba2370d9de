package benchmarks

import (
	"bufio"
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	goruntime "runtime"
	"runtime/debug"
	"strconv"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/internal/testenv"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
	"github.com/bourse-exchange/bourse/persistence/snapshot"
	"github.com/bourse-exchange/bourse/runtime"
	"github.com/holiman/uint256"
)

// FullVar, set to 1, makes the large benchmarks run at full size
// (BenchmarkRecover: 1,000,000 resting orders over 100 markets and 100,000
// users instead of 100,000 over 100 markets and 10,000 users).
const FullVar = "BOURSE_BENCH_FULL"

// recoverySize is the data directory BenchmarkRecover builds.
type recoverySize struct {
	orders, users, markets int
}

func recoverySizeFromEnv() recoverySize {
	if os.Getenv(FullVar) == "1" {
		return recoverySize{orders: 1_000_000, users: 100_000, markets: 100}
	}
	return recoverySize{orders: 100_000, users: 10_000, markets: 100}
}

// recoveryLevels is how many price levels each side of each book spreads
// its resting orders over.
const recoveryLevels = 100

// buildRecoveryDir writes, under dataDir, the journal of an exchange on
// pipelineConfig(size.markets) holding size.orders resting limit orders:
// first one deposit for every (user, asset) pair the orders need, then the
// orders — market, user, side, price level (1..100 ticks away from the mid,
// so nothing crosses) and amount (1..10 × min_amount) drawn from a seeded
// generator. Every record is what the cores decide: deposits by the owning
// shard's ledger (DecideUpdate), orders by their market's book (PutLimit);
// each is applied to the generator's state with State.Apply, the very
// function recovery uses, before the next is decided. The records go to the
// segment-file backend in batches of 4096 and are fsynced once at the end.
// It returns the configuration and the generator's state (the state
// recovery must reproduce).
func buildRecoveryDir(tb testing.TB, dataDir string, size recoverySize) (*config.Config, *runtime.State) {
	tb.Helper()
	cfg, err := config.Parse(pipelineConfig(size.markets))
	if err != nil {
		tb.Fatal(err)
	}
	s := runtime.NewState(cfg)
	j, _, err := pj.OpenFiles(runtime.JournalDir(dataDir), 0, 0, nil)
	if err != nil {
		tb.Fatal(err)
	}
	batch := make([]pj.Record, 0, 4096)
	emit := func(events []messages.Event) {
		r := pj.Record{LSN: s.LastLSN + 1, Events: events}
		if err := s.Apply(r); err != nil {
			tb.Fatal(err)
		}
		if batch = append(batch, r); len(batch) == cap(batch) {
			if err := j.Write(batch); err != nil {
				tb.Fatal(err)
			}
			clear(batch)
			batch = batch[:0]
		}
	}
	type order struct {
		user   uint32
		market int
		side   messages.Side
		price  int64
		amount int64
	}
	orders := func(yield func(order) bool) {
		rng := rand.New(rand.NewPCG(uint64(size.orders), 0x7ec0))
		for range size.orders {
			m := rng.IntN(size.markets)
			o := order{user: uint32(1 + rng.IntN(size.users)), market: m, side: messages.Side(1 + rng.IntN(2))}
			level := int64(1 + rng.IntN(recoveryLevels))
			o.price = int64(pipelineMid) - level
			if o.side == messages.Ask {
				o.price = int64(pipelineMid) + level
			}
			o.amount = int64(1+rng.IntN(10)) * cfg.Markets[m].MinUnits
			if !yield(o) {
				return
			}
		}
	}
	// Pass 1: which (user, asset) pairs need funds.
	nAssets := len(cfg.Assets)
	need := make([]bool, (size.users+1)*nAssets)
	for o := range orders {
		asset, _ := s.Books[o.market].Config().Reservation(messages.Limit, o.side, o.amount, o.price)
		need[int(o.user)*nAssets+int(asset)] = true
	}
	var amount uint256.Int
	amount.Mul(uint256.NewInt(depositWhole), uint256.NewInt(1_000_000_000_000)) // prec_save 12
	const t0 = 1_700_000_000_000_000                                            // µs
	for i, ok := range need {
		if !ok {
			continue
		}
		user, asset := uint32(i/nAssets), messages.AssetID(i%nAssets)
		ev, merr := s.Ledgers[int(user)%cfg.BalanceShards].DecideUpdate(&messages.BalanceUpdate{
			User: user, Asset: asset, Business: "deposit", BusinessID: uint64(i), Change: amount, Time: t0 + int64(i),
		})
		if merr != nil {
			tb.Fatalf("deposit user %d asset %d: %v", user, asset, merr)
		}
		emit([]messages.Event{ev})
	}
	// Pass 2: the orders, all resting.
	now := int64(t0 + len(need))
	for o := range orders {
		now++
		events, merr := s.Books[o.market].PutLimit(&messages.PutLimit{
			User: o.user, Market: cfg.Markets[o.market].ID, Side: o.side, Amount: o.amount, Price: o.price,
			TakerFee: 20, MakerFee: 10, Source: "recovery", Time: now,
		})
		if merr != nil {
			tb.Fatalf("order: %v", merr)
		}
		if _, rested := events[len(events)-1].(*messages.OrderRested); !rested || len(events) != 2 {
			tb.Fatalf("order did not rest: %d events", len(events))
		}
		emit(events)
	}
	if len(batch) > 0 {
		if err := j.Write(batch); err != nil {
			tb.Fatal(err)
		}
	}
	if err := j.Close(); err != nil { // syncs
		tb.Fatal(err)
	}
	return cfg, s
}

// resting counts the orders resting in a state's books.
func restingOrders(s *runtime.State) int {
	n := 0
	for _, b := range s.Books {
		sum := b.Summary()
		n += sum.AskCount + sum.BidCount
	}
	return n
}

// BenchmarkRecover measures runtime.Recover of a data directory holding
// size.orders resting orders (see buildRecoveryDir; 100k by default, 1M
// with BOURSE_BENCH_FULL=1): one op is one recovery, first from the
// journal alone (from=journal), then — after the snapshot follower's work
// is done once (State.File, snapshot.Write, RemoveCovered of the segments
// it covers) — from the snapshot plus what is left of the journal
// (from=snapshot). snapshot=write measures that snapshot write itself
// (State.File + snapshot.Write, which fsyncs and reads back to verify).
// start=journal and start=snapshot measure a whole restart on the same data
// (runtime.Start: recovery, the snapshot follower's start, the actors).
//
// Memory: heap-MB is the live heap holding the recovered state (after a
// GC); peak-RSS-MB is the process's peak resident size during a recovery
// (VmHWM, reset before each op after returning free memory to the OS) and
// base-RSS-MB its resident size just before. The journal is read from the
// page cache (it was just written): a cold start adds the disk read.
func BenchmarkRecover(b *testing.B) {
	size := recoverySizeFromEnv()
	dataDir := b.TempDir()
	t0 := time.Now()
	cfg, gen := buildRecoveryDir(b, dataDir, size)
	lastLSN, hash := gen.LastLSN, gen.Hash()
	gen = nil
	b.Logf("built %s: %d records (%d orders, %d users, %d markets), %.1f MB of journal, in %v",
		dataDir, lastLSN, size.orders, size.users, size.markets, float64(dirSize(b, runtime.JournalDir(dataDir)))/1e6,
		time.Since(t0).Round(time.Millisecond))

	check := func(tb testing.TB, s *runtime.State) {
		if s.LastLSN != lastLSN || restingOrders(s) != size.orders {
			tb.Fatalf("recovered LSN %d with %d resting orders; want %d and %d", s.LastLSN, restingOrders(s), lastLSN, size.orders)
		}
	}
	b.Run("from=journal", func(b *testing.B) { benchRecover(b, cfg, dataDir, check) })
	b.Run("start=journal", func(b *testing.B) { benchStart(b, cfg, dataDir) })

	// What the snapshot follower leaves behind: a snapshot at the last LSN,
	// and the journal without the segments it covers (the newest segment
	// is always kept).
	s, backend, err := runtime.Recover(cfg, dataDir, "")
	if err != nil {
		b.Fatal(err)
	}
	backend.Close()
	if got := s.Hash(); got != hash {
		b.Fatalf("recovered state hash %s != generator's %s", got, hash)
	}
	t0 = time.Now()
	path, err := snapshot.Write(runtime.SnapshotDir(dataDir), s.File())
	if err != nil {
		b.Fatal(err)
	}
	took := time.Since(t0)
	removed, err := pj.RemoveCovered(runtime.JournalDir(dataDir), s.LastLSN)
	if err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("snapshot: %.1f MB written in %v; %d covered journal segments removed, %.1f MB of journal left",
		float64(fi.Size())/1e6, took.Round(time.Millisecond), removed, float64(dirSize(b, runtime.JournalDir(dataDir)))/1e6)

	b.Run("snapshot=write", func(b *testing.B) {
		b.ReportAllocs()
		dir := b.TempDir()
		for b.Loop() {
			if _, err := snapshot.Write(dir, s.File()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(fi.Size())/1e6, "MB")
	})
	s = nil
	b.Run("from=snapshot", func(b *testing.B) {
		benchRecover(b, cfg, dataDir, func(tb testing.TB, s *runtime.State) {
			check(tb, s)
			if s.Snapshot != lastLSN {
				tb.Fatalf("recovered from snapshot %d; want %d", s.Snapshot, lastLSN)
			}
		})
	})
	b.Run("start=snapshot", func(b *testing.B) { benchStart(b, cfg, dataDir) })
}

// benchStart measures a restart: runtime.Start on dataDir until it returns
// (state recovered, snapshot follower started, actors spawned and ready).
// The node is shut down, untimed, before the next op.
func benchStart(b *testing.B, cfg *config.Config, dataDir string) {
	b.ReportAllocs()
	log := testenv.Quiet()
	for range b.N {
		b.StopTimer()
		debug.FreeOSMemory()
		b.StartTimer()
		n, err := runtime.Start(cfg, runtime.Options{DataDir: dataDir, Logger: log})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := n.Shutdown(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

func benchRecover(b *testing.B, cfg *config.Config, dataDir string, check func(testing.TB, *runtime.State)) {
	b.ReportAllocs()
	var (
		s          *runtime.State
		peak, base uint64
	)
	for range b.N {
		b.StopTimer()
		s = nil
		debug.FreeOSMemory()
		resetPeakRSS()
		base = max(base, procStatus("VmRSS"))
		b.StartTimer()
		var backend runtime.Backend
		var err error
		s, backend, err = runtime.Recover(cfg, dataDir, "")
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		backend.Close()
		peak = max(peak, procStatus("VmHWM"))
		b.StartTimer()
	}
	b.StopTimer()
	check(b, s)
	goruntime.GC()
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	goruntime.KeepAlive(s)
	b.ReportMetric(float64(ms.HeapAlloc)/1e6, "heap-MB")
	if peak > 0 {
		b.ReportMetric(float64(peak)/1e6, "peak-RSS-MB")
		b.ReportMetric(float64(base)/1e6, "base-RSS-MB")
	}
	b.ReportMetric(float64(s.Recovery.Records)*float64(b.N)/b.Elapsed().Seconds(), "records-read/s")
}

// resetPeakRSS resets the process's VmHWM to its current RSS (Linux ≥ 4.0;
// elsewhere a no-op, and procStatus reports 0).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// procStatus returns a size field of /proc/self/status in bytes (0 if
// unavailable).
func procStatus(field string) uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		name, value, ok := bytes.Cut(sc.Bytes(), []byte(":"))
		if !ok || string(name) != field {
			continue
		}
		f := bytes.Fields(value)
		if len(f) == 0 {
			return 0
		}
		kb, err := strconv.ParseUint(string(f[0]), 10, 64)
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}

// TestRecoverHarness builds a small recovery data directory and checks that
// recovery from the journal and from the snapshot reproduce the generator's
// state exactly, with every order resting and the invariants holding.
func TestRecoverHarness(t *testing.T) {
	size := recoverySize{orders: 20_000, users: 2_000, markets: 100}
	dataDir := t.TempDir()
	cfg, gen := buildRecoveryDir(t, dataDir, size)
	want := gen.Hash()
	if bad := gen.Check(); len(bad) > 0 {
		t.Fatalf("generator state fails the invariants: %v", bad[:min(3, len(bad))])
	}
	s, backend, err := runtime.Recover(cfg, dataDir, "")
	if err != nil {
		t.Fatal(err)
	}
	backend.Close()
	if got := s.Hash(); got != want {
		t.Fatalf("recovered hash %s != generator's %s", got, want)
	}
	if n := restingOrders(s); n != size.orders {
		t.Fatalf("%d resting orders; want %d", n, size.orders)
	}
	if bad := s.Check(); len(bad) > 0 {
		t.Fatalf("recovered state fails the invariants: %v", bad[:min(3, len(bad))])
	}
	if _, err := snapshot.Write(runtime.SnapshotDir(dataDir), s.File()); err != nil {
		t.Fatal(err)
	}
	s2, backend, err := runtime.Recover(cfg, dataDir, "")
	if err != nil {
		t.Fatal(err)
	}
	backend.Close()
	if s2.Snapshot != s.LastLSN || s2.Hash() != want {
		t.Fatalf("from snapshot: at %d, hash %s; want %d, %s", s2.Snapshot, s2.Hash(), s.LastLSN, want)
	}
}
