package ws

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/runtime"
)

// feeDoc is the default configuration with BTCUSDT's fee rates set to
// values no test or client sends (0.0013 maker, 0.0027 taker), and
// ETHUSDT limited to two open orders per user.
var feeDoc = func() []byte {
	s := strings.Replace(string(config.Default), `min_amount: "0.0001" }`, `min_amount: "0.0001", maker_fee: "0.0013", taker_fee: "0.0027" }`, 1)
	return []byte(strings.Replace(s, `min_amount: "0.001" }`, `min_amount: "0.001", max_open_orders: 2 }`, 1)) // ETHUSDT
}()

func startOrderEnv(t *testing.T, adjust func(*config.WebSocket)) *env {
	t.Helper()
	e := startEnvDoc(t, feeDoc, func(s *config.WebSocket, o *Options) {
		o.DevAuth = true
		if adjust != nil {
			adjust(s)
		}
	})
	m := e.cfg.Market("BTCUSDT")
	if m.MakerUnits != 13 || m.TakerUnits != 27 || e.cfg.Market("ETHUSDT").MaxOpenOrders != 2 {
		t.Fatalf("feeDoc: BTCUSDT fee rates %d, %d units, ETHUSDT max_open_orders %d; want 13, 27 and 2",
			m.MakerUnits, m.TakerUnits, e.cfg.Market("ETHUSDT").MaxOpenOrders)
	}
	e.rpc(t, "balance.update", 1, "USDT", "deposit", 1, "10000", map[string]any{})
	e.rpc(t, "balance.update", 2, "BTC", "deposit", 1, "10", map[string]any{})
	return e
}

func (c *client) login(user string) *client {
	c.t.Helper()
	c.ok("server.auth", "dev:"+user, "web")
	c.authed = true
	return c
}

func object(t *testing.T, raw json.RawMessage) map[string]any {
	t.Helper()
	var o map[string]any
	if err := json.Unmarshal(raw, &o); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return o
}

// fields checks members of an order as JSON decodes them (decimals are
// strings, numbers float64).
func fields(t *testing.T, what string, o map[string]any, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if o[k] != v {
			t.Errorf("%s: %s = %v; want %v (order %v)", what, k, o[k], v, o)
		}
	}
}

// balances is the user's balance.query over HTTP: asset → [available, freeze].
func (e *env) balances(t *testing.T, user int) map[string][2]string {
	t.Helper()
	var r map[string]struct{ Available, Freeze string }
	if err := json.Unmarshal(e.rpc(t, "balance.query", user), &r); err != nil {
		t.Fatal(err)
	}
	out := map[string][2]string{}
	for a, b := range r {
		out[a] = [2]string{b.Available, b.Freeze}
	}
	return out
}

// checkBalances compares the BTC and USDT balances of users.
func (e *env) checkBalances(t *testing.T, want map[int]map[string][2]string) {
	t.Helper()
	for user, assets := range want {
		got := e.balances(t, user)
		for a, w := range assets {
			if got[a] != w {
				t.Errorf("user %d %s: [available, freeze] = %v; want %v", user, a, got[a], w)
			}
		}
	}
}

// recoverAndCheck stops the node, recovers its journal offline and checks
// that the recovered state is the live one, that money is conserved and
// that every frozen amount is an open order's reservation.
func (e *env) recoverAndCheck(t *testing.T) {
	t.Helper()
	live := e.stateHash(t)
	if err := e.srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := e.node.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	s, backend, err := runtime.Recover(e.cfg, e.dir, "")
	if err != nil {
		t.Fatal(err)
	}
	backend.Close()
	if got := s.Hash(); got != live {
		t.Errorf("recovered hash %s != live %s", got, live)
	}
	if bad := s.Check(); len(bad) > 0 {
		t.Errorf("invariants: %v", bad)
	}
}

