package httprpc

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bourse-exchange/bourse/messages"
	"github.com/holiman/uint256"
)

// echoExchange answers every command with a well-typed reply built from the
// command itself, so that fuzzed params reach the result encoders too.
// Order id 13 answers an error reply and order id 504 a timeout.
func echoExchange(ctx context.Context, cmd messages.Command) (messages.Reply, error) {
	big := uint256.NewInt(0).Lsh(uint256.NewInt(1), 200)
	order := func(m messages.MarketID, typ messages.OrderType, side messages.Side, amount, price int64) messages.Order {
		return messages.Order{
			ID: uint64(amount), Market: m, Type: typ, Side: side, User: 1,
			CTime: price, MTime: -amount, Price: price, Amount: amount, Left: amount / 2,
			DealStock: amount - amount/2, DealMoney: *big, DealFee: *uint256.NewInt(uint64(price)),
			Frozen: *uint256.NewInt(uint64(amount)), Source: "\x00\"\\\xff",
		}
	}
	switch c := cmd.(type) {
	case *messages.BalanceQuery:
		assets := c.Assets
		if len(assets) == 0 {
			assets = []messages.AssetID{0, 1, 2}
		}
		return &messages.BalanceQueryReply{Assets: assets, Balances: make([]messages.Balance, len(assets))}, nil
	case *messages.BalanceUpdate:
		return &messages.StatusReply{}, nil
	case *messages.AssetSummary:
		rows := make([]messages.AssetSummaryRow, len(c.Assets))
		for i, a := range c.Assets {
			rows[i] = messages.AssetSummaryRow{Asset: a, AvailableCount: 1, Available: *big, Frozen: *big}
		}
		return &messages.AssetSummaryReply{Rows: rows}, nil
	case *messages.PutLimit:
		return &messages.OrderReply{Order: order(c.Market, messages.Limit, c.Side, c.Amount, c.Price)}, nil
	case *messages.PutMarket:
		return &messages.OrderReply{Order: order(c.Market, messages.Market, c.Side, c.Amount, 0)}, nil
	case *messages.Cancel:
		if c.ClientID != "" {
			return &messages.OrderReply{Order: order(c.Market, messages.Limit, messages.Ask, int64(len(c.ClientID)), 1)}, nil
		}
		switch c.OrderID {
		case 13:
			return &messages.ErrorReply{Err: messages.ErrOrderNotFound}, nil
		case 504:
			return nil, messages.ErrServiceTimeout
		}
		return &messages.OrderReply{Order: order(c.Market, messages.Limit, messages.Ask, int64(c.OrderID>>1), 1)}, nil
	case *messages.Amend:
		if c.OrderID == 13 || c.ClientID == "e" {
			return &messages.ErrorReply{Err: messages.ErrOrderNotFound}, nil
		}
		return &messages.OrderReply{Order: order(c.Market, messages.Limit, messages.Bid, c.Amount, 7)}, nil
	case *messages.CancelAfter:
		return &messages.CancelAfterReply{Deadline: c.Time + c.Timeout}, nil
	case *messages.CancelAll:
		return &messages.CancelAllReply{Count: int(c.Side)}, nil
	case *messages.OrderBook:
		return &messages.OrderListReply{Total: c.Offset, Orders: []messages.Order{order(c.Market, messages.Limit, c.Side, int64(c.Limit), 5)}}, nil
	case *messages.OrderPending:
		return &messages.OrderListReply{Total: c.Limit, Orders: []messages.Order{order(c.Market, messages.Limit, messages.Bid, int64(c.Offset), 5)}}, nil
	case *messages.OrderDepth:
		return &messages.DepthReply{Asks: []messages.DepthLevel{{Price: c.Interval, Amount: int64(c.Limit)}}}, nil
	case *messages.OrderPendingDetail:
		if c.OrderID%2 == 0 {
			return &messages.OrderDetailReply{}, nil
		}
		o := order(c.Market, messages.Market, messages.Bid, int64(c.OrderID>>1), 0)
		return &messages.OrderDetailReply{Order: &o}, nil
	case *messages.MarketSummary:
		return &messages.MarketSummaryReply{Market: c.Market, AskCount: 1, AskAmount: -1, BidAmount: 1 << 62}, nil
	}
	return &messages.ErrorReply{Err: messages.ErrInternal}, nil
}

