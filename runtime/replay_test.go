package runtime_test

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/bourse-exchange/bourse/actors/journal"
	"github.com/bourse-exchange/bourse/internal/testenv"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/runtime"
	"github.com/bourse-exchange/bourse/runtime/config"
)

// startAt starts a node on the journal under dir, or in MySQL at dsn if set.
func startAt(t *testing.T, cfg *config.Config, dir, dsn string, mode journal.Mode) *runtime.Node {
	t.Helper()
	n, err := runtime.Start(cfg, runtime.Options{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), DataDir: dir, JournalDSN: dsn,
		Journal: journal.Options{Mode: mode},
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// workload plays a seeded mix of deposits, withdrawals, limit and market
// orders and cancels through the router.
func workload(t *testing.T, n *runtime.Node, seed uint64, steps int) {
	cfg := n.Config
	rng := rand.New(rand.NewPCG(seed, 1))
	var resting []*messages.Order
	for i := 0; i < steps; i++ {
		user := uint32(1 + rng.IntN(8))
		m := cfg.Markets[rng.IntN(len(cfg.Markets))]
		side := messages.Side(1 + rng.IntN(2))
		var cmd messages.Command
		switch k := rng.IntN(20); {
		case k < 3:
			a := cfg.Assets[rng.IntN(len(cfg.Assets))]
			cmd = &messages.BalanceUpdate{User: user, Asset: a.ID, Business: "deposit", BusinessID: seed<<32 | uint64(i), Change: save("1000"), Time: int64(i)}
		case k < 4:
			a := cfg.Assets[rng.IntN(len(cfg.Assets))]
			cmd = &messages.BalanceUpdate{User: user, Asset: a.ID, Business: "withdraw", BusinessID: seed<<32 | uint64(i), Change: save("7.5"), Negative: true, Time: int64(i)}
		case k < 15:
			price := int64(95+rng.IntN(10)) * pow(m.MoneyPrec)
			cmd = &messages.PutLimit{User: user, Market: m.ID, Side: side, Amount: int64(1+rng.IntN(30)) * m.MinUnits, Price: price, TakerFee: int64(rng.IntN(30)), MakerFee: int64(rng.IntN(20)), Source: "t", Time: int64(i)}
		case k < 17:
			amt := int64(1+rng.IntN(10)) * m.MinUnits
			if side == messages.Bid {
				amt = int64(1+rng.IntN(500)) * pow(m.MoneyPrec)
			}
			cmd = &messages.PutMarket{User: user, Market: m.ID, Side: side, Amount: amt, TakerFee: 10, Time: int64(i)}
		default:
			if len(resting) == 0 {
				continue
			}
			j := rng.IntN(len(resting))
			o := resting[j]
			resting = append(resting[:j], resting[j+1:]...)
			cmd = &messages.Cancel{User: o.User, Market: o.Market, OrderID: o.ID, Time: int64(i)}
		}
		if r, ok := do(t, n, cmd).(*messages.OrderReply); ok && r.Order.Left > 0 && r.Order.Type == messages.Limit {
			o := r.Order
			resting = append(resting, &o)
		}
	}
}

// TestReplayIsExact: live state hash = hash after restart = hash of an
// offline recovery, and the invariants hold, for several seeds, for each
// durability mode and for each journal backend (segment files; MySQL, each
// run in its own table, when BOURSE_TEST_MYSQL_DSN is set).
func TestReplayIsExact(t *testing.T) {
	cfg, err := config.Parse(config.Default)
	if err != nil {
		t.Fatal(err)
	}
	for _, backend := range []string{"files", "mysql"} {
		t.Run(backend, func(t *testing.T) {
			var server string
			if backend == "mysql" {
				server = testenv.MySQLDSN(t)
			}
			for _, mode := range []journal.Mode{journal.Sync, journal.Batch, journal.Async} {
				for seed := uint64(1); seed <= 3; seed++ {
					t.Run(mode.String(), func(t *testing.T) {
						var dsn string
						if server != "" {
							// MySQL commits wait on the server: run the
							// nine side by side, each in its own table.
							t.Parallel()
							dsn = testenv.WithParam(server, "table", testenv.MySQLTable(t, server))
						}
						replayIsExact(t, cfg, t.TempDir(), dsn, mode, seed)
					})
				}
			}
		})
	}
}

func replayIsExact(t *testing.T, cfg *config.Config, dir, dsn string, mode journal.Mode, seed uint64) {
	n := startAt(t, cfg, dir, dsn, mode)
	workload(t, n, seed, 1500)
	live, err := n.Router.StateHash(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	s, backend, err := runtime.Recover(cfg, dir, dsn)
	if err != nil {
		t.Fatal(err)
	}
	backend.Close()
	if got := s.Hash(); got != live {
		t.Fatalf("seed %d: offline recovery hash %s != live %s", seed, got, live)
	}
	if bad := s.Check(cfg); len(bad) > 0 {
		t.Fatalf("seed %d: invariants: %v", seed, bad)
	}
	n = startAt(t, cfg, dir, dsn, mode)
	again, err := n.Router.StateHash(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if again != live {
		t.Fatalf("seed %d: restarted node hash %s != live %s", seed, again, live)
	}
	// Work continues after a restart, with fresh ids.
	workload(t, n, seed+100, 200)
	n.Shutdown(context.Background())
}

// TestTornTail cuts the journal mid-record: recovery keeps the durable
// prefix, reports the cut, and the node starts.
func TestTornTail(t *testing.T) {
	cfg, _ := config.Parse(config.Default)
	dir := t.TempDir()
	n := startAt(t, cfg, dir, "", journal.Sync)
	workload(t, n, 9, 300)
	n.Shutdown(context.Background())
	segs, _ := filepath.Glob(filepath.Join(runtime.JournalDir(dir), "*.seg"))
	if len(segs) == 0 {
		t.Fatal("no segment written")
	}
	last := segs[len(segs)-1]
	fi, _ := os.Stat(last)
	full, _, err := runtime.Recover(cfg, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	_ = full
	for _, cut := range []int64{1, 5, 13} {
		if err := os.Truncate(last, fi.Size()-cut); err != nil {
			t.Fatal(err)
		}
		s, files, err := runtime.Recover(cfg, dir, "")
		if err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		files.Close()
		if s.Recovery.TornBytes == 0 {
			t.Fatalf("cut %d: torn tail not reported", cut)
		}
		if s.LastLSN >= full.LastLSN {
			t.Fatalf("cut %d: last LSN %d; want < %d", cut, s.LastLSN, full.LastLSN)
		}
		if bad := s.Check(cfg); len(bad) > 0 {
			t.Fatalf("cut %d: invariants after cut: %v", cut, bad)
		}
		fi, _ = os.Stat(last)
	}
	// Corrupt a byte in the (now clean) tail record: same handling.
	data, _ := os.ReadFile(last)
	data[len(data)-2] ^= 0xff
	os.WriteFile(last, data, 0o644)
	s, files, err := runtime.Recover(cfg, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	files.Close()
	if s.Recovery.TornBytes == 0 {
		t.Fatal("corrupt tail record not reported")
	}
	n = startAt(t, cfg, dir, "", journal.Sync)
	workload(t, n, 10, 100)
	n.Shutdown(context.Background())
}