// TestOrderEntry: every order entry method over a real websocket
// connection, two users trading with each other. Every order carries the
// market's configured fee rates, the fees charged are those rates, the
// balances are the exact amounts, and after the run the journal recovers
// to the same state with money conserved and every frozen amount an open
// order's reservation.
func TestOrderEntry(t *testing.T) {
	e := startOrderEnv(t, nil)
	u1, u2 := dial(t, e.wsURL).login("1"), dial(t, e.wsURL).login("2")
	cfgFees := map[string]any{"maker_fee": "0.0013", "taker_fee": "0.0027"}
	u2.ok("order.subscribe", "BTCUSDT")

	ask := object(t, u2.ok("order.put_limit", "BTCUSDT", 1, "2", "100", "ws"))
	fields(t, "put_limit ask", ask, map[string]any{"user": 2.0, "type": 1.0, "side": 1.0, "amount": "2", "price": "100", "left": "2", "source": "ws"})
	fields(t, "put_limit ask fees", ask, cfgFees)
	// The connection that placed it is pushed its order.update (1: put).
	if n := u2.note("order.update", 5*time.Second); len(n.Params) != 2 || string(n.Params[0]) != "1" ||
		object(t, n.Params[1])["id"] != ask["id"] {
		t.Errorf("order.update after put_limit: %s", n.raw)
	}
	e.checkBalances(t, map[int]map[string][2]string{2: {"BTC": {"8", "2"}}})

	// 0.5 at 100: the buyer (taker) pays 0.5 × 0.0027 BTC, the seller
	// (maker) 50 × 0.0013 USDT.
	bid := object(t, u1.ok("order.put_limit", "BTCUSDT", 2, "0.5", "100", "ws"))
	fields(t, "put_limit bid", bid, map[string]any{"user": 1.0, "deal_stock": "0.5", "deal_money": "50", "deal_fee": "0.00135", "left": "0"})
	fields(t, "put_limit bid fees", bid, cfgFees)
	e.checkBalances(t, map[int]map[string][2]string{0: {"BTC": {"0.00135", "0"}, "USDT": {"0.065", "0"}}})

	mkt := object(t, u1.ok("order.put_market", "BTCUSDT", 2, "10", "ws"))
	fields(t, "put_market", mkt, map[string]any{"type": 2.0, "amount": "10", "deal_stock": "0.1", "deal_money": "10",
		"deal_fee": "0.00027", "taker_fee": "0.0027", "maker_fee": "0"})

	ex := object(t, u2.ok("order.put_limit_ex", "BTCUSDT", 1, "1", "120", "ws", map[string]any{"client_id": "a-1", "post_only": true}))
	fields(t, "put_limit_ex", ex, map[string]any{"client_id": "a-1", "post_only": true, "left": "1", "price": "120"})
	fields(t, "put_limit_ex fees", ex, cfgFees)

	mex := object(t, u1.ok("order.put_market_ex", "BTCUSDT", 2, "5", "ws", map[string]any{"client_id": "m-1", "stp": "cancel_taker"}))
	fields(t, "put_market_ex", mex, map[string]any{"client_id": "m-1", "stp": "cancel_taker", "deal_stock": "0.05",
		"deal_fee": "0.000135", "taker_fee": "0.0027"})

	stopL := object(t, u2.ok("order.put_stop_limit", "BTCUSDT", 1, "0.3", "90", "89", "ws"))
	fields(t, "put_stop_limit", stopL, map[string]any{"stop_price": "90", "price": "89", "triggered": false, "left": "0.3"})
	fields(t, "put_stop_limit fees", stopL, cfgFees)
	stopM := object(t, u1.ok("order.put_stop_market", "BTCUSDT", 2, "10", "130", "ws", map[string]any{"client_id": "s-1"}))
	fields(t, "put_stop_market", stopM, map[string]any{"stop_price": "130", "triggered": false, "client_id": "s-1", "taker_fee": "0.0027"})

	// The ask has sold 0.65 for 65 USDT; the maker fees are 65 × 0.0013.
	amended := object(t, u2.ok("order.amend", "BTCUSDT", ask["id"], "1"))
	fields(t, "amend", amended, map[string]any{"id": ask["id"], "amount": "1", "left": "0.35", "deal_stock": "0.65", "deal_money": "65", "deal_fee": "0.0845"})
	cancelled := object(t, u2.ok("order.cancel", "BTCUSDT", ex["id"]))
	fields(t, "cancel", cancelled, map[string]any{"id": ex["id"], "left": "1"})
	e.checkBalances(t, map[int]map[string][2]string{2: {"BTC": {"8.7", "0.65"}}}) // 10 - 0.65 sold; 0.35 + 0.3 held

	if got := string(u1.ok("order.cancel_all", "BTCUSDT", 0)); got != `{"count":1}` {
		t.Errorf("user 1 cancel_all = %s; want count 1 (the stop order)", got)
	}
	if got := string(u2.ok("order.cancel_all", "BTCUSDT", 1)); got != `{"count":2}` {
		t.Errorf("user 2 cancel_all asks = %s; want count 2", got)
	}
	// 0.65 BTC traded for 65 USDT; taker fees 0.65 × 0.0027 BTC, maker
	// fees 65 × 0.0013 USDT, all in the fee account (user 0).
	e.checkBalances(t, map[int]map[string][2]string{
		0: {"BTC": {"0.001755", "0"}, "USDT": {"0.0845", "0"}},
		1: {"BTC": {"0.648245", "0"}, "USDT": {"9935", "0"}},
		2: {"BTC": {"9.35", "0"}, "USDT": {"64.9155", "0"}},
	})
	e.recoverAndCheck(t)
}

