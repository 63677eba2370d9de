package httprpc

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/persistence/derive"
	"github.com/bourse-exchange/bourse/persistence/marketdata"
)

// clearNow zeroes a market data command's Now and returns it (-1 for other
// commands).
func clearNow(cmd messages.Command) int64 {
	var p *int64
	switch c := cmd.(type) {
	case *messages.MarketKline:
		p = &c.Now
	case *messages.MarketStatus:
		p = &c.Now
	case *messages.MarketStatusToday:
		p = &c.Now
	default:
		return -1
	}
	t := *p
	*p = 0
	return t
}

// marketDataCall posts one request with scripted replies and returns the
// body and the commands sent (Now cleared after checking it is the
// request's wall clock).
func marketDataCall(t *testing.T, method, params string, replies ...messages.Reply) (string, []messages.Command) {
	t.Helper()
	s, f := newTestServer(t)
	n := 0
	f.reply = func(_ context.Context, cmd messages.Command) (messages.Reply, error) {
		if n >= len(replies) {
			return nil, fmt.Errorf("unexpected command %T", cmd)
		}
		n++
		return replies[n-1], nil
	}
	before := time.Now().Unix()
	code, body := post(s.Handler(), `{"method":"`+method+`","params":`+params+`,"id":7}`)
	after := time.Now().Unix()
	if code != 200 {
		t.Fatalf("%s %s: status %d (%q); want 200", method, params, code, body)
	}
	if !json.Valid([]byte(body)) {
		t.Errorf("%s %s: body %s is not valid JSON", method, params, body)
	}
	cmds := f.commands()
	for _, c := range cmds {
		if now := clearNow(c); now != -1 && (now < before || now > after) {
			t.Errorf("%T.Now = %d; want between %d and %d", c, now, before, after)
		}
	}
	return body, cmds
}

func TestMarketDataMethods(t *testing.T) {
	// BTCUSDT: stock_prec 6, money_prec 2, USDT prec_save 12; ETHBTC:
	// stock_prec 4, money_prec 6, BTC prec_save 14.
	candle := messages.Candle{
		Time: 1700000000, Open: 3000000, Close: 3000012, High: 3100000, Low: 2900000,
		Volume: u256("1500000"), Deal: u256("45000180000000000"),
	}
	tests := []struct {
		name, method, params string
		reply                messages.Reply
		want                 messages.Command
		result               string
	}{
		{"last, raw", "market.last", `["BTCUSDT"]`, &messages.MarketLastReply{Price: 800000},
			&messages.MarketLast{Market: 0}, `"8000.00"`},
		{"last, raw small", "market.last", `["ETHBTC"]`, &messages.MarketLastReply{Price: 65000},
			&messages.MarketLast{Market: 1}, `"0.065000"`},
		{"last, never traded", "market.last", `["ETHBTC"]`, &messages.MarketLastReply{},
			&messages.MarketLast{Market: 1}, `"0"`},
		{"deals", "market.deals", `["BTCUSDT",10,0]`, &messages.MarketDealsReply{Deals: []messages.MarketDeal{
			{ID: 9, Time: 1700000001000000, Side: messages.Bid, Price: 3000000, Amount: 1},
			{ID: 7, Time: 1700000000123456, Side: messages.Ask, Price: 3000012, Amount: 1234567},
		}}, &messages.MarketDeals{Market: 0, Limit: 10},
			`[{"id":9,"time":1700000001.0,"price":"30000","amount":"0.000001","type":"buy"},` +
				`{"id":7,"time":1700000000.123456,"price":"30000.12","amount":"1.234567","type":"sell"}]`},
		{"deals, none, limits", "market.deals", `["ETHBTC",10000,123456789]`, &messages.MarketDealsReply{},
			&messages.MarketDeals{Market: 1, Limit: 10000, LastID: 123456789}, `[]`},
		{"deals, negative last_id read as unsigned", "market.deals", `["ETHBTC",1,-1]`, &messages.MarketDealsReply{},
			&messages.MarketDeals{Market: 1, Limit: 1, LastID: 1<<64 - 1}, `[]`},
		{"kline", "market.kline", `["BTCUSDT",1699990000,1700000000,60]`, &messages.MarketKlineReply{Candles: []messages.Candle{
			candle, {Time: 1700000060, Open: 3000012, Close: 3000012, High: 3000012, Low: 3000012},
		}}, &messages.MarketKline{Market: 0, Start: 1699990000, End: 1700000000, Interval: 60},
			`[[1700000000,"30000","30000.12","31000","29000","1.5","45000.18","BTCUSDT"],` +
				`[1700000060,"30000.12","30000.12","30000.12","30000.12","0","0","BTCUSDT"]]`},
		{"kline, interval checked by the store", "market.kline", `["ETHBTC",1,9223372036854775807,7]`, &messages.MarketKlineReply{},
			&messages.MarketKline{Market: 1, Start: 1, End: 9223372036854775807, Interval: 7}, `[]`},
		{"status", "market.status", `["BTCUSDT",86400]`, &messages.MarketStatusReply{
			Period: 86400, Last: 3000012, Open: 3000000, Close: 3000012, High: 3100000, Low: 2900000,
			Volume: u256("1500000"), Deal: u256("45000180000000000"),
		}, &messages.MarketStatus{Market: 0, Period: 86400},
			`{"period":86400,"last":"30000.12","open":"30000","close":"30000.12","high":"31000","low":"29000","volume":"1.5","deal":"45000.18"}`},
		{"status, nothing, sec_max", "market.status", `["ETHBTC",604800]`, &messages.MarketStatusReply{Period: 604800},
			&messages.MarketStatus{Market: 1, Period: 604800},
			`{"period":604800,"last":"0","open":"0","close":"0","high":"0","low":"0","volume":"0","deal":"0"}`},
		{"status_today", "market.status_today", `["ETHBTC"]`, &messages.MarketStatusTodayReply{
			Open: 65000, Last: 65100, High: 70000, Low: 1, Volume: u256("25000"), Deal: u256("16250000000000"),
		}, &messages.MarketStatusToday{Market: 1},
			`{"open":"0.065","last":"0.0651","high":"0.07","low":"0.000001","volume":"2.5","deal":"0.1625"}`},
		{"error from the store", "market.kline", `["BTCUSDT",1,2,7]`, &messages.ErrorReply{Err: messages.ErrInvalidArgument},
			&messages.MarketKline{Market: 0, Start: 1, End: 2, Interval: 7}, "error:1:invalid argument"},
		{"store unavailable", "market.last", `["BTCUSDT"]`, &messages.ErrorReply{Err: messages.ErrUnavailable},
			&messages.MarketLast{Market: 0}, "error:3:service unavailable"},
		{"wrong reply", "market.status_today", `["BTCUSDT"]`, &messages.MarketLastReply{},
			&messages.MarketStatusToday{Market: 0}, "error:2:internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, cmds := marketDataCall(t, tt.method, tt.params, tt.reply)
			want := `{"error":null,"result":` + tt.result + `,"id":7}`
			if e, ok := strings.CutPrefix(tt.result, "error:"); ok {
				code, msg, _ := strings.Cut(e, ":")
				want = `{"error":{"code":` + code + `,"message":"` + msg + `"},"result":null,"id":7}`
			}
			if body != want {
				t.Errorf("body =\n%s\nwant\n%s", body, want)
			}
			if len(cmds) != 1 || !reflect.DeepEqual(cmds[0], tt.want) {
				t.Errorf("commands =\n%s\nwant\n%s", dump(cmds), dump([]messages.Command{tt.want}))
			}
		})
	}
}

