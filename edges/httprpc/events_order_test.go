package httprpc

import (
	"math/rand/v2"
	"testing"

	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/persistence/events"
	"github.com/bourse-exchange/bourse/runtime/config"
	"github.com/holiman/uint256"
)

// The Kafka orders topic carries the order info the HTTP API prints
// (PROTOCOL §6.2): persistence/events.AppendOrder must print exactly what
// appendOrder prints, for every kind of order.
func TestEventsOrderMatchesHTTP(t *testing.T) {
	cfgs := []string{string(config.Default), `
assets:
  - { name: BTC, prec_save: 12, prec_show: 8 }
  - { name: BCH, prec_save: 20, prec_show: 8 }
  - { name: XRP, prec_save: 0 }
markets:
  - { name: BTCBCH, stock: BTC, money: BCH, stock_prec: 8, money_prec: 8, fee_prec: 4, min_amount: "0.001" }
  - { name: XRPBCH, stock: XRP, money: BCH, stock_prec: 0, money_prec: 4, fee_prec: 0, min_amount: "1" }
`}
	rng := rand.New(rand.NewPCG(7, 7))
	u256 := func() uint256.Int {
		switch rng.IntN(4) {
		case 0:
			return uint256.Int{}
		case 1:
			return *uint256.NewInt(rng.Uint64N(1000))
		case 2:
			return *uint256.NewInt(rng.Uint64())
		default:
			return uint256.Int{rng.Uint64(), rng.Uint64N(1 << 20), 0, 0}
		}
	}
	i64 := func() int64 {
		if rng.IntN(3) == 0 {
			return 0
		}
		return rng.Int64N(1 << rng.IntN(63))
	}
	for _, doc := range cfgs {
		cfg, err := config.Parse([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2000; i++ {
			o := messages.Order{
				ID: rng.Uint64(), Market: messages.MarketID(rng.IntN(len(cfg.Markets))),
				Type: messages.OrderType(1 + rng.IntN(2)), Side: messages.Side(1 + rng.IntN(2)), User: rng.Uint32(),
				CTime: rng.Int64N(1 << 52), MTime: rng.Int64N(1 << 52),
				Price: i64(), Amount: i64(), TakerFee: i64(), MakerFee: i64(), Left: i64(), DealStock: i64(),
				DealMoney: u256(), DealFee: u256(), Frozen: u256(), Source: []string{"", "web", `a"\` + "\x01é"}[rng.IntN(3)],
			}
			want, ok := appendOrder(nil, cfg, &o)
			if !ok {
				t.Fatalf("appendOrder(%+v) failed", o)
			}
			if got := events.AppendOrder(nil, cfg.Markets[o.Market], &o); string(got) != string(want) {
				t.Fatalf("events.AppendOrder(%+v) =\n%s\nwant (HTTP)\n%s", o, got, want)
			}
		}
	}
}
