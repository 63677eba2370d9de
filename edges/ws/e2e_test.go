package ws

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/shopspring/decimal"
)

// authServer answers like viabtc's auth service: tokens "tok-N" are user
// N, "expired" is refused with code 1 and a message, "zero" is user 0,
// anything else gets a body that is not JSON. It records the headers.
func authServer(t *testing.T) (*httptest.Server, func() http.Header) {
	var mu sync.Mutex
	var seen []http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			http.Error(w, "GET only", http.StatusMethodNotAllowed)
			return
		}
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
		tok := r.Header.Get("Authorization")
		if r.URL.Path == "/sign" {
			if r.URL.Query().Get("access_id") == "key 1" && r.URL.Query().Get("tonce") == "42" && tok == "sig" {
				fmt.Fprint(w, `{"code":0,"message":"ok","data":{"user_id":3}}`)
				return
			}
			fmt.Fprint(w, `{"code":7,"message":"bad signature","data":null}`)
			return
		}
		var user int
		switch {
		case tok == "expired":
			fmt.Fprint(w, `{"code":1,"message":"token expired","data":null}`)
		case tok == "zero":
			fmt.Fprint(w, `{"code":0,"message":"ok","data":{"user_id":0}}`)
		case tok == "slow":
			time.Sleep(600 * time.Millisecond)
			fmt.Fprint(w, `{"code":0,"message":"ok","data":{"user_id":9}}`)
		default:
			if _, err := fmt.Sscanf(tok, "tok-%d", &user); err != nil {
				fmt.Fprint(w, `<html>`)
				return
			}
			fmt.Fprintf(w, `{"code":0,"message":"ok","data":{"user_id":%d}}`, user)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() http.Header {
		mu.Lock()
		defer mu.Unlock()
		return seen[len(seen)-1]
	}
}

// book is a client's depth book, built from depth.update notifications as
// docs/protocol.md "Depth diffs" tells clients to: a clean update replaces it, a diff sets
// or (amount "0") deletes levels; then it is sorted and truncated to limit.
type book struct {
	limit      int
	asks, bids map[string]string
}

func (b *book) apply(t *testing.T, m message) {
	t.Helper()
	var clean bool
	var depth struct {
		Asks *[][2]string `json:"asks"`
		Bids *[][2]string `json:"bids"`
	}
	if len(m.Params) != 3 || json.Unmarshal(m.Params[0], &clean) != nil || json.Unmarshal(m.Params[1], &depth) != nil {
		t.Fatalf("depth.update %s", m.raw)
	}
	if clean {
		if depth.Asks == nil || depth.Bids == nil {
			t.Fatalf("clean depth.update without asks or bids: %s", m.raw)
		}
		b.asks, b.bids = map[string]string{}, map[string]string{}
	} else if b.asks == nil {
		t.Fatalf("diff before any clean snapshot: %s", m.raw)
	}
	for _, side := range []struct {
		levels *[][2]string
		m      map[string]string
	}{{depth.Asks, b.asks}, {depth.Bids, b.bids}} {
		if side.levels == nil {
			continue
		}
		for _, l := range *side.levels {
			if d := decimal.RequireFromString(l[1]); d.IsZero() {
				delete(side.m, l[0])
			} else {
				side.m[l[0]] = l[1]
			}
		}
	}
}

// levels returns the book as order.depth prints it.
func (b *book) levels() string {
	side := func(m map[string]string, asc bool) [][2]string {
		out := [][2]string{}
		for p, a := range m {
			out = append(out, [2]string{p, a})
		}
		sort.Slice(out, func(i, j int) bool {
			c := decimal.RequireFromString(out[i][0]).Cmp(decimal.RequireFromString(out[j][0]))
			if asc {
				return c < 0
			}
			return c > 0
		})
		if len(out) > b.limit {
			out = out[:b.limit]
		}
		return out
	}
	j, _ := json.Marshal(map[string]any{"asks": side(b.asks, true), "bids": side(b.bids, false)})
	return string(j)
}

