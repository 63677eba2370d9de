package ws

import (
	"context"
	"errors"
	"fmt"
	"github.com/prometheus/client_golang/prometheus"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bourse-exchange/bourse/actors"
	"github.com/bourse-exchange/bourse/edges/httprpc"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/netguard"
	"github.com/bourse-exchange/bourse/persistence/events"
	"github.com/gobwas/ws"
)

// Defaults of the Options that configuration does not provide.
const (
	// DefaultAddr is the websocket listener's default address.
	DefaultAddr = "127.0.0.1:8090"
	// DefaultWriteTimeout bounds one write to a client; a client that
	// does not take its data for that long is dropped as slow.
	DefaultWriteTimeout = 10 * time.Second
	// DefaultHandshakeTimeout bounds reading the upgrade request.
	DefaultHandshakeTimeout = 10 * time.Second
	// DefaultBusBuffer is how many journal records may wait for the
	// push loop before the bus drops it (then it resubscribes and
	// refreshes every channel).
	DefaultBusBuffer = 4096
	// cleanEvery: a depth channel sends a clean snapshot at least this
	// often (docs/protocol.md "WebSocket pushes").
	cleanEvery = 60 * time.Second
	// maxRecentDeals is how many deals a deals channel keeps for new
	// subscribers.
	maxRecentDeals = 100
)

// Options configure a Server. The zero value of each field means its
// documented default.
type Options struct {
	// Settings are the websocket configuration (auth_url, push_interval,
	// …); nil: the exchange configuration's websocket section.
	Settings *config.WebSocket
	// DevAuth accepts tokens "dev:<user_id>" in server.auth without
	// asking auth_url. Serve refuses a non-loopback listener with it.
	DevAuth bool
	// MarketDataCursor, when set, reports the last journal LSN the market
	// data follower applied; market data pushes after a deal wait until
	// it reached the deal. Nil: they are computed at the next tick.
	MarketDataCursor func(context.Context) (uint64, error)
	// WriteTimeout: DefaultWriteTimeout.
	WriteTimeout time.Duration
	// HandshakeTimeout: DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// BusBuffer: DefaultBusBuffer.
	BusBuffer int
	// HTTPClient calls auth_url and sign_url; nil: a client of its own.
	HTTPClient *http.Client
	// Logger: slog.Default().
	Logger *slog.Logger
}

// CloseReason says why the server closed a connection.
type CloseReason uint8

// Reasons a connection was closed (see the package documentation).
const (
	ReasonClient CloseReason = iota
	ReasonIdle
	ReasonTooLarge
	ReasonProtocol
	ReasonSlow
	ReasonShutdown
	numReasons
)

var reasonNames = [numReasons]string{"client", "idle", "too_large", "protocol", "slow", "shutdown"}

func (r CloseReason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return fmt.Sprintf("CloseReason(%d)", uint8(r))
}

// Stats are a Server's counters since New.
type Stats struct {
	Open     int64              // connections open now
	Accepted uint64             // upgrades that succeeded
	Rejected uint64             // upgrade requests refused
	Closed   [numReasons]uint64 // closed connections by CloseReason
	Pushed   uint64             // notifications queued to connections
	Slow     uint64             // = Closed[ReasonSlow]
	Channels int                // push channels with subscribers
	BusDrops uint64             // times the event bus dropped the push loop
	Limited  uint64             // requests refused by the rate limit (code 7)
}

// Server is the websocket edge. Build it with New, serve with Serve or
// ListenAndServe, stop with Shutdown.
type Server struct {
	ex   actors.Exchange
	set  config.WebSocket
	opts Options
	inv  *httprpc.Invoker
	log  *slog.Logger
	hub  *hub
	http *http.Client

	mu     sync.Mutex
	lns    map[net.Listener]struct{} // guarded by mu
	conns  map[*conn]struct{}        // guarded by mu
	perIP  map[string]int            // open connections by client address; guarded by mu
	closed bool                      // guarded by mu
	wg     sync.WaitGroup            // connection goroutines

	open     atomic.Int64
	accepted atomic.Uint64
	rejected atomic.Uint64
	closedBy [numReasons]atomic.Uint64
	pushed   atomic.Uint64
	busDrops atomic.Uint64
	limited  atomic.Uint64        // requests refused by the rate limit
	lnStats  netguard.Counters    // of the listeners Serve guards
	fanout   prometheus.Histogram // time to hand one push to all its subscribers
}

