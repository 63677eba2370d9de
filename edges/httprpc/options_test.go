package httprpc

import (
	"context"
	"strings"
	"testing"

	"github.com/bourse-exchange/bourse/runtime"
	"github.com/bourse-exchange/bourse/runtime/config"
)

// TestOrderOptions: order.put_limit_ex and order.cancel_all over HTTP on
// a real node.
func TestOrderOptions(t *testing.T) {
	cfg, err := config.Parse(config.Default)
	if err != nil {
		t.Fatal(err)
	}
	node, err := runtime.Start(cfg, runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer node.Shutdown(context.Background())
	h := New(node.Router).Handler()
	call := func(method, params string) string {
		t.Helper()
		code, body := post(h, envelope(method, params))
		if code != 200 {
			t.Fatalf("%s %s: HTTP %d", method, params, code)
		}
		return body
	}
	for _, p := range []string{`[1,"USDT","deposit",1,"10000",{}]`, `[2,"BTC","deposit",2,"10",{}]`} {
		if b := call("balance.update", p); !strings.Contains(b, `"error":null`) {
			t.Fatal(b)
		}
	}
	call("order.put_limit", `[2,"BTCUSDT",1,"1","100","0.002","0.001","web"]`)
	for _, tt := range []struct{ params, want string }{
		// IOC: 1 of 1.5 trades, the rest is cancelled (left 0.5, not resting).
		{`[1,"BTCUSDT",2,"1.5","100","0.002","0.001","web",{"time_in_force":"IOC"}]`, `"left":"0.5","deal_stock":"1"`},
		{`[1,"BTCUSDT",2,"1","100","0.002","0.001","web",{"time_in_force":"FOK"}]`, `"code":12`},
		{`[2,"BTCUSDT",1,"1","100","0.002","0.001","web",{"post_only":true}]`, `"left":"1"`},
		{`[1,"BTCUSDT",2,"1","100","0.002","0.001","web",{"post_only":true}]`, `"code":13`},
		{`[1,"BTCUSDT",2,"1","99","0.002","0.001","web",{"post_only":true,"stp":"cancel_both"}]`, `"left":"1"`},
		{`[1,"BTCUSDT",2,"1","99","0.002","0.001","web",{"time_in_force":"IOC","post_only":true}]`, `"code":1,`},
		{`[1,"BTCUSDT",2,"1","99","0.002","0.001","web",{"time_in_force":"ioc"}]`, `"code":1,`},
		{`[1,"BTCUSDT",2,"1","99","0.002","0.001","web",{"stp":""}]`, `"code":1,`},
		{`[1,"BTCUSDT",2,"1","99","0.002","0.001","web",{"colour":"red"}]`, `"code":1,`},
		{`[1,"BTCUSDT",2,"1","99","0.002","0.001","web",[]]`, `"code":1,`},
		{`[1,"BTCUSDT",2,"1","99","0.002","0.001","web"]`, `"code":1,`},
	} {
		if got := call("order.put_limit_ex", tt.params); !strings.Contains(got, tt.want) {
			t.Errorf("order.put_limit_ex %s = %s; want %s", tt.params, got, tt.want)
		}
	}
	call("order.put_limit", `[1,"BTCUSDT",2,"1","98","0.002","0.001","web"]`)
	call("order.put_limit", `[1,"ETHUSDT",2,"1","98","0.002","0.001","web"]`)
	for _, tt := range []struct{ params, want string }{
		{`[1,"BTCUSDT",1]`, `{"count":0}`}, // no asks
		{`[1,"BTCUSDT",0]`, `{"count":2}`}, // the bids at 99 and 98
		{`[1,"BTCUSDT",0]`, `{"count":0}`},
		{`[1,"ETHUSDT",2]`, `{"count":1}`},
		{`[1,"BTCUSDT",3]`, `"code":1,`},
		{`[0,"BTCUSDT",0]`, `"code":1,`},
		{`[1,"BTCUSDT"]`, `"code":1,`},
	} {
		if got := call("order.cancel_all", tt.params); !strings.Contains(got, tt.want) {
			t.Errorf("order.cancel_all %s = %s; want %s", tt.params, got, tt.want)
		}
	}
	if got := call("balance.query", `[1,"USDT"]`); !strings.Contains(got, `"freeze":"0"`) {
		t.Errorf("user 1 still has USDT frozen: %s", got)
	}
}
