package largetest_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/actors/balance/ledger"
	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/bourse-exchange/bourse/actors/journal"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/testenv"
	"github.com/bourse-exchange/bourse/internal/testnode"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/messages/codec"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
	"github.com/bourse-exchange/bourse/persistence/snapshot"
	"github.com/bourse-exchange/bourse/runtime"
	"github.com/go-sql-driver/mysql"
	"github.com/holiman/uint256"
)

func units(s string, scale int) int64 {
	v, _, err := fixed.ParseInt64(s, scale)
	if err != nil {
		panic(err)
	}
	return v
}

func save(s string) uint256.Int {
	u, _, err := fixed.Parse(s, 12)
	if err != nil {
		panic(err)
	}
	return u
}

// startAt starts a node on the journal under dir, or in MySQL at dsn if set;
// its markets are told the time only by Node.Tick.
func startAt(t *testing.T, cfg *config.Config, dir, dsn string, mode journal.Mode) *runtime.Node {
	t.Helper()
	return testnode.Start(t, cfg, runtime.Options{
		DataDir: dir, JournalDSN: dsn,
		Journal: journal.Options{Mode: mode}, TickInterval: -1,
	})
}

// largeMakers is how many resting orders each large command consumes.
const largeMakers = 400_000

// The large commands' users and clock.
const (
	largeTaker = 10 // sweeps BTCUSDT
	largeOwner = 5  // 400k bids in ETHUSDT under a dead-man's switch
	largeNow   = int64(1_700_000_000_000_000)
)

var largeMakerUsers = []uint32{1, 2, 3, 4} // 100k asks each in BTCUSDT

// TestLargeCommands: commands whose one journal record is far larger than
// a segment-file frame or a MySQL row may be — a market order sweeping
// 400,000 makers, a dead-man's switch cancelling 400,000 orders — are
// journaled as chunks by the journal writer on both backends and recovered
// exactly: the state hash after recovery from the segment files equals the
// live one, and the MySQL journal reads back the same records. The
// commands are decided by the cores and appended to a writer per backend as
// the actors do, without the actors, and the state is built once: through
// nodes, with a restart on each backend, this takes minutes under the race
// detector (TestLargeCommandsNode, with BOURSE_TEST_LARGE=1).
func TestLargeCommands(t *testing.T) {
	var dsn string
	if os.Getenv(testenv.MySQLVar) != "" || testenv.Required() {
		dsn = testenv.MySQLJournal(t)
	}
	largeCommandsCores(t, dsn)
}

// TestLargeCommandsNode is TestLargeCommands through a node: the commands
// go through the router and the actors, and the restarted node's state
// hash equals the live one. Set BOURSE_TEST_LARGE=1 to run it (about
// 2 minutes per backend under the race detector).
func TestLargeCommandsNode(t *testing.T) {
	if os.Getenv("BOURSE_TEST_LARGE") != "1" {
		t.Skip("BOURSE_TEST_LARGE=1 runs it")
	}
	for _, backend := range []string{"files", "mysql"} {
		t.Run(backend, func(t *testing.T) {
			var dsn string
			if backend == "mysql" {
				dsn = testenv.MySQLJournal(t)
			}
			largeCommandsNode(t, dsn)
		})
	}
}

