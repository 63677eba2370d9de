package ws

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/prometheus/client_golang/prometheus"
)

// rawUpgrade sends a hand-written upgrade request and returns the status
// line and headers of the answer.
func rawUpgrade(t *testing.T, addr, method string, headers ...string) (status string, hdr http.Header) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	req := method + " / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	for _, h := range headers {
		req += h + "\r\n"
	}
	fmt.Fprint(nc, req+"\r\n")
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		t.Fatalf("%s upgrade: %v", method, err)
	}
	resp.Body.Close()
	return resp.Status, resp.Header
}

func TestUpgradeRules(t *testing.T) {
	e := startEnv(t, func(s *config.WebSocket, o *Options) {
		s.Origins = []string{"https://trade.example"}
	})
	addr := strings.TrimSuffix(strings.TrimPrefix(e.wsURL, "ws://"), "/")
	tests := []struct {
		name    string
		method  string
		headers []string
		status  int
		proto   string
	}{
		{"plain", "GET", nil, 101, ""},
		{"allowed origin", "GET", []string{"Origin: https://trade.example"}, 101, ""},
		{"origin suffix is not enough", "GET", []string{"Origin: https://evil.trade.example"}, 403, ""},
		{"other origin", "GET", []string{"Origin: https://trade.example.evil"}, 403, ""},
		{"subprotocol echoed", "GET", []string{"Sec-WebSocket-Protocol: foo, chat"}, 101, "chat"},
		{"subprotocol missing from the list", "GET", []string{"Sec-WebSocket-Protocol: foo"}, 400, ""},
		{"POST", "POST", nil, 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, hdr := rawUpgrade(t, addr, tt.method, tt.headers...)
			if !strings.HasPrefix(status, fmt.Sprint(tt.status)) {
				t.Errorf("status %q; want %d", status, tt.status)
			}
			if got := hdr.Get("Sec-WebSocket-Protocol"); got != tt.proto {
				t.Errorf("Sec-WebSocket-Protocol %q; want %q", got, tt.proto)
			}
		})
	}
	// The server counts a rejection after it answered: wait for it.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		st := e.srv.Stats()
		if st.Rejected == 4 && st.Accepted == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats accepted %d rejected %d; want 3 and 4", st.Accepted, st.Rejected)
		}
	}
}

// rawConn is a client speaking frames directly.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	r  io.Reader
}