// config is the configuration in force (the operator may list assets and
// markets at run time): read it once per request or push.
func (s *Server) config() *config.Config { return s.ex.Config() }

// New returns a Server answering from ex and pushing what bus delivers
// (pass the node's Services.Bus). It starts the push loop; Shutdown stops
// it.
func New(ex actors.Exchange, bus *events.Bus, opts Options) (*Server, error) {
	if bus == nil {
		return nil, errors.New("ws: an event bus is required")
	}
	cfg := ex.Config()
	s := &Server{ex: ex, opts: opts, inv: httprpc.NewInvoker(ex),
		lns: make(map[net.Listener]struct{}), conns: make(map[*conn]struct{}), perIP: make(map[string]int),
		fanout: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "bourse_ws_fanout_seconds",
			Help:    "Time to write (or queue) one push to every subscriber of its channel, for pushes to more than one connection.",
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 16), // 50 µs .. 1.6 s
		})}
	if opts.Settings != nil {
		s.set = *opts.Settings
	} else {
		s.set = cfg.WebSocket
	}
	if s.opts.WriteTimeout <= 0 {
		s.opts.WriteTimeout = DefaultWriteTimeout
	}
	if s.opts.HandshakeTimeout <= 0 {
		s.opts.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if s.opts.BusBuffer <= 0 {
		s.opts.BusBuffer = DefaultBusBuffer
	}
	s.log = opts.Logger
	if s.log == nil {
		s.log = slog.Default()
	}
	s.http = opts.HTTPClient
	if s.http == nil {
		s.http = &http.Client{}
	}
	if s.set.PushInterval <= 0 || s.set.OutboundQueue < 1 || s.set.KeepAlive <= 0 || s.set.MaxMessageBytes <= 0 || s.set.BackendTimeout <= 0 || s.set.Protocol == "" {
		return nil, errors.New("ws: settings incomplete (load them with internal/config)")
	}
	s.hub = newHub(s, bus)
	return s, nil
}

// IsLoopback reports whether addr (host:port) is a loopback address.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ListenAndServe listens on addr (DefaultAddr when empty) and serves until
// Shutdown.
func (s *Server) ListenAndServe(addr string) error {
	if addr == "" {
		addr = DefaultAddr
	}
	if s.opts.DevAuth && !IsLoopback(addr) {
		return fmt.Errorf("ws: development authentication needs a loopback listener, not %s", addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(l)
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("ws: server closed")

// Serve accepts connections on l until Shutdown (then it returns
// ErrServerClosed) or until l is closed. It takes ownership of l. At most
// websocket.max_conns connections are open at once: one more is answered
// HTTP 503 and closed at once; an accept error (EMFILE: out of file
// descriptors, …) is retried after a pause of 5 ms doubling to 1 s, so no
// client can end Serve (internal/netguard).
func (s *Server) Serve(l net.Listener) error {
	if s.opts.DevAuth && !IsLoopback(l.Addr().String()) {
		l.Close()
		return fmt.Errorf("ws: development authentication needs a loopback listener, not %s", l.Addr())
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		l.Close()
		return ErrServerClosed
	}
	g := netguard.Wrap(l, netguard.Options{Name: "websocket", MaxConns: s.set.MaxConns, Refuse: tooManyConns,
		Counters: &s.lnStats, Logger: s.log})
	s.lns[g] = struct{}{}
	s.mu.Unlock()
	for {
		nc, err := g.Accept()
		if err != nil { // only once g is closed
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return ErrServerClosed
			}
			return err
		}
		s.wg.Add(1)
		go s.serveConn(nc)
	}
}

// tooManyConns answers a connection over websocket.max_conns.
var tooManyConns = netguard.HTTP503(`{"error":{"code":8,"message":"limit exceeded: too many connections"}}`)

// Shutdown stops accepting, closes every connection (ReasonShutdown) and
// stops the push loop; it waits for the connections' goroutines or until
// ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	for l := range s.lns {
		l.Close()
	}
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.close(ReasonShutdown)
	}
	s.hub.stop()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	st := Stats{
		Open:     s.open.Load(),
		Accepted: s.accepted.Load(),
		Rejected: s.rejected.Load(),
		Pushed:   s.pushed.Load(),
		BusDrops: s.busDrops.Load(),
		Limited:  s.limited.Load(),
		Channels: s.hub.channels(),
	}
	for i := range st.Closed {
		st.Closed[i] = s.closedBy[i].Load()
	}
	st.Slow = st.Closed[ReasonSlow]
	return st
}

