package ws

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/edges/httprpc"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/testnode"
	"github.com/bourse-exchange/bourse/runtime"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// env is a running node with its followers, the HTTP edge and a websocket
// server.
type env struct {
	cfg   *config.Config
	node  *runtime.Node
	svc   *runtime.Services
	http  string // HTTP JSON-RPC URL
	srv   *Server
	wsURL string
	dir   string // the node's data directory
}

// startEnv starts everything on loopback ports; adjust may change the
// websocket settings and options before the server is built.
func startEnv(t testing.TB, adjust func(*config.WebSocket, *Options)) *env {
	t.Helper()
	return startEnvDoc(t, config.Default, adjust)
}

// startEnvDoc is startEnv with the configuration file doc.
func startEnvDoc(t testing.TB, doc []byte, adjust func(*config.WebSocket, *Options)) *env {
	t.Helper()
	cfg, err := config.Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	set := cfg.WebSocket
	set.PushInterval = 20 * time.Millisecond
	opts := Options{}
	if adjust != nil {
		adjust(&set, &opts)
	}
	opts.Settings = &set
	dir := filepath.Join(t.TempDir(), "data")
	node := testnode.Start(t, cfg, runtime.Options{DataDir: dir})
	svc, err := node.StartServices(context.Background(), dir)
	if err != nil {
		node.Shutdown(context.Background())
		t.Fatal(err)
	}
	if opts.MarketDataCursor == nil {
		opts.MarketDataCursor = svc.MarketData.Cursor
	}
	hs := httptest.NewServer(httprpc.New(node.Router).Handler())
	srv, err := New(node.Router, svc.Bus, opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("ws Shutdown: %v", err)
		}
		hs.Close()
		node.Shutdown(ctx)
	})
	return &env{cfg: cfg, node: node, svc: svc, http: hs.URL, srv: srv, wsURL: "ws://" + ln.Addr().String() + "/", dir: dir}
}

// rpc calls the HTTP edge and returns the result, failing the test on an
// error reply.
func (e *env) rpc(t testing.TB, method string, params ...any) json.RawMessage {
	t.Helper()
	res, code := e.rpcCode(t, method, params...)
	if code != 0 {
		t.Fatalf("HTTP %s %v: code %d", method, params, code)
	}
	return res
}

func (e *env) rpcCode(t testing.TB, method string, params ...any) (json.RawMessage, int) {
	t.Helper()
	if params == nil {
		params = []any{}
	}
	body, _ := json.Marshal(map[string]any{"method": method, "params": params, "id": 1})
	resp, err := http.Post(e.http, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env struct {
		Error *struct {
			Code int `json:"code"`
		} `json:"error"`
		Result json.RawMessage `json:"result"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatalf("HTTP %s: %q: %v", method, raw, err)
	}
	if env.Error != nil {
		return nil, env.Error.Code
	}
	return env.Result, 0
}

// message is one message from the server, decoded.
type message struct {
	Method string            `json:"method"`
	Params []json.RawMessage `json:"params"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Result json.RawMessage `json:"result"`
	ID     *int64          `json:"id"`
	raw    []byte
	at     time.Time
}

// client is a websocket client: a goroutine reads every message into a
// channel; replies and notifications are then matched by the test.
type client struct {
	t     *testing.T
	nc    net.Conn
	in    chan message
	errc  chan error
	wmu   sync.Mutex
	next  int64
	notes []message // notifications read while waiting for a reply
	// authed is set by login, and by wsCall on a successful server.auth.
	authed bool
}

func dial(t *testing.T, url string) *client {
	t.Helper()
	return dialWith(t, ws.Dialer{}, url)
}

func dialWith(t *testing.T, d ws.Dialer, url string) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nc, br, _, err := d.Dial(ctx, url)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	c := &client{t: t, nc: nc, in: make(chan message, 4096), errc: make(chan error, 1), next: 100}
	var r io.Reader = nc
	if br != nil {
		r = io.MultiReader(br, nc)
	}
	go func() {
		rw := struct {
			io.Reader
			io.Writer
		}{r, io.Discard}
		for {
			p, op, err := wsutil.ReadServerData(rw)
			if err != nil {
				c.errc <- err
				close(c.in)
				return
			}
			if op != ws.OpText {
				continue
			}
			var m message
			if err := json.Unmarshal(p, &m); err != nil {
				c.errc <- err
				close(c.in)
				return
			}
			m.raw, m.at = p, time.Now()
			c.in <- m
		}
	}()
	t.Cleanup(func() { nc.Close() })
	return c
}

func (c *client) write(p []byte) {
	c.t.Helper()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := wsutil.WriteClientText(c.nc, p); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// call sends a request and waits for its reply.
func (c *client) call(method string, params ...any) message {
	c.t.Helper()
	if params == nil {
		params = []any{}
	}
	c.next++
	id := c.next
	p, _ := json.Marshal(map[string]any{"method": method, "params": params, "id": id})
	c.write(p)
	return c.reply(&id, method)
}

// reply waits for the reply with id (nil: "id":null).
func (c *client) reply(id *int64, what string) message {
	c.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case m, ok := <-c.in:
			if !ok {
				c.t.Fatalf("%s: connection ended: %v", what, <-c.errc)
			}
			if m.Method != "" {
				c.notes = append(c.notes, m)
				continue
			}
			if (id == nil && m.ID == nil) || (id != nil && m.ID != nil && *m.ID == *id) {
				return m
			}
			c.t.Fatalf("%s: unexpected reply %s", what, m.raw)
		case <-deadline:
			c.t.Fatalf("%s: no reply", what)
		}
	}
}

// ok calls and fails the test on an error reply; it returns the result.
func (c *client) ok(method string, params ...any) json.RawMessage {
	c.t.Helper()
	m := c.call(method, params...)
	if m.Error != nil {
		c.t.Fatalf("%s %v: error %d %s", method, params, m.Error.Code, m.Error.Message)
	}
	return m.Result
}

// fails calls and expects error code.
func (c *client) fails(code int, method string, params ...any) message {
	c.t.Helper()
	m := c.call(method, params...)
	if m.Error == nil || m.Error.Code != code {
		c.t.Fatalf("%s %v: %s; want error code %d", method, params, m.raw, code)
	}
	return m
}

// note waits for the next notification named method (others are kept).
func (c *client) note(method string, timeout time.Duration) message {
	c.t.Helper()
	m, ok := c.tryNote(method, timeout)
	if !ok {
		c.t.Fatalf("no %s within %s", method, timeout)
	}
	return m
}

func (c *client) tryNote(method string, timeout time.Duration) (message, bool) {
	c.t.Helper()
	for i, m := range c.notes {
		if m.Method == method {
			c.notes = append(c.notes[:i:i], c.notes[i+1:]...)
			return m, true
		}
	}
	deadline := time.After(timeout)
	for {
		select {
		case m, ok := <-c.in:
			if !ok {
				c.t.Fatalf("waiting for %s: connection ended: %v", method, <-c.errc)
			}
			if m.Method == method {
				return m, true
			}
			if m.Method != "" {
				c.notes = append(c.notes, m)
			}
		case <-deadline:
			return message{}, false
		}
	}
}

// drain collects every notification named method that arrives within d
// (and those already kept).
func (c *client) drain(method string, d time.Duration) []message {
	c.t.Helper()
	var out []message
	for {
		m, ok := c.tryNote(method, d)
		if !ok {
			return out
		}
		out = append(out, m)
	}
}

func str(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("%s is not a string", raw)
	}
	return s
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

var _ = strings.TrimSpace
var _ = bufio.NewReader
