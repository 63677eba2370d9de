package httprpc

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/bourse-exchange/bourse/internal/netguard"
)

// Health endpoints, answered without the bearer token:
//
//	GET /healthz  200 "ok" while the process serves HTTP (liveness)
//	GET /readyz   200 {"ready":true} when the node takes writes, else
//	              503 {"ready":false,"reason":"…"} (readiness): while it
//	              recovers its state at start, while its journal is failed
//	              (every write answered code 3), while it shuts down.

var (
	readyBody   = []byte(`{"ready":true}`)
	contentJSON = []string{"application/json"}
)

// serveReady answers GET or HEAD /readyz from ready (nil: always ready).
func serveReady(w http.ResponseWriter, r *http.Request, ready func() error) {
	var err error
	if ready != nil {
		err = ready()
	}
	body, status := readyBody, http.StatusOK
	if err != nil {
		body = append(append([]byte(`{"ready":false,"reason":`), strconv.Quote(err.Error())...), '}')
		status = http.StatusServiceUnavailable
	}
	h := w.Header()
	h["Content-Type"] = contentJSON
	h["Cache-Control"] = []string{"no-store"}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	if r.Method == http.MethodGet {
		w.Write(body)
	}
}

// errRecovering is why a node is not ready while it starts.
var errRecovering = errors.New("recovering: replaying the journal")

// startingBody answers a request to a node still recovering.
var startingBody = []byte(`{"error":{"code":3,"message":"service unavailable: recovering"},"result":null,"id":null}`)

// startingHandler serves a listener before the node exists: /healthz
// answers ok, /readyz and everything else 503.
type startingHandler struct{}

func (startingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// No keep-alive: a client's next request, after the node is up, must
	// open a connection to the API server, not find this one closed.
	w.Header()["Connection"] = []string{"close"}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		switch r.URL.Path {
		case "/healthz":
			healthy(w, r)
			return
		case "/readyz":
			serveReady(w, r, func() error { return errRecovering })
			return
		}
	}
	h := w.Header()
	h["Content-Type"] = contentJSON
	h["Retry-After"] = []string{"1"}
	h["Content-Length"] = []string{strconv.Itoa(len(startingBody))}
	w.WriteHeader(http.StatusServiceUnavailable)
	w.Write(startingBody)
}

func healthy(w http.ResponseWriter, r *http.Request) {
	w.Header()["Content-Type"] = contentTypeText
	w.Header()["Content-Length"] = []string{"2"}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		io.WriteString(w, "ok")
	}
}

// Starting serves a listener while the node recovers its state, before a
// Server exists: GET /healthz answers ok (the process lives: a liveness
// probe does not kill a long recovery), GET /readyz 503 "recovering", any
// other request 503 with code 3. Stop hands the listener back, open, for
// Server.Serve.
type Starting struct {
	l       net.Listener
	srv     *http.Server
	stopped atomic.Bool
	done    chan error
}

// deadliner is a listener whose Accept can be interrupted without closing
// it (*net.TCPListener, *net.UnixListener).
type deadliner interface{ SetDeadline(time.Time) error }

// ServeStarting starts serving l with the starting answers, keeping at most
// maxConns connections open (0: no limit; see Server.MaxConns). l must be a
// *net.TCPListener or another listener with SetDeadline.
func ServeStarting(l net.Listener, maxConns int) (*Starting, error) {
	if _, ok := l.(deadliner); !ok {
		return nil, errors.New("httprpc: ServeStarting needs a listener with SetDeadline")
	}
	s := &Starting{l: l, done: make(chan error, 1), srv: &http.Server{
		Handler: startingHandler{}, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second, IdleTimeout: time.Second}}
	g := netguard.Wrap(keepOpen{s}, netguard.Options{Name: "http", MaxConns: maxConns, Refuse: tooManyConns})
	go func() { s.done <- s.srv.Serve(g) }()
	return s, nil
}

// Stop stops serving, waits for the requests in flight (or ctx) and returns
// the listener, open and without a deadline.
func (s *Starting) Stop(ctx context.Context) (net.Listener, error) {
	s.stopped.Store(true)
	d := s.l.(deadliner)
	d.SetDeadline(time.Now()) // ends a pending Accept
	<-s.done
	err := s.srv.Shutdown(ctx)
	d.SetDeadline(time.Time{})
	return s.l, err
}

// keepOpen is the listener as the starting server sees it: Accept ends
// once Stop is called, Close does not close it.
type keepOpen struct{ s *Starting }

func (k keepOpen) Accept() (net.Conn, error) {
	for {
		c, err := k.s.l.Accept()
		if c == nil && k.s.stopped.Load() {
			return nil, net.ErrClosed
		}
		return c, err // a connection accepted as Stop began is served, then closed by Shutdown
	}
}

func (k keepOpen) Close() error   { return nil }
func (k keepOpen) Addr() net.Addr { return k.s.l.Addr() }
