// Package netguard wraps a server's net.Listener so that no client can end
// its accept loop or take the process's last file descriptors:
//
//   - Accept returns an error only once the listener is closed. Any other
//     accept error (EMFILE, ENFILE, ECONNABORTED, ENOBUFS, …: a flood of
//     clients, a peer that gave up) is logged and retried after a pause
//     that doubles from 5 ms to 1 s while the errors last, as net/http
//     does for temporary errors. A server loop over Accept therefore
//     stops only when it is shut down.
//   - With a connection limit, at most that many accepted connections are
//     open at once. A connection accepted over the limit is not handed to
//     the server: it gets the Options.Refuse bytes (an HTTP 503) and is
//     closed at once, so it neither waits in the kernel's backlog nor
//     holds a descriptor for long.
//
// FitLimits lowers connection limits to what RLIMIT_NOFILE leaves after a
// reserve for the process's own files (journal, snapshots, stores).
package netguard

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Backoff bounds: the first pause after an accept error and the longest.
const (
	MinBackoff = 5 * time.Millisecond
	MaxBackoff = time.Second
)

// Refusal tuning: how many refused connections may be answered at once
// (more are closed without an answer), how long a refusal waits for the
// request the client sent, and how long it may take in all.
const (
	maxRefusing   = 32
	requestWithin = 10 * time.Millisecond
	refuseWithin  = 100 * time.Millisecond
	// logEvery bounds how often a streak of accept errors or refusals is
	// logged.
	logEvery = 10 * time.Second
)

// Options configure a Listener.
type Options struct {
	// Name is the listener's name in logs and metrics ("http", "websocket").
	Name string
	// MaxConns is how many accepted connections may be open at once;
	// 0: no limit.
	MaxConns int
	// Refuse is written to a connection accepted over MaxConns before it
	// is closed (HTTP503 builds one); nil: it is closed without a word.
	Refuse []byte
	// Counters, when set, count this listener's connections (shared by
	// every listener of one server); nil: counters of its own.
	Counters *Counters
	// Logger: slog.Default().
	Logger *slog.Logger
}

// Counters are a server's connection counters, over all its listeners.
type Counters struct {
	open     atomic.Int64
	max      atomic.Int64
	accepted atomic.Uint64
	refused  atomic.Uint64
	errors   atomic.Uint64
}

// Stats are the values of Counters.
type Stats struct {
	Open         int64  // connections open now
	MaxConns     int64  // the limit of the last listener wrapped (0: none)
	Accepted     uint64 // connections handed to the server
	Refused      uint64 // connections closed at the limit
	AcceptErrors uint64 // accept errors retried after a pause
}

// Stats returns the counters' values.
func (c *Counters) Stats() Stats {
	return Stats{Open: c.open.Load(), MaxConns: c.max.Load(), Accepted: c.accepted.Load(),
		Refused: c.refused.Load(), AcceptErrors: c.errors.Load()}
}

// Collector returns the counters as Prometheus metrics labelled
// listener=name: bourse_listener_open_connections,
// bourse_listener_max_connections, bourse_listener_accepted_total,
// bourse_listener_refused_total, bourse_listener_accept_errors_total.
func (c *Counters) Collector(name string) prometheus.Collector {
	l := prometheus.Labels{"listener": name}
	return &collector{c: c, descs: [...]*prometheus.Desc{
		prometheus.NewDesc("bourse_listener_open_connections", "Connections open now (accepted and not yet closed).", nil, l),
		prometheus.NewDesc("bourse_listener_max_connections", "The listener's connection limit (0: none); over it connections are refused at once.", nil, l),
		prometheus.NewDesc("bourse_listener_accepted_total", "Connections accepted and handed to the server.", nil, l),
		prometheus.NewDesc("bourse_listener_refused_total", "Connections accepted over the connection limit and closed at once (HTTP 503).", nil, l),
		prometheus.NewDesc("bourse_listener_accept_errors_total", "Accept errors (e.g. EMFILE: out of file descriptors) retried after a pause.", nil, l),
	}}
}

type collector struct {
	c     *Counters
	descs [5]*prometheus.Desc // open, max, accepted, refused, errors
}

func (k *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range k.descs {
		ch <- d
	}
}

func (k *collector) Collect(ch chan<- prometheus.Metric) {
	s := k.c.Stats()
	ch <- prometheus.MustNewConstMetric(k.descs[0], prometheus.GaugeValue, float64(s.Open))
	ch <- prometheus.MustNewConstMetric(k.descs[1], prometheus.GaugeValue, float64(s.MaxConns))
	ch <- prometheus.MustNewConstMetric(k.descs[2], prometheus.CounterValue, float64(s.Accepted))
	ch <- prometheus.MustNewConstMetric(k.descs[3], prometheus.CounterValue, float64(s.Refused))
	ch <- prometheus.MustNewConstMetric(k.descs[4], prometheus.CounterValue, float64(s.AcceptErrors))
}

// Listener is a guarded net.Listener; see the package documentation.
type Listener struct {
	net.Listener
	opts     Options
	c        *Counters
	log      *slog.Logger
	open     atomic.Int64 // this listener's open connections (MaxConns applies to them)
	done     chan struct{}
	once     sync.Once
	refusing chan struct{} // semaphore: refusals being answered

	mu         sync.Mutex // guards the fields below (logging only)
	errStreak  uint64     // accept errors since the last success
	lastErrLog time.Time
	refusedLog uint64 // refusals not logged yet
	lastRefLog time.Time
}