// ownCalls are valid calls of every order entry method; the order ids are
// filled in by the test.
func ownCalls(order any) map[string][]any {
	return map[string][]any{
		"order.put_limit":       {"BTCUSDT", 1, "0.1", "150", "ws"},
		"order.put_limit_ex":    {"BTCUSDT", 1, "0.1", "150", "ws", map[string]any{"client_id": "x-1"}},
		"order.put_market":      {"BTCUSDT", 1, "0.1", "ws"},
		"order.put_market_ex":   {"BTCUSDT", 1, "0.1", "ws", map[string]any{}},
		"order.put_stop_limit":  {"BTCUSDT", 1, "0.1", "50", "49", "ws"},
		"order.put_stop_market": {"BTCUSDT", 1, "0.1", "50", "ws"},
		"order.cancel":          {"BTCUSDT", order},
		"order.cancel_all":      {"BTCUSDT", 0},
		"order.amend":           {"BTCUSDT", order, "0.5"},
	}
}

// TestOrderEntryIsolation: a connection that is not authenticated gets
// code 6 from every order entry method, one authenticated as user 1 gets
// code 10 "order not found" for user 2's order (as for an order that does
// not exist), fee rates sent by the client are refused, and none of these
// changes the exchange. user 1's cancel_all leaves user 2's order open.
func TestOrderEntryIsolation(t *testing.T) {
	e := startOrderEnv(t, nil)
	e.rpc(t, "balance.update", 1, "BTC", "deposit", 2, "1", map[string]any{})
	anon, u1, u2 := dial(t, e.wsURL), dial(t, e.wsURL).login("1"), dial(t, e.wsURL).login("2")
	theirs := object(t, u2.ok("order.put_limit", "BTCUSDT", 1, "1", "200", "ws"))["id"]
	before := e.stateHash(t)
	calls := ownCalls(theirs)
	if len(calls) != 9 {
		t.Fatalf("%d calls", len(calls))
	}
	for name, params := range calls {
		m := anon.fails(6, name, params...)
		if m.Error.Message != "require authentication" {
			t.Errorf("%s unauthenticated: %q", name, m.Error.Message)
		}
	}
	for _, name := range []string{"order.cancel", "order.amend"} {
		m := u1.fails(10, name, calls[name]...)
		if m.Error.Message != "order not found" {
			t.Errorf("%s of another user's order: %q; want \"order not found\"", name, m.Error.Message)
		}
		u1.fails(10, name, append([]any{"BTCUSDT", 999 << 10}, calls[name][2:]...)...) // no such order: the same answer
	}
	// The HTTP method's params, fee rates included, are refused.
	m := u1.fails(1, "order.put_limit", "BTCUSDT", 1, "0.1", "150", "0", "0", "ws")
	if want := "invalid argument: expected 5 params [market, side, amount, price, source], got 7"; m.Error.Message != want {
		t.Errorf("fee rates sent: %q; want %q", m.Error.Message, want)
	}
	m = u1.fails(1, "order.put_market", 1, "BTCUSDT", 1, "0.1", "0", "ws")
	if want := "invalid argument: expected 4 params [market, side, amount, source], got 6"; m.Error.Message != want {
		t.Errorf("user id and fee rate sent: %q; want %q", m.Error.Message, want)
	}
	m = u1.fails(1, "order.put_stop_limit", "BTCUSDT", 1)
	if want := "invalid argument: expected 6 or 7 params [market, side, amount, stop_price, price, source, options?], got 2"; m.Error.Message != want {
		t.Errorf("short stop: %q; want %q", m.Error.Message, want)
	}
	if h := e.stateHash(t); h != before {
		t.Fatal("a refused call changed the state")
	}
	if got := string(u1.ok("order.cancel_all", "BTCUSDT", 0)); got != `{"count":0}` {
		t.Errorf("user 1 cancel_all = %s; want count 0", got)
	}
	var pending struct{ Total int }
	if err := json.Unmarshal(e.rpc(t, "order.pending", 2, "BTCUSDT", 0, 10), &pending); err != nil || pending.Total != 1 {
		t.Errorf("user 2's open orders after user 1's cancel_all: %+v %v; want 1", pending, err)
	}
	// Logged in again as user 2, the same connection may cancel it.
	u1.login("2")
	fields(t, "cancel after login as 2", object(t, u1.ok("order.cancel", "BTCUSDT", theirs)), map[string]any{"id": theirs, "user": 2.0})
	e.recoverAndCheck(t)
}

