package httprpc

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/testnode"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/runtime"
)

// TestOptionCommands: each order-option method builds exactly the command
// its params say (testConfig: BTCUSDT stock_prec 6, money_prec 2, fee_prec
// 4; ETHBTC 4, 6, 3) and prints the reply.
func TestOptionCommands(t *testing.T) {
	orderReply := []messages.Reply{&messages.OrderReply{Order: limitAsk}}
	tests := []struct {
		name, method, params string
		replies              []messages.Reply
		want                 messages.Command
		result               string
	}{
		{
			name: "put_limit_ex every option", method: "order.put_limit_ex",
			params:  `[1,"BTCUSDT",2,"1","100","0.002","0.001","web",{"client_id":"a.B_9:-","stp":"cancel_maker","time_in_force":"IOC"}]`,
			replies: orderReply,
			want: &messages.PutLimit{User: 1, Market: 0, Side: messages.Bid, Amount: 1000000, Price: 10000,
				TakerFee: 20, MakerFee: 10, Source: "web", TIF: messages.IOC, STP: messages.STPCancelMaker, ClientID: "a.B_9:-"},
			result: limitAskJSON,
		},
		{
			name: "put_limit_ex null options are absent", method: "order.put_limit_ex",
			params:  `[1,"BTCUSDT",2,"1","100","0","0","web",{"client_id":null,"stp":null,"post_only":null,"time_in_force":null}]`,
			replies: orderReply,
			want:    &messages.PutLimit{User: 1, Market: 0, Side: messages.Bid, Amount: 1000000, Price: 10000, Source: "web"},
			result:  limitAskJSON,
		},
		{
			name: "put_stop_limit without options: stop_price before price", method: "order.put_stop_limit",
			params:  `[1,"BTCUSDT",1,"0.5","99.5","99","0.002","0.001","api"]`,
			replies: orderReply,
			want: &messages.PutLimit{User: 1, Market: 0, Side: messages.Ask, Amount: 500000, Price: 9900, StopPrice: 9950,
				TakerFee: 20, MakerFee: 10, Source: "api"},
			result: limitAskJSON,
		},
		{
			name: "put_stop_limit with options, stop truncated at money_prec", method: "order.put_stop_limit",
			params:  `[2,"ETHBTC",2,"1.23456","0.0651239","0.07","0.001","0","",{"post_only":true,"client_id":"s1","stp":"none"}]`,
			replies: orderReply,
			want: &messages.PutLimit{User: 2, Market: 1, Side: messages.Bid, Amount: 12345, Price: 70000, StopPrice: 65123,
				TakerFee: 1, PostOnly: true, STP: messages.STPNone, ClientID: "s1"},
			result: limitAskJSON,
		},
		{
			name: "put_stop_market buy: amount is money", method: "order.put_stop_market",
			params:  `[3,"BTCUSDT",2,"100.129","101","0.001",""]`,
			replies: []messages.Reply{&messages.OrderReply{Order: marketBid}},
			want:    &messages.PutMarket{User: 3, Market: 0, Side: messages.Bid, Amount: 10012, StopPrice: 10100, TakerFee: 10},
			result:  marketBidJSON,
		},
		{
			name: "put_stop_market sell with options", method: "order.put_stop_market",
			params:  `[3,"ETHBTC",1,"0.12345","0.0651234","0.5","api",{"stp":"cancel_taker","client_id":"x"}]`,
			replies: []messages.Reply{&messages.OrderReply{Order: marketAsk}},
			want: &messages.PutMarket{User: 3, Market: 1, Side: messages.Ask, Amount: 1234, StopPrice: 65123, TakerFee: 500,
				Source: "api", STP: messages.STPCancelTaker, ClientID: "x"},
			result: marketAskJSON,
		},
		{
			name: "put_market_ex", method: "order.put_market_ex",
			params:  `[3,"ETHBTC",1,"0.12345","0.9999","api",{"stp":"cancel_both","client_id":"` + strings.Repeat("z", 32) + `"}]`,
			replies: []messages.Reply{&messages.OrderReply{Order: marketAsk}},
			want: &messages.PutMarket{User: 3, Market: 1, Side: messages.Ask, Amount: 1234, TakerFee: 999, Source: "api",
				STP: messages.STPCancelBoth, ClientID: strings.Repeat("z", 32)},
			result: marketAskJSON,
		},
		{
			name: "put_market_ex empty options", method: "order.put_market_ex",
			params:  `[3,"BTCUSDT",2,"100.129","0.001","",{}]`,
			replies: []messages.Reply{&messages.OrderReply{Order: marketBid}},
			want:    &messages.PutMarket{User: 3, Market: 0, Side: messages.Bid, Amount: 10012, TakerFee: 10},
			result:  marketBidJSON,
		},
		{
			name: "cancel_by_client_id", method: "order.cancel_by_client_id", params: `[9,"ETHBTC","c-7"]`,
			replies: orderReply,
			want:    &messages.Cancel{User: 9, Market: 1, ClientID: "c-7"},
			result:  limitAskJSON,
		},
		{
			name: "cancel_by_client_id not found", method: "order.cancel_by_client_id", params: `[9,"ETHBTC","c-8"]`,
			replies: []messages.Reply{&messages.ErrorReply{Err: messages.ErrOrderNotFound}},
			want:    &messages.Cancel{User: 9, Market: 1, ClientID: "c-8"},
			result:  "error:10:order not found",
		},
		{
			name: "pending_detail_by_client_id found", method: "order.pending_detail_by_client_id", params: `[9,"ETHBTC","c-7"]`,
			replies: []messages.Reply{&messages.OrderDetailReply{Order: &limitAsk}},
			want:    &messages.OrderPendingDetail{Market: 1, User: 9, ClientID: "c-7"},
			result:  limitAskJSON,
		},
		{
			name: "pending_detail_by_client_id fee account, none", method: "order.pending_detail_by_client_id", params: `[0,"BTCUSDT","c-7"]`,
			replies: []messages.Reply{&messages.OrderDetailReply{}},
			want:    &messages.OrderPendingDetail{Market: 0, User: 0, ClientID: "c-7"},
			result:  `null`,
		},
		{
			name: "amend", method: "order.amend", params: `[9,"ETHBTC",7,"1.23456"]`,
			replies: orderReply,
			want:    &messages.Amend{User: 9, Market: 1, OrderID: 7, Amount: 12345},
			result:  limitAskJSON,
		},
		{
			name: "amend_by_client_id", method: "order.amend_by_client_id", params: `[9,"ETHBTC","c-7","2"]`,
			replies: orderReply,
			want:    &messages.Amend{User: 9, Market: 1, ClientID: "c-7", Amount: 20000},
			result:  limitAskJSON,
		},
		{
			name: "amend refused", method: "order.amend", params: `[9,"ETHBTC",7,"3"]`,
			replies: []messages.Reply{&messages.ErrorReply{Err: messages.ErrUserNotMatch}},
			want:    &messages.Amend{User: 9, Market: 1, OrderID: 7, Amount: 30000},
			result:  "error:11:user not match",
		},
		{
			name: "cancel_all_after arms", method: "order.cancel_all_after", params: `[9,"ETHBTC",86400]`,
			replies: []messages.Reply{&messages.CancelAfterReply{Deadline: 1700000010500000}},
			want:    &messages.CancelAfter{User: 9, Market: 1, Timeout: 86400e6},
			result:  `{"deadline":1700000010.5}`,
		},
		{
			name: "cancel_all_after disarms", method: "order.cancel_all_after", params: `[9,"BTCUSDT",0]`,
			replies: []messages.Reply{&messages.CancelAfterReply{}},
			want:    &messages.CancelAfter{User: 9, Market: 0},
			result:  `{"deadline":0}`,
		},
		{
			name: "cancel_all_after wrong reply", method: "order.cancel_all_after", params: `[9,"BTCUSDT",1]`,
			replies: orderReply,
			want:    &messages.CancelAfter{User: 9, Market: 0, Timeout: 1e6},
			result:  "error:2:internal error",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := newTestServer(t)
			f.reply = func(context.Context, messages.Command) (messages.Reply, error) { return tt.replies[0], nil }
			before := time.Now().UnixMicro()
			code, body := post(s.Handler(), envelope(tt.method, tt.params))
			after := time.Now().UnixMicro()
			want := `{"error":null,"result":` + tt.result + `,"id":1}`
			if e, ok := strings.CutPrefix(tt.result, "error:"); ok {
				code, msg, _ := strings.Cut(e, ":")
				want = `{"error":{"code":` + code + `,"message":"` + msg + `"},"result":null,"id":1}`
			}
			if code != 200 || body != want {
				t.Errorf("%s %s = %d\n%s\nwant\n%s", tt.method, tt.params, code, body, want)
			}
			cmds := f.commands()
			for _, c := range cmds {
				if ts := clearTime(c); ts != -1 && (ts < before || ts > after) {
					t.Errorf("%T.Time = %d; want between %d and %d", c, ts, before, after)
				}
			}
			if len(cmds) != 1 || !reflect.DeepEqual(cmds[0], tt.want) {
				t.Errorf("commands =\n%s\nwant\n%s", dump(cmds), dump([]messages.Command{tt.want}))
			}
		})
	}
}

