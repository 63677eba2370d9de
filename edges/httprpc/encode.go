package httprpc

import (
	"strconv"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/wire"
	"github.com/bourse-exchange/bourse/messages"
)

// Results are encoded by package internal/wire; the functions here only
// look up what it needs in the configuration.

// appendOrder appends the order info object (docs/protocol.md "Order object") for o.
// ok is false when o names a market not in cfg (a backend bug: the caller
// answers internal error).
func appendOrder(b []byte, cfg *config.Config, o *messages.Order) (_ []byte, ok bool) {
	if int(o.Market) >= len(cfg.Markets) {
		return b, false
	}
	m := cfg.Markets[o.Market].Wire()
	return wire.AppendOrder(b, &m, o), true
}

// appendOrders appends a JSON array of order info objects.
func appendOrders(b []byte, cfg *config.Config, orders []messages.Order) (_ []byte, ok bool) {
	b = append(b, '[')
	for i := range orders {
		if i > 0 {
			b = append(b, ',')
		}
		if b, ok = appendOrder(b, cfg, &orders[i]); !ok {
			return b, false
		}
	}
	return append(b, ']'), true
}

// appendAssetList appends asset.list's result (docs/protocol.md "asset.list").
func appendAssetList(b []byte, cfg *config.Config) []byte {
	b = append(b, '[')
	for i, a := range cfg.Assets {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = wire.AppendString(b, a.Name)
		b = append(b, `,"prec":`...)
		b = strconv.AppendInt(b, int64(a.Show()), 10)
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendMarketList appends market.list's result (docs/protocol.md "market.list").
func appendMarketList(b []byte, cfg *config.Config, halted func(messages.MarketID) bool) []byte {
	b = append(b, '[')
	for i, m := range cfg.Markets {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = wire.AppendString(b, m.Name)
		b = append(b, `,"stock":`...)
		b = wire.AppendString(b, m.Stock)
		b = append(b, `,"money":`...)
		b = wire.AppendString(b, m.Money)
		b = append(b, `,"fee_prec":`...)
		b = strconv.AppendInt(b, int64(m.Fee), 10)
		b = append(b, `,"stock_prec":`...)
		b = strconv.AppendInt(b, int64(m.StockPrec), 10)
		b = append(b, `,"money_prec":`...)
		b = strconv.AppendInt(b, int64(m.MoneyPrec), 10)
		b = append(b, `,"min_amount":`...)
		b = wire.AppendUnits(b, m.MinUnits, m.StockPrec)
		b = append(b, `,"halted":`...)
		b = strconv.AppendBool(b, halted(m.ID))
		b = append(b, '}')
	}
	return append(b, ']')
}
