package events_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strconv"
	"testing"

	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/persistence/events"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
	"github.com/bourse-exchange/bourse/runtime"
	"github.com/holiman/uint256"
	"github.com/shopspring/decimal"
)

// Test configuration: assets with prec_show < prec_save and one with
// prec_save 0 money precision differences, so raw and stripped formats
// differ visibly.
const testConfig = `
fee_user_id: 0
balance_shards: 2
assets:
  - { name: BTC,  prec_save: 12, prec_show: 8 }
  - { name: ETH,  prec_save: 14, prec_show: 10 }
  - { name: USDT, prec_save: 12, prec_show: 6 }
markets:
  - { name: BTCUSDT, stock: BTC, money: USDT, stock_prec: 6, money_prec: 2, fee_prec: 4, min_amount: "0.001" }
  - { name: ETHUSDT, stock: ETH, money: USDT, stock_prec: 4, money_prec: 3, fee_prec: 3, min_amount: "0.01" }
  - { name: ETHBTC,  stock: ETH, money: BTC,  stock_prec: 5, money_prec: 5, fee_prec: 4, min_amount: "0.01" }
`

func testCfg(t testing.TB) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(testConfig))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func pow10(n int) int64 {
	p := int64(1)
	for ; n > 0; n-- {
		p *= 10
	}
	return p
}

