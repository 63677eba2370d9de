package history_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"

	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/testenv"
	"github.com/bourse-exchange/bourse/internal/testnode"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/persistence/history"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
	"github.com/bourse-exchange/bourse/runtime"
	"github.com/shopspring/decimal"
)

// The store is a runtime.Follower and its Query an actors.Querier.
var _ runtime.Follower = (*history.Store)(nil)

// trader plays a seeded session of deposits, withdrawals, limit and market
// orders — some with the order options: client ids, stop orders, IOC, FOK,
// post-only, self-trade prevention — cancels (by id or client id) and
// amends on a node.
type trader struct {
	cfg     *config.Config
	rng     *rand.Rand
	clock   int64 // Unix µs given to commands
	bizID   uint64
	resting []messages.Order
}

func newTrader(cfg *config.Config, seed uint64) *trader {
	return &trader{cfg: cfg, rng: rand.New(rand.NewPCG(seed, 99)), clock: 1_700_000_000_000_000}
}

func pow10(n int) int64 {
	v := int64(1)
	for ; n > 0; n-- {
		v *= 10
	}
	return v
}

func (tr *trader) run(t *testing.T, n *runtime.Node, steps int) {
	t.Helper()
	rng := tr.rng
	for i := 0; i < steps; i++ {
		tr.clock += 1000 + int64(rng.IntN(1_000_000))
		user := uint32(1 + rng.IntN(6))
		m := tr.cfg.Markets[rng.IntN(len(tr.cfg.Markets))]
		side := messages.Side(1 + rng.IntN(2))
		var cmd messages.Command
		switch k := rng.IntN(20); {
		case k < 4:
			a := tr.cfg.Assets[rng.IntN(len(tr.cfg.Assets))]
			tr.bizID++
			change, _, err := fixed.Parse(strconv.Itoa(100+rng.IntN(5000))+".25", a.PrecSave)
			if err != nil {
				t.Fatal(err)
			}
			business := []string{"deposit", "bonus"}[rng.IntN(2)]
			detail := fmt.Sprintf(`{"note":"n\"%d","x":[1,{"y":null}]}`, i)
			if rng.IntN(4) == 0 {
				detail = `{}`
			}
			cmd = &messages.BalanceUpdate{User: user, Asset: a.ID, Business: business, BusinessID: tr.bizID,
				Change: change, Detail: []byte(detail), Time: tr.clock}
		case k < 5:
			a := tr.cfg.Assets[rng.IntN(len(tr.cfg.Assets))]
			tr.bizID++
			change, _, _ := fixed.Parse("1.5", a.PrecSave)
			cmd = &messages.BalanceUpdate{User: user, Asset: a.ID, Business: "withdraw", BusinessID: tr.bizID,
				Change: change, Negative: true, Detail: []byte(`{}`), Time: tr.clock}
		case k < 13:
			price := int64(95+rng.IntN(10))*pow10(m.MoneyPrec) + int64(rng.IntN(3))
			c := &messages.PutLimit{User: user, Market: m.ID, Side: side, Amount: int64(1+rng.IntN(40)) * m.MinUnits,
				Price: price, TakerFee: int64(rng.IntN(30)), MakerFee: int64(rng.IntN(20)), Source: "s" + strconv.Itoa(rng.IntN(3)), Time: tr.clock}
			if rng.IntN(2) == 0 {
				c.ClientID, c.StopPrice = tr.options(m, &c.STP)
				switch rng.IntN(5) {
				case 0:
					c.TIF = messages.IOC
				case 1:
					c.TIF = messages.FOK
				case 2:
					c.PostOnly = true
				}
			}
			cmd = c
		case k < 16:
			amount := int64(1+rng.IntN(20)) * m.MinUnits
			if side == messages.Bid {
				amount = int64(1+rng.IntN(300))*pow10(m.MoneyPrec) + 7
			}
			c := &messages.PutMarket{User: user, Market: m.ID, Side: side, Amount: amount, TakerFee: int64(rng.IntN(30)), Source: "m", Time: tr.clock}
			if rng.IntN(2) == 0 {
				c.ClientID, c.StopPrice = tr.options(m, &c.STP)
			}
			cmd = c
		default:
			if len(tr.resting) == 0 {
				continue
			}
			j := rng.IntN(len(tr.resting))
			o := tr.resting[j]
			if rng.IntN(3) == 0 { // amend: often refused (dealt meanwhile, finished), which is fine
				cmd = &messages.Amend{User: o.User, Market: o.Market, OrderID: o.ID, Amount: o.Amount - o.Amount/3, Time: tr.clock}
				tr.resting[j].Amount = o.Amount - o.Amount/3
				break
			}
			tr.resting = append(tr.resting[:j], tr.resting[j+1:]...)
			if o.ClientID != "" {
				cmd = &messages.Cancel{User: o.User, Market: o.Market, ClientID: o.ClientID, Time: tr.clock}
			} else {
				cmd = &messages.Cancel{User: o.User, Market: o.Market, OrderID: o.ID, Time: tr.clock}
			}
		}
		rep, err := n.Router.Do(context.Background(), cmd)
		if err != nil {
			t.Fatalf("%T: %v", cmd, err)
		}
		if r, ok := rep.(*messages.OrderReply); ok && r.Order.Type == messages.Limit && r.Order.Left > 0 {
			tr.resting = append(tr.resting, r.Order)
		}
	}
}

