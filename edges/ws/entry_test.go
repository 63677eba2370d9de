package ws

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/bourse-exchange/bourse/internal/fuzzgen"
	"github.com/bourse-exchange/bourse/runtime/config"
)

// wsTemplates are valid calls of every websocket method.
var wsTemplates = map[string][]string{
	"server.ping": {}, "server.time": {},
	"server.auth": {`"dev:1"`, `"web"`},
	"server.sign": {`"id"`, `"sig"`, `1700000000000`},
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
}

// TestWSEntryPoints sends 3,000 generated calls of every websocket method
// (fuzzgen: random params of every JSON type, valid and near-valid calls)
// over two connections, one of them authenticated, to a real node. Each
// call must get exactly one well-formed reply with its id, a refusal one of
// the codes below, the connection must stay open, and — since no
// websocket method changes the exchange — the state hash must never move.
func TestWSEntryPoints(t *testing.T) {
	if len(wsTemplates) != len(methods) {
		t.Fatalf("wsTemplates covers %d methods; the method table has %d", len(wsTemplates), len(methods))
	}
	e := startEnv(t, func(s *config.WebSocket, o *Options) { o.DevAuth = true; s.RateLimit = 0 })
	e.rpc(t, "balance.update", 1, "USDT", "deposit", 1, "10000", map[string]any{})
	e.rpc(t, "balance.update", 2, "BTC", "deposit", 2, "10", map[string]any{})
	e.rpc(t, "order.put_limit", 2, "BTCUSDT", 1, "1", "100", "0.002", "0.001", "web")
	e.rpc(t, "order.put_limit", 1, "BTCUSDT", 2, "0.5", "100", "0.002", "0.001", "web")
	anon, authed := dial(t, e.wsURL), dial(t, e.wsURL)
	authed.ok("server.auth", "dev:1", "web")
	hash := func() string {
		h, err := e.node.Router.StateHash(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	// Codes a websocket method may answer here: 1 argument, 2 no sign_url
	// (or auth service), 6 before auth, 8 subscription limit, 11 auth
	// refused.
	allowed := []int{1, 2, 6, 8, 11}
	before := hash()
	names := fuzzgen.Names(wsTemplates)
	r := rand.New(rand.NewPCG(3, 4))
	codes := map[int]int{}
	for i := range 3000 {
		in := make([]byte, 24)
		for j := range in {
			in[j] = byte(r.IntN(256))
		}
		g := &fuzzgen.Gen{B: in}
		name, params := g.Call(names, wsTemplates)
		c := anon
		if i%2 == 1 {
			c = authed
		}
		c.next++
		id := c.next
		c.write([]byte(`{"method":"` + name + `","params":` + params + `,"id":` + itoa(id) + `}`))
		m := c.reply(&id, name+" "+params)
		if m.Error != nil {
			if !slices.Contains(allowed, m.Error.Code) {
				t.Fatalf("%s %s: code %d %s", name, params, m.Error.Code, m.Error.Message)
			}
			codes[m.Error.Code]++
		} else if len(m.Result) == 0 || !json.Valid(m.Result) {
			t.Fatalf("%s %s: %s", name, params, m.raw)
		} else {
			codes[0]++
		}
		c.notes = c.notes[:0] // pushes are not under test here
		if i%100 == 99 {
			if h := hash(); h != before {
				t.Fatalf("after %d calls (last %s %s) the state hash changed", i+1, name, params)
			}
		}
	}
	if h := hash(); h != before {
		t.Fatal("the state hash changed")
	}
	if st := e.srv.Stats(); st.Open != 2 {
		t.Errorf("open connections = %d; want 2", st.Open)
	}
	if codes[0] < 300 || codes[1] < 300 || codes[6] == 0 {
		t.Errorf("answers by code %v: the generator is off balance", codes)
	}
	t.Logf("3000 calls, answers by code (0: success): %v", codes)
}

func itoa(v int64) string { b, _ := json.Marshal(v); return string(b) }
