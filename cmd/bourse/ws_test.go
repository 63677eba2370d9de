package main

import (
	"context"
	"encoding/json"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestWebSocket runs the binary with -dev-auth and follows a user's order
// and the market's deals over the websocket while trading over HTTP.
func TestWebSocket(t *testing.T) {
	addr := freeAddr(t)
	s := startBinary(t, "-ws-addr", addr, "-dev-auth")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var nc net.Conn
	var err error
	for nc == nil { // the websocket listener may start just after the HTTP one logs
		if nc, _, _, err = ws.Dial(ctx, "ws://"+addr+"/"); err != nil {
			if ctx.Err() != nil {
				t.Fatal(err)
			}
			nc = nil
			time.Sleep(20 * time.Millisecond)
		}
	}
	defer nc.Close()
	id := 0
	send := func(method string, params ...any) {
		id++
		b, _ := json.Marshal(map[string]any{"method": method, "params": params, "id": id})
		if err := wsutil.WriteClientText(nc, b); err != nil {
			t.Fatal(err)
		}
	}
	// next returns the next message that is a reply or the notification
	// named method.
	next := func(method string) map[string]json.RawMessage {
		t.Helper()
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			p, err := wsutil.ReadServerText(nc)
			if err != nil {
				t.Fatalf("waiting for %s: %v", method, err)
			}
			var m map[string]json.RawMessage
			json.Unmarshal(p, &m)
			if string(m["method"]) == `"`+method+`"` || (method == "" && string(m["id"]) != "null") {
				return m
			}
		}
	}
	send("order.subscribe", "BTCUSDT")
	if m := next(""); !strings.Contains(string(m["error"]), `"code":6`) {
		t.Fatalf("order.subscribe before auth: %s", m["error"])
	}
	send("server.auth", "dev:1", "web")
	if m := next(""); string(m["result"]) != `{"status":"success"}` {
		t.Fatalf("server.auth: %v", m)
	}
	send("order.subscribe", "BTCUSDT")
	next("")
	send("deals.subscribe", "BTCUSDT")
	next("")
	s.ok(t, "balance.update", 1, "USDT", "deposit", 1, "1000", map[string]any{})
	s.ok(t, "balance.update", 2, "BTC", "deposit", 1, "1", map[string]any{})
	s.ok(t, "order.put_limit", 1, "BTCUSDT", 2, "1", "100", "0", "0", "web")
	if m := next("order.update"); !strings.HasPrefix(string(m["params"]), "[1,") {
		t.Errorf("order.update after the bid: %s", m["params"])
	}
	s.ok(t, "order.put_limit", 2, "BTCUSDT", 1, "1", "100", "0", "0", "web")
	if m := next("order.update"); !strings.HasPrefix(string(m["params"]), "[3,") {
		t.Errorf("order.update after the fill: %s", m["params"])
	}
	m := next("deals.update")
	var params []json.RawMessage
	json.Unmarshal(m["params"], &params)
	var deals []map[string]any
	if len(params) != 2 || json.Unmarshal(params[1], &deals) != nil || len(deals) != 1 || deals[0]["price"] != "100" || deals[0]["amount"] != "1" {
		t.Errorf("deals.update %s", m["params"])
	}
}

func TestDevAuthRefusedOffLoopback(t *testing.T) {
	out, err := exec.Command(binary, "-http-addr", "127.0.0.1:0", "-ws-addr", "0.0.0.0:0", "-web-addr", "", "-dev-auth",
		"-data-dir", filepath.Join(t.TempDir(), "data")).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "-dev-auth needs a loopback -ws-addr") {
		t.Errorf("bourse -dev-auth -ws-addr 0.0.0.0:0: %v\n%s", err, out)
	}
}
