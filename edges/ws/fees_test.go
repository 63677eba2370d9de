package ws

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/bourse-exchange/bourse/internal/testnode"
	"github.com/bourse-exchange/bourse/runtime"
)

// TestOrderEntryFeesChanged: the fee rates market.update sets (over HTTP)
// are the ones the next websocket order carries and is charged; a market
// listed by market.add with fee rates charges those; a bad rate is code 1
// naming it and changes nothing. The fee account gets exactly the fees and
// money is conserved. After a restart the journal alone, and a snapshot
// plus the journal, give the live state hash with the changed rates in
// force, though the file still says the old ones.
func TestOrderEntryFeesChanged(t *testing.T) {
	e := startOrderEnv(t, nil) // BTCUSDT: maker 0.0013, taker 0.0027 in the file
	u1, u2 := dial(t, e.wsURL).login("1"), dial(t, e.wsURL).login("2")

	before := e.stateHash(t)
	for _, bad := range []struct {
		params []any
		msg    string
	}{
		{[]any{"BTCUSDT", map[string]any{"maker_fee": "0.00001"}},
			`invalid argument: maker_fee must be a decimal from 0 to less than 1 with at most fee_prec (4) decimals, got "0.00001"`},
		{[]any{"BTCUSDT", map[string]any{"taker_fee": "1"}},
			`invalid argument: taker_fee must be a decimal from 0 to less than 1 with at most fee_prec (4) decimals, got "1"`},
		{[]any{"BTCUSDT", map[string]any{"taker_fee": "-0.001"}},
			`invalid argument: taker_fee must be a decimal from 0 to less than 1 with at most fee_prec (4) decimals, got "-0.001"`},
		{[]any{"BTCUSDT", map[string]any{"maker_fee": "0.001", "taker_fee": 0.002}},
			`invalid argument: taker_fee must be a decimal string ≥ 0 and < 1 with at most the market's fee_prec decimals`},
	} {
		if msg := e.rpcError(t, "market.update", bad.params...); msg != bad.msg {
			t.Errorf("market.update %v: %q; want code 1 %q", bad.params, msg, bad.msg)
		}
	}
	if msg := e.rpcError(t, "market.add", "BTCUSDT3", "BTC", "USDT", 8, 2, 4, "0.0001", 1000, "none", "0.001", "1.5"); msg !=
		`invalid argument: taker_fee must be a decimal from 0 to less than 1 with at most fee_prec (4) decimals, got "1.5"` {
		t.Errorf("market.add with taker_fee 1.5: %q", msg)
	}
	if e.stateHash(t) != before {
		t.Fatal("a refused fee change changed the state")
	}

	e.rpc(t, "market.update", "BTCUSDT", map[string]any{"maker_fee": "0.002", "taker_fee": "0.005"})
	e.rpc(t, "market.add", "BTCUSDT2", "BTC", "USDT", 8, 2, 4, "0.0001", 1000, "none", "0.001", "0.5")
	ask := object(t, u2.ok("order.put_limit", "BTCUSDT", 1, "1", "100", "ws"))
	fields(t, "ask after market.update", ask, map[string]any{"maker_fee": "0.002", "taker_fee": "0.005"})
	// 0.5 at 100: the buyer (taker) pays 0.5 × 0.005 BTC, the seller
	// (maker) 50 × 0.002 USDT.
	bid := object(t, u1.ok("order.put_limit", "BTCUSDT", 2, "0.5", "100", "ws"))
	fields(t, "bid after market.update", bid, map[string]any{"maker_fee": "0.002", "taker_fee": "0.005",
		"deal_stock": "0.5", "deal_money": "50", "deal_fee": "0.0025", "left": "0"})
	// BTC: 0.0025 + 0.4975 + 9 + 0.5 = 10 deposited; USDT: 0.1 + 9950 + 49.9 = 10000.
	e.checkBalances(t, map[int]map[string][2]string{
		0: {"BTC": {"0.0025", "0"}, "USDT": {"0.1", "0"}},
		1: {"BTC": {"0.4975", "0"}, "USDT": {"9950", "0"}},
		2: {"BTC": {"9", "0.5"}, "USDT": {"49.9", "0"}},
	})

	// market.add with fee rates: BTCUSDT2 at 0.001 maker, 0.5 taker.
	if m := e.node.Router.Config().Market("BTCUSDT2"); m == nil || m.MakerUnits != 10 || m.TakerUnits != 5000 {
		t.Fatalf("BTCUSDT2 listed with maker 0.001, taker 0.5: %+v", m)
	}
	u2.ok("order.put_limit", "BTCUSDT2", 1, "1", "10", "ws")
	bid2 := object(t, u1.ok("order.put_limit", "BTCUSDT2", 2, "1", "10", "ws"))
	fields(t, "bid on BTCUSDT2", bid2, map[string]any{"maker_fee": "0.001", "taker_fee": "0.5", "deal_fee": "0.5", "left": "0"})
	// The buyer pays 1 × 0.5 BTC, the seller 10 × 0.001 USDT.
	e.checkBalances(t, map[int]map[string][2]string{
		0: {"BTC": {"0.5025", "0"}, "USDT": {"0.11", "0"}},
		1: {"BTC": {"0.9975", "0"}, "USDT": {"9940", "0"}},
		2: {"BTC": {"8", "0.5"}, "USDT": {"59.89", "0"}},
	})

	live := e.stateHash(t)
	e.recoverAndCheck(t) // the journal alone: the live hash, invariants
	// A snapshot, then the journal after it, under the same file.
	n := testnode.Start(t, e.cfg, runtime.Options{DataDir: e.dir})
	if m := n.Router.Config().Market("BTCUSDT"); m.MakerUnits != 20 || m.TakerUnits != 50 {
		t.Errorf("BTCUSDT after a restart: maker %d taker %d units; want market.update's 20 and 50 (the file says 13, 27)", m.MakerUnits, m.TakerUnits)
	}
	if err := n.Snapshots.Now(); err != nil {
		t.Fatal(err)
	}
	n.Shutdown(context.Background())
	snaps, _ := os.ReadDir(filepath.Join(e.dir, "snapshots"))
	s, backend, err := runtime.Recover(e.cfg, e.dir, "")
	if err != nil {
		t.Fatal(err)
	}
	backend.Close()
	if s.Snapshot == 0 || s.Hash() != live {
		t.Errorf("from snapshot %d (%d files): %s; live %s", s.Snapshot, len(snaps), s.Hash(), live)
	}
	if m := s.Config().Market("BTCUSDT2"); m == nil || m.MakerUnits != 10 || m.TakerUnits != 5000 {
		t.Errorf("BTCUSDT2 from the snapshot: %+v", m)
	}
	if bad := s.Check(); len(bad) > 0 {
		t.Errorf("invariants: %v", bad)
	}
}

// rpcError calls the HTTP edge and returns the message of a code 1 answer,
// or what came instead.
func (e *env) rpcError(t *testing.T, method string, params ...any) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"method": method, "params": params, "id": 1})
	resp, err := http.Post(e.http, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env struct {
		Error *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &env); err != nil || env.Error == nil || env.Error.Code != 1 {
		return fmt.Sprintf("not code 1: %s", raw)
	}
	return env.Error.Message
}
