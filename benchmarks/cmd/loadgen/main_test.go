package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// fakeBourse answers market.list, balance.update and order.put_limit with
// the shapes of docs/protocol.md "market.list", "balance.update" and "order.put_limit", checking each request's
// params, and counts what it saw.
type fakeBourse struct {
	t        *testing.T
	failEach int // answer every failEach-th order with error 10 (0: never)

	mu       sync.Mutex
	deposits map[string]bool // user/asset/business_id
	orders   int
	sides    [3]int
	bad      []string
}

var (
	amountRe = regexp.MustCompile(`^[0-9]+(\.[0-9]{1,8})?$`) // stock_prec 8
	priceRe  = regexp.MustCompile(`^[0-9]+(\.[0-9]{1,2})?$`) // money_prec 2
)

func (f *fakeBourse) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Method string            `json:"method"`
		Params []json.RawMessage `json:"params"`
		ID     *int64            `json:"id"`
	}
	if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&req) != nil || req.ID == nil || req.Params == nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	reply := func(result string) {
		fmt.Fprintf(w, `{"error":null,"result":%s,"id":%d}`, result, *req.ID)
	}
	bad := func(why string) {
		f.bad = append(f.bad, req.Method+": "+why)
		fmt.Fprintf(w, `{"error":{"code":1,"message":"invalid argument"},"result":null,"id":%d}`, *req.ID)
	}
	switch req.Method {
	case "market.list":
		reply(`[{"name":"BTCUSDT","stock":"BTC","money":"USDT","fee_prec":4,"stock_prec":8,"money_prec":2,"min_amount":"0.0001"}]`)
	case "balance.update":
		var user, bid uint64
		var asset, business, change string
		var detail map[string]any
		if len(req.Params) != 6 || json.Unmarshal(req.Params[0], &user) != nil || json.Unmarshal(req.Params[1], &asset) != nil ||
			json.Unmarshal(req.Params[2], &business) != nil || json.Unmarshal(req.Params[3], &bid) != nil ||
			json.Unmarshal(req.Params[4], &change) != nil || json.Unmarshal(req.Params[5], &detail) != nil || detail == nil {
			bad(fmt.Sprintf("params %s", req.Params))
			return
		}
		key := fmt.Sprintf("%d/%s/%s/%d", user, asset, business, bid)
		if f.deposits[key] {
			fmt.Fprintf(w, `{"error":{"code":10,"message":"repeat update"},"result":null,"id":%d}`, *req.ID)
			return
		}
		f.deposits[key] = true
		reply(`{"status":"success"}`)
	case "order.put_limit":
		var user uint32
		var side int
		var market, amount, price, taker, maker, source string
		if len(req.Params) != 8 || json.Unmarshal(req.Params[0], &user) != nil || json.Unmarshal(req.Params[1], &market) != nil ||
			json.Unmarshal(req.Params[2], &side) != nil || json.Unmarshal(req.Params[3], &amount) != nil ||
			json.Unmarshal(req.Params[4], &price) != nil || json.Unmarshal(req.Params[5], &taker) != nil ||
			json.Unmarshal(req.Params[6], &maker) != nil || json.Unmarshal(req.Params[7], &source) != nil {
			bad(fmt.Sprintf("params %s", req.Params))
			return
		}
		if user == 0 || market != "BTCUSDT" || (side != 1 && side != 2) || !amountRe.MatchString(amount) ||
			!priceRe.MatchString(price) || taker != "0.002" || maker != "0.001" || len(source) > 30 {
			bad(fmt.Sprintf("params %s", req.Params))
			return
		}
		f.orders++
		f.sides[side]++
		if f.failEach > 0 && f.orders%f.failEach == 0 {
			fmt.Fprintf(w, `{"error":{"code":10,"message":"balance not enough"},"result":null,"id":%d}`, *req.ID)
			return
		}
		reply(fmt.Sprintf(`{"id":%d,"market":"BTCUSDT","side":%d,"price":%q,"amount":%q,"left":%q}`, f.orders, side, price, amount, amount))
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"error":{"code":4,"message":"method not found"},"result":null,"id":%d}`, *req.ID)
	}
}

func startFake(t *testing.T, failEach int) (*fakeBourse, string) {
	f := &fakeBourse{t: t, failEach: failEach, deposits: map[string]bool{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.Listener.Addr().String()
}

func TestClosedLoop(t *testing.T) {
	f, addr := startFake(t, 0)
	var out strings.Builder
	err := run([]string{"-addr", addr, "-duration", "300ms", "-concurrency", "4", "-users", "20", "-seed", "7"}, &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	t.Log(out.String())
	f.mu.Lock()
	bad, deposits, orders, sides := f.bad, len(f.deposits), f.orders, f.sides
	f.mu.Unlock()
	if len(bad) > 0 {
		t.Fatalf("malformed requests: %v", bad[:min(3, len(bad))])
	}
	if deposits != 40 {
		t.Errorf("deposits = %d; want 40 (20 users × stock and money)", deposits)
	}
	if orders == 0 || sides[1] == 0 || sides[2] == 0 {
		t.Errorf("orders = %d (asks %d, bids %d); want both sides", orders, sides[1], sides[2])
	}
	for _, want := range []string{"requests/s", "errors 0", "p50", "p99.9", "max"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// A second run against the same server funds again without "repeat
	// update": business ids are unique per run.
	out.Reset()
	if err := run([]string{"-addr", addr, "-duration", "50ms", "-concurrency", "2", "-users", "20"}, &out); err != nil {
		t.Fatalf("second run: %v\n%s", err, out.String())
	}
}

func TestOpenLoopCountsErrors(t *testing.T) {
	f, addr := startFake(t, 10)
	var out strings.Builder
	err := run([]string{"-addr", addr, "-duration", "500ms", "-concurrency", "8", "-rate", "400", "-users", "5"}, &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	t.Log(out.String())
	f.mu.Lock()
	orders := f.orders
	f.mu.Unlock()
	// 400/s for 0.5 s: 200 orders are due; allow for scheduling slack.
	if orders < 150 || orders > 200 {
		t.Errorf("orders = %d; want about 200 (open loop at 400/s for 500ms)", orders)
	}
	s := out.String()
	if !strings.Contains(s, "rpc 10") || !strings.Contains(s, "(target 400/s)") || !strings.Contains(s, "from due time") {
		t.Errorf("output lacks the error kind, target rate or due-time latency:\n%s", s)
	}
}

func TestBaselineSkipsSetup(t *testing.T) {
	var n int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		n++
		mu.Unlock()
		io.WriteString(w, `{"error":null,"result":{"status":"success"},"id":1}`)
	}))
	defer srv.Close()
	var out strings.Builder
	if err := run([]string{"-baseline", "-addr", srv.URL, "-duration", "100ms", "-concurrency", "2"}, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if n == 0 || !strings.Contains(out.String(), "errors 0") || strings.Contains(out.String(), "funded") {
		t.Errorf("baseline run: %d requests, output:\n%s", n, out.String())
	}
}

func TestFixed(t *testing.T) {
	for _, tt := range []struct {
		s     string
		scale int
		v     int64
	}{{"100", 2, 10000}, {"0.0001", 8, 10000}, {"1.23456", 2, 123}, {".5", 1, 5}, {"7", 0, 7}} {
		v, err := parseFixed(tt.s, tt.scale)
		if err != nil || v != tt.v {
			t.Errorf("parseFixed(%q, %d) = %d, %v; want %d", tt.s, tt.scale, v, err, tt.v)
		}
	}
	for _, tt := range []struct {
		v     int64
		scale int
		want  string
	}{{5, 3, "0.005"}, {12345, 2, "123.45"}, {10000, 8, "0.00010000"}, {42, 0, "42"}} {
		if got := string(appendFixed(nil, tt.v, tt.scale)); got != tt.want {
			t.Errorf("appendFixed(%d, %d) = %q; want %q", tt.v, tt.scale, got, tt.want)
		}
	}
	for _, s := range []string{"-1", "abc", "1e5"} {
		if _, err := parseFixed(s, 2); err == nil {
			t.Errorf("parseFixed(%q) accepted", s)
		}
	}
}