// TestOptionInvalidArgument: every malformed call of an order-option
// method answers code 1 and sends nothing.
func TestOptionInvalidArgument(t *testing.T) {
	limit := `1,"BTCUSDT",2,"1","100","0.002","0.001","web"`
	stopLimit := `1,"BTCUSDT",2,"1","101","100","0.002","0.001","web"`
	stopMarket := `1,"BTCUSDT",2,"100","101","0.002","web"`
	market := `1,"BTCUSDT",2,"100","0.002","web"`
	id33 := `"` + strings.Repeat("c", 33) + `"`
	tests := []struct{ method, params string }{}
	add := func(method string, params ...string) {
		for _, p := range params {
			tests = append(tests, struct{ method, params string }{method, p})
		}
	}
	// Options objects refused by every method that takes one.
	for _, o := range []string{`[]`, `null`, `"{}"`, `1`, `{"bogus":1}`, `{"Stp":"none"}`, `{"stp":""}`, `{"stp":"default"}`,
		`{"stp":1}`, `{"client_id":""}`, `{"client_id":` + id33 + `}`, `{"client_id":"a b"}`, `{"client_id":"é"}`,
		`{"client_id":"a/b"}`, `{"client_id":7}`, `{"client_id":["a"]}`} {
		add("order.put_limit_ex", `[`+limit+`,`+o+`]`)
		add("order.put_stop_limit", `[`+stopLimit+`,`+o+`]`)
		add("order.put_stop_market", `[`+stopMarket+`,`+o+`]`)
		add("order.put_market_ex", `[`+market+`,`+o+`]`)
	}
	// Limit-order options: refused for market orders, some combinations for all.
	for _, o := range []string{`{"time_in_force":"GTC"}`, `{"post_only":false}`} {
		add("order.put_stop_market", `[`+stopMarket+`,`+o+`]`)
		add("order.put_market_ex", `[`+market+`,`+o+`]`)
	}
	for _, o := range []string{`{"time_in_force":"FOK","post_only":true}`, `{"time_in_force":"gtc"}`, `{"time_in_force":1}`,
		`{"post_only":1}`, `{"post_only":"true"}`} {
		add("order.put_limit_ex", `[`+limit+`,`+o+`]`)
		add("order.put_stop_limit", `[`+stopLimit+`,`+o+`]`)
	}
	add("order.put_limit_ex", `[`+limit+`]`, `[`+limit+`,{},{}]`)
	add("order.put_stop_limit",
		`[1,"BTCUSDT",2,"1","101","100","0.002","0.001"]`, // 8 params
		`[`+stopLimit+`,{},{}]`,
		`[1,"BTCUSDT",2,"1","0","100","0.002","0.001","web"]`,
		`[1,"BTCUSDT",2,"1","-101","100","0.002","0.001","web"]`,
		`[1,"BTCUSDT",2,"1","0.001","100","0.002","0.001","web"]`, // 0 at money_prec 2
		`[1,"BTCUSDT",2,"1",101,"100","0.002","0.001","web"]`,
		`[1,"BTCUSDT",2,"1","101","0","0.002","0.001","web"]`,
		`[1,"BTCUSDT",2,"1","101","100","1","0.001","web"]`,
		`[0,"BTCUSDT",2,"1","101","100","0.002","0.001","web"]`,
		`[1,"XXX",2,"1","101","100","0.002","0.001","web"]`,
		`[1,"BTCUSDT",3,"1","101","100","0.002","0.001","web"]`,
		`[1,"BTCUSDT",2,"0","101","100","0.002","0.001","web"]`)
	add("order.put_stop_market",
		`[1,"BTCUSDT",2,"100","101","0.002"]`, // 6 params
		`[`+stopMarket+`,{},{}]`,
		`[1,"BTCUSDT",2,"100","0","0.002","web"]`,
		`[1,"BTCUSDT",2,"100",null,"0.002","web"]`,
		`[1,"BTCUSDT",2,"0.001","101","0.002","web"]`, // a buy's money at money_prec 2
		`[1,"BTCUSDT",1,"0.0000000001","101","0.002","web"]`,
		`[0,"BTCUSDT",2,"100","101","0.002","web"]`,
		`[1,"BTCUSDT",2,"100","101","0.002","`+strings.Repeat("s", 31)+`"]`)
	add("order.put_market_ex", `[`+market+`]`, `[`+market+`,{},{}]`, `[0,"BTCUSDT",2,"100","0.002","web",{}]`)
	add("order.cancel_by_client_id", `[1,"BTCUSDT"]`, `[1,"BTCUSDT","a","b"]`, `[1,"BTCUSDT",7]`, `[1,"BTCUSDT",""]`,
		`[1,"BTCUSDT",`+id33+`]`, `[1,"BTCUSDT","a b"]`, `[0,"BTCUSDT","a"]`, `[1,"XXX","a"]`, `[1,"BTCUSDT",null]`)
	add("order.pending_detail_by_client_id", `["BTCUSDT","a"]`, `[1,"BTCUSDT","a",1]`, `[-1,"BTCUSDT","a"]`,
		`[1,"BTCUSDT",""]`, `[1,"BTCUSDT",1]`, `[1,"XXX","a"]`)
	add("order.amend", `[1,"BTCUSDT",1]`, `[1,"BTCUSDT",1,"1",1]`, `[1,"BTCUSDT",1,"0"]`, `[1,"BTCUSDT",1,"-1"]`,
		`[1,"BTCUSDT",1,"0.0000001"]`, `[1,"BTCUSDT",1,1]`, `[1,"BTCUSDT","1","1"]`, `[1,"BTCUSDT",-1,"1"]`,
		`[0,"BTCUSDT",1,"1"]`, `[1,"XXX",1,"1"]`, `[1,"BTCUSDT",1.5,"1"]`)
	add("order.amend_by_client_id", `[1,"BTCUSDT","a"]`, `[1,"BTCUSDT",1,"1"]`, `[1,"BTCUSDT","","1"]`,
		`[1,"BTCUSDT","a","0"]`, `[0,"BTCUSDT","a","1"]`, `[1,"BTCUSDT","a b","1"]`)
	add("order.cancel_all_after", `[1,"BTCUSDT"]`, `[1,"BTCUSDT",1,1]`, `[1,"BTCUSDT",86401]`, `[1,"BTCUSDT",-1]`,
		`[1,"BTCUSDT",1.5]`, `[1,"BTCUSDT","10"]`, `[1,"BTCUSDT",null]`, `[0,"BTCUSDT",10]`, `[1,"XXX",10]`,
		`[1,"BTCUSDT",18446744073709551616]`)
	for _, tt := range tests {
		s, f := newTestServer(t)
		code, body := post(s.Handler(), envelope(tt.method, tt.params))
		if code != 200 || !isArgError(body, 1) {
			want := "code 1 naming the param"
			t.Errorf("%s %s = %d %s; want 200 %s", tt.method, tt.params, code, body, want)
		}
		if cmds := f.commands(); len(cmds) != 0 {
			t.Errorf("%s %s: commands sent:\n%s", tt.method, tt.params, dump(cmds))
		}
	}
}

