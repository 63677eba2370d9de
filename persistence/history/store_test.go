package history

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/persistence/derive"
	"github.com/holiman/uint256"
)

// testConfig has precisions that all differ, so that a value stored at the
// wrong scale shows, and an asset with prec_save 36.
const testConfig = `
assets:
  - { name: BTC,  prec_save: 14, prec_show: 8 }
  - { name: USDT, prec_save: 12, prec_show: 6 }
  - { name: WEI,  prec_save: 36 }
markets:
  - { name: BTCUSDT, stock: BTC, money: USDT, stock_prec: 6, money_prec: 2, fee_prec: 4, min_amount: "0.0001" }
`

func loadConfig(t testing.TB) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(testConfig))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func u256(s string) uint256.Int {
	var u uint256.Int
	if err := u.SetFromDecimal(s); err != nil {
		panic(err)
	}
	return u
}

const (
	btc, usdt, wei = messages.AssetID(0), messages.AssetID(1), messages.AssetID(2)
	t0             = int64(1700000000_000000)
)

// Order ids as the book makes them (seq << 10 | market).
const (
	ask1 = 1<<10 | 0
	bid2 = 2<<10 | 0
	mkt3 = 3<<10 | 0
	ask4 = 4<<10 | 0
)

// session is a small derived journal, written by hand: deposits, a resting
// ask filled in part by a bid, the ask's cancel, a market buy that found
// nothing, a cancel without fills, a withdrawal and a balance too wide for
// any SQL DECIMAL.
func session() []derive.Record {
	ask := messages.Order{ID: ask1, Type: messages.Limit, Side: messages.Ask, User: 2, CTime: t0 + 3, MTime: t0 + 3,
		Price: 10050, Amount: 2000000, TakerFee: 20, MakerFee: 10, Left: 2000000, Source: "web"}
	askFilled := ask
	askFilled.Left, askFilled.DealStock, askFilled.MTime = 500000, 1500000, t0+4
	askFilled.DealMoney, askFilled.DealFee = u256("150750000000000"), u256("150750000000") // 150.75, 0.15075 USDT
	askCancelled := askFilled
	askCancelled.MTime = t0 + 5
	bid := messages.Order{ID: bid2, Type: messages.Limit, Side: messages.Bid, User: 1, CTime: t0 + 4, MTime: t0 + 4,
		Price: 10100, Amount: 1500000, TakerFee: 20, MakerFee: 10, DealStock: 1500000,
		DealMoney: u256("150750000000000"), DealFee: u256("300000000000"), Source: `a"b\c`} // 0.003 BTC
	trade := &messages.Trade{DealID: 1 << 10, Time: t0 + 4, TakerSide: messages.Bid, AskOrder: ask1, BidOrder: bid2,
		AskUser: 2, BidUser: 1, Price: 10050, Amount: 1500000, Stock: btc, Money: usdt,
		StockQty: u256("150000000000000"), Deal: u256("150750000000000"),
		AskFee: u256("150750000000"), BidFee: u256("300000000000"), BidFrozen: u256("151500000000000")}
	market := messages.Order{ID: mkt3, Type: messages.Market, Side: messages.Bid, User: 1, CTime: t0 + 6, MTime: t0 + 6,
		Amount: 5000, TakerFee: 30, MakerFee: 7, Frozen: u256("50000000000000"), Source: "api"}
	ask4o := messages.Order{ID: ask4, Type: messages.Limit, Side: messages.Ask, User: 2, CTime: t0 + 6, MTime: t0 + 7,
		Price: 99, Amount: 1, TakerFee: 1, MakerFee: 2, Left: 1}
	return []derive.Record{
		{LSN: 1, Balances: []derive.BalanceChange{{Time: t0 + 1, User: 1, Asset: usdt, Business: "deposit",
			Change: u256("1000000000000000"), Balance: u256("1000000000000000"), Detail: []byte(`{"id":1}`), Update: true}}},
		{LSN: 2, Balances: []derive.BalanceChange{{Time: t0 + 2, User: 2, Asset: btc, Business: "deposit",
			Change: u256("1000000000000000"), Balance: u256("1000000000000000"), Detail: []byte(`{"id":7,"note":"x"}`), Update: true}}},
		{LSN: 3, Orders: []derive.OrderChange{{Event: derive.OrderPut, Order: ask}}},
		{LSN: 4,
			Balances: []derive.BalanceChange{
				{Time: t0 + 4, User: 1, Asset: usdt, Business: "trade", Change: u256("150750000000000"), Negative: true,
					Balance: u256("849250000000000"), Detail: []byte(`{"a":"1.5","i":2048,"m":"BTCUSDT","p":"100.5"}`)},
				{Time: t0 + 4, User: 2, Asset: usdt, Business: "trade", Change: u256("150750000000"), Negative: true,
					Balance: u256("150599250000000"), Detail: []byte(`{"a":"1.5","f":"0.001","i":1024,"m":"BTCUSDT","p":"100.5"}`)},
			},
			Orders: []derive.OrderChange{{Event: derive.OrderUpdate, Order: askFilled}, {Event: derive.OrderFinish, Order: bid}},
			Deals:  []*messages.Trade{trade}},
		{LSN: 5, Orders: []derive.OrderChange{{Event: derive.OrderFinish, Order: askCancelled}}},
		{LSN: 6, Orders: []derive.OrderChange{{Event: derive.OrderFinish, Order: market}}},
		{LSN: 7, Orders: []derive.OrderChange{{Event: derive.OrderFinish, Order: ask4o}}},
		{LSN: 8, Balances: []derive.BalanceChange{
			{Time: t0 + 8, User: 1, Asset: usdt, Business: "withdraw", Change: u256("7500000000000"), Negative: true,
				Balance: u256("841750000000000"), Detail: []byte(`{"id":2}`), Update: true},
			{Time: t0 + 8, User: 3, Asset: wei, Business: "deposit",
				Change:  u256("123456789012345678901234567890123456789012"),
				Balance: u256("123456789012345678901234567890123456789012"), Detail: []byte(`not json`), Update: true},
		}},
	}
}

