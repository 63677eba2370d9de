package httprpc

import (
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bourse-exchange/bourse/actors"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/netguard"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults for the Server fields that configuration does not provide.
const (
	// DefaultAddr binds to loopback only: this is the internal API
	// (docs/protocol.md D14).
	DefaultAddr = "127.0.0.1:8080"
	// DefaultReadTimeout bounds reading one request, headers and body.
	DefaultReadTimeout = 30 * time.Second
	// DefaultIdleTimeout is how long an idle keep-alive connection is kept
	// (viabtc's keep_alive).
	DefaultIdleTimeout = time.Hour
)

// Server is the HTTP JSON-RPC edge. Build it with New, adjust the exported
// fields, then call ListenAndServe or Serve (or mount Handler in a server of
// your own). Fields must not change once serving started.
type Server struct {
	// Addr is the TCP address ListenAndServe listens on. New sets
	// DefaultAddr.
	Addr string

	// MaxBodyBytes is the largest request body accepted; longer bodies get
	// HTTP 413. New sets the configuration's http.max_body_bytes; zero or
	// negative means that value too.
	MaxBodyBytes int64

	// Timeout is how long one request may wait for the exchange in total
	// (market.summary's several commands share it); then the request is
	// answered 504 with code 5. New sets the configuration's http.timeout;
	// zero or negative means that value too.
	Timeout time.Duration

	// BearerToken, when non-empty, is required on every request except
	// /healthz and /readyz as the header "Authorization: Bearer <token>"; requests
	// without it get HTTP 401 (docs/protocol.md D14). Empty (the default): no
	// authentication, unless SetTokens was called.
	BearerToken string

	// Ready, when non-nil, reports whether the node takes writes: GET
	// /readyz answers 200 {"ready":true} when it returns nil, else 503
	// {"ready":false,"reason":<its error>}. Nil: always ready. /readyz,
	// like /healthz, needs no bearer token.
	Ready func() error

	// Metrics, when non-nil, serves GET /metrics (Prometheus text format).
	// Nil (the default): /metrics is an ordinary path.
	Metrics http.Handler

	// Debug, when non-nil, serves the paths under /debug/pprof/ (Pprof:
	// the Go profiler), behind the bearer token like /metrics. Nil (the
	// default): they are ordinary paths.
	Debug http.Handler

	// MaxConns is how many connections Serve and ListenAndServe keep open
	// at once, idle keep-alive ones included; a connection over it is
	// answered HTTP 503 (code 8, "too many connections") and closed at
	// once, without waiting in the listen backlog. New sets the
	// configuration's http.max_conns; 0: no limit. Whatever the limit, an
	// accept error (EMFILE: out of file descriptors, …) never ends Serve:
	// it is retried after a pause of 5 ms doubling to 1 s (internal/netguard).
	MaxConns int

	// ReadTimeout and IdleTimeout configure the underlying http.Server used
	// by Serve and ListenAndServe. New sets DefaultReadTimeout and
	// DefaultIdleTimeout.
	ReadTimeout time.Duration
	IdleTimeout time.Duration

	ex  actors.Exchange
	cfg *config.Config // at New: the HTTP settings' defaults

	// The asset.list result of the configuration in force, computed once
	// per configuration (the operator may list assets at run time).
	assetList atomic.Pointer[assetListCache]

	mu  sync.Mutex
	srv *http.Server // guarded by mu; created on first Serve or Shutdown

	conns netguard.Counters // of the listeners Serve guards

	tokens atomic.Pointer[[][]byte] // set by SetTokens; replaces BearerToken
}

// SetTokens makes tokens the bearer tokens accepted from now on, by every
// handler of s, including those already serving; any one of them is
// enough. It may be called at any time, which is how a token is rotated
// without a restart: accept the old and the new, move the clients, then
// accept the new one only (SECURITY.md). An empty list turns
// authentication off; empty tokens are ignored.
func (s *Server) SetTokens(tokens []string) {
	list := make([][]byte, 0, len(tokens))
	for _, t := range tokens {
		if t != "" {
			list = append(list, []byte(t))
		}
	}
	s.tokens.Store(&list)
}

// New returns a Server for ex with the defaults documented on each field,
// read from ex.Config().
func New(ex actors.Exchange) *Server {
	cfg := ex.Config()
	s := &Server{
		Addr:         DefaultAddr,
		MaxBodyBytes: cfg.HTTP.MaxBodyBytes,
		Timeout:      cfg.HTTP.Timeout,
		MaxConns:     cfg.HTTP.MaxConns,
		ReadTimeout:  DefaultReadTimeout,
		IdleTimeout:  DefaultIdleTimeout,
		ex:           ex,
		cfg:          cfg,
	}
	return s
}

// assetListCache is the asset.list result of one configuration.
type assetListCache struct {
	cfg    *config.Config
	result []byte
}

// assetListOf returns the asset.list result of cfg.
func (s *Server) assetListOf(cfg *config.Config) []byte {
	if c := s.assetList.Load(); c != nil && c.cfg == cfg {
		return c.result
	}
	c := &assetListCache{cfg: cfg, result: appendAssetList(nil, cfg)}
	s.assetList.Store(c)
	return c.result
}

// Handler returns the HTTP handler serving the JSON-RPC API, /healthz,
// /readyz and (when Metrics and Debug are set) /metrics and /debug/pprof/, configured by the exported fields as they
// are now. It is safe for concurrent use.
func (s *Server) Handler() http.Handler {
	h := &handler{s: s, maxBody: s.MaxBodyBytes, timeout: s.Timeout, metrics: s.Metrics, debug: s.Debug, ready: s.Ready}
	if h.maxBody <= 0 {
		h.maxBody = s.cfg.HTTP.MaxBodyBytes
	}
	if h.timeout <= 0 {
		h.timeout = s.cfg.HTTP.Timeout
	}
	if s.BearerToken != "" {
		h.token = [][]byte{[]byte(s.BearerToken)}
	}
	return h
}

func (s *Server) server() *http.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		s.srv = &http.Server{
			Addr:              s.Addr,
			Handler:           s.Handler(),
			ReadHeaderTimeout: s.ReadTimeout,
			ReadTimeout:       s.ReadTimeout,
			IdleTimeout:       s.IdleTimeout,
		}
		if s.srv.Addr == "" {
			s.srv.Addr = DefaultAddr
		}
	}
	return s.srv
}