// FuzzDecodeRequest runs arbitrary bodies through the whole handler: it must
// never panic, answer only with the statuses of docs/protocol.md "HTTP transport", and every JSON
// body it writes must be valid JSON.
func FuzzDecodeRequest(f *testing.F) {
	for _, seed := range []string{
		``,
		`{}`,
		`{"method":"asset.list","params":[],"id":1}`,
		`{"method":"market.list","params":[],"id":-1,"jsonrpc":"2.0"}`,
		`{"method":"balance.query","params":[0,"BTC","USDT"],"id":2}`,
		`{"method":"balance.update","params":[1,"BTC","deposit",1,"1.5",{"a":[1,{"b":"]"}]}],"id":3}`,
		`{"method":"asset.summary","params":["ETH"],"id":4}`,
		`{"method":"order.put_limit","params":[1,"BTCUSDT",2,"1.2345678","30000.129","0.002","0.001","web"],"id":5}`,
		`{"method":"order.put_market","params":[1,"BTCUSDT",2,"1e2","0.001",""],"id":6}`,
		`{"method":"order.cancel","params":[1,"ETHBTC",504],"id":7}`,
		`{"method":"order.book","params":["BTCUSDT",1,0,101],"id":8}`,
		`{"method":"order.depth","params":["BTCUSDT",10,"0.5"],"id":9}`,
		`{"method":"order.pending","params":[1,"BTCUSDT",0,10],"id":10}`,
		`{"method":"order.pending_detail","params":["ETHBTC",3],"id":11}`,
		`{"method":"market.summary","params":[],"id":12}`,
		`{"method":"nope","params":[],"id":13}`,
		`{"\u006dethod":"asset\u002elist","params":[],"id":1}`,
		`{"method":"order.put_limit","params":[1,"BTCUSDT",2,"1e-999999","1e30","-0","0.9999",""],"id":5}`,
	} {
		f.Add([]byte(seed))
	}
	cfg := loadTestConfig(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		fx := &fakeExchange{cfg: cfg, reply: echoExchange}
		s := New(fx)
		s.MaxBodyBytes = 4096
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(body)))
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 404, 504:
			if !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("status %d with invalid JSON body %q", rec.Code, rec.Body.Bytes())
			}
			var env struct {
				Error  *struct{ Code int }
				Result json.RawMessage
				ID     *int64
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.ID == nil {
				t.Fatalf("status %d body %q is not an envelope (%v)", rec.Code, rec.Body.Bytes(), err)
			}
			if (rec.Code == 404) != (env.Error != nil && env.Error.Code == 4) {
				t.Fatalf("status %d body %q: code 4 iff 404", rec.Code, rec.Body.Bytes())
			}
			if (rec.Code == 504) != (env.Error != nil && env.Error.Code == 5) {
				t.Fatalf("status %d body %q: code 5 iff 504", rec.Code, rec.Body.Bytes())
			}
		case 400, 413:
			var env struct {
				Error *struct {
					Code    int
					Message string
				}
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Error == nil || env.Error.Code != 1 ||
				!strings.HasPrefix(env.Error.Message, "invalid request: ") {
				t.Fatalf("status %d with body %q; want a code 1 envelope saying why (%v)", rec.Code, rec.Body.Bytes(), err)
			}
			if n := len(fx.commands()); n != 0 {
				t.Fatalf("status %d but %d commands sent", rec.Code, n)
			}
		default:
			t.Fatalf("status %d for body %q", rec.Code, body)
		}
	})
}

