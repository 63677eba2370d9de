package httprpc

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/bourse-exchange/bourse/internal/testenv"
	"github.com/bourse-exchange/bourse/internal/wire"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/persistence/derive"
	"github.com/bourse-exchange/bourse/persistence/history"
	"github.com/holiman/uint256"
)

// Records used as scripted history replies.
var (
	historyOrder = messages.FinishedOrder{ID: 3073, CTime: 1700000000123456, FTime: 1700000001000000, User: 7,
		Market: "BTCUSDT", Source: `w"b`, Type: messages.Limit, Side: messages.Bid, Price: "30000.12", Amount: "1.5",
		TakerFee: "0.002", MakerFee: "0.001", DealStock: "1", DealMoney: "30000.12", DealFee: "0.002"}
	historyOrderJSON = `{"id":3073,"ctime":1700000000.123456,"ftime":1700000001.0,"user":7,"market":"BTCUSDT",` +
		`"source":"w\"b","type":1,"side":2,"price":"30000.12","amount":"1.5","taker_fee":"0.002","maker_fee":"0.001",` +
		`"deal_stock":"1","deal_money":"30000.12","deal_fee":"0.002"}`
	// A stop-limit order with every option set.
	historyOptionsOrder = messages.FinishedOrder{ID: 4097, CTime: 1700000000000000, FTime: 1700000002000000, User: 7,
		Market: "BTCUSDT", Source: "api", Type: messages.Limit, Side: messages.Ask, Price: "29000", Amount: "0.5",
		TakerFee: "0.002", MakerFee: "0.001", DealStock: "0.5", DealMoney: "14500", DealFee: "14.5",
		ClientID: "tp-1:a_b.c", StopPrice: "29100.5", Triggered: true, TIF: messages.IOC, PostOnly: true, STP: messages.STPCancelBoth}
	historyOptionsOrderJSON = `{"id":4097,"ctime":1700000000.0,"ftime":1700000002.0,"user":7,"market":"BTCUSDT",` +
		`"source":"api","type":1,"side":1,"price":"29000","amount":"0.5","taker_fee":"0.002","maker_fee":"0.001",` +
		`"deal_stock":"0.5","deal_money":"14500","deal_fee":"14.5","client_id":"tp-1:a_b.c","stop_price":"29100.5",` +
		`"triggered":true,"time_in_force":"IOC","post_only":true,"stp":"cancel_both"}`
	historyDeal = messages.DealRecord{Time: 1700000002500000, User: 7, ID: 5121, OrderID: 3073, DealOrderID: 2049,
		Market: "BTCUSDT", Side: messages.Bid, Role: messages.Taker, Price: "30000.12", Amount: "1", Deal: "30000.12",
		Fee: "0.002", DealFee: "30.00012"}
)

