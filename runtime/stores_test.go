package runtime_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/testenv"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/runtime"
	"github.com/redis/go-redis/v9"
)

// storesConfig is the default configuration with history in MySQL
// database historyDSN (empty: SQLite under the data directory) and market
// data in Redis at redisURL (empty: memory).
func storesConfig(t testing.TB, historyDSN, redisURL string) *config.Config {
	t.Helper()
	cfg, err := config.Parse(config.Default)
	if err != nil {
		t.Fatal(err)
	}
	cfg.History.DSN = historyDSN
	cfg.MarketData.Redis = redisURL
	return cfg
}

// startWithStores starts a node on dataDir (journal in MySQL at journalDSN
// if set) with its journal followers.
func startWithStores(cfg *config.Config, dataDir, journalDSN string) (*runtime.Node, *runtime.Services, error) {
	log := testenv.Quiet()
	n, err := runtime.Start(cfg, runtime.Options{Logger: log, DataDir: dataDir, JournalDSN: journalDSN, TickInterval: -1})
	if err != nil {
		return nil, nil, err
	}
	s, err := n.StartServices(context.Background(), dataDir)
	if err != nil {
		n.Shutdown(context.Background())
		return nil, nil, err
	}
	return n, s, nil
}

func mustStart(t testing.TB, cfg *config.Config, dataDir, journalDSN string) (*runtime.Node, *runtime.Services) {
	t.Helper()
	n, s, err := startWithStores(cfg, dataDir, journalDSN)
	if err != nil {
		t.Fatal(err)
	}
	return n, s
}

// deposit credits user 1 with n BTC, business id id.
func deposit(t testing.TB, n *runtime.Node, id uint64, amount int) {
	t.Helper()
	r := do(t, n, &messages.BalanceUpdate{User: 1, Asset: n.Config.Asset("BTC").ID, Business: "deposit", BusinessID: id,
		Change: save(fmt.Sprint(amount)), Time: int64(id)})
	if _, ok := r.(*messages.StatusReply); !ok {
		t.Fatalf("deposit %d: %#v", id, r)
	}
}

// trade makes user 2 sell 1 BTC to user 3 at price (USDT).
func trade(t testing.TB, n *runtime.Node, price string) {
	t.Helper()
	cfg := n.Config
	m := cfg.Market("BTCUSDT")
	do(t, n, &messages.BalanceUpdate{User: 2, Asset: cfg.Asset("BTC").ID, Business: "deposit", BusinessID: uint64(time.Now().UnixNano()), Change: save("1"), Time: 1})
	do(t, n, &messages.BalanceUpdate{User: 3, Asset: cfg.Asset("USDT").ID, Business: "deposit", BusinessID: uint64(time.Now().UnixNano()), Change: save("100000"), Time: 1})
	if r, ok := do(t, n, &messages.PutLimit{User: 2, Market: m.ID, Side: messages.Ask, Amount: units("1", 8), Price: units(price, 2), TakerFee: 20, MakerFee: 10, Time: 2}).(*messages.OrderReply); !ok {
		t.Fatalf("ask: %#v", r)
	}
	if r, ok := do(t, n, &messages.PutLimit{User: 3, Market: m.ID, Side: messages.Bid, Amount: units("1", 8), Price: units(price, 2), TakerFee: 20, MakerFee: 10, Time: 3}).(*messages.OrderReply); !ok || r.Order.Left != 0 {
		t.Fatalf("bid: %#v", r)
	}
}

