package history

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/persistence/derive"
)

// Orders with options (ids continue session's).
const (
	stop5 = 5<<10 | 0
	ioc6  = 6<<10 | 0
	held7 = 7<<10 | 0
)

// optionRecords follows session (LSN 9 on), each a finished order: a
// stop-limit bid with a client id, triggered and filled; an IOC post-only
// ask with STP cancel_both, cancelled unfilled; a stop-market sell with a
// client id, cancelled while held.
func optionRecords() []derive.Record {
	stop := messages.Order{ID: stop5, Type: messages.Limit, Side: messages.Bid, User: 1, CTime: t0 + 9, MTime: t0 + 10,
		Price: 10100, Amount: 500000, TakerFee: 20, MakerFee: 10, Left: 0, DealStock: 500000,
		DealMoney: u256("50250000000000"), DealFee: u256("100000000000"), Source: "api",
		ClientID: "my-stop:1", StopPrice: 10075, Triggered: true, STP: messages.STPCancelMaker}
	ioc := messages.Order{ID: ioc6, Type: messages.Limit, Side: messages.Ask, User: 2, CTime: t0 + 11, MTime: t0 + 11,
		Price: 20000, Amount: 100, TakerFee: 20, MakerFee: 10, Left: 100, Source: "web",
		TIF: messages.IOC, PostOnly: true, STP: messages.STPCancelBoth}
	held := messages.Order{ID: held7, Type: messages.Market, Side: messages.Ask, User: 2, CTime: t0 + 12, MTime: t0 + 13,
		Amount: 7000, TakerFee: 30, Left: 7000, Source: "web", ClientID: "x", StopPrice: 9001, TIF: messages.FOK,
		STP: messages.STPNone}
	return []derive.Record{
		{LSN: 9, Orders: []derive.OrderChange{{Event: derive.OrderFinish, Order: stop}}},
		{LSN: 10, Orders: []derive.OrderChange{{Event: derive.OrderFinish, Order: ioc}}},
		{LSN: 11, Orders: []derive.OrderChange{{Event: derive.OrderFinish, Order: held}}},
	}
}

// The rows optionRecords must produce, written out by hand.
var (
	wantStop = messages.FinishedOrder{ID: stop5, CTime: t0 + 9, FTime: t0 + 10, User: 1, Market: "BTCUSDT", Source: "api",
		Type: messages.Limit, Side: messages.Bid, Price: "101", Amount: "0.5", TakerFee: "0.002", MakerFee: "0.001",
		DealStock: "0.5", DealMoney: "50.25", DealFee: "0.001",
		ClientID: "my-stop:1", StopPrice: "100.75", Triggered: true, STP: messages.STPCancelMaker}
	wantIOC = messages.FinishedOrder{ID: ioc6, CTime: t0 + 11, FTime: t0 + 11, User: 2, Market: "BTCUSDT", Source: "web",
		Type: messages.Limit, Side: messages.Ask, Price: "200", Amount: "0.0001", TakerFee: "0.002", MakerFee: "0.001",
		DealStock: "0", DealMoney: "0", DealFee: "0", TIF: messages.IOC, PostOnly: true, STP: messages.STPCancelBoth}
	wantHeld = messages.FinishedOrder{ID: held7, CTime: t0 + 12, FTime: t0 + 13, User: 2, Market: "BTCUSDT", Source: "web",
		Type: messages.Market, Side: messages.Ask, Price: "0", Amount: "0.007", TakerFee: "0.003", MakerFee: "0",
		DealStock: "0", DealMoney: "0", DealFee: "0", ClientID: "x", StopPrice: "90.01", TIF: messages.FOK, STP: messages.STPNone}
)