// ListenAndServe listens on Addr and serves until Shutdown; it then returns
// http.ErrServerClosed. It may be called once per Server.
func (s *Server) ListenAndServe() error {
	srv := s.server()
	l, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		return err
	}
	return s.Serve(l)
}

// Serve serves on l until Shutdown; it then returns http.ErrServerClosed.
// It takes ownership of l, guarded by MaxConns: no client can end it.
func (s *Server) Serve(l net.Listener) error {
	return s.server().Serve(netguard.Wrap(l, netguard.Options{
		Name: "http", MaxConns: s.MaxConns, Refuse: tooManyConns, Counters: &s.conns}))
}

// tooManyConns answers a connection over MaxConns.
var tooManyConns = netguard.HTTP503(`{"error":{"code":8,"message":"limit exceeded: too many connections"},"result":null,"id":null}`)

// Collector returns the connection counters of the listeners Serve guards
// as Prometheus metrics labelled listener="http" (internal/netguard).
func (s *Server) Collector() prometheus.Collector { return s.conns.Collector("http") }

// Shutdown stops accepting connections, waits for requests in flight (each
// is bounded by Timeout) and closes idle connections, or returns ctx's error
// when ctx ends first. After Shutdown, Serve and ListenAndServe return
// http.ErrServerClosed at once.
func (s *Server) Shutdown(ctx context.Context) error { return s.server().Shutdown(ctx) }

// handler is the http.Handler; its fields are fixed when Handler is called.
type handler struct {
	s       *Server
	maxBody int64
	timeout time.Duration
	token   [][]byte     // BearerToken when Handler was called; Server.tokens, once set, wins
	metrics http.Handler // nil: /metrics is an ordinary path
	debug   http.Handler // nil: /debug/pprof/ paths are ordinary
	ready   func() error // nil: always ready
}

var (
	contentTypeJSON = []string{"application/json"}
	contentTypeText = []string{"text/plain; charset=utf-8"}
	bearerChallenge = []string{"Bearer"}
)

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/healthz":
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			healthy(w, r)
			return
		}
	case "/readyz":
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			serveReady(w, r, h.ready)
			return
		}
	case "/metrics":
		// Prometheus metrics (docs/design.md "Edges") are served by Server.Metrics when
		// the runtime provides one; behind the bearer token like the API.
		if h.metrics != nil && r.Method == http.MethodGet {
			if !h.authorized(r) {
				unauthorized(w)
				return
			}
			h.metrics.ServeHTTP(w, r)
			return
		}
	}
	if h.debug != nil && strings.HasPrefix(r.URL.Path, "/debug/pprof/") {
		if !h.authorized(r) {
			unauthorized(w)
			return
		}
		h.debug.ServeHTTP(w, r)
		return
	}
	if !h.authorized(r) {
		unauthorized(w)
		return
	}
	if r.Method != http.MethodPost {
		writeBadRequest(w, http.StatusBadRequest, "the HTTP method is "+r.Method+", JSON-RPC requests are POST")
		return
	}
	h.serveRPC(w, r)
}

