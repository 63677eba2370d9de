package events

import (
	"encoding/json"
	"testing"

	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/persistence/derive"
	"github.com/holiman/uint256"
)

// appendixA is the configuration of docs/protocol.md "Worked example".
const appendixA = `
assets:
  - { name: BTC, prec_save: 12, prec_show: 8 }
  - { name: BCH, prec_save: 20, prec_show: 8 }
markets:
  - { name: BTCBCH, stock: BTC, money: BCH, stock_prec: 8, money_prec: 8, fee_prec: 4, min_amount: "0.001" }
`

func appendixConfig(t testing.TB) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(appendixA))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// at parses a decimal at scale (test input).
func at(t testing.TB, s string, scale int) uint256.Int {
	t.Helper()
	u, neg, err := fixed.Parse(s, scale)
	if err != nil || neg {
		t.Fatalf("fixed.Parse(%q, %d) = %v, %v", s, scale, neg, err)
	}
	return u
}

func atInt(t testing.TB, s string, scale int) int64 {
	t.Helper()
	u := at(t, s, scale)
	return int64(u.Uint64())
}

const t0 = 1492358400123456 // 1492358400.123456 s

// TestAppendixA: the messages of docs/protocol.md "Worked example", steps 1 and 3, as the
// protocol prints them (raw decimals, Bourse's plain notation for the order
// info).
func TestAppendixA(t *testing.T) {
	cfg := appendixConfig(t)
	const btc, bch = 0, 1
	deposit := derive.Record{LSN: 1, Balances: []derive.BalanceChange{{
		Time: t0, User: 1, Asset: bch, Business: "deposit", Change: at(t, "1000", 20), Balance: at(t, "1000", 20),
		Detail: []byte(`{"id":1}`), Update: true,
	}}}
	withdraw := derive.Record{LSN: 2, Balances: []derive.BalanceChange{{
		Time: t0, User: 2, Asset: btc, Business: "withdraw", Change: at(t, "0.5", 12), Negative: true, Update: true,
	}, {
		// A deal leg: not on the balances topic.
		Time: t0, User: 2, Asset: btc, Business: "trade", Change: at(t, "1.5", 12), Negative: true,
	}}}
	odd := derive.Record{LSN: 3, Balances: []derive.BalanceChange{{
		// More digits than prec_show: printed at prec_save.
		Time: t0, User: 3, Asset: btc, Business: "dust", Change: at(t, "0.000000001", 12), Update: true,
	}}}
	deal := &messages.Trade{
		Market: 0, DealID: 1, Time: t0, TakerSide: messages.Bid, AskOrder: 1, BidOrder: 2, AskUser: 2, BidUser: 1,
		Price: atInt(t, "100", 8), Amount: atInt(t, "1.5", 8), Stock: btc, Money: bch,
		StockQty: at(t, "1.5", 12), Deal: at(t, "150", 20), AskFee: at(t, "0.15", 20), BidFee: at(t, "0.003", 12),
		BidFrozen: at(t, "151.5", 20),
	}
	maker := messages.Order{
		ID: 1, Market: 0, Type: messages.Limit, Side: messages.Ask, User: 2, CTime: t0 - 1000000, MTime: t0,
		Price: atInt(t, "100", 8), Amount: atInt(t, "2", 8), TakerFee: atInt(t, "0.002", 4), MakerFee: atInt(t, "0.001", 4),
		Left: atInt(t, "0.5", 8), DealStock: atInt(t, "1.5", 8), DealMoney: at(t, "150", 20), DealFee: at(t, "0.15", 20),
		Frozen: at(t, "0.5", 12), Source: "web",
	}
	taker := messages.Order{
		ID: 2, Market: 0, Type: messages.Limit, Side: messages.Bid, User: 1, CTime: t0, MTime: t0,
		Price: atInt(t, "101", 8), Amount: atInt(t, "1.5", 8), TakerFee: atInt(t, "0.002", 4), MakerFee: atInt(t, "0.001", 4),
		Left: 0, DealStock: atInt(t, "1.5", 8), DealMoney: at(t, "150", 20), DealFee: at(t, "0.003", 12), Source: "web",
	}
	trade := derive.Record{LSN: 4, Deals: []*messages.Trade{deal}, Orders: []derive.OrderChange{
		{Event: derive.OrderUpdate, Order: maker}, {Event: derive.OrderFinish, Order: taker},
	}}
	var msgs []Message
	for _, r := range []*derive.Record{&deposit, &withdraw, &odd, &trade} {
		var err error
		if msgs, err = NewEncoder(cfg).Append(msgs, r); err != nil {
			t.Fatal(err)
		}
	}
	want := []Message{
		{Balances, "1", []byte(`[1492358400.123456,1,"BCH","deposit","1000.00000000"]`), 1, 0},
		{Balances, "2", []byte(`[1492358400.123456,2,"BTC","withdraw","-0.50000000"]`), 2, 0},
		{Balances, "3", []byte(`[1492358400.123456,3,"BTC","dust","0.000000001000"]`), 3, 0},
		{Orders, "BTCBCH", []byte(`{"event":2,"order":{"id":1,"market":"BTCBCH","source":"web","type":1,"side":1,"user":2,` +
			`"ctime":1492358399.123456,"mtime":1492358400.123456,"price":"100","amount":"2","taker_fee":"0.002","maker_fee":"0.001",` +
			`"left":"0.5","deal_stock":"1.5","deal_money":"150","deal_fee":"0.15"},"stock":"BTC","money":"BCH"}`), 4, 0},
		{Orders, "BTCBCH", []byte(`{"event":3,"order":{"id":2,"market":"BTCBCH","source":"web","type":1,"side":2,"user":1,` +
			`"ctime":1492358400.123456,"mtime":1492358400.123456,"price":"101","amount":"1.5","taker_fee":"0.002","maker_fee":"0.001",` +
			`"left":"0","deal_stock":"1.5","deal_money":"150","deal_fee":"0.003"},"stock":"BTC","money":"BCH"}`), 4, 1},
		{Deals, "BTCBCH", []byte(`[1492358400.123456,"BTCBCH",1,2,2,1,"100.00000000","1.50000000","0.15000000000000000000","0.003000000000",2,1,"BTC","BCH"]`), 4, 0},
	}
	if len(msgs) != len(want) {
		t.Fatalf("Append gave %d messages; want %d: %v", len(msgs), len(want), msgs)
	}
	for i := range want {
		g, w := msgs[i], want[i]
		if g.Topic != w.Topic || g.Key != w.Key || g.LSN != w.LSN || g.Seq != w.Seq || string(g.Value) != string(w.Value) {
			t.Errorf("message %d = %v %q lsn %d seq %d %s\nwant         %v %q lsn %d seq %d %s",
				i, g.Topic, g.Key, g.LSN, g.Seq, g.Value, w.Topic, w.Key, w.LSN, w.Seq, w.Value)
		}
		if !json.Valid(g.Value) {
			t.Errorf("message %d is not JSON: %s", i, g.Value)
		}
	}
	// An unknown market or asset is an error and leaves dst alone.
	bad := derive.Record{LSN: 5, Deals: []*messages.Trade{{Market: 7}}}
	if got, err := NewEncoder(cfg).Append(msgs[:1], &bad); err == nil || len(got) != 1 {
		t.Errorf("Append(unknown market) = %d messages, %v; want 1, an error", len(got), err)
	}
}