// The rows session must produce, written out by hand.
var (
	wantBid = messages.FinishedOrder{ID: bid2, CTime: t0 + 4, FTime: t0 + 4, User: 1, Market: "BTCUSDT", Source: `a"b\c`,
		Type: messages.Limit, Side: messages.Bid, Price: "101", Amount: "1.5", TakerFee: "0.002", MakerFee: "0.001",
		DealStock: "1.5", DealMoney: "150.75", DealFee: "0.003"}
	wantAsk = messages.FinishedOrder{ID: ask1, CTime: t0 + 3, FTime: t0 + 5, User: 2, Market: "BTCUSDT", Source: "web",
		Type: messages.Limit, Side: messages.Ask, Price: "100.5", Amount: "2", TakerFee: "0.002", MakerFee: "0.001",
		DealStock: "1.5", DealMoney: "150.75", DealFee: "0.15075"}
	wantMarket = messages.FinishedOrder{ID: mkt3, CTime: t0 + 6, FTime: t0 + 6, User: 1, Market: "BTCUSDT", Source: "api",
		Type: messages.Market, Side: messages.Bid, Price: "0", Amount: "50", TakerFee: "0.003", MakerFee: "0",
		DealStock: "0", DealMoney: "0", DealFee: "0"}
	wantAsk4 = messages.FinishedOrder{ID: ask4, CTime: t0 + 6, FTime: t0 + 7, User: 2, Market: "BTCUSDT", Source: "",
		Type: messages.Limit, Side: messages.Ask, Price: "0.99", Amount: "0.000001", TakerFee: "0.0001", MakerFee: "0.0002",
		DealStock: "0", DealMoney: "0", DealFee: "0"}
	wantAskDeal = messages.DealRecord{Time: t0 + 4, User: 2, ID: 1 << 10, OrderID: ask1, DealOrderID: bid2, Market: "BTCUSDT",
		Side: messages.Ask, Role: messages.Maker, Price: "100.5", Amount: "1.5", Deal: "150.75", Fee: "0.15075", DealFee: "0.003"}
	wantBidDeal = messages.DealRecord{Time: t0 + 4, User: 1, ID: 1 << 10, OrderID: bid2, DealOrderID: ask1, Market: "BTCUSDT",
		Side: messages.Bid, Role: messages.Taker, Price: "100.5", Amount: "1.5", Deal: "150.75", Fee: "0.003", DealFee: "0.15075"}
)