// TestStoreOptions: finished orders keep their options through Apply and
// the queries; an order without options reads as before (zero values) and
// its columns hold the defaults.
func TestStoreOptions(t *testing.T) {
	EachBackend(t, func(t *testing.T, b Backend) {
		s := b.Open(t, b.Options(loadConfig(t)))
		ctx := context.Background()
		if err := s.Apply(ctx, append(session(), optionRecords()...)); err != nil {
			t.Fatal(err)
		}
		for _, w := range []messages.FinishedOrder{wantStop, wantIOC, wantHeld, wantBid, wantMarket} {
			d := query(t, s, &messages.FinishedOrderDetail{OrderID: w.ID}).(*messages.FinishedOrderDetailReply)
			if d.Order == nil || *d.Order != w {
				t.Errorf("order.finished_detail %d = %+v; want %+v", w.ID, d.Order, w)
			}
		}
		fo := query(t, s, &messages.FinishedOrders{User: 2, Market: "BTCUSDT", Limit: 10}).(*messages.FinishedOrdersReply)
		if want := []messages.FinishedOrder{wantHeld, wantIOC, wantAsk4, wantAsk}; !reflect.DeepEqual(fo.Records, want) {
			t.Errorf("order.finished user 2 = %+v; want %+v", fo.Records, want)
		}
		db := b.Raw(t)
		for _, tc := range []struct {
			id                                uint64
			clientID, stop                    string
			triggered, tif, postOnly, stpMode int
		}{
			{bid2, "", "0", 0, 0, 0, 0},
			{stop5, "my-stop:1", "100.75", 1, 0, 0, 3},
			{ioc6, "", "0", 0, 1, 1, 4},
			{held7, "x", "90.01", 0, 2, 0, 1},
		} {
			var clientID, stop string
			var triggered, tif, postOnly, stpMode int
			err := db.QueryRow("SELECT `client_id`, `stop_price`, `triggered`, `time_in_force`, `post_only`, `stp` FROM "+
				q(b.Table("order_history"))+" WHERE `id` = ?", tc.id).Scan(&clientID, &stop, &triggered, &tif, &postOnly, &stpMode)
			if err != nil || clientID != tc.clientID || stop != tc.stop || triggered != tc.triggered || tif != tc.tif ||
				postOnly != tc.postOnly || stpMode != tc.stpMode {
				t.Errorf("order %d columns = %q %q %d %d %d %d, %v; want %q %q %d %d %d %d", tc.id,
					clientID, stop, triggered, tif, postOnly, stpMode, err,
					tc.clientID, tc.stop, tc.triggered, tc.tif, tc.postOnly, tc.stpMode)
			}
		}
	})
}

// schemaV1 returns the statements that created schema version 1 (as
// released, commit af4a359) for prefix on MySQL or SQLite, then those
// recording version 1 and the cursor row, as that release's Open did.
func schemaV1(mysql bool, prefix string) []string {
	types := strings.NewReplacer("{ID}", "INTEGER PRIMARY KEY", "{U64}", "INTEGER NOT NULL", "{U32}", "INTEGER NOT NULL",
		"{U8}", "INTEGER NOT NULL", "{I64}", "INTEGER NOT NULL", "{NAME}", "TEXT NOT NULL", "{TEXT255}", "TEXT NOT NULL",
		"{DEC}", "TEXT NOT NULL", "{TEXT}", "TEXT NOT NULL")
	options := ""
	if mysql {
		types = strings.NewReplacer("{ID}", "BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY", "{U64}", "BIGINT UNSIGNED NOT NULL",
			"{U32}", "INT UNSIGNED NOT NULL", "{U8}", "TINYINT UNSIGNED NOT NULL", "{I64}", "BIGINT NOT NULL",
			"{NAME}", "VARCHAR(64) NOT NULL", "{TEXT255}", "VARCHAR(255) NOT NULL",
			"{DEC}", "VARCHAR(80) CHARACTER SET ascii COLLATE ascii_bin NOT NULL", "{TEXT}", "TEXT NOT NULL")
		options = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
	}
	var stmts []string
	// table adds a CREATE TABLE with indexes, each "suffix: columns".
	table := func(name, cols string, indexes ...string) {
		name = prefix + name
		create := "CREATE TABLE IF NOT EXISTS `" + name + "` (" + types.Replace(cols)
		var after []string
		for _, ix := range indexes {
			suffix, ixCols, _ := strings.Cut(ix, ": ")
			if mysql {
				create += ", INDEX `" + name + "_" + suffix + "` (" + ixCols + ")"
			} else {
				after = append(after, "CREATE INDEX IF NOT EXISTS `"+name+"_"+suffix+"` ON `"+name+"` ("+ixCols+")")
			}
		}
		stmts = append(append(stmts, create+")"+options), after...)
	}
	table("history_schema", "`id` {U8} PRIMARY KEY, `version` {I64}")
	table("history_cursor", "`name` {NAME} PRIMARY KEY, `lsn` {U64}")
	table("history_skips", "`id` {ID}, `after_lsn` {U64}, `next_lsn` {U64}, `time` {I64}")
	table("order_history", "`id` {U64} PRIMARY KEY, `create_time` {I64}, `finish_time` {I64}, `user_id` {U32}, `market` {NAME}, "+
		"`source` {TEXT255}, `t` {U8}, `side` {U8}, `price` {DEC}, `amount` {DEC}, `taker_fee` {DEC}, `maker_fee` {DEC}, "+
		"`deal_stock` {DEC}, `deal_money` {DEC}, `deal_fee` {DEC}, `lsn` {U64}",
		"user_market: `user_id`, `market`, `id`")
	table("deal_history", "`id` {ID}, `time` {I64}, `user_id` {U32}, `deal_id` {U64}, `order_id` {U64}, `deal_order_id` {U64}, "+
		"`market` {NAME}, `side` {U8}, `role` {U8}, `price` {DEC}, `amount` {DEC}, `deal` {DEC}, `fee` {DEC}, `deal_fee` {DEC}, `lsn` {U64}",
		"order: `order_id`, `id`", "user_market: `user_id`, `market`, `id`")
	table("balance_history", "`id` {ID}, `time` {I64}, `user_id` {U32}, `asset` {NAME}, `business` {TEXT255}, `change` {DEC}, "+
		"`balance` {DEC}, `detail` {TEXT}, `lsn` {U64}",
		"user: `user_id`, `id`", "user_asset: `user_id`, `asset`, `id`",
		"user_asset_business: `user_id`, `asset`, `business`, `id`", "user_business: `user_id`, `business`, `id`")
	return append(stmts, "INSERT INTO `"+prefix+"history_schema` (`id`, `version`) VALUES (1, 1)",
		"INSERT INTO `"+prefix+"history_cursor` (`name`, `lsn`) VALUES ('history', 0)")
}