func TestHistoryMethods(t *testing.T) {
	tests := []struct {
		name   string
		method string
		params string
		reply  messages.Reply
		want   messages.Command
		result string
	}{
		{
			name: "balance.history", method: "balance.history", params: `[7,"USDT","trade",1700000000,1700003600,5,2]`,
			reply: &messages.BalanceHistoryReply{Records: []messages.BalanceRecord{
				{Time: 1700000001000001, Asset: "USDT", Business: "trade", Change: "-30000.12", Balance: "0.5",
					Detail: []byte(`{"a":"1","i":3073,"m":"BTCUSDT","p":"30000.12"}`)},
				{Time: 1700000000000000, Asset: "USDT", Business: "trade", Change: "30000.62", Balance: "30000.62",
					Detail: []byte(`[1]`)},
			}},
			want: &messages.BalanceHistory{User: 7, Asset: "USDT", Business: "trade", Start: 1700000000, End: 1700003600, Offset: 5, Limit: 2},
			result: `{"offset":5,"limit":2,"records":[` +
				`{"time":1700000001.000001,"asset":"USDT","business":"trade","change":"-30000.12","balance":"0.5","detail":{"a":"1","i":3073,"m":"BTCUSDT","p":"30000.12"}},` +
				`{"time":1700000000.0,"asset":"USDT","business":"trade","change":"30000.62","balance":"30000.62","detail":{}}]}`,
		},
		{
			// Numbers that are not JSON integers read as 0; "" filters
			// nothing; names are not checked against configuration.
			name: "balance.history lenient", method: "balance.history", params: `[7,"","","5",1.5,true,101]`,
			reply:  &messages.BalanceHistoryReply{},
			want:   &messages.BalanceHistory{User: 7, Limit: 101},
			result: `{"offset":0,"limit":101,"records":[]}`,
		},
		{
			name: "balance.history bad detail", method: "balance.history", params: `[7,"XYZ","",0,0,0,1]`,
			reply: &messages.BalanceHistoryReply{Records: []messages.BalanceRecord{
				{Time: 1, Asset: "XYZ", Business: "b", Change: "1", Balance: "1", Detail: []byte(`{"a":`)}}},
			want:   &messages.BalanceHistory{User: 7, Asset: "XYZ", Limit: 1},
			result: `{"offset":0,"limit":1,"records":[{"time":0.000001,"asset":"XYZ","business":"b","change":"1","balance":"1","detail":{}}]}`,
		},
		{
			name: "balance.history start = end", method: "balance.history", params: `[7,"","",5,5,0,1]`,
			reply: &messages.BalanceHistoryReply{}, want: &messages.BalanceHistory{User: 7, Start: 5, End: 5, Limit: 1},
			result: `{"offset":0,"limit":1,"records":[]}`,
		},
		{
			name: "balance.history start, no end", method: "balance.history", params: `[7,"","",9,0,0,1]`,
			reply: &messages.BalanceHistoryReply{}, want: &messages.BalanceHistory{User: 7, Start: 9, Limit: 1},
			result: `{"offset":0,"limit":1,"records":[]}`,
		},
		{
			name: "order.finished", method: "order.finished", params: `[7,"BTCUSDT",0,0,0,10]`,
			reply:  &messages.FinishedOrdersReply{Records: []messages.FinishedOrder{historyOrder, historyOrder}},
			want:   &messages.FinishedOrders{User: 7, Market: "BTCUSDT", Limit: 10},
			result: `{"offset":0,"limit":10,"records":[` + historyOrderJSON + `,` + historyOrderJSON + `]}`,
		},
		{
			name: "order.finished side", method: "order.finished", params: `[7,"BTCUSDT",10,20,3,4,2]`,
			reply:  &messages.FinishedOrdersReply{},
			want:   &messages.FinishedOrders{User: 7, Market: "BTCUSDT", Side: messages.Bid, Start: 10, End: 20, Offset: 3, Limit: 4},
			result: `{"offset":3,"limit":4,"records":[]}`,
		},
		{
			name: "order.finished side not an integer, extra param", method: "order.finished", params: `[7,"nowhere",0,0,0,1,"2",9]`,
			reply:  &messages.FinishedOrdersReply{},
			want:   &messages.FinishedOrders{User: 7, Market: "nowhere", Limit: 1},
			result: `{"offset":0,"limit":1,"records":[]}`,
		},
		{
			name: "order.finished_detail", method: "order.finished_detail", params: `[3073]`,
			reply:  &messages.FinishedOrderDetailReply{Order: &historyOrder},
			want:   &messages.FinishedOrderDetail{OrderID: 3073},
			result: historyOrderJSON,
		},
		{
			name: "order.finished_detail options", method: "order.finished_detail", params: `[4097]`,
			reply:  &messages.FinishedOrderDetailReply{Order: &historyOptionsOrder},
			want:   &messages.FinishedOrderDetail{OrderID: 4097},
			result: historyOptionsOrderJSON,
		},
		{
			name: "order.finished with and without options", method: "order.finished", params: `[7,"BTCUSDT",0,0,0,2]`,
			reply:  &messages.FinishedOrdersReply{Records: []messages.FinishedOrder{historyOptionsOrder, historyOrder}},
			want:   &messages.FinishedOrders{User: 7, Market: "BTCUSDT", Limit: 2},
			result: `{"offset":0,"limit":2,"records":[` + historyOptionsOrderJSON + `,` + historyOrderJSON + `]}`,
		},
		{
			name: "order.finished_detail null", method: "order.finished_detail", params: `[18446744073709551615]`,
			reply:  &messages.FinishedOrderDetailReply{},
			want:   &messages.FinishedOrderDetail{OrderID: 18446744073709551615},
			result: `null`,
		},
		{
			name: "order.deals", method: "order.deals", params: `[3073,0,1]`,
			reply: &messages.DealHistoryReply{Records: []messages.DealRecord{historyDeal}},
			want:  &messages.OrderDeals{OrderID: 3073, Limit: 1},
			result: `{"offset":0,"limit":1,"records":[{"time":1700000002.5,"user":7,"id":5121,"role":2,"price":"30000.12",` +
				`"amount":"1","deal":"30000.12","fee":"0.002","deal_order_id":2049}]}`,
		},
		{
			name: "market.user_deals", method: "market.user_deals", params: `[7,"BTCUSDT",1,100]`,
			reply: &messages.DealHistoryReply{Records: []messages.DealRecord{historyDeal}},
			want:  &messages.UserDeals{User: 7, Market: "BTCUSDT", Offset: 1, Limit: 100},
			result: `{"offset":1,"limit":100,"records":[{"time":1700000002.5,"user":7,"id":5121,"side":2,"role":2,"price":"30000.12",` +
				`"amount":"1","deal":"30000.12","fee":"0.002","deal_order_id":2049,"market":"BTCUSDT"}]}`,
		},
		{
			name: "store unavailable", method: "market.user_deals", params: `[7,"BTCUSDT",0,10]`,
			reply:  &messages.ErrorReply{Err: messages.ErrUnavailable},
			want:   &messages.UserDeals{User: 7, Market: "BTCUSDT", Limit: 10},
			result: "error:3:service unavailable",
		},
		{
			name: "store failed", method: "balance.history", params: `[7,"","",0,0,0,10]`,
			reply:  &messages.ErrorReply{Err: messages.ErrInternal},
			want:   &messages.BalanceHistory{User: 7, Limit: 10},
			result: "error:2:internal error",
		},
		{
			name: "wrong reply", method: "order.deals", params: `[1,0,10]`,
			reply:  &messages.StatusReply{},
			want:   &messages.OrderDeals{OrderID: 1, Limit: 10},
			result: "error:2:internal error",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := newTestServer(t)
			f.reply = func(context.Context, messages.Command) (messages.Reply, error) { return tt.reply, nil }
			code, body := post(s.Handler(), `{"method":"`+tt.method+`","params":`+tt.params+`,"id":99}`)
			if code != 200 {
				t.Fatalf("status = %d (body %q); want 200", code, body)
			}
			want := `{"error":null,"result":` + tt.result + `,"id":99}`
			if e, ok := strings.CutPrefix(tt.result, "error:"); ok {
				code, msg, _ := strings.Cut(e, ":")
				want = `{"error":{"code":` + code + `,"message":"` + msg + `"},"result":null,"id":99}`
			}
			if body != want {
				t.Errorf("body =\n%s\nwant\n%s", body, want)
			}
			if !json.Valid([]byte(body)) {
				t.Errorf("body is not valid JSON")
			}
			if got := f.commands(); len(got) != 1 || !reflect.DeepEqual(got[0], tt.want) {
				t.Errorf("commands =\n%s\nwant\n  %T %+v", dump(got), tt.want, tt.want)
			}
		})
	}
}