// largeState builds the state before the large commands and stores it as
// a snapshot under dir: the deposits as record 1, then the resting orders
// as if record 2 — decided by the books and applied to the ledgers as
// replay does (placing them one by one through a node would take minutes
// under the race detector).
func largeState(t *testing.T, dir string) (*config.Config, *runtime.State) {
	cfg, err := config.Parse(config.Default)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range cfg.Markets {
		m.MaxOpenOrders = 2 * largeMakers
	}
	btcusdt, ethusdt := cfg.Market("BTCUSDT"), cfg.Market("ETHUSDT")
	btc, usdt := cfg.Asset("BTC").ID, cfg.Asset("USDT").ID
	s := runtime.NewState(cfg)
	var deposits []messages.Event
	deposit := func(user uint32, asset messages.AssetID, amount string) {
		deposits = append(deposits, &messages.BalanceUpdated{User: user, Asset: asset, Business: "deposit",
			BusinessID: uint64(user)<<16 | uint64(asset), Change: save(amount), Time: largeNow})
	}
	for _, u := range largeMakerUsers {
		deposit(u, btc, "100")
	}
	deposit(largeTaker, usdt, "100000")
	deposit(largeOwner, usdt, "100000")
	if err := s.Apply(pj.Record{LSN: 1, Events: deposits}); err != nil {
		t.Fatal(err)
	}
	place := func(m *config.Market, cmd messages.PutLimit, user func(i int) uint32, price func(i int) int64) {
		b := s.Books[m.ID]
		for i := 0; i < largeMakers; i++ {
			cmd.User, cmd.Price, cmd.Time = user(i), price(i), largeNow+int64(i)
			events, _, err := b.Execute(&cmd)
			if err != nil {
				t.Fatalf("%s order %d: %v", m.Name, i, err)
			}
			applyLedgers(s, events)
		}
	}
	place(btcusdt, messages.PutLimit{Market: btcusdt.ID, Side: messages.Ask, Amount: units("0.0001", 8), TakerFee: 20, MakerFee: 10, Source: "maker"},
		func(i int) uint32 { return largeMakerUsers[i%len(largeMakerUsers)] },
		func(i int) int64 { return 100_00 + int64(i%100) })
	place(ethusdt, messages.PutLimit{Market: ethusdt.ID, Side: messages.Bid, Amount: units("0.001", 8), TakerFee: 20, MakerFee: 10, Source: "switch"},
		func(int) uint32 { return largeOwner },
		func(i int) int64 { return 10_00 - int64(i%100) })
	s.LastLSN = 2
	if _, err := snapshot.Write(runtime.SnapshotDir(dir), s.File()); err != nil {
		t.Fatal(err)
	}
	return cfg, s
}

// applyLedgers applies events the books decided to the ledgers, as replay
// does (an OrderPlaced freezes its reservation).
func applyLedgers(s *runtime.State, events []messages.Event) {
	for _, l := range s.Ledgers {
		for _, ev := range events {
			l.Apply(ev, ledger.Replay)
		}
	}
}