// TestMarketDataInvalidArgument: every bad input answers code 1 and sends
// nothing.
func TestMarketDataInvalidArgument(t *testing.T) {
	tests := []struct{ method, params string }{
		{"market.last", `[]`},
		{"market.last", `["BTCUSDT",1]`},
		{"market.last", `[1]`},
		{"market.last", `[null]`},
		{"market.last", `["XXX"]`},
		{"market.last", `["btcusdt"]`},
		{"market.deals", `["BTCUSDT",10]`},
		{"market.deals", `["BTCUSDT",10,0,1]`},
		{"market.deals", `["XXX",10,0]`},
		{"market.deals", `["BTCUSDT",0,0]`},
		{"market.deals", `["BTCUSDT",-1,0]`},
		{"market.deals", `["BTCUSDT",10001,0]`},
		{"market.deals", `["BTCUSDT","10",0]`},
		{"market.deals", `["BTCUSDT",10.0,0]`},
		{"market.deals", `["BTCUSDT",1e1,0]`},
		{"market.deals", `["BTCUSDT",10,"0"]`},
		{"market.deals", `["BTCUSDT",10,1.5]`},
		{"market.deals", `["BTCUSDT",10,null]`},
		{"market.deals", `["BTCUSDT",10,99999999999999999999]`},
		{"market.kline", `["BTCUSDT",1,2]`},
		{"market.kline", `["BTCUSDT",1,2,60,1]`},
		{"market.kline", `["XXX",1,2,60]`},
		{"market.kline", `["BTCUSDT",0,2,60]`},
		{"market.kline", `["BTCUSDT",-1,2,60]`},
		{"market.kline", `["BTCUSDT","1",2,60]`},
		{"market.kline", `["BTCUSDT",1.5,2,60]`},
		{"market.kline", `["BTCUSDT",1,0,60]`},
		{"market.kline", `["BTCUSDT",1,-2,60]`},
		{"market.kline", `["BTCUSDT",1,null,60]`},
		{"market.kline", `["BTCUSDT",1,2,0]`},
		{"market.kline", `["BTCUSDT",1,2,-60]`},
		{"market.kline", `["BTCUSDT",1,2,"60"]`},
		{"market.status", `["BTCUSDT"]`},
		{"market.status", `["BTCUSDT",60,1]`},
		{"market.status", `["XXX",60]`},
		{"market.status", `["BTCUSDT",0]`},
		{"market.status", `["BTCUSDT",-1]`},
		{"market.status", `["BTCUSDT",604801]`}, // sec_max
		{"market.status", `["BTCUSDT","60"]`},
		{"market.status", `["BTCUSDT",60.0]`},
		{"market.status_today", `[]`},
		{"market.status_today", `["XXX"]`},
		{"market.status_today", `["BTCUSDT",1]`},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.params, func(t *testing.T) {
			body, cmds := marketDataCall(t, tt.method, tt.params)
			if !isArgError(body, 7) {
				t.Errorf("body = %s; want code 1 naming the param", body)
			}
			if len(cmds) != 0 {
				t.Errorf("commands sent: %s", dump(cmds))
			}
		})
	}
}

