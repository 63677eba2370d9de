package ws

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/fuzzgen"
)

// wsTemplates are valid calls of every websocket method.
var wsTemplates = map[string][]string{
	"server.ping": {}, "server.time": {},
	"server.auth": {`"dev:1"`, `"web"`},
	"server.sign": {`"id"`, `"sig"`, `1700000000000`},
	"market.list": {},
	"kline.query": {`"BTCUSDT"`, `1`, `2000000000`, `60`}, "kline.subscribe": {`"BTCUSDT"`, `60`}, "kline.unsubscribe": {},
	"depth.query": {`"BTCUSDT"`, `10`, `"0"`}, "depth.subscribe": {`"BTCUSDT"`, `10`, `"0"`}, "depth.unsubscribe": {},
	"price.query": {`"BTCUSDT"`}, "price.subscribe": {`"BTCUSDT"`, `"ETHBTC"`}, "price.unsubscribe": {},
	"state.query": {`"BTCUSDT"`, `86400`}, "state.subscribe": {`"BTCUSDT"`}, "state.unsubscribe": {},
	"today.query": {`"BTCUSDT"`}, "today.subscribe": {`"ETHUSDT"`}, "today.unsubscribe": {},
	"deals.query": {`"BTCUSDT"`, `10`, `0`}, "deals.subscribe": {`"BTCUSDT"`}, "deals.unsubscribe": {},
	"order.query":   {`"BTCUSDT"`, `0`, `10`},
	"order.history": {`"BTCUSDT"`, `0`, `0`, `0`, `10`, `0`}, "order.subscribe": {`"BTCUSDT"`}, "order.unsubscribe": {},
	"asset.query":   {`"BTC"`},
	"asset.history": {`"BTC"`, `""`, `0`, `0`, `0`, `10`}, "asset.subscribe": {`"BTC"`, `"USDT"`}, "asset.unsubscribe": {},
	// Order entry, for the connection's user (1 when authenticated):
	// order 1024 is user 2's resting ask.
	"order.put_limit":       {`"BTCUSDT"`, `2`, `"0.01"`, `"99"`, `"web"`},
	"order.put_limit_ex":    {`"BTCUSDT"`, `2`, `"0.01"`, `"98"`, `"web"`, `{"client_id":"c-1","stp":"cancel_maker"}`},
	"order.put_market":      {`"BTCUSDT"`, `2`, `"1"`, `"web"`},
	"order.put_market_ex":   {`"BTCUSDT"`, `2`, `"1"`, `"web"`, `{"stp":"cancel_taker"}`},
	"order.put_stop_limit":  {`"BTCUSDT"`, `2`, `"0.01"`, `"150"`, `"151"`, `"web"`, `{"client_id":"s-1"}`},
	"order.put_stop_market": {`"BTCUSDT"`, `2`, `"1"`, `"150"`, `"web"`},
	"order.cancel":          {`"BTCUSDT"`, `1024`},
	"order.cancel_all":      {`"BTCUSDT"`, `0`},
	"order.amend":           {`"BTCUSDT"`, `2048`, `"0.005"`},
}

// wsAllowed are the codes a websocket method may answer here: 1 argument,
// 3 no sign_url (or auth service), 6 before auth, 8 subscription limit, 11
// auth refused; and those of the order entry methods (as over HTTP: 10 to
// 15, 8 max_open_orders).
var wsAllowed = []int{1, 3, 6, 8, 10, 11, 12, 13, 14, 15}

// orderEntry are the methods that change the exchange.
var orderEntry = map[string]bool{"order.put_limit": true, "order.put_limit_ex": true, "order.put_market": true,
	"order.put_market_ex": true, "order.put_stop_limit": true, "order.put_stop_market": true,
	"order.cancel": true, "order.cancel_all": true, "order.amend": true}

// changes reports whether a call may change the exchange: only an order
// entry method, on an authenticated connection, answered with success.
func changes(c *client, name string, code int) bool {
	return code == 0 && c.authed && orderEntry[name]
}

// startWSEntryEnv starts a node and websocket server with funds and two
// resting orders (their fill makes market data non-empty).
func startWSEntryEnv(tb testing.TB) *env {
	e := startEnv(tb, func(s *config.WebSocket, o *Options) { o.DevAuth = true; s.RateLimit = 0 })
	e.rpc(tb, "balance.update", 1, "USDT", "deposit", 1, "10000", map[string]any{})
	e.rpc(tb, "balance.update", 2, "BTC", "deposit", 2, "10", map[string]any{})
	e.rpc(tb, "order.put_limit", 2, "BTCUSDT", 1, "1", "100", "0.002", "0.001", "web")
	e.rpc(tb, "order.put_limit", 1, "BTCUSDT", 2, "0.5", "100", "0.002", "0.001", "web")
	return e
}