// methodNames lists the method table in a fixed order for FuzzMethodParams.
var methodNames = []string{
	"balance.query", "balance.update", "asset.list", "asset.summary",
	"order.put_limit", "order.put_market", "order.cancel", "order.book",
	"order.depth", "order.pending", "order.pending_detail", "market.list",
	"market.summary", "order.put_limit_ex", "order.cancel_all",
	"order.put_market_ex", "order.put_stop_limit", "order.put_stop_market",
	"order.cancel_by_client_id", "order.pending_detail_by_client_id",
	"order.amend", "order.amend_by_client_id", "order.cancel_all_after",
}

// FuzzMethodParams reaches the param decoders more directly than
// FuzzDecodeRequest: the envelope is well formed and only params vary. A
// params value that is not a JSON array (nor null: no params) must be
// refused with 400; anything else is answered 200 (or 504 for the scripted
// timeout) and a code 1 answer must not have sent a command.
func FuzzMethodParams(f *testing.F) {
	for i, p := range []string{
		`[1,"BTC","USDT"]`,
		`[1,"BTC","deposit",1,"-1.5",{"x":1}]`,
		`[]`,
		`["BTC","ETH","BTC"]`,
		`[1,"BTCUSDT",2,"1.2345678","30000.129","0.002","0.001","web"]`,
		`[1,"BTCUSDT",2,"100.129","0.001",""]`,
		`[1,"ETHBTC",504]`,
		`["BTCUSDT",1,0,101]`,
		`["BTCUSDT",101,"0.01"]`,
		`[0,"ETHBTC",0,0]`,
		`["ETHBTC",3]`,
		`[1]`,
		`["ETH\u0042TC","BTCUSDT"]`,
	} {
		f.Add(uint8(i), []byte(p))
	}
	for _, seed := range []struct{ method, params string }{
		{"order.put_limit_ex", `[1,"BTCUSDT",2,"1","100","0.002","0.001","web",{"client_id":"a-1","time_in_force":"IOC"}]`},
		{"order.put_stop_limit", `[1,"BTCUSDT",2,"1","101","100","0.002","0.001","web",{"post_only":true}]`},
		{"order.put_stop_market", `[1,"BTCUSDT",1,"0.5","99","0.002","web",{"stp":"cancel_both"}]`},
		{"order.put_market_ex", `[1,"BTCUSDT",2,"50","0.002","web",{"client_id":"m"}]`},
		{"order.amend_by_client_id", `[1,"ETHBTC","c-7","0.25"]`},
		{"order.cancel_all_after", `[1,"ETHBTC",86400]`},
	} {
		f.Add(uint8(slices.Index(methodNames, seed.method)), []byte(seed.params))
	}
	cfg := loadTestConfig(f)
	f.Fuzz(func(t *testing.T, m uint8, params []byte) {
		name := methodNames[int(m)%len(methodNames)]
		fx := &fakeExchange{cfg: cfg, reply: echoExchange}
		body := `{"method":"` + name + `","params":` + string(params) + `,"id":1}`
		code, got := post(New(fx).Handler(), body)
		var arr []json.RawMessage
		isArray := utf8.Valid(params) && json.Valid([]byte(body)) &&
			json.Unmarshal(params, &arr) == nil && arr != nil
		switch {
		case !isArray:
			// Not a well-formed array (or the whole body is not JSON).
			if code != 400 && code != 200 && code != 504 {
				t.Fatalf("%s %q = %d", name, params, code)
			}
			if code == 400 && len(fx.commands()) != 0 {
				t.Fatalf("400 but commands sent")
			}
		case code != 200 && code != 504:
			t.Fatalf("%s %q = %d %s; want 200 or 504", name, params, code, got)
		}
		if code == 200 && strings.HasPrefix(got, `{"error":{"code":1,`) && len(fx.commands()) != 0 {
			t.Fatalf("%s %q: code 1 after sending %d commands", name, params, len(fx.commands()))
		}
		if code != 400 && !json.Valid([]byte(got)) {
			t.Fatalf("%s %q: invalid JSON %q", name, params, got)
		}
	})
}
