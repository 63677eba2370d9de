package config

import (
	"net/url"
	"time"

	"github.com/shopspring/decimal"
)

// WebSocket configures the websocket edge (edges/ws, PROTOCOL §9 and
// D12–D13). The defaults are the ones Parse sets and bourse.yaml shows.
type WebSocket struct {
	// AuthURL is where server.auth sends the client's token (HTTP GET,
	// header Authorization: <token>); empty: server.auth answers code 2
	// unless development authentication is on. The -auth-url flag
	// overrides it.
	AuthURL string `yaml:"auth_url"`
	// SignURL is where server.sign sends access_id and tonce (HTTP GET);
	// empty: server.sign answers code 2. The -sign-url flag overrides it.
	SignURL string `yaml:"sign_url"`
	// PushInterval is how often at most one channel (a market's depth,
	// price, …) is pushed (PROTOCOL D13). Default 100ms.
	PushInterval time.Duration `yaml:"push_interval"`
	// DepthLimit lists the limits depth.subscribe accepts (each 1..101).
	// Default [1, 5, 10, 20, 30, 50, 100].
	DepthLimit []int `yaml:"depth_limit"`
	// DepthMerge lists the merge intervals depth.subscribe accepts,
	// compared numerically (non-negative decimals). Default "0" and the
	// powers of ten from 0.00000001 to 10.
	DepthMerge []string `yaml:"depth_merge"`
	// Origins, when not empty, is the exact list of Origin header values
	// accepted at upgrade (PROTOCOL D12); requests without Origin (not
	// browsers) are accepted. Default empty: any origin.
	Origins []string `yaml:"origins"`
	// Protocol is the subprotocol a client's Sec-WebSocket-Protocol list
	// must contain when it sends one; it is echoed. Default "chat".
	Protocol string `yaml:"protocol"`
	// KeepAlive closes a connection that sent no frame for this long.
	// Default 1h (viabtc keep_alive).
	KeepAlive time.Duration `yaml:"keep_alive"`
	// MaxMessageBytes is the largest request message (all fragments);
	// a larger one closes the connection (1009). Default 16384.
	MaxMessageBytes int64 `yaml:"max_message_bytes"`
	// OutboundQueue is how many messages may wait to be written to one
	// connection; a client that lets more pile up is disconnected as slow.
	// Default 1024.
	OutboundQueue int `yaml:"outbound_queue"`
	// BackendTimeout bounds a query to the exchange and a call to the
	// auth or sign service (then code 5). Default 1s.
	BackendTimeout time.Duration `yaml:"backend_timeout"`
}

// MaxDepthLimit is the largest depth limit (order.depth's).
const MaxDepthLimit = 101

func defaultWebSocket() WebSocket {
	return WebSocket{
		PushInterval: 100 * time.Millisecond,
		DepthLimit:   []int{1, 5, 10, 20, 30, 50, 100},
		DepthMerge: []string{"0", "0.00000001", "0.0000001", "0.000001", "0.00001", "0.0001",
			"0.001", "0.01", "0.1", "1", "10"},
		Protocol:        "chat",
		KeepAlive:       time.Hour,
		MaxMessageBytes: 16 << 10,
		OutboundQueue:   1024,
		BackendTimeout:  time.Second,
	}
}

func (c *Config) validateWebSocket() error {
	w := &c.WebSocket
	for _, u := range []struct{ name, v string }{{"auth_url", w.AuthURL}, {"sign_url", w.SignURL}} {
		if u.v == "" {
			continue
		}
		p, err := url.Parse(u.v)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return fieldErr("websocket."+u.name, "must be an http or https URL, got %q", u.v)
		}
	}
	if w.PushInterval < time.Millisecond {
		return fieldErr("websocket.push_interval", "must be at least 1ms, got %s", w.PushInterval)
	}
	if len(w.DepthLimit) == 0 {
		return fieldErr("websocket.depth_limit", "must list at least one limit")
	}
	for i, l := range w.DepthLimit {
		if l < 1 || l > MaxDepthLimit {
			return fieldErr("websocket.depth_limit", "[%d] must be between 1 and %d, got %d", i, MaxDepthLimit, l)
		}
	}
	if len(w.DepthMerge) == 0 {
		return fieldErr("websocket.depth_merge", "must list at least one interval")
	}
	for i, s := range w.DepthMerge {
		d, err := decimal.NewFromString(s)
		if err != nil || d.IsNegative() {
			return fieldErr("websocket.depth_merge", "[%d] must be a non-negative decimal, got %q", i, s)
		}
	}
	if w.Protocol == "" {
		return fieldErr("websocket.protocol", "must not be empty")
	}
	if w.KeepAlive < time.Second {
		return fieldErr("websocket.keep_alive", "must be at least 1s, got %s", w.KeepAlive)
	}
	if w.MaxMessageBytes < 1024 {
		return fieldErr("websocket.max_message_bytes", "must be at least 1024, got %d", w.MaxMessageBytes)
	}
	if w.OutboundQueue < 1 {
		return fieldErr("websocket.outbound_queue", "must be at least 1, got %d", w.OutboundQueue)
	}
	if w.BackendTimeout <= 0 {
		return fieldErr("websocket.backend_timeout", "must be positive, got %s", w.BackendTimeout)
	}
	return nil
}
