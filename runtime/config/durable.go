package config

import (
	"fmt"
	"slices"

	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/bourse-exchange/bourse/messages"
)

// The durable configuration is the part of the file that gives the stored
// state its meaning, kept in the journal and in snapshots as a
// messages.ConfigSet (Spec):
//
//   - fixed for the life of a data directory: fee_user_id, balance_shards;
//     each asset's name, position (its id) and prec_save; each market's
//     name, position (its id), stock, money, stock_prec, money_prec and
//     fee_prec;
//   - may change, and the change is journaled: assets and markets appended
//     at the end of their lists, an asset's prec_show, a market's
//     min_amount, max_open_orders and stp.
//
// Everything else in the file (edges, followers, tuning, snapshot and
// journal settings, idempotency_window) is local to the node.

// Spec is the durable part of c, as the journal records it.
func (c *Config) Spec() *messages.ConfigSet {
	s := &messages.ConfigSet{
		FeeUser: c.FeeUserID, Shards: uint32(c.BalanceShards),
		Assets:  make([]messages.AssetSpec, len(c.Assets)),
		Markets: make([]messages.MarketSpec, len(c.Markets)),
	}
	for i, a := range c.Assets {
		s.Assets[i] = messages.AssetSpec{Name: a.Name, PrecSave: uint8(a.PrecSave), PrecShow: uint8(a.Show())}
	}
	for i, m := range c.Markets {
		s.Markets[i] = messages.MarketSpec{
			Name: m.Name, Stock: m.StockAsset.ID, Money: m.MoneyAsset.ID,
			StockPrec: uint8(m.StockPrec), MoneyPrec: uint8(m.MoneyPrec), FeePrec: uint8(m.Fee),
			MinAmount: m.MinUnits, MaxOpenOrders: uint64(m.MaxOpenOrders), STP: m.STPMode,
		}
	}
	return s
}

// SameSpec reports whether two durable configurations are equal.
func SameSpec(a, b *messages.ConfigSet) bool {
	return a.FeeUser == b.FeeUser && a.Shards == b.Shards &&
		slices.Equal(a.Assets, b.Assets) && slices.Equal(a.Markets, b.Markets)
}

// CheckSpec checks c (the file) against stored, a durable configuration the
// data directory holds. It returns nil if c keeps everything stored fixes
// (it may append assets and markets and change the rules that may change);
// otherwise an error naming the first field that differs, with the stored
// value and the file's, e.g.
//
//	config: assets[USDT].prec_save: the journal has 8, the file says 6
func (c *Config) CheckSpec(stored *messages.ConfigSet) error {
	differ := func(field string, journal, file any) error {
		return fmt.Errorf("config: %s: the journal has %v, the file says %v", field, journal, file)
	}
	if stored.FeeUser != c.FeeUserID {
		return differ("fee_user_id", stored.FeeUser, c.FeeUserID)
	}
	if int(stored.Shards) != c.BalanceShards {
		return differ("balance_shards", stored.Shards, c.BalanceShards)
	}
	name := func(id messages.AssetID) string {
		if int(id) < len(stored.Assets) {
			return stored.Assets[id].Name
		}
		return fmt.Sprintf("asset %d", id)
	}
	for i, sa := range stored.Assets {
		f := fmt.Sprintf("assets[%s]", sa.Name)
		a := c.Asset(sa.Name)
		switch {
		case a == nil:
			return fmt.Errorf("config: %s: the journal has it (asset %d), the file does not: assets cannot be removed", f, i)
		case int(a.ID) != i:
			return fmt.Errorf("config: %s: the journal has it at position %d, the file at %d: an asset keeps its position (add new ones at the end)", f, i, a.ID)
		case a.PrecSave != int(sa.PrecSave):
			return differ(f+".prec_save", sa.PrecSave, a.PrecSave)
		}
	}
	for i, sm := range stored.Markets {
		f := fmt.Sprintf("markets[%s]", sm.Name)
		m := c.Market(sm.Name)
		switch {
		case m == nil:
			return fmt.Errorf("config: %s: the journal has it (market %d), the file does not: markets cannot be removed", f, i)
		case int(m.ID) != i:
			return fmt.Errorf("config: %s: the journal has it at position %d, the file at %d: a market keeps its position (add new ones at the end)", f, i, m.ID)
		case m.Stock != name(sm.Stock):
			return differ(f+".stock", name(sm.Stock), m.Stock)
		case m.Money != name(sm.Money):
			return differ(f+".money", name(sm.Money), m.Money)
		case m.StockPrec != int(sm.StockPrec):
			return differ(f+".stock_prec", sm.StockPrec, m.StockPrec)
		case m.MoneyPrec != int(sm.MoneyPrec):
			return differ(f+".money_prec", sm.MoneyPrec, m.MoneyPrec)
		case m.Fee != int(sm.FeePrec):
			return differ(f+".fee_prec", sm.FeePrec, m.Fee)
		}
	}
	return nil
}

// DescribeSpecChange lists, for the log, what c changes relative to stored
// (which CheckSpec accepted): appended assets and markets, changed rules.
func (c *Config) DescribeSpecChange(stored *messages.ConfigSet) []string {
	var out []string
	for _, a := range c.Assets[min(len(stored.Assets), len(c.Assets)):] {
		out = append(out, fmt.Sprintf("asset %s added (prec_save %d)", a.Name, a.PrecSave))
	}
	for i, a := range c.Assets[:min(len(stored.Assets), len(c.Assets))] {
		if a.Show() != int(stored.Assets[i].PrecShow) {
			out = append(out, fmt.Sprintf("assets[%s].prec_show: %d -> %d", a.Name, stored.Assets[i].PrecShow, a.Show()))
		}
	}
	for _, m := range c.Markets[min(len(stored.Markets), len(c.Markets)):] {
		out = append(out, fmt.Sprintf("market %s added (%s/%s)", m.Name, m.Stock, m.Money))
	}
	for i, m := range c.Markets[:min(len(stored.Markets), len(c.Markets))] {
		sm := stored.Markets[i]
		if m.MinUnits != sm.MinAmount {
			out = append(out, fmt.Sprintf("markets[%s].min_amount: %s -> %s", m.Name,
				fixed.FormatInt(sm.MinAmount, m.StockPrec), fixed.FormatInt(m.MinUnits, m.StockPrec)))
		}
		if uint64(m.MaxOpenOrders) != sm.MaxOpenOrders {
			out = append(out, fmt.Sprintf("markets[%s].max_open_orders: %d -> %d", m.Name, sm.MaxOpenOrders, m.MaxOpenOrders))
		}
		if m.STPMode != sm.STP {
			out = append(out, fmt.Sprintf("markets[%s].stp: %s -> %s", m.Name, stpName(sm.STP), stpName(m.STPMode)))
		}
	}
	return out
}

func stpName(mode messages.STP) string {
	for name, m := range STPNames {
		if m == mode && name != "" {
			return name
		}
	}
	return "default"
}
