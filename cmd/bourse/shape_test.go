package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// followerNames are the followers server.state lists.
func followerNames(t *testing.T, s *server) []string {
	t.Helper()
	res, code, ok := rpc(http.DefaultClient, s.url, "server.state")
	if !ok || code != 0 {
		t.Fatalf("server.state: code %d ok %v", code, ok)
	}
	var st struct {
		Followers map[string]json.RawMessage `json:"followers"`
	}
	if err := json.Unmarshal(res, &st); err != nil {
		t.Fatal(err)
	}
	var names []string
	for name := range st.Followers {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// TestFollowersSwitchedOff: -followers history runs the history follower
// alone — market data answers code 3, the history is written — and -pprof
// serves the profiler; restarted with every follower, market data catches
// up with the trades made while it was off. -followers with an unknown
// name, and a websocket edge without the bus, are refused.
func TestFollowersSwitchedOff(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := startIn(t, dir, "-followers", "history", "-ws-addr", "", "-pprof")
	if got := followerNames(t, s); strings.Join(got, ",") != "history" {
		t.Fatalf("followers %v; want [history]", got)
	}
	s.ok(t, "balance.update", 1, "USDT", "deposit", 1, "10000", map[string]any{})
	s.ok(t, "balance.update", 2, "BTC", "deposit", 1, "10", map[string]any{})
	s.ok(t, "order.put_limit", 1, "BTCUSDT", 2, "1", "100", "0.002", "0.001", "web")
	s.ok(t, "order.put_limit", 2, "BTCUSDT", 1, "1", "100", "0.002", "0.001", "web")
	s.fails(t, 3, "market.last", "BTCUSDT")
	waitFollowers(t, s)
	if recs := page(t, s, "balance.history", 1, "USDT", "", 0, 0); len(recs) < 2 {
		t.Fatalf("balance.history of user 1: %d rows; want the deposit and the trade", len(recs))
	}
	base := strings.TrimSuffix(s.url, "/")
	if code, body := get(t, base+"/debug/pprof/"); code != 200 || !strings.Contains(body, "goroutine") {
		t.Fatalf("GET /debug/pprof/ with -pprof = %d %.200q", code, body)
	}
	stop(t, s)

	s = startIn(t, dir)
	if got := followerNames(t, s); strings.Join(got, ",") != "bus,history,marketdata" {
		t.Fatalf("followers %v; want [bus history marketdata]", got)
	}
	waitFollowers(t, s)
	st := s.ok(t, "market.status", "BTCUSDT", 86400)
	if last, err := decimal.NewFromString(fmt.Sprint(st["last"])); err != nil || !last.Equal(decimal.NewFromInt(100)) {
		t.Fatalf("market.status BTCUSDT after the restart: %v; want the trade made while market data was off", st)
	}
	base = strings.TrimSuffix(s.url, "/")
	if code, _ := get(t, base+"/debug/pprof/"); code == 200 {
		t.Fatal("GET /debug/pprof/ without -pprof = 200")
	}
	stop(t, s)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-followers", "history,klines"}, `unknown follower "klines"`},
		{[]string{"-followers", "history", "-ws-addr", "127.0.0.1:0"}, "bus follower"},
	} {
		_, stderr, code, _ := runCLI(t, append([]string{"-http-addr", "127.0.0.1:0"}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("bourse %q: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}
