package runtime_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/bourse-exchange/bourse/actors/corestate"
	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/bourse-exchange/bourse/actors/journal"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/testenv"
	"github.com/bourse-exchange/bourse/internal/testnode"
	"github.com/bourse-exchange/bourse/messages"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
	"github.com/bourse-exchange/bourse/runtime"
	"github.com/holiman/uint256"
)

// edited parses the default configuration with each old→new replacement
// made in its text (each must match).
func edited(t *testing.T, pairs ...string) *config.Config {
	t.Helper()
	text := string(config.Default)
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(text, pairs[i]) {
			t.Fatalf("the default configuration has no %q", pairs[i])
		}
		text = strings.Replace(text, pairs[i], pairs[i+1], 1)
	}
	cfg, err := config.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// forbidden are configuration changes that would change the meaning of the
// stored state, with the message each must be refused with.
var forbidden = []struct {
	name, old, new, want string
	more                 []string // further old, new pairs
}{
	{"prec_save", "{ name: USDT, prec_save: 12", "{ name: USDT, prec_save: 10",
		"assets[USDT].prec_save: the journal has 12, the file says 10", nil},
	{"fee_user_id", "fee_user_id: 0", "fee_user_id: 7",
		"fee_user_id: the journal has 0, the file says 7", nil},
	{"market renamed (a new one before those the journal has)", "name: ETHUSDT,", "name: ETHUSDX,",
		"markets[ETHBTC]: the journal has it at position 2 (1 among those the file keeps), the file at 2", nil},
	{"markets reordered", "  - { name: ETHUSDT, stock: ETH, money: USDT, stock_prec: 8, money_prec: 2, fee_prec: 4, min_amount: \"0.001\" }\n", "",
		"markets[BTCUSDT]: the journal has it at position 0, the file at 1",
		[]string{"  - { name: BTCUSDT,", "  - { name: ETHUSDT, stock: ETH, money: USDT, stock_prec: 8, money_prec: 2, fee_prec: 4, min_amount: \"0.001\" }\n  - { name: BTCUSDT,"}},
	{"market money", "{ name: ETHBTC,  stock: ETH, money: BTC,", "{ name: ETHBTC,  stock: ETH, money: USDT,",
		"markets[ETHBTC].money: the journal has BTC, the file says USDT", nil},
	{"market stock", "{ name: ETHBTC,  stock: ETH,", "{ name: ETHBTC,  stock: USDT,",
		"markets[ETHBTC].stock: the journal has ETH, the file says USDT", nil},
	{"stock_prec", "{ name: BTCUSDT, stock: BTC, money: USDT, stock_prec: 8", "{ name: BTCUSDT, stock: BTC, money: USDT, stock_prec: 6",
		"markets[BTCUSDT].stock_prec: the journal has 8, the file says 6", nil},
	{"money_prec", "stock_prec: 8, money_prec: 4", "stock_prec: 8, money_prec: 3",
		"markets[ETHBTC].money_prec: the journal has 4, the file says 3", nil},
	{"fee_prec", "money_prec: 4, fee_prec: 4", "money_prec: 4, fee_prec: 3",
		"markets[ETHBTC].fee_prec: the journal has 4, the file says 3", nil},
	{"balance_shards", "balance_shards: 4", "balance_shards: 8",
		"balance_shards: the journal has 4, the file says 8", nil},
	{"asset inserted in the middle", "  - { name: ETH,", "  - { name: SOL,  prec_save: 12, prec_show: 8 }\n  - { name: ETH,",
		"assets[ETH]: the journal has it at position 1, the file at 2", nil},
}

// leftOut are files that leave out an asset or market the journal has (it
// was listed at run time, or the file was edited): the journal's is kept,
// with its id and its state, and the file's new entries come after.
var leftOut = []struct {
	name  string
	pairs []string
	want  map[string]messages.MarketID // markets of the started node
}{
	{"market removed from the middle", []string{"  - { name: ETHUSDT, stock: ETH, money: USDT, stock_prec: 8, money_prec: 2, fee_prec: 4, min_amount: \"0.001\" }\n", ""},
		map[string]messages.MarketID{"BTCUSDT": 0, "ETHUSDT": 1, "ETHBTC": 2}},
	{"last market renamed", []string{"name: ETHBTC,", "name: ETHBTX,"},
		map[string]messages.MarketID{"BTCUSDT": 0, "ETHUSDT": 1, "ETHBTC": 2, "ETHBTX": 3}},
}