// optNode is a real node (journal in a temporary directory; no ticks
// unless the test calls Node.Tick) behind the HTTP edge.
type optNode struct {
	t    *testing.T
	cfg  *config.Config
	dir  string
	node *runtime.Node
	h    http.Handler
	done bool // the node was shut down (finish)
}

// startOptNode starts a node on the default configuration, changed by
// edit (nil: as is), and deposits: user 1 100000 USDT and 10 BTC, user 2
// 100 BTC, user 3 100000 USDT and 100 BTC.
func startOptNode(t *testing.T, edit func(yaml string) string) *optNode {
	t.Helper()
	text := string(config.Default)
	if edit != nil {
		text = edit(text)
	}
	cfg, err := config.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "data")
	node := testnode.Start(t, cfg, runtime.Options{DataDir: dir, TickInterval: -1})
	n := &optNode{t: t, cfg: cfg, dir: dir, node: node, h: New(node.Router).Handler()}
	t.Cleanup(func() {
		if !n.done {
			n.node.Shutdown(context.Background())
		}
	})
	for _, d := range []string{`1,"USDT","deposit",1,"100000"`, `1,"BTC","deposit",2,"10"`, `2,"BTC","deposit",3,"100"`,
		`3,"USDT","deposit",4,"100000"`, `3,"BTC","deposit",5,"100"`} {
		n.ok("balance.update", `[`+d+`,{}]`)
	}
	return n
}

