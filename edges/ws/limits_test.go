package ws

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/runtime/config"
	"github.com/gobwas/ws"
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