// TestConfigChangeRefused: a data directory refuses to start — and an
// offline recovery (bourse verify) refuses to read — under a configuration
// file that changes what its state means, with a message naming the field
// and both values; nothing is written, and it still starts under the file
// it was written with. Both where the configuration is read from the
// journal's first record and where it is read from a snapshot (the first
// segment removed).
func TestConfigChangeRefused(t *testing.T) {
	old := pj.SegmentSize
	pj.SegmentSize = 8 << 10
	t.Cleanup(func() { pj.SegmentSize = old })
	cfg := edited(t)
	for _, from := range []string{"journal", "snapshot"} {
		t.Run(from, func(t *testing.T) {
			dir := t.TempDir()
			n := startAt(t, cfg, dir, "", journal.Sync)
			workload(t, n, 41, 400)
			if from == "snapshot" {
				for i := 0; i < 2; i++ {
					if err := n.Snapshots.Now(); err != nil {
						t.Fatal(err)
					}
					workload(t, n, 42+uint64(i), 400)
				}
			}
			live, err := n.Router.StateHash(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if err := n.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			first := filepath.Join(runtime.JournalDir(dir), "00000000000000000001.seg")
			if _, err := os.Stat(first); (err == nil) != (from == "journal") {
				t.Fatalf("first segment present: %v; want %v", err == nil, from == "journal")
			}
			before := listing(t, dir)
			for _, c := range forbidden {
				bad := edited(t, append([]string{c.old, c.new}, c.more...)...)
				n, err := runtime.Start(bad, runtime.Options{Logger: testenv.Quiet(), DataDir: dir, TickInterval: -1})
				if err == nil {
					n.Shutdown(context.Background())
				}
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("%s: start: %v; want an error with %q", c.name, err, c.want)
				}
				if _, _, err := runtime.Recover(bad, dir, ""); err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("%s: recover: %v; want an error with %q", c.name, err, c.want)
				}
				if after := listing(t, dir); after != before {
					t.Fatalf("%s: the refused start changed the data directory:\n%s\nwas\n%s", c.name, after, before)
				}
			}
			n = startAt(t, cfg, dir, "", journal.Sync)
			again, err := n.Router.StateHash(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			n.Shutdown(context.Background())
			if again != live {
				t.Fatalf("restart under the original file: hash %s; live %s", again, live)
			}
			// The first keeps the journal's configuration (its hash is
			// live's); the second appends a market (an empty book more):
			// ETHUSDT, left out of both files, is as it was.
			var eth messages.Reply
			for i, c := range leftOut {
				got := checkLeftOut(t, dir, edited(t, c.pairs...), c.name, c.want, map[bool]string{true: live}[i == 0])
				if i == 0 {
					eth = got
				} else if !reflect.DeepEqual(got, eth) {
					t.Errorf("%s: market.summary ETHUSDT %#v; was %#v", c.name, got, eth)
				}
			}
		})
	}
}

// checkLeftOut starts dir under cfg, a file that leaves out a market the
// journal has: the node starts with the markets of want and, unless live
// is empty, the state hash live. It returns market.summary of ETHUSDT.
func checkLeftOut(t *testing.T, dir string, cfg *config.Config, name string, want map[string]messages.MarketID, live string) messages.Reply {
	t.Helper()
	n := testnode.Start(t, cfg, runtime.Options{DataDir: dir, TickInterval: -1})
	defer n.Shutdown(context.Background())
	if len(n.Config.Markets) != len(want) {
		t.Errorf("%s: %d markets; want %d", name, len(n.Config.Markets), len(want))
	}
	for m, id := range want {
		if got := n.Config.Market(m); got == nil || got.ID != id {
			t.Errorf("%s: market %s: %v; want id %d", name, m, got, id)
		}
	}
	if hash, err := n.Router.StateHash(context.Background()); live != "" && (err != nil || hash != live) {
		t.Errorf("%s: state hash %s (%v); want %s", name, hash, err, live)
	}
	return do(t, n, &messages.MarketSummary{Market: 1})
}