// call returns the result, or the error code (0: none).
func (n *optNode) call(method, params string) (json.RawMessage, int) {
	n.t.Helper()
	code, body := post(n.h, envelope(method, params))
	if code != 200 {
		n.t.Fatalf("%s %s: HTTP %d %s", method, params, code, body)
	}
	var rep struct {
		Error *struct {
			Code int `json:"code"`
		} `json:"error"`
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		n.t.Fatalf("%s %s: %s: %v", method, params, body, err)
	}
	if rep.Error != nil {
		return nil, rep.Error.Code
	}
	return rep.Result, 0
}

// ok makes a call that must succeed and returns its result.
func (n *optNode) ok(method, params string) json.RawMessage {
	n.t.Helper()
	res, code := n.call(method, params)
	if code != 0 {
		n.t.Fatalf("%s %s: code %d", method, params, code)
	}
	return res
}

// order makes a call that must answer an order and returns it.
func (n *optNode) order(method, params string) map[string]any {
	n.t.Helper()
	var o map[string]any
	if err := json.Unmarshal(n.ok(method, params), &o); err != nil || o == nil {
		n.t.Fatalf("%s %s: not an order", method, params)
	}
	return o
}

func (n *optNode) hash() string {
	n.t.Helper()
	h, err := n.node.Router.StateHash(context.Background())
	if err != nil {
		n.t.Fatal(err)
	}
	return h
}

// refused makes a call that must be refused with code and checks that it
// changed nothing.
func (n *optNode) refused(code int, method, params string) {
	n.t.Helper()
	before := n.hash()
	if _, got := n.call(method, params); got != code {
		n.t.Errorf("%s %s: code %d; want %d", method, params, got, code)
	}
	if n.hash() != before {
		n.t.Errorf("%s %s: refused with code %d but the state changed", method, params, code)
	}
}

// balance returns a user's "available/freeze" of an asset.
func (n *optNode) balance(user int, asset string) string {
	n.t.Helper()
	var r map[string]struct{ Available, Freeze string }
	json.Unmarshal(n.ok("balance.query", `[`+strconv.Itoa(user)+`,"`+asset+`"]`), &r)
	return r[asset].Available + "/" + r[asset].Freeze
}

// pending returns a user's open orders in market, newest first.
func (n *optNode) pending(user int, market string) []map[string]any {
	n.t.Helper()
	var r struct{ Records []map[string]any }
	json.Unmarshal(n.ok("order.pending", `[`+strconv.Itoa(user)+`,"`+market+`",0,100]`), &r)
	return r.Records
}

// finish stops the node, recovers its journal offline and checks that the
// recovered state is the live one and that money is conserved and every
// frozen amount is an open order's reservation.
func (n *optNode) finish() {
	n.t.Helper()
	live := n.hash()
	n.done = true
	if err := n.node.Shutdown(context.Background()); err != nil {
		n.t.Fatal(err)
	}
	s, backend, err := runtime.Recover(n.cfg, n.dir, "")
	if err != nil {
		n.t.Fatal(err)
	}
	backend.Close()
	if got := s.Hash(); got != live {
		n.t.Errorf("recovered hash %s != live %s", got, live)
	}
	if bad := s.Check(); len(bad) > 0 {
		n.t.Errorf("invariants: %v", bad)
	}
}

func id(o map[string]any) string { return strconv.FormatUint(uint64(o["id"].(float64)), 10) }

// want checks fields of an order (JSON values as printed: strings for
// decimals, numbers as float64, booleans).
func want(t *testing.T, what string, o map[string]any, fields map[string]any) {
	t.Helper()
	for k, v := range fields {
		if o[k] != v {
			t.Errorf("%s: %s = %v; want %v (order %v)", what, k, o[k], v, o)
		}
	}
}