// largeCommandsCores decides the three commands — arm the switch, the
// sweep, the switch firing — with the cores of a state built by
// largeState, appends their events to a journal writer on segment files
// and, if dsn is set, one on MySQL, as the actors do, and recovers from
// each.
func largeCommandsCores(t *testing.T, dsn string) {
	t0 := time.Now()
	dir := t.TempDir()
	cfg, s := largeState(t, dir)
	setup := s.LastLSN
	t.Logf("%d resting orders in a snapshot at LSN %d: %s", 2*largeMakers, setup, time.Since(t0).Round(time.Millisecond))
	btcusdt, ethusdt := cfg.Market("BTCUSDT"), cfg.Market("ETHUSDT")
	files, _, err := pj.OpenFiles(runtime.JournalDir(dir), 0, setup, nil)
	if err != nil {
		t.Fatal(err)
	}
	writers := []*journal.Journal{journal.Start(files, nil, journal.Options{Mode: journal.Sync})}
	if dsn != "" {
		m, _, err := pj.OpenMySQL(dsn, setup, nil)
		if err != nil {
			t.Fatal(err)
		}
		writers = append(writers, journal.Start(m, nil, journal.Options{Mode: journal.Sync}))
	}
	commit := func(events []messages.Event) {
		t.Helper()
		applyLedgers(s, events)
		for _, j := range writers {
			if lsn := j.Append(events); lsn != s.LastLSN+1 {
				t.Fatalf("appended at LSN %d; want %d", lsn, s.LastLSN+1)
			}
		}
		s.LastLSN++
	}
	t1 := time.Now()
	events, _, e := s.Books[ethusdt.ID].Execute(&messages.CancelAfter{User: largeOwner, Market: ethusdt.ID, Timeout: 10e6, Time: largeNow})
	if e != nil {
		t.Fatal(e)
	}
	commit(events)
	events, o, e := s.Books[btcusdt.ID].Execute(&messages.PutMarket{User: largeTaker, Market: btcusdt.ID, Side: messages.Bid,
		Amount: units("10000", 2), TakerFee: 20, Source: "sweep", Time: largeNow + 1})
	if want := largeMakers * units("0.0001", 8); e != nil || o.DealStock != want {
		t.Fatalf("the sweep: %v, %+v; want %d bought", e, o, want)
	}
	commit(events)
	events = s.Books[ethusdt.ID].Expire(largeNow + 10e6)
	if len(events) < largeMakers {
		t.Fatalf("the switch fired %d events; want one per order", len(events))
	}
	commit(events)
	for _, j := range writers {
		if _, err := j.Barrier(); err != nil {
			t.Fatalf("journal: %v", err)
		}
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("sweep of %d makers and switch cancelling %d orders journaled in %s", largeMakers, largeMakers, time.Since(t1).Round(time.Millisecond))
	live := s.Hash()
	t1 = time.Now()
	rs, b, err := runtime.Recover(cfg, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	if rs.Snapshot != setup || rs.Recovery.Records != 3 || rs.LastLSN != s.LastLSN {
		t.Fatalf("recovery: snapshot %d, %+v; want the snapshot at %d and the 3 records after it", rs.Snapshot, rs.Recovery, setup)
	}
	if got := rs.Hash(); got != live {
		t.Fatalf("state hash after recovery %s != live %s", got, live)
	}
	if bad := rs.Check(); len(bad) > 0 {
		t.Fatalf("invariants after recovery: %v", bad)
	}
	t.Logf("recovery from segment files %s", time.Since(t1).Round(time.Millisecond))
	if dsn == "" {
		return
	}
	// Recovery replays whatever records its backend reads through the same
	// State.Apply: the MySQL journal recovers the same state if it reads
	// back the same records, event for event, as the segment files
	// (TestLargeCommandsNode restarts a node on each backend in full).
	mysqlChunks(t, dsn, setup+2)
	t1 = time.Now()
	digest := func(read func(func(pj.Record) error) error) (string, int) {
		h, n := sha256.New(), 0
		err := read(func(r pj.Record) error {
			fmt.Fprintf(h, "record %d %d\n", r.LSN, len(r.Events))
			for _, ev := range r.Events {
				h.Write(codec.Append(nil, ev))
			}
			n++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return hex.EncodeToString(h.Sum(nil)), n
	}
	fromFiles, n := digest(func(fn func(pj.Record) error) error {
		return pj.ReadFiles(runtime.JournalDir(dir), setup, s.LastLSN, fn)
	})
	fromMySQL, m := digest(func(fn func(pj.Record) error) error {
		_, err := pj.ScanMySQL(dsn, setup, fn)
		return err
	})
	if n != 3 || m != 3 || fromFiles != fromMySQL {
		t.Fatalf("MySQL journal: %d records, digest %s; segment files: %d records, digest %s", m, fromMySQL, n, fromFiles)
	}
	t.Logf("MySQL journal read back, equal to the segment files' records: %s", time.Since(t1).Round(time.Millisecond))
	t.Logf("total %s", time.Since(t0).Round(time.Millisecond))
}

// largeCommandsNode is largeCommandsCores through a node.
func largeCommandsNode(t *testing.T, dsn string) {
	t0 := time.Now()
	dir := t.TempDir()
	cfg, s := largeState(t, dir)
	setup := s.LastLSN
	t.Logf("%d resting orders in a snapshot at LSN %d: %s", 2*largeMakers, setup, time.Since(t0).Round(time.Millisecond))
	btcusdt, ethusdt := cfg.Market("BTCUSDT"), cfg.Market("ETHUSDT")
	const (
		taker = largeTaker
		owner = largeOwner
		now   = largeNow
	)
	makers := largeMakerUsers

	// The router's default timeout is for ordinary commands: give these
	// (and the state hashes) the time the race detector needs.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	do := func(t *testing.T, n *runtime.Node, cmd messages.Command) messages.Reply {
		t.Helper()
		r, err := n.Router.Do(ctx, cmd)
		if err != nil {
			t.Fatalf("%T: %v", cmd, err)
		}
		return r
	}
	n := startAt(t, cfg, dir, dsn, journal.Sync)
	r := do(t, n, &messages.CancelAfter{User: owner, Market: ethusdt.ID, Timeout: 10e6, Time: now})
	if a, ok := r.(*messages.CancelAfterReply); !ok || a.Deadline != now+10e6 {
		t.Fatalf("cancel_all_after: %#v", r)
	}
	t1 := time.Now()
	r = do(t, n, &messages.PutMarket{User: taker, Market: btcusdt.ID, Side: messages.Bid, Amount: units("10000", 2),
		TakerFee: 20, Source: "sweep", Time: now + 1})
	o, ok := r.(*messages.OrderReply)
	if want := largeMakers * units("0.0001", 8); !ok || o.Order.DealStock != want {
		t.Fatalf("the sweep: %#v; want %d bought", r, want)
	}
	t.Logf("sweep of %d makers acknowledged in %s", largeMakers, time.Since(t1).Round(time.Millisecond))
	t1 = time.Now()
	n.Tick(time.UnixMicro(now + 10e6))
	open := func(n *runtime.Node, user uint32, m *config.Market) int {
		l, ok := do(t, n, &messages.OrderPending{User: user, Market: m.ID, Limit: 1}).(*messages.OrderListReply)
		if !ok {
			t.Fatal("order.pending failed")
		}
		return l.Total
	}
	if got := open(n, owner, ethusdt); got != 0 {
		t.Fatalf("after the switch fired: %d open orders; want 0", got)
	}
	// A write command's reply is released once everything journaled
	// before it is durable: the switch's record included.
	if r := do(t, n, &messages.Cancel{User: owner, Market: ethusdt.ID, OrderID: 1}); r == nil {
		t.Fatal("no reply")
	}
	if n.Journal.Failed() {
		t.Fatal("the journal failed")
	}
	t.Logf("switch cancelling %d orders fired and durable in %s", largeMakers, time.Since(t1).Round(time.Millisecond))
	bal, ok := do(t, n, &messages.BalanceQuery{User: owner}).(*messages.BalanceQueryReply)
	if !ok {
		t.Fatal("balance.query failed")
	}
	for i, b := range bal.Balances {
		if !b.Frozen.IsZero() {
			t.Fatalf("asset %d: %s frozen after the switch fired", bal.Assets[i], b.Frozen.Dec())
		}
	}
	live, err := n.Router.StateHash(ctx)
	if err != nil {
		t.Fatal(err)
	}
	last := n.Journal.LastLSN()
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	// The journal after the snapshot: the switch armed, the sweep (a trade
	// and a finished maker per maker), the switch firing (a cancel per
	// order) — read by the followers' reader.
	var sizes []int
	read := func(r pj.Record) error { sizes = append(sizes, len(r.Events)); return nil }
	if dsn == "" {
		err = pj.ReadFiles(runtime.JournalDir(dir), setup, last, read)
	} else {
		var m *pj.MySQL
		if m, _, err = pj.OpenMySQL(dsn, last, nil); err == nil {
			err = m.Read(setup, last, read)
			m.Close()
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(sizes) != 3 || sizes[1] < 2*largeMakers || sizes[2] < largeMakers {
		t.Fatalf("records after the snapshot have %v events; want 3 records: the switch armed, the sweep, the switch firing", sizes)
	}
	if dsn != "" {
		mysqlChunks(t, dsn, setup+2)
	}

	t1 = time.Now()
	n = startAt(t, cfg, dir, dsn, journal.Sync)
	defer n.Shutdown(context.Background())
	if n.Recovered.Records != 3 || n.Recovered.LastLSN != last {
		t.Fatalf("restart replayed %+v; want the 3 records after the snapshot", n.Recovered)
	}
	again, err := n.Router.StateHash(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again != live {
		t.Fatalf("state hash after restart %s != live %s", again, live)
	}
	for _, u := range makers {
		if got := open(n, u, btcusdt); got != 0 {
			t.Fatalf("maker %d has %d open orders after the sweep and a restart", u, got)
		}
	}
	t.Logf("restart (snapshot and the journal after it) %s; total %s", time.Since(t1).Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))
}

// mysqlChunks checks that the record at lsn is stored as several rows, none
// near max_allowed_packet.
func mysqlChunks(t *testing.T, dsn string, lsn uint64) {
	t.Helper()
	cfg, table, err := pj.ParseMySQLDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	var rows, largest, packet int
	if err := db.QueryRow("SELECT COUNT(*), MAX(LENGTH(body)), @@max_allowed_packet FROM `"+table+"` WHERE lsn = ?", lsn).Scan(&rows, &largest, &packet); err != nil {
		t.Fatal(err)
	}
	if rows < 2 || largest > 1<<20 || largest > packet/4 {
		t.Fatalf("record %d: %d rows, the largest %d bytes (max_allowed_packet %d)", lsn, rows, largest, packet)
	}
	t.Logf("the sweep's record: %d rows of at most %d bytes", rows, largest)
}