// listing is every file under dir with its size and content hash.
func listing(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		b.WriteString(rel + " " + corestate.Hash([][]byte{data}, nil) + "\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// appended is the default configuration with an asset and a market
// appended and the rules of an existing market changed.
func appended(t *testing.T) *config.Config {
	return edited(t,
		"  - { name: USDT, prec_save: 12, prec_show: 8 }\n", "  - { name: USDT, prec_save: 12, prec_show: 8 }\n  - { name: SOL,  prec_save: 10, prec_show: 6 }\n",
		"  - { name: ETHBTC,  stock: ETH, money: BTC,  stock_prec: 8, money_prec: 4, fee_prec: 4, min_amount: \"0.001\" }\n",
		"  - { name: ETHBTC,  stock: ETH, money: BTC,  stock_prec: 8, money_prec: 4, fee_prec: 4, min_amount: \"0.001\" }\n  - { name: SOLUSDT, stock: SOL, money: USDT, stock_prec: 4, money_prec: 2, fee_prec: 4, min_amount: \"0.1\" }\n",
		`{ name: BTCUSDT, stock: BTC, money: USDT, stock_prec: 8, money_prec: 2, fee_prec: 4, min_amount: "0.0001" }`,
		`{ name: BTCUSDT, stock: BTC, money: USDT, stock_prec: 8, money_prec: 2, fee_prec: 4, min_amount: "0.001", max_open_orders: 50, stp: cancel_taker }`,
	)
}

// TestConfigAppendJournaled: a file that appends an asset and a market and
// changes a market's rules starts on a data directory that has run a while
// (snapshots written, its first segment removed): the snapshots stay
// usable, the change is journaled as a ConfigSet record, the new market
// trades, and the state replays exactly — from the journal and from a
// snapshot made after. The rules the file changes are not taken (the
// journal's are kept). The old file then still starts: the journal keeps
// the new asset and market.
func TestConfigAppendJournaled(t *testing.T) {
	old := pj.SegmentSize
	pj.SegmentSize = 8 << 10
	t.Cleanup(func() { pj.SegmentSize = old })
	cfg := edited(t)
	dir := t.TempDir()
	n := startAt(t, cfg, dir, "", journal.Sync)
	for i := 0; i < 2; i++ {
		workload(t, n, 51+uint64(i), 500)
		if err := n.Snapshots.Now(); err != nil {
			t.Fatal(err)
		}
	}
	workload(t, n, 53, 200)
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(runtime.JournalDir(dir), "00000000000000000001.seg")); err == nil {
		t.Fatal("the first segment is still there: the test needs it removed")
	}

	cfg2 := appended(t)
	n = startAt(t, cfg2, dir, "", journal.Sync)
	rec := n.Recovered.LastLSN
	sol, solusdt := cfg2.Asset("SOL"), cfg2.Market("SOLUSDT")
	// The new market trades: deposits of the new asset, a resting ask, a
	// crossing bid.
	do(t, n, &messages.BalanceUpdate{User: 3, Asset: sol.ID, Business: "deposit", BusinessID: 1, Change: saveAt("100", 10), Time: 9e6})
	do(t, n, &messages.BalanceUpdate{User: 4, Asset: cfg2.Asset("USDT").ID, Business: "deposit", BusinessID: 1, Change: save("10000"), Time: 9e6})
	ask := do(t, n, &messages.PutLimit{User: 3, Market: solusdt.ID, Side: messages.Ask, Amount: units("5", 4), Price: units("20", 2), TakerFee: 10, MakerFee: 10, Time: 9e6 + 1})
	if r, ok := ask.(*messages.OrderReply); !ok || r.Order.Left == 0 {
		t.Fatalf("ask in the new market: %#v", ask)
	}
	bid := do(t, n, &messages.PutLimit{User: 4, Market: solusdt.ID, Side: messages.Bid, Amount: units("2", 4), Price: units("21", 2), TakerFee: 10, MakerFee: 10, Time: 9e6 + 2})
	if r, ok := bid.(*messages.OrderReply); !ok || r.Order.Left != 0 {
		t.Fatalf("bid in the new market: %#v", bid)
	}
	// The file's rules for BTCUSDT are not taken: the journal's are kept
	// (min_amount 0.0001; market.update changes them).
	if m := n.Config.Market("BTCUSDT"); m.MinUnits != units("0.0001", 8) || m.MaxOpenOrders != config.DefaultMaxOpenOrders || m.STPMode != messages.STPDefault {
		t.Fatalf("BTCUSDT rules after a file that changes them: %+v; want the journal's", m)
	}
	small := do(t, n, &messages.PutLimit{User: 4, Market: cfg2.Market("BTCUSDT").ID, Side: messages.Bid, Amount: units("0.0005", 8), Price: units("1", 2), Time: 9e6 + 3})
	if e, ok := small.(*messages.ErrorReply); ok {
		t.Fatalf("an order over the journal's min_amount, under the file's: %#v", e)
	}
	want := n.Config.Spec()
	sum, ok := do(t, n, &messages.MarketSummary{Market: solusdt.ID}).(*messages.MarketSummaryReply)
	if !ok || sum.AskCount != 1 || sum.AskAmount != units("3", 4) {
		t.Fatalf("market.summary of the new market: %#v", sum)
	}
	workload(t, n, 54, 300) // all markets, the new one too
	live, err := n.Router.StateHash(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	// The journal holds the new configuration right after what was
	// recovered.
	s, b, err := runtime.Recover(cfg2, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	var got *messages.ConfigSet
	b.Read(rec, rec+1, func(r pj.Record) error {
		if len(r.Events) == 1 {
			got, _ = r.Events[0].(*messages.ConfigSet)
		}
		return nil
	})
	b.Close()
	if got == nil || !config.SameSpec(got, want) || len(got.Assets) != len(cfg2.Assets) || len(got.Markets) != len(cfg2.Markets) {
		t.Fatalf("record %d: %#v; want the new configuration", rec+1, got)
	}
	if s.Hash() != live {
		t.Fatalf("recovered %s; live %s", s.Hash(), live)
	}
	if bad := s.Check(); len(bad) > 0 {
		t.Fatalf("invariants: %v", bad)
	}
	// From a snapshot made under the new configuration.
	n = startAt(t, cfg2, dir, "", journal.Sync)
	if err := n.Snapshots.Now(); err != nil {
		t.Fatal(err)
	}
	n.Shutdown(context.Background())
	s, b, err = runtime.Recover(cfg2, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	if s.Snapshot != s.LastLSN || s.Hash() != live {
		t.Fatalf("from snapshot %d (last LSN %d): %s; live %s", s.Snapshot, s.LastLSN, s.Hash(), live)
	}
	// The old file, without SOL and SOLUSDT, still starts: the journal
	// keeps them, with their state.
	n = startAt(t, cfg, dir, "", journal.Sync)
	defer n.Shutdown(context.Background())
	if m := n.Config.Market("SOLUSDT"); m == nil || m.ID != solusdt.ID || n.Config.Asset("SOL") == nil {
		t.Fatalf("under the old file: SOLUSDT %v", m)
	}
	if hash, err := n.Router.StateHash(context.Background()); err != nil || hash != live {
		t.Fatalf("under the old file: hash %s (%v); live %s", hash, err, live)
	}
}

// TestOldDataDirAdopted: a data directory written before the configuration
// was durable (testdata/datadir-31dc3ce: a journal and a snapshot without
// it, by the node of commit 31dc3ce running the workload) recovers from its
// snapshot to the state its journal alone gives, invariants holding; the
// first start adopts the file's configuration and journals it; from then
// on a contradicting file is refused.
func TestOldDataDirAdopted(t *testing.T) {
	cfg := edited(t)
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("testdata/datadir-31dc3ce")); err != nil {
		t.Fatal(err)
	}
	jonly := t.TempDir()
	if err := os.CopyFS(jonly, os.DirFS("testdata/datadir-31dc3ce")); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(runtime.SnapshotDir(jonly))
	j, b, err := runtime.Recover(cfg, jonly, "")
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	s, b, err := runtime.Recover(cfg, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	if s.Spec != nil || s.Snapshot == 0 || s.LastLSN != j.LastLSN || s.Hash() != j.Hash() || s.LastLSN < 300 {
		t.Fatalf("old data directory: configuration %v, snapshot %d, LSN %d hash %s; want none, a snapshot, the journal's LSN %d hash %s",
			s.Spec, s.Snapshot, s.LastLSN, s.Hash(), j.LastLSN, j.Hash())
	}
	if bad := s.Check(); len(bad) > 0 {
		t.Fatalf("old data directory: invariants: %v", bad)
	}
	n := startAt(t, cfg, dir, "", journal.Sync)
	workload(t, n, 61, 200)
	live, _ := n.Router.StateHash(context.Background())
	n.Shutdown(context.Background())
	s, b, err = runtime.Recover(cfg, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	if s.Spec == nil || !config.SameSpec(s.Spec, cfg.Spec()) || s.Hash() != live {
		t.Fatalf("after the first start: configuration %v, hash %s; want the file's, %s", s.Spec, s.Hash(), live)
	}
	bad := edited(t, "fee_user_id: 0", "fee_user_id: 7")
	if _, err := runtime.Start(bad, runtime.Options{Logger: testenv.Quiet(), DataDir: dir, TickInterval: -1}); err == nil ||
		!strings.Contains(err.Error(), "fee_user_id: the journal has 0, the file says 7") {
		t.Fatalf("a changed fee_user_id after adoption: %v", err)
	}
}

func saveAt(s string, scale int) uint256.Int {
	u, _, err := fixed.Parse(s, scale)
	if err != nil {
		panic(err)
	}
	return u
}
