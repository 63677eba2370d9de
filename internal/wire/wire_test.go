package wire

import (
	"encoding/json"
	"testing"

	"github.com/bourse-exchange/bourse/messages"
	"github.com/holiman/uint256"
)

// The market of the worked example in docs/protocol.md: BTC (prec_save 12) against
// BCH (prec_save 20), both at 8 decimals, fees at 4.
var btcbch = Market{Name: "BTCBCH", Stock: "BTC", Money: "BCH", StockPrec: 8, MoneyPrec: 8, FeePrec: 4, StockSave: 12, MoneySave: 20}

const t0 = 1492358400123456 // Unix µs

func u(v uint64) uint256.Int { return *uint256.NewInt(v) }

// Each encoder prints exactly the bytes the edges, the event topics and
// Redis carried before they shared this package (the expected strings are
// those of the tests of the former copies).
func TestExact(t *testing.T) {
	order := messages.Order{
		ID: 1, Type: messages.Limit, Side: messages.Ask, User: 2, CTime: t0 - 1000000, MTime: t0,
		Price: 100e8, Amount: 2e8, TakerFee: 20, MakerFee: 10, Left: 5e7, DealStock: 15e7,
		DealMoney: u(150), DealFee: u(15), Source: "web",
	}
	order.DealMoney.Mul(&order.DealMoney, uint256.NewInt(1e18)).Mul(&order.DealMoney, uint256.NewInt(100))
	order.DealFee.Mul(&order.DealFee, uint256.NewInt(1e18))
	optioned := order
	optioned.ClientID, optioned.StopPrice, optioned.Triggered = "c-1", 99e8, true
	optioned.TIF, optioned.PostOnly, optioned.STP = messages.IOC, true, messages.STPCancelBoth
	marketBuy := messages.Order{ID: 3, Type: messages.Market, Side: messages.Bid, User: 1, CTime: t0, MTime: t0,
		Price: 7, Amount: 1234e6, TakerFee: 20, MakerFee: 10, Frozen: u(5e17), Source: ""}
	candle := messages.Candle{Time: 1492358400, Open: 100e8, Close: 101e8, High: 102e8, Low: 99e8, Volume: u(15e7), Deal: u(0)}
	candle.Deal.Mul(uint256.NewInt(1515), uint256.NewInt(1e19))
	deal := messages.MarketDeal{ID: 9, Time: t0, Side: messages.Ask, Price: 1005e7, Amount: 1}
	trade := messages.Trade{DealID: 1, Time: t0, TakerSide: messages.Bid, AskOrder: 1, BidOrder: 2, AskUser: 2, BidUser: 1,
		Price: 100e8, Amount: 15e7, AskFee: u(15e18), BidFee: u(3e9)}
	btc := Asset{Name: "BTC", Save: 12, Show: 8}
	const marketBuyJSON = `{"id":3,"market":"BTCBCH","source":"","type":2,"side":2,"user":1,` +
		`"ctime":1492358400.123456,"mtime":1492358400.123456,"price":"0","amount":"12.34","taker_fee":"0.002","maker_fee":"0",` +
		`"left":"0.005","deal_stock":"0","deal_money":"0","deal_fee":"0"}`
	for _, c := range []struct {
		name string
		got  []byte
		want string
	}{
		{"order", AppendOrder(nil, &btcbch, &order), `{"id":1,"market":"BTCBCH","source":"web","type":1,"side":1,"user":2,` +
			`"ctime":1492358399.123456,"mtime":1492358400.123456,"price":"100","amount":"2","taker_fee":"0.002","maker_fee":"0.001",` +
			`"left":"0.5","deal_stock":"1.5","deal_money":"150","deal_fee":"0.15"}`},
		{"order with options", AppendOrder(nil, &btcbch, &optioned), `{"id":1,"market":"BTCBCH","source":"web","type":1,"side":1,"user":2,` +
			`"ctime":1492358399.123456,"mtime":1492358400.123456,"price":"100","amount":"2","taker_fee":"0.002","maker_fee":"0.001",` +
			`"left":"0.5","deal_stock":"1.5","deal_money":"150","deal_fee":"0.15","client_id":"c-1","stop_price":"99","triggered":true,` +
			`"time_in_force":"IOC","post_only":true,"stp":"cancel_both"}`},
		{"market buy", AppendOrder(nil, &btcbch, &marketBuy), marketBuyJSON},
		{"order event", AppendOrderEvent(nil, &btcbch, 3, &marketBuy), `{"event":3,"order":` + marketBuyJSON + `,"stock":"BTC","money":"BCH"}`},
		{"order.update", AppendOrderUpdate(nil, &btcbch, 1, &marketBuy), `[1,` + marketBuyJSON + `]`},
		{"deal message", AppendDeal(nil, &btcbch, &trade),
			`[1492358400.123456,"BTCBCH",1,2,2,1,"100.00000000","1.50000000","0.15000000000000000000","0.003000000000",2,1,"BTC","BCH"]`},
		{"market deal", AppendMarketDeal(nil, &btcbch, &deal), `{"id":9,"time":1492358400.123456,"price":"100.5","amount":"0.00000001","type":"sell"}`},
		{"candle", AppendCandle(nil, &btcbch, &candle), `[1492358400,"100","101","102","99","1.5","151.5","BTCBCH"]`},
		{"candles", AppendCandles(nil, &btcbch, []messages.Candle{candle, candle}),
			`[[1492358400,"100","101","102","99","1.5","151.5","BTCBCH"],[1492358400,"100","101","102","99","1.5","151.5","BTCBCH"]]`},
		{"no deals", AppendMarketDeals(nil, &btcbch, nil), `[]`},
		{"deals", AppendMarketDeals(nil, &btcbch, []messages.MarketDeal{deal}),
			`[{"id":9,"time":1492358400.123456,"price":"100.5","amount":"0.00000001","type":"sell"}]`},
		{"bucket", AppendBucket(nil, &btcbch, &candle), `["100","101","102","99","1.5","151.5"]`},
		{"depth", AppendDepth(nil, &btcbch, []messages.DepthLevel{{Price: 1e8, Amount: 25e7}}, nil), `{"asks":[["1","2.5"]],"bids":[]}`},
		{"status", AppendStatus(nil, &btcbch, &messages.MarketStatusReply{Period: 86400, Last: 1e8, Volume: u(1e8)}),
			`{"period":86400,"last":"1","open":"0","close":"0","high":"0","low":"0","volume":"1","deal":"0"}`},
		{"status today", AppendStatusToday(nil, &btcbch, &messages.MarketStatusTodayReply{Open: 2e8, Last: 1e8}),
			`{"open":"2","last":"1","high":"0","low":"0","volume":"0","deal":"0"}`},
		{"balance", AppendBalance(nil, &btc, &messages.Balance{Available: u(1234567891234), Frozen: u(1)}),
			`"BTC":{"available":"1.23456789","freeze":"0"}`},
		{"balance change", AppendBalanceChange(nil, &btc, &BalanceChange{Time: t0, User: 2, Business: "withdraw", Change: ptr(u(5e11)), Negative: true}),
			`[1492358400.123456,2,"BTC","withdraw","-0.50000000"]`},
		{"balance change, dust", AppendBalanceChange(nil, &btc, &BalanceChange{Time: t0, User: 3, Business: "dust", Change: ptr(u(1000))}),
			`[1492358400.123456,3,"BTC","dust","0.000000001000"]`},
		{"finished order", AppendFinishedOrder(nil, &messages.FinishedOrder{ID: 5, CTime: t0, FTime: t0 + 1, User: 1, Market: "BTCBCH",
			Type: 1, Side: 2, Price: "1", Amount: "2", TakerFee: "0.002", MakerFee: "0.001", DealStock: "2", DealMoney: "2", DealFee: "0.004",
			StopPrice: "0.9", TIF: messages.FOK}),
			`{"id":5,"ctime":1492358400.123456,"ftime":1492358400.123457,"user":1,"market":"BTCBCH","source":"","type":1,"side":2,` +
				`"price":"1","amount":"2","taker_fee":"0.002","maker_fee":"0.001","deal_stock":"2","deal_money":"2","deal_fee":"0.004",` +
				`"stop_price":"0.9","triggered":false,"time_in_force":"FOK"}`},
		{"deal record", AppendDealRecord(nil, &messages.DealRecord{Time: t0, User: 1, ID: 7, Side: 2, Role: 1, Price: "1", Amount: "2",
			Deal: "2", Fee: "0.004", DealOrderID: 4, Market: "BTCBCH"}, true),
			`{"time":1492358400.123456,"user":1,"id":7,"side":2,"role":1,"price":"1","amount":"2","deal":"2","fee":"0.004","deal_order_id":4,"market":"BTCBCH"}`},
		{"balance record", AppendBalanceRecord(nil, &messages.BalanceRecord{Time: t0, Asset: "BTC", Business: "deposit", Change: "1",
			Balance: "1", Detail: []byte(` [1] `)}),
			`{"time":1492358400.123456,"asset":"BTC","business":"deposit","change":"1","balance":"1","detail":{}}`},
		{"page", append(AppendPage(nil, 0, 10), "]}"...), `{"offset":0,"limit":10,"records":[]}`},
	} {
		if string(c.got) != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, c.got, c.want)
		}
		if c.name != "balance" && !json.Valid([]byte(c.want)) {
			t.Errorf("%s: %s is not JSON", c.name, c.want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// Encoding an order whose amounts fit in uint64 does not allocate.
func TestAppendOrderAllocs(t *testing.T) {
	buf := make([]byte, 0, 1024)
	o := &messages.Order{ID: 1, Type: messages.Limit, Side: messages.Bid, Price: 1e8, Amount: 1e8, ClientID: "x", StopPrice: 1}
	if n := testing.AllocsPerRun(100, func() { AppendOrder(buf[:0], &btcbch, o) }); n != 0 {
		t.Errorf("AppendOrder allocates %.0f times; want 0", n)
	}
}