func query(t *testing.T, s *Store, cmd messages.Command) messages.Reply {
	t.Helper()
	rep, err := s.Query(context.Background(), cmd)
	if err != nil {
		t.Fatalf("Query(%T) error %v", cmd, err)
	}
	if e, ok := rep.(*messages.ErrorReply); ok {
		t.Fatalf("Query(%#v) = error %v", cmd, e.Err)
	}
	return rep
}

func TestStoreSession(t *testing.T) {
	EachBackend(t, func(t *testing.T, b Backend) {
		s := b.Open(t, b.Options(loadConfig(t)))
		ctx := context.Background()
		if c, err := s.Cursor(ctx); err != nil || c != 0 {
			t.Fatalf("Cursor() = %d, %v; want 0", c, err)
		}
		recs := session()
		if err := s.Apply(ctx, recs[:3]); err != nil {
			t.Fatal(err)
		}
		if err := s.Apply(ctx, recs[3:]); err != nil {
			t.Fatal(err)
		}
		if c, err := s.Cursor(ctx); err != nil || c != 8 {
			t.Fatalf("Cursor() = %d, %v; want 8", c, err)
		}

		fo := query(t, s, &messages.FinishedOrders{User: 1, Market: "BTCUSDT", Limit: 10}).(*messages.FinishedOrdersReply)
		if want := []messages.FinishedOrder{wantMarket, wantBid}; !reflect.DeepEqual(fo.Records, want) {
			t.Errorf("order.finished user 1 = %+v; want %+v", fo.Records, want)
		}
		fo = query(t, s, &messages.FinishedOrders{User: 2, Market: "BTCUSDT", Limit: 10}).(*messages.FinishedOrdersReply)
		if want := []messages.FinishedOrder{wantAsk4, wantAsk}; !reflect.DeepEqual(fo.Records, want) {
			t.Errorf("order.finished user 2 = %+v; want %+v", fo.Records, want)
		}
		for _, w := range []messages.FinishedOrder{wantBid, wantAsk, wantMarket, wantAsk4} {
			d := query(t, s, &messages.FinishedOrderDetail{OrderID: w.ID}).(*messages.FinishedOrderDetailReply)
			if d.Order == nil || *d.Order != w {
				t.Errorf("order.finished_detail %d = %+v; want %+v", w.ID, d.Order, w)
			}
		}
		if d := query(t, s, &messages.FinishedOrderDetail{OrderID: 99}).(*messages.FinishedOrderDetailReply); d.Order != nil {
			t.Errorf("order.finished_detail 99 = %+v; want nil", d.Order)
		}

		for _, tc := range []struct {
			cmd  messages.Command
			want []messages.DealRecord
		}{
			{&messages.OrderDeals{OrderID: ask1, Limit: 10}, []messages.DealRecord{wantAskDeal}},
			{&messages.OrderDeals{OrderID: bid2, Limit: 10}, []messages.DealRecord{wantBidDeal}},
			{&messages.OrderDeals{OrderID: mkt3, Limit: 10}, []messages.DealRecord{}},
			{&messages.UserDeals{User: 1, Market: "BTCUSDT", Limit: 10}, []messages.DealRecord{wantBidDeal}},
			{&messages.UserDeals{User: 2, Market: "BTCUSDT", Limit: 10}, []messages.DealRecord{wantAskDeal}},
			{&messages.UserDeals{User: 2, Market: "btcusdt", Limit: 10}, []messages.DealRecord{}}, // exact names
		} {
			got := query(t, s, tc.cmd).(*messages.DealHistoryReply)
			if !reflect.DeepEqual(got.Records, tc.want) {
				t.Errorf("%#v = %+v; want %+v", tc.cmd, got.Records, tc.want)
			}
		}

		bh := query(t, s, &messages.BalanceHistory{User: 1, Limit: 10}).(*messages.BalanceHistoryReply)
		want := []messages.BalanceRecord{
			{Time: t0 + 8, Asset: "USDT", Business: "withdraw", Change: "-7.5", Balance: "841.75", Detail: []byte(`{"id":2}`)},
			{Time: t0 + 4, Asset: "USDT", Business: "trade", Change: "-150.75", Balance: "849.25", Detail: []byte(`{"a":"1.5","i":2048,"m":"BTCUSDT","p":"100.5"}`)},
			{Time: t0 + 1, Asset: "USDT", Business: "deposit", Change: "1000", Balance: "1000", Detail: []byte(`{"id":1}`)},
		}
		if !reflect.DeepEqual(bh.Records, want) {
			t.Errorf("balance.history user 1 = %s; want %s", fmtBalances(bh.Records), fmtBalances(want))
		}
		bh = query(t, s, &messages.BalanceHistory{User: 3, Asset: "WEI", Limit: 10}).(*messages.BalanceHistoryReply)
		want = []messages.BalanceRecord{{Time: t0 + 8, Asset: "WEI", Business: "deposit",
			Change: "123456.789012345678901234567890123456789012", Balance: "123456.789012345678901234567890123456789012",
			Detail: []byte(`not json`)}}
		if !reflect.DeepEqual(bh.Records, want) {
			t.Errorf("balance.history user 3 = %s; want %s", fmtBalances(bh.Records), fmtBalances(want))
		}

		// Rows: 4 finished orders, 2 deal rows, 6 balance changes, each
		// with the LSN of its record.
		db := b.Raw(t)
		tt := tableNames(b.Prefix)
		for table, n := range map[string]int{tt.orders: 4, tt.deals: 2, tt.balances: 6} {
			if got := b.Count(t, db, table); got != n {
				t.Errorf("%s has %d rows; want %d", table, got, n)
			}
		}
		var lsn int64
		if err := db.QueryRow("SELECT `lsn` FROM "+q(tt.orders)+" WHERE `id` = ?", ask1).Scan(&lsn); err != nil || lsn != 5 {
			t.Errorf("order %d lsn = %d, %v; want 5", ask1, lsn, err)
		}
	})
}