// waitStores waits until every follower of n stored the journal's last
// record, and fails the test after within.
func waitStores(t testing.TB, n *runtime.Node, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		last := n.Journal.LastLSN()
		done := true
		var st []string
		for _, f := range n.Feed.Followers() {
			done = done && f.Cursor == last
			st = append(st, fmt.Sprintf("%s cursor %d lag %d errors %d", f.Name, f.Cursor, f.Lag, f.Errors))
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("followers did not store LSN %d within %s: %s", last, within, strings.Join(st, "; "))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// deposits lists user 1's BTC deposits in history, oldest first, by
// business id ("detail" holds it).
func deposits(t testing.TB, n *runtime.Node) []string {
	t.Helper()
	r := do(t, n, &messages.BalanceHistory{User: 1, Asset: "BTC", Business: "deposit", Limit: messages.HistoryMaxLimit})
	recs := r.(*messages.BalanceHistoryReply).Records
	out := make([]string, len(recs))
	for i, rec := range recs {
		out[len(recs)-1-i] = rec.Change
	}
	return out
}

func stop(t testing.TB, n *runtime.Node) {
	t.Helper()
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// copyDir copies a stopped node's data directory (cp -a: a file-level
// backup).
func copyDir(t testing.TB, from, to string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", from, to).CombinedOutput(); err != nil {
		t.Fatalf("cp -a %s %s: %v: %s", from, to, err, out)
	}
}

// TestRestoredDataDirWithHistoryAhead: a data directory restored from a
// file-level backup while the history stays in MySQL, ahead of the
// restored journal. The records the restored node writes must reach the
// history, and the rows of the discarded records must go (or the node must
// refuse to start): never the old rows kept and the new ones skipped with
// lag 0.
func TestRestoredDataDirWithHistoryAhead(t *testing.T) {
	cfg := storesConfig(t, testenv.MySQLDatabase(t), "")
	dir := filepath.Join(t.TempDir(), "node")
	n, _ := mustStart(t, cfg, dir, "")
	deposit(t, n, 1, 1)
	waitStores(t, n, 10*time.Second)
	stop(t, n)
	backup := filepath.Join(t.TempDir(), "backup")
	copyDir(t, dir, backup)

	n, _ = mustStart(t, cfg, dir, "")
	deposit(t, n, 2, 2)
	deposit(t, n, 3, 3)
	waitStores(t, n, 10*time.Second)
	stop(t, n)

	// Restore: the backup replaces the data directory; history stays.
	os.RemoveAll(dir)
	copyDir(t, backup, dir)
	n, _, err := startWithStores(cfg, dir, "")
	if err != nil {
		t.Logf("restored node refused to start: %v", err)
		return
	}
	defer n.Shutdown(context.Background())
	for id := uint64(4); id <= 7; id++ {
		deposit(t, n, id, int(id))
	}
	deadline := time.Now().Add(10 * time.Second)
	want := []string{"1", "4", "5", "6", "7"}
	for {
		got := deposits(t, n)
		if fmt.Sprint(got) == fmt.Sprint(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("history after restore: deposits %v; want %v (followers %+v, journal at %d)", got, want, n.Feed.Followers(), n.Journal.LastLSN())
		}
		time.Sleep(20 * time.Millisecond)
	}
	waitStores(t, n, 10*time.Second)
}

// TestFreshExchangeUsedRedis: a new exchange pointed at a Redis database
// another node used must not answer that node's market data.
func TestFreshExchangeUsedRedis(t *testing.T) {
	addr := testenv.RedisAddr(t)
	const db = 9
	c := redis.NewClient(&redis.Options{Addr: addr, DB: db})
	defer c.Close()
	if err := c.FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.FlushDB(context.Background()) })
	cfg := storesConfig(t, "", fmt.Sprintf("redis://%s/%d", addr, db))
	m := cfg.Market("BTCUSDT").ID

	a, _ := mustStart(t, cfg, filepath.Join(t.TempDir(), "a"), "")
	trade(t, a, "100")
	trade(t, a, "101")
	waitStores(t, a, 10*time.Second)
	if r := do(t, a, &messages.MarketLast{Market: m}).(*messages.MarketLastReply); r.Price != units("101", 2) {
		t.Fatalf("node a: market.last = %d", r.Price)
	}
	stop(t, a)

	b, _, err := startWithStores(cfg, filepath.Join(t.TempDir(), "b"), "")
	if err != nil {
		t.Logf("new node refused to start: %v", err)
		return
	}
	defer b.Shutdown(context.Background())
	deposit(t, b, 1, 1)
	waitStores(t, b, 10*time.Second)
	if r := do(t, b, &messages.MarketLast{Market: m}); !isPrice(r, 0) {
		t.Errorf("new node: market.last = %#v; want 0 (never traded here)", r)
	}
	if r, ok := do(t, b, &messages.MarketDeals{Market: m, Limit: 100}).(*messages.MarketDealsReply); !ok || len(r.Deals) != 0 {
		t.Errorf("new node: market.deals = %#v; want none", r)
	}
	trade(t, b, "50")
	waitStores(t, b, 10*time.Second)
	if r := do(t, b, &messages.MarketLast{Market: m}); !isPrice(r, units("50", 2)) {
		t.Errorf("new node after its trade: market.last = %#v; want 50", r)
	}
	if r, ok := do(t, b, &messages.MarketDeals{Market: m, Limit: 100}).(*messages.MarketDealsReply); !ok || len(r.Deals) != 1 {
		t.Errorf("new node after its trade: market.deals = %#v; want its one deal", r)
	}
}

