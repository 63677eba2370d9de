package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/redis/go-redis/v9"
)

// MaxAlert is the longest alert text in bytes (viabtc's limit); longer
// ones are cut at a UTF-8 boundary.
const MaxAlert = 10240

// Options configure a Handler. Zero values take the defaults.
type Options struct {
	// Redis is the server's address: host:port or a redis:// URL.
	// Required.
	Redis string
	// Key is the Redis list; default "alert:message".
	Key string
	// Host prefixes every alert; default the machine's host name.
	Host string
	// Level is the lowest level alerted; default slog.LevelError.
	Level slog.Leveler
	// Queue is how many alerts may wait for Redis; default 1024.
	Queue int
	// Timeout bounds one RPUSH, and Close's final flush; default 2 s.
	Timeout time.Duration
	// RetryBackoff caps the backoff between attempts while Redis fails
	// (from 100 ms); default 5 s.
	RetryBackoff time.Duration
}

// FromConfig returns the options of the alert section of the
// configuration.
func FromConfig(a config.Alert) Options {
	return Options{Redis: a.Redis, Key: a.Key, Host: a.Host}
}

// Handler is an slog.Handler that passes every record to the handler it
// wraps and queues those at Options.Level or above for Redis. It is safe
// for concurrent use; the handlers WithAttrs and WithGroup derive from it
// share its queue. Close it to flush and stop.
type Handler struct {
	next   slog.Handler
	c      *core
	attrs  string // " k=v …" of WithAttrs, already formatted
	prefix string // group names of WithGroup, each followed by '.'
}

// core is what a Handler and its derivatives share.
type core struct {
	client  *redis.Client
	key     string
	host    string
	level   slog.Leveler
	timeout time.Duration
	backoff time.Duration

	queue   chan string
	closing chan struct{}
	done    chan struct{}
	once    sync.Once

	sent    atomic.Uint64
	dropped atomic.Uint64
	failed  atomic.Uint64
}

// New returns a Handler that wraps next and pushes alerts to the Redis at
// opts.Redis. It does not wait for Redis to answer; it fails only on
// invalid options.
func New(next slog.Handler, opts Options) (*Handler, error) {
	if opts.Redis == "" {
		return nil, errors.New("alert: no Redis address")
	}
	var ropts *redis.Options
	if strings.Contains(opts.Redis, "://") {
		var err error
		if ropts, err = redis.ParseURL(opts.Redis); err != nil {
			return nil, fmt.Errorf("alert: %w", err)
		}
	} else {
		ropts = &redis.Options{Addr: opts.Redis}
	}
	if opts.Key == "" {
		opts.Key = "alert:message"
	}
	if opts.Host == "" {
		opts.Host, _ = os.Hostname()
	}
	if opts.Level == nil {
		opts.Level = slog.LevelError
	}
	if opts.Queue <= 0 {
		opts.Queue = 1024
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	if opts.RetryBackoff <= 0 {
		opts.RetryBackoff = 5 * time.Second
	}
	// go-redis's own retries would hold the worker; it retries itself.
	ropts.MaxRetries = -1
	ropts.DialTimeout, ropts.ReadTimeout, ropts.WriteTimeout = opts.Timeout, opts.Timeout, opts.Timeout
	c := &core{
		client: redis.NewClient(ropts), key: opts.Key, host: opts.Host, level: opts.Level,
		timeout: opts.Timeout, backoff: opts.RetryBackoff,
		queue: make(chan string, opts.Queue), closing: make(chan struct{}), done: make(chan struct{}),
	}
	go c.run()
	return &Handler{next: next, c: c}, nil
}

// Enabled implements slog.Handler: the wrapped handler's choice, or an
// alert.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.c.level.Level() || h.next.Enabled(ctx, l)
}

// Handle implements slog.Handler: it passes r on to the wrapped handler (if
// that handler is enabled for r's level) and queues an alert for r if its
// level is high enough. It returns the wrapped handler's error.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if h.next.Enabled(ctx, r.Level) {
		err = h.next.Handle(ctx, r)
	}
	if r.Level >= h.c.level.Level() {
		h.c.enqueue(h.format(r))
	}
	return err
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	var b []byte
	for _, a := range attrs {
		b = appendAttr(b, h.prefix, a)
	}
	return &Handler{next: h.next.WithAttrs(attrs), c: h.c, attrs: h.attrs + string(b), prefix: h.prefix}
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &Handler{next: h.next.WithGroup(name), c: h.c, attrs: h.attrs, prefix: h.prefix + name + "."}
}