func fmtBalances(rs []messages.BalanceRecord) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "\n  {%d %s %s %s %s %s}", r.Time, r.Asset, r.Business, r.Change, r.Balance, r.Detail)
	}
	return b.String()
}

// TestApplyFollowsCursor: a batch that does not follow the stored cursor —
// a gap, a repeat, a hole inside — fails with ErrNotNext and writes
// nothing; with AllowSkips a gap (only) is stored and noted.
func TestApplyFollowsCursor(t *testing.T) {
	EachBackend(t, func(t *testing.T, b Backend) {
		cfg := loadConfig(t)
		s := b.Open(t, b.Options(cfg))
		ctx := context.Background()
		recs := session()
		db := b.Raw(t)
		tt := tableNames(b.Prefix)
		rows := func() int { return b.Count(t, db, tt.orders) + b.Count(t, db, tt.deals) + b.Count(t, db, tt.balances) }
		for _, tc := range []struct {
			name  string
			batch []derive.Record
		}{
			{"gap", recs[1:4]},
			{"hole", []derive.Record{recs[0], recs[2]}},
		} {
			if err := s.Apply(ctx, tc.batch); !errors.Is(err, ErrNotNext) {
				t.Errorf("%s: Apply = %v; want ErrNotNext", tc.name, err)
			}
		}
		if n := rows(); n != 0 {
			t.Fatalf("%d rows written by refused batches", n)
		}
		if err := s.Apply(ctx, recs[:4]); err != nil {
			t.Fatal(err)
		}
		before := rows()
		for _, batch := range [][]derive.Record{recs[3:6], recs[0:1], recs[5:]} {
			if err := s.Apply(ctx, batch); !errors.Is(err, ErrNotNext) {
				t.Errorf("Apply(%d..%d) after cursor 4 = %v; want ErrNotNext", batch[0].LSN, batch[len(batch)-1].LSN, err)
			}
		}
		if n := rows(); n != before {
			t.Fatalf("refused batches changed the row count from %d to %d", before, n)
		}
		if c, _ := s.Cursor(ctx); c != 4 {
			t.Fatalf("cursor %d; want 4", c)
		}

		// The same store allowing skips: a gap passes and is noted, a
		// repeat still fails.
		opts := b.Options(cfg)
		opts.AllowSkips = true
		s.Close()
		s2 := b.Open(t, opts)
		if err := s2.Apply(ctx, recs[3:5]); !errors.Is(err, ErrNotNext) {
			t.Errorf("repeat with AllowSkips: Apply = %v; want ErrNotNext", err)
		}
		if err := s2.Apply(ctx, recs[6:]); err != nil {
			t.Fatalf("gap with AllowSkips: %v", err)
		}
		var after, next int64
		if err := db.QueryRow("SELECT `after_lsn`, `next_lsn` FROM "+q(tt.skips)).Scan(&after, &next); err != nil || after != 4 || next != 7 {
			t.Errorf("skip noted as %d→%d, %v; want 4→7", after, next, err)
		}
		if c, _ := s2.Cursor(ctx); c != 8 {
			t.Errorf("cursor %d; want 8", c)
		}
	})
}