func (s *Server) serveConn(nc net.Conn) {
	defer s.wg.Done()
	nc.SetDeadline(time.Now().Add(s.opts.HandshakeTimeout))
	var (
		offered, matched bool
		forwarded        string // the ClientIPHeader's value
		ip               string // the client's address
		admitted         bool   // counted for ip
	)
	u := ws.Upgrader{
		Protocol: func(p []byte) bool {
			offered = true
			if string(p) == s.set.Protocol {
				matched = true
				return true
			}
			return false
		},
		OnHeader: func(key, value []byte) error {
			if len(s.set.Origins) > 0 && asciiEqualFold(key, "Origin") && !s.originAllowed(value) {
				return ws.RejectConnectionError(ws.RejectionStatus(http.StatusForbidden), ws.RejectionReason("origin not allowed"))
			}
			if s.set.ClientIPHeader != "" && asciiEqualFold(key, s.set.ClientIPHeader) {
				forwarded = string(value) // the last one, if repeated
			}
			return nil
		},
		OnBeforeUpgrade: func() (ws.HandshakeHeader, error) {
			if offered && !matched {
				return nil, ws.RejectConnectionError(ws.RejectionStatus(http.StatusBadRequest), ws.RejectionReason("unsupported subprotocol"))
			}
			ip = clientIP(nc.RemoteAddr(), forwarded)
			if !s.admit(ip) {
				return nil, ws.RejectConnectionError(ws.RejectionStatus(http.StatusTooManyRequests), ws.RejectionReason("too many connections from this address"))
			}
			admitted = true
			return ws.HandshakeHeaderString(""), nil
		},
	}
	if _, err := u.Upgrade(nc); err != nil {
		if admitted { // then the reply could not be written
			s.release(ip)
		}
		s.rejected.Add(1)
		nc.Close()
		return
	}
	nc.SetDeadline(time.Time{})
	c := newConn(s, nc)
	c.ip = ip
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.release(ip)
		nc.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	s.accepted.Add(1)
	s.open.Add(1)
	c.readLoop()
}

func (s *Server) originAllowed(origin []byte) bool {
	for _, o := range s.set.Origins {
		if string(origin) == o {
			return true
		}
	}
	return false
}

// clientIP is the client's address: the last element of the configured
// header's value when there is one, else the TCP peer's host.
func clientIP(peer net.Addr, forwarded string) string {
	if forwarded != "" {
		if i := strings.LastIndexByte(forwarded, ','); i >= 0 {
			forwarded = forwarded[i+1:]
		}
		if f := strings.TrimSpace(forwarded); f != "" {
			return f
		}
	}
	if peer == nil {
		return "unknown"
	}
	host, _, err := net.SplitHostPort(peer.String())
	if err != nil {
		return peer.String()
	}
	return host
}

// admit counts a new connection from ip; it reports false, counting
// nothing, when ip is at websocket.max_conns_per_ip.
func (s *Server) admit(ip string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.set.MaxConnsPerIP; n > 0 && s.perIP[ip] >= n {
		return false
	}
	s.perIP[ip]++
	return true
}

// release uncounts a connection admitted from ip.
func (s *Server) release(ip string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perIP[ip] <= 1 {
		delete(s.perIP, ip)
	} else {
		s.perIP[ip]--
	}
}

// forget is called once per connection when it closes.
func (s *Server) forget(c *conn, r CloseReason) {
	s.release(c.ip)
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.open.Add(-1)
	s.closedBy[r].Add(1)
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