// Wrap returns l guarded by opts. Closing the result closes l.
func Wrap(l net.Listener, opts Options) *Listener {
	g := &Listener{Listener: l, opts: opts, c: opts.Counters, log: opts.Logger,
		done: make(chan struct{}), refusing: make(chan struct{}, maxRefusing)}
	if g.c == nil {
		g.c = new(Counters)
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	g.c.max.Store(int64(max(opts.MaxConns, 0)))
	return g
}

// Counters returns the listener's counters.
func (g *Listener) Counters() *Counters { return g.c }

// Close closes the listener; a pending Accept returns net.ErrClosed.
// Connections already accepted stay open.
func (g *Listener) Close() error {
	g.once.Do(func() { close(g.done) })
	return g.Listener.Close()
}

// Accept waits for the next connection under the limit. It returns an
// error only after Close (or when the wrapped listener reports
// net.ErrClosed); every other error is retried after a pause.
func (g *Listener) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		nc, err := g.Listener.Accept()
		if err != nil {
			if g.closed() || errors.Is(err, net.ErrClosed) {
				return nil, err
			}
			g.c.errors.Add(1)
			delay = min(max(2*delay, MinBackoff), MaxBackoff)
			g.acceptFailed(err, delay)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-g.done:
				t.Stop()
				return nil, fmt.Errorf("netguard: %w", net.ErrClosed)
			}
			continue
		}
		if delay > 0 {
			g.acceptRecovered()
			delay = 0
		}
		if m := int64(g.opts.MaxConns); m > 0 && g.open.Load() >= m {
			g.refuse(nc)
			continue
		}
		g.open.Add(1)
		g.c.open.Add(1)
		g.c.accepted.Add(1)
		return &conn{Conn: nc, g: g}, nil
	}
}

func (g *Listener) closed() bool {
	select {
	case <-g.done:
		return true
	default:
		return false
	}
}

func (g *Listener) acceptFailed(err error, delay time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.errStreak++
	if now := time.Now(); g.errStreak == 1 || now.Sub(g.lastErrLog) >= logEvery {
		g.lastErrLog = now
		g.log.Warn("accept failed; retrying", "listener", g.opts.Name, "err", err, "retry_in", delay,
			"errors_in_a_row", g.errStreak, "open", g.open.Load(), "fd_exhausted", errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE))
	}
}

func (g *Listener) acceptRecovered() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.log.Info("accepting again", "listener", g.opts.Name, "errors_in_a_row", g.errStreak)
	g.errStreak = 0
}

// refuse answers and closes a connection over the limit, in its own
// goroutine while fewer than maxRefusing are being answered (else it is
// closed at once), so Accept goes on at once.
func (g *Listener) refuse(nc net.Conn) {
	g.c.refused.Add(1)
	g.mu.Lock()
	g.refusedLog++
	if now := time.Now(); now.Sub(g.lastRefLog) >= logEvery {
		g.log.Warn("connection limit reached: connections refused", "listener", g.opts.Name,
			"max_conns", g.opts.MaxConns, "refused", g.refusedLog)
		g.lastRefLog, g.refusedLog = now, 0
	}
	g.mu.Unlock()
	if g.opts.Refuse == nil {
		nc.Close()
		return
	}
	select {
	case g.refusing <- struct{}{}:
	default:
		nc.Close()
		return
	}
	go func() {
		defer func() { <-g.refusing }()
		answer(nc, g.opts.Refuse)
	}()
}

// answer writes reply to nc and closes it gracefully within refuseWithin:
// it reads what the client already sent (a request), writes reply, shuts
// its side and waits briefly for the client to close, so the client reads
// the reply instead of a connection reset.
func answer(nc net.Conn, reply []byte) {
	defer nc.Close()
	deadline := time.Now().Add(refuseWithin)
	var buf [4096]byte
	nc.SetReadDeadline(time.Now().Add(requestWithin))
	nc.Read(buf[:])
	nc.SetDeadline(deadline)
	if _, err := nc.Write(reply); err != nil {
		return
	}
	if cw, ok := nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	for {
		if _, err := nc.Read(buf[:]); err != nil {
			return
		}
	}
}

// HTTP503 returns an HTTP/1.1 503 response closing the connection, whose
// body is the JSON body given, for Options.Refuse.
func HTTP503(jsonBody string) []byte {
	return fmt.Appendf(nil, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: %d\r\nRetry-After: 1\r\nConnection: close\r\n\r\n%s",
		len(jsonBody), jsonBody)
}

// conn is an accepted connection; closing it frees its place.
type conn struct {
	net.Conn
	g    *Listener
	once sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.g.open.Add(-1)
		c.g.c.open.Add(-1)
	})
	return err
}

// SyscallConn gives the wrapped connection's raw connection, so servers
// that write to the descriptor directly keep doing so.
func (c *conn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.New("netguard: connection has no raw descriptor")
}

// CloseWrite shuts the writing side of the wrapped connection, when it can.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.New("netguard: connection cannot close its writing side")
}
