package ws

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/gobwas/ws"
	"github.com/prometheus/client_golang/prometheus"
)

func TestSubscriptionLimit(t *testing.T) {
	e := startEnv(t, func(s *config.WebSocket, o *Options) { s.MaxSubscriptions = 3; o.DevAuth = true })
	c := dial(t, e.wsURL)
	// Repeats count once.
	c.ok("price.subscribe", "BTCUSDT", "BTCUSDT", "ETHUSDT")
	c.ok("state.subscribe", "BTCUSDT")
	if n := e.srv.Stats().Channels; n != 3 {
		t.Fatalf("channels = %d; want 3", n)
	}
	// A fourth channel of another kind is refused and changes nothing.
	c.fails(8, "deals.subscribe", "BTCUSDT")
	c.fails(8, "depth.subscribe", "BTCUSDT", 5, "0")
	c.ok("server.auth", "dev:7", "web")
	c.fails(8, "asset.subscribe", "BTC")
	// Replacing a kind counts what it replaces.
	c.fails(8, "price.subscribe", "BTCUSDT", "ETHUSDT", "ETHBTC")
	c.ok("price.subscribe", "ETHBTC", "ETHUSDT")
	if n := e.srv.Stats().Channels; n != 3 {
		t.Fatalf("channels after refusals = %d; want 3", n)
	}
	// The refused subscriptions really were not made: the price channels
	// are the ones of the last successful replacement.
	c.ok("state.unsubscribe")
	c.ok("deals.subscribe", "BTCUSDT")
	c.fails(8, "today.subscribe", "BTCUSDT")
	c.ok("price.unsubscribe")
	c.ok("today.subscribe", "BTCUSDT", "ETHUSDT")
}

func TestRateLimit(t *testing.T) {
	// No refill to speak of during the test: exactly the burst passes.
	e := startEnv(t, func(s *config.WebSocket, o *Options) { s.RateLimit = 0.001; s.RateBurst = 3 })
	c := dial(t, e.wsURL)
	pongs, limited := 0, 0
	for range 10 {
		m := c.call("server.ping")
		switch {
		case m.Error == nil && string(m.Result) == `"pong"`:
			pongs++
		case m.Error != nil && m.Error.Code == 7:
			limited++
		default:
			t.Fatalf("server.ping: %s", m.raw)
		}
	}
	if pongs != 3 || limited != 7 {
		t.Errorf("pongs %d, refused %d; want 3 and 7", pongs, limited)
	}
	// A refused subscribe does not subscribe.
	m := c.call("price.subscribe", "BTCUSDT")
	if m.Error == nil || m.Error.Code != 7 {
		t.Errorf("price.subscribe over the limit: %s", m.raw)
	}
	if n := e.srv.Stats().Channels; n != 0 {
		t.Errorf("channels = %d; want 0", n)
	}
	if n := e.srv.Stats().Limited; n != 8 {
		t.Errorf("Stats().Limited = %d; want 8", n)
	}
	// Another connection has its own allowance.
	c2 := dial(t, e.wsURL)
	if r := c2.ok("server.ping"); string(r) != `"pong"` {
		t.Errorf("second connection: %s", r)
	}

	// Rate 0: no limit.
	e2 := startEnv(t, func(s *config.WebSocket, o *Options) { s.RateLimit = 0; s.RateBurst = 0 })
	c3 := dial(t, e2.wsURL)
	for range 300 {
		c3.ok("server.ping")
	}
}

// tryDial upgrades with header h and reports the HTTP status of a refusal
// (0: connected; the connection is closed at the end of the test).
func tryDial(t *testing.T, url string, h http.Header) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d := ws.Dialer{Header: ws.HandshakeHeaderHTTP(h)}
	nc, _, _, err := d.Dial(ctx, url)
	if err == nil {
		t.Cleanup(func() { nc.Close() })
		return 0
	}
	var se ws.StatusError
	if errors.As(err, &se) {
		return int(se)
	}
	t.Fatalf("dial: %v", err)
	return -1
}