func canonical(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	j, _ := json.Marshal(v)
	return string(j)
}

// syncBook applies depth.update notifications until the book equals a
// fresh depth.query (the pushes are coalesced, so it may take a few).
func syncBook(t *testing.T, c *client, b *book, market string, interval string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		want := canonical(t, c.ok("depth.query", market, b.limit, interval))
		if b.asks != nil && b.levels() == want {
			return
		}
		m, ok := c.tryNote("depth.update", 200*time.Millisecond)
		if ok {
			b.apply(t, m)
			continue
		}
		if time.Now().After(deadline) {
			t.Fatalf("depth from pushes %s; depth.query %s", b.levels(), want)
		}
	}
}

// TestMarketList: the websocket's market.list answers the HTTP method's
// result, from the configuration, without authentication.
func TestMarketList(t *testing.T) {
	e := startEnv(t, nil)
	c := dial(t, e.wsURL)
	var got []struct {
		Name, Stock, Money string
		StockPrec          int    `json:"stock_prec"`
		MoneyPrec          int    `json:"money_prec"`
		MinAmount          string `json:"min_amount"`
		Halted             bool
	}
	if err := json.Unmarshal(c.ok("market.list"), &got); err != nil {
		t.Fatal(err)
	}
	cfg := e.cfg
	if len(got) != len(cfg.Markets) {
		t.Fatalf("market.list: %d markets; want %d", len(got), len(cfg.Markets))
	}
	for i, m := range cfg.Markets {
		g := got[i]
		if g.Name != m.Name || g.Stock != m.Stock || g.Money != m.Money || g.StockPrec != m.StockPrec ||
			g.MoneyPrec != m.MoneyPrec || !decimal.RequireFromString(g.MinAmount).Equal(decimal.New(m.MinUnits, int32(-m.StockPrec))) || g.Halted {
			t.Errorf("market.list[%d] = %+v; want %s %s/%s prec %d/%d min %d units", i, g, m.Name, m.Stock, m.Money, m.StockPrec, m.MoneyPrec, m.MinUnits)
		}
	}
}

func TestSystemMethodsAndErrors(t *testing.T) {
	e := startEnv(t, nil)
	c := dial(t, e.wsURL)
	if got := str(t, c.ok("server.ping")); got != "pong" {
		t.Errorf("server.ping = %q; want pong", got)
	}
	var now int64
	json.Unmarshal(c.ok("server.time", 1, "x"), &now)
	if d := time.Now().Unix() - now; d < -2 || d > 2 {
		t.Errorf("server.time = %d; want about %d", now, time.Now().Unix())
	}
	// D12: unknown method → code 4; malformed → code 1; the socket stays.
	c.fails(4, "no.such_method")
	for _, tc := range []struct {
		req string
		id  *int64
	}{
		{`{`, nil},
		{`[1,2]`, nil},
		{`{"method":"server.ping","params":{},"id":7}`, ptr(7)},
		{`{"method":1,"params":[],"id":8}`, ptr(8)},
		{`{"method":"server.ping","params":[]}`, nil},
		{`{"method":"server.ping","params":[],"id":1.5}`, nil},
	} {
		c.write([]byte(tc.req))
		m := c.reply(tc.id, tc.req)
		if m.Error == nil || m.Error.Code != 1 || string(m.Result) != "null" {
			t.Errorf("%s: reply %s; want code 1", tc.req, m.raw)
		}
	}
	// Private methods before auth: code 6.
	for _, method := range []string{"order.query", "order.history", "asset.query", "asset.history", "order.subscribe", "asset.subscribe", "order.unsubscribe", "asset.unsubscribe"} {
		c.fails(6, method, "BTCUSDT", 0, 10)
	}
	// Subscription params.
	c.fails(1, "depth.subscribe", "BTCUSDT", 7, "0")     // limit not in depth_limit
	c.fails(1, "depth.subscribe", "BTCUSDT", 10, "0.5")  // interval not in depth_merge
	c.fails(1, "depth.subscribe", "BTCUSDT", 10, 0)      // interval must be a string
	c.fails(1, "price.subscribe", "BTCUSDT", "NOPE")     // unknown market
	c.fails(1, "kline.subscribe", "BTCUSDT", 0)          // interval > 0
	c.fails(1, "price.subscribe", "ABCDEFGHIJKLMNOPQ")   // ≥ 16 bytes
	c.ok("depth.subscribe", "BTCUSDT", 10, "0.00000000") // numerically 0
	c.ok("depth.unsubscribe")
	c.ok("server.ping") // still connected
}

