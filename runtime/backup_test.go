package runtime_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/testenv"
	"github.com/bourse-exchange/bourse/messages"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
	"github.com/bourse-exchange/bourse/runtime"
	_ "github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"
)

// load runs deposits and crossing orders on n until stop is closed.
func load(t testing.TB, n *runtime.Node, stop <-chan struct{}, wg *sync.WaitGroup, seed uint64) *atomic.Int64 {
	var done atomic.Int64
	cfg := n.Config
	m := cfg.Market("BTCUSDT")
	btc, usdt := cfg.Asset("BTC").ID, cfg.Asset("USDT").ID
	wg.Add(1)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(seed, 7))
		for i := uint64(1); ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			user := uint32(1 + rng.IntN(4))
			ctx := context.Background()
			var cmd messages.Command
			switch rng.IntN(3) {
			case 0:
				asset := btc
				if rng.IntN(2) == 0 {
					asset = usdt
				}
				cmd = &messages.BalanceUpdate{User: user, Asset: asset, Business: "deposit", BusinessID: seed<<32 | i, Change: save(fmt.Sprint(1 + rng.IntN(100))), Time: int64(i)}
			default:
				side := messages.Ask
				if rng.IntN(2) == 0 {
					side = messages.Bid
				}
				cmd = &messages.PutLimit{User: user, Market: m.ID, Side: side, Amount: units("0.1", 8), Price: units(fmt.Sprint(95+rng.IntN(10)), 2), TakerFee: 20, MakerFee: 10, Time: int64(i)}
			}
			if _, err := n.Router.Do(ctx, cmd); err != nil {
				t.Errorf("load: %v", err)
				return
			}
			done.Add(1)
		}
	}()
	return &done
}