func TestConnectionsPerIP(t *testing.T) {
	e := startEnv(t, func(s *config.WebSocket, o *Options) { s.MaxConnsPerIP = 2 })
	a := dial(t, e.wsURL)
	b := dial(t, e.wsURL)
	if st := tryDial(t, e.wsURL, nil); st != http.StatusTooManyRequests {
		t.Fatalf("third connection from 127.0.0.1: status %d; want 429", st)
	}
	// Without a configured header, a forwarded address is not believed.
	if st := tryDial(t, e.wsURL, http.Header{"X-Forwarded-For": {"10.0.0.1"}}); st != http.StatusTooManyRequests {
		t.Fatalf("X-Forwarded-For without client_ip_header: status %d; want 429", st)
	}
	a.ok("server.ping")
	b.nc.Close()
	// Once b's close is seen, its slot is free.
	deadline := time.Now().Add(5 * time.Second)
	for tryDial(t, e.wsURL, nil) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("a slot was not freed after a connection closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := tryDial(t, e.wsURL, nil); st != http.StatusTooManyRequests {
		t.Fatalf("after the slot was taken again: status %d; want 429", st)
	}
	// The server counts a refusal just after it has written the 429.
	deadline = time.Now().Add(5 * time.Second)
	for e.srv.Stats().Rejected < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if r := e.srv.Stats().Rejected; r < 3 {
		t.Errorf("Stats().Rejected = %d; want ≥ 3", r)
	}

	// Behind a proxy: the header's last element is the client.
	e2 := startEnv(t, func(s *config.WebSocket, o *Options) { s.MaxConnsPerIP = 2; s.ClientIPHeader = "X-Forwarded-For" })
	ip1 := http.Header{"X-Forwarded-For": {"203.0.113.5, 10.0.0.1"}}
	ip1b := http.Header{"X-Forwarded-For": {"198.51.100.7,10.0.0.1"}} // same nearest address
	ip2 := http.Header{"X-Forwarded-For": {"10.0.0.2"}}
	for i, h := range []http.Header{ip1, ip1b} {
		if st := tryDial(t, e2.wsURL, h); st != 0 {
			t.Fatalf("connection %d from 10.0.0.1: status %d", i, st)
		}
	}
	if st := tryDial(t, e2.wsURL, ip1); st != http.StatusTooManyRequests {
		t.Fatalf("third from 10.0.0.1: status %d; want 429", st)
	}
	if st := tryDial(t, e2.wsURL, ip2); st != 0 {
		t.Fatalf("first from 10.0.0.2: status %d", st)
	}
	// No header at all: the peer address counts.
	if st := tryDial(t, e2.wsURL, nil); st != 0 {
		t.Fatalf("from the peer address: status %d", st)
	}
}