func ptr(v int64) *int64 { return &v }

func TestAuth(t *testing.T) {
	auth, lastHeader := authServer(t)
	e := startEnv(t, func(s *config.WebSocket, o *Options) {
		s.AuthURL = auth.URL + "/auth"
		s.SignURL = auth.URL + "/sign"
		s.BackendTimeout = 300 * time.Millisecond
	})
	c := dial(t, e.wsURL)
	m := c.fails(11, "server.auth", "expired", "web")
	if m.Error.Message != "token expired" {
		t.Errorf("refusal message = %q; want the auth server's", m.Error.Message)
	}
	c.fails(2, "server.auth", "zero", "web")
	if m := c.fails(2, "server.auth", "garbage", "web"); m.Error.Message != "internal error: invalid reply from the auth service" {
		t.Errorf("nonsense reply: message %q", m.Error.Message)
	}
	c.fails(5, "server.auth", "slow", "web")
	c.fails(1, "server.auth", "tok-1", "0123456789012345678901234567890123") // source ≥ 32 bytes
	c.fails(4, "server.nope")
	c.fails(6, "asset.query")
	c.ok("server.auth", "tok-1", "web")
	h := lastHeader()
	if h.Get("Authorization") != "tok-1" || h.Get("Accept-Language") != "en_US" || h.Get("Content-Type") != "application/json" {
		t.Errorf("auth request headers = %v", h)
	}
	e.rpc(t, "balance.update", 1, "BTC", "deposit", 1, "1.5", map[string]any{})
	if got := canonical(t, c.ok("asset.query", "BTC")); got != `{"BTC":{"available":"1.5","freeze":"0"}}` {
		t.Errorf("asset.query BTC = %s", got)
	}
	// Another user on the same connection.
	c.ok("server.auth", "tok-2", "web")
	if got := canonical(t, c.ok("asset.query", "BTC")); got != `{"BTC":{"available":"0","freeze":"0"}}` {
		t.Errorf("asset.query BTC as user 2 = %s", got)
	}
	// server.sign
	c2 := dial(t, e.wsURL)
	c2.fails(11, "server.sign", "key 1", "wrong", 42)
	c2.fails(1, "server.sign", "key 1", "sig", 0)
	c2.ok("server.sign", "key 1", "sig", 42)
	c2.ok("asset.query")

	// Development tokens only with DevAuth.
	c.fails(2, "server.auth", "dev:5", "web") // goes to auth_url: not JSON
	d := startEnv(t, func(s *config.WebSocket, o *Options) { o.DevAuth = true })
	c3 := dial(t, d.wsURL)
	c3.fails(11, "server.auth", "dev:0", "web")
	c3.fails(3, "server.auth", "other", "web") // no auth_url
	c3.ok("server.auth", "dev:5", "web")
	c3.ok("asset.query", "USDT")
}

func TestDevAuthNeedsLoopback(t *testing.T) {
	e := startEnv(t, nil)
	s, err := New(e.node.Router, e.svc.Bus, Options{DevAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(t.Context())
	if err := s.ListenAndServe("0.0.0.0:0"); err == nil {
		t.Fatal("ListenAndServe(0.0.0.0:0) with DevAuth succeeded")
	}
	for addr, want := range map[string]bool{"127.0.0.1:1": true, "[::1]:1": true, "localhost:1": true, "0.0.0.0:1": false, "10.0.0.1:1": false, ":1": false} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v; want %v", addr, got, want)
		}
	}
}