// TestApplyAtomic: an Apply that fails before its commit leaves nothing;
// one whose commit happened but whose caller saw an error leaves the whole
// batch, and the cursor says so.
func TestApplyAtomic(t *testing.T) {
	EachBackend(t, func(t *testing.T, b Backend) {
		s := b.Open(t, b.Options(loadConfig(t)))
		ctx := context.Background()
		recs := session()
		db := b.Raw(t)
		tt := tableNames(b.Prefix)
		boom := errors.New("boom")
		s.fault = func(point string) error {
			if point == "commit" {
				return boom
			}
			return nil
		}
		if err := s.Apply(ctx, recs); !errors.Is(err, boom) {
			t.Fatalf("Apply = %v; want boom", err)
		}
		for _, table := range []string{tt.orders, tt.deals, tt.balances} {
			if n := b.Count(t, db, table); n != 0 {
				t.Errorf("%s has %d rows after a failed Apply", table, n)
			}
		}
		if c, _ := s.Cursor(ctx); c != 0 {
			t.Fatalf("cursor %d after a failed Apply; want 0", c)
		}
		s.fault = func(point string) error {
			if point == "committed" {
				return boom
			}
			return nil
		}
		if err := s.Apply(ctx, recs); !errors.Is(err, boom) {
			t.Fatalf("Apply = %v; want boom", err)
		}
		if c, _ := s.Cursor(ctx); c != 8 {
			t.Fatalf("cursor %d after a committed Apply; want 8", c)
		}
		if n := b.Count(t, db, tt.balances); n != 6 {
			t.Errorf("%d balance rows; want 6", n)
		}
	})
}