// TestHistoryInvalidArgument: every bad input answers code 1 and sends
// nothing.
func TestHistoryInvalidArgument(t *testing.T) {
	tests := []struct{ method, params string }{
		// balance.history: exactly 7 params
		{"balance.history", `[7,"","",0,0,0]`},
		{"balance.history", `[7,"","",0,0,0,10,1]`},
		{"balance.history", `[]`},
		{"balance.history", `[0,"","",0,0,0,10]`},          // user 0
		{"balance.history", `["7","","",0,0,0,10]`},        // user not an integer: 0
		{"balance.history", `[7.0,"","",0,0,0,10]`},        // likewise
		{"balance.history", `[-7,"","",0,0,0,10]`},         // negative
		{"balance.history", `[4294967296,"","",0,0,0,10]`}, // above 32 bits
		{"balance.history", `[7,null,"",0,0,0,10]`},        // asset not a string
		{"balance.history", `[7,1,"",0,0,0,10]`},
		{"balance.history", `[7,"",null,0,0,0,10]`}, // business not a string
		{"balance.history", `[7,"",{},0,0,0,10]`},
		{"balance.history", `[7,"","",20,10,0,10]`}, // start > end
		{"balance.history", `[7,"","",-1,0,0,10]`},  // negative time
		{"balance.history", `[7,"","",0,-1,0,10]`},
		{"balance.history", `[7,"","",0,9223372036854775808,0,10]`},
		{"balance.history", `[7,"","",0,0,-1,10]`}, // negative offset
		{"balance.history", `[7,"","",0,0,0,0]`},   // limit 0
		{"balance.history", `[7,"","",0,0,0,102]`}, // limit above 101
		{"balance.history", `[7,"","",0,0,0,-1]`},
		{"balance.history", `[7,"","",0,0,0,"10"]`}, // limit not an integer: 0
		{"balance.history", `[7,"","",0,0,0,10.0]`},
		// order.finished: 6 or more params
		{"order.finished", `[7,"BTCUSDT",0,0,0]`},
		{"order.finished", `[0,"BTCUSDT",0,0,0,10]`},
		{"order.finished", `[null,"BTCUSDT",0,0,0,10]`},
		{"order.finished", `[7,null,0,0,0,10]`}, // market not a string
		{"order.finished", `[7,["BTCUSDT"],0,0,0,10]`},
		{"order.finished", `[7,"BTCUSDT",2,1,0,10]`}, // start > end
		{"order.finished", `[7,"BTCUSDT",0,0,-5,10]`},
		{"order.finished", `[7,"BTCUSDT",0,0,0,0]`},
		{"order.finished", `[7,"BTCUSDT",0,0,0,102]`},
		{"order.finished", `[7,"BTCUSDT",0,0,0,10,3]`}, // side
		{"order.finished", `[7,"BTCUSDT",0,0,0,10,-1]`},
		// order.deals: exactly 3
		{"order.deals", `[1,0]`},
		{"order.deals", `[1,0,10,1]`},
		{"order.deals", `[0,0,10]`}, // order 0
		{"order.deals", `["1",0,10]`},
		{"order.deals", `[-1,0,10]`},
		{"order.deals", `[18446744073709551616,0,10]`},
		{"order.deals", `[1,-1,10]`},
		{"order.deals", `[1,0,0]`},
		{"order.deals", `[1,0,102]`},
		// order.finished_detail: exactly 1
		{"order.finished_detail", `[]`},
		{"order.finished_detail", `[1,2]`},
		{"order.finished_detail", `[0]`},
		{"order.finished_detail", `[1.5]`},
		{"order.finished_detail", `["1"]`},
		{"order.finished_detail", `[-1]`},
		// market.user_deals: exactly 4
		{"market.user_deals", `[7,"BTCUSDT",0]`},
		{"market.user_deals", `[7,"BTCUSDT",0,10,1]`},
		{"market.user_deals", `[0,"BTCUSDT",0,10]`},
		{"market.user_deals", `[true,"BTCUSDT",0,10]`},
		{"market.user_deals", `[7,5,0,10]`},
		{"market.user_deals", `[7,"BTCUSDT",-1,10]`},
		{"market.user_deals", `[7,"BTCUSDT",0,0]`},
		{"market.user_deals", `[7,"BTCUSDT",0,102]`},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.params, func(t *testing.T) {
			s, f := newTestServer(t)
			code, body := post(s.Handler(), envelope(tt.method, tt.params))
			if code != 200 || !isArgError(body, 1) {
				t.Errorf("%s %s = %d %s; want 200 and code 1 naming the param", tt.method, tt.params, code, body)
			}
			if cmds := f.commands(); len(cmds) != 0 {
				t.Errorf("sent %s", dump(cmds))
			}
		})
	}
}