// TestMigrateFromVersion1: a database the previous release created, with
// rows in it, opened by this program: the option columns are added (also
// when a crash interrupted the step after some of them), old rows read as
// before, new rows keep their options, and the schema is at the current
// version.
func TestMigrateFromVersion1(t *testing.T) {
	for _, interrupted := range []bool{false, true} {
		name := "clean"
		if interrupted {
			name = "interrupted"
		}
		t.Run(name, func(t *testing.T) {
			EachBackend(t, func(t *testing.T, b Backend) {
				ctx := context.Background()
				db := b.Raw(t)
				if b.Path != "" {
					db.SetMaxOpenConns(1) // one file, one connection: no lock between this one and the store's
				}
				for _, stmt := range schemaV1(b.DSN != "", b.Prefix) {
					if _, err := db.Exec(stmt); err != nil {
						t.Fatalf("%s: %v", stmt, err)
					}
				}
				// Old rows: the first records of session, stored as
				// version 1 stored them (16 columns).
				old := []any{ask1, t0 + 3, t0 + 5, 2, "BTCUSDT", "web", 1, 1, "100.5", "2", "0.002", "0.001", "1.5", "150.75", "0.15075", 5}
				if _, err := db.Exec("INSERT INTO "+q(b.Table("order_history"))+" (`id`, `create_time`, `finish_time`, `user_id`, "+
					"`market`, `source`, `t`, `side`, `price`, `amount`, `taker_fee`, `maker_fee`, `deal_stock`, `deal_money`, "+
					"`deal_fee`, `lsn`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", old...); err != nil {
					t.Fatal(err)
				}
				if _, err := db.Exec("UPDATE " + q(b.Table("history_cursor")) + " SET `lsn` = 8"); err != nil {
					t.Fatal(err)
				}
				if interrupted {
					// Version still 1, one column already there.
					def := "TEXT NOT NULL DEFAULT ''"
					if b.DSN != "" {
						def = "VARCHAR(64) NOT NULL DEFAULT ''"
					}
					if _, err := db.Exec("ALTER TABLE " + q(b.Table("order_history")) + " ADD COLUMN `client_id` " + def); err != nil {
						t.Fatal(err)
					}
				}
				if b.Path != "" {
					db.Close() // the store opens its own connections
				}

				cfg := loadConfig(t)
				s := b.Open(t, b.Options(cfg))
				if c, err := s.Cursor(ctx); err != nil || c != 8 {
					t.Fatalf("Cursor() = %d, %v; want 8", c, err)
				}
				d := query(t, s, &messages.FinishedOrderDetail{OrderID: ask1}).(*messages.FinishedOrderDetailReply)
				if d.Order == nil || *d.Order != wantAsk {
					t.Errorf("old row = %+v; want %+v", d.Order, wantAsk)
				}
				if err := s.Apply(ctx, optionRecords()); err != nil {
					t.Fatal(err)
				}
				fo := query(t, s, &messages.FinishedOrders{User: 2, Market: "BTCUSDT", Limit: 10}).(*messages.FinishedOrdersReply)
				if want := []messages.FinishedOrder{wantHeld, wantIOC, wantAsk}; !reflect.DeepEqual(fo.Records, want) {
					t.Errorf("order.finished user 2 = %+v; want %+v", fo.Records, want)
				}
				s.Close()

				// Opening again changes nothing.
				s2 := b.Open(t, b.Options(cfg))
				d = query(t, s2, &messages.FinishedOrderDetail{OrderID: stop5}).(*messages.FinishedOrderDetailReply)
				if d.Order == nil || *d.Order != wantStop {
					t.Errorf("new row after reopening = %+v; want %+v", d.Order, wantStop)
				}
				db2 := b.Raw(t)
				var version int
				if err := db2.QueryRow("SELECT `version` FROM " + q(b.Table("history_schema"))).Scan(&version); err != nil || version != SchemaVersion {
					t.Errorf("schema version %d, %v; want %d", version, err, SchemaVersion)
				}
				if SchemaVersion != 3 {
					t.Errorf("SchemaVersion = %d; this test knows version 3", SchemaVersion)
				}
				var n int
				if err := db2.QueryRow("SELECT COUNT(*) FROM " + q(b.Table("order_history"))).Scan(&n); err != nil || n != 4 {
					t.Errorf("%d finished orders, %v; want 4", n, err)
				}
			})
		})
	}
}