// format renders the alert: "<host>: <message> k=v …", cut to MaxAlert.
func (h *Handler) format(r slog.Record) string {
	b := make([]byte, 0, 128)
	b = append(b, h.c.host...)
	b = append(b, ": "...)
	b = append(b, r.Message...)
	b = append(b, h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		b = appendAttr(b, h.prefix, a)
		return len(b) <= MaxAlert
	})
	return string(truncate(b, MaxAlert))
}

// appendAttr appends " key=value", groups flattened to "group.key".
func appendAttr(b []byte, prefix string, a slog.Attr) []byte {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, ga := range v.Group() {
			b = appendAttr(b, p, ga)
		}
		return b
	}
	if a.Equal(slog.Attr{}) {
		return b
	}
	b = append(b, ' ')
	b = append(b, prefix...)
	b = append(b, a.Key...)
	b = append(b, '=')
	var s string
	if v.Kind() == slog.KindTime {
		s = v.Time().Format(time.RFC3339Nano)
	} else {
		s = v.String()
	}
	if needsQuote(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

func needsQuote(s string) bool {
	if s == "" {
		return true
	}
	for _, r := range s {
		if r <= ' ' || r == '=' || r == '"' || r == 0x7f || r == utf8.RuneError {
			return true
		}
	}
	return false
}

// truncate cuts b to at most n bytes without splitting a UTF-8 sequence.
func truncate(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	b = b[:n]
	for i := 0; i < utf8.UTFMax && len(b) > 0; i++ {
		r, size := utf8.DecodeLastRune(b)
		if r != utf8.RuneError || size != 1 {
			break
		}
		b = b[:len(b)-1]
	}
	return b
}

// enqueue queues an alert, or drops it if the queue is full or the handler
// closed.
func (c *core) enqueue(s string) {
	select {
	case <-c.closing:
		c.dropped.Add(1)
		return
	default:
	}
	select {
	case c.queue <- s:
	default:
		c.dropped.Add(1)
	}
}

const maxPush = 100 // alerts per RPUSH

// run pushes queued alerts until Close, retrying a failed push with
// backoff; at Close it makes one last attempt for what is queued.
func (c *core) run() {
	defer close(c.done)
	var batch []any
	backoff := 100 * time.Millisecond
	for {
		if len(batch) == 0 {
			select {
			case s := <-c.queue:
				batch = append(batch, s)
			case <-c.closing:
				c.flush()
				return
			}
		}
		for len(batch) < maxPush {
			select {
			case s := <-c.queue:
				batch = append(batch, s)
				continue
			default:
			}
			break
		}
		if c.push(batch) {
			batch = batch[:0]
			backoff = 100 * time.Millisecond
			continue
		}
		select {
		case <-time.After(backoff):
			backoff = min(2*backoff, c.backoff)
		case <-c.closing:
			if !c.push(batch) {
				c.dropped.Add(uint64(len(batch)))
			}
			c.flush()
			return
		}
	}
}

// push RPUSHes batch; false if Redis failed.
func (c *core) push(batch []any) bool {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	if err := c.client.RPush(ctx, c.key, batch...).Err(); err != nil {
		c.failed.Add(1)
		return false
	}
	c.sent.Add(uint64(len(batch)))
	return true
}

// flush makes one attempt to push what is queued at Close.
func (c *core) flush() {
	for {
		var batch []any
		for len(batch) < maxPush {
			select {
			case s := <-c.queue:
				batch = append(batch, s)
				continue
			default:
			}
			break
		}
		if len(batch) == 0 {
			return
		}
		if !c.push(batch) {
			c.dropped.Add(uint64(len(batch) + len(c.queue)))
			return
		}
	}
}

// Close stops alerting: alerts still queued get one last push (bounded by
// Options.Timeout each), later ones are dropped, and the Redis connection
// is closed. Records still go to the wrapped handler. Closing twice does
// nothing.
func (h *Handler) Close() error {
	var err error
	h.c.once.Do(func() {
		close(h.c.closing)
		<-h.c.done
		err = h.c.client.Close()
	})
	return err
}

// Stats counts alerts since New.
type Stats struct {
	Sent    uint64 // pushed to Redis
	Dropped uint64 // lost: queue full, Redis down at Close, or after Close
	Failed  uint64 // failed RPUSH attempts (each retried)
	Queued  int    // waiting now
}

// Stats returns the handler's counters.
func (h *Handler) Stats() Stats {
	return Stats{Sent: h.c.sent.Load(), Dropped: h.c.dropped.Load(), Failed: h.c.failed.Load(), Queued: len(h.c.queue)}
}