// TestReopen: the schema is created once, a second Open (and a restart)
// keeps the rows and the cursor; a schema newer than the program is
// refused.
func TestReopen(t *testing.T) {
	EachBackend(t, func(t *testing.T, b Backend) {
		cfg := loadConfig(t)
		ctx := context.Background()
		s := b.Open(t, b.Options(cfg))
		if err := s.Apply(ctx, session()[:5]); err != nil {
			t.Fatal(err)
		}
		s2 := b.Open(t, b.Options(cfg)) // concurrently open: migration is a no-op
		if c, err := s2.Cursor(ctx); err != nil || c != 5 {
			t.Fatalf("second store: Cursor() = %d, %v; want 5", c, err)
		}
		s.Close()
		s2.Close()
		s3 := b.Open(t, b.Options(cfg))
		if c, err := s3.Cursor(ctx); err != nil || c != 5 {
			t.Fatalf("reopened: Cursor() = %d, %v; want 5", c, err)
		}
		if err := s3.Apply(ctx, session()[5:]); err != nil {
			t.Fatal(err)
		}
		s3.Close()
		if _, err := s3.Cursor(ctx); !errors.Is(err, ErrClosed) {
			t.Errorf("Cursor after Close = %v; want ErrClosed", err)
		}
		if err := s3.Apply(ctx, session()[:1]); !errors.Is(err, ErrClosed) {
			t.Errorf("Apply after Close = %v; want ErrClosed", err)
		}
		db := b.Raw(t)
		tt := tableNames(b.Prefix)
		if _, err := db.Exec("UPDATE "+q(tt.schema)+" SET `version` = ?", SchemaVersion+1); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(ctx, b.Options(cfg)); err == nil || !strings.Contains(err.Error(), "newer") {
			t.Errorf("Open with a newer schema = %v; want refused", err)
		}
	})
}

func TestOpenOptions(t *testing.T) {
	cfg := loadConfig(t)
	dir := t.TempDir()
	for _, o := range []Options{
		{Path: dir + "/h.db"}, // no config
		{Config: cfg},         // no database
		{Config: cfg, Path: dir + "/h.db", DSN: "root@tcp(127.0.0.1:1)/x"},  // both
		{Config: cfg, Path: dir + "/h.db", Prefix: "a-b"},                   // bad prefix
		{Config: cfg, Path: dir + "/h.db", Prefix: strings.Repeat("p", 33)}, // long prefix
		{Config: cfg, Path: dir + "/h.db?mode=ro"},                          // query in path
		{Config: cfg, DSN: "root@tcp(127.0.0.1:1)/"},                        // no database name
		{Config: cfg, Path: dir + "/h.db", Name: strings.Repeat("n", 65)},   // long name
		{Config: cfg, Path: dir + "/missing/dir/h.db"},                      // directory missing
		{Config: cfg, DSN: "mysql://root@tcp(127.0.0.1:1)/x?timeout=100ms"}, // unreachable
	} {
		if s, err := Open(context.Background(), o); err == nil {
			s.Close()
			t.Errorf("Open(%+v) succeeded; want an error", o)
		}
	}
}

// TestQueryChecks: every field out of range is code 1, without touching
// the database.
func TestQueryChecks(t *testing.T) {
	s := SQLiteBackend(t)
	st := s.Open(t, s.Options(loadConfig(t)))
	for _, cmd := range []messages.Command{
		&messages.BalanceHistory{User: 0, Limit: 1},
		&messages.BalanceHistory{User: 1, Limit: 0},
		&messages.BalanceHistory{User: 1, Limit: 102},
		&messages.BalanceHistory{User: 1, Limit: 1, Offset: -1},
		&messages.BalanceHistory{User: 1, Limit: 1, Start: 5, End: 4},
		&messages.BalanceHistory{User: 1, Limit: 1, Start: -1},
		&messages.FinishedOrders{User: 1, Market: "BTCUSDT", Limit: 1, Side: 3},
		&messages.FinishedOrders{User: 0, Market: "BTCUSDT", Limit: 1},
		&messages.FinishedOrders{User: 1, Market: "BTCUSDT", Limit: 1, Start: 2, End: 1},
		&messages.FinishedOrderDetail{OrderID: 0},
		&messages.OrderDeals{OrderID: 0, Limit: 1},
		&messages.OrderDeals{OrderID: 1, Limit: 102},
		&messages.UserDeals{User: 0, Market: "BTCUSDT", Limit: 1},
		&messages.UserDeals{User: 1, Market: "BTCUSDT", Limit: 0},
	} {
		rep, err := st.Query(context.Background(), cmd)
		if e, ok := rep.(*messages.ErrorReply); err != nil || !ok || e.Err != messages.ErrInvalidArgument {
			t.Errorf("Query(%#v) = %#v, %v; want invalid argument", cmd, rep, err)
		}
	}
	for _, cmd := range []messages.Command{
		&messages.BalanceHistory{User: 1, Limit: 101, Start: 5, End: 5},
		&messages.BalanceHistory{User: 1, Limit: 1, Start: 5},
		&messages.FinishedOrders{User: 1, Limit: 1, Side: messages.Bid, End: 1 << 62},
	} {
		query(t, st, cmd)
	}
	if rep, _ := st.Query(context.Background(), &messages.BalanceQuery{User: 1}); rep.(*messages.ErrorReply).Err != messages.ErrInternal {
		t.Errorf("a command that is not history's = %#v; want internal error", rep)
	}
}