func isPrice(r messages.Reply, p int64) bool {
	l, ok := r.(*messages.MarketLastReply)
	return ok && l.Price == p
}

// TestDataDirWithoutItsMySQLJournal: a node whose journal is in MySQL,
// restarted without it (or with another MySQL journal), must refuse to
// start, saying which journal it expects; with its journal it starts.
func TestDataDirWithoutItsMySQLJournal(t *testing.T) {
	journal := testenv.MySQLJournal(t)
	cfg := storesConfig(t, "", "")
	dir := filepath.Join(t.TempDir(), "node")
	n, _ := mustStart(t, cfg, dir, journal)
	deposit(t, n, 1, 1)
	deposit(t, n, 2, 2)
	waitStores(t, n, 10*time.Second)
	stop(t, n)

	for _, c := range []struct{ name, dsn string }{{"none", ""}, {"another", testenv.MySQLJournal(t)}} {
		n, _, err := startWithStores(cfg, dir, c.dsn)
		if err == nil {
			got := deposits(t, n)
			n.Shutdown(context.Background())
			t.Fatalf("%s: the node started on %s with journal %q (history %v)", c.name, dir, c.dsn, got)
		}
		if !strings.Contains(err.Error(), "mysql") || !strings.Contains(err.Error(), "belongs to") {
			t.Errorf("%s: refused with %q; want a message naming the MySQL journal it belongs to", c.name, err)
		}
		t.Logf("%s: %v", c.name, err)
	}
	n, _ = mustStart(t, cfg, dir, journal)
	defer stop(t, n)
	deposit(t, n, 3, 3)
	waitStores(t, n, 10*time.Second)
	if got := deposits(t, n); fmt.Sprint(got) != "[1 2 3]" {
		t.Errorf("with its journal: deposits %v; want [1 2 3]", got)
	}
}

// TestHistoryOfAnotherJournal: a new exchange pointed at a MySQL history
// another exchange filled must not mix the two (on the old code its first
// records were dropped as "already stored"): it is refused, naming both.
func TestHistoryOfAnotherJournal(t *testing.T) {
	cfg := storesConfig(t, testenv.MySQLDatabase(t), "")
	a, _ := mustStart(t, cfg, filepath.Join(t.TempDir(), "a"), "")
	for id := uint64(1); id <= 3; id++ {
		deposit(t, a, id, int(id))
	}
	waitStores(t, a, 10*time.Second)
	stop(t, a)

	b, _, err := startWithStores(cfg, filepath.Join(t.TempDir(), "b"), "")
	if err != nil {
		if !strings.Contains(err.Error(), "does not belong to this journal") {
			t.Errorf("refused with %q; want a message saying the history belongs to another journal", err)
		}
		t.Log(err)
		return
	}
	defer b.Shutdown(context.Background())
	deposit(t, b, 7, 7)
	deposit(t, b, 8, 8)
	time.Sleep(500 * time.Millisecond)
	t.Fatalf("the new exchange started on the other's history: user 1's deposits %v (followers %+v)", deposits(t, b), b.Feed.Followers())
}