// TestOrderOptions: order.put_limit_ex and order.cancel_all over HTTP on
// a real node.
func TestOrderOptions(t *testing.T) {
	n := startOptNode(t, nil)
	n.ok("order.put_limit", `[2,"BTCUSDT",1,"1","100","0.002","0.001","web"]`)
	for _, tt := range []struct {
		params string
		code   int
		fields map[string]any
	}{
		// IOC: 1 of 1.5 trades, the rest is cancelled (left 0.5, not resting).
		{`[1,"BTCUSDT",2,"1.5","100","0.002","0.001","web",{"time_in_force":"IOC"}]`, 0, map[string]any{"left": "0.5", "deal_stock": "1", "time_in_force": "IOC"}},
		{`[1,"BTCUSDT",2,"1","100","0.002","0.001","web",{"time_in_force":"FOK"}]`, 12, nil},
		{`[2,"BTCUSDT",1,"1","100","0.002","0.001","web",{"post_only":true}]`, 0, map[string]any{"left": "1", "post_only": true}},
		{`[1,"BTCUSDT",2,"1","100","0.002","0.001","web",{"post_only":true}]`, 13, nil},
		{`[1,"BTCUSDT",2,"1","99","0.002","0.001","web",{"post_only":true,"stp":"cancel_both","client_id":"po-1"}]`, 0,
			map[string]any{"left": "1", "client_id": "po-1", "stp": "cancel_both"}},
		{`[1,"BTCUSDT",2,"1","98","0.002","0.001","web",{"client_id":"po-1"}]`, 14, nil},
		{`[1,"BTCUSDT",2,"1","99","0.002","0.001","web",{"time_in_force":"IOC","post_only":true}]`, 1, nil},
		{`[1,"BTCUSDT",2,"1","99","0.002","0.001","web",{"time_in_force":"ioc"}]`, 1, nil},
		{`[1,"BTCUSDT",2,"1","99","0.002","0.001","web",{"stp":""}]`, 1, nil},
		{`[1,"BTCUSDT",2,"1","99","0.002","0.001","web",{"colour":"red"}]`, 1, nil},
		{`[1,"BTCUSDT",2,"1","99","0.002","0.001","web",{"client_id":"no spaces"}]`, 1, nil},
		{`[1,"BTCUSDT",2,"1","99","0.002","0.001","web",[]]`, 1, nil},
		{`[1,"BTCUSDT",2,"1","99","0.002","0.001","web"]`, 1, nil},
	} {
		if tt.code != 0 {
			n.refused(tt.code, "order.put_limit_ex", tt.params)
			continue
		}
		want(t, "order.put_limit_ex "+tt.params, n.order("order.put_limit_ex", tt.params), tt.fields)
	}
	n.ok("order.put_limit", `[1,"BTCUSDT",2,"1","98","0.002","0.001","web"]`)
	n.ok("order.put_limit", `[1,"ETHUSDT",2,"1","98","0.002","0.001","web"]`)
	for _, tt := range []struct{ params, want string }{
		{`[1,"BTCUSDT",1]`, `{"count":0}`}, // no asks
		{`[1,"BTCUSDT",0]`, `{"count":2}`}, // the bids at 99 and 98
		{`[1,"BTCUSDT",0]`, `{"count":0}`},
		{`[1,"ETHUSDT",2]`, `{"count":1}`},
	} {
		if got := string(n.ok("order.cancel_all", tt.params)); got != tt.want {
			t.Errorf("order.cancel_all %s = %s; want %s", tt.params, got, tt.want)
		}
	}
	for _, p := range []string{`[1,"BTCUSDT",3]`, `[0,"BTCUSDT",0]`, `[1,"BTCUSDT"]`} {
		n.refused(1, "order.cancel_all", p)
	}
	if got := n.balance(1, "USDT"); !strings.HasSuffix(got, "/0") {
		t.Errorf("user 1 still has USDT frozen: %s", got)
	}
	n.finish()
}

