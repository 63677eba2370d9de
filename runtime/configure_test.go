package runtime_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/bourse-exchange/bourse/actors/journal"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/testenv"
	"github.com/bourse-exchange/bourse/internal/testnode"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/runtime"
	"github.com/holiman/uint256"
	"github.com/redis/go-redis/v9"
)

// restartChecked shuts n down and checks that recovery
// from the journal alone and from a fresh snapshot plus the journal both
// give the live state hash, and that the money invariants hold; then it
// starts the node again on dir under file and returns it with its
// services.
func restartChecked(t *testing.T, n *runtime.Node, file *config.Config, dir string) (*runtime.Node, *runtime.Services) {
	t.Helper()
	waitFollowers(t, n)
	live, err := n.Router.StateHash(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The journal alone (the node may have left a snapshot at shutdown).
	jonly := t.TempDir()
	if err := os.CopyFS(runtime.JournalDir(jonly), os.DirFS(runtime.JournalDir(dir))); err != nil {
		t.Fatal(err)
	}
	s, b, err := runtime.Recover(file, jonly, "")
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	if s.Snapshot != 0 || s.Hash() != live {
		t.Fatalf("from the journal alone (snapshot %d): %s; live %s", s.Snapshot, s.Hash(), live)
	}
	if bad := s.Check(); len(bad) > 0 {
		t.Fatalf("after replay: %s", strings.Join(bad, "\n"))
	}
	// A snapshot of the recovered state, then the journal after it.
	n2, _ := mustStart(t, file, dir, "")
	if err := n2.Snapshots.Now(); err != nil {
		t.Fatal(err)
	}
	n2.Shutdown(context.Background())
	s, b, err = runtime.Recover(file, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	if s.Snapshot == 0 || s.Hash() != live {
		t.Fatalf("from snapshot %d: %s; live %s", s.Snapshot, s.Hash(), live)
	}
	return mustStart(t, file, dir, "")
}

// waitFollowers waits until every journal follower holds the journal's
// last record.
func waitFollowers(t *testing.T, n *runtime.Node) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, f := range n.Router.Followers() {
		for {
			lag, _ := n.Feed.Lag(f.Name)
			if lag == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("follower %s lags %d records", f.Name, lag)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func status(t *testing.T, n *runtime.Node, cmd messages.Command) {
	t.Helper()
	if r, ok := do(t, n, cmd).(*messages.StatusReply); !ok || r == nil {
		t.Fatalf("%T %+v: %#v", cmd, cmd, do(t, n, &messages.MarketSummary{}))
	}
}

func ptr[T any](v T) *T { return &v }

// TestRunTimeConfigRefused: every bad asset.add, market.add and
// market.update is answered code 1 naming the parameter and the rule, and
// changes nothing: no record, the same state hash, the same configuration.
func TestRunTimeConfigRefused(t *testing.T) {
	cfg := edited(t)
	n := startAt(t, cfg, t.TempDir(), "", 0)
	do(t, n, &messages.BalanceUpdate{User: 1, Asset: cfg.Asset("USDT").ID, Business: "deposit", BusinessID: 1, Change: save("1000"), Time: 1})
	btc := cfg.Market("BTCUSDT").ID
	market := func(m messages.MarketAdd) *messages.MarketAdd {
		if m.Name == "" {
			m.Name = "LTCUSDT"
		}
		if m.Stock == "" {
			m.Stock, m.Money = "ETH", "USDT"
		}
		if m.MinAmount == "" {
			m.MinAmount = "0.01"
		}
		return &m
	}
	for _, tc := range []struct {
		cmd  messages.Command
		want string
	}{
		{&messages.AssetAdd{Name: "BTC", PrecSave: 8, PrecShow: -1}, `invalid argument: name: duplicate asset "BTC"`},
		{&messages.AssetAdd{Name: "", PrecSave: 8, PrecShow: -1}, `invalid argument: name must be 1 to 15 characters, got ""`},
		{&messages.AssetAdd{Name: "LTC", PrecSave: 37, PrecShow: -1}, "invalid argument: prec_save must be between 0 and 36, got 37"},
		{&messages.AssetAdd{Name: "LTC", PrecSave: 8, PrecShow: 9}, "invalid argument: prec_show must be between 0 and prec_save (8), got 9"},
		{market(messages.MarketAdd{Stock: "LTC", Money: "USDT", StockPrec: 4, MoneyPrec: 2, FeePrec: 4}), `invalid argument: stock: unknown asset "LTC"`},
		{market(messages.MarketAdd{Stock: "ETH", Money: "XRP", StockPrec: 4, MoneyPrec: 2, FeePrec: 4}), `invalid argument: money: unknown asset "XRP"`},
		{market(messages.MarketAdd{Stock: "ETH", Money: "ETH", StockPrec: 4, MoneyPrec: 2, FeePrec: 4}), `invalid argument: money must differ from stock ("ETH")`},
		{market(messages.MarketAdd{Name: "BTCUSDT", StockPrec: 4, MoneyPrec: 2, FeePrec: 4}), `invalid argument: name: duplicate market "BTCUSDT"`},
		{market(messages.MarketAdd{StockPrec: 19, MoneyPrec: 2, FeePrec: 4}), "invalid argument: stock_prec must be between 0 and 18, got 19"},
		{market(messages.MarketAdd{StockPrec: 8, MoneyPrec: 6, FeePrec: 4}), "invalid argument: stock_prec (8) + money_prec (6) must be <= prec_save of USDT (12)"},
		{market(messages.MarketAdd{StockPrec: 8, MoneyPrec: 2, FeePrec: 6}), "invalid argument: fee_prec: stock_prec (8) + fee_prec (6) must be <= prec_save of ETH (12)"},
		{market(messages.MarketAdd{StockPrec: 4, MoneyPrec: 2, FeePrec: 4, MinAmount: "-1"}), `invalid argument: min_amount must be a non-negative decimal, got "-1"`},
		{market(messages.MarketAdd{StockPrec: 4, MoneyPrec: 2, FeePrec: 4, MaxOpenOrders: -2}), "invalid argument: max_open_orders must be positive, or -1 for no limit, got -2"},
		{market(messages.MarketAdd{StockPrec: 4, MoneyPrec: 2, FeePrec: 4, STP: "sometimes"}), `invalid argument: stp must be none, cancel_taker, cancel_maker or cancel_both, got "sometimes"`},
		{&messages.MarketUpdate{Market: btc, MinAmount: ptr("abc")}, `invalid argument: min_amount must be a non-negative decimal, got "abc"`},
		{&messages.MarketUpdate{Market: btc, MaxOpenOrders: ptr(0)}, "invalid argument: max_open_orders must be positive, or -1 for no limit, got 0"},
		{&messages.MarketUpdate{Market: btc, STP: ptr("never")}, `invalid argument: stp must be none, cancel_taker, cancel_maker or cancel_both, got "never"`},
		{&messages.MarketUpdate{Market: 99}, "invalid argument: market must be the name of a listed market (market.list; case-sensitive)"},
		{market(messages.MarketAdd{StockPrec: 4, MoneyPrec: 2, FeePrec: 4, MakerFee: "1"}), `invalid argument: maker_fee must be a decimal from 0 to less than 1 with at most fee_prec (4) decimals, got "1"`},
		{market(messages.MarketAdd{StockPrec: 4, MoneyPrec: 2, FeePrec: 2, TakerFee: "0.001"}), `invalid argument: taker_fee must be a decimal from 0 to less than 1 with at most fee_prec (2) decimals, got "0.001"`},
		{&messages.MarketUpdate{Market: btc, MakerFee: ptr("-0.001")}, `invalid argument: maker_fee must be a decimal from 0 to less than 1 with at most fee_prec (4) decimals, got "-0.001"`},
		{&messages.MarketUpdate{Market: btc, MinAmount: ptr("1"), TakerFee: ptr("0.1x")}, `invalid argument: taker_fee must be a decimal from 0 to less than 1 with at most fee_prec (4) decimals, got "0.1x"`},
	} {
		lsn, cur := n.Journal.LastLSN(), n.Router.Config()
		before, err := n.Router.StateHash(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		e, ok := do(t, n, tc.cmd).(*messages.ErrorReply)
		if !ok || e.Err.Code != 1 || !strings.Contains(e.Err.Message, tc.want) {
			t.Errorf("%T %+v: %+v; want code 1 %q", tc.cmd, tc.cmd, e, tc.want)
			continue
		}
		after, err := n.Router.StateHash(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n.Journal.LastLSN() != lsn || n.Router.Config() != cur || after != before {
			t.Errorf("%T %+v refused but something changed (LSN %d -> %d)", tc.cmd, tc.cmd, lsn, n.Journal.LastLSN())
		}
	}
	n.Shutdown(context.Background())
}

// appendEntries is the default configuration with an asset and a market
// line appended to its lists.
func appendEntries(t *testing.T, asset, market string) *config.Config {
	t.Helper()
	const lastAsset = "  - { name: USDT, prec_save: 12, prec_show: 8 }\n"
	const lastMarket = "  - { name: ETHBTC,  stock: ETH, money: BTC,  stock_prec: 8, money_prec: 4, fee_prec: 4, min_amount: \"0.001\" }\n"
	return edited(t, lastAsset, lastAsset+asset, lastMarket, lastMarket+market)
}

func fixedParse(s string, scale int) (uint256.Int, bool, error) { return fixed.Parse(s, scale) }

// TestRunTimeConfigReplayed: market.update, asset.add and market.add take
// effect at once, without a restart — the new rules are enforced, the new
// market trades its new asset, market.list and asset.list (the router's
// configuration) show them, history and market data record the new
// market's deals — and each is replayed exactly: after each change the
// state hash recovered from the journal alone and from a snapshot equals the
// live one, money is conserved, and the node restarts under the original
// file. A file that later lists the run-time asset and market the same way
// starts too; one that contradicts them is refused, naming the field.
func TestRunTimeConfigReplayed(t *testing.T) {
	t.Run("sqlite+memory", func(t *testing.T) { runTimeConfigReplayed(t, func(*config.Config) {}) })
	t.Run("mysql+redis", func(t *testing.T) {
		addr, dsn := testenv.RedisAddr(t), testenv.MySQLDatabase(t)
		const db = 11
		c := redis.NewClient(&redis.Options{Addr: addr, DB: db})
		defer c.Close()
		if err := c.FlushDB(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.FlushDB(context.Background()) })
		runTimeConfigReplayed(t, func(cfg *config.Config) {
			cfg.History.DSN, cfg.MarketData.Redis = dsn, fmt.Sprintf("redis://%s/%d", addr, db)
		})
	})
}

// runTimeConfigReplayed is TestRunTimeConfigReplayed with the stores set
// by stores on every configuration it starts the node with.
func runTimeConfigReplayed(t *testing.T, stores func(*config.Config)) {
	cfg := edited(t)
	stores(cfg)
	dir := t.TempDir()
	n, _ := mustStart(t, cfg, dir, "")
	usdt, btcID := cfg.Asset("USDT").ID, cfg.Asset("BTC").ID
	btc := cfg.Market("BTCUSDT").ID
	do(t, n, &messages.BalanceUpdate{User: 1, Asset: usdt, Business: "deposit", BusinessID: 1, Change: save("10000"), Time: 1})
	do(t, n, &messages.BalanceUpdate{User: 2, Asset: btcID, Business: "deposit", BusinessID: 1, Change: save("10"), Time: 1})

	// market.update: a higher min_amount and at most 2 open orders.
	status(t, n, &messages.MarketUpdate{Market: btc, MinAmount: ptr("0.5"), MaxOpenOrders: ptr(2), STP: ptr("cancel_maker")})
	if m := n.Router.Config().Market("BTCUSDT"); m.MinUnits != 50_000_000 || m.MaxOpenOrders != 2 || m.STPMode != messages.STPCancelMaker {
		t.Fatalf("BTCUSDT after market.update: %+v", m)
	}
	lsn := n.Journal.LastLSN()
	status(t, n, &messages.MarketUpdate{Market: btc, MinAmount: ptr("0.50")}) // the same: nothing journaled
	if n.Journal.LastLSN() != lsn {
		t.Fatal("a market.update that changes nothing was journaled")
	}
	rules := func(when string) {
		t.Helper()
		if e, ok := do(t, n, &messages.PutLimit{User: 2, Market: btc, Side: messages.Ask, Amount: units("0.1", 8), Price: units("100", 2), Time: 2}).(*messages.ErrorReply); !ok || e.Err != messages.ErrAmountTooSmall {
			t.Fatalf("%s: 0.1 BTC under min_amount 0.5: %+v", when, e)
		}
	}
	rules("live")
	for i := range 3 {
		r := do(t, n, &messages.PutLimit{User: 2, Market: btc, Side: messages.Ask, Amount: units("1", 8), Price: units("200", 2) + int64(i), Time: 3})
		if e, ok := r.(*messages.ErrorReply); i < 2 && ok || i == 2 && (!ok || e.Err.Code != messages.ErrLimitExceeded.Code) {
			t.Fatalf("ask %d with max_open_orders 2: %#v", i, r)
		}
	}
	n, _ = restartChecked(t, n, cfg, dir)
	rules("after a restart")
	if m := n.Router.Config().Market("BTCUSDT"); m.MinUnits != 50_000_000 || m.MaxOpenOrders != 2 {
		t.Fatalf("BTCUSDT after a restart: %+v", m)
	}

	// asset.add, market.add: LTC, and LTCUSDT trading at once.
	status(t, n, &messages.AssetAdd{Name: "LTC", PrecSave: 10, PrecShow: 8})
	status(t, n, &messages.MarketAdd{Name: "LTCUSDT", Stock: "LTC", Money: "USDT", StockPrec: 4, MoneyPrec: 2, FeePrec: 4, MinAmount: "0.01", STP: "none"})
	live := n.Router.Config()
	ltc, lm := live.Asset("LTC"), live.Market("LTCUSDT")
	if ltc == nil || ltc.ID != 3 || lm == nil || lm.ID != 3 || lm.StockAsset != ltc || lm.MaxOpenOrders != config.DefaultMaxOpenOrders {
		t.Fatalf("after asset.add and market.add: %+v %+v", ltc, lm)
	}
	trade := func(id uint64, price string) {
		t.Helper()
		ltcSave := func(s string) messages.BalanceUpdate {
			v, _, _ := fixedParse(s, 10)
			return messages.BalanceUpdate{User: 3, Asset: ltc.ID, Business: "deposit", BusinessID: id, Change: v, Time: 4}
		}
		dep := ltcSave("5")
		status(t, n, &dep)
		if r, ok := do(t, n, &messages.PutLimit{User: 3, Market: lm.ID, Side: messages.Ask, Amount: units("2", 4), Price: units(price, 2), TakerFee: 20, MakerFee: 10, Time: 5}).(*messages.OrderReply); !ok || r.Order.Left == 0 {
			t.Fatalf("LTCUSDT ask refused")
		}
		r, ok := do(t, n, &messages.PutLimit{User: 1, Market: lm.ID, Side: messages.Bid, Amount: units("1.5", 4), Price: units(price, 2), TakerFee: 20, MakerFee: 10, Time: 6}).(*messages.OrderReply)
		if !ok || r.Order.Left != 0 {
			t.Fatalf("LTCUSDT bid did not trade: %+v", r)
		}
	}
	trade(1, "50")
	waitFollowers(t, n)
	if r, ok := do(t, n, &messages.MarketLast{Market: lm.ID}).(*messages.MarketLastReply); !ok || r.Price != units("50", 2) {
		t.Fatalf("market data: LTCUSDT last %+v", r)
	}
	if r, ok := do(t, n, &messages.UserDeals{User: 3, Market: "LTCUSDT", Limit: 10}).(*messages.DealHistoryReply); !ok || len(r.Records) != 1 {
		t.Fatalf("history: LTCUSDT deals of user 3: %+v", r)
	}
	n, _ = restartChecked(t, n, cfg, dir)
	if m := n.Router.Config().Market("LTCUSDT"); m == nil || m.ID != 3 {
		t.Fatalf("LTCUSDT after a restart under the original file: %+v", m)
	}
	trade(2, "51")
	waitFollowers(t, n)
	if r, ok := do(t, n, &messages.MarketDeals{Market: lm.ID, Limit: 10}).(*messages.MarketDealsReply); !ok || len(r.Deals) != 3 { // the rest of the first ask at 50, then 1 at 51; and the first deal
		t.Fatalf("market data: LTCUSDT deals %+v", r)
	}

	// A file that lists them too, the same way, starts; one that
	// contradicts them is refused with the field and both values.
	appended := appendEntries(t, "  - { name: LTC, prec_save: 10, prec_show: 8 }\n",
		"  - { name: LTCUSDT, stock: LTC, money: USDT, stock_prec: 4, money_prec: 2, fee_prec: 4 }\n")
	stores(appended)
	n, _ = restartChecked(t, n, appended, dir)
	n.Shutdown(context.Background())
	bad := appendEntries(t, "  - { name: LTC, prec_save: 8, prec_show: 8 }\n", "")
	if _, err := runtime.Start(bad, runtime.Options{DataDir: dir, TickInterval: -1}); err == nil ||
		!strings.Contains(err.Error(), "assets[LTC].prec_save: the journal has 10, the file says 8") {
		t.Fatalf("a file contradicting asset.add: %v", err)
	}
	os.RemoveAll(dir)
}

// TestRunTimeMarketRebuilt: a market listed at run time, whose rules were
// then changed, is rebuilt from the journal after its actor panics (an
// injected fault): the rebuilt book has its resting order and the changed
// rules, a ledger rebuilt after asset.add has the new asset, and the state
// hash equals the journal's.
func TestRunTimeMarketRebuilt(t *testing.T) {
	cfg := edited(t)
	var target atomic.Value // the actor to panic next ("": none)
	target.Store("")
	faults := func(actor, point string, msg messages.Command) bool {
		m, ok := msg.(*messages.PutLimit)
		return ok && m.Source == "boom" && point == "decide" && target.CompareAndSwap(actor, "")
	}
	dir := t.TempDir()
	n := testnode.Start(t, cfg, runtime.Options{DataDir: dir, Journal: journal.Options{Mode: journal.Sync}, Faults: faults, TickInterval: -1})
	status(t, n, &messages.AssetAdd{Name: "LTC", PrecSave: 10, PrecShow: 8})
	status(t, n, &messages.MarketAdd{Name: "LTCUSDT", Stock: "LTC", Money: "USDT", StockPrec: 4, MoneyPrec: 2, FeePrec: 4, MinAmount: "0.01"})
	ltc, lm := n.Router.Config().Asset("LTC"), n.Router.Config().Market("LTCUSDT")
	v, _, _ := fixed.Parse("5", 10)
	status(t, n, &messages.BalanceUpdate{User: 3, Asset: ltc.ID, Business: "deposit", BusinessID: 1, Change: v, Time: 1})
	if _, ok := do(t, n, &messages.PutLimit{User: 3, Market: lm.ID, Side: messages.Ask, Amount: units("2", 4), Price: units("50", 2), Time: 2}).(*messages.OrderReply); !ok {
		t.Fatal("ask refused")
	}
	status(t, n, &messages.MarketUpdate{Market: lm.ID, MinAmount: ptr("0.5")})
	// The shard of user 3 panics on an order, then the market does on
	// the next: both are rebuilt from the journal.
	for _, actor := range []string{"shard-3", "market-3"} {
		target.Store(actor)
		if e, ok := do(t, n, &messages.PutLimit{User: 3, Market: lm.ID, Side: messages.Ask, Amount: units("1", 4), Price: units("60", 2), Source: "boom", Time: 3}).(*messages.ErrorReply); !ok || e.Err != messages.ErrInternal {
			t.Fatalf("an injected panic in %s: %+v", actor, e)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, ok := do(t, n, &messages.OrderBook{Market: lm.ID, Side: messages.Ask, Limit: 10}).(*messages.OrderListReply)
		if ok && r.Total == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the rebuilt LTCUSDT book: %+v", r)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if e, ok := do(t, n, &messages.PutLimit{User: 3, Market: lm.ID, Side: messages.Ask, Amount: units("0.1", 4), Price: units("60", 2), Time: 4}).(*messages.ErrorReply); !ok || e.Err != messages.ErrAmountTooSmall {
		t.Fatalf("the rebuilt market forgot market.update's min_amount: %+v", e)
	}
	if r, ok := do(t, n, &messages.BalanceQuery{User: 3, Assets: []messages.AssetID{ltc.ID}}).(*messages.BalanceQueryReply); !ok || r.Balances[0].Frozen.IsZero() {
		t.Fatalf("the rebuilt shard: %+v", r)
	}
	live, err := n.Router.StateHash(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n.Shutdown(context.Background())
	s, b, err := runtime.Recover(cfg, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	if s.Hash() != live {
		t.Fatalf("recovered %s; live after the rebuilds %s", s.Hash(), live)
	}
}

// TestRunTimeConfigBroken: a change journaled but not put in force live
// (here an injected fault after its apply) is answered code 2, and every
// later change is refused with code 3 until a restart, which replays the
// change; after it, changes are taken again with the right ids.
func TestRunTimeConfigBroken(t *testing.T) {
	cfg := edited(t)
	faults := func(actor, point string, msg messages.Command) bool {
		m, ok := msg.(*messages.MarketAdd)
		return ok && actor == "configurator" && point == "apply" && m.Name == "BOOMUSDT"
	}
	dir := t.TempDir()
	n := testnode.Start(t, cfg, runtime.Options{DataDir: dir, Journal: journal.Options{Mode: journal.Sync}, Faults: faults, TickInterval: -1})
	status(t, n, &messages.AssetAdd{Name: "BOOM", PrecSave: 10, PrecShow: 8})
	boom := &messages.MarketAdd{Name: "BOOMUSDT", Stock: "BOOM", Money: "USDT", StockPrec: 4, MoneyPrec: 2, FeePrec: 4, MinAmount: "0.01"}
	if e, ok := do(t, n, boom).(*messages.ErrorReply); !ok || e.Err != messages.ErrInternal {
		t.Fatalf("market.add with its apply failing: %#v; want code 2", e)
	}
	hash, err := n.Router.StateHash(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	later := &messages.MarketAdd{Name: "LATERUSDT", Stock: "BOOM", Money: "BTC", StockPrec: 4, MoneyPrec: 2, FeePrec: 4, MinAmount: "0.01"}
	if e, ok := do(t, n, later).(*messages.ErrorReply); !ok || e.Err != messages.ErrUnavailable {
		t.Fatalf("a change after a failed apply: %#v; want code 3", e)
	}
	if e, ok := do(t, n, &messages.AssetAdd{Name: "LATER", PrecSave: 8, PrecShow: 8}).(*messages.ErrorReply); !ok || e.Err != messages.ErrUnavailable {
		t.Fatalf("asset.add after a failed apply: %#v; want code 3", e)
	}
	if h, _ := n.Router.StateHash(context.Background()); h != hash {
		t.Errorf("refused changes moved the state hash")
	}
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	n = testnode.Start(t, cfg, runtime.Options{DataDir: dir, Journal: journal.Options{Mode: journal.Sync}, TickInterval: -1})
	if m := n.Router.Config().Market("BOOMUSDT"); m == nil || m.ID != messages.MarketID(len(cfg.Markets)) {
		t.Fatalf("after the restart BOOMUSDT is %+v; want it replayed with id %d", m, len(cfg.Markets))
	}
	status(t, n, later)
	if m := n.Router.Config().Market("LATERUSDT"); m == nil || m.ID != messages.MarketID(len(cfg.Markets)+1) || n.Router.Directory().Market(m.ID) == nil {
		t.Fatalf("LATERUSDT after the restart: %+v; want id %d with its actor", m, len(cfg.Markets)+1)
	}
}