// TestQueryBounded: with every worker busy and MaxPending queries in, the
// next query is answered code 3 at once; a failing statement is code 2;
// a query whose context ends is an error.
func TestQueryBounded(t *testing.T) {
	EachBackend(t, func(t *testing.T, b Backend) {
		opts := b.Options(loadConfig(t))
		opts.Workers, opts.MaxPending = 2, 3
		s := b.Open(t, opts)
		ctx := context.Background()
		if err := s.Apply(ctx, session()); err != nil {
			t.Fatal(err)
		}
		// Occupy both workers, as two long queries would.
		s.sem <- struct{}{}
		s.sem <- struct{}{}
		var wg sync.WaitGroup
		replies := make(chan messages.Reply, 3)
		for i := 0; i < 3; i++ { // 3 pending: the limit
			wg.Add(1)
			go func() {
				defer wg.Done()
				rep, err := s.Query(ctx, &messages.UserDeals{User: 1, Market: "BTCUSDT", Limit: 5})
				if err != nil {
					t.Error(err)
				}
				replies <- rep
			}()
		}
		deadline := time.Now().Add(5 * time.Second)
		for s.pending.Load() < 3 {
			if time.Now().After(deadline) {
				t.Fatal("queries did not queue")
			}
			time.Sleep(time.Millisecond)
		}
		rep, err := s.Query(ctx, &messages.UserDeals{User: 1, Market: "BTCUSDT", Limit: 5})
		if e, ok := rep.(*messages.ErrorReply); err != nil || !ok || e.Err != messages.ErrUnavailable {
			t.Errorf("query over MaxPending = %#v, %v; want service unavailable", rep, err)
		}
		short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		defer cancel()
		s.pending.Add(-1) // make room for one more, which waits for a worker
		if rep, err := s.Query(short, &messages.UserDeals{User: 1, Market: "BTCUSDT", Limit: 5}); err == nil {
			t.Errorf("query past its deadline = %#v; want an error", rep)
		}
		s.pending.Add(1)
		<-s.sem
		<-s.sem
		wg.Wait()
		close(replies)
		for rep := range replies {
			if r, ok := rep.(*messages.DealHistoryReply); !ok || len(r.Records) != 1 {
				t.Errorf("queued query = %#v; want one deal", rep)
			}
		}

		db := b.Raw(t)
		if _, err := db.Exec("DROP TABLE " + q(tableNames(b.Prefix).deals)); err != nil {
			t.Fatal(err)
		}
		rep, err = s.Query(ctx, &messages.UserDeals{User: 1, Market: "BTCUSDT", Limit: 5})
		if e, ok := rep.(*messages.ErrorReply); err != nil || !ok || e.Err != messages.ErrInternal {
			t.Errorf("query on a dropped table = %#v, %v; want internal error", rep, err)
		}
		s.Close()
		rep, _ = s.Query(ctx, &messages.UserDeals{User: 1, Market: "BTCUSDT", Limit: 5})
		if e, ok := rep.(*messages.ErrorReply); !ok || e.Err != messages.ErrUnavailable {
			t.Errorf("query on a closed store = %#v; want service unavailable", rep)
		}
	})
}