// TestMarketSession subscribes to every public channel and to order and
// asset, trades over HTTP and checks each push against what was traded.
func TestMarketSession(t *testing.T) {
	e := startEnv(t, func(s *config.WebSocket, o *Options) { o.DevAuth = true })
	e.rpc(t, "balance.update", 1, "USDT", "deposit", 1, "10000", map[string]any{})
	e.rpc(t, "balance.update", 2, "BTC", "deposit", 1, "10", map[string]any{})

	pub := dial(t, e.wsURL)
	pub.ok("depth.subscribe", "BTCUSDT", 5, "0")
	pub.ok("price.subscribe", "BTCUSDT", "ETHUSDT")
	pub.ok("deals.subscribe", "BTCUSDT")
	pub.ok("state.subscribe", "BTCUSDT")
	pub.ok("today.subscribe", "BTCUSDT")
	pub.ok("kline.subscribe", "BTCUSDT", 60)
	b := &book{limit: 5}
	// An empty book: the first push is a clean, empty snapshot.
	b.apply(t, pub.note("depth.update", 2*time.Second))
	if got := b.levels(); got != `{"asks":[],"bids":[]}` {
		t.Errorf("first snapshot = %s", got)
	}

	u1 := dial(t, e.wsURL)
	u1.ok("server.auth", "dev:1", "web")
	u1.ok("order.subscribe", "BTCUSDT")
	u1.ok("asset.subscribe", "BTC", "USDT")

	// Resting bids at 6 prices: more than the limit of 5.
	var bidIDs []float64
	for i, price := range []string{"100", "99", "98", "97", "96", "95"} {
		res := e.rpc(t, "order.put_limit", 1, "BTCUSDT", 2, "1", price, "0.002", "0.001", "web")
		var o map[string]any
		json.Unmarshal(res, &o)
		bidIDs = append(bidIDs, o["id"].(float64))
		m := u1.note("order.update", 2*time.Second)
		var ev int
		var order map[string]any
		json.Unmarshal(m.Params[0], &ev)
		json.Unmarshal(m.Params[1], &order)
		if ev != 1 || order["id"] != o["id"] || order["price"] != price || order["left"] != "1" || order["side"] != float64(2) {
			t.Errorf("order %d: order.update %s; want PUT of %s", i, m.raw, res)
		}
	}
	syncBook(t, pub, b, "BTCUSDT", "0")
	if got := b.levels(); got != `{"asks":[],"bids":[["100","1"],["99","1"],["98","1"],["97","1"],["96","1"]]}` {
		t.Errorf("book after bids = %s", got)
	}
	// asset.update after the freeze: USDT available 10000 - 585 = 9415.
	waitAsset(t, u1, "USDT", "9415", "585")

	// User 2 sells 1.5 at 99: fills 1 at 100 and 0.5 at 99.
	e.rpc(t, "order.put_limit", 2, "BTCUSDT", 1, "1.5", "99", "0.002", "0.001", "web")

	deals := pub.note("deals.update", 2*time.Second)
	var dl []map[string]any
	if str(t, deals.Params[0]) != "BTCUSDT" || json.Unmarshal(deals.Params[1], &dl) != nil {
		t.Fatalf("deals.update %s", deals.raw)
	}
	for _, more := range pub.drain("deals.update", 300*time.Millisecond) {
		var d2 []map[string]any
		json.Unmarshal(more.Params[1], &d2)
		dl = append(d2, dl...) // newest first
	}
	if len(dl) != 2 || dl[0]["price"] != "99" || dl[0]["amount"] != "0.5" || dl[1]["price"] != "100" || dl[1]["amount"] != "1" || dl[0]["type"] != "sell" {
		t.Errorf("deals pushed = %v; want 0.5@99 then 1@100, newest first, taker sell", dl)
	}
	price := lastNote(t, pub, "price.update")
	if str(t, price.Params[0]) != "BTCUSDT" || !decimal.RequireFromString(str(t, price.Params[1])).Equal(decimal.RequireFromString("99")) {
		t.Errorf("price.update %s; want BTCUSDT 99", price.raw)
	}
	state := lastNote(t, pub, "state.update")
	var st map[string]any
	json.Unmarshal(state.Params[1], &st)
	if st["last"] != "99" || st["high"] != "100" || st["low"] != "99" || st["volume"] != "1.5" {
		t.Errorf("state.update %s", state.raw)
	}
	today := lastNote(t, pub, "today.update")
	var td map[string]any
	json.Unmarshal(today.Params[1], &td)
	if td["last"] != "99" || td["open"] != "100" || td["volume"] != "1.5" {
		t.Errorf("today.update %s", today.raw)
	}
	kl := lastNote(t, pub, "kline.update")
	var candles [][]any
	json.Unmarshal(kl.raw, &struct {
		Params *[][]any `json:"params"`
	}{&candles})
	if len(candles) == 0 {
		t.Fatalf("kline.update %s", kl.raw)
	}
	last := candles[len(candles)-1]
	// [time, open, close, high, low, volume, amount, market]
	if len(last) != 8 || last[1] != "100" || last[2] != "99" || last[3] != "100" || last[4] != "99" || last[5] != "1.5" || last[7] != "BTCUSDT" {
		t.Errorf("kline.update last candle %v", last)
	}
	// Maker updates: the 100 bid finished, the 99 bid half filled.
	var events []string
	for _, m := range u1.drain("order.update", 300*time.Millisecond) {
		var ev int
		var order map[string]any
		json.Unmarshal(m.Params[0], &ev)
		json.Unmarshal(m.Params[1], &order)
		events = append(events, fmt.Sprintf("%d %s left %s", ev, order["price"], order["left"]))
	}
	if got := fmt.Sprint(events); got != "[3 100 left 0 2 99 left 0.5]" {
		t.Errorf("order.update after the trade: %s", got)
	}
	syncBook(t, pub, b, "BTCUSDT", "0")
	if got := b.levels(); got != `{"asks":[],"bids":[["99","0.5"],["98","1"],["97","1"],["96","1"],["95","1"]]}` {
		t.Errorf("book after the trade = %s", got)
	}
	// BTC received: 1.5 minus the maker fee 0.001 × 1.5 = 0.0015.
	waitAsset(t, u1, "BTC", "1.4985", "0")

	// Cancel the 98 bid: FINISH, a depth diff, USDT released.
	e.rpc(t, "order.cancel", 1, "BTCUSDT", bidIDs[2])
	m := u1.note("order.update", 2*time.Second)
	if string(m.Params[0]) != "3" {
		t.Errorf("order.update after cancel %s; want event 3", m.raw)
	}
	syncBook(t, pub, b, "BTCUSDT", "0")
	if got := b.levels(); got != `{"asks":[],"bids":[["99","0.5"],["97","1"],["96","1"],["95","1"]]}` {
		t.Errorf("book after cancel = %s", got)
	}

	// A new subscriber gets the cached state at once.
	late := dial(t, e.wsURL)
	late.ok("depth.subscribe", "BTCUSDT", 5, "0")
	late.ok("price.subscribe", "BTCUSDT")
	late.ok("deals.subscribe", "BTCUSDT")
	lb := &book{limit: 5}
	lb.apply(t, late.note("depth.update", time.Second))
	if lb.levels() != b.levels() {
		t.Errorf("late snapshot %s; want %s", lb.levels(), b.levels())
	}
	if p := late.note("price.update", time.Second); !decimal.RequireFromString(str(t, p.Params[1])).Equal(decimal.NewFromInt(99)) {
		t.Errorf("late price.update %s", p.raw)
	}
	if d := late.note("deals.update", time.Second); len(d.Params) != 2 {
		t.Errorf("late deals.update %s", d.raw)
	}

	// A merged depth channel: snapshot, then diffs, against depth.query with
	// the same interval.
	merged := dial(t, e.wsURL)
	merged.ok("depth.subscribe", "BTCUSDT", 5, "10")
	mb := &book{limit: 5}
	mb.apply(t, merged.note("depth.update", time.Second))
	syncBook(t, merged, mb, "BTCUSDT", "10")
	e.rpc(t, "order.put_limit", 1, "BTCUSDT", 2, "2", "88", "0", "0", "web")
	e.rpc(t, "order.put_limit", 1, "BTCUSDT", 2, "3", "81", "0", "0", "web")
	syncBook(t, merged, mb, "BTCUSDT", "10")
	if got := mb.levels(); got != `{"asks":[],"bids":[["90","3.5"],["80","5"]]}` {
		t.Errorf("merged book = %s", got)
	}
	syncBook(t, pub, b, "BTCUSDT", "0")

	// Unsubscribed channels stop.
	pub.ok("price.unsubscribe")
	pub.drain("price.update", 100*time.Millisecond)
	// Sell 0.6 at 97: 0.5 at 99, then 0.1 at 97 (the last price moves).
	e.rpc(t, "order.put_limit", 2, "BTCUSDT", 1, "0.6", "97", "0.002", "0.001", "web")
	if m, ok := pub.tryNote("price.update", 500*time.Millisecond); ok {
		t.Errorf("price.update after unsubscribe: %s", m.raw)
	}
	if p := lastNote(t, late, "price.update"); !decimal.RequireFromString(str(t, p.Params[1])).Equal(decimal.NewFromInt(97)) {
		t.Errorf("price.update after the second trade %s; want 97", p.raw)
	}

	// Private queries through the websocket.
	var pending struct {
		Total   int              `json:"total"`
		Records []map[string]any `json:"records"`
	}
	json.Unmarshal(u1.ok("order.query", "BTCUSDT", 0, 10), &pending)
	if pending.Total != 5 {
		t.Errorf("order.query: %d pending; want 5 (97 with 0.9 left, 96, 95, 88, 81)", pending.Total)
	}
	u1.fails(1, "order.history", "BTCUSDT", 0, 0, 0, 10) // 5 params
	u1.ok("order.history", "BTCUSDT", 0, 0, 0, 10, 0)
	u1.ok("asset.history", "BTC", "", 0, 0, 0, 10)
	if got := str(t, pub.ok("price.query", "BTCUSDT")); !decimal.RequireFromString(got).Equal(decimal.NewFromInt(97)) {
		t.Errorf("price.query = %q; want 97", got)
	}
}