func rawDial(t *testing.T, url string) *rawConn {
	t.Helper()
	nc, br, _, err := ws.Dial(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	var r io.Reader = nc
	if br != nil {
		r = io.MultiReader(br, nc)
	}
	return &rawConn{t: t, nc: nc, r: r}
}

func (c *rawConn) frame(fin bool, op ws.OpCode, p []byte) {
	c.t.Helper()
	f := ws.NewFrame(op, fin, p)
	f = ws.MaskFrameInPlace(f)
	if err := ws.WriteFrame(c.nc, f); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawConn) read() ws.Frame {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	f, err := ws.ReadFrame(c.r)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return f
}

func TestFrames(t *testing.T) {
	e := startEnv(t, func(s *config.WebSocket, o *Options) {
		s.MaxMessageBytes = 1024
	})
	c := rawDial(t, e.wsURL)
	// Ping → pong with the payload.
	c.frame(true, ws.OpPing, []byte("hi"))
	if f := c.read(); f.Header.OpCode != ws.OpPong || string(f.Payload) != "hi" {
		t.Fatalf("ping answered with %v %q", f.Header.OpCode, f.Payload)
	}
	// A fragmented request, in binary, with a ping in between.
	req := []byte(`{"method":"server.ping","params":[],"id":5}`)
	c.frame(false, ws.OpBinary, req[:10])
	c.frame(true, ws.OpPing, nil)
	c.frame(false, ws.OpContinuation, req[10:20])
	c.frame(true, ws.OpContinuation, req[20:])
	var got []string
	for len(got) < 1 {
		f := c.read()
		if f.Header.OpCode == ws.OpText {
			got = append(got, string(f.Payload))
		}
	}
	if got[0] != `{"error":null,"result":"pong","id":5}` {
		t.Errorf("reply to a fragmented request: %s", got[0])
	}
	// Too large: closed with 1009.
	c.frame(true, ws.OpText, []byte(`{"method":"server.ping","params":["`+strings.Repeat("x", 1100)+`"],"id":1}`))
	f := c.read()
	if f.Header.OpCode != ws.OpClose {
		t.Fatalf("after a large message: %v %q", f.Header.OpCode, f.Payload)
	}
	if code, _ := ws.ParseCloseFrameData(f.Payload); code != ws.StatusMessageTooBig {
		t.Errorf("close code %d; want 1009", code)
	}
	waitClosed(t, e.srv, ReasonTooLarge, 1)

	// Invalid UTF-8 text: 1007.
	c2 := rawDial(t, e.wsURL)
	c2.frame(true, ws.OpText, []byte{'"', 0xff, '"'})
	if f := c2.read(); f.Header.OpCode != ws.OpClose {
		t.Fatalf("after invalid UTF-8: %v", f.Header.OpCode)
	} else if code, _ := ws.ParseCloseFrameData(f.Payload); code != ws.StatusInvalidFramePayloadData {
		t.Errorf("close code %d; want 1007", code)
	}
	waitClosed(t, e.srv, ReasonProtocol, 1)

	// Close frame: answered, then closed.
	c3 := rawDial(t, e.wsURL)
	c3.frame(true, ws.OpClose, ws.NewCloseFrameBody(ws.StatusNormalClosure, "bye"))
	if f := c3.read(); f.Header.OpCode != ws.OpClose {
		t.Fatalf("close answered with %v", f.Header.OpCode)
	}
	waitClosed(t, e.srv, ReasonClient, 1)
}

func TestIdleTimeout(t *testing.T) {
	e := startEnv(t, func(s *config.WebSocket, o *Options) { s.KeepAlive = 300 * time.Millisecond })
	c := rawDial(t, e.wsURL)
	busy := rawDial(t, e.wsURL)
	stop := time.Now().Add(700 * time.Millisecond)
	for time.Now().Before(stop) {
		busy.frame(true, ws.OpPing, nil)
		busy.read()
		time.Sleep(50 * time.Millisecond)
	}
	if f := c.read(); f.Header.OpCode != ws.OpClose {
		t.Fatalf("idle connection got %v", f.Header.OpCode)
	}
	waitClosed(t, e.srv, ReasonIdle, 1)
	if st := e.srv.Stats(); st.Open != 1 {
		t.Errorf("open connections %d; want 1 (the busy one)", st.Open)
	}
}

func waitClosed(t *testing.T, s *Server, r CloseReason, n uint64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().Closed[r] < n {
		if time.Now().After(deadline) {
			t.Fatalf("closed for %v: %d; want %d", r, s.Stats().Closed[r], n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSlowReader: a client that sends requests but never reads is dropped
// as slow, while a normal client keeps getting its pushes on time.
func TestSlowReader(t *testing.T) {
	e := startEnv(t, func(s *config.WebSocket, o *Options) {
		s.OutboundQueue = 64
		s.RateLimit = 0 // the flood below must get big replies
		o.WriteTimeout = 300 * time.Millisecond
	})
	e.rpc(t, "balance.update", 1, "USDT", "deposit", 1, "1000000", map[string]any{})
	e.rpc(t, "balance.update", 2, "BTC", "deposit", 1, "1000", map[string]any{})
	for i := 0; i < 100; i++ { // a deep book makes depth.query replies large
		e.rpc(t, "order.put_limit", 1, "BTCUSDT", 2, "1", fmt.Sprint(1000+i), "0", "0", "web")
	}
	normal := dial(t, e.wsURL)
	normal.ok("deals.subscribe", "BTCUSDT")

	// The slow client: a tiny receive buffer and no reading at all.
	d := ws.Dialer{NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			nc.(*net.TCPConn).SetReadBuffer(4096)
		}
		return nc, err
	}}
	nc, _, _, err := d.Dial(context.Background(), e.wsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	flood := make(chan error, 1)
	go func() {
		req := []byte(`{"method":"depth.query","params":["BTCUSDT",100,"0"],"id":1}`)
		for i := 0; i < 20000; i++ {
			if err := wsutil.WriteClientText(nc, req); err != nil {
				flood <- err
				return
			}
		}
		flood <- nil
	}()
	// Meanwhile trades happen and the normal client sees each on time.
	for i := 0; i < 5; i++ {
		t0 := time.Now()
		e.rpc(t, "order.put_limit", 2, "BTCUSDT", 1, "0.5", "1000", "0", "0", "web")
		m := normal.note("deals.update", 2*time.Second)
		if d := m.at.Sub(t0); d > time.Second {
			t.Errorf("deal %d pushed after %s", i, d)
		}
	}
	waitClosed(t, e.srv, ReasonSlow, 1)
	if st := e.srv.Stats(); st.Slow != 1 || st.Open != 1 {
		t.Errorf("stats slow %d open %d; want 1 and 1", st.Slow, st.Open)
	}
	normal.ok("server.ping")
	select {
	case <-flood:
	case <-time.After(10 * time.Second):
		t.Error("the slow client's writes did not end after it was dropped")
	}
}

func TestCollector(t *testing.T) {
	e := startEnv(t, nil)
	reg := prometheus.NewRegistry()
	reg.MustRegister(e.srv.Collector())
	c := dial(t, e.wsURL)
	c.ok("price.subscribe", "BTCUSDT")
	// Two subscribers of one depth channel: its pushes are fan-outs.
	d1, d2 := dial(t, e.wsURL), dial(t, e.wsURL)
	d1.ok("depth.subscribe", "BTCUSDT", 5, "0")
	d2.ok("depth.subscribe", "BTCUSDT", 5, "0")
	d1.note("depth.update", 2*time.Second)
	d2.note("depth.update", 2*time.Second)
	before := gather(t, reg)
	e.rpc(t, "balance.update", 1, "USDT", "deposit", 1, "10000", map[string]any{})
	e.rpc(t, "order.put_limit", 1, "BTCUSDT", 2, "1", "100", "0.002", "0.001", "web")
	d1.note("depth.update", 2*time.Second)
	d2.note("depth.update", 2*time.Second)
	// The fan-out is observed once the push reached every subscriber, a
	// moment after they may read it: wait for it a little.
	got := gather(t, reg)
	for deadline := time.Now().Add(2 * time.Second); got["bourse_ws_fanout_seconds_count"] == before["bourse_ws_fanout_seconds_count"] && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		got = gather(t, reg)
	}
	// The bid was one push to both depth subscribers (the price channel,
	// with one subscriber, is never counted).
	if n := got["bourse_ws_fanout_seconds_count"] - before["bourse_ws_fanout_seconds_count"]; n != 1 {
		t.Errorf("bourse_ws_fanout_seconds count grew by %v; want 1", n)
	}
	for name, want := range map[string]float64{"bourse_ws_connections": 3, "bourse_ws_accepted_total": 3, "bourse_ws_channels": 2, "bourse_ws_closed_total{slow}": 0} {
		if got[name] != want {
			t.Errorf("%s = %v; want %v", name, got[name], want)
		}
	}
}

// gather reads reg into name{labels} → value (histograms: name_count).
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range m.GetLabel() {
				name += "{" + l.GetValue() + "}"
			}
			switch {
			case m.Histogram != nil:
				got[name+"_count"] = float64(m.GetHistogram().GetSampleCount())
			case m.Gauge != nil:
				got[name] = m.GetGauge().GetValue()
			default:
				got[name] = m.GetCounter().GetValue()
			}
		}
	}
	return got
}
