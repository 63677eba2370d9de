package actors

import (
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/internal/config"
)

// BookConfig is market m's configuration as its order book needs it.
func BookConfig(m *config.Market) book.Config {
	return book.Config{
		Market:    m.ID,
		Stock:     m.StockAsset.ID,
		Money:     m.MoneyAsset.ID,
		StockPrec: m.StockPrec,
		MoneyPrec: m.MoneyPrec,
		FeePrec:   m.Fee,
		StockSave: m.StockAsset.PrecSave,
		MoneySave: m.MoneyAsset.PrecSave,
		MinAmount: m.MinUnits,

		MaxOpenOrders: m.MaxOpenOrders,
		STP:           m.STPMode,
	}
}