// TestPrivateIsolation: a connection reads and follows only its own
// user's orders and assets, and logging in as another user drops the
// previous user's subscriptions.
func TestPrivateIsolation(t *testing.T) {
	e := startEnv(t, func(s *config.WebSocket, o *Options) { o.DevAuth = true })
	e.rpc(t, "balance.update", 1, "USDT", "deposit", 1, "10000", map[string]any{})
	e.rpc(t, "balance.update", 2, "BTC", "deposit", 2, "10", map[string]any{})
	c1, c2 := dial(t, e.wsURL), dial(t, e.wsURL)
	c1.ok("server.auth", "dev:1", "web")
	c2.ok("server.auth", "dev:2", "web")
	for _, c := range []*client{c1, c2} {
		c.ok("order.subscribe", "BTCUSDT")
		c.ok("asset.subscribe", "BTC", "USDT")
	}
	// Private methods take no user id: one more param is refused.
	c1.fails(1, "order.query", 2, "BTCUSDT", 0, 10)
	c1.fails(1, "asset.history", 2, "BTC", "", 0, 0, 0, 10)

	e.rpc(t, "order.put_limit", 2, "BTCUSDT", 1, "1", "100", "0.002", "0.001", "web")
	if m := c2.note("order.update", 2*time.Second); !strings.Contains(string(m.raw), `"user":2`) {
		t.Errorf("user 2's order.update: %s", m.raw)
	}
	waitAsset(t, c2, "BTC", "9", "1")
	if m, ok := c1.tryNote("order.update", 300*time.Millisecond); ok {
		t.Errorf("user 1 got user 2's order.update: %s", m.raw)
	}
	// User 1 may still be pushed its own balances (its deposit above);
	// any other figure would be user 2's.
	own := map[string][2]string{"USDT": {"10000", "0"}, "BTC": {"0", "0"}}
	for {
		m, ok := c1.tryNote("asset.update", 10*time.Millisecond)
		if !ok {
			break
		}
		var note struct {
			Params []map[string]struct{ Available, Freeze string }
		}
		if err := json.Unmarshal(m.raw, &note); err != nil || len(note.Params) != 1 {
			t.Fatalf("asset.update %s: %v", m.raw, err)
		}
		for asset, b := range note.Params[0] {
			if w, ok := own[asset]; !ok || w != [2]string{b.Available, b.Freeze} {
				t.Errorf("user 1 got an asset.update that is not its own balance: %s", m.raw)
			}
		}
	}
	if got := canonical(t, c1.ok("order.query", "BTCUSDT", 0, 10)); !strings.Contains(got, `"records":[]`) {
		t.Errorf("user 1's order.query shows %s", got)
	}
	if got := canonical(t, c1.ok("asset.query", "BTC")); got != `{"BTC":{"available":"0","freeze":"0"}}` {
		t.Errorf("user 1's asset.query BTC = %s", got)
	}

	// c1 logs in as user 2: user 1's subscriptions are gone.
	c1.ok("server.auth", "dev:2", "web")
	e.rpc(t, "order.put_limit", 1, "BTCUSDT", 2, "1", "90", "0.002", "0.001", "web")
	if m, ok := c1.tryNote("order.update", 300*time.Millisecond); ok {
		t.Errorf("after logging in as user 2, c1 got %s", m.raw)
	}
	if got := canonical(t, c1.ok("asset.query", "BTC")); got != `{"BTC":{"available":"9","freeze":"1"}}` {
		t.Errorf("c1 as user 2: asset.query BTC = %s", got)
	}
}

// TestMaxConns: over websocket.max_conns a connection, even one that never
// sends its handshake, makes the next one wait no longer: it is answered
// HTTP 503 at once, the server goes on, and a closed connection frees its
// place. The listener counters appear in the collector.
func TestMaxConns(t *testing.T) {
	e := startEnv(t, func(s *config.WebSocket, o *Options) { s.MaxConns = 2 })
	a := dial(t, e.wsURL)
	addr := strings.TrimSuffix(strings.TrimPrefix(e.wsURL, "ws://"), "/")
	silent, err := net.Dial("tcp", addr) // holds a place without a handshake
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	for deadline := time.Now().Add(5 * time.Second); e.srv.lnStats.Stats().Open < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the two connections were not accepted")
		}
	}
	for range 3 {
		t0 := time.Now()
		if st := tryDial(t, e.wsURL, nil); st != http.StatusServiceUnavailable {
			t.Fatalf("third connection: status %d; want 503", st)
		}
		if d := time.Since(t0); d > 2*time.Second {
			t.Errorf("refusal took %s", d)
		}
	}
	a.ok("server.ping")
	silent.Close()
	deadline := time.Now().Add(5 * time.Second)
	for tryDial(t, e.wsURL, nil) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("a place was not freed after a connection closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(e.srv.Collector())
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if m.GetCounter() != nil {
				got[mf.GetName()] = m.GetCounter().GetValue()
			} else if m.GetGauge() != nil {
				got[mf.GetName()] = m.GetGauge().GetValue()
			}
		}
	}
	if got["bourse_listener_refused_total"] < 3 || got["bourse_listener_max_connections"] != 2 || got["bourse_listener_open_connections"] != 2 {
		t.Errorf("listener metrics %v; want ≥ 3 refused, max 2, 2 open", got)
	}
}
