package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestWebSocketDefaults(t *testing.T) {
	embedded, err := Parse(Default)
	if err != nil {
		t.Fatal(err)
	}
	// A document without a websocket section gets the same values as the
	// embedded file, which spells them out.
	bare, err := Parse([]byte("assets:\n  - {name: BTC, prec_save: 8}\n  - {name: USDT, prec_save: 8}\nmarkets:\n  - {name: BTCUSDT, stock: BTC, money: USDT, stock_prec: 4, money_prec: 4}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := WebSocket{
		PushInterval:    100 * time.Millisecond,
		DepthLimit:      []int{1, 5, 10, 20, 30, 50, 100},
		DepthMerge:      []string{"0", "0.00000001", "0.0000001", "0.000001", "0.00001", "0.0001", "0.001", "0.01", "0.1", "1", "10"},
		Origins:         []string{},
		Protocol:        "chat",
		KeepAlive:       time.Hour,
		MaxMessageBytes: 16384,
		OutboundQueue:   1024,
		BackendTimeout:  time.Second,

		MaxConns:         10000,
		MaxSubscriptions: 256,
		RateLimit:        50,
		RateBurst:        100,
	}
	if got := embedded.WebSocket; !reflect.DeepEqual(got, want) {
		t.Errorf("embedded websocket = %+v; want %+v", got, want)
	}
	want.Origins = nil
	if got := bare.WebSocket; !reflect.DeepEqual(got, want) {
		t.Errorf("default websocket = %+v; want %+v", got, want)
	}
}

func TestWebSocketValidation(t *testing.T) {
	const base = "assets:\n  - {name: BTC, prec_save: 8}\n  - {name: USDT, prec_save: 8}\nmarkets:\n  - {name: BTCUSDT, stock: BTC, money: USDT, stock_prec: 4, money_prec: 4}\nwebsocket:\n"
	tests := []struct {
		name, doc, want string
	}{
		{"auth url scheme", "  auth_url: ftp://x/y\n", "websocket.auth_url: must be an http or https URL"},
		{"sign url no host", "  sign_url: http:///x\n", "websocket.sign_url: must be an http or https URL"},
		{"push interval", "  push_interval: 0s\n", "websocket.push_interval: must be at least 1ms"},
		{"empty depth limit", "  depth_limit: []\n", "websocket.depth_limit: must list at least one"},
		{"depth limit range", "  depth_limit: [5, 102]\n", "websocket.depth_limit: [1] must be between 1 and 101, got 102"},
		{"depth merge decimal", "  depth_merge: [\"0\", \"x\"]\n", `websocket.depth_merge: [1] must be a non-negative decimal, got "x"`},
		{"depth merge negative", "  depth_merge: [\"-1\"]\n", "websocket.depth_merge: [0] must be a non-negative"},
		{"protocol", "  protocol: \"\"\n", "websocket.protocol: must not be empty"},
		{"keep alive", "  keep_alive: 10ms\n", "websocket.keep_alive: must be at least 1s"},
		{"max message", "  max_message_bytes: 100\n", "websocket.max_message_bytes: must be at least 1024"},
		{"queue", "  outbound_queue: 0\n", "websocket.outbound_queue: must be at least 1"},
		{"backend timeout", "  backend_timeout: -1s\n", "websocket.backend_timeout: must be positive"},
		{"client ip header", "  client_ip_header: \"X Forwarded\"\n", "websocket.client_ip_header: must be an HTTP header name"},
		{"conns", "  max_conns: -1\n", "websocket.max_conns: must not be negative"},
		{"conns per ip", "  max_conns_per_ip: -1\n", "websocket.max_conns_per_ip: must not be negative"},
		{"subscriptions", "  max_subscriptions: 0\n", "websocket.max_subscriptions: must be at least 1"},
		{"rate limit", "  rate_limit: -5\n", "websocket.rate_limit: must be a non-negative number"},
		{"rate burst", "  rate_limit: 10\n  rate_burst: 0\n", "websocket.rate_burst: must be at least 1"},
		{"unknown key", "  push_intervall: 1s\n", "push_intervall"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(base + tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%q) error = %v; want it to contain %q", tt.doc, err, tt.want)
			}
		})
	}
	c, err := Parse([]byte(base + "  auth_url: http://127.0.0.1:9/auth\n  origins: [\"https://a.example\"]\n  depth_limit: [10]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if w := c.WebSocket; w.AuthURL != "http://127.0.0.1:9/auth" || !reflect.DeepEqual(w.Origins, []string{"https://a.example"}) || !reflect.DeepEqual(w.DepthLimit, []int{10}) || w.Protocol != "chat" {
		t.Errorf("websocket = %+v", w)
	}
}