// TestStopOrders: stop-limit and stop-market orders placed, refused,
// triggered by trades and cancelled over HTTP. Fees are 0 so that
// reservations are round numbers.
func TestStopOrders(t *testing.T) {
	n := startOptNode(t, func(y string) string {
		return strings.Replace(y, `min_amount: "0.0001" }`, `min_amount: "0.0001", max_open_orders: 3 }`, 1)
	})
	// Before any trade there is no last price: any stop is accepted.
	early := n.order("order.put_stop_limit", `[3,"BTCUSDT",2,"1","1","2","0","0","web"]`)
	want(t, "early stop", early, map[string]any{"stop_price": "1", "triggered": false})
	n.ok("order.cancel", `[3,"BTCUSDT",`+id(early)+`]`)
	// A trade at 100: the last price.
	n.ok("order.put_limit", `[2,"BTCUSDT",1,"1","100","0","0","web"]`)
	n.ok("order.put_limit", `[3,"BTCUSDT",2,"1","100","0","0","web"]`)

	// Held: an open order with its funds reserved, not in the book.
	sl := n.order("order.put_stop_limit", `[1,"BTCUSDT",2,"1","105","106","0","0","web",{"client_id":"sl-1"}]`)
	want(t, "stop-limit", sl, map[string]any{"type": 1.0, "stop_price": "105", "triggered": false, "client_id": "sl-1", "left": "1", "price": "106"})
	if got := n.balance(1, "USDT"); got != "99894/106" {
		t.Errorf("USDT after the stop-limit buy = %s; want 99894/106", got)
	}
	sm := n.order("order.put_stop_market", `[2,"BTCUSDT",1,"0.5","95","0","web",{"client_id":"sm-1","stp":"cancel_taker"}]`)
	want(t, "stop-market", sm, map[string]any{"type": 2.0, "stop_price": "95", "triggered": false, "client_id": "sm-1", "stp": "cancel_taker"})
	if p := n.pending(1, "BTCUSDT"); len(p) != 1 || p[0]["id"] != sl["id"] {
		t.Errorf("order.pending of user 1 = %v; want the held stop", p)
	}
	if got := string(n.ok("order.depth", `["BTCUSDT",10,"0"]`)); got != `{"asks":[],"bids":[]}` {
		t.Errorf("order.depth with held stops = %s; want empty", got)
	}
	if d := n.order("order.pending_detail", `["BTCUSDT",`+id(sl)+`]`); d["triggered"] != false {
		t.Errorf("order.pending_detail = %v", d)
	}

	// Refusals: each changes nothing.
	for _, tt := range []struct {
		code           int
		method, params string
	}{
		{15, "order.put_stop_limit", `[1,"BTCUSDT",2,"1","100","106","0","0","web"]`},   // buy stop at the last price
		{15, "order.put_stop_limit", `[1,"BTCUSDT",1,"1","100.01","99","0","0","web"]`}, // sell stop above it
		{15, "order.put_stop_market", `[2,"BTCUSDT",1,"1","100","0","web"]`},
		{15, "order.put_stop_market", `[1,"BTCUSDT",2,"100","99.99","0","web"]`},
		{14, "order.put_stop_limit", `[1,"BTCUSDT",2,"1","107","108","0","0","web",{"client_id":"sl-1"}]`},
		{14, "order.put_stop_market", `[1,"BTCUSDT",2,"10","107","0","web",{"client_id":"sl-1"}]`},
		{10, "order.put_stop_limit", `[4,"BTCUSDT",2,"1","105","106","0","0","web"]`},
		{10, "order.put_stop_market", `[1,"BTCUSDT",1,"11","95","0","web"]`},
		{11, "order.put_stop_limit", `[1,"BTCUSDT",2,"0.00001","105","106","0","0","web"]`},
		{11, "order.put_stop_market", `[2,"BTCUSDT",1,"0.00001","95","0","web"]`},
		{1, "order.put_stop_limit", `[1,"BTCUSDT",2,"1","105","106","0","0"]`},
		{1, "order.put_stop_limit", `[1,"BTCUSDT",2,"1","105","106","0","0","web",{"stp":"sometimes"}]`},
		{1, "order.put_stop_market", `[2,"BTCUSDT",1,"0.5","95","0","web",{"time_in_force":"IOC"}]`},
		{1, "order.put_stop_market", `[2,"BTCUSDT",1,"0.5","0","0","web"]`},
		{1, "order.amend", `[2,"BTCUSDT",` + id(sm) + `,"0.4"]`}, // a stop-market order cannot be amended
	} {
		n.refused(tt.code, tt.method, tt.params)
	}
	// The market's max_open_orders (3) counts held stops.
	n.ok("order.put_stop_limit", `[1,"BTCUSDT",2,"1","200","201","0","0","web"]`)
	n.ok("order.put_limit", `[1,"BTCUSDT",2,"1","50","0","0","web"]`)
	n.refused(8, "order.put_stop_limit", `[1,"BTCUSDT",2,"1","300","301","0","0","web"]`)
	n.ok("order.cancel_all", `[1,"BTCUSDT",0]`)
	sl = n.order("order.put_stop_limit", `[1,"BTCUSDT",2,"1","105","106","0","0","web",{"client_id":"sl-1"}]`)

	// A trade at 105 triggers the buy stop; the ask is gone, so it rests at
	// 106, triggered.
	n.ok("order.put_limit", `[2,"BTCUSDT",1,"1","105","0","0","web"]`)
	n.ok("order.put_limit", `[3,"BTCUSDT",2,"1","105","0","0","web"]`)
	p := n.pending(1, "BTCUSDT")
	if len(p) != 1 {
		t.Fatalf("order.pending of user 1 after the trigger = %v", p)
	}
	want(t, "triggered stop-limit", p[0], map[string]any{"id": sl["id"], "triggered": true, "left": "1", "stop_price": "105"})
	if got := string(n.ok("order.depth", `["BTCUSDT",10,"0"]`)); got != `{"asks":[],"bids":[["106","1"]]}` {
		t.Errorf("order.depth after the trigger = %s", got)
	}
	if got := string(n.ok("market.summary", `["BTCUSDT"]`)); !strings.Contains(got, `"bid_count":1`) {
		t.Errorf("market.summary = %s", got)
	}
	// Cancelled by its client id; the id is free again.
	c := n.order("order.cancel_by_client_id", `[1,"BTCUSDT","sl-1"]`)
	want(t, "cancel_by_client_id", c, map[string]any{"id": sl["id"], "client_id": "sl-1", "triggered": true})
	n.refused(10, "order.cancel_by_client_id", `[1,"BTCUSDT","sl-1"]`)
	if got := n.balance(1, "USDT"); got != "100000/0" {
		t.Errorf("USDT of user 1 after the cancel = %s; want 100000/0", got)
	}

	// A trade at 95 triggers the sell stop-market: it sells 0.5 into the
	// rest of the bid at 95.
	n.ok("order.put_limit", `[3,"BTCUSDT",2,"2","95","0","0","web"]`)
	n.ok("order.put_limit", `[2,"BTCUSDT",1,"0.5","95","0","0","web"]`)
	if got := string(n.ok("order.pending_detail_by_client_id", `[2,"BTCUSDT","sm-1"]`)); got != "null" {
		t.Errorf("the stop-market order is still open: %s", got)
	}
	if p := n.pending(3, "BTCUSDT"); len(p) != 1 || p[0]["left"] != "1" {
		t.Errorf("user 3's bid at 95 = %v; want left 1", p)
	}
	// Seller: 100 BTC − 1 − 1 − 0.5 − 0.5; buyer's USDT: 100 + 105 + 95×1.
	if got := n.balance(2, "BTC"); got != "97/0" {
		t.Errorf("user 2 BTC = %s; want 97/0", got)
	}
	if got := n.balance(3, "USDT"); got != "99605/95" {
		t.Errorf("user 3 USDT = %s; want 99605/95", got)
	}
	n.finish()
}