// TestMarketDataWithStore: the methods over a real market data model,
// whose clock the fake exchange sets (the edge's Now is checked above).
func TestMarketDataWithStore(t *testing.T) {
	s, f := newTestServer(t)
	cfg := f.cfg
	model := marketdata.NewModel(cfg)
	const t0 = 1700000040 // a whole minute
	deal := func(lsn, id uint64, us int64, price, amount int64, side messages.Side) {
		m := cfg.Markets[0]
		d := fixed.Mul64(price, amount)
		tr := &messages.Trade{Market: 0, DealID: id, Time: us, TakerSide: side, Price: price, Amount: amount,
			Deal: fixed.Rescale(&d, m.MoneyPrec+m.StockPrec, m.MoneyAsset.PrecSave)}
		if err := model.Apply(&derive.Record{LSN: lsn, Deals: []*messages.Trade{tr}}); err != nil {
			t.Fatal(err)
		}
	}
	deal(1, 1, t0*1e6+250000, 3000000, 500000, messages.Bid) // 30000 × 0.5
	deal(2, 2, t0*1e6+750000, 3000150, 250000, messages.Ask) // 30001.5 × 0.25
	deal(3, 3, (t0+61)*1e6, 2999900, 1000000, messages.Bid)  // 29999 × 1
	const now = t0 + 100
	f.reply = func(_ context.Context, cmd messages.Command) (messages.Reply, error) {
		clearNow(cmd)
		switch c := cmd.(type) {
		case *messages.MarketKline:
			c.Now = now
		case *messages.MarketStatus:
			c.Now = now
		case *messages.MarketStatusToday:
			c.Now = now
		}
		return model.Query(cmd), nil
	}
	tests := []struct{ method, params, result string }{
		{"market.last", `["BTCUSDT"]`, `"29999.00"`},
		{"market.last", `["ETHBTC"]`, `"0"`},
		{"market.deals", `["BTCUSDT",2,0]`, `[{"id":3,"time":1700000101.0,"price":"29999","amount":"1","type":"buy"},` +
			`{"id":2,"time":1700000040.75,"price":"30001.5","amount":"0.25","type":"sell"}]`},
		{"market.deals", `["BTCUSDT",100,2]`, `[{"id":3,"time":1700000101.0,"price":"29999","amount":"1","type":"buy"}]`},
		{"market.kline", `["BTCUSDT",1700000000,9999999999,60]`, `[[1700000040,"30000","30001.5","30001.5","30000","0.75","22500.375","BTCUSDT"],` +
			`[1700000100,"29999","29999","29999","29999","1","29999","BTCUSDT"]]`},
		{"market.kline", `["BTCUSDT",1700000100,1700000200,30]`, `[[1700000100,"29999","29999","29999","29999","1","29999","BTCUSDT"],` +
			`[1700000130,"29999","29999","29999","29999","0","0","BTCUSDT"]]`},
		{"market.kline", `["BTCUSDT",1700000100,1700000200,7]`, "error:1:invalid argument"},
		{"market.kline", `["BTCUSDT",1700000141,1700000200,60]`, "error:1:invalid argument"}, // end clamped to now
		{"market.kline", `["BTCUSDT",1700000000,1700000030,60]`, `[]`},
		{"market.status", `["BTCUSDT",100]`, `{"period":100,"last":"29999","open":"30000","close":"29999","high":"30001.5","low":"29999","volume":"1.75","deal":"52499.375"}`},
		{"market.status", `["BTCUSDT",40]`, `{"period":40,"last":"29999","open":"29999","close":"29999","high":"29999","low":"29999","volume":"1","deal":"29999"}`},
		{"market.status_today", `["BTCUSDT"]`, `{"open":"30000","last":"29999","high":"30001.5","low":"29999","volume":"1.75","deal":"52499.375"}`},
		{"market.status_today", `["ETHBTC"]`, `{"open":"0","last":"0","high":"0","low":"0","volume":"0","deal":"0"}`},
	}
	for _, tt := range tests {
		code, body := post(s.Handler(), `{"method":"`+tt.method+`","params":`+tt.params+`,"id":1}`)
		want := `{"error":null,"result":` + tt.result + `,"id":1}`
		if e, ok := strings.CutPrefix(tt.result, "error:"); ok {
			c, msg, _ := strings.Cut(e, ":")
			want = `{"error":{"code":` + c + `,"message":"` + msg + `"},"result":null,"id":1}`
		}
		if code != 200 || body != want {
			t.Errorf("%s %s = %d %s; want 200 %s", tt.method, tt.params, code, body, want)
		}
	}
}