// options draws an order's client id (often none; from a small set, so
// that some are in use, code 14), stop price (often none; near the prices
// traded, so that some are refused, code 15) and self-trade prevention.
func (tr *trader) options(m *config.Market, stp *messages.STP) (clientID string, stop int64) {
	rng := tr.rng
	if rng.IntN(2) == 0 {
		clientID = "c-" + strconv.Itoa(rng.IntN(20))
	}
	if rng.IntN(2) == 0 {
		stop = int64(95+rng.IntN(10))*pow10(m.MoneyPrec) + int64(rng.IntN(3))
	}
	*stp = messages.STP(rng.IntN(5))
	return clientID, stop
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestFollowNode runs a real node through a seeded session, with the store
// following its journal: started late, stopped mid-session, behind a sink
// that fails before and after its commits, closed under the follower and
// replaced by a new store on the same database. Every row must then equal,
// in order, what an independent model computes from the journal's events,
// the queries must page through the same rows, and the stored balance
// changes must sum to the ledgers' totals.
func TestFollowNode(t *testing.T) {
	history.EachBackend(t, func(t *testing.T, b history.Backend) {
		cfg, err := config.Parse(config.Default)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		n := testnode.Start(t, cfg, runtime.Options{DataDir: dir})
		tr := newTrader(cfg, 11)
		s := b.Open(t, b.Options(cfg))
		tr.run(t, n, 150) // before the follower starts: it reads the journal's files

		ctx, stop := context.WithCancel(context.Background())
		n.Feed.Follow(ctx, s, 32, testenv.Quiet())
		tr.run(t, n, 250)
		stop() // the follower stops mid-session
		n.Feed.Wait(s.Name())
		tr.run(t, n, 200)

		// A flaky sink: every third Apply fails before its commit, every
		// fifth after it (the caller sees an error, the rows are stored).
		calls := 0
		history.SetFault(s, func(point string) error {
			calls++
			if point == "commit" && calls%3 == 0 || point == "committed" && calls%5 == 0 {
				return errors.New("sink trouble at " + point)
			}
			return nil
		})
		ctx, stop = context.WithCancel(context.Background())
		run := n.Feed.Follow(ctx, s, 16, testenv.Quiet())
		tr.run(t, n, 250)
		s.Close() // the sink goes away under the running follower
		tr.run(t, n, 100)
		stop()
		n.Feed.Wait(s.Name())
		if run.Errors() == 0 {
			t.Error("the flaky sink never failed")
		}

		s2 := b.Open(t, b.Options(cfg)) // a new store on the same database
		ctx, stop = context.WithCancel(context.Background())
		defer stop()
		n.Feed.Follow(ctx, s2, 64, testenv.Quiet())
		tr.run(t, n, 200)
		last := n.Journal.LastLSN()
		testnode.WaitCursor(t, "history store", last, func() uint64 {
			c, _ := s2.Cursor(context.Background()) // 0 on error: not there yet
			return c
		})
		stop()
		n.Feed.Wait(s2.Name())
		if err := n.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}

		want := reference(t, cfg, dir, last)
		if len(want.orders) < 50 || len(want.deals) < 100 || len(want.balances) < 300 {
			t.Fatalf("session too small: %d finished orders, %d deal rows, %d balance rows",
				len(want.orders), len(want.deals), len(want.balances))
		}
		// The options were exercised: finished orders with each of them,
		// stops triggered, amends.
		var clientIDs, stops, triggered, tifs, postOnly, stps int
		for _, o := range want.orders {
			v := o.v
			clientIDs += btoi(v.ClientID != "")
			stops += btoi(v.StopPrice != "")
			triggered += btoi(v.Triggered)
			tifs += btoi(v.TIF != messages.GTC)
			postOnly += btoi(v.PostOnly)
			stps += btoi(v.STP != messages.STPDefault)
		}
		if clientIDs < 5 || stops < 5 || triggered < 3 || tifs < 5 || postOnly < 3 || stps < 5 || want.amended < 3 {
			t.Fatalf("options barely exercised: finished orders with client ids %d, stops %d (triggered %d), IOC/FOK %d, post-only %d, stp %d; amends %d",
				clientIDs, stops, triggered, tifs, postOnly, stps, want.amended)
		}
		t.Logf("finished orders with client ids %d, stops %d (triggered %d), IOC/FOK %d, post-only %d, stp %d; amends %d",
			clientIDs, stops, triggered, tifs, postOnly, stps, want.amended)
		checkTables(t, b, want)
		checkQueries(t, s2, want)
		checkTotals(t, cfg, dir, b)
	})
}