// TestHistoryWithStore: the methods in front of a real history store
// (SQLite), from derived records to JSON.
func TestHistoryWithStore(t *testing.T) {
	cfg := loadTestConfig(t)
	st := openSQLiteStore(t, cfg)
	// ETHBTC: stock ETH (prec_save 10), money BTC (prec_save 14),
	// stock_prec 4, money_prec 6, fee_prec 3. User 9 sells 2.5 ETH at
	// 0.065 to user 4's market buy.
	ask := messages.Order{ID: 1<<10 | 1, Market: 1, Type: messages.Limit, Side: messages.Ask, User: 9,
		CTime: 1700000000000001, MTime: 1700000000100000, Price: 65000, Amount: 25000, TakerFee: 2, MakerFee: 1,
		DealStock: 25000, DealMoney: u256("16250000000000"), DealFee: u256("16250000000"), Source: "web"}
	bid := messages.Order{ID: 2<<10 | 1, Market: 1, Type: messages.Market, Side: messages.Bid, User: 4,
		CTime: 1700000000100000, MTime: 1700000000100000, Amount: 200000, TakerFee: 5, DealStock: 25000,
		DealMoney: u256("16250000000000"), DealFee: u256("125000000"), Source: "api"}
	trade := &messages.Trade{Market: 1, DealID: 1<<10 | 1, Time: 1700000000100000, TakerSide: messages.Bid,
		AskOrder: ask.ID, BidOrder: bid.ID, AskUser: 9, BidUser: 4, Price: 65000, Amount: 25000, Stock: 2, Money: 0,
		StockQty: u256("25000000000"), Deal: u256("16250000000000"), AskFee: u256("16250000000"), BidFee: u256("125000000")}
	records := []derive.Record{{
		LSN: 1,
		Balances: []derive.BalanceChange{{Time: 1700000000000000, User: 9, Asset: 2, Business: "deposit",
			Change: u256("30000000000"), Balance: u256("30000000000"), Detail: []byte(`{"id":1}`), Update: true}},
	}, {
		LSN:    2,
		Orders: []derive.OrderChange{{Event: derive.OrderFinish, Order: ask}, {Event: derive.OrderFinish, Order: bid}},
		Deals:  []*messages.Trade{trade},
		Balances: []derive.BalanceChange{{Time: 1700000000100000, User: 9, Asset: 2, Business: "trade",
			Change: u256("25000000000"), Negative: true, Balance: u256("5000000000"),
			Detail: []byte(`{"a":"2.5","i":2049,"m":"ETHBTC","p":"0.065"}`)}},
	}}
	if err := st.Apply(context.Background(), records); err != nil {
		t.Fatal(err)
	}
	s, f := newTestServer(t)
	f.reply = func(ctx context.Context, cmd messages.Command) (messages.Reply, error) { return st.Query(ctx, cmd) }
	for _, tc := range []struct{ method, params, result string }{
		{"balance.history", `[9,"ETH","",0,0,0,10]`, `{"offset":0,"limit":10,"records":[` +
			`{"time":1700000000.1,"asset":"ETH","business":"trade","change":"-2.5","balance":"0.5","detail":{"a":"2.5","i":2049,"m":"ETHBTC","p":"0.065"}},` +
			`{"time":1700000000.0,"asset":"ETH","business":"deposit","change":"3","balance":"3","detail":{"id":1}}]}`},
		{"balance.history", `[9,"ETH","deposit",0,1700000000,0,10]`, `{"offset":0,"limit":10,"records":[]}`},
		{"order.finished", `[4,"ETHBTC",0,0,0,10]`, `{"offset":0,"limit":10,"records":[` +
			`{"id":2049,"ctime":1700000000.1,"ftime":1700000000.1,"user":4,"market":"ETHBTC","source":"api","type":2,"side":2,` +
			`"price":"0","amount":"0.2","taker_fee":"0.005","maker_fee":"0","deal_stock":"2.5","deal_money":"0.1625","deal_fee":"0.0125"}]}`},
		{"order.finished_detail", `[1025]`, `{"id":1025,"ctime":1700000000.000001,"ftime":1700000000.1,"user":9,"market":"ETHBTC",` +
			`"source":"web","type":1,"side":1,"price":"0.065","amount":"2.5","taker_fee":"0.002","maker_fee":"0.001",` +
			`"deal_stock":"2.5","deal_money":"0.1625","deal_fee":"0.0001625"}`},
		{"order.finished_detail", `[1026]`, `null`},
		{"order.deals", `[1025,0,10]`, `{"offset":0,"limit":10,"records":[{"time":1700000000.1,"user":9,"id":1025,"role":1,` +
			`"price":"0.065","amount":"2.5","deal":"0.1625","fee":"0.0001625","deal_order_id":2049}]}`},
		{"market.user_deals", `[4,"ETHBTC",0,10]`, `{"offset":0,"limit":10,"records":[{"time":1700000000.1,"user":4,"id":1025,"side":2,` +
			`"role":2,"price":"0.065","amount":"2.5","deal":"0.1625","fee":"0.0125","deal_order_id":1025,"market":"ETHBTC"}]}`},
		{"market.user_deals", `[4,"ETHBTC",1,10]`, `{"offset":1,"limit":10,"records":[]}`},
	} {
		code, body := post(s.Handler(), envelope(tc.method, tc.params))
		if want := fmt.Sprintf(`{"error":null,"result":%s,"id":1}`, tc.result); code != 200 || body != want {
			t.Errorf("%s %s =\n%d %s\nwant\n%s", tc.method, tc.params, code, body, want)
		}
	}
}