// lastNote waits for a notification and returns the last of those that
// follow within a short while (pushes are coalesced but may split).
func lastNote(t *testing.T, c *client, method string) message {
	t.Helper()
	m := c.note(method, 2*time.Second)
	for _, more := range c.drain(method, 200*time.Millisecond) {
		m = more
	}
	return m
}

// waitAsset waits for an asset.update carrying the given balance.
func waitAsset(t *testing.T, c *client, asset, available, freeze string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		m, ok := c.tryNote("asset.update", 200*time.Millisecond)
		if !ok {
			continue
		}
		last = string(m.raw)
		var v map[string]map[string]string
		if len(m.Params) != 1 || json.Unmarshal(m.Params[0], &v) != nil {
			t.Fatalf("asset.update %s", m.raw)
		}
		if b, ok := v[asset]; ok && b["available"] == available && b["freeze"] == freeze {
			return
		}
	}
	t.Fatalf("no asset.update with %s available %s freeze %s (last %s)", asset, available, freeze, last)
}

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}

// TestAuthServiceFailures: with no auth_url or sign_url, or an auth service
// that is down, server.auth and server.sign say so (code 3 and a message
// naming the cause, never a bare "internal error") and the node logs it
// with the service's address and error; the client never sees the address.
func TestAuthServiceFailures(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String() + "/auth"
	ln.Close() // nothing listens there any more
	for _, tc := range []struct {
		name, auth, sign string
		method           string
		params           []any
		msg, logged      string
	}{
		{"no auth_url", "", "", "server.auth", []any{"tok-1", "web"}, "service unavailable: auth service not configured", "no auth service configured"},
		{"no sign_url", "", "", "server.sign", []any{"key", "sig", 42}, "service unavailable: sign service not configured", "no sign service configured"},
		{"auth service down", down, "", "server.auth", []any{"tok-1", "web"}, "service unavailable: auth service unreachable", "unreachable"},
		{"sign service down", "", down, "server.sign", []any{"key", "sig", 42}, "service unavailable: auth service unreachable", "unreachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := &lockedBuffer{}
			e := startEnv(t, func(s *config.WebSocket, o *Options) {
				s.AuthURL, s.SignURL = tc.auth, tc.sign
				o.Logger = slog.New(slog.NewTextHandler(logs, nil))
			})
			c := dial(t, e.wsURL)
			m := c.fails(3, tc.method, tc.params...)
			if m.Error.Message != tc.msg {
				t.Errorf("message %q; want %q", m.Error.Message, tc.msg)
			}
			if strings.Contains(string(m.raw), "127.0.0.1") {
				t.Errorf("the reply shows the service's address: %s", m.raw)
			}
			// A client repeating it does not flood the log: one line per
			// cause per 10 s.
			for range 5 {
				c.fails(3, tc.method, tc.params...)
			}
			got := logs.String()
			if !strings.Contains(got, tc.logged) || (tc.auth+tc.sign != "" && !strings.Contains(got, ln.Addr().String())) {
				t.Errorf("log %q; want %q and the address", got, tc.logged)
			}
			if n := strings.Count(got, tc.logged); n != 1 {
				t.Errorf("%d log lines for 6 failures; want 1:\n%s", n, got)
			}
		})
	}
}