// expected is what the store must hold, in insertion order.
type expected struct {
	orders   []row[messages.FinishedOrder]
	deals    []row[messages.DealRecord]
	balances []balanceRow
	amended  int // OrderAmended events
}

type row[T any] struct {
	v   T
	lsn uint64
}

type balanceRow struct {
	user   uint32
	r      messages.BalanceRecord
	detail map[string]any // the detail, parsed
	lsn    uint64
}

// dec prints v units of 10^-prec the way the store must: plain, trailing
// zeros stripped (shopspring/decimal, not package fixed).
func dec(v *big.Int, prec int) string { return decimal.NewFromBigInt(v, -int32(prec)).String() }

func dec64(v int64, prec int) string { return dec(big.NewInt(v), prec) }

// refOrder is an open order as the model tracks it from the events.
type refOrder struct {
	o         messages.Order // as placed; Amount and Triggered as amended and triggered
	dealStock int64
	dealMoney big.Int
	dealFee   big.Int
	mtime     int64
}

// reference reads the journal in dir and computes, from its events alone,
// every row the store must hold: finished orders with their fills summed
// here, two deal rows per trade, and the balance changes with the totals
// tracked here, in the documented order (per trade the taker's legs, then
// the maker's — paid, received, fee — then the fee account's).
func reference(t *testing.T, cfg *config.Config, dir string, last uint64) *expected {
	t.Helper()
	out := &expected{}
	open := map[uint64]*refOrder{}
	type key struct {
		user  uint32
		asset messages.AssetID
	}
	totals := map[key]*big.Int{}
	addBalance := func(lsn uint64, tm int64, user uint32, asset messages.AssetID, business string, change *big.Int, detail map[string]any) {
		k := key{user, asset}
		if totals[k] == nil {
			totals[k] = new(big.Int)
		}
		totals[k].Add(totals[k], change)
		a := cfg.Assets[asset]
		out.balances = append(out.balances, balanceRow{user: user, lsn: lsn, detail: detail, r: messages.BalanceRecord{
			Time: tm, Asset: a.Name, Business: business, Change: dec(change, a.PrecSave), Balance: dec(totals[k], a.PrecSave)}})
	}
	neg := func(u *big.Int) *big.Int { return new(big.Int).Neg(u) }
	err := pj.ReadFiles(runtime.JournalDir(dir), 0, last, func(r pj.Record) error {
		for _, ev := range r.Events {
			switch e := ev.(type) {
			case *messages.BalanceUpdated:
				detail := map[string]any{}
				if json.Unmarshal(e.Detail, &detail) != nil || detail == nil {
					detail = map[string]any{}
				}
				detail["id"] = float64(e.BusinessID)
				change := e.Change.ToBig()
				if e.Negative {
					change.Neg(change)
				}
				addBalance(r.LSN, e.Time, e.User, e.Asset, e.Business, change, detail)
			case *messages.OrderPlaced:
				open[e.Order.ID] = &refOrder{o: e.Order, mtime: e.Order.MTime}
			case *messages.Trade:
				m := cfg.Markets[e.Market]
				ask, bid := open[e.AskOrder], open[e.BidOrder]
				if ask == nil || bid == nil {
					return fmt.Errorf("LSN %d: trade between %d and %d, not both open", r.LSN, e.AskOrder, e.BidOrder)
				}
				for _, o := range []*refOrder{ask, bid} {
					o.dealStock += e.Amount
					o.dealMoney.Add(&o.dealMoney, e.Deal.ToBig())
					o.mtime = e.Time
				}
				ask.dealFee.Add(&ask.dealFee, e.AskFee.ToBig())
				bid.dealFee.Add(&bid.dealFee, e.BidFee.ToBig())

				askRole, bidRole := messages.Maker, messages.Taker
				askRate, bidRate := ask.o.MakerFee, bid.o.TakerFee
				if e.TakerSide == messages.Ask {
					askRole, bidRole = messages.Taker, messages.Maker
					askRate, bidRate = ask.o.TakerFee, bid.o.MakerFee
				}
				price, amount := dec64(e.Price, m.MoneyPrec), dec64(e.Amount, m.StockPrec)
				deal := dec(e.Deal.ToBig(), m.MoneyAsset.PrecSave)
				askFee, bidFee := dec(e.AskFee.ToBig(), m.MoneyAsset.PrecSave), dec(e.BidFee.ToBig(), m.StockAsset.PrecSave)
				out.deals = append(out.deals,
					row[messages.DealRecord]{lsn: r.LSN, v: messages.DealRecord{Time: e.Time, User: e.AskUser, ID: e.DealID,
						OrderID: e.AskOrder, DealOrderID: e.BidOrder, Market: m.Name, Side: messages.Ask, Role: askRole,
						Price: price, Amount: amount, Deal: deal, Fee: askFee, DealFee: bidFee}},
					row[messages.DealRecord]{lsn: r.LSN, v: messages.DealRecord{Time: e.Time, User: e.BidUser, ID: e.DealID,
						OrderID: e.BidOrder, DealOrderID: e.AskOrder, Market: m.Name, Side: messages.Bid, Role: bidRole,
						Price: price, Amount: amount, Deal: deal, Fee: bidFee, DealFee: askFee}})

				legDetail := func(order uint64, rate int64, fee bool) map[string]any {
					d := map[string]any{"a": amount, "i": float64(order), "m": m.Name, "p": price}
					if fee {
						d["f"] = dec64(rate, m.Fee)
					}
					return d
				}
				askLegs := func() {
					addBalance(r.LSN, e.Time, e.AskUser, m.StockAsset.ID, "trade", neg(e.StockQty.ToBig()), legDetail(e.AskOrder, 0, false))
					addBalance(r.LSN, e.Time, e.AskUser, m.MoneyAsset.ID, "trade", e.Deal.ToBig(), legDetail(e.AskOrder, 0, false))
					if !e.AskFee.IsZero() {
						addBalance(r.LSN, e.Time, e.AskUser, m.MoneyAsset.ID, "trade", neg(e.AskFee.ToBig()), legDetail(e.AskOrder, askRate, true))
					}
				}
				bidLegs := func() {
					addBalance(r.LSN, e.Time, e.BidUser, m.MoneyAsset.ID, "trade", neg(e.Deal.ToBig()), legDetail(e.BidOrder, 0, false))
					addBalance(r.LSN, e.Time, e.BidUser, m.StockAsset.ID, "trade", e.StockQty.ToBig(), legDetail(e.BidOrder, 0, false))
					if !e.BidFee.IsZero() {
						addBalance(r.LSN, e.Time, e.BidUser, m.StockAsset.ID, "trade", neg(e.BidFee.ToBig()), legDetail(e.BidOrder, bidRate, true))
					}
				}
				if e.TakerSide == messages.Ask {
					askLegs()
					bidLegs()
				} else {
					bidLegs()
					askLegs()
				}
				if !e.AskFee.IsZero() {
					addBalance(r.LSN, e.Time, cfg.FeeUserID, m.MoneyAsset.ID, "trade", e.AskFee.ToBig(), legDetail(e.AskOrder, askRate, true))
				}
				if !e.BidFee.IsZero() {
					addBalance(r.LSN, e.Time, cfg.FeeUserID, m.StockAsset.ID, "trade", e.BidFee.ToBig(), legDetail(e.BidOrder, bidRate, true))
				}
			case *messages.StopTriggered:
				o := open[e.OrderID]
				if o == nil || o.o.StopPrice == 0 || o.o.Triggered {
					return fmt.Errorf("LSN %d: order %d triggered, not a held stop", r.LSN, e.OrderID)
				}
				o.o.Triggered, o.mtime = true, e.Time
			case *messages.OrderAmended:
				o := open[e.OrderID]
				if o == nil {
					return fmt.Errorf("LSN %d: order %d amended, not open", r.LSN, e.OrderID)
				}
				o.o.Amount, o.mtime = e.Amount, e.Time
				out.amended++
			case *messages.OrderFinished:
				o := open[e.OrderID]
				if o == nil {
					return fmt.Errorf("LSN %d: order %d finished, not open", r.LSN, e.OrderID)
				}
				delete(open, e.OrderID)
				if e.Cancelled {
					o.mtime = e.Time
				}
				m := cfg.Markets[o.o.Market]
				f := messages.FinishedOrder{ID: o.o.ID, CTime: o.o.CTime, FTime: o.mtime, User: o.o.User, Market: m.Name,
					Source: o.o.Source, Type: o.o.Type, Side: o.o.Side, Price: "0", MakerFee: "0",
					Amount: dec64(o.o.Amount, m.StockPrec), TakerFee: dec64(o.o.TakerFee, m.Fee),
					DealStock: dec64(o.dealStock, m.StockPrec), DealMoney: dec(&o.dealMoney, m.MoneyAsset.PrecSave),
					DealFee: dec(&o.dealFee, m.MoneyAsset.PrecSave), ClientID: o.o.ClientID, Triggered: o.o.Triggered,
					TIF: o.o.TIF, PostOnly: o.o.PostOnly, STP: o.o.STP}
				if o.o.StopPrice != 0 {
					f.StopPrice = dec64(o.o.StopPrice, m.MoneyPrec)
				}
				if o.o.Type == messages.Limit {
					f.Price, f.MakerFee = dec64(o.o.Price, m.MoneyPrec), dec64(o.o.MakerFee, m.Fee)
				} else if o.o.Side == messages.Bid {
					f.Amount = dec64(o.o.Amount, m.MoneyPrec)
				}
				if o.o.Side == messages.Bid {
					f.DealFee = dec(&o.dealFee, m.StockAsset.PrecSave)
				}
				out.orders = append(out.orders, row[messages.FinishedOrder]{v: f, lsn: r.LSN})
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkTables compares every stored row, in the tables' order, with the
// model: nothing missing, nothing twice, nothing else.
func checkTables(t *testing.T, b history.Backend, want *expected) {
	t.Helper()
	db := b.Raw(t)
	rows := func(query string) *sql.Rows {
		t.Helper()
		r, err := db.Query(query)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	r := rows("SELECT `time`, `user_id`, `asset`, `business`, `change`, `balance`, `detail`, `lsn` FROM `" + b.Table("balance_history") + "` ORDER BY `id`")
	i := 0
	for ; r.Next(); i++ {
		var got balanceRow
		var detail string
		if err := r.Scan(&got.r.Time, &got.user, &got.r.Asset, &got.r.Business, &got.r.Change, &got.r.Balance, &detail, &got.lsn); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(detail), &got.detail); err != nil {
			t.Fatalf("balance row %d: detail %q: %v", i, detail, err)
		}
		if i >= len(want.balances) {
			t.Fatalf("balance row %d (%+v) is extra: the journal has %d", i, got, len(want.balances))
		}
		w := want.balances[i]
		if got.user != w.user || got.lsn != w.lsn || !reflect.DeepEqual(got.detail, w.detail) || got.r.Time != w.r.Time ||
			got.r.Asset != w.r.Asset || got.r.Business != w.r.Business || got.r.Change != w.r.Change || got.r.Balance != w.r.Balance {
			t.Fatalf("balance row %d = %+v %s; want %+v %v", i, got, detail, w, w.detail)
		}
	}
	r.Close()
	if i != len(want.balances) {
		t.Fatalf("%d balance rows; want %d", i, len(want.balances))
	}

	r = rows("SELECT `time`, `user_id`, `deal_id`, `order_id`, `deal_order_id`, `market`, `side`, `role`, `price`, `amount`, `deal`, `fee`, `deal_fee`, `lsn` FROM `" +
		b.Table("deal_history") + "` ORDER BY `id`")
	i = 0
	for ; r.Next(); i++ {
		var got row[messages.DealRecord]
		d := &got.v
		if err := r.Scan(&d.Time, &d.User, &d.ID, &d.OrderID, &d.DealOrderID, &d.Market, &d.Side, &d.Role,
			&d.Price, &d.Amount, &d.Deal, &d.Fee, &d.DealFee, &got.lsn); err != nil {
			t.Fatal(err)
		}
		if i >= len(want.deals) || got != want.deals[i] {
			t.Fatalf("deal row %d = %+v; want %+v", i, got, want.deals[min(i, len(want.deals)-1)])
		}
	}
	r.Close()
	if i != len(want.deals) {
		t.Fatalf("%d deal rows; want %d", i, len(want.deals))
	}

	// Finished orders are keyed by order id: compare by id, and count.
	byID := map[uint64]row[messages.FinishedOrder]{}
	for _, o := range want.orders {
		byID[o.v.ID] = o
	}
	r = rows("SELECT `id`, `create_time`, `finish_time`, `user_id`, `market`, `source`, `t`, `side`, `price`, `amount`, " +
		"`taker_fee`, `maker_fee`, `deal_stock`, `deal_money`, `deal_fee`, `lsn`, " +
		"`client_id`, `stop_price`, `triggered`, `time_in_force`, `post_only`, `stp` FROM `" + b.Table("order_history") + "`")
	i = 0
	for ; r.Next(); i++ {
		var got row[messages.FinishedOrder]
		o := &got.v
		if err := r.Scan(&o.ID, &o.CTime, &o.FTime, &o.User, &o.Market, &o.Source, &o.Type, &o.Side, &o.Price, &o.Amount,
			&o.TakerFee, &o.MakerFee, &o.DealStock, &o.DealMoney, &o.DealFee, &got.lsn,
			&o.ClientID, &o.StopPrice, &o.Triggered, &o.TIF, &o.PostOnly, &o.STP); err != nil {
			t.Fatal(err)
		}
		w, ok := byID[o.ID]
		if ok && w.v.StopPrice == "" {
			w.v.StopPrice = "0" // the column of an order that is not a stop order
		}
		if !ok || got != w {
			t.Fatalf("finished order %+v; want %+v", got, w)
		}
	}
	r.Close()
	if i != len(want.orders) || len(byID) != len(want.orders) {
		t.Fatalf("%d finished orders stored; want %d (%d distinct)", i, len(want.orders), len(byID))
	}
}

// pages runs a query page by page (limit 7) and returns all its records.
func pages[T any](t *testing.T, s *history.Store, cmd func(offset, limit int) messages.Command, records func(messages.Reply) []T) []T {
	t.Helper()
	var all []T
	for offset := 0; ; offset += 7 {
		rep, err := s.Query(context.Background(), cmd(offset, 7))
		if err != nil {
			t.Fatal(err)
		}
		if e, ok := rep.(*messages.ErrorReply); ok {
			t.Fatalf("%#v: %v", cmd(offset, 7), e.Err)
		}
		page := records(rep)
		all = append(all, page...)
		if len(page) < 7 {
			return all
		}
	}
}

// newestFirst returns the elements of rows that keep, last first.
func newestFirst[R, T any](rows []R, keep func(R) bool, v func(R) T) []T {
	var out []T
	for i := len(rows) - 1; i >= 0; i-- {
		if keep(rows[i]) {
			out = append(out, v(rows[i]))
		}
	}
	return out
}

// checkQueries pages through every user's history with the readhistory
// commands, with and without filters, against the model.
func checkQueries(t *testing.T, s *history.Store, want *expected) {
	t.Helper()
	balances := func(rep messages.Reply) []messages.BalanceRecord { return rep.(*messages.BalanceHistoryReply).Records }
	orders := func(rep messages.Reply) []messages.FinishedOrder { return rep.(*messages.FinishedOrdersReply).Records }
	deals := func(rep messages.Reply) []messages.DealRecord { return rep.(*messages.DealHistoryReply).Records }
	mid := want.balances[len(want.balances)/2].r.Time / 1e6
	for user := uint32(1); user <= 6; user++ {
		for _, f := range []messages.BalanceHistory{
			{}, {Asset: "USDT"}, {Business: "trade"}, {Asset: "BTC", Business: "deposit"}, {Start: mid},
			{End: mid}, {Start: mid - 50, End: mid + 50}, {Asset: "nothing"},
		} {
			got := pages(t, s, func(offset, limit int) messages.Command {
				c := f
				c.User, c.Offset, c.Limit = user, offset, limit
				return &c
			}, balances)
			exp := newestFirst(want.balances, func(b balanceRow) bool {
				return b.user == user && (f.Asset == "" || b.r.Asset == f.Asset) && (f.Business == "" || b.r.Business == f.Business) &&
					(f.Start == 0 || b.r.Time >= f.Start*1e6) && (f.End == 0 || b.r.Time < f.End*1e6)
			}, func(b balanceRow) messages.BalanceRecord { return b.r })
			if len(got) != len(exp) {
				t.Fatalf("balance.history user %d %+v: %d records; want %d", user, f, len(got), len(exp))
			}
			for i := range got {
				d := got[i].Detail
				got[i].Detail = nil
				if !reflect.DeepEqual(got[i], exp[i]) || !json.Valid(d) {
					t.Fatalf("balance.history user %d %+v record %d = %+v %s; want %+v", user, f, i, got[i], d, exp[i])
				}
			}
		}
		for _, m := range []string{"BTCUSDT", "ETHUSDT", "ETHBTC"} {
			for _, f := range []messages.FinishedOrders{{}, {Side: messages.Ask}, {Side: messages.Bid, Start: mid}, {End: mid}} {
				got := pages(t, s, func(offset, limit int) messages.Command {
					c := f
					c.User, c.Market, c.Offset, c.Limit = user, m, offset, limit
					return &c
				}, orders)
				// Newest first is order id descending.
				var exp []messages.FinishedOrder
				for _, o := range want.orders {
					v := o.v
					if v.User == user && v.Market == m && (f.Side == 0 || v.Side == f.Side) &&
						(f.Start == 0 || v.CTime >= f.Start*1e6) && (f.End == 0 || v.CTime < f.End*1e6) {
						exp = append(exp, v)
					}
				}
				for i := 1; i < len(exp); i++ {
					for j := i; j > 0 && exp[j].ID > exp[j-1].ID; j-- {
						exp[j], exp[j-1] = exp[j-1], exp[j]
					}
				}
				if len(got) != len(exp) || len(exp) > 0 && !reflect.DeepEqual(got, exp) {
					t.Fatalf("order.finished user %d %s %+v = %d records; want %d\n%+v\n%+v", user, m, f, len(got), len(exp), got, exp)
				}
			}
			got := pages(t, s, func(offset, limit int) messages.Command {
				return &messages.UserDeals{User: user, Market: m, Offset: offset, Limit: limit}
			}, deals)
			exp := newestFirst(want.deals, func(d row[messages.DealRecord]) bool { return d.v.User == user && d.v.Market == m },
				func(d row[messages.DealRecord]) messages.DealRecord { return d.v })
			if !reflect.DeepEqual(got, exp) {
				t.Fatalf("market.user_deals user %d %s: %d records, want %d", user, m, len(got), len(exp))
			}
		}
	}
	for i, o := range want.orders {
		if i%3 != 0 {
			continue
		}
		rep, err := s.Query(context.Background(), &messages.FinishedOrderDetail{OrderID: o.v.ID})
		if d, ok := rep.(*messages.FinishedOrderDetailReply); err != nil || !ok || d.Order == nil || *d.Order != o.v {
			t.Fatalf("order.finished_detail %d = %#v, %v; want %+v", o.v.ID, rep, err, o.v)
		}
		got := pages(t, s, func(offset, limit int) messages.Command {
			return &messages.OrderDeals{OrderID: o.v.ID, Offset: offset, Limit: limit}
		}, deals)
		exp := newestFirst(want.deals, func(d row[messages.DealRecord]) bool { return d.v.OrderID == o.v.ID },
			func(d row[messages.DealRecord]) messages.DealRecord { return d.v })
		if !reflect.DeepEqual(got, exp) {
			t.Fatalf("order.deals %d = %+v; want %+v", o.v.ID, got, exp)
		}
	}
}

// checkTotals: per account and asset, the stored changes sum to the
// ledger's total after recovery, and the last stored balance is that total.
func checkTotals(t *testing.T, cfg *config.Config, dir string, b history.Backend) {
	t.Helper()
	state, backend, err := runtime.Recover(cfg, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	backend.Close()
	type key struct {
		user  uint32
		asset string
	}
	sum, last := map[key]decimal.Decimal{}, map[key]string{}
	r, err := b.Raw(t).Query("SELECT `user_id`, `asset`, `change`, `balance` FROM `" + b.Table("balance_history") + "` ORDER BY `id`")
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var k key
		var change, balance string
		if err := r.Scan(&k.user, &k.asset, &change, &balance); err != nil {
			t.Fatal(err)
		}
		sum[k] = sum[k].Add(decimal.RequireFromString(change))
		last[k] = balance
	}
	r.Close()
	checked := 0
	for _, l := range state.Ledgers {
		l.Each(func(user uint32, bs []messages.Balance) {
			for a := range bs {
				var total big.Int
				total.Add(bs[a].Available.ToBig(), bs[a].Frozen.ToBig())
				asset := cfg.Assets[a]
				k := key{user, asset.Name}
				want := dec(&total, asset.PrecSave)
				if got := sum[k].String(); got != want || total.Sign() != 0 && last[k] != want {
					t.Errorf("user %d %s: changes sum to %s, last balance %q; ledger total %s", user, asset.Name, got, last[k], want)
				}
				delete(sum, k)
				checked++
			}
		})
	}
	for k, v := range sum {
		if !v.IsZero() {
			t.Errorf("user %d %s: changes sum to %s; no ledger balance", k.user, k.asset, v)
		}
	}
	if checked < 10 {
		t.Fatalf("only %d balances checked", checked)
	}
}