func (e *env) stateHash(t *testing.T) string {
	h, err := e.node.Router.StateHash(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// wsCall sends one generated call on c and checks its reply; it returns the
// answer's code (0: success).
func wsCall(t *testing.T, c *client, name, params string) int {
	t.Helper()
	c.next++
	id := c.next
	c.write([]byte(`{"method":"` + name + `","params":` + params + `,"id":` + itoa(id) + `}`))
	m := c.reply(&id, name+" "+params)
	c.notes = c.notes[:0] // pushes are not under test here
	if m.Error != nil {
		if !slices.Contains(wsAllowed, m.Error.Code) {
			t.Fatalf("%s %s: code %d %s", name, params, m.Error.Code, m.Error.Message)
		}
		return m.Error.Code
	}
	if len(m.Result) == 0 || !json.Valid(m.Result) {
		t.Fatalf("%s %s: %s", name, params, m.raw)
	}
	if name == "server.auth" {
		c.authed = true
	}
	return 0
}

// wsCheck is wsCall with the state-hash rule: the exchange's state hash
// may move only on an authenticated order entry call answered with
// success (changes). last is the hash before the call; the one after is
// returned.
func (e *env) wsCheck(t *testing.T, c *client, name, params, last string) (string, int) {
	t.Helper()
	code := wsCall(t, c, name, params)
	h := e.stateHash(t)
	if h != last && !changes(c, name, code) {
		t.Fatalf("%s %s on a connection authenticated=%v answered code %d, yet the state changed", name, params, c.authed, code)
	}
	return h, code
}

// TestWSEntryPoints sends 3,000 generated calls of every websocket method
// (fuzzgen: random params of every JSON type, valid and near-valid calls)
// over two connections, one of them authenticated, to a real node. Each
// call must get exactly one well-formed reply with its id, a refusal one of
// wsAllowed, the connection must stay open, and the state hash may move
// only on an order entry call of an authenticated connection answered
// with success (wsCheck); the anonymous connection's calls never move it
// (unless a generated server.auth authenticated it).
// FuzzWSEntryPoints explores the same with the fuzzer (make fuzz).
func TestWSEntryPoints(t *testing.T) {
	if len(wsTemplates) != len(methods) {
		t.Fatalf("wsTemplates covers %d methods; the method table has %d", len(wsTemplates), len(methods))
	}
	e := startWSEntryEnv(t)
	anon, authed := dial(t, e.wsURL), dial(t, e.wsURL)
	authed.login("1")
	last := e.stateHash(t)
	names := fuzzgen.Names(wsTemplates)
	r := rand.New(rand.NewPCG(3, 4))
	codes := map[int]int{}
	placed := 0
	for i := range 3000 {
		in := make([]byte, 24)
		for j := range in {
			in[j] = byte(r.IntN(256))
		}
		g := fuzzgen.New(in)
		name, params := g.Call(names, wsTemplates)
		c := anon
		if i%2 == 1 {
			c = authed
		}
		h, code := e.wsCheck(t, c, name, params, last)
		codes[code]++
		if h != last {
			placed++
		}
		last = h
	}
	if st := e.srv.Stats(); st.Open != 2 {
		t.Errorf("open connections = %d; want 2", st.Open)
	}
	if codes[0] < 300 || codes[1] < 300 || codes[6] == 0 || placed < 20 {
		t.Errorf("answers by code %v, %d state changes: the generator is off balance", codes, placed)
	}
	t.Logf("3000 calls, answers by code (0: success): %v; %d changed the state", codes, placed)
	e.recoverAndCheck(t)
}

// FuzzWSEntryPoints: each input is a sequence of generated calls on a new
// connection (anonymous, or authenticated when the input's first byte is
// odd) to a node shared by the fuzzing process, with wsCheck's state-hash
// rule. The corpus it finds is kept in testdata/fuzz/FuzzWSEntryPoints.
func FuzzWSEntryPoints(f *testing.F) {
	for i := range 32 {
		seed := make([]byte, 32)
		r := rand.New(rand.NewPCG(uint64(i), 9))
		for j := range seed {
			seed[j] = byte(r.IntN(256))
		}
		f.Add(seed)
	}
	e := startWSEntryEnv(f)
	names := fuzzgen.Names(wsTemplates)
	f.Fuzz(func(t *testing.T, in []byte) {
		last := e.stateHash(t)
		c := dial(t, e.wsURL)
		if len(in) > 0 && in[0]%2 == 1 {
			c.login("1")
		}
		g := fuzzgen.New(in)
		for g.More() {
			name, params := g.Call(names, wsTemplates)
			last, _ = e.wsCheck(t, c, name, params, last)
		}
		c.nc.Close()
	})
}

func itoa(v int64) string { b, _ := json.Marshal(v); return string(b) }
