package ws

import (
	"encoding/json"
	"github.com/bourse-exchange/bourse/internal/config"
	"strings"
	"testing"
	"time"
)

// TestListedAtRunTime: an asset and a market listed over HTTP at run time
// (asset.add, market.add) are at once in asset.list and market.list, and
// over the websocket the new market takes subscriptions and
// pushes its deals, orders and balances; market.update's rules are enforced
// at once; a bad change is code 1 and the state hash stays.
func TestListedAtRunTime(t *testing.T) {
	e := startEnv(t, func(s *config.WebSocket, o *Options) { o.DevAuth = true })
	before := e.stateHash(t)
	if _, code := e.rpcCode(t, "market.add", "LTCUSDT", "LTC", "USDT", 4, 2, 4, "0.01"); code != 1 {
		t.Fatalf("market.add of an unlisted asset: code %d", code)
	}
	if e.stateHash(t) != before {
		t.Fatal("a refused market.add changed the state")
	}
	e.rpc(t, "asset.add", "LTC", 10, 8)
	e.rpc(t, "market.add", "LTCUSDT", "LTC", "USDT", 4, 2, 4, "0.01")
	e.rpc(t, "market.update", "LTCUSDT", map[string]any{"min_amount": "0.1"})
	for _, list := range []string{string(e.rpc(t, "asset.list")), string(e.rpc(t, "market.list"))} {
		if !strings.Contains(list, `"LTC`) {
			t.Fatalf("the HTTP list lacks LTC: %s", list)
		}
	}
	pub := dial(t, e.wsURL)
	if res := string(e.rpc(t, "market.list")); !strings.Contains(res, `"name":"LTCUSDT"`) || !strings.Contains(res, `"min_amount":"0.1"`) {
		t.Fatalf("market.list after market.update: %s", res)
	}
	pub.ok("deals.subscribe", "LTCUSDT")
	u3 := dial(t, e.wsURL)
	u3.ok("server.auth", "dev:3", "web")
	u3.ok("order.subscribe", "LTCUSDT")
	u3.ok("asset.subscribe", "LTC")

	e.rpc(t, "balance.update", 1, "USDT", "deposit", 1, "1000", map[string]any{})
	e.rpc(t, "balance.update", 3, "LTC", "deposit", 1, "5", map[string]any{})
	waitAsset(t, u3, "LTC", "5", "0")
	if _, code := e.rpcCode(t, "order.put_limit", 3, "LTCUSDT", 1, "0.05", "50", "0.002", "0.001", "web"); code != 11 {
		t.Fatalf("an order under market.update's min_amount: code %d; want 11", code)
	}
	e.rpc(t, "order.put_limit", 3, "LTCUSDT", 1, "2", "50", "0.002", "0.001", "web")
	if m := u3.note("order.update", 2*time.Second); !strings.Contains(string(m.raw), `"market":"LTCUSDT"`) {
		t.Fatalf("order.update %s", m.raw)
	}
	e.rpc(t, "order.put_limit", 1, "LTCUSDT", 2, "1", "50", "0.002", "0.001", "web")
	deals := pub.note("deals.update", 2*time.Second)
	var dl []map[string]any
	if str(t, deals.Params[0]) != "LTCUSDT" || json.Unmarshal(deals.Params[1], &dl) != nil || len(dl) != 1 || dl[0]["amount"] != "1" {
		t.Fatalf("deals.update %s", deals.raw)
	}
	waitAsset(t, u3, "LTC", "3", "1")
	if res := pub.ok("price.query", "LTCUSDT"); string(res) != `"50.00"` {
		t.Fatalf("websocket price.query LTCUSDT: %s", res)
	}
}