// TestAmend: order.amend and order.amend_by_client_id reduce an order in
// place, keep its priority and release what it no longer needs.
func TestAmend(t *testing.T) {
	n := startOptNode(t, nil)
	a := n.order("order.put_limit", `[2,"BTCUSDT",1,"2","110","0","0","web"]`)
	b := n.order("order.put_limit", `[3,"BTCUSDT",1,"1","110","0","0","web"]`)
	am := n.order("order.amend", `[2,"BTCUSDT",`+id(a)+`,"1.5"]`)
	want(t, "amended", am, map[string]any{"id": a["id"], "amount": "1.5", "left": "1.5", "deal_stock": "0"})
	if got := n.balance(2, "BTC"); got != "98.5/1.5" {
		t.Errorf("user 2 BTC after amend = %s; want 98.5/1.5", got)
	}
	for _, tt := range []struct {
		code   int
		params string
	}{
		{1, `[2,"BTCUSDT",` + id(a) + `,"1.5"]`},  // not less
		{1, `[2,"BTCUSDT",` + id(a) + `,"3"]`},    // more
		{11, `[3,"BTCUSDT",` + id(a) + `,"1"]`},   // not the user's
		{10, `[2,"BTCUSDT",` + id(a) + `1,"1"]`},  // no such order
		{10, `[2,"ETHUSDT",` + id(a) + `,"1"]`},   // another market
		{1, `[2,"BTCUSDT",` + id(a) + `,"0"]`},    // zero
		{1, `[2,"BTCUSDT",` + id(a) + `,1]`},      // not a string
		{1, `[2,"BTCUSDT",` + id(a) + `]`},        // 3 params
		{1, `[2,"BTCUSDT",` + id(a) + `,"1",{}]`}, // 5 params
	} {
		n.refused(tt.code, "order.amend", tt.params)
	}
	// Priority kept: the amended order still fills first at 110, then the
	// later one.
	n.ok("order.put_limit", `[1,"BTCUSDT",2,"1","110","0","0","web"]`)
	if d := n.order("order.pending_detail", `["BTCUSDT",`+id(a)+`]`); d["left"] != "0.5" {
		t.Errorf("amended order after the first buy: %v; want left 0.5", d)
	}
	if d := n.order("order.pending_detail", `["BTCUSDT",`+id(b)+`]`); d["left"] != "1" {
		t.Errorf("later order after the first buy: %v; want left 1", d)
	}
	n.ok("order.put_limit", `[1,"BTCUSDT",2,"1","110","0","0","web"]`)
	if got := string(n.ok("order.pending_detail", `["BTCUSDT",`+id(a)+`]`)); got != "null" {
		t.Errorf("amended order after the second buy: %s; want filled", got)
	}
	if d := n.order("order.pending_detail", `["BTCUSDT",`+id(b)+`]`); d["left"] != "0.5" {
		t.Errorf("later order after the second buy: %v; want left 0.5", d)
	}
	// Partly filled: the new amount must exceed what was dealt.
	c := n.order("order.put_limit_ex", `[2,"BTCUSDT",1,"2","120","0","0","web",{"client_id":"am-1"}]`)
	n.ok("order.put_limit", `[1,"BTCUSDT",2,"1","120","0","0","web"]`) // 0.5 at 110 (b), 0.5 at 120 (c)
	n.refused(1, "order.amend_by_client_id", `[2,"BTCUSDT","am-1","0.5"]`)
	am = n.order("order.amend_by_client_id", `[2,"BTCUSDT","am-1","0.6"]`)
	want(t, "amended by client id", am, map[string]any{"id": c["id"], "amount": "0.6", "left": "0.1", "deal_stock": "0.5", "client_id": "am-1"})
	n.refused(10, "order.amend_by_client_id", `[2,"BTCUSDT","am-2","0.5"]`)
	n.refused(10, "order.amend_by_client_id", `[3,"BTCUSDT","am-1","0.5"]`) // client ids are per user
	// A held stop-limit order can be amended; its reservation shrinks.
	s := n.order("order.put_stop_limit", `[1,"BTCUSDT",2,"2","130","100","0","0","web"]`)
	if got := n.balance(1, "USDT"); got != "99465/200" {
		t.Errorf("user 1 USDT with the stop = %s; want 99465/200", got)
	}
	am = n.order("order.amend", `[1,"BTCUSDT",`+id(s)+`,"0.5"]`)
	want(t, "amended stop", am, map[string]any{"amount": "0.5", "left": "0.5", "stop_price": "130", "triggered": false})
	if got := n.balance(1, "USDT"); got != "99615/50" {
		t.Errorf("user 1 USDT after amending the stop = %s; want 99615/50", got)
	}
	n.finish()
}

// TestCancelAllAfter: the dead-man's switch armed, refreshed, disarmed and
// fired over HTTP, the time driven by Node.Tick.
func TestCancelAllAfter(t *testing.T) {
	n := startOptNode(t, nil)
	n.ok("order.put_limit", `[1,"BTCUSDT",2,"1","90","0","0","web"]`)
	n.ok("order.put_limit", `[1,"BTCUSDT",2,"1","80","0","0","web"]`)
	n.ok("order.put_stop_limit", `[1,"BTCUSDT",2,"1","150","150","0","0","web"]`)
	n.ok("order.put_limit", `[1,"ETHUSDT",2,"1","70","0","0","web"]`)
	arm := func(timeout int) float64 {
		t.Helper()
		var r struct{ Deadline *float64 }
		before := time.Now()
		if err := json.Unmarshal(n.ok("order.cancel_all_after", `[1,"BTCUSDT",`+strconv.Itoa(timeout)+`]`), &r); err != nil || r.Deadline == nil {
			t.Fatalf("cancel_all_after %d: no deadline", timeout)
		}
		after := time.Now()
		lo := float64(before.Add(time.Duration(timeout)*time.Second).UnixMicro()) / 1e6
		hi := float64(after.Add(time.Duration(timeout)*time.Second).UnixMicro()) / 1e6
		if timeout == 0 && *r.Deadline != 0 || timeout > 0 && (*r.Deadline < lo-1e-6 || *r.Deadline > hi+1e-6) {
			t.Errorf("cancel_all_after %d: deadline %f; want 0 or between %f and %f", timeout, *r.Deadline, lo, hi)
		}
		return *r.Deadline
	}
	open := func() int {
		t.Helper()
		return len(n.pending(1, "BTCUSDT"))
	}
	first := arm(60)
	n.node.Tick(time.Now().Add(30 * time.Second))
	if got := open(); got != 3 {
		t.Fatalf("%d open orders before the deadline; want 3", got)
	}
	// Each call replaces the deadline: re-armed for 120 s, a tick past the
	// first deadline fires nothing.
	if again := arm(120); again <= first {
		t.Errorf("re-armed deadline %f; want later than %f", again, first)
	}
	n.node.Tick(time.UnixMicro(int64(first*1e6) + 1e6))
	if got := open(); got != 3 {
		t.Fatalf("%d open orders after the refresh; want 3", got)
	}
	arm(0)
	if got := string(n.ok("order.cancel_all_after", `[1,"BTCUSDT",0]`)); got != `{"deadline":0}` {
		t.Errorf("disarming twice = %s", got)
	}
	n.node.Tick(time.Now().Add(time.Hour))
	if got := open(); got != 3 {
		t.Fatalf("%d open orders after disarming; want 3", got)
	}
	for _, p := range []string{`[1,"BTCUSDT",86401]`, `[1,"BTCUSDT",-1]`, `[1,"BTCUSDT",1.5]`, `[1,"BTCUSDT","10"]`,
		`[0,"BTCUSDT",10]`, `[1,"BTCXXX",10]`, `[1,"BTCUSDT"]`} {
		n.refused(1, "order.cancel_all_after", p)
	}
	// Fired: every open order of the user in that market, the held stop
	// included, is cancelled; the other market is untouched.
	arm(1)
	n.node.Tick(time.Now().Add(2 * time.Second))
	if got := open(); got != 0 {
		t.Errorf("%d open orders after the switch fired; want 0", got)
	}
	if got := len(n.pending(1, "ETHUSDT")); got != 1 {
		t.Errorf("%d open orders in ETHUSDT; want 1", got)
	}
	if got := n.balance(1, "USDT"); got != "99930/70" {
		t.Errorf("user 1 USDT after the switch = %s; want 99930/70 (the ETHUSDT bid)", got)
	}
	if got := string(n.ok("order.cancel_all_after", `[1,"BTCUSDT",0]`)); got != `{"deadline":0}` {
		t.Errorf("after firing, disarming = %s; want deadline 0", got)
	}
	n.finish()
}

