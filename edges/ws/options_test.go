package ws

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/internal/config"
)

// orderNote decodes an order.update push: the event (1 PUT, 2 UPDATE, 3
// FINISH) and the order.
func orderNote(t *testing.T, m message) (int, map[string]any) {
	t.Helper()
	var ev int
	var o map[string]any
	if len(m.Params) != 2 || json.Unmarshal(m.Params[0], &ev) != nil || json.Unmarshal(m.Params[1], &o) != nil {
		t.Fatalf("order.update %s", m.raw)
	}
	return ev, o
}

// TestOrderOptionPushes: a subscribed client sees a stop order's PUT while
// it is held, the UPDATEs of its trigger and of its rest, and an amend's
// UPDATE, each order carrying the options (stop_price, triggered,
// client_id); order.query lists them too.
func TestOrderOptionPushes(t *testing.T) {
	e := startEnv(t, func(s *config.WebSocket, o *Options) { o.DevAuth = true })
	e.rpc(t, "balance.update", 1, "USDT", "deposit", 1, "10000", map[string]any{})
	e.rpc(t, "balance.update", 2, "BTC", "deposit", 1, "10", map[string]any{})
	e.rpc(t, "balance.update", 3, "USDT", "deposit", 1, "10000", map[string]any{})
	u1 := dial(t, e.wsURL)
	u1.ok("server.auth", "dev:1", "web")
	u1.ok("order.subscribe", "BTCUSDT")

	// Held: PUT, not triggered.
	var stop map[string]any
	json.Unmarshal(e.rpc(t, "order.put_stop_limit", 1, "BTCUSDT", 2, "1", "105", "106", "0", "0", "web", map[string]any{"client_id": "s-1"}), &stop)
	ev, o := orderNote(t, u1.note("order.update", 2*time.Second))
	if ev != 1 || o["id"] != stop["id"] || o["stop_price"] != "105" || o["triggered"] != false || o["client_id"] != "s-1" {
		t.Errorf("held stop: order.update %d %v; want PUT with stop_price 105, triggered false, client_id s-1", ev, o)
	}
	var pending struct {
		Total   int              `json:"total"`
		Records []map[string]any `json:"records"`
	}
	json.Unmarshal(u1.ok("order.query", "BTCUSDT", 0, 10), &pending)
	if pending.Total != 1 || pending.Records[0]["stop_price"] != "105" || pending.Records[0]["triggered"] != false {
		t.Errorf("order.query with the held stop = %+v", pending)
	}

	// A trade at 105 triggers it; the book has no ask left, so it rests.
	e.rpc(t, "order.put_limit", 2, "BTCUSDT", 1, "1", "105", "0", "0", "web")
	e.rpc(t, "order.put_limit", 3, "BTCUSDT", 2, "1", "105", "0", "0", "web")
	var got string
	if m, ok := u1.tryNote("order.update", 2*time.Second); ok {
		ev, o := orderNote(t, m)
		got = fmt.Sprintf("%d %v %v %v %v", ev, o["id"] == stop["id"], o["stop_price"], o["triggered"], o["left"])
	}
	// The trigger: UPDATE (it was PUT when it was held). It then rests
	// without trading: no second UPDATE (the next one must be the amend's).
	if want := "2 true 105 true 1"; got != want {
		t.Errorf("order.update after the trigger: %v; want %s", got, want)
	}

	// Amended by its client id: UPDATE with the new amount.
	e.rpc(t, "order.amend_by_client_id", 1, "BTCUSDT", "s-1", "0.25")
	ev, o = orderNote(t, u1.note("order.update", 2*time.Second))
	if ev != 2 || o["id"] != stop["id"] || o["amount"] != "0.25" || o["left"] != "0.25" || o["triggered"] != true {
		t.Errorf("amend: order.update %d %v; want UPDATE amount 0.25 left 0.25 triggered", ev, o)
	}
	json.Unmarshal(u1.ok("order.query", "BTCUSDT", 0, 10), &pending)
	if pending.Total != 1 || pending.Records[0]["amount"] != "0.25" || pending.Records[0]["triggered"] != true || pending.Records[0]["client_id"] != "s-1" {
		t.Errorf("order.query after the amend = %+v", pending)
	}

	// Cancelled by its client id: FINISH.
	e.rpc(t, "order.cancel_by_client_id", 1, "BTCUSDT", "s-1")
	ev, o = orderNote(t, u1.note("order.update", 2*time.Second))
	if ev != 3 || o["id"] != stop["id"] || o["client_id"] != "s-1" {
		t.Errorf("cancel: order.update %d %v; want FINISH", ev, o)
	}
	if extra := u1.drain("order.update", 200*time.Millisecond); len(extra) != 0 {
		t.Errorf("unexpected order.update: %s", extra[0].raw)
	}
}
