package web

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/bourse-exchange/bourse/internal/netguard"
)

//go:embed static
var static embed.FS

// MaxConns bounds the web listener's open connections (then HTTP 503).
const MaxConns = 256

// Options are what the pages need from the node.
type Options struct {
	// WSAddr is the websocket listener's address; the trader page connects
	// to its port on the host it was loaded from. Empty: the page says the
	// websocket API is off.
	WSAddr string
	// DevAuth tells the page that server.auth accepts "dev:<user_id>".
	DevAuth bool
	// Metrics serves the node's Prometheus registry (as /metrics).
	Metrics http.Handler
	// State answers server.state: the JSON result.
	State func(ctx context.Context) ([]byte, error)
	// Operator reports whether the request carries an operator token
	// (httprpc.Server.Operator); configured false: no token is set.
	Operator func(r *http.Request) (configured, ok bool)
	// Logger: slog.Default().
	Logger *slog.Logger
}

// Handler serves the pages, /config.json and the operator's /ops/metrics
// and /ops/state.
func Handler(o Options) http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree always has static/
	}
	files := http.FileServerFS(sub)
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static/", files))
	mux.HandleFunc("GET /{$}", page(sub, "index.html"))
	mux.HandleFunc("GET /ops", page(sub, "ops.html"))
	mux.HandleFunc("GET /config.json", o.config)
	mux.Handle("GET /ops/metrics", o.operator(o.metrics))
	mux.Handle("GET /ops/state", o.operator(o.state))
	return secure(mux)
}

// page serves one HTML file of the embedded tree.
func page(sub fs.FS, name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := fs.ReadFile(sub, name)
		if err != nil {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(b)
	}
}

// secure adds the headers every answer carries: no framing, no sniffing,
// and a content policy allowing only this origin's scripts and styles and
// websocket connections.
func secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; frame-ancestors 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

// pageConfig is /config.json: where the websocket API listens.
type pageConfig struct {
	WSPort  int  `json:"ws_port"` // 0: no websocket API
	DevAuth bool `json:"dev_auth"`
}

func (o Options) config(w http.ResponseWriter, _ *http.Request) {
	var c pageConfig
	if _, port, err := net.SplitHostPort(o.WSAddr); err == nil {
		c.WSPort, _ = strconv.Atoi(port)
	}
	c.DevAuth = o.DevAuth
	b, _ := json.Marshal(c)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b)
}

// operator lets through requests with an operator token: 403 when none is
// configured, 401 without the right one.
func (o Options) operator(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		configured, ok := false, false
		if o.Operator != nil {
			configured, ok = o.Operator(r)
		}
		switch {
		case !configured:
			http.Error(w, "no operator token is configured: start the node with -http-token or -http-token-file", http.StatusForbidden)
		case !ok:
			w.Header().Set("WWW-Authenticate", "Bearer")
			http.Error(w, "operator token required (Authorization: Bearer TOKEN)", http.StatusUnauthorized)
		default:
			h(w, r)
		}
	})
}

func (o Options) metrics(w http.ResponseWriter, r *http.Request) {
	if o.Metrics == nil {
		http.Error(w, "no metrics", http.StatusNotFound)
		return
	}
	r.Header.Del("Accept") // the text format, which the page parses
	r.Header.Del("Accept-Encoding")
	o.Metrics.ServeHTTP(w, r)
}

func (o Options) state(w http.ResponseWriter, r *http.Request) {
	if o.State == nil {
		http.Error(w, "no state", http.StatusNotFound)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	b, err := o.State(ctx)
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// Server is the web console's HTTP server.
type Server struct {
	srv *http.Server
	log *slog.Logger
}

// New returns a Server for o.
func New(o Options) *Server {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Server{log: log, srv: &http.Server{
		Handler:           Handler(o),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
	}}
}

// Serve serves on l, at most MaxConns connections at once, until Shutdown;
// it then returns http.ErrServerClosed.
func (s *Server) Serve(l net.Listener) error {
	return s.srv.Serve(netguard.Wrap(l, netguard.Options{Name: "web", MaxConns: MaxConns, Logger: s.log}))
}

// Shutdown stops the server, waiting for requests in flight until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