// TestWSArgErrors: over the websocket too, "params": null is no params, a
// malformed request says what is wrong, and a bad param is named — in the
// methods answered by the HTTP edge and in the websocket's own.
func TestWSArgErrors(t *testing.T) {
	e := startEnv(t, nil)
	c := dial(t, e.wsURL)
	id := int64(41)
	c.write([]byte(`{"method":"server.ping","params":null,"id":41}`))
	if m := c.reply(&id, "ping with null params"); m.Error != nil || string(m.Result) != `"pong"` {
		t.Errorf("server.ping with params null: %s", m.raw)
	}
	id = 42
	c.write([]byte(`{"method":"server.ping","params":{},"id":42}`))
	if m := c.reply(&id, "params object"); m.Error == nil || m.Error.Code != 1 || m.Error.Message != "invalid request: params is not an array (or null for none)" {
		t.Errorf("params object: %s", m.raw)
	}
	for _, tc := range []struct {
		method string
		params []any
		want   string
	}{
		{"price.query", []any{"NOPE"}, "invalid argument: market must be the name of a listed market (market.list; case-sensitive)"},
		{"deals.query", []any{"BTCUSDT", 0, 0}, "invalid argument: limit must be an integer from 1 to 10000"},
		{"depth.subscribe", []any{"BTCUSDT", 7, "0"}, "invalid argument: limit must be one of websocket.depth_limit [1 5 10 20 30 50 100]"},
		{"price.subscribe", []any{"NOPE"}, "invalid argument: market must be the name of a listed market (shorter than 16 bytes)"},
		{"kline.subscribe", []any{"BTCUSDT"}, "invalid argument: expected 2 params, got 1"},
		{"server.auth", []any{1, "web"}, "invalid argument: token must be a string"},
	} {
		if m := c.fails(1, tc.method, tc.params...); m.Error.Message != tc.want {
			t.Errorf("%s %v: %q; want %q", tc.method, tc.params, m.Error.Message, tc.want)
		}
	}
}