// TestOrderEntryLimits: the websocket rate limit counts order entry calls
// like any other (code 7, the order not placed), and the market's
// max_open_orders applies (code 8).
func TestOrderEntryLimits(t *testing.T) {
	e := startOrderEnv(t, func(s *config.WebSocket) { s.RateLimit, s.RateBurst = 0.001, 3 })
	e.rpc(t, "balance.update", 1, "ETH", "deposit", 2, "10", map[string]any{})
	u1 := dial(t, e.wsURL).login("1") // 1 of the burst of 3
	u1.ok("order.put_limit", "ETHUSDT", 1, "1", "3000", "ws")
	u1.ok("order.put_limit", "ETHUSDT", 1, "1", "3001", "ws")
	before := e.stateHash(t)
	u1.fails(7, "order.put_limit", "ETHUSDT", 1, "1", "3002", "ws")
	if e.stateHash(t) != before {
		t.Error("a rate-limited order changed the state")
	}

	f := startOrderEnv(t, nil)
	f.rpc(t, "balance.update", 1, "ETH", "deposit", 2, "10", map[string]any{})
	c := dial(t, f.wsURL).login("1")
	c.ok("order.put_limit", "ETHUSDT", 1, "1", "3000", "ws")
	c.ok("order.put_limit", "ETHUSDT", 1, "1", "3001", "ws")
	before = f.stateHash(t)
	c.fails(8, "order.put_limit", "ETHUSDT", 1, "1", "3002", "ws")
	if f.stateHash(t) != before {
		t.Error("an order over max_open_orders changed the state")
	}
	f.checkBalances(t, map[int]map[string][2]string{1: {"ETH": {"8", "2"}}})
	f.recoverAndCheck(t)
}