// TestBackupUnderLoad: bourse backup of a running node under load, with
// history in MySQL and market data in Redis beside it; the node goes on
// past the backup; then the backup is restored as the README says (the
// data directory replaced, MySQL and Redis left as they are) and started.
// The backup's state hash is the node's at the backup's LSN; the restored
// node's history and market data hold exactly its own timeline.
func TestBackupUnderLoad(t *testing.T) {
	addr := testenv.RedisAddr(t)
	const db = 10
	c := redis.NewClient(&redis.Options{Addr: addr, DB: db})
	defer c.Close()
	if err := c.FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.FlushDB(context.Background()) })
	cfg := storesConfig(t, testenv.MySQLDatabase(t), fmt.Sprintf("redis://%s/%d", addr, db))
	dir := filepath.Join(t.TempDir(), "node")
	n, _ := mustStart(t, cfg, dir, "")

	stop := make(chan struct{})
	var wg sync.WaitGroup
	done := load(t, n, stop, &wg, 1)
	for done.Load() < 300 {
		time.Sleep(5 * time.Millisecond)
	}
	out := filepath.Join(t.TempDir(), "backup")
	t0 := time.Now()
	res, err := runtime.Backup(context.Background(), cfg, dir, "", out)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("backup at LSN %d (%d records copied) in %s while the node ran", res.LSN, res.Records, time.Since(t0).Round(time.Millisecond))
	at := done.Load()
	for done.Load() < at+300 {
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	waitStores(t, n, 20*time.Second)
	last := n.Journal.LastLSN()
	if last <= res.LSN {
		t.Fatalf("the node stopped at LSN %d, not after the backup's %d", last, res.LSN)
	}
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	// The node's state at the backup's LSN, from its own journal.
	want := runtime.NewState(cfg)
	if err := pj.ReadFiles(runtime.JournalDir(dir), 0, res.LSN, want.Apply); err != nil {
		t.Fatal(err)
	}
	if want.Hash() != res.Hash {
		t.Fatalf("backup hash %s; the node's at LSN %d is %s", res.Hash, res.LSN, want.Hash())
	}

	// Restore: the backup becomes the data directory; MySQL history and
	// Redis market data stay, ahead of it.
	restored := filepath.Join(t.TempDir(), "restored")
	copyDir(t, out, restored)
	r, _ := mustStart(t, cfg, restored, "")
	defer r.Shutdown(context.Background())
	if r.Journal.LastLSN() != res.LSN || len(r.Identity.Timelines) != 2 || r.Identity.ID != res.Identity.ID {
		t.Fatalf("restored node: LSN %d identity %s; want LSN %d, %s on a second timeline", r.Journal.LastLSN(), r.Identity, res.LSN, res.Identity)
	}
	stop = make(chan struct{})
	done = load(t, r, stop, &wg, 2)
	for done.Load() < 100 {
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	waitStores(t, r, 20*time.Second)
	checkStores(t, r, runtime.JournalDir(restored))
}

// checkStores checks n's history and market data against its journal (in
// jdir): per user and asset the newest history row's balance is the
// user's balance, and the rows count the journal's balance changes;
// market.last is the last trade's price and market.deals the newest
// trades.
func checkStores(t *testing.T, n *runtime.Node, jdir string) {
	t.Helper()
	cfg := n.Config
	m := cfg.Market("BTCUSDT")
	var trades []*messages.Trade
	if _, err := pj.ScanFiles(jdir, 0, func(r pj.Record) error {
		for _, ev := range r.Events {
			if tr, ok := ev.(*messages.Trade); ok && tr.Market == m.ID {
				trades = append(trades, tr)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	checkMarketData(t, n, trades)
	checkBalances(t, n)
}

// checkMarketData checks n's market.last and market.deals against trades,
// the journal's trades in BTCUSDT, oldest first.
func checkMarketData(t *testing.T, n *runtime.Node, trades []*messages.Trade) {
	t.Helper()
	m := n.Config.Market("BTCUSDT")
	if len(trades) == 0 {
		t.Fatal("no trade in the journal")
	}
	if r := do(t, n, &messages.MarketLast{Market: m.ID}); !isPrice(r, trades[len(trades)-1].Price) {
		t.Errorf("market.last = %#v; the last trade's price is %d", r, trades[len(trades)-1].Price)
	}
	deals := do(t, n, &messages.MarketDeals{Market: m.ID, Limit: 100}).(*messages.MarketDealsReply).Deals
	var want []uint64
	for i := len(trades) - 1; i >= 0 && len(want) < 100; i-- {
		want = append(want, trades[i].DealID)
	}
	var got []uint64
	for _, d := range deals {
		got = append(got, d.ID)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("market.deals ids %v; the journal's newest trades %v", got, want)
	}
}

// checkBalances checks that per user and asset n's newest history row's
// balance is the user's balance.
func checkBalances(t *testing.T, n *runtime.Node) {
	t.Helper()
	cfg := n.Config
	for user := uint32(1); user <= 4; user++ {
		bal := do(t, n, &messages.BalanceQuery{User: user}).(*messages.BalanceQueryReply)
		for _, a := range cfg.Assets {
			if a.Name != "BTC" && a.Name != "USDT" {
				continue
			}
			b := bal.Balances[a.ID]
			var total = b.Available
			total.Add(&total, &b.Frozen)
			h := do(t, n, &messages.BalanceHistory{User: user, Asset: a.Name, Limit: 1}).(*messages.BalanceHistoryReply).Records
			have := "0"
			if len(h) > 0 {
				have = h[0].Balance
			}
			if w := fixed.Format(&total, a.PrecSave); strings.TrimRight(strings.TrimRight(have, "0"), ".") != strings.TrimRight(strings.TrimRight(w, "0"), ".") {
				t.Errorf("user %d %s: newest history balance %s; balance %s", user, a.Name, have, w)
			}
		}
	}
}

// TestBackupMySQLJournal: the backup of a node whose journal is in MySQL,
// whose SQLite history and market data checkpoint are behind the journal
// (a lagging history follower, a checkpoint between its periodic writes:
// here the node ran on without its followers), restored as the README
// says — on a new empty journal table, which holds nothing before the
// backup's LSN. The restored node's history must hold every deposit and
// its market data every trade up to the backup's LSN: the backup brings
// its copies of the stores up to there. Started on the old journal table,
// which goes on past the backup, the backup is refused.
func TestBackupMySQLJournal(t *testing.T) {
	journal := testenv.MySQLJournal(t)
	testBackupStoresBehind(t, journal, func() string { return testenv.MySQLJournal(t) })
}

// TestBackupFilesStoresBehind: the same with segment files, the journal
// before the stores' cursors removed after a snapshot at their cursor
// (kept, as the node keeps it for a lagging follower): the backup holds
// neither that snapshot nor those segments, so the restored node could
// not bring its stores up itself.
func TestBackupFilesStoresBehind(t *testing.T) {
	old := pj.SegmentSize
	pj.SegmentSize = 8 << 10
	t.Cleanup(func() { pj.SegmentSize = old })
	testBackupStoresBehind(t, "", func() string { return "" })
}

// TestBackupStoresTooFarBehind: when the journal and snapshots no longer
// hold what follows a store's cursor, the backup fails and says so rather
// than hold a store that lost records for good.
func TestBackupStoresTooFarBehind(t *testing.T) {
	old := pj.SegmentSize
	pj.SegmentSize = 8 << 10
	t.Cleanup(func() { pj.SegmentSize = old })
	cfg := storesConfig(t, "", "")
	dir := filepath.Join(t.TempDir(), "node")
	n, _ := mustStart(t, cfg, dir, "")
	deposit(t, n, 1, 1)
	filler(t, n, 0)
	waitStores(t, n, 10*time.Second)
	stop(t, n)
	n = startBare(t, cfg, dir, "")
	defer stop(t, n)
	for i := 1; i <= cfg.Snapshot.Keep+1; i++ { // the snapshot at the stores' cursor pruned
		if err := n.Snapshots.Now(); err != nil {
			t.Fatal(err)
		}
		filler(t, n, i)
	}
	out := filepath.Join(t.TempDir(), "backup")
	_, err := runtime.Backup(context.Background(), cfg, dir, "", out)
	if err == nil || !strings.Contains(err.Error(), "no longer hold the records after it") {
		t.Fatalf("backup: %v; want it refused, the history's records lost", err)
	}
	if entries, _ := os.ReadDir(out); len(entries) > 0 {
		t.Errorf("the refused backup left %d entries in %s", len(entries), out)
	}
}

// filler writes 300 deposits of user 9 (more than one 8 KiB segment).
func filler(t *testing.T, n *runtime.Node, round int) {
	t.Helper()
	for i := 0; i < 300; i++ {
		r := do(t, n, &messages.BalanceUpdate{User: 9, Asset: n.Config.Asset("USDT").ID, Business: "deposit", BusinessID: uint64(1000*(round+1) + i),
			Change: save("1"), Time: 1})
		if _, ok := r.(*messages.StatusReply); !ok {
			t.Fatalf("filler deposit: %#v", r)
		}
	}
}

// startBare starts a node on dataDir without its journal followers.
func startBare(t *testing.T, cfg *config.Config, dataDir, journal string) *runtime.Node {
	t.Helper()
	n, err := runtime.Start(cfg, runtime.Options{Logger: testenv.Quiet(), DataDir: dataDir, JournalDSN: journal, TickInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func testBackupStoresBehind(t *testing.T, journal string, fresh func() string) {
	cfg := storesConfig(t, "", "")
	dir := filepath.Join(t.TempDir(), "node")
	n, _ := mustStart(t, cfg, dir, journal)
	deposit(t, n, 1, 1)
	trade(t, n, "100")
	if journal == "" {
		filler(t, n, 0)
	}
	waitStores(t, n, 10*time.Second)
	stop(t, n) // the market data checkpoint is written here
	// The journal's trades, read before the segment files are removed.
	var trades []*messages.Trade
	var after, upto uint64
	read := func(r pj.Record) error {
		for _, ev := range r.Events {
			if tr, ok := ev.(*messages.Trade); ok && r.LSN > after && r.LSN <= upto && tr.Market == cfg.Market("BTCUSDT").ID {
				trades = append(trades, tr)
			}
		}
		return nil
	}
	scan := func(jdir string) {
		t.Helper()
		var err error
		if journal != "" {
			_, err = pj.ScanMySQL(journal, 0, read)
		} else {
			_, err = pj.ScanFiles(jdir, 0, read)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	upto = ^uint64(0)
	scan(runtime.JournalDir(dir))
	n = startBare(t, cfg, dir, journal)
	after = n.Journal.LastLSN()
	if journal == "" {
		// A snapshot at the stores' cursor; the segments it covers go.
		if err := n.Snapshots.Now(); err != nil {
			t.Fatal(err)
		}
		filler(t, n, 1)
		if _, err := os.Stat(filepath.Join(runtime.JournalDir(dir), "00000000000000000001.seg")); err == nil {
			es, _ := os.ReadDir(runtime.JournalDir(dir))
			t.Fatalf("the first segment was not removed: %v", es)
		}
	}
	for id := uint64(2); id <= 5; id++ {
		deposit(t, n, id, int(id))
	}
	trade(t, n, "101")
	at := n.Journal.LastLSN()
	out := filepath.Join(t.TempDir(), "backup")
	res, err := runtime.Backup(context.Background(), cfg, dir, journal, out)
	if err != nil {
		t.Fatal(err)
	}
	deposit(t, n, 6, 6)
	stop(t, n)
	if res.LSN != at || !res.History || !res.MarketData {
		t.Fatalf("backup at LSN %d, history %v, market data %v; want LSN %d and both stores", res.LSN, res.History, res.MarketData, at)
	}
	upto = res.LSN
	scan(runtime.JournalDir(out))
	if journal != "" {
		old := filepath.Join(t.TempDir(), "old")
		copyDir(t, out, old)
		if r, _, err := startWithStores(cfg, old, journal); err == nil {
			r.Shutdown(context.Background())
			t.Fatal("the backup started on the old journal table, which goes on past it")
		} else if !strings.Contains(err.Error(), fmt.Sprintf("ends at LSN %d", res.LSN)) {
			t.Errorf("refused with %q; want the backup's end named", err)
		}
	}

	restored := filepath.Join(t.TempDir(), "restored")
	copyDir(t, out, restored)
	r, _ := mustStart(t, cfg, restored, fresh())
	defer r.Shutdown(context.Background())
	if r.Journal.LastLSN() != res.LSN || r.Identity.ID != res.Identity.ID || len(r.Identity.Timelines) != 2 {
		t.Fatalf("restored: LSN %d identity %s; want %d, %s on a second timeline", r.Journal.LastLSN(), r.Identity, res.LSN, res.Identity)
	}
	deposit(t, r, 7, 7)
	waitStores(t, r, 10*time.Second)
	if got := deposits(t, r); fmt.Sprint(got) != "[1 2 3 4 5 7]" {
		t.Errorf("restored node's history: deposits %v; want [1 2 3 4 5 7]", got)
	}
	checkMarketData(t, r, trades)
}

// TestCutBackJournalNewTimeline: a data directory restored from a plain
// file copy (no new timeline of its own) under a MySQL history that is
// ahead: the history rolls back and the journal gets a new timeline there,
// which the history then follows, so that a later restart — the journal
// now past the history's old cursor — keeps every row of the new timeline.
func TestCutBackJournalNewTimeline(t *testing.T) {
	cfg := storesConfig(t, testenv.MySQLDatabase(t), "")
	dir := filepath.Join(t.TempDir(), "node")
	n, _ := mustStart(t, cfg, dir, "")
	deposit(t, n, 1, 1)
	waitStores(t, n, 10*time.Second)
	at := n.Journal.LastLSN()
	stop(t, n)
	backup := filepath.Join(t.TempDir(), "copy")
	copyDir(t, dir, backup)
	n, _ = mustStart(t, cfg, dir, "")
	deposit(t, n, 2, 2)
	deposit(t, n, 3, 3)
	waitStores(t, n, 10*time.Second)
	stop(t, n)

	restored := filepath.Join(t.TempDir(), "restored")
	copyDir(t, backup, restored)
	r, _ := mustStart(t, cfg, restored, "")
	if len(r.Identity.Timelines) != 2 || r.Identity.Timelines[1].After != at {
		t.Errorf("restored node: %s (%+v); want a second timeline after LSN %d", r.Identity, r.Identity.Timelines, at)
	}
	db, err := sql.Open("mysql", cfg.History.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mark string
	if err := db.QueryRow("SELECT `journal` FROM `history_cursor`").Scan(&mark); err != nil || mark != r.Identity.Mark() {
		t.Errorf("history's journal mark %q, %v; want the new timeline's %q", mark, err, r.Identity.Mark())
	}
	for id := uint64(4); id <= 7; id++ {
		deposit(t, r, id, int(id))
	}
	waitStores(t, r, 10*time.Second)
	stop(t, r)
	r, _ = mustStart(t, cfg, restored, "")
	defer r.Shutdown(context.Background())
	waitStores(t, r, 10*time.Second)
	if got := deposits(t, r); fmt.Sprint(got) != "[1 4 5 6 7]" {
		t.Errorf("after a restart: deposits %v; want [1 4 5 6 7]", got)
	}
	if len(r.Identity.Timelines) != 2 {
		t.Errorf("after a restart: %s; want the same second timeline", r.Identity)
	}
}

// TestBackupStoresBehindRunTimeMarket: the backup brings its copies of the
// stores up to its LSN under the journal's configuration, not the file's:
// the market data of a market listed at run time (which the file does not
// list) survives a backup taken while the checkpoint is behind.
func TestBackupStoresBehindRunTimeMarket(t *testing.T) {
	cfg := storesConfig(t, "", "")
	dir := filepath.Join(t.TempDir(), "node")
	n, _ := mustStart(t, cfg, dir, "")
	if r, ok := do(t, n, &messages.AssetAdd{Name: "SOL", PrecSave: 12, PrecShow: -1}).(*messages.StatusReply); !ok {
		t.Fatalf("asset.add: %#v", r)
	}
	if r, ok := do(t, n, &messages.MarketAdd{Name: "SOLUSDT", Stock: "SOL", Money: "USDT", StockPrec: 8, MoneyPrec: 2, FeePrec: 4, MinAmount: "0.01"}).(*messages.StatusReply); !ok {
		t.Fatalf("market.add: %#v", r)
	}
	sol, solAsset := messages.MarketID(len(cfg.Markets)), messages.AssetID(len(cfg.Assets))
	do(t, n, &messages.BalanceUpdate{User: 7, Asset: solAsset, Business: "deposit", BusinessID: 70, Change: save("5"), Time: 1})
	do(t, n, &messages.BalanceUpdate{User: 8, Asset: cfg.Asset("USDT").ID, Business: "deposit", BusinessID: 80, Change: save("1000"), Time: 1})
	if r, ok := do(t, n, &messages.PutLimit{User: 7, Market: sol, Side: messages.Ask, Amount: units("1", 8), Price: units("20", 2), Time: 2}).(*messages.OrderReply); !ok {
		t.Fatalf("ask: %#v", r)
	}
	if r, ok := do(t, n, &messages.PutLimit{User: 8, Market: sol, Side: messages.Bid, Amount: units("1", 8), Price: units("20", 2), Time: 3}).(*messages.OrderReply); !ok || r.Order.Left != 0 {
		t.Fatalf("bid: %#v", r)
	}
	waitStores(t, n, 10*time.Second)
	stop(t, n) // the checkpoint holds SOLUSDT's deal
	n = startBare(t, cfg, dir, "")
	deposit(t, n, 2, 2) // the stores are behind the backup
	out := filepath.Join(t.TempDir(), "backup")
	res, err := runtime.Backup(context.Background(), cfg, dir, "", out)
	stop(t, n)
	if err != nil {
		t.Fatal(err)
	}
	if !res.MarketData || !res.History {
		t.Fatalf("backup: history %v, market data %v; want both", res.History, res.MarketData)
	}
	restored := filepath.Join(t.TempDir(), "restored")
	copyDir(t, out, restored)
	r, _ := mustStart(t, cfg, restored, "")
	defer stop(t, r)
	waitStores(t, r, 10*time.Second)
	if deals := do(t, r, &messages.MarketDeals{Market: sol, Limit: 10}).(*messages.MarketDealsReply).Deals; len(deals) != 1 {
		t.Errorf("restored SOLUSDT deals: %d; want the 1 before the backup", len(deals))
	}
	if got := deposits(t, r); fmt.Sprint(got) != "[2]" {
		t.Errorf("restored history: deposits %v; want [2]", got)
	}
}
