package httprpc

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/messages"
	"github.com/holiman/uint256"
)

func u256(s string) uint256.Int {
	var u uint256.Int
	if err := u.SetFromDecimal(s); err != nil {
		panic(err)
	}
	return u
}

// Orders used as scripted replies, with the JSON the edge must print.
var (
	// A limit buy on BTCUSDT (stock BTC prec_save 14, money USDT prec_save
	// 12, stock_prec 6, money_prec 2, fee_prec 4), partly filled.
	limitBid = messages.Order{
		ID: 42, Market: 0, Type: messages.Limit, Side: messages.Bid, User: 1,
		CTime: 1700000000123456, MTime: 1700000001000000,
		Price: 3000012, Amount: 1234567, TakerFee: 20, MakerFee: 15,
		Left: 234567, DealStock: 1000000,
		DealMoney: u256("30000120000000000"), // 30000.12 USDT at 12
		DealFee:   u256("200000000000"),      // 0.002 BTC at 14
		Frozen:    u256("7036891284000000"),
		Source:    "web",
	}
	limitBidJSON = `{"id":42,"market":"BTCUSDT","source":"web","type":1,"side":2,"user":1,` +
		`"ctime":1700000000.123456,"mtime":1700000001.0,"price":"30000.12","amount":"1.234567",` +
		`"taker_fee":"0.002","maker_fee":"0.0015","left":"0.234567","deal_stock":"1",` +
		`"deal_money":"30000.12","deal_fee":"0.002"}`

	// A limit sell on ETHBTC (stock ETH prec_save 10, money BTC prec_save
	// 14, stock_prec 4, money_prec 6, fee_prec 3): deal_fee is money.
	limitAsk = messages.Order{
		ID: 7, Market: 1, Type: messages.Limit, Side: messages.Ask, User: 9,
		CTime: 1700000000000001, MTime: 1700000000100000,
		Price: 65000, Amount: 25000, TakerFee: 2, MakerFee: 1,
		Left: 0, DealStock: 25000,
		DealMoney: u256("16250000000000"), // 0.1625 BTC at 14
		DealFee:   u256("16250000000"),    // 0.0001625 BTC at 14
		Source:    `a"b\`,
	}
	limitAskJSON = `{"id":7,"market":"ETHBTC","source":"a\"b\\","type":1,"side":1,"user":9,` +
		`"ctime":1700000000.000001,"mtime":1700000000.1,"price":"0.065","amount":"2.5",` +
		`"taker_fee":"0.002","maker_fee":"0.001","left":"0","deal_stock":"2.5",` +
		`"deal_money":"0.1625","deal_fee":"0.0001625"}`

	// A market buy on BTCUSDT: amount is money at money_prec, left the
	// unspent money (Frozen) at USDT's prec_save.
	marketBid = messages.Order{
		ID: 43, Market: 0, Type: messages.Market, Side: messages.Bid, User: 3,
		CTime: 1700000002000000, MTime: 1700000002000000,
		Amount: 10012, TakerFee: 10, DealStock: 3333,
		DealMoney: u256("99990000000000"), // 99.99 USDT
		DealFee:   u256("333300000"),      // 0.0000033330 BTC at 14
		Frozen:    u256("130000000000"),   // 0.13 USDT unspent
		Source:    "",
	}
	marketBidJSON = `{"id":43,"market":"BTCUSDT","source":"","type":2,"side":2,"user":3,` +
		`"ctime":1700000002.0,"mtime":1700000002.0,"price":"0","amount":"100.12",` +
		`"taker_fee":"0.001","maker_fee":"0","left":"0.13","deal_stock":"0.003333",` +
		`"deal_money":"99.99","deal_fee":"0.000003333"}`

	// A market sell on ETHBTC: amount and left are stock.
	marketAsk = messages.Order{
		ID: 44, Market: 1, Type: messages.Market, Side: messages.Ask, User: 3,
		CTime: 1700000003000000, MTime: 1700000003500000,
		Amount: 1234, TakerFee: 999, MakerFee: 5, Left: 234, DealStock: 1000,
		DealMoney: u256("650000000000"), // 0.0065 BTC
		DealFee:   u256("649350000000"),
		Source:    "api",
	}
	marketAskJSON = `{"id":44,"market":"ETHBTC","source":"api","type":2,"side":1,"user":3,` +
		`"ctime":1700000003.0,"mtime":1700000003.5,"price":"0","amount":"0.1234",` +
		`"taker_fee":"0.999","maker_fee":"0","left":"0.0234","deal_stock":"0.1",` +
		`"deal_money":"0.0065","deal_fee":"0.0064935"}`
)

func TestMethods(t *testing.T) {
	longDetail := `{"k":"` + strings.Repeat("x", MaxDetailLen-8) + `"}`
	tests := []struct {
		name    string
		method  string
		params  string
		replies []messages.Reply // one per command, in order; nil: StatusReply
		want    []messages.Command
		result  string
	}{
		{
			name: "balance.query all", method: "balance.query", params: `[1]`,
			replies: []messages.Reply{&messages.BalanceQueryReply{
				Assets: []messages.AssetID{0, 1, 2},
				Balances: []messages.Balance{
					{Available: u256("123456789012345")},                     // BTC 1.23456789012345 → 8 dp
					{Available: u256("1000000000000000"), Frozen: u256("1")}, // USDT 1000; 1e-12 → 0 at 6 dp
					{Available: u256("5"), Frozen: u256("25000000000")},      // ETH shows all 10 dp
				},
			}},
			want:   []messages.Command{&messages.BalanceQuery{User: 1}},
			result: `{"BTC":{"available":"1.23456789","freeze":"0"},"USDT":{"available":"1000","freeze":"0"},"ETH":{"available":"0.0000000005","freeze":"2.5"}}`,
		},
		{
			name: "balance.query fee account, named, repeated", method: "balance.query", params: `[0,"USDT","BTC","USDT"]`,
			replies: []messages.Reply{&messages.BalanceQueryReply{
				Assets:   []messages.AssetID{1, 0},
				Balances: []messages.Balance{{Available: u256("123000000")}, {}},
			}},
			want:   []messages.Command{&messages.BalanceQuery{User: 0, Assets: []messages.AssetID{1, 0}}},
			result: `{"USDT":{"available":"0.000123","freeze":"0"},"BTC":{"available":"0","freeze":"0"}}`,
		},
		{
			name: "balance.query max user", method: "balance.query", params: `[4294967295,"ETH"]`,
			replies: []messages.Reply{&messages.BalanceQueryReply{Assets: []messages.AssetID{2}, Balances: []messages.Balance{{}}}},
			want:    []messages.Command{&messages.BalanceQuery{User: 4294967295, Assets: []messages.AssetID{2}}},
			result:  `{"ETH":{"available":"0","freeze":"0"}}`,
		},
		{
			name: "balance.update deposit truncated at prec_show", method: "balance.update",
			params: `[1,"BTC","deposit",7,"1.123456789",{"a": 1}]`,
			want: []messages.Command{&messages.BalanceUpdate{
				User: 1, Asset: 0, Business: "deposit", BusinessID: 7,
				Change: u256("112345678000000"), Detail: []byte(`{"a": 1}`),
			}},
			result: `{"status":"success"}`,
		},
		{
			name: "balance.update withdraw, max business_id", method: "balance.update",
			params: `[2,"USDT","withdraw",18446744073709551615,"-0.5",{}]`,
			want: []messages.Command{&messages.BalanceUpdate{
				User: 2, Asset: 1, Business: "withdraw", BusinessID: 18446744073709551615,
				Change: u256("500000000000"), Negative: true, Detail: []byte(`{}`),
			}},
			result: `{"status":"success"}`,
		},
		{
			name: "balance.update zero, scientific, limits", method: "balance.update",
			params: `[3,"ETH","` + strings.Repeat("b", 30) + `",0,"0e5",` + longDetail + `]`,
			want: []messages.Command{&messages.BalanceUpdate{
				User: 3, Asset: 2, Business: strings.Repeat("b", 30), Detail: []byte(longDetail),
			}},
			result: `{"status":"success"}`,
		},
		{
			name: "balance.update scientific change", method: "balance.update",
			params: `[3,"USDT","x",1,"1E-6",{"n":{"m":[1]}}]`,
			want: []messages.Command{&messages.BalanceUpdate{
				User: 3, Asset: 1, Business: "x", BusinessID: 1,
				Change: u256("1000000"), Detail: []byte(`{"n":{"m":[1]}}`),
			}},
			result: `{"status":"success"}`,
		},
		{
			name: "asset.list", method: "asset.list", params: `["ignored",1]`,
			result: `[{"name":"BTC","prec":8},{"name":"USDT","prec":6},{"name":"ETH","prec":10}]`,
		},
		{
			name: "market.list", method: "market.list", params: `[]`,
			result: `[{"name":"BTCUSDT","stock":"BTC","money":"USDT","fee_prec":4,"stock_prec":6,"money_prec":2,"min_amount":"0.0001","halted":false},` +
				`{"name":"ETHBTC","stock":"ETH","money":"BTC","fee_prec":3,"stock_prec":4,"money_prec":6,"min_amount":"0.01","halted":false}]`,
		},
		{
			name: "asset.summary all", method: "asset.summary", params: `[]`,
			replies: []messages.Reply{&messages.AssetSummaryReply{Rows: []messages.AssetSummaryRow{
				{Asset: 0, AvailableCount: 2, Available: u256("250000000000000"), FrozenCount: 1, Frozen: u256("50000000000001")},
				{Asset: 1},
			}}},
			want: []messages.Command{&messages.AssetSummary{}},
			result: `[{"name":"BTC","total_balance":"3.00000000000001","available_count":2,"available_balance":"2.5","freeze_count":1,"freeze_balance":"0.50000000000001"},` +
				`{"name":"USDT","total_balance":"0","available_count":0,"available_balance":"0","freeze_count":0,"freeze_balance":"0"}]`,
		},
		{
			name: "asset.summary named, repeated", method: "asset.summary", params: `["ETH","ETH"]`,
			replies: []messages.Reply{&messages.AssetSummaryReply{Rows: []messages.AssetSummaryRow{
				{Asset: 2, AvailableCount: 1, Available: u256("1")},
			}}},
			want:   []messages.Command{&messages.AssetSummary{Assets: []messages.AssetID{2}}},
			result: `[{"name":"ETH","total_balance":"0.0000000001","available_count":1,"available_balance":"0.0000000001","freeze_count":0,"freeze_balance":"0"}]`,
		},
		{
			name: "order.put_limit bid, truncation", method: "order.put_limit",
			params:  `[1,"BTCUSDT",2,"1.2345678","30000.129","0.002","0.00159","web"]`,
			replies: []messages.Reply{&messages.OrderReply{Order: limitBid}},
			want: []messages.Command{&messages.PutLimit{
				User: 1, Market: 0, Side: messages.Bid, Amount: 1234567, Price: 3000012,
				TakerFee: 20, MakerFee: 15, Source: "web",
			}},
			result: limitBidJSON,
		},
		{
			name: "order.put_limit ask, escaped market name, limits", method: "order.put_limit",
			params:  `[9,"ETH\u0042TC",1,"2.5","0.065","0.999","0","` + strings.Repeat("s", 30) + `"]`,
			replies: []messages.Reply{&messages.OrderReply{Order: limitAsk}},
			want: []messages.Command{&messages.PutLimit{
				User: 9, Market: 1, Side: messages.Ask, Amount: 25000, Price: 65000,
				TakerFee: 999, MakerFee: 0, Source: strings.Repeat("s", 30),
			}},
			result: limitAskJSON,
		},
		{
			name: "order.put_market bid: amount is money at money_prec", method: "order.put_market",
			params:  `[3,"BTCUSDT",2,"100.129","0.001",""]`,
			replies: []messages.Reply{&messages.OrderReply{Order: marketBid}},
			want: []messages.Command{&messages.PutMarket{
				User: 3, Market: 0, Side: messages.Bid, Amount: 10012, TakerFee: 10,
			}},
			result: marketBidJSON,
		},
		{
			name: "order.put_market ask: amount at stock_prec", method: "order.put_market",
			params:  `[3,"ETHBTC",1,"0.12345","0.9999","api"]`,
			replies: []messages.Reply{&messages.OrderReply{Order: marketAsk}},
			want: []messages.Command{&messages.PutMarket{
				User: 3, Market: 1, Side: messages.Ask, Amount: 1234, TakerFee: 999, Source: "api",
			}},
			result: marketAskJSON,
		},
		{
			name: "order.cancel", method: "order.cancel", params: `[9,"ETHBTC",7]`,
			replies: []messages.Reply{&messages.OrderReply{Order: limitAsk}},
			want:    []messages.Command{&messages.Cancel{User: 9, Market: 1, OrderID: 7}},
			result:  limitAskJSON,
		},
		{
			name: "order.cancel backend error", method: "order.cancel", params: `[9,"ETHBTC",8]`,
			replies: []messages.Reply{&messages.ErrorReply{Err: messages.ErrOrderNotFound}},
			want:    []messages.Command{&messages.Cancel{User: 9, Market: 1, OrderID: 8}},
			result:  "error:10:order not found",
		},
		{
			name: "order.book", method: "order.book", params: `["BTCUSDT",2,0,101]`,
			replies: []messages.Reply{&messages.OrderListReply{Total: 3, Orders: []messages.Order{limitBid, limitBid}}},
			want:    []messages.Command{&messages.OrderBook{Market: 0, Side: messages.Bid, Offset: 0, Limit: 101}},
			result:  `{"offset":0,"limit":101,"total":3,"orders":[` + limitBidJSON + `,` + limitBidJSON + `]}`,
		},
		{
			name: "order.pending fee account, empty", method: "order.pending", params: `[0,"ETHBTC",5,0]`,
			replies: []messages.Reply{&messages.OrderListReply{}},
			want:    []messages.Command{&messages.OrderPending{User: 0, Market: 1, Offset: 5, Limit: 0}},
			result:  `{"limit":0,"offset":5,"total":0,"records":[]}`,
		},
		{
			name: "order.pending", method: "order.pending", params: `[9,"ETHBTC",0,10]`,
			replies: []messages.Reply{&messages.OrderListReply{Total: 1, Orders: []messages.Order{limitAsk}}},
			want:    []messages.Command{&messages.OrderPending{User: 9, Market: 1, Offset: 0, Limit: 10}},
			result:  `{"limit":10,"offset":0,"total":1,"records":[` + limitAskJSON + `]}`,
		},
		{
			name: "order.depth merged", method: "order.depth", params: `["BTCUSDT",10,"0.509"]`,
			replies: []messages.Reply{&messages.DepthReply{
				Asks: []messages.DepthLevel{{Price: 3000050, Amount: 1500000}, {Price: 3000100, Amount: 1}},
				Bids: []messages.DepthLevel{{Price: 2999950, Amount: 20000000}},
			}},
			want:   []messages.Command{&messages.OrderDepth{Market: 0, Limit: 10, Interval: 50}},
			result: `{"asks":[["30000.5","1.5"],["30001","0.000001"]],"bids":[["29999.5","20"]]}`,
		},
		{
			name: "order.depth unmerged, empty", method: "order.depth", params: `["ETHBTC",101,"0"]`,
			replies: []messages.Reply{&messages.DepthReply{}},
			want:    []messages.Command{&messages.OrderDepth{Market: 1, Limit: 101}},
			result:  `{"asks":[],"bids":[]}`,
		},
		{
			name: "order.pending_detail found", method: "order.pending_detail", params: `["BTCUSDT",42]`,
			replies: []messages.Reply{&messages.OrderDetailReply{Order: &limitBid}},
			want:    []messages.Command{&messages.OrderPendingDetail{Market: 0, OrderID: 42}},
			result:  limitBidJSON,
		},
		{
			name: "order.pending_detail not found", method: "order.pending_detail", params: `["BTCUSDT",41]`,
			replies: []messages.Reply{&messages.OrderDetailReply{}},
			want:    []messages.Command{&messages.OrderPendingDetail{Market: 0, OrderID: 41}},
			result:  `null`,
		},
		{
			name: "market.summary all", method: "market.summary", params: `[]`,
			replies: []messages.Reply{
				&messages.MarketSummaryReply{Market: 0, AskCount: 2, AskAmount: 1500000, BidCount: 1, BidAmount: 1},
				&messages.MarketSummaryReply{Market: 1},
			},
			want: []messages.Command{&messages.MarketSummary{Market: 0}, &messages.MarketSummary{Market: 1}},
			result: `[{"name":"BTCUSDT","ask_count":2,"ask_amount":"1.5","bid_count":1,"bid_amount":"0.000001","halted":false},` +
				`{"name":"ETHBTC","ask_count":0,"ask_amount":"0","bid_count":0,"bid_amount":"0","halted":false}]`,
		},
		{
			name: "market.summary named, repeated", method: "market.summary", params: `["ETHBTC","ETHBTC"]`,
			replies: []messages.Reply{&messages.MarketSummaryReply{Market: 1, BidCount: 1, BidAmount: 12345}},
			want:    []messages.Command{&messages.MarketSummary{Market: 1}},
			result:  `[{"name":"ETHBTC","ask_count":0,"ask_amount":"0","bid_count":1,"bid_amount":"1.2345","halted":false}]`,
		},
		{
			name: "market.summary backend error stops", method: "market.summary", params: `[]`,
			replies: []messages.Reply{&messages.ErrorReply{Err: messages.ErrInternal}},
			want:    []messages.Command{&messages.MarketSummary{Market: 0}},
			result:  "error:2:internal error",
		},
		{
			name: "wrong reply type is an internal error", method: "order.put_limit",
			params:  `[1,"BTCUSDT",2,"1","1","0","0",""]`,
			replies: []messages.Reply{&messages.StatusReply{}},
			want: []messages.Command{&messages.PutLimit{
				User: 1, Market: 0, Side: messages.Bid, Amount: 1000000, Price: 100,
			}},
			result: "error:2:internal error",
		},
		{
			name: "balance.update backend error", method: "balance.update",
			params:  `[1,"BTC","deposit",7,"1",{}]`,
			replies: []messages.Reply{&messages.ErrorReply{Err: messages.ErrRepeatUpdate}},
			want: []messages.Command{&messages.BalanceUpdate{
				User: 1, Asset: 0, Business: "deposit", BusinessID: 7,
				Change: u256("100000000000000"), Detail: []byte(`{}`),
			}},
			result: "error:10:repeat update",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := newTestServer(t)
			var n int
			f.reply = func(_ context.Context, cmd messages.Command) (messages.Reply, error) {
				if tt.replies == nil {
					return &messages.StatusReply{}, nil
				}
				if n >= len(tt.replies) {
					return nil, fmt.Errorf("unexpected command %T", cmd)
				}
				n++
				return tt.replies[n-1], nil
			}
			before := time.Now().UnixMicro()
			code, body := post(s.Handler(), `{"method":"`+tt.method+`","params":`+tt.params+`,"id":99}`)
			after := time.Now().UnixMicro()
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
			got := f.commands()
			for _, c := range got {
				if ts := clearTime(c); ts != -1 && (ts < before || ts > after) {
					t.Errorf("%T.Time = %d; want between %d and %d", c, ts, before, after)
				}
			}
			if len(got) == 0 && len(tt.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("commands =\n%s\nwant\n%s", dump(got), dump(tt.want))
			}
		})
	}
}

func dump(cmds []messages.Command) string {
	var b strings.Builder
	for _, c := range cmds {
		fmt.Fprintf(&b, "  %T %+v\n", c, c)
	}
	return b.String()
}

// TestInvalidArgument: every bad input answers code 1 and sends nothing.
func TestInvalidArgument(t *testing.T) {
	s31 := `"` + strings.Repeat("s", 31) + `"`
	bigDetail := `{"k":"` + strings.Repeat("x", MaxDetailLen-7) + `"}`
	tests := []struct{ method, params string }{
		// balance.query
		{"balance.query", `[]`},
		{"balance.query", `["1"]`},
		{"balance.query", `[1.5]`},
		{"balance.query", `[1.0]`},
		{"balance.query", `[1e0]`},
		{"balance.query", `[true]`},
		{"balance.query", `[null]`},
		{"balance.query", `[-1]`},
		{"balance.query", `[4294967296]`},
		{"balance.query", `[99999999999999999999999]`},
		{"balance.query", `[1,"XXX"]`},
		{"balance.query", `[1,"btc"]`},
		{"balance.query", `[1,5]`},
		{"balance.query", `[1,"BTC",null]`},
		// balance.update
		{"balance.update", `[1,"BTC","deposit",1,"1"]`},
		{"balance.update", `[1,"BTC","deposit",1,"1",{},1]`},
		{"balance.update", `[0,"BTC","deposit",1,"1",{}]`},
		{"balance.update", `["1","BTC","deposit",1,"1",{}]`},
		{"balance.update", `[1,"XXX","deposit",1,"1",{}]`},
		{"balance.update", `[1,"BTC",` + s31 + `,1,"1",{}]`},
		{"balance.update", `[1,"BTC",5,1,"1",{}]`},
		{"balance.update", `[1,"BTC","deposit",-1,"1",{}]`},
		{"balance.update", `[1,"BTC","deposit",1.5,"1",{}]`},
		{"balance.update", `[1,"BTC","deposit","1","1",{}]`},
		{"balance.update", `[1,"BTC","deposit",18446744073709551616,"1",{}]`},
		{"balance.update", `[1,"BTC","deposit",1,1,{}]`},
		{"balance.update", `[1,"BTC","deposit",1,"abc",{}]`},
		{"balance.update", `[1,"BTC","deposit",1,"",{}]`},
		{"balance.update", `[1,"BTC","deposit",1,"1e40",{}]`},
		{"balance.update", `[1,"BTC","deposit",1,"1",null]`},
		{"balance.update", `[1,"BTC","deposit",1,"1",[]]`},
		{"balance.update", `[1,"BTC","deposit",1,"1","{}"]`},
		{"balance.update", `[1,"BTC","deposit",1,"1",` + bigDetail + `]`},
		// asset.summary
		{"asset.summary", `["XXX"]`},
		{"asset.summary", `["BTC",1]`},
		// order.put_limit
		{"order.put_limit", `[1,"BTCUSDT",2,"1","1","0","0"]`},
		{"order.put_limit", `[1,"BTCUSDT",2,"1","1","0","0","",""]`},
		{"order.put_limit", `[0,"BTCUSDT",2,"1","1","0","0",""]`},
		{"order.put_limit", `[1.5,"BTCUSDT",2,"1","1","0","0",""]`},
		{"order.put_limit", `[1,"XXX",2,"1","1","0","0",""]`},
		{"order.put_limit", `[1,1,2,"1","1","0","0",""]`},
		{"order.put_limit", `[1,"BTCUSDT",0,"1","1","0","0",""]`},
		{"order.put_limit", `[1,"BTCUSDT",3,"1","1","0","0",""]`},
		{"order.put_limit", `[1,"BTCUSDT","1","1","1","0","0",""]`},
		{"order.put_limit", `[1,"BTCUSDT",2,1,"1","0","0",""]`},
		{"order.put_limit", `[1,"BTCUSDT",2,"0","1","0","0",""]`},
		{"order.put_limit", `[1,"BTCUSDT",2,"-1","1","0","0",""]`},
		{"order.put_limit", `[1,"BTCUSDT",2,"0.0000009","1","0","0",""]`},
		{"order.put_limit", `[1,"BTCUSDT",2,"1e40","1","0","0",""]`},
		{"order.put_limit", `[1,"BTCUSDT",2,"1","0","0","0",""]`},
		{"order.put_limit", `[1,"BTCUSDT",2,"1","-1","0","0",""]`},
		{"order.put_limit", `[1,"BTCUSDT",2,"1","0.009","0","0",""]`},
		{"order.put_limit", `[1,"BTCUSDT",2,"1",1,"0","0",""]`},
		{"order.put_limit", `[1,"BTCUSDT",2,"1","1","1","0",""]`},
		{"order.put_limit", `[1,"BTCUSDT",2,"1","1","0","1",""]`},
		{"order.put_limit", `[1,"BTCUSDT",2,"1","1","1.5","0",""]`},
		{"order.put_limit", `[1,"BTCUSDT",2,"1","1","-0.001","0",""]`},
		{"order.put_limit", `[1,"BTCUSDT",2,"1","1","0",0,""]`},
		{"order.put_limit", `[1,"BTCUSDT",2,"1","1","0","0",` + s31 + `]`},
		{"order.put_limit", `[1,"BTCUSDT",2,"1","1","0","0",null]`},
		// order.put_market
		{"order.put_market", `[1,"BTCUSDT",2,"1","0"]`},
		{"order.put_market", `[0,"BTCUSDT",2,"1","0",""]`},
		{"order.put_market", `[1,"XXX",2,"1","0",""]`},
		{"order.put_market", `[1,"BTCUSDT",3,"1","0",""]`},
		{"order.put_market", `[1,"BTCUSDT",2,"0.009","0",""]`}, // money_prec 2
		{"order.put_market", `[1,"BTCUSDT",1,"0.0000009","0",""]`},
		{"order.put_market", `[1,"BTCUSDT",1,"-1","0",""]`},
		{"order.put_market", `[1,"BTCUSDT",1,"1","1",""]`},
		{"order.put_market", `[1,"BTCUSDT",1,"1","0",` + s31 + `]`},
		{"order.put_market", `[1,"BTCUSDT",1,"1","0",7]`},
		// order.cancel
		{"order.cancel", `[1,"BTCUSDT"]`},
		{"order.cancel", `[0,"BTCUSDT",1]`},
		{"order.cancel", `[1,"XXX",1]`},
		{"order.cancel", `[1,"BTCUSDT",-1]`},
		{"order.cancel", `[1,"BTCUSDT","1"]`},
		{"order.cancel", `[1,"BTCUSDT",1.5]`},
		// order.book
		{"order.book", `["BTCUSDT",1,0]`},
		{"order.book", `["BTCUSDT",1,0,102]`},
		{"order.book", `["BTCUSDT",1,-1,10]`},
		{"order.book", `["BTCUSDT",0,0,10]`},
		{"order.book", `["XXX",1,0,10]`},
		{"order.book", `[1,1,0,10]`},
		{"order.book", `["BTCUSDT",1,0,-1]`},
		// order.pending
		{"order.pending", `[1,"BTCUSDT",0,102]`},
		{"order.pending", `[1,"BTCUSDT",1.5,10]`},
		{"order.pending", `[-1,"BTCUSDT",0,10]`},
		{"order.pending", `[1,"XXX",0,10]`},
		{"order.pending", `[1,"BTCUSDT",0]`},
		// order.depth
		{"order.depth", `["BTCUSDT",102,"0"]`},
		{"order.depth", `["BTCUSDT",10,"-0.01"]`},
		{"order.depth", `["BTCUSDT",10,0]`},
		{"order.depth", `["BTCUSDT",10,"x"]`},
		{"order.depth", `["BTCUSDT",10]`},
		{"order.depth", `["XXX",10,"0"]`},
		// order.pending_detail
		{"order.pending_detail", `["BTCUSDT",1.5]`},
		{"order.pending_detail", `["BTCUSDT",1,2]`},
		{"order.pending_detail", `["XXX",1]`},
		// market.summary
		{"market.summary", `["XXX"]`},
		{"market.summary", `[1]`},
		{"market.summary", `["BTCUSDT","XXX"]`},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.params, func(t *testing.T) {
			s, f := newTestServer(t)
			code, body := post(s.Handler(), `{"method":"`+tt.method+`","params":`+tt.params+`,"id":3}`)
			if code != 200 || !isArgError(body, 3) {
				want := "code 1 naming the param"
				t.Errorf("%s %s = %d %s; want 200 %s", tt.method, tt.params, code, body, want)
			}
			if cmds := f.commands(); len(cmds) != 0 {
				t.Errorf("commands sent:\n%s", dump(cmds))
			}
		})
	}
}

// isArgError reports whether body is a code 1 envelope with id whose
// message names what is wrong: "invalid argument: " and more, never the
// bare "invalid argument".
func isArgError(body string, id int64) bool {
	var env struct {
		Error *struct {
			Code    int
			Message string
		}
		Result json.RawMessage
		ID     *int64
	}
	if json.Unmarshal([]byte(body), &env) != nil || env.Error == nil || env.ID == nil || *env.ID != id || string(env.Result) != "null" {
		return false
	}
	return env.Error.Code == 1 && strings.HasPrefix(env.Error.Message, "invalid argument: ") && len(env.Error.Message) > len("invalid argument: ")
}
