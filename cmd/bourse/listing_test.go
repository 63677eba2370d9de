package main

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// TestListMarketByRestart: a market appended to the configuration file of a
// data directory that has traded is listed at the next start — journaled,
// with its new asset — and is at once visible to HTTP (market.list,
// orders, market.summary), the websocket (deals.update), history
// (order.finished, market.user_deals) and market data (market.last,
// market.deals). Starting again with the old file then succeeds: the
// journal keeps the new asset and market.
func TestListMarketByRestart(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	oldFile, newFile := filepath.Join(dir, "old.yaml"), filepath.Join(dir, "new.yaml")
	text := string(config.Default)
	os.WriteFile(oldFile, []byte(text), 0o644)
	text = strings.Replace(text, "  - { name: USDT, prec_save: 12, prec_show: 8 }\n",
		"  - { name: USDT, prec_save: 12, prec_show: 8 }\n  - { name: SOL,  prec_save: 10, prec_show: 6 }\n", 1)
	text = strings.Replace(text, "  - { name: ETHBTC,  stock: ETH, money: BTC,  stock_prec: 8, money_prec: 4, fee_prec: 4, min_amount: \"0.001\" }\n",
		"  - { name: ETHBTC,  stock: ETH, money: BTC,  stock_prec: 8, money_prec: 4, fee_prec: 4, min_amount: \"0.001\" }\n  - { name: SOLUSDT, stock: SOL, money: USDT, stock_prec: 4, money_prec: 2, fee_prec: 4, min_amount: \"0.1\" }\n", 1)
	os.WriteFile(newFile, []byte(text), 0o644)
	if c, err := config.LoadFile(newFile); err != nil || c.Market("SOLUSDT") == nil || c.Market("SOLUSDT").ID != 3 {
		t.Fatalf("new file: %v", err)
	}

	s := startIn(t, data, "-config", oldFile)
	s.ok(t, "balance.update", 1, "USDT", "deposit", 1, "1000", map[string]any{})
	s.ok(t, "balance.update", 2, "BTC", "deposit", 1, "1", map[string]any{})
	s.ok(t, "order.put_limit", 2, "BTCUSDT", 1, "0.5", "100", "0", "0", "web")
	s.ok(t, "order.put_limit", 1, "BTCUSDT", 2, "0.2", "100", "0", "0", "web")
	stop(t, s)

	wsAddr := freeAddr(t)
	s = startIn(t, data, "-config", newFile, "-ws-addr", wsAddr, "-dev-auth")
	var list []map[string]any
	res, _ := s.call(t, "market.list")
	json.Unmarshal(res, &list)
	if len(list) != 4 || list[3]["name"] != "SOLUSDT" {
		t.Fatalf("market.list after the restart: %s", res)
	}
	nc := dialWS(t, wsAddr)
	defer nc.Close()
	b, _ := json.Marshal(map[string]any{"method": "deals.subscribe", "params": []any{"SOLUSDT"}, "id": 1})
	wsutil.WriteClientText(nc, b)
	s.ok(t, "balance.update", 3, "SOL", "deposit", 1, "100", map[string]any{})
	s.ok(t, "balance.update", 4, "USDT", "deposit", 1, "1000", map[string]any{})
	s.ok(t, "order.put_limit", 3, "SOLUSDT", 1, "5", "20", "0.001", "0.001", "web")
	s.ok(t, "order.put_limit", 4, "SOLUSDT", 2, "2", "21", "0.001", "0.001", "web")
	if res, _ := s.call(t, "market.summary", "SOLUSDT"); !strings.Contains(string(res), `"ask_amount":"3"`) {
		t.Errorf("market.summary SOLUSDT: %s", res)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		nc.SetReadDeadline(deadline)
		p, err := wsutil.ReadServerText(nc)
		if err != nil {
			t.Fatalf("no deals.update for SOLUSDT: %v", err)
		}
		if strings.Contains(string(p), `"deals.update"`) {
			if !strings.Contains(string(p), `"SOLUSDT"`) || !strings.Contains(string(p), `"price":"20"`) {
				t.Errorf("deals.update: %s", p)
			}
			break
		}
	}
	waitFollowers(t, s)
	if last, _ := s.call(t, "market.last", "SOLUSDT"); string(last) != `"20.00"` {
		t.Errorf("market.last SOLUSDT = %s; want \"20.00\"", last)
	}
	if deals, _ := s.call(t, "market.deals", "SOLUSDT", 10, 0); !strings.Contains(string(deals), `"amount":"2"`) {
		t.Errorf("market.deals SOLUSDT = %s", deals)
	}
	if fin := page(t, s, "order.finished", 4, "SOLUSDT", 0, 0); len(fin) != 1 {
		t.Errorf("order.finished of user 4 in SOLUSDT: %d orders; want 1", len(fin))
	}
	if ud := page(t, s, "market.user_deals", 3, "SOLUSDT"); len(ud) != 1 {
		t.Errorf("market.user_deals of user 3 in SOLUSDT: %d deals; want 1", len(ud))
	}
	stop(t, s)

	// The old file, without SOL and SOLUSDT, still starts: the journal
	// keeps them, with their orders.
	s = startIn(t, data, "-config", oldFile)
	res, _ = s.call(t, "market.list")
	list = nil
	json.Unmarshal(res, &list)
	if len(list) != 4 || list[3]["name"] != "SOLUSDT" {
		t.Fatalf("market.list under the old file: %s", res)
	}
	if res, _ := s.call(t, "market.summary", "SOLUSDT"); !strings.Contains(string(res), `"ask_amount":"3"`) {
		t.Errorf("market.summary SOLUSDT under the old file: %s", res)
	}
	stop(t, s)

	// bourse verify checks the journal's assets and markets, not the
	// file's: under the old file (and the embedded default, which lacks
	// SOL too) it must count SOL's deposits and SOLUSDT's reservations.
	for _, args := range [][]string{{"-config", oldFile}, nil} {
		out, err := exec.Command(binary, append([]string{"verify", "-data-dir", data}, args...)...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "invariants: ok") {
			t.Errorf("verify %v: %v\n%s", args, err, out)
		}
	}
}

// stop ends the binary with SIGTERM and waits for it.
func stop(t *testing.T, s *server) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("stop: %v", err)
	}
}

func dialWS(t *testing.T, addr string) net.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		nc, _, _, err := ws.Dial(ctx, "ws://"+addr+"/")
		if err == nil {
			return nc
		}
		if ctx.Err() != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
