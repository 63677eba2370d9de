package httprpc

import (
	"encoding/json"
	"testing"
)

// TestArgErrorsNameTheParam: a refused param is answered with viabtc's code
// 1 and a message naming the param and the rule it broke, over the params
// of every method; a wrong count names the params expected. Clients that
// compare the code only see no difference; nothing is sent to the exchange.
func TestArgErrorsNameTheParam(t *testing.T) {
	const (
		user    = "invalid argument: user_id must be an integer from 1 to 4294967295"
		user0   = "invalid argument: user_id must be an integer from 0 to 4294967295"
		market  = "invalid argument: market must be the name of a listed market (market.list; case-sensitive)"
		asset   = "invalid argument: asset must be the name of a listed asset (asset.list; case-sensitive)"
		side    = "invalid argument: side must be 1 (sell) or 2 (buy)"
		side0   = "invalid argument: side must be 0 (both), 1 (sell) or 2 (buy)"
		source  = "invalid argument: source must be a string of at most 30 bytes"
		client  = "invalid argument: client_id must be a string of 1 to 32 ASCII letters, digits or . _ : -"
		offset  = "invalid argument: offset must be an integer ≥ 0"
		limit   = "invalid argument: limit must be an integer from 0 to 101"
		amount6 = `invalid argument: amount must be a decimal string (e.g. "1.5"; at most 6 decimals count, more are truncated) > 0 once truncated`
		price2  = `invalid argument: price must be a decimal string (e.g. "1.5"; at most 2 decimals count, more are truncated) > 0 once truncated`
		stop2   = `invalid argument: stop_price must be a decimal string (e.g. "1.5"; at most 2 decimals count, more are truncated) > 0 once truncated`
		taker   = `invalid argument: taker_fee_rate must be a decimal string (e.g. "1.5"; at most 4 decimals count, more are truncated) from 0 to less than 1`
		maker   = `invalid argument: maker_fee_rate must be a decimal string (e.g. "1.5"; at most 4 decimals count, more are truncated) from 0 to less than 1`
		page    = "invalid argument: offset must be an integer ≥ 0 and limit one from 1 to 101"
		times   = "invalid argument: start_time and end_time must be integers ≥ 0 (Unix seconds, 0: unbounded) with start_time ≤ end_time unless end_time is 0"
	)
	lim := func(p string) string { return `[1,"BTCUSDT",2,"1","100","0.002","0.001","web"` + p + `]` }
	tests := []struct{ method, params, want string }{
		{"balance.query", `[]`, "invalid argument: expected at least 1 param [user_id, asset…], got 0"},
		{"balance.query", `[-1]`, user0},
		{"balance.query", `[1,"btc"]`, asset},
		{"balance.update", `[1,"BTC","deposit",1,"1"]`, "invalid argument: expected 6 params [user_id, asset, business, business_id, change, detail], got 5"},
		{"balance.update", `[0,"BTC","deposit",1,"1",{}]`, user},
		{"balance.update", `[1,"XBT","deposit",1,"1",{}]`, asset},
		{"balance.update", `[1,"BTC","0123456789012345678901234567890",1,"1",{}]`, "invalid argument: business must be a string of at most 30 bytes"},
		{"balance.update", `[1,"BTC",7,1,"1",{}]`, "invalid argument: business must be a string of at most 30 bytes"},
		{"balance.update", `[1,"BTC","deposit",-1,"1",{}]`, "invalid argument: business_id must be an integer from 0 to 18446744073709551615"},
		{"balance.update", `[1,"BTC","deposit",1,"1e",{}]`, `invalid argument: change must be a decimal string (e.g. "1.5"; at most 8 decimals count, more are truncated), negative to withdraw, within ±2^256 units of prec_save`},
		{"balance.update", `[1,"BTC","deposit",1,"1",null]`, "invalid argument: detail must be a JSON object of at most 1024 bytes"},
		{"asset.summary", `["BTC","nope"]`, asset},
		{"order.put_limit", `[1,"BTCUSDT",2]`, "invalid argument: expected 8 params [user_id, market, side, amount, price, taker_fee_rate, maker_fee_rate, source], got 3"},
		{"order.put_limit", `[0,"BTCUSDT",2,"1","100","0.002","0.001","web"]`, user},
		{"order.put_limit", `[1,"BTC_USDT",2,"1","100","0.002","0.001","web"]`, market},
		{"order.put_limit", `[1,"BTCUSDT",3,"1","100","0.002","0.001","web"]`, side},
		{"order.put_limit", `[1,"BTCUSDT",2,"0.000000001","100","0.002","0.001","web"]`, amount6},
		{"order.put_limit", `[1,"BTCUSDT",2,1,"100","0.002","0.001","web"]`, amount6},
		{"order.put_limit", `[1,"BTCUSDT",2,"1","0.001","0.002","0.001","web"]`, price2},
		{"order.put_limit", `[1,"BTCUSDT",2,"1","100","1","0.001","web"]`, taker},
		{"order.put_limit", `[1,"BTCUSDT",2,"1","100","0.002","-0.001","web"]`, maker},
		{"order.put_limit", `[1,"BTCUSDT",2,"1","100","0.002","0.001","0123456789012345678901234567890"]`, source},
		{"order.put_limit_ex", lim(`,{"time_in_force":"GTD"}`), `invalid argument: options.time_in_force must be "GTC", "IOC" or "FOK" (limit orders only)`},
		{"order.put_limit_ex", lim(`,{"post_only":1}`), "invalid argument: options.post_only must be true or false (limit orders only)"},
		{"order.put_limit_ex", lim(`,{"post_only":true,"time_in_force":"IOC"}`), `invalid argument: options.post_only needs time_in_force "GTC"`},
		{"order.put_limit_ex", lim(`,{"stp":"cancel"}`), `invalid argument: options.stp must be "none", "cancel_taker", "cancel_maker" or "cancel_both"`},
		{"order.put_limit_ex", lim(`,{"client_id":"a b"}`), "invalid argument: options.client_id must be a string of 1 to 32 ASCII letters, digits or . _ : -"},
		{"order.put_limit_ex", lim(`,{"tif":"IOC"}`), `invalid argument: options has an unknown key "tif"; known: "time_in_force", "post_only", "stp", "client_id"`},
		{"order.put_limit_ex", lim(`,[]`), `invalid argument: options must be an object of "time_in_force", "post_only", "stp", "client_id"`},
		{"order.put_market_ex", `[1,"BTCUSDT",1,"1","0.002","web",{"time_in_force":"IOC"}]`, `invalid argument: options.time_in_force must be "GTC", "IOC" or "FOK" (limit orders only)`},
		{"order.put_market", `[1,"BTCUSDT",1,"1","0.002"]`, "invalid argument: expected 6 params [user_id, market, side, amount, taker_fee_rate, source], got 5"},
		{"order.put_market", `[1,"BTCUSDT",2,"0.001","0.002","web"]`, `invalid argument: amount must be a decimal string (e.g. "1.5"; at most 2 decimals count, more are truncated) > 0 once truncated`},
		{"order.put_stop_limit", `[1,"BTCUSDT",2,"1","0","100","0.002","0.001","web"]`, stop2},
		{"order.put_stop_market", `[1,"BTCUSDT",2,"1","x","0.002","web"]`, stop2},
		{"order.cancel", `[1,"BTCUSDT","1"]`, "invalid argument: order_id must be an integer from 0 to 18446744073709551615"},
		{"order.cancel_by_client_id", `[1,"BTCUSDT",""]`, client},
		{"order.cancel_all", `[1,"BTCUSDT",3]`, side0},
		{"order.cancel_all_after", `[1,"BTCUSDT",86401]`, "invalid argument: timeout must be an integer from 0 to 86400 (seconds)"},
		{"order.amend", `[1,"BTCUSDT",1]`, "invalid argument: expected 4 params [user_id, market, order_id, amount], got 3"},
		{"order.amend_by_client_id", `[1,"BTCUSDT","a"]`, "invalid argument: expected 4 params [user_id, market, client_id, amount], got 3"},
		{"order.pending_detail_by_client_id", `[-1,"BTCUSDT","a"]`, user0},
		{"order.book", `["BTCUSDT",1,-1,10]`, offset},
		{"order.book", `["BTCUSDT",1,0,102]`, limit},
		{"order.pending", `[1,"BTCUSDT",0]`, "invalid argument: expected 4 params [user_id, market, offset, limit], got 3"},
		{"order.depth", `["BTCUSDT",10,"-1"]`, `invalid argument: interval must be a decimal string (e.g. "1.5"; at most 2 decimals count, more are truncated) ≥ 0`},
		{"order.pending_detail", `["BTCUSDT"]`, "invalid argument: expected 2 params [market, order_id], got 1"},
		{"market.summary", `["BTCUSDT","nope"]`, market},
		{"server.state", `[1]`, "invalid argument: expected no params, got 1"},
		{"balance.history", `[0,"","",0,0,0,10]`, user},
		{"balance.history", `[7,1,"",0,0,0,10]`, `invalid argument: asset must be a string ("" for any)`},
		{"balance.history", `[7,"",null,0,0,0,10]`, `invalid argument: business must be a string ("" for any)`},
		{"balance.history", `[7,"","",5,4,0,10]`, times},
		{"order.finished", `[7,"BTCUSDT",0,0,0,0]`, page},
		{"order.finished", `[7,"BTCUSDT",0,0,0,10,3]`, side0},
		{"order.finished_detail", `[0]`, "invalid argument: order_id must be an integer from 1 to 18446744073709551615"},
		{"order.deals", `[1,0]`, "invalid argument: expected 3 params [order_id, offset, limit], got 2"},
		{"market.user_deals", `[7,1,0,10]`, "invalid argument: market must be a string"},
		{"market.last", `["nope"]`, market},
		{"market.halt", `["nope"]`, market},
		{"market.resume", `[]`, "invalid argument: expected 1 param [market], got 0"},
		{"market.deals", `["BTCUSDT",0,0]`, "invalid argument: limit must be an integer from 1 to 10000"},
		{"market.deals", `["BTCUSDT",10,"0"]`, "invalid argument: last_id must be an integer"},
		{"market.kline", `["BTCUSDT",0,2,60]`, "invalid argument: start must be an integer > 0 (Unix seconds)"},
		{"market.kline", `["BTCUSDT",1,0,60]`, "invalid argument: end must be an integer > 0 (Unix seconds)"},
		{"market.kline", `["BTCUSDT",1,2,0]`, "invalid argument: interval must be an integer > 0 (seconds)"},
		{"market.status", `["BTCUSDT",0]`, "invalid argument: period must be an integer from 1 to 604800 (seconds)"},
		{"market.status_today", `[]`, "invalid argument: expected 1 param [market], got 0"},
		{"asset.add", `["LTC"]`, "invalid argument: expected 2 or 3 params [name, prec_save, prec_show?], got 1"},
		{"asset.add", `["L T C",8]`, "invalid argument: name must be a string of 1 to 15 ASCII letters, digits or _ - ."},
		{"asset.add", `["ABCDEFGHIJKLMNOP",8]`, "invalid argument: name must be a string of 1 to 15 ASCII letters, digits or _ - ."},
		{"asset.add", `["LTC",-1]`, "invalid argument: prec_save must be an integer ≥ 0"},
		{"asset.add", `["LTC",8,"8"]`, "invalid argument: prec_show must be an integer ≥ 0"},
		{"market.add", `["LTCUSDT","LTC","USDT",4,2,4,"0.01"]`, "invalid argument: stock must be the name of a listed asset (asset.list; case-sensitive)"},
		{"market.add", `["LTCUSDT","BTC","usdt",4,2,4,"0.01"]`, "invalid argument: money must be the name of a listed asset (asset.list; case-sensitive)"},
		{"market.add", `["","BTC","USDT",4,2,4,"0.01"]`, "invalid argument: name must be a string of 1 to 30 ASCII letters, digits or _ - ."},
		{"market.add", `["X","BTC","USDT",4,2.5,4,"0.01"]`, "invalid argument: money_prec must be an integer ≥ 0"},
		{"market.add", `["X","BTC","USDT",4,2,4,0.01]`, "invalid argument: min_amount must be a decimal string ≥ 0 at the market's stock_prec"},
		{"market.add", `["X","BTC","USDT",4,2,4,"0.01",0]`, "invalid argument: max_open_orders must be an integer ≥ 1, or -1 for no limit"},
		{"market.add", `["X","BTC","USDT",4,2,4,"0.01",10,"sometimes"]`, `invalid argument: stp must be "none", "cancel_taker", "cancel_maker" or "cancel_both"`},
		{"market.add", `["X","BTC","USDT",4,2,4]`, "invalid argument: expected 7 to 11 params [name, stock, money, stock_prec, money_prec, fee_prec, min_amount, max_open_orders?, stp?, maker_fee?, taker_fee?], got 6"},
		{"market.update", `["nope",{}]`, market},
		{"market.update", `["BTCUSDT",[]]`, `invalid argument: rules must be an object of "min_amount", "max_open_orders", "stp", "maker_fee", "taker_fee"`},
		{"market.update", `["BTCUSDT",{"fee":1}]`, `invalid argument: rules has an unknown key "fee"; known: "min_amount", "max_open_orders", "stp", "maker_fee", "taker_fee"`},
		{"market.update", `["BTCUSDT",{"max_open_orders":-2}]`, "invalid argument: max_open_orders must be an integer ≥ 1, or -1 for no limit"},
		{"market.update", `["BTCUSDT",{"min_amount":1}]`, "invalid argument: min_amount must be a decimal string ≥ 0 at the market's stock_prec"},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.method] = true
		s, f := newTestServer(t)
		code, body := post(s.Handler(), envelope(tt.method, tt.params))
		var env struct {
			Error struct {
				Code    int
				Message string
			}
		}
		if err := json.Unmarshal([]byte(body), &env); err != nil || code != 200 || env.Error.Code != 1 || env.Error.Message != tt.want {
			t.Errorf("%s %s = %d %s;\n want code 1 %q", tt.method, tt.params, code, body, tt.want)
		}
		if cmds := f.commands(); len(cmds) != 0 {
			t.Errorf("%s %s: commands sent:\n%s", tt.method, tt.params, dump(cmds))
		}
	}
	for name := range methods {
		if !covered[name] && name != "asset.list" && name != "market.list" { // these two ignore their params
			t.Errorf("method %s has no case here", name)
		}
	}
}
