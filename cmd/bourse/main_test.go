package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bourse-exchange/bourse/internal/testnode"
)

// server is a running bourse binary.
type server struct {
	url string
	cmd *exec.Cmd
	ws  <-chan string // the websocket address, once logged
	web <-chan string // the web console's address, once logged
}

// binary is the bourse binary built once for this package's tests.
var binary string

func TestMain(m *testing.M) {
	execWithNofile() // when the test binary is the wrapper of startNofile
	dir, err := os.MkdirTemp("", "bourse-bin")
	if err != nil {
		panic(err)
	}
	if binary, err = testnode.Build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startBinary starts the bourse binary on a free loopback port with its
// data in a new temporary directory and waits for it to log its address.
func startBinary(t *testing.T, args ...string) *server {
	t.Helper()
	return startIn(t, filepath.Join(t.TempDir(), "data"), args...)
}

// startIn starts the binary on dataDir; the test's cleanup stops it with
// SIGTERM if it still runs.
func startIn(t *testing.T, dataDir string, args ...string) *server {
	t.Helper()
	args = append([]string{"-http-addr", "127.0.0.1:0", "-ws-addr", "127.0.0.1:0", "-web-addr", "127.0.0.1:0", "-data-dir", dataDir}, args...)
	return startCmd(t, exec.Command(binary, args...))
}

// startCmd starts cmd, a bourse node, and waits for it to log its HTTP
// address; the test's cleanup stops it with SIGTERM if it still runs.
func startCmd(t *testing.T, cmd *exec.Cmd) *server {
	t.Helper()
	p := testnode.StartProcess(t, cmd)
	return &server{url: p.URL, cmd: p.Cmd, ws: p.WSAddr, web: p.WebAddr}
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (s *server) call(t *testing.T, method string, params ...any) (json.RawMessage, *rpcError) {
	t.Helper()
	return rpcAs(t, s.url, "", method, params...)
}

func (s *server) ok(t *testing.T, method string, params ...any) map[string]any {
	t.Helper()
	res, e := s.call(t, method, params...)
	if e != nil {
		t.Fatalf("%s %v: error %d %s", method, params, e.Code, e.Message)
	}
	var v map[string]any
	if len(res) > 0 && res[0] == '{' {
		json.Unmarshal(res, &v)
	}
	return v
}

func (s *server) fails(t *testing.T, code int, method string, params ...any) {
	t.Helper()
	_, e := s.call(t, method, params...)
	if e == nil || e.Code != code {
		t.Fatalf("%s %v: error %v; want code %d", method, params, e, code)
	}
}

func want(t *testing.T, what string, got any, w string) {
	t.Helper()
	if fmt.Sprint(got) != w {
		t.Errorf("%s = %v; want %s", what, got, w)
	}
}

// TestTradingSession plays a whole session over HTTP against the real binary:
// deposits, a resting order, a crossing order, balances with fees, depth,
// pending, book, cancel, rejections, summaries, and conservation at the end.
func TestTradingSession(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	s := startBinary(t)
	s.ok(t, "balance.update", 1, "USDT", "deposit", 1, "10000", map[string]any{})
	s.ok(t, "balance.update", 2, "BTC", "deposit", 1, "10", map[string]any{})
	s.fails(t, 10, "balance.update", 1, "USDT", "deposit", 1, "10000", map[string]any{})
	s.fails(t, 1, "balance.update", 0, "USDT", "deposit", 2, "1", map[string]any{})

	ask := s.ok(t, "order.put_limit", 2, "BTCUSDT", 1, "2", "100", "0.002", "0.001", "web")
	want(t, "ask left", ask["left"], "2")
	want(t, "ask price", ask["price"], "100")
	bal := s.ok(t, "balance.query", 2, "BTC")["BTC"].(map[string]any)
	want(t, "user 2 BTC available", bal["available"], "8")
	want(t, "user 2 BTC freeze", bal["freeze"], "2")

	bid := s.ok(t, "order.put_limit", 1, "BTCUSDT", 2, "1.5", "101", "0.002", "0.001", "web")
	want(t, "bid left", bid["left"], "0")
	want(t, "bid deal_stock", bid["deal_stock"], "1.5")
	want(t, "bid deal_money", bid["deal_money"], "150")
	want(t, "bid deal_fee", bid["deal_fee"], "0.003")

	b1 := s.ok(t, "balance.query", 1)
	want(t, "user 1 USDT", b1["USDT"].(map[string]any)["available"], "9850")
	want(t, "user 1 BTC", b1["BTC"].(map[string]any)["available"], "1.497")
	b2 := s.ok(t, "balance.query", 2)
	want(t, "user 2 USDT", b2["USDT"].(map[string]any)["available"], "149.85")
	want(t, "user 2 BTC freeze", b2["BTC"].(map[string]any)["freeze"], "0.5")
	fee := s.ok(t, "balance.query", 0)
	want(t, "fee USDT", fee["USDT"].(map[string]any)["available"], "0.15")
	want(t, "fee BTC", fee["BTC"].(map[string]any)["available"], "0.003")

	depth := s.ok(t, "order.depth", "BTCUSDT", 10, "0")
	want(t, "depth", depth["asks"], "[[100 0.5]]")
	want(t, "depth bids", depth["bids"], "[]")
	pending := s.ok(t, "order.pending", 2, "BTCUSDT", 0, 10)
	want(t, "pending total", pending["total"], "1")
	book := s.ok(t, "order.book", "BTCUSDT", 1, 0, 10)
	want(t, "book total", book["total"], "1")

	s.fails(t, 11, "order.cancel", 1, "BTCUSDT", ask["id"])
	s.fails(t, 10, "order.cancel", 2, "BTCUSDT", 999999)
	s.fails(t, 10, "order.put_limit", 1, "BTCUSDT", 2, "1000", "100", "0", "0", "web")
	s.fails(t, 11, "order.put_limit", 1, "BTCUSDT", 2, "0.00001", "100", "0", "0", "web")
	s.fails(t, 12, "order.put_market", 1, "ETHUSDT", 2, "10", "0.001", "web")
	s.fails(t, 1, "order.put_limit", 1, "NOPE", 2, "1", "100", "0", "0", "web")
	s.fails(t, 4, "order.nope")

	c := s.ok(t, "order.cancel", 2, "BTCUSDT", ask["id"])
	want(t, "cancelled left", c["left"], "0.5")
	b2 = s.ok(t, "balance.query", 2, "BTC")
	want(t, "user 2 BTC after cancel", b2["BTC"].(map[string]any)["available"], "8.5")
	want(t, "user 2 BTC freeze after cancel", b2["BTC"].(map[string]any)["freeze"], "0")

	// Conservation: totals equal deposits.
	res, e := s.call(t, "asset.summary")
	if e != nil {
		t.Fatal(e)
	}
	var rows []map[string]any
	json.Unmarshal(res, &rows)
	totals := map[string]string{}
	for _, r := range rows {
		totals[r["name"].(string)] = fmt.Sprint(r["total_balance"])
	}
	want(t, "USDT total", totals["USDT"], "10000")
	want(t, "BTC total", totals["BTC"], "10")
	want(t, "ETH total", totals["ETH"], "0")

	res, _ = s.call(t, "market.list")
	if !strings.Contains(string(res), `"BTCUSDT"`) {
		t.Errorf("market.list = %s", res)
	}
}