// authorized reports whether r carries the bearer token (always true when
// none is configured). The scheme is case-insensitive; the token is compared
// in constant time.
func (h *handler) authorized(r *http.Request) bool {
	tokens := h.token
	if p := h.s.tokens.Load(); p != nil {
		tokens = *p
	}
	if len(tokens) == 0 {
		return true
	}
	v := r.Header.Get("Authorization")
	const scheme = "bearer "
	if len(v) < len(scheme) || !asciiEqualFold(v[:len(scheme)], scheme) {
		return false
	}
	got := []byte(v[len(scheme):])
	ok := 0
	for _, t := range tokens { // every token is compared: the time does not say which matched
		ok |= subtle.ConstantTimeCompare(got, t)
	}
	return ok == 1
}

// Operator reports whether r carries one of the bearer tokens in force
// now (BearerToken, or those of SetTokens once called). Unlike the API,
// which is open when no token is configured, configured is then false and
// so is ok: the operator page of edges/web, which may face a wider network
// than the internal API, needs a token.
func (s *Server) Operator(r *http.Request) (configured, ok bool) {
	h := handler{s: s}
	if s.BearerToken != "" {
		h.token = [][]byte{[]byte(s.BearerToken)}
	}
	if p := s.tokens.Load(); p != nil {
		configured = len(*p) > 0
	} else {
		configured = len(h.token) > 0
	}
	return configured, configured && h.authorized(r)
}

func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
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

func unauthorized(w http.ResponseWriter) {
	w.Header()["Www-Authenticate"] = bearerChallenge
	emptyStatus(w, http.StatusUnauthorized)
}

func emptyStatus(w http.ResponseWriter, code int) {
	w.Header()["Content-Length"] = []string{"0"}
	w.WriteHeader(code)
}

// Buffers reused across requests. Nothing that outlives a request may alias
// them: commands copy what they keep (strings by conversion, Detail with
// bytes.Clone).
var (
	bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}
	outPool  = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}
)

// maxPooled is the largest buffer returned to a pool, so one huge request
// does not pin its memory.
const maxPooled = 256 << 10

func putBuf(p *sync.Pool, b *[]byte) {
	if cap(*b) <= maxPooled {
		*b = (*b)[:0]
		p.Put(b)
	}
}

// errTooLarge reports a body over the limit.
var errTooLarge = errors.New("httprpc: request body too large")

// readBody appends r's body to buf, refusing more than max bytes.
func readBody(r *http.Request, buf []byte, max int64) ([]byte, error) {
	if r.ContentLength > max {
		return buf, errTooLarge
	}
	if r.ContentLength > 0 && int64(cap(buf)) <= r.ContentLength {
		buf = make([]byte, 0, r.ContentLength+1) // +1: room to read EOF
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > max {
			return buf, errTooLarge
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

func (h *handler) serveRPC(w http.ResponseWriter, r *http.Request) {
	bp := bodyPool.Get().(*[]byte)
	defer putBuf(&bodyPool, bp)
	body, err := readBody(r, (*bp)[:0], h.maxBody)
	*bp = body[:0]
	if err != nil {
		if err == errTooLarge {
			writeBadRequest(w, http.StatusRequestEntityTooLarge, "the body is over "+strconv.FormatInt(h.maxBody, 10)+" bytes")
		} else {
			writeBadRequest(w, http.StatusBadRequest, "the body could not be read")
		}
		return
	}

	ob := outPool.Get().(*[]byte)
	defer putBuf(&outPool, ob)

	req, why := parseRequest(body)
	if why != "" {
		e, id, hasID := badRequest(body, why)
		out := appendBadRequest((*ob)[:0], e, id, hasID)
		*ob = out[:0]
		writeJSON(w, http.StatusBadRequest, out)
		return
	}

	m := methods[string(req.method)].run
	if m == nil {
		out := appendError((*ob)[:0], messages.ErrMethodNotFound, req.id)
		*ob = out[:0]
		writeJSON(w, http.StatusNotFound, out)
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	c := call{
		s:      h.s,
		cfg:    h.s.ex.Config(),
		ctx:    ctx,
		params: req.params,
		out:    append((*ob)[:0], resultPrefix...),
	}
	err = m(&c)
	out := c.out
	status := http.StatusOK
	switch e := err.(type) {
	case nil:
		out = appendSuffix(out, req.id)
	case *messages.Error:
		out = appendError(out[:0], e, req.id)
	default: // the exchange did not answer in time
		status = http.StatusGatewayTimeout
		out = appendError(out[:0], messages.ErrServiceTimeout, req.id)
	}
	*ob = out[:0]
	writeJSON(w, status, out)
}

// writeBadRequest answers a request refused before it could be read with
// an error envelope: code 1, "invalid request: " and why, "id" null.
func writeBadRequest(w http.ResponseWriter, status int, why string) {
	e := &messages.Error{Code: messages.ErrInvalidArgument.Code, Message: "invalid request: " + why}
	writeJSON(w, status, appendBadRequest(nil, e, 0, false))
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	hdr := w.Header()
	hdr["Content-Type"] = contentTypeJSON
	hdr["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	w.Write(body)
}
