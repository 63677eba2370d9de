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
//     min_amount, max_open_orders, stp, maker_fee and taker_fee.
//
// After the first start the journal is authoritative (Adopt): the file may
// leave out what the journal has and append new entries; where it sets a
// market rule the journal does not, the journal's is kept.
//
// Everything else in the file (edges, followers, tuning, snapshot and
// journal settings, idempotency_window) is local to the node.

// Spec is the durable part of c, as the journal records it.
func (c *Config) Spec() *messages.ConfigSet {
	s := &messages.ConfigSet{
		FeeUser: c.FeeUserID, Shards: uint32(c.BalanceShards), Fees: true,
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
			MakerFee: m.MakerUnits, TakerFee: m.TakerUnits,
		}
	}
	return s
}

// SameSpec reports whether two durable configurations are equal.
func SameSpec(a, b *messages.ConfigSet) bool {
	return a.FeeUser == b.FeeUser && a.Shards == b.Shards && a.Fees == b.Fees &&
		slices.Equal(a.Assets, b.Assets) && slices.Equal(a.Markets, b.Markets)
}

// CheckSpec checks c (the file) against stored, a durable configuration the
// data directory holds. It returns nil if every asset and market both have
// agree on what stored fixes (c may leave out what stored has, which is
// kept, and append new ones); otherwise an error naming the first field
// that differs, with the stored value and the file's, e.g.
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
	// The file lists what it shares with the journal first, in the
	// journal's order (it may leave some out), then new entries: rank
	// counts the shared ones before.
	rank := 0
	for i, sa := range stored.Assets {
		f := fmt.Sprintf("assets[%s]", sa.Name)
		a := c.Asset(sa.Name)
		switch {
		case a == nil: // listed at run time, or left out of the file: the journal's is kept
			continue
		case int(a.ID) != rank:
			return fmt.Errorf("config: %s: the journal has it at position %s, the file at %d: the file lists the journal's assets first, in its order (add new ones at the end)", f, where(i, rank), a.ID)
		case a.PrecSave != int(sa.PrecSave):
			return differ(f+".prec_save", sa.PrecSave, a.PrecSave)
		}
		rank++
	}
	rank = 0
	for i, sm := range stored.Markets {
		f := fmt.Sprintf("markets[%s]", sm.Name)
		m := c.Market(sm.Name)
		switch {
		case m == nil: // likewise
			continue
		case int(m.ID) != rank:
			return fmt.Errorf("config: %s: the journal has it at position %s, the file at %d: the file lists the journal's markets first, in its order (add new ones at the end)", f, where(i, rank), m.ID)
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
		rank++
	}
	return nil
}

// where is the journal position i of an entry that is the rank-th of those
// the file keeps, for messages.
func where(i, rank int) string {
	if i == rank {
		return fmt.Sprint(i)
	}
	return fmt.Sprintf("%d (%d among those the file keeps)", i, rank)
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
		if !stored.Fees {
			continue // recorded from here on: ruleNotes
		}
		for _, f := range [...]struct {
			name       string
			was, units int64
		}{{"maker_fee", sm.MakerFee, m.MakerUnits}, {"taker_fee", sm.TakerFee, m.TakerUnits}} {
			if f.was != f.units {
				out = append(out, fmt.Sprintf("markets[%s].%s: %s -> %s", m.Name, f.name,
					fixed.FormatInt(f.was, m.Fee), fixed.FormatInt(f.units, m.Fee)))
			}
		}
	}
	return out
}