// TestHistoryOptionsAsLive: an order with options reads in history as it
// printed live. Random orders of every kind and option are stored finished
// in a real history store (SQLite); order.finished_detail's record ends with
// the same members, from "deal_fee" on, as the order info the HTTP API,
// Kafka and the websocket print (wire.AppendOrder).
func TestHistoryOptionsAsLive(t *testing.T) {
	cfg := loadTestConfig(t)
	st := openSQLiteStore(t, cfg)
	rng := rand.New(rand.NewPCG(8, 8))
	var orders []messages.Order
	var records []derive.Record
	counts := map[string]int{}
	for i := 0; i < 300; i++ {
		m := cfg.Markets[rng.IntN(len(cfg.Markets))]
		o := messages.Order{ID: uint64(i+1)<<10 | uint64(m.ID), Market: m.ID, Type: messages.OrderType(1 + rng.IntN(2)),
			Side: messages.Side(1 + rng.IntN(2)), User: 1 + rng.Uint32N(9), CTime: 1700000000000000 + int64(i), MTime: 1700000000500000 + int64(i),
			Price: rng.Int64N(1e9), Amount: 1 + rng.Int64N(1e9), TakerFee: rng.Int64N(100), MakerFee: rng.Int64N(100),
			DealStock: rng.Int64N(1e9), DealMoney: *uint256.NewInt(rng.Uint64()), DealFee: *uint256.NewInt(rng.Uint64N(1e12)),
			Source: "s"}
		if rng.IntN(3) > 0 {
			o.ClientID = []string{"a", "B-1", "x.y:z_0", strings.Repeat("q", 32)}[rng.IntN(4)]
		}
		if rng.IntN(2) == 0 {
			o.StopPrice = 1 + rng.Int64N(1e9)
			o.Triggered = rng.IntN(2) == 0
		}
		if o.Type == messages.Limit {
			o.TIF = messages.TimeInForce(rng.IntN(3))
			o.PostOnly = o.TIF == messages.GTC && rng.IntN(3) == 0
		}
		o.STP = messages.STP(rng.IntN(5))
		counts["client_id"] += oneIf(o.ClientID != "")
		counts["stop"] += oneIf(o.StopPrice != 0)
		counts["triggered"] += oneIf(o.Triggered)
		counts["tif"] += oneIf(o.TIF != messages.GTC)
		counts["post_only"] += oneIf(o.PostOnly)
		counts["stp"] += oneIf(o.STP != messages.STPDefault)
		counts["none"] += oneIf(o.ClientID == "" && o.StopPrice == 0 && o.TIF == messages.GTC && !o.PostOnly && o.STP == messages.STPDefault)
		orders = append(orders, o)
		records = append(records, derive.Record{LSN: uint64(i + 1), Orders: []derive.OrderChange{{Event: derive.OrderFinish, Order: o}}})
	}
	for k, n := range counts {
		if n < 5 {
			t.Fatalf("only %d orders with %s: %v", n, k, counts)
		}
	}
	if err := st.Apply(context.Background(), records); err != nil {
		t.Fatal(err)
	}
	s, f := newTestServer(t)
	f.reply = func(ctx context.Context, cmd messages.Command) (messages.Reply, error) { return st.Query(ctx, cmd) }
	tail := func(b string) string {
		i := strings.LastIndex(b, `,"deal_fee":`)
		if i < 0 {
			return "no deal_fee in " + b
		}
		return b[i:]
	}
	for i := range orders {
		o := &orders[i]
		live := string(wire.AppendOrder(nil, ptr(cfg.Markets[o.Market].Wire()), o))
		code, body := post(s.Handler(), envelope("order.finished_detail", fmt.Sprintf("[%d]", o.ID)))
		result, ok := strings.CutPrefix(body, `{"error":null,"result":`)
		if code != 200 || !ok || !json.Valid([]byte(body)) {
			t.Fatalf("order.finished_detail %d = %d %s", o.ID, code, body)
		}
		result = strings.TrimSuffix(result, `,"id":1}`)
		if got, want := tail(result), tail(live); got != want {
			t.Fatalf("order %+v\nin history: %s\nlive:       %s", o, result, live)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func oneIf(b bool) int {
	if b {
		return 1
	}
	return 0
}

// openSQLiteStore opens a history store in a temporary SQLite file, closed
// when the test ends.
func openSQLiteStore(t *testing.T, cfg *config.Config) *history.Store {
	t.Helper()
	st, err := history.Open(context.Background(), history.Options{
		Path: filepath.Join(t.TempDir(), "history.db"), Config: cfg,
		Logger: testenv.Quiet(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
