package config

import (
	"slices"
	"strings"
	"testing"
)

func TestDefault(t *testing.T) {
	c, err := Parse(Default)
	if err != nil {
		t.Fatalf("default config: %v", err)
	}
	if got := len(c.Markets); got != 3 {
		t.Fatalf("markets = %d; want 3", got)
	}
	m := c.Market("BTCUSDT")
	if m == nil || m.StockPrec != 8 || m.MoneyPrec != 2 || m.Fee != 4 || m.MinUnits != 10000 {
		t.Errorf("BTCUSDT = %+v", m)
	}
	if m := c.Market("ETHBTC"); m.MoneyAsset.Name != "BTC" || m.MoneyPrec != 4 || m.MinUnits != 100000 {
		t.Errorf("ETHBTC = %+v", m)
	}
	if a := c.Asset("USDT"); a.PrecSave != 12 || a.Show() != 8 {
		t.Errorf("USDT = %+v", a)
	}
	if c.Asset("NOPE") != nil || c.Market("NOPE") != nil {
		t.Error("lookup of an unknown name returned something")
	}
}

func TestValidation(t *testing.T) {
	const assets = `assets:
  - {name: BTC, prec_save: 12, prec_show: 8}
  - {name: USDT, prec_save: 12}
`
	market := func(fields string) string {
		return assets + "markets:\n  - {name: BTCUSDT, stock: BTC, money: USDT, " + fields + "}\n"
	}
	tests := []struct {
		name, doc, want string
	}{
		{"no assets", "markets: []\n", "assets: at least one asset"},
		{"duplicate asset", "assets:\n  - {name: BTC, prec_save: 8}\n  - {name: BTC, prec_save: 8}\n", `assets[1].name: duplicate asset "BTC"`},
		{"long asset name", "assets:\n  - {name: ABCDEFGHIJKLMNOP, prec_save: 8}\n", "assets[0].name: must be 1 to 15"},
		{"prec_show above prec_save", "assets:\n  - {name: BTC, prec_save: 8, prec_show: 9}\n", "assets[0].prec_show"},
		{"no markets", assets, "markets: at least one market"},
		{"unknown stock", assets + "markets:\n  - {name: X, stock: BTX, money: USDT, stock_prec: 2, money_prec: 2}\n", `markets[0] (X).stock: unknown asset "BTX"`},
		{"unknown money", assets + "markets:\n  - {name: X, stock: BTC, money: EUR, stock_prec: 2, money_prec: 2}\n", `markets[0] (X).money: unknown asset "EUR"`},
		{"same asset", assets + "markets:\n  - {name: X, stock: BTC, money: BTC}\n", "money: must differ from stock"},
		{"stock+money prec", market("stock_prec: 8, money_prec: 6"), "stock_prec (8) + money_prec (6) must be <= prec_save of USDT (12)"},
		{"stock+fee prec", market("stock_prec: 8, money_prec: 2, fee_prec: 6"), "stock_prec (8) + fee_prec (6) must be <= prec_save of BTC (12)"},
		{"money+fee prec", market("stock_prec: 2, money_prec: 8, fee_prec: 6"), "money_prec (8) + fee_prec (6) must be <= prec_save of USDT (12)"},
		{"bad min_amount", market(`stock_prec: 8, money_prec: 2, min_amount: "-1"`), "min_amount: must be a non-negative decimal"},
		{"bad max_open_orders", market(`stock_prec: 8, money_prec: 2, max_open_orders: -2`), "max_open_orders: must be positive, or -1 for no limit"},
		{"bad stp", market(`stock_prec: 8, money_prec: 2, stp: sometimes`), "stp: must be none, cancel_taker"},
		{"negative maker_fee", market(`stock_prec: 8, money_prec: 2, maker_fee: "-0.001"`), `maker_fee: must be a decimal from 0 to less than 1 with at most fee_prec (4) decimals, got "-0.001"`},
		{"taker_fee of 1", market(`stock_prec: 8, money_prec: 2, taker_fee: "1"`), `taker_fee: must be a decimal from 0 to less than 1`},
		{"taker_fee below fee_prec", market(`stock_prec: 8, money_prec: 2, taker_fee: "0.00015"`), `taker_fee: must be a decimal from 0 to less than 1 with at most fee_prec (4) decimals, got "0.00015"`},
		{"maker_fee not a number", market(`stock_prec: 8, money_prec: 2, maker_fee: "cheap"`), `maker_fee: must be a decimal`},
		{"taker_fee huge", market(`stock_prec: 8, money_prec: 2, taker_fee: "123456789012345678901"`), `taker_fee: must be a decimal`},
		{"duplicate market", assets + "markets:\n  - {name: M, stock: BTC, money: USDT}\n  - {name: M, stock: BTC, money: USDT}\n", `markets[1] (M).name: duplicate market "M"`},
		{"unknown key", assets + "bogus: 1\n", "field bogus not found"},
		{"shards", "balance_shards: 0\n" + market("stock_prec: 8, money_prec: 2"), "balance_shards: must be between 1"},
		{"http conns", "http:\n  max_conns: -1\n" + market("stock_prec: 8, money_prec: 2"), "http.max_conns: must not be negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse error = %v; want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c, err := Parse([]byte("assets:\n  - {name: A, prec_save: 10}\n  - {name: B, prec_save: 10}\nmarkets:\n  - {name: AB, stock: A, money: B, stock_prec: 4, money_prec: 4}\n"))
	if err != nil {
		t.Fatal(err)
	}
	m := c.Markets[0]
	if m.Fee != DefaultFeePrec || m.MinUnits != 100 || c.BalanceShards != 4 || c.Assets[0].Show() != 10 {
		t.Errorf("defaults: fee %d min %d shards %d show %d", m.Fee, m.MinUnits, c.BalanceShards, c.Assets[0].Show())
	}
	if m.MakerUnits != 0 || m.TakerUnits != 0 {
		t.Errorf("default fee rates: maker %d taker %d units; want 0 (DefaultFeeRate)", m.MakerUnits, m.TakerUnits)
	}
	embedded, err := Parse(Default)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP != embedded.HTTP || c.HTTP.MaxConns != 1024 {
		t.Errorf("http defaults %+v; the embedded file says %+v; want max_conns 1024", c.HTTP, embedded.HTTP)
	}
}

func TestJournalDSN(t *testing.T) {
	c, err := Parse(Default)
	if err != nil || c.Journal.DSN != "" {
		t.Fatalf("default journal.dsn = %q, %v; want none", c.Journal.DSN, err)
	}
	doc := append([]byte("journal:\n  dsn: \"root@tcp(127.0.0.1:3306)/bourse?table=j\"\n"), Default...)
	if c, err = Parse(doc); err != nil || c.Journal.DSN != "root@tcp(127.0.0.1:3306)/bourse?table=j" {
		t.Fatalf("journal.dsn = %q, %v", c.Journal.DSN, err)
	}
}

// TestFeeRates: maker_fee and taker_fee resolve to units at fee_prec, in
// any decimal form fixed accepts, exactly.
func TestFeeRates(t *testing.T) {
	doc := "assets:\n  - {name: A, prec_save: 12}\n  - {name: B, prec_save: 12}\nmarkets:\n" +
		"  - {name: AB, stock: A, money: B, stock_prec: 4, money_prec: 4, fee_prec: 6, maker_fee: \"0.000125\", taker_fee: \"2.5E-3\"}\n" +
		"  - {name: BA, stock: B, money: A, stock_prec: 4, money_prec: 4, fee_prec: 0, maker_fee: \"0\", taker_fee: \"0.0\"}\n"
	c, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if m := c.Market("AB"); m.MakerUnits != 125 || m.TakerUnits != 2500 {
		t.Errorf("AB: maker %d taker %d units; want 125 and 2500", m.MakerUnits, m.TakerUnits)
	}
	if m := c.Market("BA"); m.MakerUnits != 0 || m.TakerUnits != 0 {
		t.Errorf("BA: maker %d taker %d units; want 0", m.MakerUnits, m.TakerUnits)
	}
}

// TestAdoptKeepsJournalFees: the fee rates are market rules, like
// min_amount: the configuration adopted from a journal keeps the journal's
// and notes the file's that differ; a ConfigSet written before the rates
// were recorded (Fees false) takes the file's, and 0 for a market the file
// lacks.
func TestAdoptKeepsJournalFees(t *testing.T) {
	first, err := Parse(Default)
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Replace(string(Default), `min_amount: "0.0001" }`, `min_amount: "0.0001", maker_fee: "0.0003", taker_fee: "0.0007" }`, 1)
	now, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	n, notes, err := now.Adopt(first.Spec(), false)
	if err != nil {
		t.Fatal(err)
	}
	if m := n.Market("BTCUSDT"); m.MakerUnits != 0 || m.TakerUnits != 0 {
		t.Errorf("adopted BTCUSDT: maker %d taker %d units; want the journal's 0 and 0", m.MakerUnits, m.TakerUnits)
	}
	want := []string{
		"markets[BTCUSDT].maker_fee: the journal has 0, the file says 0.0003: the journal's is kept (change it with market.update)",
		"markets[BTCUSDT].taker_fee: the journal has 0, the file says 0.0007: the journal's is kept (change it with market.update)",
	}
	if !slices.Equal(notes, want) {
		t.Errorf("notes = %q; want %q", notes, want)
	}
	if got := now.DescribeSpecChange(first.Spec()); !slices.Equal(got, []string{
		"markets[BTCUSDT].maker_fee: 0 -> 0.0003", "markets[BTCUSDT].taker_fee: 0 -> 0.0007"}) {
		t.Errorf("DescribeSpecChange = %q", got)
	}
	// The journal's rates come back from its ConfigSet.
	back, _, err := first.Adopt(now.Spec(), false)
	if err != nil {
		t.Fatal(err)
	}
	if m := back.Market("BTCUSDT"); m.MakerUnits != 3 || m.TakerUnits != 7 {
		t.Errorf("adopted from the journal's 0.0003/0.0007: maker %d taker %d units", m.MakerUnits, m.TakerUnits)
	}

	old := first.Spec()
	old.Fees = false
	old.Markets = old.Markets[:2] // ETHBTC left out of the old ConfigSet: the file's new market
	n, notes, err = now.Adopt(old, true)
	if err != nil {
		t.Fatal(err)
	}
	if m := n.Market("BTCUSDT"); m.MakerUnits != 3 || m.TakerUnits != 7 {
		t.Errorf("adopted from an old ConfigSet: BTCUSDT maker %d taker %d units; want the file's 3 and 7", m.MakerUnits, m.TakerUnits)
	}
	if len(notes) != 0 {
		t.Errorf("notes for an old ConfigSet = %q; want none", notes)
	}
	if SameSpec(old, n.Spec()) || !n.Spec().Fees {
		t.Error("the adopted configuration of an old ConfigSet must differ from it (its rates get journaled)")
	}
}
