package config

import (
	"errors"
	"fmt"
	"strings"
)

// Run-time changes of the durable configuration (asset.add, market.add,
// market.update): each returns a new configuration and leaves c as it was,
// for c may be read concurrently (a node publishes configurations whole and
// never changes one in place). The result holds the same checks as a file
// (Parse): a change they refuse is a *FieldError naming the parameter.

// FieldError is a configuration entry that breaks a rule: Field is its path
// in the file ("markets[3] (LTCUSDT).stock_prec"), Rule what it broke.
type FieldError struct {
	Field, Rule string
}

func (e *FieldError) Error() string { return "config: " + e.Field + ": " + e.Rule }

// Param is the last key of Field ("stock_prec"): the name of the method
// parameter a run-time change gave it.
func (e *FieldError) Param() string {
	f := e.Field
	if i := strings.LastIndexAny(f, ")]"); i >= 0 {
		f = f[i+1:]
	}
	if i := strings.LastIndexByte(f, '.'); i >= 0 {
		f = f[i+1:]
	}
	if f == "" {
		return e.Field
	}
	return f
}

// clone returns a copy of c whose assets and markets are copies too, so
// that resolving it writes nothing c's readers see.
func (c *Config) clone() *Config {
	n := *c
	n.Assets = make([]*Asset, len(c.Assets), len(c.Assets)+1)
	for i, a := range c.Assets {
		ca := *a
		n.Assets[i] = &ca
	}
	n.Markets = make([]*Market, len(c.Markets), len(c.Markets)+1)
	for i, m := range c.Markets {
		cm := *m
		n.Markets[i] = &cm
	}
	return &n
}

// WithAsset returns c with asset a appended (its id is the next one).
func (c *Config) WithAsset(a Asset) (*Config, error) {
	if len(c.Assets) >= MaxAssets {
		return nil, &FieldError{"assets", fmt.Sprintf("at most %d assets (%d are listed)", MaxAssets, len(c.Assets))}
	}
	n := c.clone()
	n.Assets = append(n.Assets, &a)
	if err := n.resolve(); err != nil {
		return nil, err
	}
	return n, nil
}

// WithMarket returns c with market m appended (its id is the next one).
// m's rules left unset take the file's defaults (fee_prec 4, min_amount
// 0.01, max_open_orders 1000, stp none, maker_fee and taker_fee 0).
func (c *Config) WithMarket(m Market) (*Config, error) {
	if len(c.Markets) >= MaxMarkets {
		return nil, &FieldError{"markets", fmt.Sprintf("at most %d markets (%d are listed)", MaxMarkets, len(c.Markets))}
	}
	n := c.clone()
	n.Markets = append(n.Markets, &m)
	if err := n.resolve(); err != nil {
		return nil, err
	}
	return n, nil
}

// Rules are the trading rules of a market that may change at run time
// (market.update): nil leaves one as it is.
type Rules struct {
	MinAmount     *string // at the market's stock_prec
	MaxOpenOrders *int    // -1: no limit
	STP           *string // none, cancel_taker, cancel_maker or cancel_both
	MakerFee      *string // a decimal from 0 to less than 1 at the market's fee_prec
	TakerFee      *string // likewise
}

// WithRules returns c with market name's rules changed as r says.
func (c *Config) WithRules(name string, r Rules) (*Config, error) {
	if c.Market(name) == nil {
		return nil, &FieldError{"market", fmt.Sprintf("unknown market %q", name)}
	}
	if r.MaxOpenOrders != nil && *r.MaxOpenOrders == 0 {
		return nil, &FieldError{"max_open_orders", "must be positive, or -1 for no limit, got 0"}
	}
	n := c.clone()
	cm := n.Markets[c.Market(name).ID]
	if r.MinAmount != nil {
		v := *r.MinAmount
		cm.MinAmount = &v
	}
	if r.MaxOpenOrders != nil {
		cm.MaxOpenOrders = *r.MaxOpenOrders
	}
	if r.STP != nil {
		cm.STP = *r.STP
	}
	if r.MakerFee != nil {
		v := *r.MakerFee
		cm.MakerFee = &v
	}
	if r.TakerFee != nil {
		v := *r.TakerFee
		cm.TakerFee = &v
	}
	if err := n.resolve(); err != nil {
		return nil, err
	}
	return n, nil
}

// AsFieldError returns err's *FieldError, if it has one.
func AsFieldError(err error) (*FieldError, bool) {
	var fe *FieldError
	ok := errors.As(err, &fe)
	return fe, ok
}
