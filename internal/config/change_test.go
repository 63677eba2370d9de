package config

import (
	"fmt"
	"strings"
	"testing"
)

// TestRunTimeChanges: WithAsset, WithMarket and WithRules return a new
// configuration with the change and leave the one they were called on
// as it was (nodes publish configurations whole); a refused change is a
// *FieldError naming the parameter; the limits on the number of assets and
// markets hold.
func TestRunTimeChanges(t *testing.T) {
	c, err := Parse(Default)
	if err != nil {
		t.Fatal(err)
	}
	before := fmt.Sprint(c.Spec())
	n, err := c.WithAsset(Asset{Name: "LTC", PrecSave: 10})
	if err != nil || n.Asset("LTC") == nil || n.Asset("LTC").ID != 3 || n.Asset("LTC").Show() != 10 || c.Asset("LTC") != nil {
		t.Fatalf("WithAsset: %v", err)
	}
	fee := 2
	n, err = n.WithMarket(Market{Name: "LTCBTC", Stock: "LTC", Money: "BTC", StockPrec: 4, MoneyPrec: 6, FeePrec: &fee})
	m := n.Market("LTCBTC")
	if err != nil || m.ID != 3 || m.StockAsset != n.Asset("LTC") || m.MinUnits != 100 || m.MaxOpenOrders != DefaultMaxOpenOrders || m.Fee != 2 {
		t.Fatalf("WithMarket: %+v %v", m, err)
	}
	min, max, stp := "0.5", -1, "cancel_both"
	u, err := n.WithRules("BTCUSDT", Rules{MinAmount: &min, MaxOpenOrders: &max, STP: &stp})
	if err != nil || u.Market("BTCUSDT").MinUnits != 50_000_000 || u.Market("BTCUSDT").MaxOpenOrders != -1 || u.Market("LTCBTC").MinUnits != 100 {
		t.Fatalf("WithRules: %+v %v", u.Market("BTCUSDT"), err)
	}
	if n.Market("BTCUSDT").MinUnits != 10_000 || fmt.Sprint(c.Spec()) != before {
		t.Fatal("a change altered the configuration it was made from")
	}
	for _, tc := range []struct {
		err         error
		param, want string
	}{
		{second(c.WithAsset(Asset{Name: "USDT", PrecSave: 8})), "name", `duplicate asset "USDT"`},
		{second(c.WithMarket(Market{Name: "X", Stock: "BTC", Money: "NOPE"})), "money", `unknown asset "NOPE"`},
		{second(c.WithRules("NOPE", Rules{})), "market", `unknown market "NOPE"`},
		{second(c.WithRules("BTCUSDT", Rules{MinAmount: &stp})), "min_amount", "must be a non-negative decimal"},
	} {
		fe, ok := AsFieldError(tc.err)
		if !ok || fe.Param() != tc.param || !strings.Contains(fe.Rule, tc.want) {
			t.Errorf("%v: param %q; want %q and a rule with %q", tc.err, fe.Param(), tc.param, tc.want)
		}
	}
	// The limits: a file at the limit takes no more.
	var doc strings.Builder
	doc.WriteString("assets:\n")
	for i := range MaxAssets {
		fmt.Fprintf(&doc, "  - {name: A%d, prec_save: 8}\n", i)
	}
	doc.WriteString("markets:\n")
	for i := range MaxMarkets {
		fmt.Fprintf(&doc, "  - {name: M%d, stock: A%d, money: A%d, stock_prec: 2, money_prec: 2, fee_prec: 2}\n", i, 2*i, 2*i+1)
	}
	full, err := Parse([]byte(doc.String()))
	if err != nil {
		t.Fatal(err)
	}
	if fe, ok := AsFieldError(second(full.WithAsset(Asset{Name: "ONE", PrecSave: 8}))); !ok || fe.Param() != "assets" || !strings.Contains(fe.Rule, "at most 4096 assets") {
		t.Errorf("asset %d: %v", MaxAssets+1, fe)
	}
	if fe, ok := AsFieldError(second(full.WithMarket(Market{Name: "ONE", Stock: "A0", Money: "A1"}))); !ok || fe.Param() != "markets" || !strings.Contains(fe.Rule, "at most 1024 markets") {
		t.Errorf("market %d: %v", MaxMarkets+1, fe)
	}
}

func second(_ *Config, err error) error { return err }
