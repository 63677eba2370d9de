package book

import (
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/runtime/config"
)

// Config is what the book needs to know of its market: precisions and
// assets, copied out of the validated configuration.
type Config struct {
	Market    messages.MarketID
	Stock     messages.AssetID
	Money     messages.AssetID
	StockPrec int // amounts
	MoneyPrec int // prices
	FeePrec   int // fee rates
	StockSave int // prec_save of the stock asset
	MoneySave int // prec_save of the money asset
	MinAmount int64
}

// ConfigOf derives a book Config from a validated market.
func ConfigOf(m *config.Market) Config {
	return Config{
		Market:    m.ID,
		Stock:     m.StockAsset.ID,
		Money:     m.MoneyAsset.ID,
		StockPrec: m.StockPrec,
		MoneyPrec: m.MoneyPrec,
		FeePrec:   m.Fee,
		StockSave: m.StockAsset.PrecSave,
		MoneySave: m.MoneyAsset.PrecSave,
		MinAmount: m.MinUnits,
	}
}

// IDShift is how many low bits of an order or deal id hold the market.
const IDShift = 10

func (c *Config) id(seq uint64) uint64 { return seq<<IDShift | uint64(c.Market) }
