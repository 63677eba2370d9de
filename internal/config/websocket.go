package config

import (
	"math"
	"net/url"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// WebSocket configures the websocket edge (edges/ws, docs/protocol.md "WebSocket" and
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
	// price, …) is pushed (docs/protocol.md D13). Default 100ms.
	PushInterval time.Duration `yaml:"push_interval"`
	// DepthLimit lists the limits depth.subscribe accepts (each 1..101).
	// Default [1, 5, 10, 20, 30, 50, 100].
	DepthLimit []int `yaml:"depth_limit"`
	// DepthMerge lists the merge intervals depth.subscribe accepts,
	// compared numerically (non-negative decimals). Default "0" and the
	// powers of ten from 0.00000001 to 10.
	DepthMerge []string `yaml:"depth_merge"`
	// Origins, when not empty, is the exact list of Origin header values
	// accepted at upgrade (docs/protocol.md D12); requests without Origin (not
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

	// Limits (README "Limits"; SECURITY.md).

	// ClientIPHeader names a request header that carries the client's
	// address, set by a reverse proxy in front of the edge (e.g.
	// X-Forwarded-For or X-Real-IP); its last comma-separated element is
	// taken (the address the nearest proxy saw). Empty (default): the TCP
	// peer address. Set it only behind a proxy that always sets the
	// header, or clients can choose their own address.
	ClientIPHeader string `yaml:"client_ip_header"`
	// MaxConns is how many connections the websocket listener keeps open
	// at once (handshakes in progress included); one more is answered
	// HTTP 503 and closed at once (internal/netguard). cmd/bourse lowers
	// it to fit RLIMIT_NOFILE. 0: no limit. Default 10000.
	MaxConns int `yaml:"max_conns"`
	// MaxConnsPerIP refuses an upgrade (HTTP 429) when the client address
	// already has this many open connections. 0 (default): no limit.
	MaxConnsPerIP int `yaml:"max_conns_per_ip"`
	// MaxSubscriptions bounds the channels one connection follows over
	// all kinds (a market's price, a user's asset, …); a subscribe that
	// would exceed it answers code 8 and changes nothing. Default 256.
	MaxSubscriptions int `yaml:"max_subscriptions"`
	// RateLimit is how many requests per second one connection may send
	// on average, RateBurst how many at once; a request over the limit
	// answers code 7 and is not executed. RateLimit 0: no limit. Defaults
	// 50 and 100.
	RateLimit float64 `yaml:"rate_limit"`
	RateBurst int     `yaml:"rate_burst"`
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

		MaxConns:         10000,
		MaxSubscriptions: 256,
		RateLimit:        50,
		RateBurst:        100,
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
	if w.ClientIPHeader != "" && !validHeaderName(w.ClientIPHeader) {
		return fieldErr("websocket.client_ip_header", "must be an HTTP header name, got %q", w.ClientIPHeader)
	}
	if w.MaxConns < 0 {
		return fieldErr("websocket.max_conns", "must not be negative, got %d", w.MaxConns)
	}
	if w.MaxConnsPerIP < 0 {
		return fieldErr("websocket.max_conns_per_ip", "must not be negative, got %d", w.MaxConnsPerIP)
	}
	if w.MaxSubscriptions < 1 {
		return fieldErr("websocket.max_subscriptions", "must be at least 1, got %d", w.MaxSubscriptions)
	}
	if w.RateLimit < 0 || math.IsNaN(w.RateLimit) || math.IsInf(w.RateLimit, 0) {
		return fieldErr("websocket.rate_limit", "must be a non-negative number, got %v", w.RateLimit)
	}
	if w.RateLimit > 0 && w.RateBurst < 1 {
		return fieldErr("websocket.rate_burst", "must be at least 1 when rate_limit is set, got %d", w.RateBurst)
	}
	return nil
}

// validHeaderName reports whether s is an HTTP header field name (an RFC
// 9110 token).
func validHeaderName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return s != ""
}