// Adopt returns the configuration in effect on a data directory whose
// journal holds stored, which c must not contradict (CheckSpec): stored's
// assets and markets, with their ids and rules, and c's node-local
// settings; with withNew, c's assets and markets stored lacks are appended
// after them. An asset's prec_show is c's where c has the asset. Where c
// sets a market rule (min_amount, max_open_orders, stp, maker_fee,
// taker_fee) that stored does not, stored's value is kept and notes says
// so; but a stored written before the fee rates were recorded
// (ConfigSet.Fees false) takes c's rates where c has the market, 0 where
// not.
func (c *Config) Adopt(stored *messages.ConfigSet, withNew bool) (n *Config, notes []string, err error) {
	if err := c.CheckSpec(stored); err != nil {
		return nil, nil, err
	}
	cp := *c
	n = &cp
	n.Assets = make([]*Asset, 0, len(stored.Assets))
	for _, sa := range stored.Assets {
		show := int(sa.PrecShow)
		if a := c.Asset(sa.Name); a != nil {
			show = a.Show()
		}
		n.Assets = append(n.Assets, &Asset{Name: sa.Name, PrecSave: int(sa.PrecSave), PrecShow: &show})
	}
	n.Markets = make([]*Market, 0, len(stored.Markets))
	for _, sm := range stored.Markets {
		nm := specMarket(stored, sm)
		if m := c.Market(sm.Name); m != nil {
			notes = append(notes, ruleNotes(m, sm, stored.Fees)...)
			if !stored.Fees {
				nm.MakerFee, nm.TakerFee = m.MakerFee, m.TakerFee // seeded from the file
			}
		}
		n.Markets = append(n.Markets, nm)
	}
	if withNew {
		for _, a := range c.Assets {
			if !slices.ContainsFunc(stored.Assets, func(sa messages.AssetSpec) bool { return sa.Name == a.Name }) {
				ca := *a
				n.Assets = append(n.Assets, &ca)
			}
		}
		for _, m := range c.Markets {
			if !slices.ContainsFunc(stored.Markets, func(sm messages.MarketSpec) bool { return sm.Name == m.Name }) {
				cm := *m
				n.Markets = append(n.Markets, &cm)
			}
		}
	}
	if err := n.resolve(); err != nil {
		return nil, nil, err
	}
	return n, notes, nil
}

// specMarket is the file entry of a market the journal describes.
func specMarket(stored *messages.ConfigSet, sm messages.MarketSpec) *Market {
	fee, min := int(sm.FeePrec), fixed.FormatInt(sm.MinAmount, int(sm.StockPrec))
	maker, taker := fixed.FormatInt(sm.MakerFee, fee), fixed.FormatInt(sm.TakerFee, fee)
	return &Market{
		Name: sm.Name, Stock: stored.Assets[sm.Stock].Name, Money: stored.Assets[sm.Money].Name,
		StockPrec: int(sm.StockPrec), MoneyPrec: int(sm.MoneyPrec), FeePrec: &fee, MinAmount: &min,
		MaxOpenOrders: int(int64(sm.MaxOpenOrders)), STP: stpText(sm.STP), MakerFee: &maker, TakerFee: &taker,
	}
}

// ruleNotes describes the rules where the file's market m differs from the
// journal's sm, whose values are kept; the fee rates only if the journal
// has them (fees).
func ruleNotes(m *Market, sm messages.MarketSpec, fees bool) []string {
	var out []string
	note := func(field string, journal, file any) {
		out = append(out, fmt.Sprintf("markets[%s].%s: the journal has %v, the file says %v: the journal's is kept (change it with market.update)",
			m.Name, field, journal, file))
	}
	if m.MinUnits != sm.MinAmount {
		note("min_amount", fixed.FormatInt(sm.MinAmount, m.StockPrec), fixed.FormatInt(m.MinUnits, m.StockPrec))
	}
	if uint64(m.MaxOpenOrders) != sm.MaxOpenOrders {
		note("max_open_orders", int64(sm.MaxOpenOrders), m.MaxOpenOrders)
	}
	if m.STPMode != sm.STP {
		note("stp", stpName(sm.STP), stpName(m.STPMode))
	}
	if fees && m.MakerUnits != sm.MakerFee {
		note("maker_fee", fixed.FormatInt(sm.MakerFee, m.Fee), fixed.FormatInt(m.MakerUnits, m.Fee))
	}
	if fees && m.TakerUnits != sm.TakerFee {
		note("taker_fee", fixed.FormatInt(sm.TakerFee, m.Fee), fixed.FormatInt(m.TakerUnits, m.Fee))
	}
	return out
}

// stpText is the file's spelling of mode ("" for the default).
func stpText(mode messages.STP) string {
	if mode == messages.STPDefault {
		return ""
	}
	return stpName(mode)
}

func stpName(mode messages.STP) string {
	for name, m := range STPNames {
		if m == mode && name != "" {
			return name
		}
	}
	return "default"
}