// workload plays a seeded session through the router: deposits (some with
// more digits than prec_show), withdrawals, limit and market orders on
// every market — half of them with order options: client ids, stop prices, IOC,
// FOK, post-only, self-trade prevention — cancels (by id or client id) and
// amends. Times are the step numbers plus base.
func workload(t testing.TB, n *runtime.Node, seed uint64, steps int, base int64) {
	t.Helper()
	cfg := n.Config
	rng := rand.New(rand.NewPCG(seed, 2))
	var resting []messages.Order
	for i := 0; i < steps; i++ {
		user := uint32(1 + rng.IntN(6))
		m := cfg.Markets[rng.IntN(len(cfg.Markets))]
		side := messages.Side(1 + rng.IntN(2))
		now := base + int64(i)*1_000_003
		var cmd messages.Command
		switch k := rng.IntN(20); {
		case k < 4:
			a := cfg.Assets[rng.IntN(len(cfg.Assets))]
			change := fixed.FromInt64(int64(500+rng.IntN(5000)), 0, a.PrecSave)
			if rng.IntN(3) == 0 {
				change.Add(&change, uint256.NewInt(uint64(rng.IntN(1000)))) // below prec_show
			}
			cmd = &messages.BalanceUpdate{User: user, Asset: a.ID, Business: "deposit", BusinessID: seed<<32 | uint64(i),
				Change: change, Detail: []byte(`{"note":"t"}`), Time: now}
		case k < 5:
			a := cfg.Assets[rng.IntN(len(cfg.Assets))]
			cmd = &messages.BalanceUpdate{User: user, Asset: a.ID, Business: "withdraw", BusinessID: seed<<32 | uint64(i),
				Change: fixed.FromInt64(75, 1, a.PrecSave), Negative: true, Time: now}
		case k < 15:
			price := int64(95+rng.IntN(10))*pow10(m.MoneyPrec) + int64(rng.IntN(int(pow10(m.MoneyPrec))))
			c := &messages.PutLimit{User: user, Market: m.ID, Side: side, Amount: int64(1+rng.IntN(30)) * m.MinUnits,
				Price: price, TakerFee: int64(rng.IntN(30)), MakerFee: int64(rng.IntN(20)), Source: "src" + strconv.Itoa(i%3), Time: now}
			if rng.IntN(2) == 0 {
				c.ClientID, c.StopPrice, c.STP = options(rng, m)
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
		case k < 17:
			amt := int64(1+rng.IntN(10)) * m.MinUnits
			if side == messages.Bid {
				amt = int64(1+rng.IntN(500))*pow10(m.MoneyPrec) + 7
			}
			c := &messages.PutMarket{User: user, Market: m.ID, Side: side, Amount: amt, TakerFee: int64(rng.IntN(25)), Source: "mkt", Time: now}
			if rng.IntN(2) == 0 {
				c.ClientID, c.StopPrice, c.STP = options(rng, m)
			}
			cmd = c
		default:
			if len(resting) == 0 {
				continue
			}
			j := rng.IntN(len(resting))
			o := resting[j]
			if rng.IntN(3) == 0 { // amend; refused if dealt meanwhile or gone, which is fine
				resting[j].Amount = o.Amount - o.Amount/3
				cmd = &messages.Amend{User: o.User, Market: o.Market, OrderID: o.ID, Amount: resting[j].Amount, Time: now}
				break
			}
			resting = append(resting[:j], resting[j+1:]...)
			if o.ClientID != "" {
				cmd = &messages.Cancel{User: o.User, Market: o.Market, ClientID: o.ClientID, Time: now}
			} else {
				cmd = &messages.Cancel{User: o.User, Market: o.Market, OrderID: o.ID, Time: now}
			}
		}
		r, err := n.Router.Do(context.Background(), cmd)
		if err != nil {
			t.Errorf("%T: %v", cmd, err)
			return
		}
		if r, ok := r.(*messages.OrderReply); ok && r.Order.Left > 0 && r.Order.Type == messages.Limit {
			resting = append(resting, r.Order)
		}
	}
}

// options draws an order's client id (often none; from a small set, so
// that some are in use), stop price (often none; near the prices traded,
// so that some are refused as already reached) and self-trade prevention.
func options(rng *rand.Rand, m *config.Market) (clientID string, stop int64, stp messages.STP) {
	if rng.IntN(2) == 0 {
		clientID = "k." + strconv.Itoa(rng.IntN(12))
	}
	if rng.IntN(2) == 0 {
		stop = int64(95+rng.IntN(10))*pow10(m.MoneyPrec) + int64(rng.IntN(int(pow10(m.MoneyPrec))))
	}
	return clientID, stop, messages.STP(rng.IntN(5))
}

// want is an expected message: computed from the journal's events by the
// reference below, independently of persistence/derive and of the encoder.
type want struct {
	topic events.Topic
	key   string
	lsn   uint64
	seq   int
	value any // JSON value: json.Number for numbers
}

// refOrder is an order as the reference tracks it, in decimals.
type refOrder struct {
	id                         uint64
	m                          *config.Market
	typ                        messages.OrderType
	side                       messages.Side
	user                       uint32
	ctime, mtime               int64
	price, amount, taker, make decimal.Decimal
	left, dealStock            decimal.Decimal
	dealMoney, dealFee, frozen decimal.Decimal
	source                     string
	// Options; stop is zero for an order that is not a stop order.
	clientID  string
	stop      decimal.Decimal
	triggered bool
	tif       messages.TimeInForce
	postOnly  bool
	stp       messages.STP
	// dealAtTrigger: what it had dealt at its trigger, until it rests.
	dealAtTrigger *decimal.Decimal
}

// The options' wire names (README "Order options").
var (
	tifNames = map[messages.TimeInForce]string{messages.IOC: "IOC", messages.FOK: "FOK"}
	stpNames = map[messages.STP]string{messages.STPNone: "none", messages.STPCancelTaker: "cancel_taker",
		messages.STPCancelMaker: "cancel_maker", messages.STPCancelBoth: "cancel_both"}
)

func dInt(v int64, scale int) decimal.Decimal { return decimal.New(v, -int32(scale)) }

func dU(u *uint256.Int, scale int) decimal.Decimal {
	return decimal.NewFromBigInt(u.ToBig(), -int32(scale))
}

func num(s string) json.Number { return json.Number(s) }

func tnum(us int64) json.Number { return json.Number(decimal.New(us, -6).String()) }

func (o *refOrder) info() map[string]any {
	m := o.m
	marketOrder := o.typ == messages.Market
	price, maker, left := o.price.String(), o.make.String(), o.left.String()
	if marketOrder {
		price, maker = "0", "0"
		if o.side == messages.Bid {
			left = o.frozen.String()
		}
	}
	info := map[string]any{
		"id": num(strconv.FormatUint(o.id, 10)), "market": m.Name, "source": o.source,
		"type": num(strconv.Itoa(int(o.typ))), "side": num(strconv.Itoa(int(o.side))), "user": num(strconv.Itoa(int(o.user))),
		"ctime": tnum(o.ctime), "mtime": tnum(o.mtime), "price": price, "amount": o.amount.String(),
		"taker_fee": o.taker.String(), "maker_fee": maker, "left": left, "deal_stock": o.dealStock.String(),
		"deal_money": o.dealMoney.String(), "deal_fee": o.dealFee.String(),
	}
	// Options appear only when set.
	if o.clientID != "" {
		info["client_id"] = o.clientID
	}
	if !o.stop.IsZero() {
		info["stop_price"], info["triggered"] = o.stop.String(), o.triggered
	}
	if o.tif != messages.GTC {
		info["time_in_force"] = tifNames[o.tif]
	}
	if o.postOnly {
		info["post_only"] = true
	}
	if o.stp != messages.STPDefault {
		info["stp"] = stpNames[o.stp]
	}
	return info
}

// reference reads the journal under dir and computes every message the
// publisher must send, per topic in journal order.
func reference(t testing.TB, cfg *config.Config, dir string, upto uint64) []want {
	t.Helper()
	orders := map[uint64]*refOrder{}
	var out []want
	err := pj.ReadFiles(runtime.JournalDir(dir), 0, upto, func(r pj.Record) error {
		var seq [3]int
		emit := func(tp events.Topic, key string, v any) {
			out = append(out, want{tp, key, r.LSN, seq[tp], v})
			seq[tp]++
		}
		for _, ev := range r.Events {
			switch e := ev.(type) {
			case *messages.BalanceUpdated:
				a := cfg.Assets[e.Asset]
				d := dU(&e.Change, a.PrecSave)
				if e.Negative {
					d = d.Neg()
				}
				s := d.StringFixed(int32(a.PrecSave))
				if d.Equal(d.Truncate(int32(a.Show()))) {
					s = d.StringFixed(int32(a.Show()))
				}
				emit(events.Balances, strconv.Itoa(int(e.User)),
					[]any{tnum(e.Time), num(strconv.Itoa(int(e.User))), a.Name, e.Business, s})
			case *messages.OrderPlaced:
				o := e.Order
				m := cfg.Markets[o.Market]
				amountScale := m.StockPrec
				if o.Type == messages.Market && o.Side == messages.Bid {
					amountScale = m.MoneyPrec
				}
				frozenScale := m.StockAsset.PrecSave
				if o.Side == messages.Bid {
					frozenScale = m.MoneyAsset.PrecSave
				}
				orders[o.ID] = &refOrder{
					id: o.ID, m: m, typ: o.Type, side: o.Side, user: o.User, ctime: o.CTime, mtime: o.MTime,
					price: dInt(o.Price, m.MoneyPrec), amount: dInt(o.Amount, amountScale),
					taker: dInt(o.TakerFee, m.Fee), make: dInt(o.MakerFee, m.Fee),
					left: dInt(o.Amount, amountScale), frozen: dU(&o.Frozen, frozenScale), source: o.Source,
					clientID: o.ClientID, stop: dInt(o.StopPrice, m.MoneyPrec), triggered: o.Triggered,
					tif: o.TIF, postOnly: o.PostOnly, stp: o.STP,
				}
				if o.Type == messages.Market && o.Side == messages.Bid {
					orders[o.ID].left = decimal.Zero
				}
			case *messages.Trade:
				m := cfg.Markets[e.Market]
				ask, bid := orders[e.AskOrder], orders[e.BidOrder]
				if ask == nil || bid == nil {
					return fmt.Errorf("LSN %d: deal %d of unknown orders", r.LSN, e.DealID)
				}
				amount := dInt(e.Amount, m.StockPrec)
				deal := dU(&e.Deal, m.MoneyAsset.PrecSave)
				askFee, bidFee := dU(&e.AskFee, m.MoneyAsset.PrecSave), dU(&e.BidFee, m.StockAsset.PrecSave)
				for _, o := range []*refOrder{ask, bid} {
					o.dealStock = o.dealStock.Add(amount)
					o.dealMoney = o.dealMoney.Add(deal)
					o.mtime = e.Time
				}
				ask.left = ask.left.Sub(amount)
				ask.dealFee = ask.dealFee.Add(askFee)
				ask.frozen = ask.frozen.Sub(dU(&e.StockQty, m.StockAsset.PrecSave))
				if bid.typ == messages.Limit {
					bid.left = bid.left.Sub(amount)
				}
				bid.dealFee = bid.dealFee.Add(bidFee)
				bid.frozen = bid.frozen.Sub(dU(&e.BidFrozen, m.MoneyAsset.PrecSave))
				emit(events.Deals, m.Name, []any{
					tnum(e.Time), m.Name, num(strconv.FormatUint(e.AskOrder, 10)), num(strconv.FormatUint(e.BidOrder, 10)),
					num(strconv.Itoa(int(e.AskUser))), num(strconv.Itoa(int(e.BidUser))),
					dInt(e.Price, m.MoneyPrec).StringFixed(int32(m.MoneyPrec)), amount.StringFixed(int32(m.StockPrec)),
					askFee.StringFixed(int32(m.MoneyAsset.PrecSave)), bidFee.StringFixed(int32(m.StockAsset.PrecSave)),
					num(strconv.Itoa(int(e.TakerSide))), num(strconv.FormatUint(e.DealID, 10)), m.Stock, m.Money,
				})
				maker := ask
				if e.TakerSide == messages.Ask {
					maker = bid
				}
				if maker.left.IsPositive() {
					emit(events.Orders, m.Name, orderMsg(2, maker))
				}
			case *messages.OrderRested:
				o := orders[e.OrderID]
				event := 1 // PUT: a new order rests, or a stop order is held
				if o.triggered {
					event = 2 // the stop was PUT when it was held
					if o.dealAtTrigger != nil && o.dealAtTrigger.Equal(o.dealStock) {
						o.dealAtTrigger = nil
						break // no trade since its trigger's UPDATE: nothing new to say
					}
				}
				emit(events.Orders, cfg.Markets[e.Market].Name, orderMsg(event, o))
			case *messages.StopTriggered:
				o := orders[e.OrderID]
				if o == nil || o.stop.IsZero() || o.triggered {
					return fmt.Errorf("LSN %d: order %d triggered, not a held stop", r.LSN, e.OrderID)
				}
				o.triggered, o.mtime = true, e.Time
				dealt := o.dealStock
				o.dealAtTrigger = &dealt
				emit(events.Orders, cfg.Markets[e.Market].Name, orderMsg(2, o))
			case *messages.OrderAmended:
				o := orders[e.OrderID]
				if o == nil {
					return fmt.Errorf("LSN %d: order %d amended, not open", r.LSN, e.OrderID)
				}
				m := cfg.Markets[e.Market]
				frozenScale := m.StockAsset.PrecSave
				if o.side == messages.Bid {
					frozenScale = m.MoneyAsset.PrecSave
				}
				o.amount, o.left, o.mtime = dInt(e.Amount, m.StockPrec), dInt(e.Left, m.StockPrec), e.Time
				o.frozen = o.frozen.Sub(dU(&e.Release, frozenScale))
				emit(events.Orders, m.Name, orderMsg(2, o))
			case *messages.OrderFinished:
				o := orders[e.OrderID]
				if e.Cancelled {
					o.mtime = e.Time
				}
				emit(events.Orders, cfg.Markets[e.Market].Name, orderMsg(3, o))
				delete(orders, e.OrderID)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkExercised fails the test unless the orders messages of wants show
// every option a few times, and the journal under dir (up to upto) has
// stops triggered and orders amended.
func checkExercised(t testing.TB, wants []want, dir string, upto uint64) {
	t.Helper()
	n := map[string]int{}
	for _, w := range wants {
		if msg, ok := w.value.(map[string]any); ok {
			info := msg["order"].(map[string]any)
			for _, k := range []string{"client_id", "stop_price", "time_in_force", "post_only", "stp"} {
				if _, ok := info[k]; ok {
					n[k]++
				}
			}
		}
	}
	err := pj.ReadFiles(runtime.JournalDir(dir), 0, upto, func(r pj.Record) error {
		for _, ev := range r.Events {
			switch ev.(type) {
			case *messages.StopTriggered:
				n["StopTriggered"]++
			case *messages.OrderAmended:
				n["OrderAmended"]++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"client_id", "stop_price", "time_in_force", "post_only", "stp", "StopTriggered", "OrderAmended"} {
		if n[k] < 3 {
			t.Fatalf("options barely exercised: %v", n)
		}
	}
	t.Logf("orders messages with options, events: %v", n)
}

func orderMsg(event int, o *refOrder) map[string]any {
	return map[string]any{"event": num(strconv.Itoa(event)), "order": o.info(), "stock": o.m.Stock, "money": o.m.Money}
}

// sameJSON compares a decoded message with an expected value: numbers by
// value (decimal), strings exactly (the decimal format is the contract).
func sameJSON(got, want any) bool {
	switch w := want.(type) {
	case json.Number:
		g, ok := got.(json.Number)
		if !ok {
			return false
		}
		gd, err1 := decimal.NewFromString(string(g))
		wd, err2 := decimal.NewFromString(string(w))
		return err1 == nil && err2 == nil && gd.Equal(wd)
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !sameJSON(g[i], w[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, wv := range w {
			if gv, ok := g[k]; !ok || !sameJSON(gv, wv) {
				return false
			}
		}
		return true
	default:
		return reflect.DeepEqual(got, want)
	}
}

func decode(t testing.TB, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("message %s: %v", b, err)
	}
	return v
}

// got is a message as a consumer received it.
type got struct {
	topic     events.Topic
	partition int32
	offset    int64
	key       string
	value     []byte
	lsn, seq  uint64
	acked     uint64
}

// dedupe applies the consumer rule to each partition (in offset order):
// drop a message whose (lsn, seq) is not above the last one taken. It
// returns the messages taken and how many were dropped, and fails the test
// if a dropped message is not a copy (key, value, lsn, seq) of one taken
// before.
func dedupe(t testing.TB, msgs []got) (taken []got, dropped int) {
	t.Helper()
	sort.SliceStable(msgs, func(i, j int) bool {
		a, b := msgs[i], msgs[j]
		if a.topic != b.topic {
			return a.topic < b.topic
		}
		if a.partition != b.partition {
			return a.partition < b.partition
		}
		return a.offset < b.offset
	})
	type part struct {
		topic events.Topic
		p     int32
	}
	type id struct {
		topic    events.Topic
		lsn, seq uint64
	}
	last := map[part][2]uint64{}
	seen := map[id]got{}
	for _, m := range msgs {
		k := part{m.topic, m.partition}
		l, ok := last[k]
		if ok && (m.lsn < l[0] || m.lsn == l[0] && m.seq <= l[1]) {
			dropped++
			first, ok := seen[id{m.topic, m.lsn, m.seq}]
			if !ok || first.key != m.key || !bytes.Equal(first.value, m.value) {
				t.Errorf("%v/%d@%d: duplicate (lsn %d, seq %d) %q %s is not a copy of an earlier message (%v: %q %s)",
					m.topic, m.partition, m.offset, m.lsn, m.seq, m.key, m.value, ok, first.key, first.value)
			}
			continue
		}
		last[k] = [2]uint64{m.lsn, m.seq}
		seen[id{m.topic, m.lsn, m.seq}] = m
		taken = append(taken, m)
	}
	return taken, dropped
}

// check compares the messages taken (after dedupe) with the reference: per
// topic and key, the same messages in the same order; every acked header
// below its message's LSN.
func check(t testing.TB, taken []got, wants []want) {
	t.Helper()
	type tk struct {
		topic events.Topic
		key   string
	}
	gotBy := map[tk][]got{}
	for _, m := range taken {
		gotBy[tk{m.topic, m.key}] = append(gotBy[tk{m.topic, m.key}], m)
		if m.acked >= m.lsn {
			t.Errorf("%v/%d@%d: acked %d not below lsn %d", m.topic, m.partition, m.offset, m.acked, m.lsn)
		}
	}
	wantBy := map[tk][]want{}
	for _, w := range wants {
		wantBy[tk{w.topic, w.key}] = append(wantBy[tk{w.topic, w.key}], w)
	}
	for k, ws := range wantBy {
		gs := gotBy[k]
		if len(gs) != len(ws) {
			t.Errorf("%v key %q: %d messages; want %d", k.topic, k.key, len(gs), len(ws))
		}
		for i := 0; i < min(len(gs), len(ws)); i++ {
			g, w := gs[i], ws[i]
			if g.lsn != w.lsn || g.seq != uint64(w.seq) || !sameJSON(decode(t, g.value), w.value) {
				wj, _ := json.Marshal(w.value)
				t.Errorf("%v key %q #%d: lsn %d seq %d %s\nwant lsn %d seq %d %s", k.topic, k.key, i, g.lsn, g.seq, g.value, w.lsn, w.seq, wj)
				break
			}
		}
	}
	for k, gs := range gotBy {
		if _, ok := wantBy[k]; !ok {
			t.Errorf("%v key %q: %d unexpected messages, first %s", k.topic, k.key, len(gs), gs[0].value)
		}
	}
}
