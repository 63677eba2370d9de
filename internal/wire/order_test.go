package wire_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/wire"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/holiman/uint256"
	"github.com/shopspring/decimal"
)

// orderKeys is the order info object's members, in order (docs/protocol.md "Order object").
var orderKeys = []string{"id", "market", "source", "type", "side", "user", "ctime", "mtime", "price", "amount",
	"taker_fee", "maker_fee", "left", "deal_stock", "deal_money", "deal_fee"}

// TestAppendOrderRandom: for random orders of every kind, with and without
// each order option, on markets with unusual precisions, AppendOrder prints
// valid JSON with the members in order (the options after viabtc's, each
// only when set), and each value equals what a shopspring/decimal
// reference makes of the order's fixed-point fields (docs/protocol.md D2: plain,
// trailing zeros stripped; a market order's price and maker_fee "0"; a
// market buy's amount in money and left its unspent money). The HTTP API, the Kafka orders
// topic and the websocket pushes all print orders with it.
func TestAppendOrderRandom(t *testing.T) {
	docs := []string{string(config.Default), `
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
	dec := func(v int64, scale int) string { return decimal.New(v, int32(-scale)).String() }
	dec256 := func(u *uint256.Int, scale int) string {
		return decimal.NewFromBigInt(u.ToBig(), int32(-scale)).String()
	}
	for _, doc := range docs {
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
			m := cfg.Markets[o.Market]
			// Options, each set in about half the orders: printed after
			// viabtc's members, only when set.
			keys := orderKeys
			opt := map[string]string{}
			if rng.IntN(2) == 0 {
				o.ClientID = []string{"a", "Z.9:_-", "0123456789abcdefghijklmnopqrstuv"}[rng.IntN(3)]
				keys, opt["client_id"] = append(keys[:len(keys):len(keys)], "client_id"), o.ClientID
			}
			if rng.IntN(2) == 0 {
				o.StopPrice, o.Triggered = 1+rng.Int64N(1<<rng.IntN(62)), rng.IntN(2) == 0
				keys = append(keys[:len(keys):len(keys)], "stop_price", "triggered")
				opt["stop_price"], opt["triggered"] = dec(o.StopPrice, m.MoneyPrec), strconv.FormatBool(o.Triggered)
			}
			if rng.IntN(2) == 0 {
				o.TIF = messages.TimeInForce(1 + rng.IntN(2))
				keys, opt["time_in_force"] = append(keys[:len(keys):len(keys)], "time_in_force"), []string{"", "IOC", "FOK"}[o.TIF]
			}
			if rng.IntN(2) == 0 {
				o.PostOnly = true
				keys, opt["post_only"] = append(keys[:len(keys):len(keys)], "post_only"), "true"
			}
			if rng.IntN(2) == 0 {
				o.STP = messages.STP(1 + rng.IntN(4))
				keys = append(keys[:len(keys):len(keys)], "stp")
				opt["stp"] = []string{"", "none", "cancel_taker", "cancel_maker", "cancel_both"}[o.STP]
			}
			market, marketBid := o.Type == messages.Market, o.Type == messages.Market && o.Side == messages.Bid
			want := map[string]string{
				"id": decimal.NewFromUint64(o.ID).String(), "market": m.Name, "source": o.Source,
				"type": dec(int64(o.Type), 0), "side": dec(int64(o.Side), 0), "user": dec(int64(o.User), 0),
				"ctime": dec(o.CTime, 6), "mtime": dec(o.MTime, 6),
				"price": dec(o.Price, m.MoneyPrec), "amount": dec(o.Amount, m.StockPrec),
				"taker_fee": dec(o.TakerFee, m.Fee), "maker_fee": dec(o.MakerFee, m.Fee),
				"left": dec(o.Left, m.StockPrec), "deal_stock": dec(o.DealStock, m.StockPrec),
				"deal_money": dec256(&o.DealMoney, m.MoneyAsset.PrecSave), "deal_fee": dec256(&o.DealFee, m.MoneyAsset.PrecSave),
			}
			if market {
				want["price"], want["maker_fee"] = "0", "0"
			}
			if marketBid {
				want["amount"], want["left"] = dec(o.Amount, m.MoneyPrec), dec256(&o.Frozen, m.MoneyAsset.PrecSave)
			}
			if o.Side == messages.Bid {
				want["deal_fee"] = dec256(&o.DealFee, m.StockAsset.PrecSave)
			}
			for k, v := range opt {
				want[k] = v
			}
			wm := m.Wire()
			out := wire.AppendOrder(nil, &wm, &o)
			gotKeys, got, err := decodeObject(out)
			if err != nil {
				t.Fatalf("AppendOrder(%+v) = %s: %v", o, out, err)
			}
			if !slices.Equal(gotKeys, keys) {
				t.Fatalf("AppendOrder(%+v) members %v; want %v", o, gotKeys, keys)
			}
			for _, k := range keys {
				g, w := got[k], want[k]
				if k == "ctime" || k == "mtime" {
					// Numbers: compare by value ("1.5" = "1.50").
					if gd, err := decimal.NewFromString(g); err != nil || !gd.Equal(decimal.RequireFromString(w)) {
						t.Fatalf("AppendOrder(%+v) %s = %s; want %s", o, k, g, w)
					}
					continue
				}
				if g != w {
					t.Fatalf("AppendOrder(%+v) %s = %q; want %q\n%s", o, k, g, w, out)
				}
			}
		}
	}
}

// decodeObject returns a flat JSON object's member names in order and its
// values as text (strings unquoted, numbers as written).
func decodeObject(b []byte) (keys []string, vals map[string]string, err error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if _, err = d.Token(); err != nil {
		return nil, nil, err
	}
	vals = map[string]string{}
	for d.More() {
		k, err := d.Token()
		if err != nil {
			return nil, nil, err
		}
		v, err := d.Token()
		if err != nil {
			return nil, nil, err
		}
		name := k.(string)
		keys = append(keys, name)
		switch x := v.(type) {
		case string:
			vals[name] = x
		case json.Number:
			vals[name] = x.String()
		case bool:
			vals[name] = strconv.FormatBool(x)
		default:
			return nil, nil, &json.UnsupportedValueError{Str: name}
		}
	}
	return keys, vals, nil
}