// TestClientIDs: client order ids over HTTP: unique per user and market
// among open orders, found, cancelled and reusable; put_market_ex.
func TestClientIDs(t *testing.T) {
	n := startOptNode(t, nil)
	o := n.order("order.put_limit_ex", `[1,"BTCUSDT",1,"1","100","0","0","web",{"client_id":"c-1"}]`)
	want(t, "put_limit_ex", o, map[string]any{"client_id": "c-1", "left": "1"})
	if d := n.order("order.pending_detail_by_client_id", `[1,"BTCUSDT","c-1"]`); d["id"] != o["id"] {
		t.Errorf("pending_detail_by_client_id = %v; want %v", d, o)
	}
	for _, p := range []string{`[2,"BTCUSDT","c-1"]`, `[1,"ETHUSDT","c-1"]`, `[1,"BTCUSDT","c-2"]`, `[0,"BTCUSDT","c-1"]`} {
		if got := string(n.ok("order.pending_detail_by_client_id", p)); got != "null" {
			t.Errorf("pending_detail_by_client_id %s = %s; want null", p, got)
		}
	}
	n.refused(1, "order.pending_detail_by_client_id", `[1,"BTCUSDT","c 1"]`)
	n.refused(14, "order.put_limit_ex", `[1,"BTCUSDT",1,"1","101","0","0","web",{"client_id":"c-1"}]`)
	n.refused(14, "order.put_market_ex", `[1,"BTCUSDT",2,"10","0","web",{"client_id":"c-1"}]`)
	n.ok("order.put_limit_ex", `[2,"BTCUSDT",1,"1","101","0","0","web",{"client_id":"c-1"}]`) // another user
	n.ok("order.put_limit_ex", `[1,"ETHUSDT",2,"1","10","0","0","web",{"client_id":"c-1"}]`)  // another market

	// put_market_ex: self-trade prevention per order. User 1's market buy
	// meets its own ask at 100 first: cancel_taker cancels it untraded.
	m := n.order("order.put_market_ex", `[1,"BTCUSDT",2,"50","0","web",{"stp":"cancel_taker","client_id":"m-1"}]`)
	want(t, "put_market_ex cancel_taker", m, map[string]any{"type": 2.0, "deal_stock": "0", "stp": "cancel_taker", "client_id": "m-1"})
	// cancel_maker: the own ask is cancelled and the buy takes user 2's at 101.
	m = n.order("order.put_market_ex", `[1,"BTCUSDT",2,"50.5","0","web",{"stp":"cancel_maker"}]`)
	want(t, "put_market_ex cancel_maker", m, map[string]any{"deal_stock": "0.5", "deal_money": "50.5"})
	if got := string(n.ok("order.pending_detail_by_client_id", `[1,"BTCUSDT","c-1"]`)); got != "null" {
		t.Errorf("the own ask survived cancel_maker: %s", got)
	}
	n.refused(12, "order.put_market_ex", `[1,"ETHBTC",2,"1","0","web",{}]`) // empty book
	n.refused(1, "order.put_market_ex", `[1,"BTCUSDT",2,"10","0","web",{"post_only":true}]`)
	n.refused(1, "order.put_market_ex", `[1,"BTCUSDT",2,"10","0","web"]`)

	// Cancel by client id, then the id is free.
	c := n.order("order.cancel_by_client_id", `[2,"BTCUSDT","c-1"]`)
	want(t, "cancel_by_client_id", c, map[string]any{"client_id": "c-1", "left": "0.5", "user": 2.0})
	n.refused(10, "order.cancel_by_client_id", `[2,"BTCUSDT","c-1"]`)
	n.refused(1, "order.cancel_by_client_id", `[2,"BTCUSDT",""]`)
	n.ok("order.put_limit_ex", `[2,"BTCUSDT",1,"1","101","0","0","web",{"client_id":"c-1"}]`)
	n.finish()
}
